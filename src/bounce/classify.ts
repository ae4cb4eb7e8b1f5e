import type { Reason } from './model.js';
import { PHRASE_RULES, phraseReader } from './patterns.js';
import type { SmtpCommand } from './reply.js';
import { isHard } from './reasons.js';
import { BASIC_RULES, STATUS_FOR_REASON, W, parseStatus, statusRule } from './status-codes.js';

/**
 * Classification: every piece of evidence — the enhanced status codes, the well-known
 * phrases, the basic reply code — proposes a reason with a weight (status-codes.ts and
 * patterns.ts hold the tables); the strongest wins. A few rules about the SMTP stage and
 * the report as a whole then refine the winner, each with a reason that holds for any MTA:
 *   - refused at MAIL FROM means the envelope sender was refused (rejected);
 *   - "no such user" only after DATA means a filter refused, not a missing mailbox (filtered);
 *   - refused at the greeting means the sending host was refused (blocked);
 *   - a transient connection failure in a final report means the MTA gave up (expired);
 *   - a DNS answer that may be temporary (4.x.x) is not proof the domain is gone (network_error).
 */

export interface ClassifyInput {
  /** Status field of the DSN, when there is one. */
  status: string | null;
  /** Enhanced codes quoted in the diagnostic text, in order. */
  textStatuses: readonly string[];
  replyCode: number | null;
  /** The remote reply or the MTA's reason for this recipient, whitespace-normalised. */
  diagnostic: string;
  /** The rest of the report's text about this recipient (weaker evidence). */
  context: string;
  command: SmtpCommand | null;
  /** The input was one SMTP reply, not a report about a delivery (which may have been retried). */
  bareReply?: boolean;
  /** The reply answered the end of DATA: the message itself had been sent (reply.ts refusedAfterBody). */
  afterBody?: boolean;
  /** RFC 3464 action (failed, delayed …); null when the report states none. */
  action: string | null;
  /** Diagnostic-Code type: "smtp", "x-unix", "x-postfix" … */
  diagnosticType: string | null;
}

export interface Classification {
  reason: Reason;
  confidence: number;
  /** The strongest other reason the evidence supports, if any: what the record might be instead. */
  runnerUp: Reason | null;
  /** Evidence IDs, strongest first: "status:5.1.1", "phrase:gmail.no_such_user", "code:550", "rule:…". */
  matched: string[];
  permanent: boolean;
  hard: boolean;
  /** The enhanced status code, derived from the reason when the report gives none. */
  derivedStatus: string | null;
}

interface Candidate {
  reason: Reason;
  weight: number;
  id: string;
}

/** Context text counts less than the diagnostic itself. */
const CONTEXT_FACTOR = 0.7;

/**
 * Verdicts about a recipient that cannot be right when the refusal came at MAIL FROM, before
 * any recipient was named: there it was the envelope sender that was refused.
 */
/** A connection actively refused or unroutable (not one that never answered). */
const REFUSED_CONNECTION = /connection refused|no route to host|network (?:is )?(?:unreachable|down)/i;

/** Reasons that say only that delivery is still pending or was given up, not why. */
const QUEUE_WORDS: ReadonlySet<Reason> = new Set(['expired', 'system_error', 'unknown', 'delivered']);

const RECIPIENT_SHAPED: ReadonlySet<Reason> = new Set([
  'user_unknown',
  'host_unknown',
  'not_accept',
  'suspended',
  'filtered',
  'has_moved',
  'mailbox_full',
  'policy_violation',
  'unknown',
]);

/**
 * Phrase rules left out, for the grouped evaluation only (scripts/eval-bounces.ts scores each
 * producer's bounces without the rules that fire on that producer's samples alone, to measure
 * what the classifier knows without having seen that producer). The product never sets it.
 */
let leftOut: ReadonlySet<string> | null = null;

/** Runs `run` with the named phrase rules switched off (evaluation only; not re-entrant). */
export async function withoutPhraseRules<T>(ids: ReadonlySet<string>, run: () => Promise<T>): Promise<T> {
  const before = leftOut;
  leftOut = ids;
  try {
    return await run();
  } finally {
    leftOut = before;
  }
}

