import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * mxdoctor's one configuration. Every setting has an environment variable, a default and a
 * description (the README's configuration table is generated from SETTINGS); CLI flags
 * override the environment. Nothing else in the code base reads process.env.
 */

export interface ResolverAddress {
  host: string;
  port: number;
}

export const ConfigSchema = z.object({
  dns: z.object({
    resolvers: z.array(z.object({ host: z.string(), port: z.number().int().min(1).max(65535) })).min(1),
    timeoutMs: z.number().int().min(1),
    retries: z.number().int().min(0).max(10),
    /** Most queries in flight to one resolver from one process. */
    maxInFlight: z.number().int().min(1).max(10000),
    /** Where the default resolvers came from, for the report ("MXDOCTOR_RESOLVERS", "/etc/resolv.conf"). */
    resolversSource: z.string(),
  }),
  check: z.object({ deadlineMs: z.number().int().min(100) }),
  probe: z.object({ ehloName: z.string().min(1), mailFrom: z.string().min(3) }),
  net: z.object({ allowPrivate: z.boolean() }),
  smtp: z.object({
    port: z.number().int().min(1).max(65535),
    /** Per-phase timeouts of the SMTP probe, in milliseconds. */
    connectTimeoutMs: z.number().int().min(1),
    bannerTimeoutMs: z.number().int().min(1),
    commandTimeoutMs: z.number().int().min(1),
    envelopeTimeoutMs: z.number().int().min(1),
    tlsTimeoutMs: z.number().int().min(1),
    sessionTimeoutMs: z.number().int().min(1),
    maxHosts: z.number().int().min(1).max(32),
    maxAddressesPerHost: z.number().int().min(1).max(16),
    perAddressConcurrency: z.number().int().min(1).max(16),
    maxLineBytes: z.number().int().min(512),
    maxReplyLines: z.number().int().min(1),
    maxSessionBytes: z.number().int().min(4096),
    /** Default delay before asking greylisted recipients again; 0 = no retry. */
    greylistRetryMs: z.number().int().min(0),
    legacyTlsProbe: z.boolean(),
    cacheTtlMs: z.number().int().min(0),
  }),
  bounce: z.object({
    maxBytes: z.number().int().min(1024),
    /** How long stored diagnoses of the service are kept. */
    retentionMs: z.number().int().min(60_000),
    /** Bounce diagnoses one worker process runs at the same time. */
    concurrency: z.number().int().min(1).max(256),
  }),
  https: z.object({
    /** Port of the MTA-STS policy host (443; tests point it at a loopback fixture). */
    port: z.number().int().min(1).max(65535),
    /** Deadline of one HTTPS fetch (connect, TLS, response). */
    timeoutMs: z.number().int().min(1),
  }),
  dnsbl: z.object({
    /** IP blocklist zones queried for every MX address. */
    zones: z.array(z.string()),
    /** Domain blocklist zones queried for the checked domain. */
    domainZones: z.array(z.string()),
  }),
  tls: z.object({
    /** Extra trusted CAs (PEM) from --ca-file / MXDOCTOR_CA_FILE. */
    caFile: z.string().optional(),
    /** NODE_EXTRA_CA_CERTS, which Node drops when an explicit `ca` is passed; re-added by trust-store.ts. */
    extraCaCertsFile: z.string().optional(),
  }),
  // The service (web, queue, workers). See docs/service.md.
  service: z.object({
    port: z.number().int().min(0).max(65535),
    /** Listen address; empty = all interfaces. */
    host: z.string(),
    /** Port of a standalone worker's /healthz, /readyz and /metrics; 0 = off. */
    workerPort: z.number().int().min(0).max(65535),
    /** Express "trust proxy": false, true, a hop count or a list of addresses/subnets. */
    trustProxy: z.union([z.boolean(), z.number().int().min(0), z.string()]),
    shutdownGraceMs: z.number().int().min(0),
    dataDir: z.string().min(1),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  }),
  redis: z.object({
    url: z.string(),
    /** Whether REDIS_URL was set (a private redis-server is only started when it was not). */
    urlFromEnv: z.boolean(),
    /** Key prefix of everything mxdoctor stores; contains a {hash-tag} for Redis Cluster. */
    prefix: z.string().regex(/\{[^{}]+\}/, 'must contain a {hash-tag}, e.g. {mxdoctor}'),
    localPort: z.number().int().min(1).max(65535),
  }),
  queue: z.object({
    concurrency: z.number().int().min(1).max(256),
    dedupeMs: z.number().int().min(0),
    attempts: z.number().int().min(1).max(20),
    lockMs: z.number().int().min(500),
    /** Delay of the greylisting re-probe job; 0 = no re-probe. */
    reprobeDelayMs: z.number().int().min(0),
    /** How many re-probes at most, each `reprobeDelayMs` after the last. */
    reprobeAttempts: z.number().int().min(1).max(5),
  }),
  storage: z.object({
    retentionMs: z.number().int().min(60_000),
    domainHistory: z.number().int().min(1).max(1000),
  }),
  limits: z.object({
    requests: z.object({ points: z.number().int().min(0), windowMs: z.number().int().min(1) }),
    checks: z.object({ points: z.number().int().min(0), windowMs: z.number().int().min(1) }),
    tokenChecks: z.object({ points: z.number().int().min(0), windowMs: z.number().int().min(1) }),
  }),
  auth: z.object({
    /** Bearer tokens accepted by the API, each with a name for logs and limits. */
    apiTokens: z.array(z.object({ name: z.string(), token: z.string().min(16) })),
    adminToken: z.string().min(16).optional(),
    /** Secret for CSRF tokens; generated once and kept in Redis when unset. */
    secret: z.string().min(16).optional(),
  }),
  politeness: z.object({
    sessionsPerAddress: z.number().int().min(1).max(100),
    ratePerAddress: z.object({ points: z.number().int().min(0), windowMs: z.number().int().min(1) }),
  }),
  // Monitoring: scheduled checks, history, alerts. See docs/monitoring.md.
  monitor: z.object({
    /** Shortest schedule a monitor may have. */
    minIntervalMs: z.number().int().min(1000),
    /** Default history kept per monitor: runs younger than this, at most maxRuns of them. */
    retentionMs: z.number().int().min(3_600_000),
    maxRuns: z.number().int().min(1).max(10_000),
    /** Longest delay that spreads monitors sharing a cron schedule. */
    cronJitterMs: z.number().int().min(0),
    /** Who may view monitors: everyone, or holders of the admin token or an API token. */
    view: z.enum(['public', 'private']),
  }),
  alert: z.object({
    /** SMTP server for alert email, smtp://user:pass@host:587 or smtps://…; unset = email off. */
    smtpUrl: z.string().optional(),
    from: z.string().min(3),
    attempts: z.number().int().min(1).max(50),
    backoffMs: z.number().int().min(1),
    webhookTimeoutMs: z.number().int().min(100),
    /** Base URL of the web UI for links in alerts, e.g. https://mxdoctor.example.com. */
    publicUrl: z.string(),
  }),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export interface Setting {
  env: string;
  path: string;
  description: string;
  /** Default as shown in documentation. */
  defaultText: string;
  parse: (value: string, env: string) => unknown;
  default: () => unknown;
}

export function parseDuration(value: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(value.trim());
  if (!m) {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)} is not a duration; use milliseconds (e.g. 5000) or a number with ms, s, m, h or d (e.g. 5s, 2m, 30d)`,
    );
  }
  const n = Number(m[1]);
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor =
    unit === 'd' ? 86_400_000 : unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : 1;
  return Math.round(n * factor);
}

/** Parses a size in bytes: "5242880", "512k", "5M", "5MiB" (binary units). */
export function parseSize(value: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(value.trim());
  if (!m) {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)} is not a size; use bytes (e.g. 5242880) or a number with K, M or G (e.g. 5M)`,
    );
  }
  const unit = (m[2] ?? 'b').toLowerCase()[0]!;
  const factor = unit === 'g' ? 1024 ** 3 : unit === 'm' ? 1024 ** 2 : unit === 'k' ? 1024 : 1;
  return Math.round(Number(m[1]) * factor);
}

