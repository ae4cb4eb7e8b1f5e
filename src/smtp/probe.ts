import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config/index.js';
import { abortReason, sleep } from '../net/deadline.js';
import { smtpEgress } from '../net/egress.js';
import type { Egress } from '../net/egress.js';
import type { HostArrival } from '../mx/check.js';
import type { TlsObservation } from '../tls/model.js';
import type { SessionRecord } from './model.js';
import { judgeChain, observeTls } from './observe-tls.js';
import type { ChainJudgement } from './observe-tls.js';
import type {
  AddressLimiter,
  CacheClaim,
  CacheEntry,
  ConnectionCache,
  HeldClaim,
  SmtpSharing,
} from './sharing.js';
import { chains, runSessionHeld } from './session.js';
import { prepareWhileConnecting } from './prepare.js';
import { IP_LITERAL_SKIP, beyondMaxHosts, firstIpv4Target, hostTargets } from './targets.js';
import type { Skipped, Target } from './targets.js';
import type { RcptPlan, SessionPlan, SmtpTimeouts } from './session.js';

/**
 * Orchestrates the SMTP sessions of one domain: each MX host's sessions as soon as its
 * addresses are known (which ones: smtp/targets.ts), politeness (at most N sessions per address, through the service's
 * limiter when it has one), the shared connection cache, the legacy-TLS and plain-fallback
 * sessions, and the delayed greylisting retry. Returns raw sessions and TLS observations;
 * judging them is smtp/evaluate.ts's job.
 */

export interface ProbeSettings {
  port: number;
  heloName: string;
  mailFrom: string;
  allowPrivate: boolean;
  timeouts: SmtpTimeouts;
  limits: SessionPlan['limits'];
  maxHosts: number;
  maxAddressesPerHost: number;
  perAddressConcurrency: number;
  legacyTls: boolean;
  cacheTtlMs: number;
  /** The SOCKS5 egress proxy, when MXDOCTOR_SMTP_PROXY / --smtp-proxy is set. */
  egress?: Egress;
}

export function probeSettings(config: Config): ProbeSettings {
  const s = config.smtp;
  return {
    port: s.port,
    heloName: config.probe.ehloName,
    mailFrom: config.probe.mailFrom,
    allowPrivate: config.net.allowPrivate,
    timeouts: {
      connectMs: s.connectTimeoutMs,
      bannerMs: s.bannerTimeoutMs,
      commandMs: s.commandTimeoutMs,
      envelopeMs: s.envelopeTimeoutMs,
      tlsMs: s.tlsTimeoutMs,
      sessionMs: s.sessionTimeoutMs,
    },
    limits: {
      maxLineBytes: s.maxLineBytes,
      maxReplyLines: s.maxReplyLines,
      maxSessionBytes: s.maxSessionBytes,
    },
    maxHosts: s.maxHosts,
    maxAddressesPerHost: s.maxAddressesPerHost,
    perAddressConcurrency: s.perAddressConcurrency,
    legacyTls: s.legacyTlsProbe,
    cacheTtlMs: s.cacheTtlMs,
    ...(s.proxy ? { egress: smtpEgress(s.proxy) } : {}),
  };
}

/** The default AddressLimiter: a counting semaphore per address, shared by the whole process. */
export class InProcessLimiter implements AddressLimiter {
  private readonly active = new Map<string, number>();
  private readonly queues = new Map<string, (() => void)[]>();

  constructor(private readonly perAddress: number) {}

  acquire(address: string, signal: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted)
        return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.active.set(address, (this.active.get(address) ?? 0) + 1);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          const n = (this.active.get(address) ?? 1) - 1;
          if (n === 0) this.active.delete(address);
          else this.active.set(address, n);
          const next = this.queues.get(address)?.shift();
          if (this.queues.get(address)?.length === 0) this.queues.delete(address);
          next?.();
        });
      };
      const onAbort = (): void => {
        const q = this.queues.get(address);
        if (q)
          this.queues.set(
            address,
            q.filter((g) => g !== grant),
          );
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if ((this.active.get(address) ?? 0) < this.perAddress) return grant();
      signal.addEventListener('abort', onAbort, { once: true });
      this.queues.set(address, [...(this.queues.get(address) ?? []), grant]);
    });
  }
}

const limiters = new Map<number, InProcessLimiter>();

/** The process-wide default limiter for a concurrency. */
export function defaultLimiter(perAddress: number): AddressLimiter {
  let limiter = limiters.get(perAddress);
  if (!limiter) {
    limiter = new InProcessLimiter(perAddress);
    limiters.set(perAddress, limiter);
  }
  return limiter;
}

