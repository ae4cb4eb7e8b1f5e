import { z } from 'zod';
import { derived, duration, integer, kind, setting, text } from './declare.js';
import { parseRedisUrl } from './parse.js';

/**
 * Settings of Redis, the job queue and stored reports. See docs/service.md.
 * How to add one: see declare.ts.
 */

const localRedisPort = setting({
  env: 'MXDOCTOR_LOCAL_REDIS_PORT',
  group: 'redis',
  key: 'localPort',
  description:
    'Port of the default Redis on 127.0.0.1 (used when REDIS_URL is unset) and of the private redis-server `npm start` starts there.',
  default: 6379,
  value: integer(1, 65535),
});

/** Filled in from MXDOCTOR_LOCAL_REDIS_PORT when unset. */
const redisUrl = setting({
  env: 'REDIS_URL',
  group: 'redis',
  key: 'url',
  description:
    'Redis to use. When unset and nothing answers at the default, `npm start` starts a private redis-server (data in MXDOCTOR_DATA_DIR, append-only).',
  defaultText: 'redis://127.0.0.1:6379',
  default: '',
  value: kind(parseRedisUrl, () => z.string()),
  finish: (url, read) => url || `redis://127.0.0.1:${read(localRedisPort)}`,
});

export const REDIS_AND_QUEUE_SETTINGS = [
  /** Whether REDIS_URL (or an override) was set: a private redis-server is only started when it was not. Before redis.url, which fills in the default. */
  derived({
    group: 'redis',
    key: 'urlFromEnv',
    schema: () => z.boolean(),
    initial: () => false,
    finish: (_value, read) => Boolean(read(redisUrl)),
  }),
  redisUrl,
  setting({
    env: 'MXDOCTOR_REDIS_PREFIX',
    group: 'redis',
    key: 'prefix',
    description:
      'Prefix of every Redis key (queue, reports, limits). Keep a {hash-tag} in it so BullMQ works on Redis Cluster.',
    defaultText: '{mxdoctor}',
    default: '{mxdoctor}',
    value: text(() => z.string().regex(/\{[^{}]+\}/, 'must contain a {hash-tag}, e.g. {mxdoctor}')),
  }),
  setting({
    env: 'MXDOCTOR_REDIS_COMMAND_TIMEOUT',
    group: 'redis',
    key: 'commandTimeoutMs',
    description:
      'How long the web waits for Redis to answer one command before it answers 503 (a Redis that is stuck keeps connections open but answers nothing); workers wait as long as it takes.',
    defaultText: '1500ms',
    default: 1500,
    value: duration(100),
  }),
  localRedisPort,
  setting({
    env: 'MXDOCTOR_DATA_DIR',
    group: 'service',
    key: 'dataDir',
    description:
      'Directory of the private redis-server’s data (append-only file) and of the admin token generated on first start (see MXDOCTOR_ADMIN_TOKEN).',
    defaultText: './data',
    default: 'data',
    value: text(() => z.string().min(1)),
  }),
  setting({
    env: 'MXDOCTOR_WORKER_CONCURRENCY',
    group: 'queue',
    key: 'concurrency',
    description:
      'Domain checks one worker process runs at the same time. A check mostly waits on the network, so one process holds hundreds (npm run bench tarpit: 500 checks stuck on tarpits beside normal ones).',
    default: 4,
    value: integer(1, 1000),
  }),
  setting({
    env: 'MXDOCTOR_DEDUPE_WINDOW',
    group: 'queue',
    key: 'dedupeMs',
    description:
      'Identical requests (same domain and options) while a check runs or within this long after it finished get that check instead of a new one; 0 = off.',
    defaultText: '60s',
    default: 60_000,
    value: duration(0),
  }),
  setting({
    env: 'MXDOCTOR_JOB_ATTEMPTS',
    group: 'queue',
    key: 'attempts',
    description:
      'Attempts of a queued check when the infrastructure fails (Redis, a crashed worker); a broken domain is never retried.',
    default: 3,
    value: integer(1, 20),
  }),
  setting({
    env: 'MXDOCTOR_JOB_LOCK',
    group: 'queue',
    key: 'lockMs',
    description:
      'Lock time of a running check; a worker that died is noticed after about this long and its check is run again by another.',
    defaultText: '30s',
    default: 30_000,
    value: duration(500),
  }),
  setting({
    env: 'MXDOCTOR_GREYLIST_REPROBE',
    group: 'queue',
    key: 'reprobeDelayMs',
    description:
      'When an address the user asked to verify was greylisted, the service asks again this long after the check (a delayed job) and updates the stored report; 0 = never.',
    defaultText: '6m',
    default: 360_000,
    value: duration(0),
  }),
  setting({
    env: 'MXDOCTOR_GREYLIST_REPROBE_ATTEMPTS',
    group: 'queue',
    key: 'reprobeAttempts',
    description: 'How many times the service re-probes greylisted addresses, each after the delay above.',
    default: 1,
    value: integer(1, 5),
  }),
  setting({
    env: 'MXDOCTOR_REPORT_RETENTION',
    group: 'storage',
    key: 'retentionMs',
    description: 'How long reports are kept in Redis.',
    defaultText: '30d',
    default: 30 * 86_400_000,
    value: duration(60_000),
  }),
  setting({
    env: 'MXDOCTOR_DOMAIN_HISTORY',
    group: 'storage',
    key: 'domainHistory',
    description: 'Most recent reports listed per domain ("previous checks of this domain").',
    default: 50,
    value: integer(1, 1000),
  }),
];