export function parseBoolean(value: string, name: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  throw new ConfigError(
    `${name}=${JSON.stringify(value)} is not a boolean; use true/false, yes/no, on/off or 1/0`,
  );
}

export function parseInteger(value: string, name: string, min: number, max: number): number {
  if (!/^\s*\d+\s*$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(`${name}=${JSON.stringify(value)} must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

/** A rate such as "20/10m" (20 per 10 minutes); "off" or "0" turns the limit off. */
export interface Rate {
  points: number;
  windowMs: number;
}

export function parseRate(value: string, name: string): Rate {
  const v = value.trim().toLowerCase();
  if (v === 'off' || v === '0') return { points: 0, windowMs: 60_000 };
  const m = /^(\d+)\s*\/\s*(\S+)$/.exec(v);
  const fail = (): never => {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)} is not a rate; use a count per duration such as 20/10m or 300/1m, or "off"`,
    );
  };
  if (!m) return fail();
  let windowMs: number;
  try {
    windowMs = parseDuration(/^\d/.test(m[2]!) ? m[2]! : `1${m[2]!}`, name);
  } catch {
    return fail();
  }
  if (windowMs < 1) return fail();
  return { points: Number(m[1]), windowMs };
}

/** API tokens: comma-separated "name:token" or bare tokens (named token1, token2…). */
export function parseTokens(value: string, name: string): { name: string; token: string }[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.map((item, i) => {
    const colon = item.indexOf(':');
    const tokenName = colon > 0 ? item.slice(0, colon) : `token${i + 1}`;
    const token = colon > 0 ? item.slice(colon + 1) : item;
    if (token.length < 16 || /\s/.test(token)) {
      // Never echo the token itself.
      throw new ConfigError(
        `${name}: token ${i + 1} (${tokenName}) is too short or contains spaces; use at least 16 random characters, e.g. from \`openssl rand -hex 24\``,
      );
    }
    return { name: tokenName, token };
  });
}