/** Random local parts that no real mailbox has (catch-all detection). */
export function randomLocalParts(count: number): string[] {
  return Array.from({ length: count }, () => `mxdoctor-${randomBytes(8).toString('hex').slice(0, 12)}`);
}

/** Cache key of one MX address's connection-level facts: address, host name and probe options. */
export function connectionCacheKey(
  target: Pick<Target, 'host' | 'address'>,
  settings: ProbeSettings,
): string {
  const options = createHash('sha256')
    .update(JSON.stringify([settings.port, settings.heloName, settings.legacyTls, settings.limits]))
    .digest('hex')
    .slice(0, 16);
  return `smtp-conn:v1:${target.address}:${settings.port}:${target.host}:${options}`;
}

export interface CachedConnection {
  main: SessionRecord;
  legacy?: SessionRecord;
  tls: TlsObservation;
}

const ENVELOPE_PHASES = new Set(['mail', 'rcpt', 'rset', 'quit']);

/** Pause before reconnecting after a session that deferred every recipient. */
const RECONNECT_PAUSE_MS = 500;
/**
 * How long after the first session starts the probe's preparation waits for the other MX
 * hosts' first addresses (probeDomain): answers to questions sent together come a few
 * milliseconds apart, unless one name server is slow, and then its host is late anyway.
 */
const PREPARE_GRACE_MS = 10;

/** What one MX address showed, across the sessions held with it. */
export interface AddressProbe extends Target {
  /** The full session (or its cached connection-level part). */
  main: SessionRecord;
  legacy?: SessionRecord;
  /** Recipients without TLS after a failed handshake. */
  fallback?: SessionRecord;
  /** Recipients only, when `main` came from the cache. */
  rcpt?: SessionRecord;
  /** The recipient tests again in a new session, when the first deferred every recipient. */
  reconnect?: SessionRecord;
  retry?: SessionRecord;
  tls: TlsObservation;
  cachedAt?: string;
}

/** The session whose recipient answers count for an address. */
export function recipientSession(p: AddressProbe): SessionRecord | undefined {
  if (p.reconnect && !allDeferred(p.reconnect)) return p.reconnect;
  if (p.rcpt) return p.rcpt;
  if (p.fallback) return p.fallback;
  return p.main.cached ? undefined : p.main;
}

/** The session whose recipients were all deferred, when a reconnect was made for it. */
export function deferredSession(p: AddressProbe): SessionRecord | undefined {
  if (!p.reconnect) return undefined;
  return p.rcpt ?? p.fallback ?? p.main;
}

/**
 * Whether a session deferred every recipient with a plain temporary failure (not a
 * recognisable greylisting text, a rate limit or a policy refusal): what a server does when
 * it wants a new client to reconnect — Postfix postscreen's after-greeting tests answer every
 * RCPT of a client's first session "450 4.3.2 Service currently unavailable" and let the
 * client through on its next connection. A sender reconnects; the probe does too, once.
 */
export function allDeferred(s: SessionRecord): boolean {
  return (
    s.rcpts.length > 0 &&
    s.rcpts.every(
      (r) =>
        r.reply !== undefined &&
        r.reply.code >= 450 &&
        r.reply.code < 500 &&
        r.verdict === 'temporary' &&
        r.reason === 'temporary_failure',
    )
  );
}

export interface RecipientTests {
  recipients: RcptPlan[];
  extraRandom: string[];
  nullSenderTo?: string;
  relay?: { from: string; to: string };
}

/** Whether the legacy-TLS session counts: it starts at the main greeting, before STARTTLS is seen offered. */
export const legacyCounts = (p: Pick<AddressProbe, 'main'>): boolean =>
  p.main.ehlo?.capabilities?.starttls === true;

/** What the legacy-TLS session showed, when it counts; otherwise it is only a transcript. */
export function legacyJudged(p: Pick<AddressProbe, 'main' | 'legacy'>): SessionRecord['legacy'] {
  return legacyCounts(p) ? p.legacy?.legacy : undefined;
}

/** A copy of a session record without anything about recipients (for the shared cache). */
function connectionPart(record: SessionRecord): SessionRecord {
  const copy = structuredClone(record);
  delete copy.mail;
  delete copy.nullSender;
  delete copy.relay;
  copy.rcpts = [];
  // Lines out of turn during the envelope may quote recipients' answers.
  const outOfStep = copy.outOfStep?.filter((o) => !ENVELOPE_PHASES.has(o.phase));
  if (outOfStep?.length) copy.outOfStep = outOfStep;
  else delete copy.outOfStep;
  const cut = copy.transcript.findIndex((l) => l.dir === 'C' && /^(MAIL|RCPT)\b/i.test(l.line));
  if (cut >= 0) {
    copy.transcript = [
      ...copy.transcript.slice(0, cut),
      { atMs: copy.transcript[cut]!.atMs, dir: '*', line: '(recipient tests omitted from the shared cache)' },
    ];
  }
  return copy;
}

