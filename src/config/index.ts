/**
 * mxdoctor's one configuration. Every setting has an environment variable, a default and a
 * description (the README's configuration table is generated from SETTINGS); CLI flags
 * override the environment. Nothing else in the code base reads process.env.
 *
 * The settings are declared once, in the area files of this folder; declare.ts says how,
 * and how to add one.
 */
export { loadConfig } from './load.js';
export type { ConfigOverrides } from './load.js';
export { SETTINGS } from './settings.js';
export type { Config } from './settings.js';
export type { Env, Setting } from './declare.js';
export { DEFAULT_DNSBLS, DEFAULT_DOMAIN_BLOCKLISTS } from './check.js';
export { colorEnabled, executablePath } from './environment.js';
export {
  ConfigError,
  parseBoolean,
  parseDuration,
  parseInteger,
  parseRate,
  parseRedisUrl,
  parseResolver,
  parseResolverList,
  parseSize,
  parseTokens,
  parseTrustProxy,
  parseZoneList,
  redactRedisUrl,
  systemResolvers,
} from './parse.js';
export type { Rate, ResolverAddress } from './parse.js';