function parseSecret(value: string, name: string): string {
  if (value.trim().length < 16) {
    throw new ConfigError(
      `${name} is too short; use at least 16 random characters, e.g. \`openssl rand -hex 24\``,
    );
  }
  return value.trim();
}

/** Express "trust proxy": true/false, a hop count, or addresses/subnets ("loopback, 10.0.0.0/8"). */
export function parseTrustProxy(value: string, name: string): boolean | number | string {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  try {
    return parseBoolean(v, name);
  } catch {
    return v;
  }
}

export function parseRedisUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigError(`${name} is not a URL; use redis://host:6379 (or rediss:// for TLS)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`${name} must start with redis:// or rediss://, e.g. redis://127.0.0.1:6379`);
  }
  return value.trim();
}

/** A Redis URL with any password replaced, for logs and messages. */
export function redactRedisUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString().replace(/\/$/, '');
  } catch {
    return 'redis://(invalid URL)';
  }
}

/** Parses "ip", "ip:port", "[v6]:port" or bare IPv6. */
export function parseResolver(text: string, name: string): ResolverAddress {
  const t = text.trim();
  let host = t;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else if (isIP(t) === 0 && /^[^:]+:\d+$/.test(t)) {
    const i = t.lastIndexOf(':');
    host = t.slice(0, i);
    port = Number(t.slice(i + 1));
  }
  if (isIP(host) === 0 || !(port >= 1 && port <= 65535)) {
    throw new ConfigError(
      `${name}: ${JSON.stringify(text)} is not a resolver address; use ip or ip:port, e.g. 9.9.9.9, 127.0.0.1:5353 or [2620:fe::fe]:53`,
    );
  }
  return { host, port };
}

export function parseResolverList(value: string, name: string): ResolverAddress[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0)
    throw new ConfigError(`${name} is empty; give one or more resolvers as ip[:port], comma-separated`);
  return items.map((item) => parseResolver(item, name));
}

/** The nameservers of /etc/resolv.conf (glibc falls back to 127.0.0.1 when there are none). */
export function systemResolvers(path = '/etc/resolv.conf'): ResolverAddress[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [{ host: '127.0.0.1', port: 53 }];
  }
  const found: ResolverAddress[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1]!.split('%')[0]!;
    if (isIP(host)) found.push({ host, port: 53 });
  }
  return found.length ? found : [{ host: '127.0.0.1', port: 53 }];
}

function defaultEhloName(): string {
  return hostname().toLowerCase() || 'localhost';
}

/** Public IP blocklists queried by default (each free for low-volume, non-commercial lookups). */
export const DEFAULT_DNSBLS = [
  'zen.spamhaus.org',
  'bl.spamcop.net',
  'b.barracudacentral.org',
  'psbl.surriel.com',
  'bl.mailspike.net',
  'ix.dnsbl.manitu.net',
];

/** Public domain blocklists queried for the checked domain by default. */
export const DEFAULT_DOMAIN_BLOCKLISTS = ['dbl.spamhaus.org', 'multi.surbl.org'];

/** Parses a comma-separated list of DNS zones (blocklists). */
export function parseZoneList(value: string, name: string): string[] {
  if (/^\s*(off|none|-)\s*$/i.test(value)) return [];
  const zones = value
    .split(',')
    .map((z) => z.trim().toLowerCase().replace(/\.$/, ''))
    .filter(Boolean);
  for (const zone of zones) {
    if (
      !/^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(
        zone,
      )
    ) {
      throw new ConfigError(
        `${name}: ${JSON.stringify(zone)} is not a DNS zone; give blocklist zones such as zen.spamhaus.org, comma-separated, or off for none`,
      );
    }
  }
  return zones;
}

