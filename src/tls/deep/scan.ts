import { throwIfAborted } from '../../net/deadline.js';
import { directConnect } from '../../net/connect.js';
import type { SocketFactory } from '../../net/connect.js';
import { runAttempt } from './handshake.js';
import type { Attempt, AttemptResult, HandshakeTarget, HandshakeTimeouts } from './handshake.js';
import type { DeepTlsScan, HandshakeSummary, VersionResult } from './model.js';
import { CIPHER_SUITES, CLASS_ORDER, GROUPS, suiteByName, suiteUsableIn } from './suites.js';
import type { CipherSuite, TlsVersion } from './suites.js';

/**
 * The TLS depth scan of one MX address: which suites each protocol version accepts, the
 * server's cipher preference, key-exchange groups and DH sizes, the signature hash of the
 * key exchange, client-initiated renegotiation and OCSP stapling — in as few handshakes as
 * the questions allow, one at a time, never more than `maxHandshakes`.
 *
 * How suites are found with few connections: offer every candidate, note the one the server
 * picks, offer the rest again, until the server refuses ("elimination": accepted + 1
 * handshakes per group). Weak suites (Insufficient and Phase-out) are looked for first, so
 * that what decides the verdict is known even when the cap stops the scan; TLS 1.0/1.1 get
 * only the suites not already seen on TLS 1.2 first, the re-test of shared ones comes last.
 * testssl.sh, by comparison, tries suites one per connection (≈ 237 connections per MX).
 *
 * The planner is separate from the I/O: `scanWith` drives any HandshakeFn, so the plan is
 * unit-tested against a simulated server and run for real through runAttempt.
 */

/** Default and documented cap: at most this many TLS handshakes (connections) per address per check. */
export const DEFAULT_MAX_HANDSHAKES = 60;
/** Handshakes kept back for the cipher order, key-exchange hash, group and renegotiation tests. */
const RESERVED_FOR_TESTS = 8;
/** Consecutive failed connections (not TLS refusals) after which the scan stops. */
const MAX_CONSECUTIVE_FAILURES = 2;

/** What Node's OpenSSL cannot test; reported instead of guessed. */
export const UNTESTABLE: readonly string[] = [
  "SSL 2.0 and SSL 3.0: Node's OpenSSL 3 cannot offer them",
  "TLS compression (CRIME): Node's OpenSSL is built without it, so it cannot be offered",
  "RC4, 3DES, DES, IDEA, SEED and export-grade suites: not compiled into Node's OpenSSL, so a server accepting only those looks as if it accepted nothing",
  "the exact signature hash the server picks by itself: Node does not expose the peer's signature algorithm, so the scan asks with SHA-2 only and with SHA-1 only instead",
  'secure renegotiation indication (RFC 5746), Extended Master Secret (RFC 7627) and TLS 1.3 0-RTT: not exposed by Node',
  'whether a finite-field DH group is one of the RFC 7919 groups: Node reports only its size',
];

export type HandshakeFn = (attempt: Attempt) => Promise<AttemptResult>;

export interface ScanPlanOptions {
  maxHandshakes: number;
  signal: AbortSignal;
}

/** The scan's facts without the target fields (filled by scanAddress). */
export type ScanFacts = Omit<DeepTlsScan, 'host' | 'address' | 'port' | 'ms'>;

const LEGACY_VERSIONS: TlsVersion[] = ['TLSv1.1', 'TLSv1'];
const isWeak = (s: CipherSuite): boolean => s.class === 'insufficient' || s.class === 'phase_out';
const isSigned = (s: CipherSuite): boolean => s.kx === 'ECDHE' || s.kx === 'DHE';

/** Client `sigalgs` with SHA-2 only, and with SHA-1 only (TLS 1.2, RFC 5246 §7.4.1.4.1). */
export const SHA2_SIGALGS =
  'RSA-PSS+SHA256:RSA-PSS+SHA384:RSA-PSS+SHA512:RSA+SHA256:RSA+SHA384:RSA+SHA512:ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:ed448';
export const SHA1_SIGALGS = 'RSA+SHA1:ECDSA+SHA1:DSA+SHA1';

class Session {
  readonly log: HandshakeSummary[] = [];
  stopped: string | undefined;
  firstFailure: AttemptResult | undefined;
  private failures = 0;

  constructor(
    private readonly hs: HandshakeFn,
    readonly cap: number,
    private readonly signal: AbortSignal,
  ) {}

