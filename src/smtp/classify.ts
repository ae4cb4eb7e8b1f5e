import type { SmtpReply } from './reply.js';
import { familiesIn } from './wording.js';
import type { WordingFamily } from './wording.js';

/**
 * What a reply to MAIL FROM or RCPT TO means for recipient verification. Pure: reads the
 * code, the RFC 3463 enhanced code and the wording that the common MTAs use (Postfix,
 * Exim, Exchange, Gmail, Microsoft 365, Sendmail, qmail), in the families of
 * src/smtp/wording.ts that bounce diagnosis reads too. The guiding rule: only a reply
 * that is about the *recipient* makes an address undeliverable; a reply about us (our IP,
 * our name, our sender, a DNSBL) makes its answer unknown (`blocked_probe`).
 */
export type RcptVerdict =
  'deliverable' | 'undeliverable' | 'mailbox_full' | 'greylisted' | 'blocked_probe' | 'temporary' | 'unknown';

export const RCPT_VERDICTS: readonly RcptVerdict[] = [
  'deliverable',
  'undeliverable',
  'mailbox_full',
  'greylisted',
  'blocked_probe',
  'temporary',
  'unknown',
];

/** Verdicts that say something about the address itself. */
export function isDefiniteVerdict(v: RcptVerdict): boolean {
  return v === 'deliverable' || v === 'undeliverable' || v === 'mailbox_full';
}

export interface Classification {
  verdict: RcptVerdict;
  /** Machine-readable reason, e.g. "user_unknown", "relay_denied", "dnsbl", "sender_rejected". */
  reason: string;
}

/** Wording that makes a deferral greylisting (or a plain "come back later"). */
const GREYLIST: readonly WordingFamily[] = ['greylisted', 'retry_later'];
/** Wording that says the address cannot receive mail: no such mailbox, disabled, moved, no such domain. */
const UNDELIVERABLE: readonly WordingFamily[] = [
  'mailbox_unknown',
  'mailbox_disabled',
  'mailbox_moved',
  'domain_unknown',
  'domain_refuses_mail',
];
/** Wording about the client or the sender, i.e. about the probe rather than the recipient. */
const ABOUT_US: readonly WordingFamily[] = [
  'blocklisted',
  'client_refused',
  'reputation',
  'reverse_dns',
  'helo_refused',
  'sender_refused',
  'not_authorized',
  'rate_limited',
  'policy',
];
/** Wording about the recipient's mailbox or domain. */
const ABOUT_RECIPIENT: readonly WordingFamily[] = [
  ...UNDELIVERABLE,
  'mailbox_full',
  'relay_denied',
  'greylisted',
];

/** The reply's text, read once: which families of wording it holds (src/smtp/wording.ts). */
class Said {
  readonly families: Set<WordingFamily>;
  constructor(text: string) {
    this.families = familiesIn(text);
  }
  any(families: readonly WordingFamily[]): boolean {
    return families.some((f) => this.families.has(f));
  }
  /**
   * Whether the reply is about us (the probe's IP, name or sender): a family that says so, or
   * words that name the sending side ("access denied", "listed in", "your host") in a reply
   * that says nothing about the recipient — Microsoft's "Recipient address rejected: Access
   * denied. AS(201806281)" and Domino's "User … not listed in Domino Directory" are about the
   * recipient.
   */
  get aboutUs(): boolean {
    return this.any(ABOUT_US) || (this.families.has('names_sender') && !this.any(ABOUT_RECIPIENT));
  }
}

function enhancedParts(reply: SmtpReply): [number, number, number] | undefined {
  if (!reply.enhanced) return undefined;
  const [a, b, c] = reply.enhanced.split('.').map(Number) as [number, number, number];
  return [a, b, c];
}

