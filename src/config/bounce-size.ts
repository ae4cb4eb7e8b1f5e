import type { Env } from './declare.js';
import { processEnv } from './environment.js';

/**
 * The bounce size limit's variable and default, declared by its setting in bounce.ts and kept
 * here, apart from the declarations: a bounce run without follow-ups reads no other setting,
 * and when the variable is unset it takes the default from this module without loading the
 * configuration and zod (src/cli/bounce.ts says why).
 */
export const BOUNCE_MAX_SIZE = { env: 'MXDOCTOR_BOUNCE_MAX_SIZE', default: 5 * 1024 * 1024 } as const;

/**
 * The size limit when the environment leaves its variable unset or empty, as loadConfig would
 * read it then: its default. Undefined when the variable is set: then only loadConfig parses
 * and validates it.
 */
export function unsetBounceMaxBytes(env: Env = processEnv()): number | undefined {
  const text = env[BOUNCE_MAX_SIZE.env];
  return text === undefined || text === '' ? BOUNCE_MAX_SIZE.default : undefined;
}
