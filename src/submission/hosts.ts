import type { Resolver } from '../dns/types.js';
import type { SubmissionData, SubmissionTarget } from './model.js';

/**
 * Where a domain's users submit mail (RFC 6186 §3.1, RFC 8314 §5.1): the SRV records
 * _submissions._tcp.<domain> (implicit TLS, normally port 465) and _submission._tcp.<domain>
 * (STARTTLS, normally 587). Without any, the names mail clients guess: smtp.<domain> and
 * mail.<domain>, when they resolve, on both ports.
 */

/** At most this many targets per SRV service, in priority order. */
const MAX_PER_SERVICE = 3;
export const GUESSED_PREFIXES = ['smtp', 'mail'] as const;

export interface SubmissionDiscovery {
  srv: SubmissionData['srv'];
  guessed: string[];
  targets: SubmissionTarget[];
}

/** Whether the domain published any submission SRV record (a "." target counts: it is a statement). */
export function publishesSrv(d: SubmissionDiscovery): boolean {
  return d.srv.submissions.length + d.srv.submission.length > 0;
}

export async function discoverSubmission(
  dns: Resolver,
  domain: string,
  signal: AbortSignal,
  /** Without SRV records, look up smtp./mail.<domain>. @defaultValue true */
  guess = true,
): Promise<SubmissionDiscovery> {
  const services = [
    { service: 'submissions', mode: 'implicit' },
    { service: 'submission', mode: 'starttls' },
  ] as const;
  const srv: SubmissionData['srv'] = { submissions: [], submission: [], rcodes: [], declined: [] };
  const targets: SubmissionTarget[] = [];
  for (const { service, mode } of services) {
    const answer = await dns.query(`_${service}._tcp.${domain}`, 'SRV', { signal });
    srv.rcodes.push(`_${service}._tcp: ${answer.rcode}`);
    const records = [...answer.records].sort((a, b) => a.priority - b.priority || b.weight - a.weight);
    srv[service] = records.map((r) => `${r.priority} ${r.weight} ${r.port} ${r.target || '.'}`);
    // RFC 2782: a single record with target "." means the service is decidedly not available.
    if (records.length === 1 && records[0]!.target === '') srv.declined.push(service);
    for (const r of records.filter((x) => x.target !== '').slice(0, MAX_PER_SERVICE))
      targets.push({ host: r.target, port: r.port, mode, from: 'srv' });
  }
  const guessed: string[] = [];
  if (guess && srv.submissions.length === 0 && srv.submission.length === 0) {
    for (const prefix of GUESSED_PREFIXES) {
      const host = `${prefix}.${domain}`;
      const [a, aaaa] = await Promise.all([
        dns.query(host, 'A', { signal }),
        dns.query(host, 'AAAA', { signal }),
      ]);
      if (a.records.length + aaaa.records.length === 0) continue;
      guessed.push(host);
      targets.push({ host, port: 465, mode: 'implicit', from: 'guess' });
      targets.push({ host, port: 587, mode: 'starttls', from: 'guess' });
    }
  }
  return { srv, guessed, targets };
}