  get left(): number {
    return this.stopped ? 0 : this.cap - this.log.length;
  }

  get capReached(): boolean {
    return this.log.length >= this.cap;
  }

  /** One handshake, or undefined when the budget is spent or the scan stopped. */
  async try(attempt: Attempt): Promise<AttemptResult | undefined> {
    if (this.left <= 0) return undefined;
    throwIfAborted(this.signal);
    const r = await this.hs(attempt);
    const entry: HandshakeSummary = {
      n: this.log.length + 1,
      purpose: attempt.purpose,
      version: attempt.version,
      offered: attempt.suites.length,
      outcome: r.outcome,
      ms: r.ms,
    };
    if (attempt.suites[0]) entry.firstOffered = attempt.suites[0].iana;
    if (attempt.groups) entry.groups = [...attempt.groups];
    if (attempt.sigalgs) entry.sigalgs = attempt.sigalgs;
    for (const k of ['protocol', 'suite', 'group', 'renegotiation', 'error'] as const) {
      if (r[k] !== undefined) (entry as Record<string, unknown>)[k] = r[k];
    }
    this.log.push(entry);
    if (r.outcome === 'failed') {
      this.firstFailure ??= r;
      this.failures++;
      // Not a TLS answer: a server that stops taking connections (rate limit, tarpit) or
      // one we must not or cannot reach. Do not hammer it.
      if (
        this.failures >= MAX_CONSECUTIVE_FAILURES ||
        r.failure === 'forbidden' ||
        r.failure === 'no_starttls'
      )
        this.stopped = `stopped after ${this.failures} failed connection${this.failures > 1 ? 's' : ''}: ${r.error ?? 'failed'}`;
    } else this.failures = 0;
    return r;
  }
}

interface Elimination {
  accepted: CipherSuite[];
  /** Ended with a refusal (not the budget, not a failure). */
  complete: boolean;
  /** The first handshake was refused: nothing in this group is accepted. */
  firstRefused: boolean;
  dhBits: number[];
  ocsp: AttemptResult['ocsp'] | undefined;
}

async function eliminate(
  session: Session,
  version: TlsVersion,
  candidates: readonly CipherSuite[],
  limit = Infinity,
): Promise<Elimination> {
  const out: Elimination = {
    accepted: [],
    complete: false,
    firstRefused: false,
    dhBits: [],
    ocsp: undefined,
  };
  let remaining = [...candidates];
  let used = 0;
  if (remaining.length === 0) return { ...out, complete: true };
  while (remaining.length > 0 && used < limit) {
    const r = await session.try({ purpose: 'ciphers', version, suites: remaining });
    if (!r) return out;
    used++;
    if (r.outcome === 'refused') {
      out.complete = true;
      out.firstRefused = used === 1;
      return out;
    }
    if (r.outcome === 'failed') return out;
    if (r.dhBits) out.dhBits.push(r.dhBits);
    if (r.ocsp) out.ocsp ??= r.ocsp;
    const chosen = remaining.find((s) => s.iana === r.suite);
    // A server that answers with a suite we did not offer is broken; stop this group.
    if (!chosen) return out;
    out.accepted.push(chosen);
    remaining = remaining.filter((s) => s !== chosen);
  }
  out.complete = remaining.length === 0;
  return out;
}

function candidatesFor(version: TlsVersion): CipherSuite[] {
  return CIPHER_SUITES.filter((s) => suiteUsableIn(s, version));
}

