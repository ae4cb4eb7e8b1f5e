import { z } from 'zod';

/**
 * The report's timeline: where the time of a check went, as plain data, every offset in
 * milliseconds since the check started. Built from timestamps the report already carries —
 * the DNS log (`atMs`, `ms`), each SMTP session's start and transcript (`atMs` since the
 * session started), each HTTPS fetch's step marks (net/fetch-timing.ts) — so there is one
 * clock per record, and the timeline only places them side by side. Pure.
 *
 * Offsets are whole milliseconds. DNS queries are on the check's own clock; sessions and
 * fetches are placed by their wall-clock start (ISO, millisecond precision), so they may sit
 * up to a millisecond off; a phase always lies inside its session or fetch.
 */

const StartMs = z.number().int().min(0).describe('Milliseconds since the check started');
const Ms = z.number().int().min(0).describe('How long it took, in milliseconds');

export const DnsTimingSchema = z.object({
  name: z.string(),
  type: z.string(),
  server: z.string(),
  transport: z.enum(['udp', 'tcp']),
  startMs: StartMs,
  ms: Ms,
  outcome: z.string().describe('The response code (NOERROR, NXDOMAIN …), or TIMEOUT / NETWORK_ERROR'),
});
export type DnsTiming = z.infer<typeof DnsTimingSchema>;

export const SMTP_PHASES = [
  'connect',
  'greeting',
  'ehlo',
  'helo',
  'starttls',
  'tls',
  'ehlo_tls',
  'recipients',
  'null_sender',
  'relay',
  'quit',
] as const;
export type SmtpPhase = (typeof SMTP_PHASES)[number];

export const SmtpPhaseTimingSchema = z.object({
  phase: z
    .enum(SMTP_PHASES)
    .describe(
      'connect: TCP; greeting: the 220; ehlo/helo; starttls: the command and its 220; tls: the handshake; ehlo_tls: EHLO again over TLS; recipients: MAIL FROM and RCPT TO of the verified addresses (with their RSET); null_sender: MAIL FROM:<> (with its RSET); relay: the open-relay test (with its RSET); quit: QUIT until its 221 came (the session does not wait for it)',
    ),
  startMs: StartMs,
  ms: Ms,
  outcome: z
    .string()
    .optional()
    .describe(
      'The code of the last reply of the phase; for tls the protocol or "failed"; for connect "ok" or why not',
    ),
});
export type SmtpPhaseTiming = z.infer<typeof SmtpPhaseTimingSchema>;

export const SmtpTimingSchema = z.object({
  kind: z.string().describe('The session kind (probe, legacy_tls, rcpt, greylist_retry …)'),
  host: z.string(),
  address: z.string(),
  port: z.number().int(),
  startMs: StartMs,
  ms: Ms.describe('From connecting until the last line of the transcript'),
  phases: z.array(SmtpPhaseTimingSchema).describe('In order; each inside the session, none overlapping'),
});
export type SmtpTiming = z.infer<typeof SmtpTimingSchema>;

export const HTTPS_PHASES = ['lookup', 'connect', 'tls', 'response'] as const;

export const HttpsTimingSchema = z.object({
  purpose: z.enum(['mta_sts_policy', 'bimi_logo', 'bimi_evidence']),
  url: z.string(),
  startMs: StartMs,
  ms: Ms,
  outcome: z.string().describe('ok, or what went wrong (the fetch outcome)'),
  phases: z
    .array(z.object({ phase: z.enum(HTTPS_PHASES), startMs: StartMs, ms: Ms }))
    .describe(
      'lookup: the address lookup; connect: TCP; tls: the handshake; response: request, headers and body. A fetch that stopped ends with the step it stopped in',
    ),
});
export type HttpsTiming = z.infer<typeof HttpsTimingSchema>;

export const TimelineSchema = z
  .object({
    totalMs: Ms.describe('The check, start to report (durationMs)'),
    dns: z.array(DnsTimingSchema).describe('Every DNS query on the wire, by start'),
    smtp: z
      .array(SmtpTimingSchema)
      .describe('Every SMTP session held by this check (not cached ones), by start'),
    https: z.array(HttpsTimingSchema).describe('Every HTTPS fetch (MTA-STS policy, BIMI assets), by start'),
  })
  .describe('Where the time of the check went: per-phase timings, in ms since the check started');
export type Timeline = z.infer<typeof TimelineSchema>;

/** What the timeline reads of an SMTP session record (smtp/model.ts). */
export interface SessionTimes {
  kind: string;
  host: string;
  address: string;
  port: number;
  startedAt: string;
  durationMs: number;
  connect: { ok: boolean; ms?: number; failure?: string };
  cached?: unknown;
  transcript: readonly { atMs: number; dir: 'C' | 'S' | '*'; line: string }[];
  /** The open-relay test's sender, to tell its MAIL FROM from the recipient test's. */
  relay?: { from: string };
}

