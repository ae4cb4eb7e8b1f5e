import type { Env, Read } from './declare.js';
import { processEnv } from './environment.js';
import { ConfigError } from './parse.js';
import { ALL_FIELDS, CONFIG_SCHEMA } from './settings.js';
import type { Config } from './settings.js';

/** A deep-partial view of Config, for CLI flag overrides. */
export type ConfigOverrides = { [K in keyof Config]?: Partial<Config[K]> };

/**
 * Reads configuration from `env` and applies `overrides` (CLI flags). Throws ConfigError
 * with one message naming the offending variable. In four steps, each over the fields in declaration order:
 * every field's value from the environment (or its default), the overrides on top, the
 * `finish` hooks (defaults that depend on other settings, checks across settings), and the
 * schemas, whose first complaint is reported under the variable's name.
 */
export function loadConfig(env: Env = processEnv(), overrides: ConfigOverrides = {}): Config {
  const draft: Record<string, Record<string, unknown>> = {};
  const group = (name: string) => (draft[name] ??= {});
  for (const field of ALL_FIELDS) group(field.group)[field.key] = field.initial(env);
  for (const [name, values] of Object.entries(overrides)) {
    for (const [key, value] of Object.entries(values ?? {})) {
      if (value !== undefined) group(name)[key] = value;
    }
  }
  // The draft is not validated yet; hooks read other settings as their declarations type them.
  const read: Read = (field) => group(field.group)[field.key] as never;
  for (const field of ALL_FIELDS) {
    if (field.finish) group(field.group)[field.key] = field.finish(group(field.group)[field.key], read);
  }
  // Without zod's compiled fast path: a configuration is validated once per process, and
  // compiling a parser per group (new Function) cost a command's start-up 8 ms to save less.
  const parsed = CONFIG_SCHEMA.safeParse(draft, { jitless: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [groupName, key] = issue.path;
    const field = ALL_FIELDS.find((f) => f.group === groupName && f.key === key);
    const name = field && 'env' in field ? field.env : issue.path.join('.');
    throw new ConfigError(`${name}: ${issue.message}`);
  }
  return parsed.data as Config;
}
