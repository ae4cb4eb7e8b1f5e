import type { Config } from '../config.js';
import type { BounceRecord, Diagnosis, Followup, Reason } from '../bounce/model.js';
import type { DnsCache } from '../dns/cache.js';
import type { DnsClient } from '../dns/client.js';

/** What a follow-up gets to work with. */
export interface FollowupDeps {
  config: Config;
  /** A resolver bound to the follow-ups' deadline. */
  dns: DnsClient;
  /** The cache behind `dns`, for checks run through runCheck. */
  dnsCache: DnsCache;
  signal: AbortSignal;
  now: () => Date;
}

export type FollowupTarget = { ok: true; value: string } | { ok: false; why: string };

/** One follow-up check: which reasons it confirms, what it looks at, how. */
export interface FollowupDefinition {
  /** Stable ID, public in the diagnosis JSON. */
  id: string;
  reasons: readonly Reason[];
  /** "MX records of example.com"; target is null when there is none. */
  title: (target: string | null) => string;
  /** The domain, address or IP to check for this record, or why there is none. */
  target: (record: BounceRecord, diagnosis: Diagnosis) => FollowupTarget;
  /** Runs the check. May reject (the runner turns that into could_not_test). */
  run: (target: string, deps: FollowupDeps) => Promise<Followup>;
}
