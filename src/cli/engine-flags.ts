import type { ConfigOverrides } from '../config/index.js';
import { parseDuration, parseResolver, parseZoneList } from '../config/parse.js';
import type { ResolverAddress } from '../config/parse.js';
import { UsageError } from './errors.js';

/**
 * The flags of the commands that run the check engine (check, bounce, verify, auth, inbound),
 * apart from the commands themselves: they parse with the configuration's text parsers alone,
 * so registering a command loads neither zod nor the configuration's declarations, which the
 * command's action loads when it runs.
 */

/** The flags that set how the check engine talks to DNS and SMTP servers (check and bounce). */
export interface EngineFlags {
  resolver?: ResolverAddress[];
  allowPrivate?: boolean;
  timeout?: number;
  dnsTimeout?: number;
  port?: number;
  helo?: string;
  mailFrom?: string;
  caFile?: string;
  smtpProxy?: string;
}

/** Configuration overrides from the engine flags; the rest comes from the environment. */
export function engineOverrides(flags: EngineFlags): ConfigOverrides {
  return {
    dns: {
      ...(flags.resolver ? { resolvers: flags.resolver, resolversSource: '--resolver' } : {}),
      ...(flags.dnsTimeout !== undefined ? { timeoutMs: flags.dnsTimeout } : {}),
    },
    net: flags.allowPrivate ? { allowPrivate: true } : {},
    check: flags.timeout !== undefined ? { deadlineMs: flags.timeout } : {},
    smtp: {
      ...(flags.port !== undefined ? { port: flags.port } : {}),
      ...(flags.smtpProxy !== undefined ? { proxy: flags.smtpProxy.trim() } : {}),
    },
    probe: {
      ...(flags.helo !== undefined ? { ehloName: flags.helo.trim() } : {}),
      ...(flags.mailFrom !== undefined ? { mailFrom: flags.mailFrom.trim() } : {}),
    },
    tls: flags.caFile !== undefined ? { caFile: flags.caFile } : {},
  };
}

export function collectDnsbl(value: string, previous: string[] = []): string[] {
  // parseZoneList reads "off" as no zones, which for a flag would silently mean the default list.
  if (/^\s*(off|none|-)\s*$/i.test(value))
    throw new UsageError('--dnsbl names blocklist zones to use; to query none, set MXDOCTOR_DNSBLS=off');
  try {
    return [...previous, ...parseZoneList(value, '--dnsbl')];
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function collectResolver(value: string, previous: ResolverAddress[] = []): ResolverAddress[] {
  try {
    return [...previous, parseResolver(value, '--resolver')];
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function durationFlag(flag: string) {
  return (value: string): number => {
    try {
      return parseDuration(value, flag);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
}

export function portFlag(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new UsageError(`--port ${JSON.stringify(value)} must be a port number from 1 to 65535`);
  }
  return Number(value);
}