export function candidatesFor(input: ClassifyInput): Candidate[] {
  const out: Candidate[] = [];
  const seenStatus = new Set<string>();
  // Indexed loops: this runs for every record, and the optimising compiler took long over
  // the iterator protocol of entries() and the spread.
  const statuses = input.textStatuses;
  for (let i = 0; i <= statuses.length; i++) {
    const code = i === 0 ? input.status : statuses[i - 1];
    if (!code || seenStatus.has(code)) continue;
    seenStatus.add(code);
    const rule = statusRule(code);
    // The DSN's own Status outranks codes quoted in text only slightly: they usually agree.
    if (rule)
      out.push({ reason: rule.reason, weight: rule.weight - (i === 0 ? 0 : 0.02), id: `status:${code}` });
  }
  const inDiagnostic = diagnosticPhrases(input.diagnostic);
  const inContext = input.context ? contextPhrases(input.context) : null;
  for (let i = 0; i < PHRASE_RULES.length; i++) {
    const rule = PHRASE_RULES[i]!;
    if (leftOut?.has(rule.id)) continue;
    if (inDiagnostic[i]) out.push({ reason: rule.reason, weight: rule.weight, id: `phrase:${rule.id}` });
    else if (inContext?.[i])
      out.push({ reason: rule.reason, weight: rule.weight * CONTEXT_FACTOR, id: `context:${rule.id}` });
  }
  if (input.replyCode !== null && BASIC_RULES[input.replyCode]) {
    out.push({
      reason: BASIC_RULES[input.replyCode]!.reason,
      weight: W.basic,
      id: `code:${input.replyCode}`,
    });
  }
  if (input.diagnosticType && /^x-unix$|^x-local/i.test(input.diagnosticType)) {
    // A local delivery program answered (RFC 3464 §2.3.6 diagnostic type other than smtp).
    // Its own words (over quota, no such user) still say why, and outrank the fact that it failed.
    out.push({ reason: 'mailer_error', weight: W.phrase - 0.01, id: 'rule:local_delivery_program' });
  }
  return out.sort((a, b) => b.weight - a.weight);
}

/**
 * Which phrase rules match a text, remembered for the last text: the records of one report
 * usually share its context (up to 4000 characters), and recipients named together share
 * their diagnostic, so each is read once, not once per record.
 */
function phraseHits(): (text: string) => boolean[] {
  const read = phraseReader(PHRASE_RULES);
  let last: { text: string; hits: boolean[] } | null = null;
  return (text) => {
    if (last?.text !== text) last = { text, hits: read(text) };
    return last.hits;
  };
}
const diagnosticPhrases = phraseHits();
const contextPhrases = phraseHits();

/** The enhanced status the classification reads first: the DSN's, else the first quoted. */
function leadingStatus(input: ClassifyInput): ReturnType<typeof parseStatus> {
  return parseStatus(input.status) ?? parseStatus(input.textStatuses[0]);
}

function statusSubject(input: ClassifyInput): number | null {
  return leadingStatus(input)?.subject ?? null;
}

function statusClass(input: ClassifyInput): number | null {
  const s = leadingStatus(input);
  if (s) return s.class;
  if (input.replyCode !== null) return Math.floor(input.replyCode / 100);
  return null;
}

interface Facts {
  input: ClassifyInput;
  action: string | null;
  cls: number | null;
  candidates: readonly Candidate[];
}

/** The stage of the SMTP conversation: what the refused command was about. */
function byStage(best: Candidate, { input }: Facts): Candidate | null {
  if (input.command === 'MAIL' && RECIPIENT_SHAPED.has(best.reason) && best.weight < W.exactPhrase) {
    // Refused at MAIL FROM, before any recipient was named: the envelope sender was refused.
    return { reason: 'rejected', weight: Math.max(best.weight, W.phrase), id: 'rule:refused_at_mail_from' };
  }
  if (input.afterBody && best.reason === 'user_unknown') {
    // The recipient was accepted at RCPT and refused only once the message had been sent:
    // whatever words the refusal uses, the mailbox exists and something judged the message.
    return { reason: 'filtered', weight: best.weight, id: 'rule:user_unknown_after_message' };
  }
  if (
    input.command === 'DATA' &&
    best.reason === 'user_unknown' &&
    !best.id.startsWith('status:') &&
    best.weight < W.exactPhrase
  ) {
    // Answered at the DATA command without the end-of-data words: sendmail reports refused
    // RCPTs there too, so only a vague user-unknown text without a status code counts as a filter.
    return { reason: 'filtered', weight: best.weight, id: 'rule:user_unknown_after_data' };
  }
  if (
    input.command === 'CONNECT' &&
    best.weight < W.phrase &&
    !['network_error', 'rate_limited'].includes(best.reason)
  ) {
    return { reason: 'blocked', weight: W.weakPhrase, id: 'rule:refused_at_greeting' };
  }
  return null;
}

function byStatusClass(best: Candidate, { input, cls }: Facts): Candidate | null {
  // host_unknown needs a permanent answer; a temporary one is a DNS problem (RFC 3463 class 4).
  if (best.reason === 'host_unknown' && cls === 4) {
    return { reason: 'network_error', weight: best.weight, id: 'rule:temporary_dns_failure' };
  }
  // A quota refused under a policy status (X.7.x) is a sending quota — how much this sender
  // may send — not a full mailbox (X.2.x).
  if (best.reason === 'mailbox_full' && !best.id.startsWith('status:') && statusSubject(input) === 7) {
    return { reason: 'rate_limited', weight: best.weight, id: 'rule:quota_under_policy_status' };
  }
  return null;
}

/**
 * A final report about an answer that only said "later" — greylisting, or a temporary refusal
 * whose status is about the remote system or the network (X.3.x, X.4.x) and whose words name
 * no cause — is about the retries running out: the MTA gave up (RFC 3464 §2.3.3: "failed"
 * with a 4.x.x status).
 */