export const SETTINGS: Setting[] = [
  {
    env: 'MXDOCTOR_RESOLVERS',
    path: 'dns.resolvers',
    description:
      'DNS resolvers to query, comma-separated ip[:port]. Use a validating resolver to get DNSSEC status.',
    defaultText: 'nameservers from /etc/resolv.conf',
    parse: parseResolverList,
    default: () => systemResolvers(),
  },
  {
    env: 'MXDOCTOR_DNS_TIMEOUT',
    path: 'dns.timeoutMs',
    description: 'Timeout of one DNS query attempt (ms, or with a unit: 3s).',
    defaultText: '3s',
    parse: parseDuration,
    default: () => 3000,
  },
  {
    env: 'MXDOCTOR_DNS_RETRIES',
    path: 'dns.retries',
    description: 'Further attempts after a DNS query times out, rotating through the resolvers.',
    defaultText: '2',
    parse: (v, n) => parseInteger(v, n, 0, 10),
    default: () => 2,
  },
  {
    env: 'MXDOCTOR_DNS_MAX_INFLIGHT',
    path: 'dns.maxInFlight',
    description:
      'Most DNS queries in flight to one resolver from one process; more wait their turn instead of overflowing the resolver and timing out.',
    defaultText: '64',
    parse: (v, n) => parseInteger(v, n, 1, 10000),
    default: () => 64,
  },
  {
    env: 'MXDOCTOR_CHECK_DEADLINE',
    path: 'check.deadlineMs',
    description: 'Overall deadline of one domain check; checks still running then are reported as "error".',
    defaultText: '120s',
    parse: parseDuration,
    default: () => 120_000,
  },
  {
    env: 'MXDOCTOR_EHLO_NAME',
    path: 'probe.ehloName',
    description:
      'Name the SMTP probe announces in EHLO. Use a fully qualified name whose A record and PTR match the probing host.',
    defaultText: "this machine's host name",
    parse: (v) => v.trim(),
    default: defaultEhloName,
  },
  {
    env: 'MXDOCTOR_MAIL_FROM',
    path: 'probe.mailFrom',
    description: 'Envelope sender (MAIL FROM) the SMTP probe uses for recipient verification.',
    defaultText: 'mxdoctor@<EHLO name>',
    parse: (v) => v.trim(),
    default: () => '',
  },
  {
    env: 'MXDOCTOR_ALLOW_PRIVATE',
    path: 'net.allowPrivate',
    description: 'Allow connections to loopback, private, link-local and other non-public addresses.',
    defaultText: 'false',
    parse: parseBoolean,
    default: () => false,
  },
  {
    env: 'MXDOCTOR_CA_FILE',
    path: 'tls.caFile',
    description:
      'PEM file of extra certificate authorities to trust when judging certificates (in addition to the system roots and NODE_EXTRA_CA_CERTS).',
    defaultText: 'none',
    parse: (v) => v.trim(),
    default: () => undefined,
  },
  {
    env: 'MXDOCTOR_SMTP_PORT',
    path: 'smtp.port',
    description: 'TCP port of the SMTP probe (25 in the real world; tests use high ports).',
    defaultText: '25',
    parse: (v, n) => parseInteger(v, n, 1, 65535),
    default: () => 25,
  },
  ...smtpSettings(),
  {
    env: 'MXDOCTOR_BOUNCE_MAX_SIZE',
    path: 'bounce.maxBytes',
    description:
      'Largest bounce message accepted for diagnosis (bytes, or with a unit: 512K, 5M); larger input is refused with a clear error.',
    defaultText: '5M',
    parse: parseSize,
    default: () => 5 * 1024 * 1024,
  },
  {
    env: 'MXDOCTOR_BOUNCE_RETENTION',
    path: 'bounce.retentionMs',
    description:
      'How long the service keeps a bounce diagnosis (it holds addresses and headers of real mail); the bounce text itself is deleted once diagnosed.',
    defaultText: '7d',
    parse: parseDuration,
    default: () => 7 * 86_400_000,
  },
  {
    env: 'MXDOCTOR_BOUNCE_CONCURRENCY',
    path: 'bounce.concurrency',
    description: 'Bounce diagnoses (with their follow-up checks) one worker process runs at the same time.',
    defaultText: '4',
    parse: (v, n) => parseInteger(v, n, 1, 256),
    default: () => 4,
  },
  {
    env: 'MXDOCTOR_HTTPS_PORT',
    path: 'https.port',
    description:
      'TCP port for HTTPS fetches of MTA-STS policies (443 in the real world; tests point it at a loopback server).',
    defaultText: '443',
    parse: (v, n) => parseInteger(v, n, 1, 65535),
    default: () => 443,
  },
  {
    env: 'MXDOCTOR_HTTPS_TIMEOUT',
    path: 'https.timeoutMs',
    description:
      'Deadline of one HTTPS fetch (MTA-STS policy): connect, TLS handshake and the whole response.',
    defaultText: '10s',
    parse: parseDuration,
    default: () => 10_000,
  },
  {
    env: 'MXDOCTOR_DNSBLS',
    path: 'dnsbl.zones',
    description:
      'IP blocklist (DNSBL) zones queried for every MX address, comma-separated, or off; --dnsbl overrides. Some lists refuse queries from public resolvers: use your own resolver.',
    defaultText: DEFAULT_DNSBLS.join(', '),
    parse: parseZoneList,
    default: () => [...DEFAULT_DNSBLS],
  },
  {
    env: 'MXDOCTOR_DOMAIN_BLOCKLISTS',
    path: 'dnsbl.domainZones',
    description:
      'Domain blocklist zones (DBL/URIBL style) queried for the checked domain, comma-separated, or off.',
    defaultText: DEFAULT_DOMAIN_BLOCKLISTS.join(', '),
    parse: parseZoneList,
    default: () => [...DEFAULT_DOMAIN_BLOCKLISTS],
  },
  {
    env: 'PORT',
    path: 'service.port',
    description: 'HTTP port of the web server (`npm start`, `npm run web`).',
    defaultText: '3000',
    parse: (v, n) => parseInteger(v, n, 0, 65535),
    default: () => 3000,
  },
  {
    env: 'MXDOCTOR_HOST',
    path: 'service.host',
    description: 'Address the web server listens on (e.g. 127.0.0.1 for local use only).',
    defaultText: 'all interfaces',
    parse: (v) => v.trim(),
    default: () => '',
  },
  {
    env: 'REDIS_URL',
    path: 'redis.url',
    description:
      'Redis to use. When unset and nothing answers at the default, `npm start` starts a private redis-server (data in MXDOCTOR_DATA_DIR, append-only).',
    defaultText: 'redis://127.0.0.1:6379',
    parse: parseRedisUrl,
    default: () => '',
  },
  {
    env: 'MXDOCTOR_REDIS_PREFIX',
    path: 'redis.prefix',
    description:
      'Prefix of every Redis key (queue, reports, limits). Keep a {hash-tag} in it so BullMQ works on Redis Cluster.',
    defaultText: '{mxdoctor}',
    parse: (v) => v.trim(),
    default: () => '{mxdoctor}',
  },
  {
    env: 'MXDOCTOR_LOCAL_REDIS_PORT',
    path: 'redis.localPort',
    description:
      'Port of the default Redis on 127.0.0.1 (used when REDIS_URL is unset) and of the private redis-server `npm start` starts there.',
    defaultText: '6379',
    parse: (v, n) => parseInteger(v, n, 1, 65535),
    default: () => 6379,
  },
  {
    env: 'MXDOCTOR_DATA_DIR',
    path: 'service.dataDir',
    description: 'Directory of the private redis-server’s data (append-only file).',
    defaultText: './data',
    parse: (v) => v.trim(),
    default: () => 'data',
  },
  {
    env: 'MXDOCTOR_WORKER_CONCURRENCY',
    path: 'queue.concurrency',
    description: 'Domain checks one worker process runs at the same time.',
    defaultText: '4',
    parse: (v, n) => parseInteger(v, n, 1, 256),
    default: () => 4,
  },
  {
    env: 'MXDOCTOR_DEDUPE_WINDOW',
    path: 'queue.dedupeMs',
    description:
      'Identical requests (same domain and options) while a check runs or within this long after it finished get that check instead of a new one; 0 = off.',
    defaultText: '60s',
    parse: parseDuration,
    default: () => 60_000,
  },
  {
    env: 'MXDOCTOR_JOB_ATTEMPTS',
    path: 'queue.attempts',
    description:
      'Attempts of a queued check when the infrastructure fails (Redis, a crashed worker); a broken domain is never retried.',
    defaultText: '3',
    parse: (v, n) => parseInteger(v, n, 1, 20),
    default: () => 3,
  },
  {
    env: 'MXDOCTOR_JOB_LOCK',
    path: 'queue.lockMs',
    description:
      'Lock time of a running check; a worker that died is noticed after about this long and its check is run again by another.',
    defaultText: '30s',
    parse: parseDuration,
    default: () => 30_000,
  },
  {
    env: 'MXDOCTOR_GREYLIST_REPROBE',
    path: 'queue.reprobeDelayMs',
    description:
      'When an address the user asked to verify was greylisted, the service asks again this long after the check (a delayed job) and updates the stored report; 0 = never.',
    defaultText: '6m',
    parse: parseDuration,
    default: () => 360_000,
  },
  {
    env: 'MXDOCTOR_GREYLIST_REPROBE_ATTEMPTS',
    path: 'queue.reprobeAttempts',
    description: 'How many times the service re-probes greylisted addresses, each after the delay above.',
    defaultText: '1',
    parse: (v, n) => parseInteger(v, n, 1, 5),
    default: () => 1,
  },
  {
    env: 'MXDOCTOR_REPORT_RETENTION',
    path: 'storage.retentionMs',
    description: 'How long reports are kept in Redis.',
    defaultText: '30d',
    parse: parseDuration,
    default: () => 30 * 86_400_000,
  },
  {
    env: 'MXDOCTOR_DOMAIN_HISTORY',
    path: 'storage.domainHistory',
    description: 'Most recent reports listed per domain ("previous checks of this domain").',
    defaultText: '50',
    parse: (v, n) => parseInteger(v, n, 1, 1000),
    default: () => 50,
  },
  {
    env: 'MXDOCTOR_RATE_LIMIT_REQUESTS',
    path: 'limits.requests',
    description: 'Requests per client address to pages and the API, e.g. 300/1m; "off" to disable.',
    defaultText: '300/1m',
    parse: parseRate,
    default: () => ({ points: 300, windowMs: 60_000 }),
  },
  {
    env: 'MXDOCTOR_RATE_LIMIT_CHECKS',
    path: 'limits.checks',
    description:
      'New checks per client address through the web form or the API without a token, e.g. 20/10m; "off" to disable.',
    defaultText: '20/10m',
    parse: parseRate,
    default: () => ({ points: 20, windowMs: 600_000 }),
  },
  {
    env: 'MXDOCTOR_RATE_LIMIT_TOKEN',
    path: 'limits.tokenChecks',
    description: 'New checks per API token, e.g. 600/10m; "off" to disable.',
    defaultText: '600/10m',
    parse: parseRate,
    default: () => ({ points: 600, windowMs: 600_000 }),
  },
  {
    env: 'MXDOCTOR_API_TOKENS',
    path: 'auth.apiTokens',
    description:
      'Bearer tokens for the API, comma-separated, each "name:token" or just the token. With tokens set, anonymous API use gets the web form’s limit.',
    defaultText: 'none (API open, with the anonymous limit)',
    parse: parseTokens,
    default: () => [],
  },
  {
    env: 'MXDOCTOR_ADMIN_TOKEN',
    path: 'auth.adminToken',
    description:
      'Token for the queue dashboard at /admin/queues (Bearer, or any user name with the token as password). Unset: admin pages are off.',
    defaultText: 'none (admin off)',
    parse: parseSecret,
    default: () => undefined,
  },
  {
    env: 'MXDOCTOR_SECRET',
    path: 'auth.secret',
    description:
      'Secret that signs form (CSRF) tokens; give all web processes the same one. Unset: generated once and kept in Redis.',
    defaultText: 'generated, kept in Redis',
    parse: parseSecret,
    default: () => undefined,
  },
  {
    env: 'MXDOCTOR_TRUST_PROXY',
    path: 'service.trustProxy',
    description:
      'Behind a reverse proxy, which X-Forwarded-For hops to trust for client addresses (rate limits): true, a hop count, or addresses/subnets.',
    defaultText: 'false',
    parse: parseTrustProxy,
    default: () => false,
  },
  {
    env: 'MXDOCTOR_SHUTDOWN_GRACE',
    path: 'service.shutdownGraceMs',
    description:
      'On SIGTERM/SIGINT, how long running checks may finish; checks still running then go back to the queue.',
    defaultText: '30s',
    parse: parseDuration,
    default: () => 30_000,
  },
  {
    env: 'MXDOCTOR_WORKER_PORT',
    path: 'service.workerPort',
    description:
      'HTTP port of a standalone worker (`npm run worker`) for /healthz, /readyz and /metrics; 0 = off.',
    defaultText: '3001',
    parse: (v, n) => parseInteger(v, n, 0, 65535),
    default: () => 3001,
  },
  {
    env: 'MXDOCTOR_LOG_LEVEL',
    path: 'service.logLevel',
    description: 'Log level of the service’s JSON logs: fatal, error, warn, info, debug, trace or silent.',
    defaultText: 'info',
    parse: (v) => v.trim().toLowerCase(),
    default: () => 'info',
  },
  {
    env: 'MXDOCTOR_SMTP_SESSIONS_PER_IP',
    path: 'politeness.sessionsPerAddress',
    description: 'Most SMTP sessions to one MX address at the same time, across all workers.',
    defaultText: '2',
    parse: (v, n) => parseInteger(v, n, 1, 100),
    default: () => 2,
  },
  {
    env: 'MXDOCTOR_SMTP_RATE_PER_IP',
    path: 'politeness.ratePerAddress',
    description:
      'Most SMTP sessions started to one MX address per period, across all workers, e.g. 20/1m; "off" to disable.',
    defaultText: '20/1m',
    parse: parseRate,
    default: () => ({ points: 20, windowMs: 60_000 }),
  },
  ...monitorSettings(),
];