export interface ProbeAddressInput {
  target: Target;
  settings: ProbeSettings;
  tests: RecipientTests;
  /** Whether this address must run the recipient tests even when its connection facts are cached. */
  needsRecipientTests: boolean;
  config: Pick<Config, 'tls'>;
  sharing: SmtpSharing;
  signal: AbortSignal;
  now: () => Date;
}

/** Probes one MX address: full session (or cache), legacy TLS, plain fallback. */
export async function probeAddress(input: ProbeAddressInput): Promise<AddressProbe> {
  const cache = input.sharing.connectionCache;
  if (!cache) return probeAddressWith(input, undefined);
  const key = connectionCacheKey(input.target, input.settings);
  const waitMs = input.settings.timeouts.sessionMs;
  let cached: CacheEntry | undefined;
  let held: HeldClaim | undefined;
  try {
    // Another check may be probing this address right now: then wait for its result (single
    // flight). A cache that can look up and claim in one round trip (Redis) does.
    const claim = cache.getOrClaim
      ? await cache.getOrClaim(key, waitMs, input.signal)
      : await lookUpThenClaim(cache, key, waitMs, input.signal);
    if (claim && 'entry' in claim) cached = claim.entry;
    else held = claim;
  } catch {
    if (input.signal.aborted) throw abortReason(input.signal);
    cached = undefined; // a cache outage must not fail the check
  }
  // The holder of a claim stores its result and lets go in one step where the cache can.
  const store = held?.store ?? ((value: unknown, ttlMs: number) => cache.set(key, value, ttlMs));
  try {
    return await probeAddressWith(input, cached, store);
  } finally {
    // After store(), a no-op; without a result to store (no EHLO, aborted, an error) or
    // without store() on the claim, this lets the next waiter probe.
    held?.release();
  }
}

/** get(), and on a miss claim() when the cache has single flight; undefined: probe unclaimed. */
async function lookUpThenClaim(
  cache: ConnectionCache,
  key: string,
  waitMs: number,
  signal: AbortSignal,
): Promise<CacheClaim | undefined> {
  const entry = await cache.get(key);
  if (entry) return { entry };
  return cache.claim?.(key, waitMs, signal);
}

/**
 * probeAddress once the shared cache was asked: `cached` is its entry for the address, if
 * any; `store` keeps the connection-level results for the next check (absent: no cache).
 */