/** What the timeline reads of an HTTPS fetch. */
export interface FetchTimes {
  purpose: HttpsTiming['purpose'];
  url: string;
  ms: number;
  outcome: string;
  timing?: {
    startedAt: string;
    addressMs?: number;
    connectedMs?: number;
    secureMs?: number;
  };
}

export interface TimelineInput {
  /** The check's start on the wall clock (Date.now()), to place sessions and fetches. */
  wallStartMs: number;
  totalMs: number;
  dnsLog: readonly {
    name: string;
    type: string;
    server: string;
    transport: 'udp' | 'tcp';
    rcode: string;
    atMs: number;
    ms: number;
  }[];
  sessions: readonly SessionTimes[];
  fetches: readonly FetchTimes[];
}

export function buildTimeline(input: TimelineInput): Timeline {
  const total = Math.max(0, Math.round(input.totalMs));
  const byStart = <T extends { startMs: number }>(xs: T[]): T[] =>
    xs
      .map((x, i) => ({ x, i }))
      .sort((a, b) => a.x.startMs - b.x.startMs || a.i - b.i)
      .map(({ x }) => x);
  /** A record's start on the check's clock, kept inside the check (see the note at the top). */
  const place = (startedAt: string, ms: number): number => {
    const at = Date.parse(startedAt) - input.wallStartMs;
    if (!Number.isFinite(at)) return 0;
    return Math.max(0, Math.min(Math.round(at), Math.max(0, total - ms)));
  };
  return {
    totalMs: total,
    dns: byStart(
      input.dnsLog.map((q) => ({
        name: q.name,
        type: q.type,
        server: q.server,
        transport: q.transport,
        startMs: Math.max(0, Math.round(q.atMs)),
        ms: Math.max(0, Math.round(q.ms)),
        outcome: q.rcode,
      })),
    ),
    smtp: byStart(
      input.sessions
        .filter((s) => !s.cached)
        .map((s) => {
          const phases = sessionPhases(s);
          const ms = Math.max(0, Math.round(s.durationMs), ...s.transcript.map((l) => Math.round(l.atMs)));
          const startMs = place(s.startedAt, ms);
          return {
            kind: s.kind,
            host: s.host,
            address: s.address,
            port: s.port,
            startMs,
            ms,
            phases: phases.map((p) => ({ ...p, startMs: startMs + p.startMs })),
          };
        }),
    ),
    https: byStart(
      input.fetches.flatMap((f) => {
        if (!f.timing) return [];
        const ms = Math.max(0, Math.round(f.ms));
        const startMs = place(f.timing.startedAt, ms);
        return [
          {
            purpose: f.purpose,
            url: f.url,
            startMs,
            ms,
            outcome: f.outcome,
            phases: fetchPhases(f.timing, ms, f.outcome).map((p) => ({ ...p, startMs: startMs + p.startMs })),
          },
        ];
      }),
    ),
  };
}

/** The steps of a fetch from its marks: each ends at its mark; the first without one ends at `ms`. */
const NOT_CONNECTED = new Set(['bad_url', 'dns_error', 'no_address', 'forbidden_address']);

function fetchPhases(
  timing: NonNullable<FetchTimes['timing']>,
  ms: number,
  outcome: string,
): HttpsTiming['phases'] {
  const marks: [HttpsTiming['phases'][number]['phase'], number | undefined][] = [
    ['lookup', timing.addressMs ?? (NOT_CONNECTED.has(outcome) ? ms : undefined)],
    ['connect', timing.connectedMs],
    ['tls', timing.secureMs],
    ['response', undefined],
  ];
  const out: HttpsTiming['phases'] = [];
  let prev = 0;
  // Fetches that never connected (no address, a refused one, a bad URL) end with the lookup.
  if (NOT_CONNECTED.has(outcome)) marks.splice(1);
  for (const [phase, mark] of marks) {
    const end = Math.min(ms, Math.max(prev, mark ?? ms));
    out.push({ phase, startMs: prev, ms: end - prev });
    prev = end;
    if (mark === undefined) break;
  }
  return out;
}

/** A line that ends a reply: "250 text" or "250" (RFC 5321 §4.2.1), not "250-text". */
function endsReply(line: string): boolean {
  if (line.length < 3) return false;
  for (let i = 0; i < 3; i++) if (line.charCodeAt(i) < 48 || line.charCodeAt(i) > 57) return false;
  return line.length === 3 || line[3] === ' ';
}

