import type { Config } from '../../config/index.js';
import type { BounceRecord, Diagnosis, Followup, Reason } from '../model.js';
import type { DnsCache } from '../../dns/cache.js';
import type { DnsClient } from '../../dns/client.js';
import type { Report } from '../../report/model.js';
import type { SmtpSharing } from '../../smtp/sharing.js';
import type { CheckHostResult } from '../../spf/evaluate.js';

/** What a follow-up gets to work with. */
export interface FollowupDeps {
  config: Config;
  /** A resolver bound to the follow-ups' deadline. */
  dns: DnsClient;
  /** The cache behind `dns`, for checks run through runCheck. */
  dnsCache: DnsCache;
  signal: AbortSignal;
  now: () => Date;
  /** Whether follow-ups may open SMTP connections (false with --no-smtp). */
  smtp: boolean;
  /** Politeness and connection cache of the service (absent on the command line). */
  services: SmtpSharing;
  /** The MX check of a domain (ASCII), run once per diagnosis however many follow-ups ask. */
  mxReport(domain: string): Promise<Report>;
  /** RFC 7208 check_host(), run once per (ip, domain, sender, helo) however many follow-ups ask. */
  spf(input: SpfQuestion): Promise<CheckHostResult>;
}

export interface SpfQuestion {
  ip: string;
  domain: string;
  sender: string;
  helo: string;
}

/** What one follow-up looks at: a display value (domain, address, IP) and the facts it needs. */
export interface FollowupTarget {
  value: string;
  params?: Record<string, string>;
}

/** What the choice of targets depends on besides the diagnosis. */
export interface TargetOptions {
  /** Private and loopback addresses are real targets (MXDOCTOR_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

export type TargetResult = { ok: true; target: FollowupTarget } | { ok: false; why: string };

/** One follow-up check: which records it confirms, what it looks at, how. */
export interface FollowupDefinition {
  /** Stable ID, public in the diagnosis JSON. */
  id: string;
  reasons: readonly Reason[];
  /** Records of other reasons it also applies to (e.g. STARTTLS failures classified otherwise). */
  alsoFor?: (record: BounceRecord) => boolean;
  /** What it checks, for the documentation table. */
  description: string;
  /** Opens SMTP connections (not run when connections are switched off). */
  usesSmtp?: boolean;
  /** "SPF of example.org for 192.0.2.1"; target is null when there is none. */
  title: (target: FollowupTarget | null) => string;
  /** What to check for this record (usually one target), or why there is nothing to check. */
  targets: (record: BounceRecord, diagnosis: Diagnosis, options: TargetOptions) => TargetResult[];
  /** Runs the check. May reject (the runner turns that into could_not_test). */
  run: (target: FollowupTarget, deps: FollowupDeps) => Promise<Followup>;
}

/** The common part of a follow-up result. */
export function followupBase(
  def: Pick<FollowupDefinition, 'id' | 'title'>,
  target: FollowupTarget,
): Pick<Followup, 'id' | 'title' | 'target'> {
  return { id: def.id, title: def.title(target), target: target.value };
}