function byGivingUp(best: Candidate, { input, action, cls, candidates }: Facts): Candidate | null {
  if (action !== 'failed' || cls !== 4 || input.bareReply) return null;
  if (best.id.endsWith(':generic.greylisting')) {
    return { reason: 'expired', weight: best.weight, id: 'rule:gave_up_after_greylisting' };
  }
  const subject = statusSubject(input);
  // Only the codes spoke (or the greeting rule read them): no words name a cause.
  const onlyCodes = /^(?:code|status):/.test(best.id) || best.id === 'rule:refused_at_greeting';
  const namesNoCause =
    onlyCodes &&
    (QUEUE_WORDS.has(best.reason) || best.reason === 'network_error' || best.reason === 'blocked') &&
    !candidates.some((c) => /^(?:phrase|context):/.test(c.id) && c.weight >= W.weakPhrase);
  if ((subject === 3 || subject === 4) && namesNoCause) {
    return {
      reason: 'expired',
      weight: Math.max(best.weight, W.weakPhrase),
      id: 'rule:gave_up_after_temporary_refusals',
    };
  }
  return null;
}

/**
 * Reports about the queue. Connections that never got a final answer leave the MTA retrying
 * against the clock: a report about them is about the queue time running out — but only a
 * report says so (a bare reply is one answer), and a delay notice about a refused connection
 * is about the refusal (nothing has run out yet). A notice that the queue time ran out but
 * names a cause beyond the connection (a blocklist, a DNS failure, a full mailbox) is about
 * that cause, which is what its reader has to fix.
 */
function byQueueCause(best: Candidate, { input, action, candidates }: Facts): Candidate | null {
  const noFinalAnswer = input.replyCode === null || Math.floor(input.replyCode / 100) === 4;
  const noAnswerOnly =
    best.id.endsWith(':generic.connection') ||
    best.id.endsWith(':haraka.tried_all_mx') ||
    (best.reason === 'network_error' && best.id.startsWith('status:4.4.'));
  const refusedWhileRetrying = action === 'delayed' && REFUSED_CONNECTION.test(input.diagnostic);
  if (noAnswerOnly && noFinalAnswer && !input.bareReply && !refusedWhileRetrying) {
    return { reason: 'expired', weight: best.weight, id: 'rule:gave_up_after_connection_failures' };
  }
  if (best.reason !== 'expired' || best.id.startsWith('rule:')) return null;
  const cause = candidates.find(
    (c) =>
      !QUEUE_WORDS.has(c.reason) &&
      c.weight >= W.phrase &&
      !c.id.startsWith('code:') &&
      !/^status:\d\.4\./.test(c.id) &&
      !c.id.endsWith(':generic.connection'),
  );
  return cause ? { reason: cause.reason, weight: cause.weight, id: 'rule:expiry_names_its_cause' } : null;
}

export function classify(input: ClassifyInput): Classification {
  const action = input.action?.toLowerCase() ?? null;
  const cls = statusClass(input);
  const permanent = action !== 'delayed' && (cls === 5 || action === 'failed');

  // Success notices are not failures (RFC 3464 §2.3.3). A delay notice is classified by its
  // cause — that is what its reader wants to know — but is neither permanent nor hard.
  if (
    action === 'delivered' ||
    action === 'relayed' ||
    action === 'expanded' ||
    parseStatus(input.status)?.class === 2
  ) {
    return {
      reason: 'delivered',
      confidence: 0.95,
      runnerUp: null,
      matched: [`rule:action_${action ?? 'success'}`],
      permanent: false,
      hard: false,
      derivedStatus: null,
    };
  }

  const candidates = candidatesFor(input);
  const matched = candidates.map((c) => c.id);
  let best: Candidate = candidates[0] ?? { reason: 'unknown', weight: 0.1, id: 'rule:no_evidence' };
  const rules: string[] = [];
  const facts: Facts = { input, action, cls, candidates };
  // Each refinement reads the winner so far and may replace it, in the order of the evidence:
  // the SMTP stage, the status class, then what a report about the queue says.
  for (const refine of [byStage, byStatusClass, byGivingUp, byQueueCause]) {
    const next = refine(best, facts);
    if (next) {
      best = next;
      rules.push(next.id);
    }
  }

  // Confidence: the winner's weight, raised a little when independent evidence agrees and
  // lowered when a different reason is nearly as strong. That reason is reported as the
  // runner-up, so a reader sees what else the evidence allows.
  const agreeing = candidates.filter((c) => c.reason === best.reason && c.id !== best.id).length;
  const rival = candidates.find(
    (c) => c.reason !== best.reason && c.reason !== 'unknown' && c.weight >= W.basic,
  );
  const contested = rival !== undefined && best.weight - rival.weight < 0.1;
  const raw = best.weight + Math.min(agreeing, 2) * 0.05 - (contested ? 0.1 : 0);
  const confidence = Math.max(0.05, Math.min(0.99, Math.round(raw * 100) / 100));
  const reason = best.reason;
  const status = STATUS_FOR_REASON[reason];
  const derivedStatus = status ? status.replace('X', String(permanent ? 5 : 4)) : null;
  return {
    reason,
    confidence,
    runnerUp: rival?.reason ?? null,
    matched: [...rules, ...matched],
    permanent,
    hard: isHard(reason, permanent),
    derivedStatus,
  };
}