// Long on purpose: the scan plan is one numbered sequence of steps spending one handshake
// budget (the politeness cap); reading it in order is how its cost is reviewed.
/** Runs the whole plan through `hs`. Rejects only when the signal aborts. */
export async function scanWith(hs: HandshakeFn, options: ScanPlanOptions): Promise<ScanFacts> {
  const session = new Session(hs, options.maxHandshakes, options.signal);
  const versions = new Map<TlsVersion, VersionResult>();
  const dhBits = new Set<number>();
  let ocsp: AttemptResult['ocsp'];
  const note = (e: Elimination): void => {
    for (const b of e.dhBits) dhBits.add(b);
    ocsp ??= e.ocsp;
  };
  // Small caps keep a quarter for the tests after the cipher scan.
  const reserve = Math.min(RESERVED_FOR_TESTS, Math.floor(options.maxHandshakes / 4));
  const cipherBudget = (): number => Math.max(0, session.left - reserve);

  // 1. TLS 1.3 and 1.2: weak suites first, then the rest.
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    const all = candidatesFor(version);
    const weak = await eliminate(session, version, all.filter(isWeak), cipherBudget());
    note(weak);
    const strong = await eliminate(
      session,
      version,
      all.filter((s) => !isWeak(s)),
      cipherBudget(),
    );
    note(strong);
    const accepted = [...weak.accepted, ...strong.accepted];
    const complete = weak.complete && strong.complete;
    const supported = accepted.length > 0 ? true : weak.firstRefused && strong.firstRefused ? false : null;
    versions.set(version, { version, supported, accepted: accepted.map((s) => s.iana), complete });
  }

  // 2. TLS 1.1 and 1.0: suites not seen on TLS 1.2 first; shared ones only confirmed later.
  const on12 = new Set(versions.get('TLSv1.2')!.accepted);
  const deferred: { version: TlsVersion; suites: CipherSuite[] }[] = [];
  for (const version of LEGACY_VERSIONS) {
    const all = candidatesFor(version);
    const fresh = all.filter((s) => !on12.has(s.iana));
    const shared = all.filter((s) => on12.has(s.iana));
    const first = await eliminate(session, version, fresh, cipherBudget());
    note(first);
    const accepted = [...first.accepted];
    let supported: boolean | null = accepted.length > 0 ? true : null;
    let pending = shared;
    if (accepted.length === 0 && first.complete && shared.length > 0 && cipherBudget() > 0) {
      const probe = await eliminate(session, version, shared, 1);
      note(probe);
      accepted.push(...probe.accepted);
      pending = shared.filter((s) => !probe.accepted.includes(s));
      supported = probe.accepted.length > 0 ? true : probe.firstRefused ? false : null;
      if (probe.firstRefused) pending = [];
    } else if (accepted.length === 0 && first.firstRefused && shared.length === 0) {
      supported = false;
    }
    const result: VersionResult = {
      version,
      supported,
      accepted: accepted.map((s) => s.iana),
      complete: false,
    };
    if (supported === false || (first.complete && pending.length === 0)) result.complete = first.complete;
    else if (pending.length > 0) {
      deferred.push({ version, suites: pending });
      result.note = `${pending.length} suite(s) also accepted on TLS 1.2 not yet re-tested on ${version}`;
    }
    versions.set(version, result);
  }

  const acceptedIn = (v: TlsVersion): CipherSuite[] =>
    (versions.get(v)?.accepted ?? []).map((n) => suiteByName(n)!).filter(Boolean);
  const legacyTop = (['TLSv1.2', 'TLSv1.1', 'TLSv1'] as const).find((v) => versions.get(v)?.supported);

  // 3a. Key-exchange groups the guideline does not rate Good (TLS 1.2: TLS 1.3 allows none).
  const ecdhe12 = acceptedIn('TLSv1.2').filter((s) => s.kx === 'ECDHE');
  const groups: ScanFacts['groups'] = { accepted: [], refused: [], complete: false };
  const groupVersion: TlsVersion | undefined = ecdhe12.length
    ? 'TLSv1.2'
    : versions.get('TLSv1.3')?.supported
      ? 'TLSv1.3'
      : undefined;
  const groupSuites = groupVersion === 'TLSv1.2' ? ecdhe12 : acceptedIn('TLSv1.3');
  const eliminateGroups = async (names: string[]): Promise<boolean> => {
    let remaining = names;
    while (remaining.length > 0) {
      const r = await session.try({
        purpose: 'curves',
        version: groupVersion!,
        suites: groupSuites,
        groups: remaining,
      });
      if (!r || r.outcome === 'failed') return false;
      if (r.outcome === 'refused') {
        groups.refused.push(...remaining);
        return true;
      }
      if (r.dhBits) dhBits.add(r.dhBits);
      const hit = remaining.find((g) => GROUPS.find((x) => x.name === g) && r.group && sameGroup(g, r.group));
      if (!hit) return false;
      groups.accepted.push(hit);
      remaining = remaining.filter((g) => g !== hit);
    }
    return true;
  };
  let weakGroupsDone = false;
  if (groupVersion === 'TLSv1.2') {
    groups.version = groupVersion;
    weakGroupsDone = await eliminateGroups(
      GROUPS.filter((g) => g.kind === 'ecdh' && g.class !== 'good' && OFFERABLE_WEAK_GROUPS.has(g.name)).map(
        (g) => g.name,
      ),
    );
  } else if (groupVersion === 'TLSv1.3') {
    groups.version = groupVersion;
    groups.note = 'TLS 1.3 allows no curve weaker than P-256, so no weak curve can be negotiated';
    weakGroupsDone = true;
  } else groups.note = 'no ECDHE suite was accepted, so no curve could be tested';

  // 3b. Cipher order on the highest version up to TLS 1.2 (TLS 1.3 suites are all acceptable).
  const order: ScanFacts['order'] = { result: 'not_tested', picks: [] };
  if (legacyTop) {
    const list = acceptedIn(legacyTop);
    order.version = legacyTop;
    if (new Set(list.map((s) => s.class)).size <= 1) {
      order.result = 'not_applicable';
      order.note = list.length ? 'every accepted suite is in the same class' : 'no suite accepted';
    } else {
      const worstFirst = [...list].sort((a, b) => CLASS_ORDER[b.class] - CLASS_ORDER[a.class]);
      const bestFirst = [...worstFirst].reverse();
      const a = await session.try({ purpose: 'order', version: legacyTop, suites: worstFirst });
      const b =
        a?.outcome === 'accepted'
          ? await session.try({ purpose: 'order', version: legacyTop, suites: bestFirst })
          : undefined;
      if (a?.outcome === 'accepted' && b?.outcome === 'accepted' && a.suite && b.suite) {
        order.picks = [a.suite, b.suite];
        order.result = a.suite === b.suite ? 'server' : 'client';
      } else order.note = 'the two order handshakes did not both succeed';
    }
  } else if (versions.get('TLSv1.3')?.supported) {
    order.result = 'not_applicable';
    order.note = 'TLS 1.3 only: every TLS 1.3 suite the server may pick is acceptable';
  }

  // 3c. Signature hash of the key exchange (TLS 1.2: the client can restrict it).
  const kexHash: ScanFacts['kexHash'] = { sha2: null, sha1: null };
  const signed12 = acceptedIn('TLSv1.2').filter(isSigned);
  if (signed12.length) {
    const sha2 = await session.try({
      purpose: 'kex_hash',
      version: 'TLSv1.2',
      suites: signed12,
      sigalgs: SHA2_SIGALGS,
    });
    const sha1 = await session.try({
      purpose: 'kex_hash',
      version: 'TLSv1.2',
      suites: signed12,
      sigalgs: SHA1_SIGALGS,
    });
    kexHash.sha2 = sha2 && sha2.outcome !== 'failed' ? sha2.outcome === 'accepted' : null;
    kexHash.sha1 = sha1 && sha1.outcome !== 'failed' ? sha1.outcome === 'accepted' : null;
  } else if (LEGACY_VERSIONS.some((v) => acceptedIn(v).some(isSigned))) {
    kexHash.sha1 = true;
    kexHash.note =
      'only TLS 1.0/1.1 signs the key exchange: those versions always sign with MD5+SHA-1 or SHA-1';
  } else if (versions.get('TLSv1.3')?.supported) {
    kexHash.sha2 = true;
    kexHash.sha1 = false;
    kexHash.note = 'TLS 1.3 only: RFC 8446 §4.4.3 forbids SHA-1 in the handshake signature';
  } else kexHash.note = 'no accepted suite signs the key exchange (RSA key exchange only), or none was found';
  if (versions.get('TLSv1.3')?.supported && signed12.length)
    kexHash.note = 'tested on TLS 1.2; TLS 1.3 forbids SHA-1 handshake signatures (RFC 8446 §4.4.3)';

  // 3d. Client-initiated renegotiation (TLS ≤ 1.2; TLS 1.3 has none).
  let renegotiation: ScanFacts['renegotiation'] = 'not_tested';
  if (legacyTop) {
    const r = await session.try({
      purpose: 'renegotiation',
      version: legacyTop,
      suites: acceptedIn(legacyTop),
      renegotiate: true,
    });
    if (r?.outcome === 'accepted') renegotiation = r.renegotiation ?? 'not_tested';
  } else if (versions.get('TLSv1.3')?.supported) renegotiation = 'not_applicable';

  // 4. Re-test suites TLS 1.0/1.1 share with TLS 1.2.
  for (const d of deferred) {
    const r = await eliminate(session, d.version, d.suites);
    note(r);
    const v = versions.get(d.version)!;
    v.accepted.push(...r.accepted.map((s) => s.iana));
    if (v.accepted.length > 0) v.supported = true;
    v.complete = r.complete;
    if (r.complete) delete v.note;
    else v.note = `stopped before every suite shared with TLS 1.2 was re-tested on ${d.version}`;
  }

  // 5. The Good groups, as far as the budget goes (informational).
  if (groupVersion && weakGroupsDone) {
    const good = GROUPS.filter((g) => g.class === 'good' || (groupVersion === 'TLSv1.3' && g.kind === 'ffdh'))
      .map((g) => g.name)
      .filter((n) => OFFERABLE_GROUPS.has(n) && (groupVersion === 'TLSv1.2' ? n !== 'ffdhe2048' : true));
    groups.complete = await eliminateGroups(good);
  }

  const first = session.firstFailure;
  const anyAnswer = session.log.some((h) => h.outcome !== 'failed');
  const status: ScanFacts['status'] = anyAnswer
    ? 'scanned'
    : first?.failure === 'forbidden'
      ? 'forbidden'
      : first?.failure === 'no_starttls'
        ? 'no_starttls'
        : first?.failure === 'connect'
          ? 'unreachable'
          : 'error';
  const facts: ScanFacts = {
    status,
    cap: session.cap,
    handshakes: session.log,
    capReached: session.capReached,
    versions: [...versions.values()],
    dhBits: [...dhBits].sort((a, b) => a - b),
    groups,
    order,
    kexHash,
    renegotiation,
    ocsp: ocsp ? { stapled: true, status: ocsp.status, bytes: ocsp.bytes } : { stapled: false },
    untestable: [...UNTESTABLE],
  };
  if (status !== 'scanned' && first?.error) facts.error = first.error;
  if (session.stopped) facts.stopped = session.stopped;
  return facts;
}