/** Classifies the reply to RCPT TO. */
export function classifyRcpt(reply: SmtpReply): Classification {
  const { code, text } = reply;
  const e = enhancedParts(reply);
  if (code === 250 || code === 251) return { verdict: 'deliverable', reason: 'accepted' };
  if (code === 252) return { verdict: 'unknown', reason: 'cannot_verify' };
  if (code < 400) return { verdict: 'unknown', reason: 'unexpected_reply' };
  const said = new Said(text);

  // X.2.2 mailbox full (RFC 3463 §3.3); 452/552 with quota wording.
  if ((e && e[1] === 2 && e[2] === 2) || ((code === 452 || code === 552) && said.any(['mailbox_full']))) {
    return { verdict: 'mailbox_full', reason: 'mailbox_full' };
  }
  // X.1.7 / X.1.8: the sender's address or domain is bad: about us.
  if (e && e[1] === 1 && (e[2] === 7 || e[2] === 8))
    return { verdict: 'blocked_probe', reason: 'sender_rejected' };
  if (code >= 500) {
    if (said.any(['relay_denied'])) return { verdict: 'undeliverable', reason: 'relay_denied' };
    // X.7.x is policy: about the recipient only when the wording says so unambiguously.
    if (e && e[1] === 7) {
      if (said.any(UNDELIVERABLE) && !said.aboutUs)
        return { verdict: 'undeliverable', reason: 'user_unknown' };
      return { verdict: 'blocked_probe', reason: policyReason(said) };
    }
    if (said.aboutUs && !(e && e[1] === 1)) return { verdict: 'blocked_probe', reason: policyReason(said) };
    // X.1.x address status: 5.1.1 bad mailbox, 5.1.0, 5.1.2 bad system, 5.1.3 syntax, 5.1.6 moved, 5.1.10 null MX.
    if (e && e[1] === 1)
      return { verdict: 'undeliverable', reason: e[2] === 6 ? 'mailbox_moved' : 'user_unknown' };
    if (code === 550 || code === 551 || code === 553 || said.any(UNDELIVERABLE)) {
      return { verdict: 'undeliverable', reason: code === 551 ? 'user_not_local' : 'user_unknown' };
    }
    return { verdict: 'unknown', reason: 'rejected_other' };
  }
  // 4xx
  if ((code === 450 || code === 451) && said.any(GREYLIST))
    return { verdict: 'greylisted', reason: 'greylisted' };
  // Greylisting milters answer 4.7.1 with a word about retrying.
  if (e && e[1] === 7 && e[2] === 1 && /try again|later|retry/i.test(text)) {
    return { verdict: 'greylisted', reason: 'greylisted' };
  }
  if (e && e[1] === 7) return { verdict: 'blocked_probe', reason: policyReason(said) };
  // 452 4.5.3 (RFC 5321 §4.5.3.1.10): too many recipients in this transaction, not a block.
  if (code === 452 && e && e[1] === 5 && e[2] === 3)
    return { verdict: 'temporary', reason: 'too_many_recipients' };
  if (said.aboutUs && !said.any(GREYLIST)) return { verdict: 'blocked_probe', reason: policyReason(said) };
  return { verdict: 'temporary', reason: 'temporary_failure' };
}

/** What a refusal that is about the probe names, most specific first. */
function policyReason(said: Said): string {
  if (said.any(['blocklisted'])) return 'dnsbl';
  if (said.any(['sender_refused'])) return 'sender_rejected';
  if (said.any(['helo_refused'])) return 'helo_rejected';
  if (said.any(['reverse_dns', 'client_refused'])) return 'client_rejected';
  if (said.any(['rate_limited'])) return 'rate_limited';
  return 'policy';
}

/**
 * Classifies the reply to MAIL FROM (or a refusal at banner/EHLO): anything but 2xx there is
 * about the probe, never about a recipient. Returns undefined for acceptance.
 */
export function classifyRefusalOfProbe(reply: SmtpReply): Classification | undefined {
  if (reply.code >= 200 && reply.code < 400) return undefined;
  const said = new Said(reply.text);
  if ((reply.code === 450 || reply.code === 451) && said.any(GREYLIST))
    return { verdict: 'greylisted', reason: 'greylisted' };
  if (reply.code >= 400 && reply.code < 500 && !said.aboutUs)
    return { verdict: 'temporary', reason: 'temporary_failure' };
  return { verdict: 'blocked_probe', reason: policyReason(said) };
}

/** Whether a refusal of the open-relay test recipient is a refusal to relay (or any refusal). */
export function isRefusal(reply: SmtpReply): boolean {
  return reply.code >= 500 || (reply.code >= 400 && mentionsRelay(reply));
}

export function mentionsRelay(reply: SmtpReply): boolean {
  return new Said(reply.text).any(['relay_denied']);
}

export function looksLikeGreylisting(reply: SmtpReply): boolean {
  return classifyRcpt(reply).verdict === 'greylisted';
}
