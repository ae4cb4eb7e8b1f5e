import { readFileSync } from 'node:fs';
import { ipFamily } from '../net/ip-family.js';

/**
 * The parsers of setting values: text from an environment variable (or a CLI flag) to a
 * value. Each throws ConfigError with one message that names the variable (`name`) and says
 * what is accepted. Pure apart from systemResolvers, which reads /etc/resolv.conf.
 */

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ResolverAddress {
  host: string;
  port: number;
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

export function parseSecret(value: string, name: string): string {
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
  } else if (/^[^:]+:\d+$/.test(t)) {
    // One colon: "ip:port" (an IPv6 address has at least two).
    const i = t.lastIndexOf(':');
    host = t.slice(0, i);
    port = Number(t.slice(i + 1));
  }
  if (ipFamily(host) === 0 || !(port >= 1 && port <= 65535)) {
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
    if (ipFamily(host)) found.push({ host, port: 53 });
  }
  return found.length ? found : [{ host: '127.0.0.1', port: 53 }];
}

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

/** A base URL for links (no trailing slash). */
export function parsePublicUrl(value: string, name: string): string {
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

export function parseSmtpUrl(value: string, name: string): string {
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