/** Groups Node's client can offer in TLS 1.2 (verified against OpenSSL 3.0 in Node 20). */
const OFFERABLE_WEAK_GROUPS = new Set(['P-224', 'P-192', 'secp256k1']);
const OFFERABLE_GROUPS = new Set([
  'X25519',
  'P-256',
  'P-384',
  'X448',
  'P-521',
  'brainpoolP256r1',
  'brainpoolP384r1',
  'brainpoolP512r1',
  'ffdhe2048',
  'ffdhe3072',
  'ffdhe4096',
]);

/** Whether Node's name for a negotiated group ("prime256v1", "X25519", "DH 2048") is `name`. */
function sameGroup(name: string, reported: string): boolean {
  const info = GROUPS.find((g) => g.name === name);
  if (info?.kind === 'ffdh') return reported === `DH ${name.slice(5)}`;
  const aliases: Record<string, string[]> = {
    'P-256': ['prime256v1', 'secp256r1'],
    'P-384': ['secp384r1'],
    'P-521': ['secp521r1'],
    'P-224': ['secp224r1'],
    'P-192': ['prime192v1', 'secp192r1'],
  };
  return (
    reported === name ||
    (aliases[name] ?? []).includes(reported) ||
    reported.toLowerCase() === name.toLowerCase()
  );
}

