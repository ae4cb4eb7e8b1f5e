/**
 * The critical path of a domain check, read from its own JSON report: every network exchange
 * the report records (each DNS query of the DNS log; each flight of an SMTP session — connect
 * and greeting, each command group and its replies, the TLS handshake — from the transcripts;
 * the MTA-STS policy fetch) on one timeline, and
 *
 * - the ideal path: the longest chain of exchanges that truly depend on each other's data,
 *   each costing the round trips the protocol needs at least, in RTTs. This is the bound a
 *   check can reach whatever its scheduling: issue 14's "about 9 RTT" for one MX (MX →
 *   address → connect → greeting → EHLO → STARTTLS → TLS → EHLO → MAIL + RCPTs pipelined);
 * - the observed path: walking back from the exchange that finished last, each exchange and
 *   the one it waited for (the one that ended last before it started) — where the time went.
 *
 * Data dependencies (what an exchange needs before it can start):
 * - the A/AAAA and TLSA queries of an MX host need the MX answer (the host name);
 * - a PTR or DNSBL query of an address, and an SMTP session to it, need that address's answer;
 * - the address lookup of a PTR's target needs the PTR answer; a TCP retry needs the UDP
 *   answer that was truncated;
 * - the HTTPS policy fetch needs the policy host's address;
 * - every other query needs only the domain (it can be sent at once);
 * - within an SMTP session, each flight needs the one before.
 * Ideal costs: a UDP query 1 RTT, a TCP one 2 (connect, query); an SMTP connection up to its
 * greeting 2 (handshake, then the greeting); each command flight 1, except that where the
 * server offers PIPELINING (RFC 2920) every MAIL/RCPT/RSET after the last EHLO fits in one
 * flight, and QUIT's reply is waited for by no one (0); a TLS 1.3 handshake 1, TLS 1.2 and
 * older 2, a refused one 1 (the alert); the HTTPS fetch 3 (connect, TLS 1.3, request).
 */

interface DnsEntry {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  truncated: boolean;
  ms: number;
  atMs: number;
}
interface TranscriptLine {
  atMs: number;
  dir: 'C' | 'S' | '*';
  line: string;
}
interface Session {
  kind: string;
  host: string;
  address: string;
  family: 4 | 6;
  startedAt: string;
  transcript: TranscriptLine[];
}
export interface CheckReport {
  startedAt: string;
  durationMs: number;
  mx: { hosts: { name: string; addresses?: { address: string }[] }[] };
  dnsLog: DnsEntry[];
  data: Record<string, unknown>;
}

export interface Exchange {
  id: string;
  label: string;
  /** ms since the check started. */
  start: number;
  end: number;
  /** Round trips it needs at least. */
  ideal: number;
  /** Ids of the exchanges whose data it needs. */
  deps: string[];
}

export interface CriticalPath {
  exchanges: Exchange[];
  ideal: { rtts: number; chain: Exchange[] };
  observed: { chain: Exchange[] };
}

function reverseName(address: string): string | null {
  const v4 = address.split('.');
  if (v4.length === 4) return `${v4.reverse().join('.')}.in-addr.arpa`;
  return null;
}

