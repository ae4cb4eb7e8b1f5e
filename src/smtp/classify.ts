import type { SmtpReply } from './reply.js';

/**
 * What a reply to MAIL FROM or RCPT TO means for recipient verification. Pure: reads the
 * code, the RFC 3463 enhanced code and the wording that the common MTAs use (Postfix,
 * Exim, Exchange, Gmail, Microsoft 365, Sendmail, qmail). The guiding rule: only a reply
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

const GREYLIST =
  /grey|gray|try again later|please (?:try|retry) (?:again|later)|temporar(?:il)?y (?:deferred|rejected|blocked)|deferred|come back later|retry (?:in|later)/i;
const USER_UNKNOWN =
  /user unknown|unknown user|no such (?:user|mailbox|recipient|address)|mailbox (?:unavailable|not found|does not exist|disabled)|recipient (?:not found|unknown|does not exist|rejected)|address (?:rejected|does not exist|unknown)|does not exist|unrouteable|not a valid (?:mailbox|recipient)|invalid (?:recipient|mailbox|address)|account (?:disabled|has been disabled|is disabled|does not exist)|no mailbox|undeliverable|unknown (?:local part|recipient|address)|recipientnotfound|not listed in/i;
const MAILBOX_FULL =
  /mailbox (?:is )?full|over ?quota|quota exceeded|exceeded (?:the )?(?:storage|quota)|insufficient (?:user )?storage|mailbox size limit/i;
const RELAY =
  /relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed)|not permitted to relay|we do not relay|unable to relay|relay not/i;
/** Wording about the client or the sender, i.e. about the probe rather than the recipient. */
const ABOUT_US =
  /client host|client address|your (?:ip|address|host|server|network)|sender address rejected|sender (?:domain|address|verify|rejected)|helo command rejected|helo|ehlo|reverse dns|rdns|ptr|blocked|block ?list|black ?list|dnsbl|rbl|spamhaus|spamcop|barracuda|sorbs|listed (?:at|in|on|by)|reputation|poor reputation|access denied|not authori[sz]ed|banned|abuse|policy|too many (?:connections|errors|invalid)|rate limit|throttl/i;

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

  // X.2.2 mailbox full (RFC 3463 §3.3); 452/552 with quota wording.
  if ((e && e[1] === 2 && e[2] === 2) || ((code === 452 || code === 552) && MAILBOX_FULL.test(text))) {
    return { verdict: 'mailbox_full', reason: 'mailbox_full' };
  }
  // X.1.7 / X.1.8: the sender's address or domain is bad: about us.
  if (e && e[1] === 1 && (e[2] === 7 || e[2] === 8))
    return { verdict: 'blocked_probe', reason: 'sender_rejected' };
  if (code >= 500) {
    if (RELAY.test(text)) return { verdict: 'undeliverable', reason: 'relay_denied' };
    // X.7.x is policy: about the recipient only when the wording says so unambiguously.
    if (e && e[1] === 7) {
      if (USER_UNKNOWN.test(text) && !ABOUT_US.test(text))
        return { verdict: 'undeliverable', reason: 'user_unknown' };
      return { verdict: 'blocked_probe', reason: policyReason(text) };
    }
    if (ABOUT_US.test(text) && !(e && e[1] === 1))
      return { verdict: 'blocked_probe', reason: policyReason(text) };
    // X.1.x address status: 5.1.1 bad mailbox, 5.1.0, 5.1.2 bad system, 5.1.3 syntax, 5.1.6 moved, 5.1.10 null MX.
    if (e && e[1] === 1)
      return { verdict: 'undeliverable', reason: e[2] === 6 ? 'mailbox_moved' : 'user_unknown' };
    if (code === 550 || code === 551 || code === 553 || USER_UNKNOWN.test(text)) {
      return { verdict: 'undeliverable', reason: code === 551 ? 'user_not_local' : 'user_unknown' };
    }
    return { verdict: 'unknown', reason: 'rejected_other' };
  }
  // 4xx
  if ((code === 450 || code === 451) && GREYLIST.test(text))
    return { verdict: 'greylisted', reason: 'greylisted' };
  if (e && e[1] === 7 && e[2] === 1 && /try again|later|retry/i.test(text)) {
    return { verdict: 'greylisted', reason: 'greylisted' };
  }
  if (e && e[1] === 7) return { verdict: 'blocked_probe', reason: policyReason(text) };
  if (ABOUT_US.test(text) && !GREYLIST.test(text))
    return { verdict: 'blocked_probe', reason: policyReason(text) };
  if (code === 452 && e && e[1] === 5 && e[2] === 3)
    return { verdict: 'temporary', reason: 'too_many_recipients' };
  return { verdict: 'temporary', reason: 'temporary_failure' };
}

function policyReason(text: string): string {
  if (/spamhaus|spamcop|barracuda|sorbs|dnsbl|rbl|block ?list|black ?list|listed (?:at|in|on|by)/i.test(text))
    return 'dnsbl';
  if (/sender/i.test(text)) return 'sender_rejected';
  if (/helo|ehlo/i.test(text)) return 'helo_rejected';
  if (/reverse dns|rdns|ptr|client host|client address|your (?:ip|address|host)/i.test(text))
    return 'client_rejected';
  if (/too many|rate limit|throttl/i.test(text)) return 'rate_limited';
  return 'policy';
}

/**
 * Classifies the reply to MAIL FROM (or a refusal at banner/EHLO): anything but 2xx there is
 * about the probe, never about a recipient. Returns undefined for acceptance.
 */
export function classifyRefusalOfProbe(reply: SmtpReply): Classification | undefined {
  if (reply.code >= 200 && reply.code < 400) return undefined;
  if ((reply.code === 450 || reply.code === 451) && GREYLIST.test(reply.text))
    return { verdict: 'greylisted', reason: 'greylisted' };
  if (reply.code >= 400 && reply.code < 500 && !ABOUT_US.test(reply.text))
    return { verdict: 'temporary', reason: 'temporary_failure' };
  return { verdict: 'blocked_probe', reason: policyReason(reply.text) };
}

/** Whether a refusal of the open-relay test recipient is a refusal to relay (or any refusal). */
export function isRefusal(reply: SmtpReply): boolean {
  return reply.code >= 500 || (reply.code >= 400 && RELAY.test(reply.text));
}

export function mentionsRelay(reply: SmtpReply): boolean {
  return RELAY.test(reply.text);
}

export function looksLikeGreylisting(reply: SmtpReply): boolean {
  return classifyRcpt(reply).verdict === 'greylisted';
}