export interface DeepScanOptions {
  target: HandshakeTarget;
  timeouts: HandshakeTimeouts;
  /** @defaultValue DEFAULT_MAX_HANDSHAKES */
  maxHandshakes?: number;
  allowPrivate: boolean;
  signal: AbortSignal;
  /** How to open TCP connections (direct, or through the SMTP egress proxy). */
  connect?: SocketFactory;
  /**
   * Taken around every handshake: the service's per-address session limiter, so that the
   * scan shares the politeness budget of the SMTP probe across workers.
   */
  acquire?: (address: string, signal: AbortSignal) => Promise<() => void>;
}

/** Scans one MX address over STARTTLS. Rejects only when `signal` aborts. */
export async function scanAddress(options: DeepScanOptions): Promise<DeepTlsScan> {
  const t0 = performance.now();
  const env = {
    target: options.target,
    timeouts: options.timeouts,
    signal: options.signal,
    connect: options.connect ?? directConnect,
    allowPrivate: options.allowPrivate,
  };
  const facts = await scanWith(
    async (attempt) => {
      const release = await options.acquire?.(options.target.address, options.signal);
      try {
        return await runAttempt(env, attempt);
      } finally {
        release?.();
      }
    },
    {
      maxHandshakes: options.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES,
      signal: options.signal,
    },
  );
  return {
    host: options.target.host,
    address: options.target.address,
    port: options.target.port,
    ...facts,
    ms: Math.round(performance.now() - t0),
  };
}
