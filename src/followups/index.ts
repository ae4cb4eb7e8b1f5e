import type { Config } from '../config.js';
import type { Diagnosis, BounceRecord, Followup, Reason } from '../bounce/model.js';
import { CheckCache } from '../dns/cache.js';
import type { DnsCache } from '../dns/cache.js';
import { DnsClient } from '../dns/client.js';
import { deadline } from '../net/deadline.js';
import { describeError } from '../net/errors.js';
import { recipientDomainFollowup } from './recipient-domain.js';
import { sendingIpPtrFollowup } from './sending-ip-ptr.js';
import type { FollowupDefinition, FollowupDeps } from './types.js';

/**
 * Follow-up checks: for each bounce record, the checks that can confirm or refute its cause,
 * run through the existing engine. The registry maps reasons to small functions; each one
 * returns a plain result with a verdict (confirmed / not_confirmed / could_not_test) and a
 * sentence. Results are shared between records that ask the same question about the same
 * target (ten recipients at one dead domain cost one domain check).
 */

/** The registry. Order is the order results are listed in. */
export const FOLLOWUPS: readonly FollowupDefinition[] = [recipientDomainFollowup, sendingIpPtrFollowup];

/** The follow-ups that apply to a reason. */
export function followupsFor(reason: Reason): FollowupDefinition[] {
  return FOLLOWUPS.filter((f) => f.reasons.includes(reason));
}

export interface RunFollowupsDeps {
  config: Config;
  /** Cancels every follow-up. */
  signal?: AbortSignal;
  /** Shared DNS answers (a TtlCache in the service); defaults to one cache for this run. */
  dnsCache?: DnsCache;
  now?: () => Date;
}

/**
 * Runs the follow-ups of every record, under the configured check deadline, and returns the
 * diagnosis with each record's `followups` filled in. Never rejects for a failed check (that
 * is a could_not_test result); rejects only when `signal` aborts.
 */
export async function runFollowups(diagnosis: Diagnosis, deps: RunFollowupsDeps): Promise<Diagnosis> {
  const overall = deadline(deps.signal, deps.config.check.deadlineMs, 'follow-up checks');
  const dnsCache = deps.dnsCache ?? new CheckCache();
  const dns = new DnsClient({
    servers: deps.config.dns.resolvers,
    timeoutMs: deps.config.dns.timeoutMs,
    retries: deps.config.dns.retries,
    cache: dnsCache,
    signal: overall.signal,
  });
  const fdeps: FollowupDeps = {
    config: deps.config,
    dns,
    dnsCache,
    signal: overall.signal,
    now: deps.now ?? (() => new Date()),
  };
  const pending = new Map<string, Promise<Followup>>();
  const runOne = (def: FollowupDefinition, target: string): Promise<Followup> => {
    const key = `${def.id}|${target}`;
    let p = pending.get(key);
    if (!p) {
      p = def.run(target, fdeps).catch((err: unknown): Followup => {
        if (deps.signal?.aborted) throw err;
        return {
          id: def.id,
          title: def.title(target),
          target,
          verdict: 'could_not_test',
          summary: overall.signal.aborted
            ? `could not test: the follow-up checks ran out of time (${Math.round(deps.config.check.deadlineMs / 1000)} s).`
            : `could not test: ${describeError(err)}.`,
          details: { error: describeError(err) },
        };
      });
      pending.set(key, p);
    }
    return p;
  };
  try {
    const bounces: BounceRecord[] = await Promise.all(
      diagnosis.bounces.map(async (record) => {
        const results: Followup[] = [];
        for (const def of followupsFor(record.reason)) {
          const target = def.target(record, diagnosis);
          if (target.ok) results.push(await runOne(def, target.value));
          else
            results.push({
              id: def.id,
              title: def.title(null),
              target: '',
              verdict: 'could_not_test',
              summary: `could not test: ${target.why}`,
              details: {},
            });
        }
        return { ...record, followups: results };
      }),
    );
    return JSON.parse(JSON.stringify({ ...diagnosis, bounces })) as Diagnosis;
  } finally {
    overall.dispose();
  }
}

export type { FollowupDefinition, FollowupDeps } from './types.js';
