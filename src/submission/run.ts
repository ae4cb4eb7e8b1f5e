import type { Resolver } from '../dns/types.js';
import type { SocketFactory } from '../net/connect.js';
import { discoverSubmission } from './hosts.js';
import type { SubmissionDiscovery } from './hosts.js';
import type { SubmissionData, SubmissionProbe } from './model.js';
import { probeSubmission } from './probe.js';
import type { SubmissionTimeouts } from './probe.js';

/**
 * Discovery, then one probe per target (host and port), each at the first address of the
 * host: submission servers are few and users reach one address, so the light path is taken.
 * Probes run one after the other. Rejects only when `signal` aborts.
 */
export interface SubmissionRunOptions {
  dns: Resolver;
  domain: string;
  reason: SubmissionData['reason'];
  heloName: string;
  timeouts: SubmissionTimeouts;
  allowPrivate: boolean;
  trust: readonly string[];
  now: Date;
  signal: AbortSignal;
  connect?: SocketFactory;
  /** Discovery already done by the caller (it decides from it whether to probe). */
  discovery?: SubmissionDiscovery;
}

export async function runSubmission(o: SubmissionRunOptions): Promise<SubmissionData> {
  const found = o.discovery ?? (await discoverSubmission(o.dns, o.domain, o.signal));
  const probes: SubmissionProbe[] = [];
  const addresses = new Map<string, string | undefined>();
  for (const target of found.targets) {
    if (!addresses.has(target.host)) {
      const [a, aaaa] = await Promise.all([
        o.dns.query(target.host, 'A', { signal: o.signal }),
        o.dns.query(target.host, 'AAAA', { signal: o.signal }),
      ]);
      addresses.set(target.host, [...a.records, ...aaaa.records][0]?.address);
    }
    const address = addresses.get(target.host);
    if (!address) {
      probes.push({
        ...target,
        outcome: 'no_address',
        error: `${target.host} has no A or AAAA record`,
        ms: 0,
      });
      continue;
    }
    probes.push(
      await probeSubmission({
        target,
        address,
        heloName: o.heloName,
        timeouts: o.timeouts,
        allowPrivate: o.allowPrivate,
        signal: o.signal,
        trust: o.trust,
        now: o.now,
        ...(o.connect ? { connect: o.connect } : {}),
      }),
    );
  }
  return { reason: o.reason, srv: found.srv, guessed: found.guessed, probes };
}