async function probeAddressWith(
  input: ProbeAddressInput,
  cached: CacheEntry | undefined,
  store?: (value: unknown, ttlMs: number) => Promise<void>,
): Promise<AddressProbe> {
  const { target, settings, tests, sharing, signal } = input;
  const limiter = sharing.addressLimiter ?? defaultLimiter(settings.perAddressConcurrency);
  const base: Omit<SessionPlan, 'kind' | 'recipients' | 'starttls'> = {
    host: target.host,
    address: target.address,
    port: settings.port,
    heloName: settings.heloName,
    mailFrom: settings.mailFrom,
    timeouts: settings.timeouts,
    limits: settings.limits,
    allowPrivate: settings.allowPrivate,
    signal,
    ...(settings.egress ? { connect: settings.egress.connect } : {}),
  };
  const run = async (plan: SessionPlan): Promise<SessionRecord> => {
    const release = await limiter.acquire(target.address, signal);
    return runSessionHeld(plan, release);
  };
  const withTests = (kind: SessionPlan['kind'], starttls: boolean): SessionPlan => ({
    ...base,
    kind,
    starttls,
    recipients: tests.recipients,
    extraRandom: tests.extraRandom,
    ...(tests.nullSenderTo ? { nullSenderTo: tests.nullSenderTo } : {}),
    ...(tests.relay ? { relay: tests.relay } : {}),
  });

  /** One immediate reconnect when a session deferred every recipient (see allDeferred). */
  const reconnectIfDeferred = async (
    into: AddressProbe,
    session: SessionRecord,
    starttls: boolean,
  ): Promise<void> => {
    if (!allDeferred(session) || signal.aborted) return;
    await sleep(RECONNECT_PAUSE_MS, signal).catch(() => undefined);
    if (!signal.aborted) into.reconnect = await run(withTests('reconnect', starttls));
  };

  if (cached && isCachedConnection(cached.value)) {
    const value = cached.value;
    const stamp = { storedAt: cached.storedAt };
    const result: AddressProbe = {
      ...target,
      main: { ...value.main, cached: stamp },
      tls: { ...value.tls, cached: stamp },
      cachedAt: cached.storedAt,
    };
    if (value.legacy) result.legacy = { ...value.legacy, cached: stamp };
    if (input.needsRecipientTests && tests.recipients.length > 0) {
      // STARTTLS as a sender would, when the cached handshake worked.
      result.rcpt = await run(withTests('rcpt', value.tls.handshake === 'ok'));
      await reconnectIfDeferred(result, result.rcpt, value.tls.handshake === 'ok');
    }
    return result;
  }

  // The legacy-TLS handshake (TLS ≤ 1.1) runs beside the main session, within the per-address
  // limit, from the main session's greeting on. STARTTLS is not known to be offered yet: the
  // legacy session says its own EHLO (QUIT without STARTTLS), and counts only if the main
  // session saw STARTTLS offered (legacyJudged).
  let legacy: Promise<SessionRecord> | undefined;
  const startLegacy = (): void => {
    if (legacy || !settings.legacyTls || signal.aborted) return;
    legacy = run({ ...base, kind: 'legacy_tls', starttls: true, legacyTls: true, recipients: [] });
    // Awaited below; never left to reject unobserved meanwhile.
    legacy.catch(() => undefined);
  };
  // The certificates are judged while the session goes on, once its EHLO after TLS is on
  // the wire (an immediate runs after the session's own continuation): not when it has
  // ended, where the last host's judgement held up the report.
  let judged: ChainJudgement | undefined;
  const judgeMeanwhile = (chain: readonly Buffer[]): void => {
    setImmediate(() => {
      try {
        judged = judgeChain(chain, target.host, input.config, input.now());
      } catch {
        // observeTls judges again, and reports what failed
      }
    });
  };
  const main = await run({
    ...withTests('probe', true),
    onGreeted: startLegacy,
    onHandshake: judgeMeanwhile,
  });
  const tls = observeTls(main, chains.get(main) ?? [], input.config, input.now(), judged);
  const result: AddressProbe = { ...target, main, tls };
  // The reconnect is the next session after the main one, as a sender's would be.
  await reconnectIfDeferred(result, main, tls.handshake === 'ok');
  if (legacy) result.legacy = await legacy;
  // A failed handshake kills the session before the recipients: ask them without TLS, as an
  // opportunistic sender falls back to plaintext.
  const handshakeFailed = main.starttls && !main.starttls.handshake;
  if (handshakeFailed && tests.recipients.length > 0 && !signal.aborted) {
    result.fallback = await run(withTests('plain_fallback', false));
  }
  if (store && main.ehlo && !main.error?.code.startsWith('EABORT')) {
    const value: CachedConnection = { main: connectionPart(main), tls };
    if (result.legacy) value.legacy = result.legacy;
    await store(JSON.parse(JSON.stringify(value)), settings.cacheTtlMs).catch(() => undefined);
  }
  return result;
}

function isCachedConnection(value: unknown): value is CachedConnection {
  const v = value as Partial<CachedConnection> | undefined;
  return Boolean(v && typeof v === 'object' && v.main && v.tls && Array.isArray(v.main.transcript));
}

/** Asks greylisted recipients of an address again, after the delay, in a new session. */
export async function retryGreylisted(
  probe: AddressProbe,
  settings: ProbeSettings,
  sharing: SmtpSharing,
  signal: AbortSignal,
): Promise<SessionRecord | undefined> {
  const session = recipientSession(probe);
  const greylisted = (session?.rcpts ?? []).filter((r) => r.verdict === 'greylisted');
  if (greylisted.length === 0) return undefined;
  const limiter = sharing.addressLimiter ?? defaultLimiter(settings.perAddressConcurrency);
  const release = await limiter.acquire(probe.address, signal);
  return runSessionHeld(
    {
      kind: 'greylist_retry',
      host: probe.host,
      address: probe.address,
      port: settings.port,
      heloName: settings.heloName,
      mailFrom: settings.mailFrom,
      starttls: probe.tls.handshake === 'ok',
      recipients: greylisted.map((r) => ({ to: r.to, role: r.role })),
      timeouts: settings.timeouts,
      limits: settings.limits,
      allowPrivate: settings.allowPrivate,
      signal,
      ...(settings.egress ? { connect: settings.egress.connect } : {}),
    },
    release,
  );
}

