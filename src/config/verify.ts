import { integer, rate, setting } from './declare.js';

/**
 * Settings of bulk work: address verification (`mxdoctor verify`, the verifications API) —
 * how many recipients one SMTP session asks and how fast one recipient domain is asked; the
 * limits per MX address are the SMTP probe's (smtp.ts) — and batches of domain checks. How to
 * add one: see declare.ts.
 */
export const VERIFY_SETTINGS = [
  setting({
    env: 'MXDOCTOR_VERIFY_RCPTS_PER_SESSION',
    group: 'verify',
    key: 'rcptsPerSession',
    description:
      'Address verification: most RCPT TO in one SMTP session (the catch-all probe included); more addresses at one MX address take more sessions. A server answering 452 "too many recipients" gets the rest in a new transaction.',
    default: 20,
    value: integer(1, 100),
  }),
  setting({
    env: 'MXDOCTOR_VERIFY_DOMAIN_RATE',
    group: 'verify',
    key: 'domainRate',
    description:
      'Address verification: most addresses asked per recipient domain per period, e.g. 60/1m; "off" to disable.',
    defaultText: '120/1m',
    default: { points: 120, windowMs: 60_000 },
    value: rate(),
  }),
  setting({
    env: 'MXDOCTOR_VERIFY_MAX_ADDRESSES',
    group: 'verify',
    key: 'maxAddresses',
    description: 'Address verification: most addresses in one request or list.',
    default: 10_000,
    value: integer(1, 1_000_000),
  }),
  setting({
    env: 'MXDOCTOR_BATCH_MAX_DOMAINS',
    group: 'batch',
    key: 'maxDomains',
    description:
      'Batches (POST /api/v1/batches, the batch page): most domains in one batch; a longer list is refused with this number in the error.',
    default: 1000,
    value: integer(1, 100_000),
  }),
];
