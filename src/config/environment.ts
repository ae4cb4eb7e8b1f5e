import type { Env } from './declare.js';

/**
 * The only module that reads process.env (an eslint rule keeps it so): everything else gets
 * its settings from a Config, or the environment passed in as a parameter.
 */

/** The environment of this process. */
export function processEnv(): Env {
  return process.env;
}

/** Colour for human output: on for a TTY unless NO_COLOR is set (https://no-color.org); FORCE_COLOR forces it. */
export function colorEnabled(stream: { isTTY?: boolean }, env: Env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

/** PATH, to find helper programs (redis-server for `npm start`). */
export function executablePath(env: Env = process.env): string {
  return env.PATH ?? '';
}

/** NODE_OPTIONS: the node flags this process was started with besides its command line. */
export function nodeOptions(env: Env = process.env): string[] {
  return (env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
}

/** NODE_USE_SYSTEM_CA=1: newer Node versions then trust the operating system's certificate store by default. */
export function nodeUsesSystemCa(env: Env = process.env): boolean {
  return env.NODE_USE_SYSTEM_CA === '1';
}
