import { z } from 'zod';
import { parseBoolean, parseDuration, parseInteger, parseRate, parseSize } from './parse.js';

/**
 * How mxdoctor's configuration is declared: once, one entry per setting.
 *
 * ## Adding a setting (one place)
 * 1. Open the area file of src/config/ it belongs to (check.ts: DNS and the check engine,
 *    smtp.ts: the SMTP probe, bounce.ts, service.ts: web and process, queue.ts: Redis, queue
 *    and storage, monitor.ts: monitors and alerts, inbound.ts: the inbound test's receiver and
 *    spamd) and add one `setting({...})` to a list,
 *    at the row where the README's configuration table should show it:
 *      env          the environment variable (MXDOCTOR_…)
 *      group, key   where the value lands: config.<group>.<key>
 *      description  its meaning, for the README table
 *      default      the value when the variable is unset or empty (a function when computed)
 *      defaultText  the default as the README shows it ("30s"; numbers and booleans may omit it)
 *      value        its kind: duration(min), integer(min, max), size(min), boolean(),
 *                   text(() => schema), rate(), choice(values), or kind(parse, () => schema) of
 *                   your own. The parser turns the text into a value and throws ConfigError
 *                   naming the variable and what is accepted; the zod schema, built when first
 *                   needed, validates the final value, CLI flags included (a static default
 *                   must pass it: a test checks each one).
 *      finish       optional: a default that depends on another setting (`read(otherSetting)`)
 *                   or a check against other settings; runs after CLI flags, in list order.
 *    For example:
 *      setting({ env: 'MXDOCTOR_DNS_RETRIES', group: 'dns', key: 'retries',
 *        description: 'Further attempts after a DNS query times out.', default: 2, value: integer(0, 10) })
 * 2. Run `npm run docs` to regenerate the README table.
 * The typed `Config` (config.<group>.<key>), `loadConfig` and its error messages, `ConfigOverrides`
 * for CLI flags and the README table all follow from that entry; nothing else needs editing.
 * A new area file's lists go into FIELDS in settings.ts, which fixes the README's row order.
 * A value that no variable of ours sets (computed from the environment or other settings) is
 * a `derived({...})` field in the same lists; it is typed and validated but not in the README.
 */

export type Env = Record<string, string | undefined>;

/** Reads another setting's current value (in a `finish` hook). */
export type Read = <S extends z.ZodType>(field: Field<string, string, S>) => z.output<S>;

/** A value of the configuration: where it lands, how it starts and how it is validated. */
export interface Field<
  G extends string = string,
  K extends string = string,
  S extends z.ZodType = z.ZodType,
> {
  group: G;
  key: K;
  /** Validates the final value (after CLI overrides); its message follows the variable's name. */
  schema: S;
  /** The value from the environment, before CLI overrides. */
  initial(env: Env): z.output<S>;
  /**
   * Whether initial(env) depends on the environment (a variable given, or a default computed
   * per load): such a value is validated when the configuration loads. A static default is
   * not (a test validates every one), so that a command validates and builds the schemas of
   * the few values actually given, not of all of them, before its first step.
   */
  fromEnvironment(env: Env): boolean;
  /** After CLI overrides, in declaration order: fills a default that depends on other settings, or checks against them. */
  finish?(value: z.output<S>, read: Read): z.output<S>;
}

/** A field set by an environment variable and documented in the README table. */
export interface Setting<
  G extends string = string,
  K extends string = string,
  S extends z.ZodType = z.ZodType,
> extends Field<G, K, S> {
  env: string;
  description: string;
  /** Default as shown in documentation. */
  defaultText: string;
  /** Parses the variable's text; throws ConfigError naming `name` and what is accepted. */
  parse(text: string, name: string): z.output<S>;
  /** A fresh default value. */
  default(): z.output<S>;
}

/**
 * How the text of one kind of value is parsed and its value validated. The schema is built
 * when it is first read (`kind` makes one so): most loads read none of them.
 */
export interface Kind<S extends z.ZodType> {
  parse(text: string, name: string): z.output<S>;
  readonly schema: S;
}

/** `build`, called once, on the first call of what this returns. */
function once<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}

/** A kind of value from its parser and a function that builds its schema (once, when first needed). */
export function kind<S extends z.ZodType>(parse: Kind<S>['parse'], schema: () => S): Kind<S> {
  const built = once(schema);
  return {
    parse,
    get schema() {
      return built();
    },
  };
}

export interface SettingSpec<G extends string, K extends string, S extends z.ZodType> {
  env: string;
  group: G;
  key: K;
  description: string;
  default: NoInfer<z.output<S>> | (() => NoInfer<z.output<S>>);
  defaultText?: string;
  value: Kind<S>;
  finish?(value: NoInfer<z.output<S>>, read: Read): NoInfer<z.output<S>>;
}

