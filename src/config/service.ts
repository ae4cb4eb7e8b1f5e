import { z } from 'zod';
import { choice, duration, integer, kind, rate, setting, text } from './declare.js';
import { parseSecret, parseTokens, parseTrustProxy } from './parse.js';

/**
 * Settings of the service's processes: where the web server listens, request and check
 * limits, API and admin tokens, proxies, shutdown, the worker's health port and logging.
 * See docs/service.md. How to add one: see declare.ts.
 */

const secret = kind(parseSecret, () => z.string().min(16).optional());

/** Read by the default of MXDOCTOR_PUBLIC_URL. */
export const webPort = setting({
  env: 'PORT',
  group: 'service',
  key: 'port',
  description: 'HTTP port of the web server (`npm start`, `npm run web`).',
  default: 3000,
  value: integer(0, 65535),
});

/** Where the web server listens. */
export const LISTEN_SETTINGS = [
  webPort,
  setting({
    env: 'MXDOCTOR_HOST',
    group: 'service',
    key: 'host',
    description: 'Address the web server listens on (e.g. 127.0.0.1 for local use only).',
    defaultText: 'all interfaces',
    default: '',
    value: text(),
  }),
];

/** Limits, tokens and the life of a process. */
export const WEB_SETTINGS = [
  setting({
    env: 'MXDOCTOR_RATE_LIMIT_REQUESTS',
    group: 'limits',
    key: 'requests',
    description: 'Requests per client address to pages and the API, e.g. 300/1m; "off" to disable.',
    defaultText: '300/1m',
    default: { points: 300, windowMs: 60_000 },
    value: rate(),
  }),
  setting({
    env: 'MXDOCTOR_RATE_LIMIT_CHECKS',
    group: 'limits',
    key: 'checks',
    description:
      'New checks per client address through the web form or the API without a token, e.g. 20/10m; "off" to disable.',
    defaultText: '20/10m',
    default: { points: 20, windowMs: 600_000 },
    value: rate(),
  }),
  setting({
    env: 'MXDOCTOR_RATE_LIMIT_TOKEN',
    group: 'limits',
    key: 'tokenChecks',
    description: 'New checks per API token, e.g. 600/10m; "off" to disable.',
    defaultText: '600/10m',
    default: { points: 600, windowMs: 600_000 },
    value: rate(),
  }),
  setting({
    env: 'MXDOCTOR_API_TOKENS',
    group: 'auth',
    key: 'apiTokens',
    description:
      'Bearer tokens for the API, comma-separated, each "name:token" or just the token. With tokens set, anonymous API use gets the web form’s limit.',
    defaultText: 'none (API open, with the anonymous limit)',
    default: [],
    value: kind(parseTokens, () => z.array(z.object({ name: z.string(), token: z.string().min(16) }))),
  }),
  setting({
    env: 'MXDOCTOR_REPORTS_VIEW',
    group: 'auth',
    key: 'reportsView',
    description:
      'Whether reports of checks made without an API token are listed on the domain’s pages and in /api/v1/domains/…/checks for everyone ("public") or only for the admin ("private"; then only their link opens them). Reports of an API token are only ever shown to that token and the admin; verified addresses only to whoever asked.',
    defaultText: 'public',
    default: 'public',
    value: choice(['public', 'private']),
  }),
  setting({
    env: 'MXDOCTOR_ADMIN_TOKEN',
    group: 'auth',
    key: 'adminToken',
    description:
      'Admin token: creating and changing monitors, the queue dashboard at /admin/queues (Bearer, or any user name with the token as password), every report. Unset: admin is off — except that `npm start` on a loopback-only web server (MXDOCTOR_HOST=127.0.0.1) generates one on first start in MXDOCTOR_DATA_DIR/admin-token and prints a sign-in link.',
    defaultText: 'none (admin off; generated on loopback)',
    default: undefined,
    value: secret,
  }),
  setting({
    env: 'MXDOCTOR_METRICS_VIEW',
    group: 'auth',
    key: 'metricsView',
    description:
      'Who may read /metrics (web server and worker port): "private" (a bearer token: MXDOCTOR_METRICS_TOKEN or the admin token) or "public" (anyone; the per-monitor gauges of private monitors then carry no domain).',
    defaultText: 'private',
    default: 'private',
    value: choice(['public', 'private']),
  }),
  setting({
    env: 'MXDOCTOR_METRICS_TOKEN',
    group: 'auth',
    key: 'metricsToken',
    description:
      'Bearer token for /metrics (Prometheus: `authorization: {credentials: …}`), so the scraper needs no admin token. At least 16 characters.',
    defaultText: 'none (the admin token only)',
    default: undefined,
    value: secret,
  }),
  setting({
    env: 'MXDOCTOR_SECRET',
    group: 'auth',
    key: 'secret',
    description:
      'Secret that signs form (CSRF) tokens; give all web processes the same one. Unset: generated once and kept in Redis.',
    defaultText: 'generated, kept in Redis',
    default: undefined,
    value: secret,
  }),
  setting({
    env: 'MXDOCTOR_TRUST_PROXY',
    group: 'service',
    key: 'trustProxy',
    description:
      'Behind a reverse proxy, which X-Forwarded-For hops to trust for client addresses (rate limits): true, a hop count, or addresses/subnets.',
    default: false,
    value: kind(parseTrustProxy, () => z.union([z.boolean(), z.number().int().min(0), z.string()])),
  }),
  setting({
    env: 'MXDOCTOR_SHUTDOWN_GRACE',
    group: 'service',
    key: 'shutdownGraceMs',
    description:
      'On SIGTERM/SIGINT, how long running checks may finish; checks still running then go back to the queue.',
    defaultText: '30s',
    default: 30_000,
    value: duration(0),
  }),
  setting({
    env: 'MXDOCTOR_WORKER_PORT',
    group: 'service',
    key: 'workerPort',
    description:
      'HTTP port of a standalone worker (`npm run worker`) for /healthz, /readyz and /metrics; 0 = off.',
    default: 3001,
    value: integer(0, 65535),
  }),
  setting({
    env: 'MXDOCTOR_LOG_LEVEL',
    group: 'service',
    key: 'logLevel',
    description: 'Log level of the service’s JSON logs: fatal, error, warn, info, debug, trace or silent.',
    defaultText: 'info',
    default: 'info',
    value: choice(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  }),
];
