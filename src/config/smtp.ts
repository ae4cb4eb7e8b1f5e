import { z } from 'zod';
import { parseSocks5Url } from '../net/socks5.js';
import { boolean, duration, integer, rate, setting, text } from './declare.js';
import { ConfigError } from './parse.js';

/**
 * Settings of the SMTP probe: port, per-phase timeouts, how much it probes and reads, and
 * how politely the service treats one MX address. How to add one: see declare.ts.
 */

export const SMTP_SETTINGS = [
  setting({
    env: 'MXDOCTOR_SMTP_PORT',
    group: 'smtp',
    key: 'port',
    description: 'TCP port of the SMTP probe (25 in the real world; tests use high ports).',
    default: 25,
    value: integer(1, 65535),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_CONNECT_TIMEOUT',
    group: 'smtp',
    key: 'connectTimeoutMs',
    description: 'SMTP probe: timeout of the TCP connect to an MX address.',
    defaultText: '20s',
    default: 20_000,
    value: duration(1),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_BANNER_TIMEOUT',
    group: 'smtp',
    key: 'bannerTimeoutMs',
    description:
      'SMTP probe: time allowed for the complete 220 greeting (RFC 5321 §4.5.3.2 allows 5 min; a server slower than this is reported as a tarpit).',
    defaultText: '30s',
    default: 30_000,
    value: duration(1),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_COMMAND_TIMEOUT',
    group: 'smtp',
    key: 'commandTimeoutMs',
    description: 'SMTP probe: time allowed for the reply to EHLO, HELO, STARTTLS, RSET and QUIT.',
    defaultText: '30s',
    default: 30_000,
    value: duration(1),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_RCPT_TIMEOUT',
    group: 'smtp',
    key: 'envelopeTimeoutMs',
    description: 'SMTP probe: time allowed for the reply to MAIL FROM and RCPT TO.',
    defaultText: '60s',
    default: 60_000,
    value: duration(1),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_TLS_TIMEOUT',
    group: 'smtp',
    key: 'tlsTimeoutMs',
    description: 'SMTP probe: time allowed for a TLS handshake after STARTTLS.',
    defaultText: '20s',
    default: 20_000,
    value: duration(1),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_SESSION_TIMEOUT',
    group: 'smtp',
    key: 'sessionTimeoutMs',
    description: 'SMTP probe: deadline of one whole SMTP session.',
    defaultText: '90s',
    default: 90_000,
    value: duration(1),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_MAX_HOSTS',
    group: 'smtp',
    key: 'maxHosts',
    description: 'SMTP probe: MX hosts probed, in preference order.',
    default: 10,
    value: integer(1, 32),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_MAX_ADDRESSES',
    group: 'smtp',
    key: 'maxAddressesPerHost',
    description: 'SMTP probe: addresses probed per MX host (IPv4 and IPv6 alternately).',
    default: 2,
    value: integer(1, 16),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_PER_ADDRESS',
    group: 'smtp',
    key: 'perAddressConcurrency',
    description: 'SMTP probe: most concurrent sessions to one MX address from this process.',
    default: 2,
    value: integer(1, 16),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_MAX_LINE',
    group: 'smtp',
    key: 'maxLineBytes',
    description: 'SMTP probe: longest reply line accepted, in bytes (RFC 5321 §4.5.3.1.5 says 512).',
    default: 2048,
    value: integer(512, 1_048_576),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_MAX_REPLY_LINES',
    group: 'smtp',
    key: 'maxReplyLines',
    description: 'SMTP probe: most lines in one reply.',
    default: 100,
    value: integer(1, 10_000),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_MAX_BYTES',
    group: 'smtp',
    key: 'maxSessionBytes',
    description: 'SMTP probe: most bytes received in one session.',
    default: 262_144,
    value: integer(4096, 67_108_864),
  }),
  setting({
    env: 'MXDOCTOR_GREYLIST_RETRY',
    group: 'smtp',
    key: 'greylistRetryMs',
    description:
      'Delay after which greylisted recipients are asked again (e.g. 60s); the default for `--greylist-retry`.',
    defaultText: '0 (no retry)',
    default: 0,
    value: duration(0),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_LEGACY_TLS',
    group: 'smtp',
    key: 'legacyTlsProbe',
    description:
      'SMTP probe: try a TLS 1.0/1.1-only handshake to see whether a server still accepts them (one extra session per address).',
    default: true,
    value: boolean(),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_PROXY',
    group: 'smtp',
    key: 'proxy',
    description:
      'Egress proxy for SMTP connections (port 25 probe, TLS depth scan, submission ports), socks5://[user:password@]host:port, for hosts whose outbound port 25 is blocked; `--smtp-proxy` overrides. DNS stays local and the proxy is only ever asked for IP addresses that passed the address guard.',
    defaultText: 'none (direct)',
    default: undefined,
    value: text(() => z.string().optional()),
    finish(proxy) {
      if (!proxy) return undefined;
      try {
        parseSocks5Url(proxy);
      } catch (err) {
        throw new ConfigError(`MXDOCTOR_SMTP_PROXY / --smtp-proxy: ${(err as Error).message}`);
      }
      return proxy;
    },
  }),
  setting({
    env: 'MXDOCTOR_TLS_DEEP_HANDSHAKES',
    group: 'smtp',
    key: 'deepTlsMaxHandshakes',
    description:
      'TLS depth scan (`--tls deep`): most TLS handshakes (each on its own connection, one at a time) per MX address per check.',
    default: 60,
    value: integer(4, 300),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_CACHE_TTL',
    group: 'smtp',
    key: 'cacheTtlMs',
    description:
      'How long the service shares connection-level SMTP results (banner, EHLO, TLS, certificate) of one MX address between checks, across all workers; 0 = off. The CLI has no cache.',
    defaultText: '5m',
    default: 300_000,
    value: duration(0),
  }),
];

/** Limits per MX address shared by all workers (through Redis). */
export const POLITENESS_SETTINGS = [
  setting({
    env: 'MXDOCTOR_SMTP_SESSIONS_PER_IP',
    group: 'politeness',
    key: 'sessionsPerAddress',
    description: 'Most SMTP sessions to one MX address at the same time, across all workers.',
    default: 2,
    value: integer(1, 100),
  }),
  setting({
    env: 'MXDOCTOR_SMTP_RATE_PER_IP',
    group: 'politeness',
    key: 'ratePerAddress',
    description:
      'Most SMTP sessions started to one MX address per period, across all workers, e.g. 20/1m; "off" to disable.',
    defaultText: '20/1m',
    default: { points: 20, windowMs: 60_000 },
    value: rate(),
  }),
];
