import type { Reason, Side } from './model.js';

/**
 * What each reason means and what to do about it: the source of the per-record explanation
 * and of docs/bounces.md. Plain words, for a support engineer who has a bounce in hand.
 */

/** Facts an explanation can quote. Every field may be missing. */
export interface ExplainFacts {
  recipient?: string | null;
  recipientDomain?: string | null;
  remote?: string | null;
  sendingIp?: string | null;
  sender?: string | null;
  senderDomain?: string | null;
}

export interface ReasonInfo {
  title: string;
  side: Side;
  /** The plain explanation for the documentation. */
  meaning: string;
  /** One sentence saying what happened to this message. */
  summary: (f: ExplainFacts) => string;
  /** Concrete next steps, most useful first. */
  steps: (f: ExplainFacts) => string[];
}

const rcpt = (f: ExplainFacts): string => f.recipient ?? 'the recipient';
const rdom = (f: ExplainFacts): string => f.recipientDomain ?? 'the recipient’s domain';
const sdom = (f: ExplainFacts): string => f.senderDomain ?? 'your sending domain';
const ip = (f: ExplainFacts): string => f.sendingIp ?? 'your sending IP address';
const by = (f: ExplainFacts): string => (f.remote ? ` (${f.remote})` : '');

export const REASON_INFO: Record<Reason, ReasonInfo> = {
  user_unknown: {
    title: 'Mailbox does not exist',
    side: 'recipient_address',
    meaning:
      'The receiving server says there is no mailbox with this address (typo, person left, address never existed).',
    summary: (f) => `The receiving server${by(f)} says the mailbox ${rcpt(f)} does not exist.`,
    steps: (f) => [
      `Check the address for typos (${rcpt(f)}); if it came from a form or import, confirm it with the person by another channel.`,
      'Remove the address from mailing lists: repeated sends to unknown users hurt your sender reputation.',
    ],
  },
  host_unknown: {
    title: 'Recipient domain does not exist',
    side: 'recipient_address',
    meaning: 'The recipient’s domain does not exist in DNS, or has no host that could receive mail.',
    summary: (f) =>
      `The domain ${rdom(f)} does not exist or names no mail server, so nothing could be delivered to ${rcpt(f)}.`,
    steps: (f) => [
      `Check the domain part of ${rcpt(f)} for typos (a common cause: gmial.com, hotmial.com, missing country code).`,
      'If the domain is right, its owner must fix its DNS (MX or A records); until then remove the address from lists.',
    ],
  },
  has_moved: {
    title: 'Mailbox has moved',
    side: 'recipient_address',
    meaning: 'The person has a new address and this one no longer forwards mail.',
    summary: (f) => `${rcpt(f)} has moved to another address and mail to it is not forwarded.`,
    steps: () => [
      'Look in the diagnostic text for the new address and update your records.',
      'Remove the old address from mailing lists.',
    ],
  },
  not_accept: {
    title: 'Destination accepts no mail',
    side: 'recipient_server',
    meaning:
      'The destination does not accept mail at all: a null MX (RFC 7505), or a server that refuses every message for the domain.',
    summary: (f) => `The destination ${rdom(f)} does not accept mail${by(f)}.`,
    steps: (f) => [
      `Check whether ${rdom(f)} is meant to receive mail at all (a null MX "0 ." says it is not).`,
      'Contact the person by another channel for a working address, and remove this one from lists.',
    ],
  },
  mailbox_full: {
    title: 'Mailbox full',
    side: 'recipient_server',
    meaning:
      'The recipient’s mailbox is over its storage quota. It usually clears when the owner deletes mail.',
    summary: (f) => `The mailbox ${rcpt(f)} is full${by(f)}.`,
    steps: () => [
      'Try again later; tell the recipient by another channel if the message is important.',
      'If the mailbox stays full for weeks it is probably abandoned: stop sending to it.',
    ],
  },
  suspended: {
    title: 'Mailbox disabled',
    side: 'recipient_address',
    meaning:
      'The account exists but is disabled, suspended, locked or inactive, so it accepts no mail for now.',
    summary: (f) => `The mailbox ${rcpt(f)} exists but is disabled or suspended${by(f)}.`,
    steps: () => [
      'Contact the person by another channel; the account may have been closed or abandoned.',
      'If it keeps bouncing, remove it from mailing lists (disabled accounts are often recycled into spam traps).',
    ],
  },
  exceed_limit: {
    title: 'Over a recipient limit',
    side: 'recipient_server',
    meaning: 'The message exceeds a limit set for this recipient (a per-user size or message limit).',
    summary: (f) => `The message exceeds a limit the receiving server${by(f)} sets for ${rcpt(f)}.`,
    steps: () => [
      'Send a smaller message (share large files by link instead of attaching them).',
      'Ask the recipient or their administrator what limit applies.',
    ],
  },
  blocked: {
    title: 'Sending IP or host refused',
    side: 'sender_reputation',
    meaning:
      'The receiving server refuses connections or mail from the sending IP address or host: it is on a blocklist (Spamhaus, Barracuda, SpamCop…) or banned by the receiver.',
    summary: (f) => `The receiving server${by(f)} refuses mail from ${ip(f)}.`,
    steps: (f) => [
      `Look ${ip(f)} up on the blocklist the diagnostic names (for example at the Spamhaus, Barracuda or SpamCop lookup pages) and follow its delisting procedure.`,
      'Find out why it was listed first: a compromised account or web form, an open relay, or a bulk send without opt-in — delisting does not last otherwise.',
      'If you use a shared mail provider, send them this bounce: their IP is the one listed.',
    ],
  },
  bad_reputation: {
    title: 'Poor sending reputation',
    side: 'sender_reputation',
    meaning:
      'The receiver refused or deferred mail because of the sending IP’s or domain’s reputation (complaints, spam-trap hits, sudden volume).',
    summary: (f) =>
      `The receiving server${by(f)} refused the message because of the reputation of ${ip(f)} or ${sdom(f)}.`,
    steps: () => [
      'Slow down: reduce volume and retry gradually; deferrals of this kind clear when reputation recovers.',
      'Send only to people who asked for your mail, remove bouncing and inactive addresses, and make unsubscribing easy.',
      'Register with the receiver’s postmaster tools (Gmail Postmaster Tools, Microsoft SNDS, Yahoo Sender Hub) to see your reputation.',
    ],
  },
  require_ptr: {
    title: 'Missing reverse DNS',
    side: 'sender_configuration',
    meaning:
      'The sending IP has no reverse-DNS (PTR) record, or its PTR name does not resolve back to the IP. Many receivers refuse such mail.',
    summary: (f) =>
      `The receiving server${by(f)} refused ${ip(f)} because its reverse DNS (PTR) is missing or does not match.`,
    steps: (f) => [
      `Ask whoever controls ${ip(f)} (your hosting or ISP) to set a PTR record naming your mail server, e.g. mail.${sdom(f)}.`,
      'Make sure that name has an A/AAAA record pointing back to the same IP (forward-confirmed reverse DNS), and use it as your EHLO name.',
    ],
  },
  rejected: {
    title: 'Sender address refused',
    side: 'sender_configuration',
    meaning:
      'The receiver refused the envelope sender (MAIL FROM) address or its domain: it does not exist, is not resolvable, or is banned.',
    summary: (f) =>
      `The receiving server${by(f)} refused the sender address${f.sender ? ` ${f.sender}` : ''}.`,
    steps: (f) => [
      `Check that the envelope sender's domain (${sdom(f)}) exists and has MX or A records.`,
      'Use a real, routable envelope sender (not a local host name like root@localhost or an unregistered domain).',
      'If the diagnostic mentions a blocklist or policy, the sender address itself may be listed: contact the receiver.',
    ],
  },
  auth_failure: {
    title: 'Authentication failed (SPF, DKIM, DMARC)',
    side: 'sender_configuration',
    meaning:
      'SPF, DKIM or DMARC did not pass, or the sender is unauthenticated; major receivers refuse such mail.',
    summary: (f) =>
      `The receiving server${by(f)} refused the message because it could not authenticate it as coming from ${sdom(f)} (SPF, DKIM or DMARC).`,
    steps: (f) => [
      `Make sure ${sdom(f)}'s SPF record lists ${ip(f)} (or the service you send through).`,
      'Sign the message with DKIM using a key published in DNS for the From domain.',
      `Check ${sdom(f)}'s DMARC policy: the From domain must align with the SPF or DKIM domain.`,
    ],
  },
  tls_required: {
    title: 'TLS required',
    side: 'sender_configuration',
    meaning:
      'The receiver requires an encrypted connection (STARTTLS or REQUIRETLS), or TLS could not be negotiated.',
    summary: (f) =>
      `The message was not delivered because the receiving server${by(f)} requires TLS, or TLS could not be negotiated.`,
    steps: () => [
      'Enable opportunistic STARTTLS on your sending MTA, with a current TLS version and ciphers.',
      'If the receiver enforces MTA-STS or DANE, check that its certificate matches and your MTA validates it.',
    ],
  },
  relaying_denied: {
    title: 'Relaying denied',
    side: 'sender_configuration',
    meaning:
      'The server refused to pass the message on: it does not handle mail for the recipient’s domain, or requires you to authenticate first.',
    summary: (f) => `The server${by(f)} refused to relay the message to ${rcpt(f)}.`,
    steps: (f) => [
      `Check ${rdom(f)}'s MX records point to the right servers (a stale MX often causes this).`,
      'If you send through your own provider’s server, authenticate (SMTP AUTH on port 587) before sending.',
    ],
  },
  policy_violation: {
    title: 'Refused by local policy',
    side: 'recipient_server',
    meaning:
      'A local policy of the receiving site refused the message (content rules, restricted recipients, group policies).',
    summary: (f) => `A policy of the receiving site${by(f)} refused the message.`,
    steps: () => [
      'Read the diagnostic: it often links to the receiver’s policy page.',
      'Contact the recipient or their postmaster by another channel to find out which rule applies.',
    ],
  },
  security_error: {
    title: 'Security check failed',
    side: 'sender_configuration',
    meaning:
      'A security requirement was not met: authentication required, bad credentials, or a sender not allowed to use that server.',
    summary: (f) =>
      `The server${by(f)} refused the message for a security reason (authentication required or not allowed).`,
    steps: () => [
      'Check that your mail client or application authenticates with the right credentials.',
      'Send through the server you are authorised to use, on the submission port (587) with STARTTLS.',
    ],
  },
  spam_detected: {
    title: 'Judged to be spam',
    side: 'sender_reputation',
    meaning: 'The receiver’s filter judged the message’s content to be spam.',
    summary: (f) => `The receiving server${by(f)} refused the message as spam.`,
    steps: () => [
      'Review the content: link shorteners, URLs on blocklists, image-only mail and misleading subjects trigger filters.',
      'Make sure the message is authenticated (SPF, DKIM, DMARC) and sent only to people who asked for it.',
    ],
  },
  virus_detected: {
    title: 'Virus or malware found',
    side: 'sender_configuration',
    meaning: 'A virus or malware scanner refused the message or an attachment.',
    summary: (f) =>
      `The receiving server${by(f)} refused the message because it found a virus or dangerous attachment.`,
    steps: () => [
      'Scan the sending computer and the attachment; the sender may be infected.',
      'Executable and macro attachments are refused by many receivers: share files by link instead.',
    ],
  },
  content_error: {
    title: 'Content not acceptable',
    side: 'sender_configuration',
    meaning:
      'The message’s headers or body are malformed or unacceptable (bad encoding, forbidden attachment type, lines too long).',
    summary: (f) => `The receiving server${by(f)} refused the message's content or format.`,
    steps: () => [
      'Check the sending software: headers, MIME structure and character encodings must be valid.',
      'Remove unusual attachment types and try again.',
    ],
  },
  not_compliant_rfc: {
    title: 'Not RFC 5322 compliant',
    side: 'sender_configuration',
    meaning:
      'The message breaks the Internet Message Format (RFC 5322): a missing or duplicated From, Date or Message-ID, or malformed headers.',
    summary: (f) =>
      `The receiving server${by(f)} refused the message because it does not follow RFC 5322 (for example a missing or duplicate header).`,
    steps: () => [
      'Make sure every message has exactly one From, Date and Message-ID header and at most one Subject, To and Cc.',
      'Fix the sending application or library that builds the message.',
    ],
  },
  filtered: {
    title: 'Refused by a filter',
    side: 'recipient_server',
    meaning:
      'The message was refused after it was sent (after DATA) by a header, content or recipient-side filter, often with a user-unknown-like text.',
    summary: (f) => `A filter on the receiving side${by(f)} refused the message for ${rcpt(f)}.`,
    steps: () => [
      'The address itself may well exist: the recipient or their administrator may have a rule refusing your mail.',
      'Contact the recipient by another channel and ask them to allow your address.',
    ],
  },
  suppressed: {
    title: 'Suppressed by the sending platform',
    side: 'sender_configuration',
    meaning:
      'Your sending platform (e.g. Amazon SES, SendGrid) did not even try: the address is on its suppression list after an earlier bounce or complaint.',
    summary: (f) =>
      `Your sending platform did not try to deliver to ${rcpt(f)} because the address is on its suppression list.`,
    steps: () => [
      'Find out why it was suppressed (an earlier hard bounce or a complaint) in your platform’s dashboard.',
      'Remove it from the suppression list only if you are sure the address now works and wants your mail.',
    ],
  },
  message_too_large: {
    title: 'Message too large',
    side: 'sender_configuration',
    meaning: 'The message is larger than the receiving server accepts.',
    summary: (f) => `The message is larger than the receiving server${by(f)} accepts.`,
    steps: () => [
      'Send it smaller: compress or remove attachments and share big files by link.',
      'Remember that attachments grow by a third when encoded for mail.',
    ],
  },
  rate_limited: {
    title: 'Rate limited',
    side: 'sender_reputation',
    meaning:
      'Too many connections, messages or recipients in too short a time, from the sender or to the recipient.',
    summary: (f) =>
      `The receiving server${by(f)} refused the message because too much mail arrived too fast.`,
    steps: () => [
      'Slow down: fewer connections, fewer messages per connection, fewer recipients per message.',
      'Retry later; the limit usually resets within an hour or a day.',
    ],
  },
  expired: {
    title: 'Gave up retrying',
    side: 'network',
    meaning:
      'The sending MTA kept getting temporary errors and gave up when the message had been queued too long.',
    summary: (f) => `The sending mail server gave up after retrying delivery to ${rcpt(f)} for too long.`,
    steps: (f) => [
      'Read the last error in the diagnostic: it says why each attempt failed (unreachable server, deferrals).',
      `Check that ${rdom(f)}'s mail servers are reachable, then send again.`,
    ],
  },
  network_error: {
    title: 'Network or DNS problem',
    side: 'network',
    meaning: 'A DNS failure, a connection that could not be made or was lost, or a mail loop on the way.',
    summary: (f) => `Delivery to ${rcpt(f)} failed because of a DNS, connection or routing problem.`,
    steps: (f) => [
      `Check that ${rdom(f)}'s DNS answers and its MX hosts accept connections on port 25.`,
      'If the diagnostic mentions a loop, check forwarding rules and MX records for a cycle.',
    ],
  },
  system_error: {
    title: 'Error on the receiving system',
    side: 'recipient_server',
    meaning: 'The receiving system had an internal error or is misconfigured.',
    summary: (f) => `The receiving system${by(f)} had an internal error or is misconfigured.`,
    steps: () => [
      'Try again later.',
      'If it persists, tell the recipient’s postmaster, quoting the diagnostic.',
    ],
  },
  system_full: {
    title: 'Receiving server’s disk full',
    side: 'recipient_server',
    meaning: 'The receiving server has run out of storage.',
    summary: (f) => `The receiving server${by(f)} is out of storage.`,
    steps: () => ['Try again later.', 'If it persists, tell the recipient’s postmaster.'],
  },
  mailer_error: {
    title: 'Local delivery program failed',
    side: 'recipient_server',
    meaning:
      'A local delivery program (procmail, a pipe, a mailing-list manager) failed on the receiving host.',
    summary: (f) => `A delivery program on the receiving host failed while delivering to ${rcpt(f)}.`,
    steps: () => [
      'The recipient’s administrator must look at the delivery program named in the diagnostic (its configuration or permissions).',
    ],
  },
  syntax_error: {
    title: 'SMTP syntax error',
    side: 'sender_configuration',
    meaning: 'An SMTP command or address was malformed.',
    summary: (f) => `The server${by(f)} refused an SMTP command or address as malformed.`,
    steps: () => [
      'Check the recipient and sender addresses for invalid characters or missing angle brackets.',
      'If your own software speaks SMTP, check its commands against RFC 5321.',
    ],
  },
  unknown: {
    title: 'Unknown reason',
    side: 'recipient_server',
    meaning: 'The bounce does not say enough to decide why delivery failed.',
    summary: (f) => `Delivery to ${rcpt(f)} failed, but the bounce does not say clearly why.`,
    steps: () => [
      'Read the diagnostic text yourself; contact the recipient’s postmaster with it if it is unclear.',
    ],
  },
  delivered: {
    title: 'Delivered or delayed (not a failure)',
    side: 'none',
    meaning:
      'A success notice or a delay warning: the message was delivered, relayed, or is still being retried.',
    summary: (f) =>
      `This is not a failure: the notice reports that delivery to ${rcpt(f)} succeeded or is still being retried.`,
    steps: () => [
      'Nothing to do now. If it is a delay warning, a real bounce follows only if retries give up.',
    ],
  },
  vacation: {
    title: 'Automatic reply (not a bounce)',
    side: 'none',
    meaning: 'An automatic reply (vacation, out of office): the message was delivered.',
    summary: (f) => `This is an automatic reply from ${rcpt(f)}, not a bounce: the message was delivered.`,
    steps: () => ['Nothing to do. Do not treat auto-replies as bounces or unsubscribe requests.'],
  },
  feedback: {
    title: 'Complaint report (not a bounce)',
    side: 'sender_reputation',
    meaning:
      'A feedback-loop or abuse report (ARF, RFC 5965): a recipient marked the message as spam, or the receiver reports abuse.',
    summary: (f) =>
      `A recipient${f.recipient ? ` (${f.recipient})` : ''} reported the message as spam or abuse.`,
    steps: () => [
      'Stop sending to the complaining address at once (suppress it).',
      'Review how that address was signed up and how easy unsubscribing is; complaint rates above 0.1% hurt delivery.',
    ],
  },
};