export function exchangesOf(report: CheckReport): Exchange[] {
  const out: Exchange[] = [];
  const first = new Map<string, Exchange>(); // "TYPE name" → its first query
  const mxHosts = new Set(report.mx.hosts.map((h) => h.name.toLowerCase()));
  const mxQuery = (): string[] => {
    const mx = [...first.values()].find((e) => e.label.startsWith('MX '));
    return mx ? [mx.id] : [];
  };
  const addressQuery = (address: string): string[] => {
    for (const h of report.mx.hosts) {
      if ((h.addresses ?? []).some((a) => a.address === address)) {
        const q = first.get(`${address.includes(':') ? 'AAAA' : 'A'} ${h.name.toLowerCase()}`);
        if (q) return [q.id];
      }
    }
    return [];
  };
  const reverseOwner = new Map<string, string>(); // reverse name → address
  for (const h of report.mx.hosts)
    for (const a of h.addresses ?? []) {
      const r = reverseName(a.address);
      if (r) reverseOwner.set(r, a.address);
    }
  // Names a PTR answer pointed to (their forward lookups need it): reverse name → target names.
  const ptrNames = new Map<string, string[]>();
  const ptr = report.data.ptr as { addresses?: { reverseName: string; names?: string[] }[] } | undefined;
  for (const a of ptr?.addresses ?? []) ptrNames.set(a.reverseName.toLowerCase(), a.names ?? []);
  const ptrTargets = new Map<string, string>(); // target name → id of the PTR query that gave it

  report.dnsLog.forEach((q, i) => {
    const key = `${q.type} ${q.name.toLowerCase()}`;
    const name = q.name.toLowerCase();
    let deps: string[] = [];
    const earlier = first.get(key);
    if (earlier && q.transport === 'tcp') deps = [earlier.id];
    else if ((q.type === 'A' || q.type === 'AAAA') && mxHosts.has(name)) deps = mxQuery();
    else if (q.type === 'TLSA' && [...mxHosts].some((h) => name.endsWith(`._tcp.${h}`))) deps = mxQuery();
    else if (ptrTargets.has(name)) deps = [ptrTargets.get(name)!];
    else {
      const owner = [...reverseOwner].find(
        ([r]) => name === r || name.startsWith(`${r.replace(/\.in-addr\.arpa$/, '')}.`),
      );
      if (owner) deps = addressQuery(owner[1]);
    }
    const e: Exchange = {
      id: `dns${i}`,
      label: `${q.type} ${q.name}${q.transport === 'tcp' ? ' (TCP)' : ''}`,
      start: q.atMs,
      end: q.atMs + q.ms,
      ideal: q.transport === 'tcp' ? 2 : 1,
      deps,
    };
    if (!earlier) first.set(key, e);
    if (q.type === 'PTR')
      for (const target of ptrNames.get(name) ?? [])
        if (!ptrTargets.has(target.toLowerCase())) ptrTargets.set(target.toLowerCase(), e.id);
    out.push(e);
  });

  const t0 = Date.parse(report.startedAt);
  const smtp = report.data.smtp as { sessions?: Session[] } | undefined;
  (smtp?.sessions ?? []).forEach((s, si) => {
    const offset = Date.parse(s.startedAt) - t0;
    const who = `${s.kind} ${s.host}`;
    let prev: string[] = addressQuery(s.address);
    let pipelining = false;
    let grouped = false; // a MAIL/RCPT/RSET flight already counted since the last EHLO
    let step = 0;
    const add = (label: string, start: number, end: number, ideal: number): void => {
      const id = `smtp${si}.${step++}`;
      out.push({
        id,
        label: `${who}: ${label}`,
        start: offset + start,
        end: offset + end,
        ideal,
        deps: prev,
      });
      prev = [id];
    };
    const lines = s.transcript;
    const greeting = lines.findIndex((l) => l.dir === 'S');
    if (greeting < 0) return;
    add('connect, greeting', 0, lines[greeting]!.atMs, 2);
    let i = greeting + 1;
    while (i < lines.length) {
      const l = lines[i]!;
      if (l.dir === '*' && /^TLS handshake/.test(l.line)) {
        const sent = lines[i - 1]!.atMs;
        const failed = /failed/.test(l.line);
        add(
          failed ? 'TLS handshake (refused)' : 'TLS handshake',
          sent,
          l.atMs,
          failed ? 1 : /TLSv1\.3/.test(l.line) ? 1 : 2,
        );
        i++;
        continue;
      }
      if (l.dir !== 'C') {
        i++;
        continue;
      }
      // A flight: the commands sent together, then their replies.
      const commands: string[] = [];
      const sent = l.atMs;
      while (i < lines.length && lines[i]!.dir === 'C') commands.push(lines[i++]!.line);
      let replied: number | undefined;
      let extensions = '';
      while (i < lines.length && lines[i]!.dir === 'S') {
        replied = lines[i]!.atMs;
        extensions += `${lines[i]!.line}\n`;
        i++;
      }
      if (replied === undefined) continue;
      const verb = commands[0]!.split(' ')[0]!.toUpperCase();
      let ideal = 1;
      if (verb === 'EHLO' || verb === 'HELO') {
        pipelining = /^250[ -]PIPELINING\b/im.test(extensions);
        grouped = false;
      } else if (verb === 'QUIT') ideal = 0;
      else if (['MAIL', 'RCPT', 'RSET'].includes(verb) && pipelining) {
        ideal = grouped ? 0 : 1;
        grouped = true;
      }
      const shown =
        commands.length > 1 ? `${commands[0]!.split(':')[0]} +${commands.length - 1}` : commands[0]!;
      add(shown.replace(/<[^>]*>/g, '<…>'), sent, replied, ideal);
    }
  });

  const sts = report.data.mta_sts as { fetch?: { host: string; ms: number; outcome: string } } | undefined;
  if (sts?.fetch && sts.fetch.outcome !== 'dns_error' && sts.fetch.outcome !== 'no_address') {
    const host = sts.fetch.host.toLowerCase();
    const lookups = out.filter((e) => e.label === `A ${host}` || e.label === `AAAA ${host}`);
    if (lookups.length) {
      const a = lookups.find((e) => e.label.startsWith('A ')) ?? lookups[0]!;
      out.push({
        id: 'https',
        label: `HTTPS fetch of the MTA-STS policy (${host})`,
        start: Math.max(...lookups.map((e) => e.end)),
        end: a.start + sts.fetch.ms,
        ideal: 3,
        deps: [a.id],
      });
    }
  }
  return out;
}

