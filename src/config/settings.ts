import { BOUNCE_SETTINGS } from './bounce.js';
import { CHECK_SETTINGS, FETCH_AND_BLOCKLIST_SETTINGS } from './check.js';
import { isSetting } from './declare.js';
import type { ConfigOf, Field, Setting } from './declare.js';
import { INBOUND_SETTINGS } from './inbound.js';
import { MONITOR_SETTINGS } from './monitor.js';
import { REDIS_AND_QUEUE_SETTINGS } from './queue.js';
import { LISTEN_SETTINGS, WEB_SETTINGS } from './service.js';
import { POLITENESS_SETTINGS, SMTP_SETTINGS } from './smtp.js';
import { VERIFY_SETTINGS } from './verify.js';

/**
 * Every field of the configuration, in the order of the README's configuration table (and
 * the order in which `finish` hooks run). The lists live in the area files; a new setting
 * goes into one of them, and only a new list is added here.
 */
export const FIELDS = [
  ...CHECK_SETTINGS,
  ...SMTP_SETTINGS,
  ...BOUNCE_SETTINGS,
  ...FETCH_AND_BLOCKLIST_SETTINGS,
  ...LISTEN_SETTINGS,
  ...REDIS_AND_QUEUE_SETTINGS,
  ...WEB_SETTINGS,
  ...POLITENESS_SETTINGS,
  ...VERIFY_SETTINGS,
  ...MONITOR_SETTINGS,
  ...INBOUND_SETTINGS,
];

/** mxdoctor's configuration: config.<group>.<key>, as declared by FIELDS. */
export type Config = ConfigOf<(typeof FIELDS)[number]>;

/** FIELDS seen through the common declaration type, as the loader and the docs walk them. */
export const ALL_FIELDS: readonly Field[] = FIELDS;

/** The settings read from environment variables, as the README's configuration table lists them. */
export const SETTINGS: readonly Setting[] = ALL_FIELDS.filter(isSetting);
