import type { CertSummary, FindingRef, KeyFacts, RunSummary } from './summary.js';

/**
 * What changed between two runs of a monitor: findings that appeared, disappeared or
 * changed status, and key facts that changed, each with a sentence a postmaster can act on
 * ("mx2.example.com certificate changed: new issuer …, expires 2027-02-01"). Pure.
 */
export interface FactChange {
  fact:
    | 'verdict'
    | 'mx'
    | 'addresses'
    | 'starttls'
    | 'certificate'
    | 'tlsa'
    | 'mta_sts'
    | 'spf'
    | 'dmarc'
    | 'dnsbl';
  subject?: string;
  from: unknown;
  to: unknown;
  text: string;
}

export interface FindingChange {
  key: string;
  id: string;
  title: string;
  from: FindingRef['status'];
  to: FindingRef['status'];
  summary: string;
}

export interface RunDiff {
  from: { reportId: string; at: string; verdict: string };
  to: { reportId: string; at: string; verdict: string };
  appeared: FindingRef[];
  disappeared: FindingRef[];
  changed: FindingChange[];
  facts: FactChange[];
  /** True when nothing at all changed. */
  same: boolean;
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

function setDiff(a: readonly string[], b: readonly string[]): { added: string[]; removed: string[] } {
  return { added: b.filter((x) => !a.includes(x)), removed: a.filter((x) => !b.includes(x)) };
}

function certText(subject: string, before: CertSummary | undefined, after: CertSummary | undefined): string {
  if (!before && after)
    return `${subject} now presents a certificate (${after.subject}, issued by ${after.issuer}, expires ${day(after.notAfter)})`;
  if (before && !after) return `${subject} no longer presents a certificate`;
  const parts: string[] = [];
  if (before!.issuer !== after!.issuer) parts.push(`new issuer ${after!.issuer}`);
  if (before!.subject !== after!.subject) parts.push(`new subject ${after!.subject}`);
  parts.push(
    `expires ${day(after!.notAfter)}${before!.notAfter !== after!.notAfter ? ` (was ${day(before!.notAfter)})` : ''}`,
  );
  return `${subject} certificate changed: ${parts.join(', ')}`;
}

function compareRecords<T>(
  fact: FactChange['fact'],
  a: Record<string, T>,
  b: Record<string, T>,
  equal: (x: T, y: T) => boolean,
  text: (subject: string, x: T | undefined, y: T | undefined) => string,
): FactChange[] {
  const out: FactChange[] = [];
  for (const subject of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[subject];
    const y = b[subject];
    if (x !== undefined && y !== undefined && equal(x, y)) continue;
    if (x === undefined && y === undefined) continue;
    out.push({ fact, subject, from: x ?? null, to: y ?? null, text: text(subject, x, y) });
  }
  return out;
}

export function diffFacts(a: KeyFacts, b: KeyFacts): FactChange[] {
  const out: FactChange[] = [];
  const mx = setDiff(a.mx, b.mx);
  if (mx.added.length || mx.removed.length || a.mxKind !== b.mxKind) {
    const parts = [
      ...(mx.added.length ? [`added ${mx.added.join(', ')}`] : []),
      ...(mx.removed.length ? [`removed ${mx.removed.join(', ')}`] : []),
    ];
    out.push({
      fact: 'mx',
      from: a.mx,
      to: b.mx,
      text: `MX set changed: ${parts.join('; ') || `${a.mxKind} → ${b.mxKind}`}`,
    });
  } else if (a.mx.join() !== b.mx.join()) {
    out.push({ fact: 'mx', from: a.mx, to: b.mx, text: `MX preferences changed: ${b.mx.join(', ')}` });
  }
  out.push(
    ...compareRecords(
      'addresses',
      a.addresses,
      b.addresses,
      (x, y) => [...x].sort().join() === [...y].sort().join(),
      (host, x, y) => {
        const d = setDiff(x ?? [], y ?? []);
        return `${host} addresses changed: ${[...(d.added.length ? [`added ${d.added.join(', ')}`] : []), ...(d.removed.length ? [`removed ${d.removed.join(', ')}`] : [])].join('; ')}`;
      },
    ),
    ...compareRecords(
      'starttls',
      a.starttls,
      b.starttls,
      (x, y) => x === y,
      (subject, x, y) =>
        y === 'offered'
          ? `${subject} offers STARTTLS again`
          : y === 'not_offered'
            ? `${subject} no longer offers STARTTLS`
            : `${subject} STARTTLS ${x ?? 'unknown'} → ${y ?? 'not probed'}`,
    ),
    ...compareRecords(
      'certificate',
      a.certificates,
      b.certificates,
      (x, y) => x.sha256 === y.sha256,
      certText,
    ),
    ...compareRecords(
      'tlsa',
      a.tlsa,
      b.tlsa,
      (x, y) => x.join() === y.join(),
      (host, x, y) =>
        !x
          ? `${host} now publishes TLSA records: ${y!.join('; ')}`
          : !y
            ? `${host} no longer publishes TLSA records (was ${x.join('; ')})`
            : `${host} TLSA records changed: ${y.join('; ')} (was ${x.join('; ')})`,
    ),
  );
  const stsMx = (f: KeyFacts) => (f.mtaSts.mx ?? []).join(', ');
  if (a.mtaSts.id !== b.mtaSts.id || a.mtaSts.mode !== b.mtaSts.mode || stsMx(a) !== stsMx(b)) {
    const bits = [
      ...(a.mtaSts.mode !== b.mtaSts.mode
        ? [`mode ${a.mtaSts.mode ?? 'none'} → ${b.mtaSts.mode ?? 'none'}`]
        : []),
      ...(stsMx(a) !== stsMx(b) ? [`mx ${stsMx(a) || 'none'} → ${stsMx(b) || 'none'}`] : []),
      ...(a.mtaSts.id !== b.mtaSts.id ? [`id ${a.mtaSts.id ?? 'none'} → ${b.mtaSts.id ?? 'none'}`] : []),
    ];
    out.push({
      fact: 'mta_sts',
      from: a.mtaSts,
      to: b.mtaSts,
      text: `MTA-STS policy changed: ${bits.join(', ')}`,
    });
  }
  for (const fact of ['spf', 'dmarc'] as const) {
    if (a[fact] !== b[fact]) {
      const name = fact.toUpperCase();
      out.push({
        fact,
        from: a[fact] ?? null,
        to: b[fact] ?? null,
        text: b[fact]
          ? `${name} record changed: "${a[fact] ?? '(none)'}" → "${b[fact]}"`
          : `${name} record removed (was "${a[fact]}")`,
      });
    }
  }
  const bl = setDiff(a.dnsbl, b.dnsbl);
  for (const listing of bl.added)
    out.push({ fact: 'dnsbl', subject: listing, from: null, to: listing, text: `now listed: ${listing}` });
  for (const listing of bl.removed)
    out.push({
      fact: 'dnsbl',
      subject: listing,
      from: listing,
      to: null,
      text: `no longer listed: ${listing}`,
    });
  return out;
}

export function diffRuns(a: RunSummary, b: RunSummary): RunDiff {
  const before = new Map(a.findings.map((f) => [f.key, f]));
  const after = new Map(b.findings.map((f) => [f.key, f]));
  const appeared = b.findings.filter((f) => !before.has(f.key));
  const disappeared = a.findings.filter((f) => !after.has(f.key));
  const changed: FindingChange[] = [];
  for (const f of b.findings) {
    const old = before.get(f.key);
    if (old && old.status !== f.status) {
      changed.push({
        key: f.key,
        id: f.id,
        title: f.title,
        from: old.status,
        to: f.status,
        summary: f.summary,
      });
    }
  }
  const facts = diffFacts(a.facts, b.facts);
  if (a.verdict !== b.verdict) {
    facts.unshift({
      fact: 'verdict',
      from: a.verdict,
      to: b.verdict,
      text: `verdict ${a.verdict} → ${b.verdict}`,
    });
  }
  return {
    from: { reportId: a.reportId, at: a.at, verdict: a.verdict },
    to: { reportId: b.reportId, at: b.at, verdict: b.verdict },
    appeared,
    disappeared,
    changed,
    facts,
    same: appeared.length + disappeared.length + changed.length + facts.length === 0,
  };
}