export function criticalPath(report: CheckReport, rttMs: number): CriticalPath {
  const exchanges = exchangesOf(report);
  const byId = new Map(exchanges.map((e) => [e.id, e]));
  // Ideal: longest path by ideal cost over the dependency graph (deps always come earlier).
  const finish = new Map<string, { rtts: number; via?: string }>();
  const order = [...exchanges].sort((a, b) => a.start - b.start);
  const cost = (e: Exchange): { rtts: number; via?: string } => {
    const known = finish.get(e.id);
    if (known) return known;
    let best: { rtts: number; via?: string } = { rtts: e.ideal };
    for (const d of e.deps) {
      const dep = byId.get(d);
      if (!dep) continue;
      const c = cost(dep).rtts + e.ideal;
      if (c > best.rtts) best = { rtts: c, via: d };
    }
    finish.set(e.id, best);
    return best;
  };
  let last: Exchange | undefined;
  for (const e of order) if (!last || cost(e).rtts > cost(last).rtts) last = e;
  const idealChain: Exchange[] = [];
  for (let e = last; e; e = finish.get(e.id)?.via ? byId.get(finish.get(e.id)!.via!) : undefined)
    idealChain.unshift(e);

  // Observed: from the last to finish, back through what each one waited for.
  const observedChain: Exchange[] = [];
  let cur = [...exchanges].sort((a, b) => b.end - a.end)[0];
  const slack = 2; // ms: timestamps are whole milliseconds
  while (cur) {
    observedChain.unshift(cur);
    const start = cur.start;
    const before = exchanges.filter((e) => e !== cur && e.end <= start + slack && e.start < start);
    const latest = before.sort((a, b) => b.end - a.end)[0];
    // What it waited for: its own input when that came about last (within half an RTT), else
    // whatever ended last before it began (a wait that no data dependency explains).
    const own = before.find((e) => cur!.deps.includes(e.id) && latest && e.end >= latest.end - rttMs / 2);
    cur = own ?? latest;
  }
  return {
    exchanges,
    ideal: { rtts: last ? cost(last).rtts : 0, chain: idealChain },
    observed: { chain: observedChain },
  };
}