/** A base URL for links (no trailing slash). */
function parsePublicUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigError(
      `${name} is not a URL; use the address people open, e.g. https://mxdoctor.example.com`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`${name} must start with http:// or https://`);
  return url.toString().replace(/(^|[^/])\/+$/, '$1');
}

function parseSmtpUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigError(
      `${name} is not a URL; use smtp://user:password@mail.example.com:587 (or smtps:// for port 465)`,
    );
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new ConfigError(`${name} must start with smtp:// or smtps://, e.g. smtp://mail.example.com:587`);
  return value.trim();
}

function monitorSettings(): Setting[] {
  return [
    {
      env: 'MXDOCTOR_MONITOR_MIN_INTERVAL',
      path: 'monitor.minIntervalMs',
      description: 'Shortest schedule a monitor may have (e.g. 5m); shorter schedules are refused.',
      defaultText: '5m',
      parse: parseDuration,
      default: () => 5 * 60_000,
    },
    {
      env: 'MXDOCTOR_MONITOR_RETENTION',
      path: 'monitor.retentionMs',
      description:
        'How long a monitor keeps its runs (reports and summaries) unless the monitor sets its own.',
      defaultText: '90d',
      parse: parseDuration,
      default: () => 90 * 86_400_000,
    },
    {
      env: 'MXDOCTOR_MONITOR_MAX_RUNS',
      path: 'monitor.maxRuns',
      description: 'Most runs a monitor keeps unless it sets its own (the oldest go first).',
      defaultText: '500',
      parse: (v, n) => parseInteger(v, n, 1, 10_000),
      default: () => 500,
    },
    {
      env: 'MXDOCTOR_MONITOR_JITTER',
      path: 'monitor.cronJitterMs',
      description:
        'Monitors on the same cron schedule start spread over up to this long (at most a quarter of the interval); "every" schedules are spread over their whole interval.',
      defaultText: '5m',
      parse: parseDuration,
      default: () => 5 * 60_000,
    },
    {
      env: 'MXDOCTOR_MONITORS_VIEW',
      path: 'monitor.view',
      description:
        'Who may view monitors, their history and reports: "public" (anyone) or "private" (the admin token or an API token). Changing monitors always needs the admin token.',
      defaultText: 'private',
      parse: (v, n) => {
        const t = v.trim().toLowerCase();
        if (t !== 'public' && t !== 'private') throw new ConfigError(`${n} must be "public" or "private"`);
        return t;
      },
      default: () => 'private',
    },
    {
      env: 'MXDOCTOR_ALERT_SMTP_URL',
      path: 'alert.smtpUrl',
      description:
        'SMTP server that sends alert email: smtp://user:password@mail.example.com:587 (STARTTLS) or smtps://…:465. Unset: email destinations cannot be used.',
      defaultText: 'none (email alerts off)',
      parse: parseSmtpUrl,
      default: () => undefined,
    },
    {
      env: 'MXDOCTOR_ALERT_FROM',
      path: 'alert.from',
      description: 'From address of alert email.',
      defaultText: 'mxdoctor@<EHLO name>',
      parse: (v) => v.trim(),
      default: () => '',
    },
    {
      env: 'MXDOCTOR_ALERT_ATTEMPTS',
      path: 'alert.attempts',
      description:
        'Attempts to deliver one alert (email or webhook) before giving up, with exponential backoff.',
      defaultText: '8',
      parse: (v, n) => parseInteger(v, n, 1, 50),
      default: () => 8,
    },
    {
      env: 'MXDOCTOR_ALERT_BACKOFF',
      path: 'alert.backoffMs',
      description:
        'Delay before the second delivery attempt of an alert; it doubles with each further attempt.',
      defaultText: '30s',
      parse: parseDuration,
      default: () => 30_000,
    },
    {
      env: 'MXDOCTOR_WEBHOOK_TIMEOUT',
      path: 'alert.webhookTimeoutMs',
      description: 'Deadline of one webhook delivery: DNS, connect, TLS, request and response.',
      defaultText: '10s',
      parse: parseDuration,
      default: () => 10_000,
    },
    {
      env: 'MXDOCTOR_PUBLIC_URL',
      path: 'alert.publicUrl',
      description:
        'Address of the web UI as people reach it, for links in alerts (e.g. https://mxdoctor.example.com).',
      defaultText: 'http://localhost:<PORT>',
      parse: parsePublicUrl,
      default: () => '',
    },
  ];
}

