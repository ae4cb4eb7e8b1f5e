import { BOUNCE_MAX_SIZE } from './bounce-size.js';
import { duration, integer, setting, size } from './declare.js';

/** Settings of bounce diagnosis. How to add one: see declare.ts. */

export const BOUNCE_SETTINGS = [
  setting({
    env: BOUNCE_MAX_SIZE.env,
    group: 'bounce',
    key: 'maxBytes',
    description:
      'Largest bounce message accepted for diagnosis (bytes, or with a unit: 512K, 5M); larger input is refused with a clear error.',
    defaultText: '5M',
    default: BOUNCE_MAX_SIZE.default,
    value: size(1024),
  }),
  setting({
    env: 'MXDOCTOR_BOUNCE_RETENTION',
    group: 'bounce',
    key: 'retentionMs',
    description:
      'How long the service keeps a bounce diagnosis (it holds addresses and headers of real mail); the bounce text itself is deleted once diagnosed.',
    defaultText: '7d',
    default: 7 * 86_400_000,
    value: duration(60_000),
  }),
  setting({
    env: 'MXDOCTOR_BOUNCE_CONCURRENCY',
    group: 'bounce',
    key: 'concurrency',
    description: 'Bounce diagnoses (with their follow-up checks) one worker process runs at the same time.',
    default: 4,
    value: integer(1, 256),
  }),
];
