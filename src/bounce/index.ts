/**
 * Bounce diagnosis, the pure core: parse any NDR/DSN or SMTP reply, classify each
 * recipient's failure with the reason taxonomy, explain it. No I/O; follow-up checks that
 * need the network live in src/followups/.
 */
export {
  diagnoseBounce,
  checkBounceInput,
  formatSize,
  BounceInputError,
  BOUNCE_ACCEPTS,
  DEFAULT_MAX_BYTES,
  MAX_RECORDS,
} from './diagnose.js';
export type { DiagnoseOptions, BounceInputErrorCode } from './diagnose.js';
export { classify } from './classify.js';
export type { ClassifyInput, Classification } from './classify.js';
export { REASON_INFO, isHard, hardNote } from './reasons.js';
export { PHRASE_RULES } from './patterns.js';
export { STATUS_RULES, BASIC_RULES, statusRule } from './status-codes.js';
export * from './model.js';