function smtpSettings(): Setting[] {
  const duration = (env: string, key: string, ms: number, text: string, description: string): Setting => ({
    env,
    path: `smtp.${key}`,
    description,
    defaultText: text,
    parse: parseDuration,
    default: () => ms,
  });
  const integer = (
    env: string,
    key: string,
    value: number,
    min: number,
    max: number,
    description: string,
  ): Setting => ({
    env,
    path: `smtp.${key}`,
    description,
    defaultText: String(value),
    parse: (v, n) => parseInteger(v, n, min, max),
    default: () => value,
  });
  return [
    duration(
      'MXDOCTOR_SMTP_CONNECT_TIMEOUT',
      'connectTimeoutMs',
      20_000,
      '20s',
      'SMTP probe: timeout of the TCP connect to an MX address.',
    ),
    duration(
      'MXDOCTOR_SMTP_BANNER_TIMEOUT',
      'bannerTimeoutMs',
      30_000,
      '30s',
      'SMTP probe: time allowed for the complete 220 greeting (RFC 5321 §4.5.3.2 allows 5 min; a server slower than this is reported as a tarpit).',
    ),
    duration(
      'MXDOCTOR_SMTP_COMMAND_TIMEOUT',
      'commandTimeoutMs',
      30_000,
      '30s',
      'SMTP probe: time allowed for the reply to EHLO, HELO, STARTTLS, RSET and QUIT.',
    ),
    duration(
      'MXDOCTOR_SMTP_RCPT_TIMEOUT',
      'envelopeTimeoutMs',
      60_000,
      '60s',
      'SMTP probe: time allowed for the reply to MAIL FROM and RCPT TO.',
    ),
    duration(
      'MXDOCTOR_SMTP_TLS_TIMEOUT',
      'tlsTimeoutMs',
      20_000,
      '20s',
      'SMTP probe: time allowed for a TLS handshake after STARTTLS.',
    ),
    duration(
      'MXDOCTOR_SMTP_SESSION_TIMEOUT',
      'sessionTimeoutMs',
      90_000,
      '90s',
      'SMTP probe: deadline of one whole SMTP session.',
    ),
    integer(
      'MXDOCTOR_SMTP_MAX_HOSTS',
      'maxHosts',
      10,
      1,
      32,
      'SMTP probe: MX hosts probed, in preference order.',
    ),
    integer(
      'MXDOCTOR_SMTP_MAX_ADDRESSES',
      'maxAddressesPerHost',
      2,
      1,
      16,
      'SMTP probe: addresses probed per MX host (IPv4 and IPv6 alternately).',
    ),
    integer(
      'MXDOCTOR_SMTP_PER_ADDRESS',
      'perAddressConcurrency',
      2,
      1,
      16,
      'SMTP probe: most concurrent sessions to one MX address from this process.',
    ),
    integer(
      'MXDOCTOR_SMTP_MAX_LINE',
      'maxLineBytes',
      2048,
      512,
      1_048_576,
      'SMTP probe: longest reply line accepted, in bytes (RFC 5321 §4.5.3.1.5 says 512).',
    ),
    integer(
      'MXDOCTOR_SMTP_MAX_REPLY_LINES',
      'maxReplyLines',
      100,
      1,
      10_000,
      'SMTP probe: most lines in one reply.',
    ),
    integer(
      'MXDOCTOR_SMTP_MAX_BYTES',
      'maxSessionBytes',
      262_144,
      4096,
      67_108_864,
      'SMTP probe: most bytes received in one session.',
    ),
    duration(
      'MXDOCTOR_GREYLIST_RETRY',
      'greylistRetryMs',
      0,
      '0 (no retry)',
      'Delay after which greylisted recipients are asked again (e.g. 60s); the default for `--greylist-retry`.',
    ),
    {
      env: 'MXDOCTOR_SMTP_LEGACY_TLS',
      path: 'smtp.legacyTlsProbe',
      description:
        'SMTP probe: try a TLS 1.0/1.1-only handshake to see whether a server still accepts them (one extra session per address).',
      defaultText: 'true',
      parse: parseBoolean,
      default: () => true,
    },
    duration(
      'MXDOCTOR_SMTP_CACHE_TTL',
      'cacheTtlMs',
      300_000,
      '5m',
      'How long the service shares connection-level SMTP results (banner, EHLO, TLS, certificate) of one MX address between checks, across all workers; 0 = off. The CLI has no cache.',
    ),
  ];
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/** A deep-partial view of Config, for CLI flag overrides. */
export type ConfigOverrides = { [K in keyof Config]?: Partial<Config[K]> };

/**
 * Reads configuration from `env` and applies `overrides` (CLI flags). Throws ConfigError
 * with one message naming the offending variable.
 */
export function loadConfig(env: Env = process.env, overrides: ConfigOverrides = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const value = env[s.env];
    setPath(raw, s.path, value !== undefined && value !== '' ? s.parse(value, s.env) : s.default());
  }
  setPath(raw, 'tls.extraCaCertsFile', env.NODE_EXTRA_CA_CERTS || undefined);
  const fromEnv = env.MXDOCTOR_RESOLVERS !== undefined && env.MXDOCTOR_RESOLVERS !== '';
  setPath(raw, 'dns.resolversSource', fromEnv ? 'MXDOCTOR_RESOLVERS' : '/etc/resolv.conf');
  for (const [group, values] of Object.entries(overrides)) {
    for (const [key, value] of Object.entries(values ?? {})) {
      if (value !== undefined) setPath(raw, `${group}.${key}`, value);
    }
  }
  const redis = raw.redis as { url: string; urlFromEnv: boolean; localPort: number };
  redis.urlFromEnv = Boolean(redis.url);
  if (!redis.url) redis.url = `redis://127.0.0.1:${redis.localPort}`;
  const probe = raw.probe as { ehloName: string; mailFrom: string };
  if (!probe.mailFrom) probe.mailFrom = `mxdoctor@${probe.ehloName}`;
  const alert = raw.alert as { from: string; publicUrl: string };
  if (!alert.from) alert.from = `mxdoctor@${probe.ehloName}`;
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(alert.from)) {
    throw new ConfigError(
      `MXDOCTOR_ALERT_FROM ${JSON.stringify(alert.from)} is not an address like mxdoctor@example.com`,
    );
  }
  if (!alert.publicUrl)
    alert.publicUrl = `http://localhost:${(raw.service as { port: number }).port || 3000}`;
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(probe.mailFrom)) {
    throw new ConfigError(
      `MXDOCTOR_MAIL_FROM / --mail-from ${JSON.stringify(probe.mailFrom)} is not an address like probe@example.com`,
    );
  }
  if (!/^[a-z0-9.-]+$/i.test(probe.ehloName)) {
    throw new ConfigError(`MXDOCTOR_EHLO_NAME / --helo ${JSON.stringify(probe.ehloName)} is not a host name`);
  }
  const caFile = (raw.tls as { caFile?: string }).caFile;
  if (caFile) {
    try {
      const text = readFileSync(caFile, 'utf8');
      if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error('it contains no PEM certificate');
    } catch (err) {
      throw new ConfigError(
        `MXDOCTOR_CA_FILE / --ca-file ${JSON.stringify(caFile)} cannot be used: ${(err as Error).message}`,
      );
    }
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.');
    const setting = SETTINGS.find((s) => path.startsWith(s.path));
    throw new ConfigError(`${setting?.env ?? path}: ${issue.message}`);
  }
  return parsed.data;
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