export interface DomainProbeInput {
  domain: string;
  /** The MX hosts in preference order, as their addresses arrive (arrivalsOf for a complete set). */
  hosts: readonly HostArrival[];
  settings: ProbeSettings;
  tests: RecipientTests;
  config: Pick<Config, 'tls'>;
  sharing: SmtpSharing;
  signal: AbortSignal;
  now: () => Date;
  greylistRetryMs: number;
  onProgress?: (message: string, done: number, total: number) => void;
}

export interface DomainProbe {
  targets: Target[];
  skipped: Skipped[];
  probes: AddressProbe[];
}

/**
 * Probes every selected MX address concurrently (politeness is the limiter's job), each host's
 * as soon as its addresses have arrived. Targets, skips and probes come out in the order
 * selectTargets gives for the complete set, whatever order the hosts arrived in.
 */
export async function probeDomain(input: DomainProbeInput): Promise<DomainProbe> {
  const { settings } = input;
  const hosts = input.hosts.filter((h) => !h.ipLiteral);
  let done = 0;
  let total = 0;
  // The CPU that judging the sessions will need (prepare.ts) is spent while they connect, once
  // every host's first address is known, or PREPARE_GRACE_MS after the first session started:
  // its first step holds the event loop for some 30 ms, and the A answer of a second MX host,
  // arriving a moment after the first, waited for it (its whole session 30 ms late).
  let prepared = false;
  let grace: NodeJS.Timeout | undefined;
  const prepare = (): void => {
    if (prepared) return;
    prepared = true;
    clearTimeout(grace);
    prepareWhileConnecting(input.config, { legacyTls: settings.legacyTls });
  };
  let unsettled = Math.min(hosts.length, settings.maxHosts);
  // A host's first address is known (or known not to exist): prepare once all are, if a session
  // has started (none may: a domain whose MX hosts have no addresses needs no preparation).
  const settled = (): void => {
    if (--unsettled === 0 && total > 0) prepare();
  };
  const probeHost = async (arrival: HostArrival, index: number): Promise<DomainProbe> => {
    if (index >= settings.maxHosts)
      return { targets: [], skipped: [beyondMaxHosts(arrival.name, settings)], probes: [] };
    const probeTarget = async (target: Target): Promise<AddressProbe> => {
      total++;
      if (!prepared) grace ??= setTimeout(prepare, PREPARE_GRACE_MS).unref();
      const p = await probeAddress({
        target,
        settings,
        tests: input.tests,
        needsRecipientTests: target.rank === 0,
        config: input.config,
        sharing: input.sharing,
        signal: input.signal,
        now: input.now,
      });
      done++;
      input.onProgress?.(`${target.host} [${target.address}]`, done, total);
      return p;
    };
    // The first IPv4 address is the host's first target: its sessions start with the A
    // answer, without waiting for the AAAA answer (some name servers drop AAAA questions).
    let firstIpv4: string | undefined;
    try {
      firstIpv4 = settings.maxAddressesPerHost > 0 ? await arrival.firstIpv4 : undefined;
    } catch (err) {
      settled();
      throw err;
    }
    const first = firstIpv4 === undefined ? undefined : probeTarget(firstIpv4Target(arrival, firstIpv4));
    first?.catch(() => undefined); // awaited below, unless the AAAA lookup ends in an abort first
    settled();
    const { targets, skipped } = hostTargets(await arrival.host, index, settings);
    const probes = await Promise.all(
      targets.map((target) =>
        first && target.rank === 0 && target.address === firstIpv4 ? first : probeTarget(target),
      ),
    );
    return { targets, skipped, probes };
  };
  const perHost = await Promise.all(hosts.map(probeHost));
  const targets = perHost.flatMap((h) => h.targets);
  const skipped = [
    ...input.hosts.filter((h) => h.ipLiteral).map((h) => ({ host: h.name, why: IP_LITERAL_SKIP })),
    ...perHost.flatMap((h) => h.skipped),
  ];
  const probes = perHost.flatMap((h) => h.probes);
  if (
    input.greylistRetryMs > 0 &&
    probes.some((p) => recipientSession(p)?.rcpts.some((r) => r.verdict === 'greylisted'))
  ) {
    input.onProgress?.(
      `greylisted: asking again in ${Math.round(input.greylistRetryMs / 1000)} s`,
      done,
      total,
    );
    await sleep(input.greylistRetryMs, input.signal);
    await Promise.all(
      probes.map(async (p) => {
        const retry = await retryGreylisted(p, input.settings, input.sharing, input.signal);
        if (retry) p.retry = retry;
      }),
    );
  }
  return { targets, skipped, probes };
}
