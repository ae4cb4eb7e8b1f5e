import { isDeepStrictEqual } from 'node:util';
import { configSchema, isSetting } from './declare.js';
import type { Env, Field, Read } from './declare.js';
import { processEnv } from './environment.js';
import { ConfigError } from './parse.js';
import { ALL_FIELDS } from './settings.js';
import type { Config } from './settings.js';

/** A deep-partial view of Config, for CLI flag overrides. */
export type ConfigOverrides = { [K in keyof Config]?: Partial<Config[K]> };

/**
 * Reads configuration from `env` and applies `overrides` (CLI flags). Throws ConfigError
 * with one message naming the offending variable. In four steps, each over the fields in declaration order:
 * every field's value from the environment (or its default), the overrides on top, the
 * `finish` hooks (defaults that depend on other settings, checks across settings), and the
 * schemas, whose first complaint is reported under the variable's name. Only values that the
 * environment, an override or a hook gave (or changed) are validated: the others are static defaults,
 * valid by declaration (test/unit/config.test.ts checks every one), and building and running
 * the schemas of all hundred-odd settings was most of the configuration's cost, which every
 * command pays before its first step.
 */
export function loadConfig(env: Env = processEnv(), overrides: ConfigOverrides = {}): Config {
  const draft: Record<string, Record<string, unknown>> = {};
  const group = (name: string) => (draft[name] ??= {});
  for (const field of ALL_FIELDS) group(field.group)[field.key] = field.initial(env);
  const overridden = new Set<string>();
  for (const [name, values] of Object.entries(overrides)) {
    for (const [key, value] of Object.entries(values ?? {})) {
      if (value === undefined) continue;
      group(name)[key] = value;
      overridden.add(`${name}.${key}`);
    }
  }
  // The draft is not validated yet; hooks read other settings as their declarations type them.
  const read: Read = (field) => group(field.group)[field.key] as never;
  for (const field of ALL_FIELDS) {
    if (field.finish) group(field.group)[field.key] = field.finish(group(field.group)[field.key], read);
  }
  const given = (f: Field): boolean => {
    if (f.fromEnvironment(env) || overridden.has(`${f.group}.${f.key}`)) return true;
    // A hook that left a static default as it was gave nothing new to validate.
    return f.finish !== undefined && !(isSetting(f) && isDeepStrictEqual(group(f.group)[f.key], f.default()));
  };
  // Without zod's compiled fast path: a configuration is validated once per process, and
  // compiling a parser per group (new Function) cost a command's start-up 8 ms to save less.
  const parsed = configSchema(ALL_FIELDS.filter(given)).safeParse(draft, { jitless: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [groupName, key] = issue.path;
    const field = ALL_FIELDS.find((f) => f.group === groupName && f.key === key);
    const name = field && 'env' in field ? field.env : issue.path.join('.');
    throw new ConfigError(`${name}: ${issue.message}`);
  }
  // The declared fields alone, as the schema of the whole configuration would have kept them.
  const config: Record<string, Record<string, unknown>> = {};
  for (const f of ALL_FIELDS) (config[f.group] ??= {})[f.key] = draft[f.group]![f.key];
  return config as Config;
}