/** Declares a setting read from the environment variable `env` into config[group][key]. */
export function setting<G extends string, K extends string, S extends z.ZodType>(
  spec: SettingSpec<G, K, S>,
): Setting<G, K, S> {
  const given = spec.default;
  // A function default is computed per load; a plain one is copied so no load shares it.
  const fallback = (): z.output<S> =>
    typeof given === 'function' ? (given as () => z.output<S>)() : structuredClone(given);
  const defaultText =
    spec.defaultText ?? (typeof given === 'number' || typeof given === 'boolean' ? String(given) : undefined);
  if (defaultText === undefined) throw new Error(`${spec.env}: give a defaultText for the README`);
  const value = spec.value;
  const isGiven = (env: Env): boolean => env[spec.env] !== undefined && env[spec.env] !== '';
  return {
    env: spec.env,
    group: spec.group,
    key: spec.key,
    description: spec.description,
    defaultText,
    parse: value.parse,
    get schema() {
      return value.schema;
    },
    default: fallback,
    initial(env) {
      return isGiven(env) ? value.parse(env[spec.env]!, spec.env) : fallback();
    },
    fromEnvironment: (env) => isGiven(env) || typeof given === 'function',
    ...(spec.finish ? { finish: spec.finish } : {}),
  };
}

/** What `derived` takes: a field whose schema is built when first read. */
export type DerivedSpec<G extends string, K extends string, S extends z.ZodType> = Omit<
  Field<G, K, S>,
  'schema' | 'fromEnvironment'
> & { schema: () => S };

/** Declares a value that no variable of ours sets: computed from the environment and other settings. */
export function derived<G extends string, K extends string, S extends z.ZodType>(
  spec: DerivedSpec<G, K, S>,
): Field<G, K, S> {
  const built = once(spec.schema);
  return {
    group: spec.group,
    key: spec.key,
    get schema() {
      return built();
    },
    initial: spec.initial,
    fromEnvironment: () => true,
    ...(spec.finish ? { finish: spec.finish } : {}),
  };
}

export function isSetting(field: Field): field is Setting {
  return 'env' in field;
}

// The kinds of value. Each pairs the parser of the variable's text with the schema of the value.

/**
 * The schema of a whole number from min (to max): one per range, shared by the settings that
 * use it (zod's schemas are immutable), and built with its checks at once rather than by
 * chaining .int().min().max(), which builds a schema per step. Some 65 settings are numbers:
 * built the chained way, one apiece, they were a third of the configuration's loading, which
 * every command waits for before its first step.
 */
const wholeNumbers = new Map<string, z.ZodNumber>();
function wholeNumber(min: number, max?: number): z.ZodNumber {
  const key = `${min}:${max ?? ''}`;
  let schema = wholeNumbers.get(key);
  if (!schema) {
    schema = z.number().check(z.int(), z.gte(min), ...(max === undefined ? [] : [z.lte(max)]));
    wholeNumbers.set(key, schema);
  }
  return schema;
}

/** Milliseconds, or a number with ms, s, m, h or d: "5000", "30s", "90d". */
export function duration(min: number): Kind<z.ZodNumber> {
  return kind(parseDuration, () => wholeNumber(min));
}

/** A whole number from min to max. */
export function integer(min: number, max: number): Kind<z.ZodNumber> {
  return kind(
    (text, name) => parseInteger(text, name, min, max),
    () => wholeNumber(min, max),
  );
}

/** Bytes, or a number with K, M or G (binary units): "5242880", "5M". */
export function size(min: number): Kind<z.ZodNumber> {
  return kind(parseSize, () => wholeNumber(min));
}

/** true/false, yes/no, on/off or 1/0. */
export function boolean(): Kind<z.ZodBoolean> {
  return kind(parseBoolean, () => z.boolean());
}

const trimmed = (value: string): string => value.trim();

/** Text, trimmed; `schema` builds the schema of what is valid. */
export function text<S extends z.ZodType<string | undefined>>(schema: () => S): Kind<S>;
export function text(): Kind<z.ZodString>;
export function text(
  schema: () => z.ZodType<string | undefined> = () => z.string(),
): Kind<z.ZodType<string | undefined>> {
  return kind(trimmed, schema);
}

const rateSchema = () => z.object({ points: wholeNumber(0), windowMs: wholeNumber(1) });

/** A count per duration, "20/10m", or "off". */
export function rate(): Kind<ReturnType<typeof rateSchema>> {
  return kind(parseRate, rateSchema);
}

/** One of `values`, case-insensitive; the schema's message lists them. */
export function choice<const V extends readonly [string, ...string[]]>(
  values: V,
): Kind<z.ZodEnum<{ [K in V[number]]: K }>> {
  // Unvalidated here on purpose: the schema refuses other text, naming the accepted values.
  return kind(
    (value) => value.trim().toLowerCase() as V[number],
    () => z.enum(values),
  );
}

// The typed Config, derived from the declarations.

type InGroup<F, G> = F extends { group: G } ? F : never;
type GroupShape<F extends Field, G extends string> = { [E in InGroup<F, G> as E['key']]: E['schema'] };

/** The configuration object that the fields `F` build: config[group][key], typed by each schema. */
export type ConfigOf<F extends Field> = { [G in F['group']]: z.output<z.ZodObject<GroupShape<F, G>>> };

/** The zod schema of the whole configuration, groups and keys in declaration order. */
export function configSchema(fields: readonly Field[]): z.ZodObject<Record<string, z.ZodObject>> {
  const groups = new Map<string, Record<string, z.ZodType>>();
  for (const f of fields) {
    const shape = groups.get(f.group) ?? {};
    shape[f.key] = f.schema;
    groups.set(f.group, shape);
  }
  return z.object(Object.fromEntries([...groups].map(([name, shape]) => [name, z.object(shape)])));
}