/** Reasons that mean "the address itself will never accept mail" (not_accept only when permanent). */
export const HARD_REASONS: ReadonlySet<Reason> = new Set([
  'user_unknown',
  'host_unknown',
  'has_moved',
  'not_accept',
]);

/** Applies the taxonomy's definition of a hard bounce. */
export function isHard(reason: Reason, permanent: boolean): boolean {
  // Only a permanent answer proves the address dead: a temporary "user unknown" (a 4xx while
  // a directory is unreachable, a delay notice) says the MTA will try again, so hard follows
  // the same evidence in every layout (bare reply, DSN, human-readable notice).
  if (!permanent) return false;
  return reason === 'not_accept' || HARD_REASONS.has(reason);
}

/** Why a record is hard or soft, in plain words. */
export function hardNote(reason: Reason, hard: boolean): string {
  if (reason === 'delivered' || reason === 'vacation' || reason === 'feedback') {
    return 'Not a bounce: nothing to remove (but for a complaint, stop mailing the address).';
  }
  if (hard) {
    return 'Hard bounce: the address itself will not accept mail. Remove it from mailing lists; sending again only hurts your reputation.';
  }
  return 'Soft bounce: the address itself may be fine. Fix the cause (or wait) and the same address can receive mail again, so do not remove it on this bounce alone.';
}
