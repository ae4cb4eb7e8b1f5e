import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ipFamily } from '../net/ip-family.js';
import { ehloName } from './check.js';
import { duration, integer, kind, rate, setting, size, text } from './declare.js';
import { ConfigError } from './parse.js';

/**
 * Settings of the inbound test (docs/inbound.md): the SMTP receiver that accepts one message
 * per one-time address, its limits, how long tests and messages are kept, and the optional
 * SpamAssassin spamd it asks for an opinion. How to add one: see declare.ts.
 */

const hostPort = () => z.object({ host: z.string(), port: z.number().int().min(0).max(65535) });
export type HostPort = z.infer<ReturnType<typeof hostPort>>;

/** "host:port", "[v6]:port" or ":port" (all interfaces); "off" or empty for none. */
export function parseHostPort(value: string, name: string, defaultHost = '0.0.0.0'): HostPort | undefined {
  const t = value.trim();
  if (/^(off|none|-)$/i.test(t) || t === '') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(t);
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535 || (host !== '' && !ipFamily(host) && !/^[a-z0-9.-]+$/i.test(host))) {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)} is not host:port; use e.g. 0.0.0.0:25, 127.0.0.1:2525, [::]:25 or :2525`,
    );
  }
  return { host: host || defaultHost, port };
}

const listen = kind(
  (v, name) => parseHostPort(v, name),
  () => hostPort().optional(),
);
const spamd = kind(
  (v, name) => parseHostPort(v, name, '127.0.0.1'),
  () => hostPort().optional(),
);

function readablePem(file: string | undefined, name: string, marker: RegExp): string | undefined {
  if (!file) return file;
  try {
    if (!marker.test(readFileSync(file, 'utf8'))) throw new Error('it contains no PEM block of that kind');
  } catch (err) {
    throw new ConfigError(`${name} ${JSON.stringify(file)} cannot be used: ${(err as Error).message}`);
  }
  return file;
}

const tlsCert = setting({
  env: 'MXDOCTOR_INBOUND_TLS_CERT',
  group: 'inbound',
  key: 'tlsCertFile',
  description:
    'PEM certificate (chain) the inbound receiver offers with STARTTLS. Unset: a self-signed certificate is generated at start (fine for development; the report says so).',
  defaultText: 'self-signed, generated',
  default: undefined,
  value: text(() => z.string().optional()),
  finish: (file) => readablePem(file, 'MXDOCTOR_INBOUND_TLS_CERT', /-----BEGIN CERTIFICATE-----/),
});

export const INBOUND_SETTINGS = [
  setting({
    env: 'MXDOCTOR_INBOUND_LISTEN',
    group: 'inbound',
    key: 'listen',
    description:
      'Where the inbound test receiver listens for SMTP, host:port (0.0.0.0:25 in production, a high port in development); off: no receiver in this process. Web processes (`serve`, `web`) run it.',
    defaultText: 'off',
    default: undefined,
    value: listen,
  }),
  setting({
    env: 'MXDOCTOR_INBOUND_DOMAIN',
    group: 'inbound',
    key: 'domain',
    description:
      'Domain of the one-time test addresses (test-<random>@<domain>); its MX must point at the receiver.',
    defaultText: 'the EHLO name',
    default: '',
    value: text(),
    finish(domain, read) {
      const d = (domain || read(ehloName)).toLowerCase().replace(/\.$/, '');
      if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(d) || d.length > 200) {
        throw new ConfigError(`MXDOCTOR_INBOUND_DOMAIN / --domain ${JSON.stringify(d)} is not a domain name`);
      }
      return d;
    },
  }),
  tlsCert,
  setting({
    env: 'MXDOCTOR_INBOUND_TLS_KEY',
    group: 'inbound',
    key: 'tlsKeyFile',
    description: 'PEM private key of MXDOCTOR_INBOUND_TLS_CERT.',
    defaultText: 'none',
    default: undefined,
    value: text(() => z.string().optional()),
    finish(file, read) {
      const checked = readablePem(file, 'MXDOCTOR_INBOUND_TLS_KEY', /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
      if (Boolean(checked) !== Boolean(read(tlsCert))) {
        throw new ConfigError(
          'MXDOCTOR_INBOUND_TLS_CERT and MXDOCTOR_INBOUND_TLS_KEY go together: set both or neither',
        );
      }
      return checked;
    },
  }),
  setting({
    env: 'MXDOCTOR_INBOUND_MAX_SIZE',
    group: 'inbound',
    key: 'maxBytes',
    description:
      'Largest test message the receiver accepts (announced with SIZE; larger ones are refused with 552).',
    defaultText: '10M',
    default: 10 * 1024 * 1024,
    value: size(1024),
  }),
  setting({
    env: 'MXDOCTOR_INBOUND_SESSION_DEADLINE',
    group: 'inbound',
    key: 'sessionDeadlineMs',
    description:
      'Longest an SMTP session with the receiver may last, from connect to QUIT; then 421 and close.',
    defaultText: '3m',
    default: 180_000,
    value: duration(1000),
  }),
  setting({
    env: 'MXDOCTOR_INBOUND_IDLE_TIMEOUT',
    group: 'inbound',
    key: 'idleTimeoutMs',
    description: 'How long the receiver waits for the next command or message bytes of a client.',
    defaultText: '60s',
    default: 60_000,
    value: duration(1000),
  }),
  setting({
    env: 'MXDOCTOR_INBOUND_MAX_CONNECTIONS',
    group: 'inbound',
    key: 'maxConnections',
    description: 'Most SMTP sessions the receiver holds at once; more are answered 421.',
    default: 100,
    value: integer(1, 100_000),
  }),
  setting({
    env: 'MXDOCTOR_INBOUND_CONNECTIONS_PER_IP',
    group: 'inbound',
    key: 'connectionsPerIp',
    description: 'Most simultaneous SMTP sessions from one client address; more are answered 421.',
    default: 3,
    value: integer(1, 1000),
  }),
  setting({
    env: 'MXDOCTOR_INBOUND_RATE_PER_IP',
    group: 'inbound',
    key: 'ratePerIp',
    description: 'SMTP sessions one client address may open per period, e.g. 30/10m; "off" to disable.',
    defaultText: '30/10m',
    default: { points: 30, windowMs: 600_000 },
    value: rate(),
  }),
  setting({
    env: 'MXDOCTOR_INBOUND_TEST_TTL',
    group: 'inbound',
    key: 'testTtlMs',
    description: 'How long a one-time address waits for its message before the test expires.',
    defaultText: '1h',
    default: 3_600_000,
    value: duration(10_000),
  }),
  setting({
    env: 'MXDOCTOR_INBOUND_RETENTION',
    group: 'inbound',
    key: 'retentionMs',
    description:
      'How long a received test message and its report are kept (they hold real mail); the message text is deleted then.',
    defaultText: '24h',
    default: 86_400_000,
    value: duration(60_000),
  }),
  setting({
    env: 'MXDOCTOR_INBOUND_CONCURRENCY',
    group: 'inbound',
    key: 'concurrency',
    description: 'Analyses of received test messages one worker process runs at the same time.',
    default: 2,
    value: integer(1, 256),
  }),
  setting({
    env: 'MXDOCTOR_SPAMD',
    group: 'spamd',
    key: 'address',
    description:
      'SpamAssassin spamd (host:port) asked for its opinion of each test message; off: no spam-filter opinion. See docs/inbound.md.',
    defaultText: 'off',
    default: undefined,
    value: spamd,
  }),
  setting({
    env: 'MXDOCTOR_SPAMD_TIMEOUT',
    group: 'spamd',
    key: 'timeoutMs',
    description: 'Deadline of one spamd request: connect, send the message, read the answer.',
    defaultText: '30s',
    default: 30_000,
    value: duration(100),
  }),
];