interface Sent {
  phase: SmtpPhase;
  sentAt: number;
  repliedAt?: number;
  code?: string;
}

/**
 * The phases of one session, in ms since it started, from its transcript: commands are paired
 * with replies in order (RFC 5321 §4.2; a pipelined group's replies come in the order of its
 * commands), each command belongs to a phase, and a phase runs from when its first command could
 * act (sent, and the phase before it answered) to its last reply.
 */
function sessionPhases(s: SessionTimes): SmtpPhaseTiming[] {
  const out: SmtpPhaseTiming[] = [];
  const lines = s.transcript;
  const connected = s.connect.ok
    ? Math.round(s.connect.ms ?? 0)
    : Math.round(lines.find((l) => l.dir === '*')?.atMs ?? 0);
  if (s.connect.ok || s.connect.failure)
    out.push({
      phase: 'connect',
      startMs: 0,
      ms: connected,
      outcome: s.connect.ok ? 'ok' : (s.connect.failure ?? 'error'),
    });
  if (!s.connect.ok) return out;

  let greeting: { at: number; code: string } | undefined;
  let tls: { at: number; outcome: string } | undefined;
  let encrypted = false;
  let transaction: SmtpPhase | undefined;
  let nullSenderSeen = false;
  const sent: (Sent | { phase: 'tls'; at: number; outcome: string })[] = [];
  const waiting: Sent[] = [];
  for (const l of lines) {
    const at = Math.round(l.atMs);
    if (l.dir === 'C') {
      const verb = l.line.split(' ', 1)[0]!.toUpperCase();
      let phase: SmtpPhase;
      if (verb === 'EHLO' || verb === 'HELO')
        phase = encrypted ? 'ehlo_tls' : verb === 'HELO' ? 'helo' : 'ehlo';
      else if (verb === 'STARTTLS') phase = 'starttls';
      else if (verb === 'QUIT') phase = 'quit';
      else if (verb === 'MAIL') {
        // The recipient test comes first (in one or more transactions), then the null sender,
        // then the relay test, whose sender may be the recipient test's (smtp/check.ts).
        const from = l.line.slice(l.line.indexOf('<') + 1, l.line.lastIndexOf('>'));
        if (from === '') phase = 'null_sender';
        else if (s.relay && from === s.relay.from && nullSenderSeen) phase = 'relay';
        else phase = 'recipients';
        if (phase === 'null_sender') nullSenderSeen = true;
        transaction = phase;
      } else phase = transaction ?? 'recipients';
      const c: Sent = { phase, sentAt: at };
      sent.push(c);
      waiting.push(c);
    } else if (l.dir === 'S') {
      if (!endsReply(l.line)) continue;
      if (!greeting) greeting = { at, code: l.line.slice(0, 3) };
      else {
        const c = waiting.shift();
        if (c) {
          c.repliedAt = at;
          c.code = l.line.slice(0, 3);
        }
      }
    } else if (l.line.startsWith('TLS handshake')) {
      const failed = l.line.startsWith('TLS handshake failed');
      tls = { at, outcome: failed ? 'failed' : (l.line.match(/^TLS handshake: ([^,]{1,20}),/)?.[1] ?? 'ok') };
      sent.push({ phase: 'tls', ...tls });
      waiting.length = 0; // what was unread before the handshake was discarded
      encrypted = !failed;
    }
  }
  let cursor = connected;
  if (greeting) {
    out.push({
      phase: 'greeting',
      startMs: cursor,
      ms: Math.max(0, greeting.at - cursor),
      outcome: greeting.code,
    });
    cursor = Math.max(cursor, greeting.at);
  }
  // Consecutive commands of one phase are one phase (a transaction, a pipelined group's part).
  for (let i = 0; i < sent.length;) {
    const first = sent[i]!;
    if ('at' in first) {
      out.push({ phase: 'tls', startMs: cursor, ms: Math.max(0, first.at - cursor), outcome: first.outcome });
      cursor = Math.max(cursor, first.at);
      i++;
      continue;
    }
    let j = i;
    let end: number | undefined;
    let code: string | undefined;
    while (j < sent.length) {
      const c = sent[j]!;
      if ('at' in c || c.phase !== first.phase) break;
      if (c.repliedAt !== undefined) {
        end = Math.max(end ?? 0, c.repliedAt);
        code = c.code;
      }
      j++;
    }
    const start = Math.max(cursor, first.sentAt);
    const stop = Math.max(start, end ?? start);
    out.push({ phase: first.phase, startMs: start, ms: stop - start, ...(code ? { outcome: code } : {}) });
    cursor = stop;
    i = j;
  }
  return out;
}
