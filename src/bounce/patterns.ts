import { anyPhrase, phraseMatches, phraseReader, wording } from '../smtp/wording.js';
import type { SameLine, WordingPhrase } from '../smtp/wording.js';
import type { Reason } from './model.js';
import { W } from './status-codes.js';

export { anyPhrase, phraseMatches, phraseReader };

/**
 * Well-known phrases of receiving servers and MTAs, mapped to reasons: the reviewed
 * knowledge of the classifier, kept as data — one table, in the order the classifier tries
 * it (among equal weights, the first listed wins). The wording that recipient verification
 * reads too (no such user, mailbox full, greylisting, blocklists, the sender refused…) is
 * defined once in src/smtp/wording.ts and referenced here by ID with its reason and weight
 * (`shared`); the wording only bounces carry (spam, viruses, expired queues, local delivery
 * programs…) is defined here (`rule`). Each phrase names where it comes from (the MTA's or
 * provider's own documentation of its replies, or the stock text of an MTA), so a reviewer
 * can judge it and a new one is one entry.
 *
 * Patterns run case-insensitively over the diagnostic with whitespace collapsed to single
 * spaces. `weight` is the row's strength (see W in status-codes.ts): a provider phrase that
 * means one thing only beats a specific status code; a generic phrase beats a catch-all code.
 */
export interface PhraseRule {
  /** Stable ID, reported in `matched`. */
  id: string;
  reason: Reason;
  re: RegExp;
  weight: number;
  /** Where the phrase comes from. */
  source: string;
  /**
   * What the phrase itself tells beyond its reason, when it decides the record: a sentence
   * added to the explanation and the steps that replace the reason's generic ones.
   */
  advice?: { summary: string; steps: string[] };
  /** Two-part phrases (see SameLine in src/smtp/wording.ts). */
  sameLine?: readonly SameLine[];
}

/** A phrase defined here: wording only bounces carry. */
const rule = (
  id: string,
  reason: Reason,
  weight: number,
  source: string,
  re: RegExp,
  advice?: PhraseRule['advice'],
): PhraseRule => ({ id, reason, re, weight, source, ...(advice ? { advice } : {}) });

/** A phrase of src/smtp/wording.ts, with the reason and weight it has in a bounce. */
const shared = (id: string, reason: Reason, weight: number, advice?: PhraseRule['advice']): PhraseRule => {
  const w: WordingPhrase = wording(id);
  return {
    id,
    reason,
    re: w.re,
    weight,
    source: w.source,
    ...(advice ? { advice } : {}),
    ...(w.sameLine ? { sameLine: w.sameLine } : {}),
  };
};

export const PHRASE_RULES: readonly PhraseRule[] = [
  // --- user_unknown ------------------------------------------------------------------------
  shared('gmail.no_such_user', 'user_unknown', W.exactPhrase),
  shared('microsoft.recipient_not_found', 'user_unknown', W.exactPhrase),
  shared('microsoft.dbeb', 'user_unknown', W.exactPhrase),
  shared('yahoo.no_account', 'user_unknown', W.exactPhrase),
  shared('postfix.unknown_in_table', 'user_unknown', W.exactPhrase),
  shared('qmail.no_mailbox', 'user_unknown', W.exactPhrase),
  shared('exchange.unknown_recipient', 'user_unknown', W.phrase),
  shared('generic.user_unknown', 'user_unknown', W.phrase),
  shared('generic.check_address', 'user_unknown', W.phrase),
  shared('generic.not_our_user', 'user_unknown', W.weakPhrase),
  shared('generic.inactive_address', 'user_unknown', W.phrase),
  shared('facebook.rcp_p1', 'user_unknown', W.exactPhrase),
  shared('domino.not_listed', 'user_unknown', W.phrase),

  // --- host_unknown ------------------------------------------------------------------------
  rule(
    'rfc3463.bad_destination_system',
    'host_unknown',
    W.phrase,
    'The RFC 3463 X.1.2 text "Bad destination system address", quoted alone by servers Yandex lists among non-existing addresses',
    /\bbad destination (?:system|domain|host) address\b/i,
  ),
  shared('postfix.host_not_found', 'host_unknown', W.exactPhrase),
  shared('qmail.no_host', 'host_unknown', W.exactPhrase),
  shared('exim.unrouteable', 'host_unknown', W.exactPhrase),
  shared('sendmail.host_unknown', 'host_unknown', W.phrase),

  // --- not_accept --------------------------------------------------------------------------
  shared('cpanel.may_not_exist', 'host_unknown', W.exactPhrase + 0.02),
  shared('generic.hostname_does_not_exist', 'host_unknown', W.phrase),
  shared('rfc7505.null_mx', 'not_accept', W.exactPhrase),
  shared('generic.no_mx', 'not_accept', W.phrase),

  // --- has_moved ---------------------------------------------------------------------------
  shared('generic.has_moved', 'has_moved', W.phrase),

  // --- mailbox_full ------------------------------------------------------------------------
  rule(
    'generic.storage_exhausted',
    'mailbox_full',
    W.exactPhrase + 0.01,
    'Yandex bounce list ("Account is full"), WEB.DE ("User has exhausted allowed storage space", "User has too many messages on the server")',
    /\b(?:account|inbox|in-?box) (?:is )?(?:full|over (?:quota|capacity))\b|\b(?:exhausted|used up|run out of) (?:\w+ )?(?:allowed |available )?(?:storage|disk|mailbox) ?(?:space|quota|volume)\b|\btoo many (?:messages|mails|e-?mails) (?:on the server|in (?:the |his |her |their )?(?:mailbox|inbox))\b/i,
  ),
  shared('gmail.over_quota', 'mailbox_full', W.exactPhrase),
  shared('generic.mailbox_full', 'mailbox_full', W.phrase),

  // --- suspended ---------------------------------------------------------------------------
  rule(
    'generic.inactive_user',
    'suspended',
    W.phrase,
    'Mail.ee/Inbox.lv help ("554 5.7.1 rejected: Inactive user": a mailbox blocked after months unused, reactivated by logging in)',
    /\binactive (?:user|account|mailbox|recipient)\b/i,
  ),
  rule(
    'yandex.target_blocked',
    'suspended',
    W.exactPhrase,
    'Yandex bounce reference: "Policy rejection on the target address" (the recipient\'s account is blocked for User Agreement violations)',
    /\b(?:policy )?rejection (?:on|for) the (?:target|recipient|destination) (?:address|account|mailbox)\b/i,
  ),
  shared('gmail.disabled', 'suspended', W.exactPhrase),
  shared('generic.suspended', 'suspended', W.phrase),

  // --- exceed_limit / message_too_large ----------------------------------------------------
  rule(
    'microsoft.recip_size',
    'exceed_limit',
    W.exactPhrase,
    'Exchange: RESOLVER.RST.RecipSizeLimit',
    /RecipSizeLimit|message too large for this recipient/i,
  ),
  rule(
    'generic.too_large',
    'message_too_large',
    W.phrase,
    'Stock texts: sendmail, Postfix, Exim, Gmail 5.2.3/5.3.4',
    /\bmessage (?:size )?(?:is )?too (?:large|big)\b|\bmessage size exceeds\b|\bsize (?:exceeds|exceeded) (?:the )?(?:fixed |maximum |message )?(?:limit|maximum|size)\b|\bexceeded .{0,30}message size limits?\b|\bmessage (?:length|size) exceeds\b|\bmessage exceeds (?:the )?(?:maximum|fixed|size)\b|\btoo much mail data\b|\bmail size limit exceeded\b|\bmessage is larger than\b|\b(?:e-?mail|mail|attachment)s? size (?:exceeded|exceeds)\b/i,
  ),
  rule(
    'generic.size_limits',
    'message_too_large',
    W.exactPhrase,
    'Gmail 552 5.2.3 "Your message exceeded Google\'s message size limits" (a size limit of the whole service, stronger than what X.2.3 says alone)',
    /\bexceeded (?:\S+ ){0,2}message size limits?\b/i,
  ),

  // --- blocked (sending IP / host refused) ------------------------------------------------
  shared('dnsbl.named', 'blocked', W.exactPhrase),
  shared('microsoft.banned_ip', 'blocked', W.exactPhrase),
  shared('yahoo.permanently_deferred', 'blocked', W.exactPhrase),
  shared('generic.client_rejected', 'blocked', W.phrase),
  // "does not accept email over IPv6" also reads as a null-MX refusal (not_accept): the
  // transport named decides.
  shared('microsoft.ipv6_or_partner', 'blocked', W.exactPhrase + 0.01),
  rule(
    'generic.ip_not_allowlisted',
    'blocked',
    W.phrase,
    'Gmail 421 4.7.0 "IP not in whitelist for RCPT domain" (an inbound gateway accepting only listed IPs)',
    /\b(?:ip|host|client|server)(?: address)? (?:is )?not (?:in|on) (?:the |our )?(?:white|allow) ?list(?:ed)?\b|\b(?:ip|host|client)(?: address)? (?:is )?not (?:white|allow)[- ]?listed\b/i,
  ),
  rule(
    'generic.host_refused_as',
    'blocked',
    W.exactPhrase + 0.02,
    'Outlook.com postmaster SC-003 ("Your IP address appears to be an open proxy/relay"), DY-002 ("a compromised or virus infected server/personal computer"): the host, not the message',
    /\bopen (?:proxy|relay)(?:\/(?:proxy|relay))?\b|\b(?:compromised|(?:virus[- ])?infected|hijacked|botnet)(?: or (?:virus[- ])?(?:infected|compromised))? (?:server|host|computer|machine|pc|server\/personal computer)\b/i,
  ),
  rule(
    'comcast.block_codes',
    'blocked',
    W.exactPhrase,
    'Comcast postmaster error codes: ES000001/ES000010 (dynamic or residential IP), BL000001–BL000111 (listed on Spamhaus ZEN, Cloudmark CSI or SenderScore)',
    /\bES0000(?:01|10)\b|\bBL000(?:0(?:01|10|11)|1[01][01])\b/,
  ),

  // --- bad_reputation -----------------------------------------------------------------------
  rule(
    'generic.complaints_history',
    'bad_reputation',
    W.exactPhrase + 0.01,
    'Outlook.com SC-004 ("because we have received complaints concerning mail coming from that IP address"), Yandex ("Blocked by spam statistics"), Comcast BL000000 ("sent mail in patterns characteristic of spam")',
    /\b(?:received|receiving|generating|generated) (?:\w+ )?complaints\b|\bcomplaints (?:concerning|about|regarding|from (?:our )?users)\b|\bspam statistics\b|\bpatterns? characteristic of spam\b|\bBL000000\b/i,
  ),
  shared('yahoo.tss04', 'bad_reputation', W.exactPhrase),
  shared('microsoft.ip_reputation', 'bad_reputation', W.exactPhrase),
  shared('gmail.unsolicited_rate', 'bad_reputation', W.exactPhrase),

  // --- require_ptr -------------------------------------------------------------------------
  shared('generic.reverse_dns', 'require_ptr', W.exactPhrase),

  // --- rejected (envelope sender) ----------------------------------------------------------
  rule(
    'mimecast.envelope_blocked',
    'rejected',
    W.exactPhrase,
    'Mimecast SMTP error codes: "Administrative prohibition - envelope blocked" (the sender\'s address or domain is on a Blocked Senders policy)',
    /\benvelope blocked\b(?! - user)/i,
  ),
  shared('generic.sender_domain', 'rejected', W.exactPhrase),
  shared('exim.sender_blacklisted', 'rejected', W.exactPhrase + 0.02),
  shared('generic.from_domain_invalid', 'rejected', W.phrase),
  shared('qmail.sender_rejected', 'rejected', W.phrase),
  shared('googlegroups.no_permission', 'rejected', W.exactPhrase),

  // --- auth_failure ------------------------------------------------------------------------
  rule(
    'gmail.unauthenticated',
    'auth_failure',
    W.exactPhrase,
    'Gmail 5.7.26/4.7.26, Yahoo 5.7.9: "the sender is unauthenticated"',
    /sender is unauthenticated|unauthenticated email|(?:is|was) not (?:authenticated|signed) (?:with|by) (?:spf|dkim)|requires? all senders to authenticate/i,
  ),
  rule(
    'generic.dmarc',
    'auth_failure',
    W.exactPhrase,
    'DMARC policy rejections (RFC 7489): Gmail, Apple, Mail.ru, Microsoft',
    /\bdmarc\b/i,
  ),
  rule(
    'generic.spf',
    'auth_failure',
    W.exactPhrase,
    'SPF rejections (RFC 7208): "SPF check failed", "has an SPF record with a hard fail policy"',
    /\bspf\b(?! record (?:is )?(?:missing|found))|sender policy framework|not (?:a )?permitted sender|not designated|does not designate/i,
  ),
  rule(
    'generic.dkim',
    'auth_failure',
    W.exactPhrase,
    'DKIM rejections (RFC 6376/7372)',
    /\bdkim\b|domainkeys/i,
  ),
  rule(
    'microsoft.auth_level',
    'auth_failure',
    W.exactPhrase,
    'Microsoft 5.7.515: "sending domain doesn\'t meet the required authentication level"',
    /required authentication level|does not pass (?:dmarc|authentication)/i,
  ),

  rule(
    'generic.alignment',
    'auth_failure',
    W.exactPhrase + 0.02,
    'Gmail 4.7.32/5.7.32: "the From: header (RFC5322) in this message isn\'t aligned with either the authenticated SPF or DKIM organizational domain" (DMARC alignment, RFC 7489 §3.1; the header is named, the failure is authentication)',
    /\b(?:isn'?t|is not|not) aligned with\b|\b(?:dmarc |identifier )?alignment (?:fail(?:ed|ure)?|check failed)\b/i,
  ),

  // --- tls_required ------------------------------------------------------------------------
  rule(
    'generic.starttls',
    'tls_required',
    W.exactPhrase,
    'Postfix "Must issue a STARTTLS command first", RFC 3207, RFC 8689 REQUIRETLS',
    /must issue a starttls command first|starttls (?:is )?required|requires? (?:starttls|tls|encryption|an encrypted)|encryption (?:is )?required|tls (?:is )?required|requiretls|tls handshake failed|cannot start tls|starttls failed|ssl (?:handshake|routines)|wrong version number|no shared cipher|certificate (?:verify|verification) failed|(?:was not|wasn'?t|not) (?:sent|received|delivered) over (?:a |an )?(?:tls|secure|encrypted)\b|use tls\/ssl/i,
  ),

  // --- relaying_denied ---------------------------------------------------------------------
  shared('generic.relay_denied', 'relaying_denied', W.exactPhrase),

  // --- security_error ----------------------------------------------------------------------
  rule(
    'generic.credentials',
    'security_error',
    W.exactPhrase,
    'SMTP AUTH refusals: Gmail 535 5.7.8 "Username and Password not accepted", 535 5.7.1 "Application-specific password required", 550 5.7.1 "Invalid credentials for relay"',
    /\b(?:username and )?password (?:is )?(?:required|not accepted|incorrect|invalid)\b|\b(?:invalid|bad|wrong|incorrect) (?:credentials|password|username)\b|\bcredentials (?:are )?(?:invalid|not accepted|rejected)\b|\bunrecognized authentication type\b|\bno identity changes permitted\b/i,
  ),
  rule(
    'generic.sender_not_allowed_to_send',
    'security_error',
    W.exactPhrase,
    'A sender its own service will not let send: Microsoft 5.1.8 "Access denied, bad outbound sender", 5.7.750 "Client blocked from sending from unregistered domains", Mail.ru "message sending for this account is disabled", ZeptoMail 553 "Relaying disallowed as <address>"',
    /\bbad outbound sender\b|\b(?:client|account|user|sender|mailbox) (?:is |has been )?(?:blocked|restricted|suspended|disabled) from sending\b|\bsending (?:for|from) (?:this|your|the) account (?:is|has been) (?:disabled|blocked|suspended)\b|\b(?:relaying|sending) (?:disallowed|not allowed|not permitted) as\b/i,
  ),
  shared('generic.not_authorized', 'security_error', W.phrase),
  shared('generic.auth_required', 'security_error', W.exactPhrase + 0.01),

  // --- spam_detected -----------------------------------------------------------------------
  rule(
    'generic.content_judged_spam',
    'spam_detected',
    W.exactPhrase + 0.02,
    'Gmail 550 5.7.1 "this message is likely unsolicited mail" (the message judged, unlike the IP\'s "unusual rate of unsolicited mail"), Apple "rejected due to having a domain present in the Spamhaus DBL" (a domain in the content, not the sending IP)',
    /\bmessage is likely (?:unsolicited|spam)\b|\b(?:having|contains?|containing|with) (?:a |an )?(?:domain|url|link|uri)s? (?:\S+ ){0,2}(?:in|on) (?:the )?(?:\w+ )?(?:dbl|surbl|uribl|domain block ?list)\b/i,
  ),
  rule(
    'orange.ofr_506',
    'spam_detected',
    W.exactPhrase,
    'Orange/Wanadoo postmaster codes: "550 5.2.0 Mail rejete. Mail rejected. OFR_506" (refused by the anti-spam filter)',
    /\b(?:ofr|lpn)_?506\b/i,
  ),
  rule(
    'generic.spam',
    'spam_detected',
    W.exactPhrase,
    'Content filters: SpamAssassin, Barracuda, Proofpoint, Mimecast, Symantec, Gmail',
    /\bscored as spam\b|\bspam (?:message|content|detected|score|filter|suspected)\b|\bmessage (?:content )?(?:rejected|refused|blocked) as spam\b|\bidentified as spam\b|\bdetected as spam\b|\blooks like spam\b|\bjudged (?:to be )?spam\b|\bconsidered (?:as )?(?:spam|unsolicited)\b|\bclassified as spam\b|\bUBE\b|\bunsolicited (?:bulk )?(?:mail|e-?mail|commercial)\b|\bcontent (?:rejected|refused|filter)\b|\bmessage content rejected\b|\bbulk mail\b|\bspam\b(?!haus|cop|rats| trap)/i,
  ),

  // --- virus_detected ----------------------------------------------------------------------
  rule(
    'generic.virus',
    'virus_detected',
    W.exactPhrase + 0.01,
    'Anti-virus scanners (ClamAV, amavisd-new, vendors)',
    /\bvirus\b|\bmalware\b|\binfected\b|\bworm\b|\btrojan\b|\bdangerous attachment\b|\bbanned attachment\b|\bexecutable attachment\b/i,
  ),

  // --- not_compliant_rfc -------------------------------------------------------------------
  rule(
    'generic.rfc5322',
    'not_compliant_rfc',
    W.exactPhrase + 0.01,
    'Gmail "not RFC 5322 compliant", Microsoft 5.7.512',
    /rfc ?5322|rfc ?2822|rfc ?822 compliant|multiple (?:addresses in from|\w+ headers)|duplicate (?:header|from|date|message-id|subject)|missing (?:a )?(?:valid )?(?:from|date|message-id) header|(?:no|missing|invalid) (?:from|date|message-id) header|header (?:is )?(?:missing|malformed|invalid|duplicated)|(?:missing|without) (?:a )?valid address in (?:the )?(?:from|sender|to):? header|having no (?:from|date):? header/i,
  ),

  // --- content_error -----------------------------------------------------------------------
  rule(
    'generic.subject_required',
    'content_error',
    W.exactPhrase,
    'ZeptoMail "5.2.1 Subject is Mandatory" (a service\'s own rule: RFC 5322 makes Subject optional)',
    /\bsubject (?:header |line |field )?(?:is )?(?:mandatory|required)\b|\b(?:missing|empty|no) subject(?: header| line)?\b/i,
  ),
  rule(
    'generic.media_error',
    'content_error',
    W.phrase,
    'The RFC 3463 X.6.x texts: "Media error", "Media not supported", "Conversion required and prohibited"',
    /\bmedia (?:error|not supported)\b|\bconversion (?:required|failed|with loss)\b/i,
  ),
  rule(
    'generic.content',
    'content_error',
    W.phrase,
    'MIME and content refusals (bare LF, 8-bit, lines too long, forbidden types)',
    /\bbare (?:lf|line ?feeds?)\b|\blines? too long\b|\binvalid characters\b|\b8-?bit (?:data|content|characters)\b|\bmessage (?:headers? )?(?:is )?malformed\b|\bmalformed (?:message|mime|header)\b|\binvalid mime\b|\battachment (?:type )?(?:not allowed|rejected|blocked|forbidden)\b|\b(?:illegal|forbidden|prohibited|disallowed|unacceptable) (?:file )?(?:attachment|file type)s?\b|\bcontent[- ]type (?:not allowed|rejected)\b|\bheader (?:too long|size exceeds)\b|\bimproper use of 8-bit\b/i,
  ),

  // --- policy_violation --------------------------------------------------------------------
  rule(
    'generic.named_policy',
    'policy_violation',
    W.phrase,
    'Refusals by a named policy of the receiving site: Mimecast "Rejected by header based Anti-Spoofing policy"',
    /\b(?:rejected|refused|blocked|denied) by (?:[\w-]+ ){1,3}polic(?:y|ies)\b|\banti-?spoofing polic(?:y|ies)\b/i,
  ),
  rule(
    'generic.restricted_senders',
    'policy_violation',
    W.exactPhrase,
    'Delivery restrictions of groups and mailboxes: Microsoft 5.7.124 "Sender not in allowed-senders list"',
    /\bnot (?:in|on) (?:the )?allowed[- ]senders?(?: list)?\b|\bnot (?:allowed|permitted) to (?:send|post) to (?:this|the) (?:group|list|distribution list)\b/i,
  ),
  shared('gmail.security_issue', 'policy_violation', W.exactPhrase + 0.02),
  shared('yahoo.policy', 'policy_violation', W.exactPhrase),
  shared('generic.greylisting', 'policy_violation', W.exactPhrase, {
    summary:
      'This is greylisting (RFC 6647): the receiving server defers mail from a sender it has not seen before and accepts it when the sending server retries, usually after a few minutes.',
    steps: [
      'Nothing to do while your server is still retrying: the message is normally delivered at the next attempt after the greylisting delay.',
      'If it never gets through, make sure your server retries from the same IP address with the same envelope sender (a pool of changing sending IPs can keep failing greylisting), or ask the recipient’s postmaster to exempt your servers.',
    ],
  }),
  shared('generic.policy', 'policy_violation', W.phrase),

  // --- filtered ----------------------------------------------------------------------------
  rule(
    'mimecast.user_block',
    'filtered',
    W.exactPhrase,
    'Mimecast SMTP error codes: "Envelope blocked - User Entry" / "User Domain Entry" (the recipient blocked the sender or its domain)',
    /\benvelope blocked - user (?:domain )?entry\b/i,
  ),
  rule(
    'facebook.rcp_p2',
    'filtered',
    W.exactPhrase,
    'Facebook postmaster response codes (RCP-P2): "Refused due to recipient preferences"',
    /\bRCP-P2\b|recipient preferences/i,
  ),
  rule(
    'generic.filtered',
    'filtered',
    W.phrase,
    'Recipient-side filter refusals; Sieve reject (RFC 5429) as Pigeonhole words it: "Your message to <…> was automatically rejected"',
    /\bwas automatically rejected\b|\b(?:rejected|refused|blocked|discarded) by (?:the )?(?:recipient'?s?|user'?s?|content|header|mail)? ?(?:filter|rules?)\b|\bfiltered\b(?![\w.-]*@)|\bfilter(?:ing)? (?:rule|settings)\b|\brecipient (?:has )?(?:blocked|refused) (?:you|your|mail|messages|the sender)\b|\bsender (?:is )?blocked by (?:the )?recipient\b|\bblocked by (?:the )?(?:recipient|user)\b|\bdomain (?:is )?(?:blocked|rejected) by (?:the )?recipient\b/i,
  ),

  // --- suppressed --------------------------------------------------------------------------
  rule(
    'esp.suppression',
    'suppressed',
    W.exactPhrase,
    'Amazon SES, SendGrid, Mailgun, Postmark: suppression lists',
    /suppression list|suppressed|OnAccountSuppressionList|previously (?:bounced|marked as spam|unsubscribed)|address is on the (?:bounce|block|unsubscribe) list|has previously (?:caused|resulted in) a (?:hard )?bounce/i,
  ),

  // --- rate_limited ------------------------------------------------------------------------
  rule(
    'generic.counted_limits',
    'rate_limited',
    W.exactPhrase,
    'Limits named by what they count: Gmail "Peak SMTP relay limit exceeded", "Daily SMTP relay limit exceeded for user", Exchange 4.3.2 "recipient thread limit exceeded", Outlook.com RP-003 "exceeded the connection limit allowed", Apple "deferred due to excessive volume"',
    /\b(?:peak|daily|hourly|relay|thread|concurrency|session|connection|submission) (?:\w+ ){0,2}limit (?:exceeded|reached)\b|\bexceeded the (?:\w+ ){0,2}(?:rate|connection|session|sending|message|recipient|relay) limit\b|\bdeferred due to excessive (?:mail |message )?volume\b/i,
  ),
  shared('generic.rate', 'rate_limited', W.exactPhrase),

  // --- expired -----------------------------------------------------------------------------
  rule(
    'generic.queue_expired',
    'expired',
    W.phrase,
    'Queue lifetime expiry: Exim "retry timeout exceeded", sendmail "could not be delivered for N days", OpenSMTPD "Envelope expired", Microsoft 5.4.300',
    /retry (?:timeout|time) (?:exceeded|not reached)|(?:could not be delivered|cannot send message|has not been delivered|couldn'?t be delivered|was not delivered) (?:for|within|in) (?:the (?:last|past) )?\d+ (?:days?|hours?)|(?:message|envelope) (?:has )?expired|(?:queue|delivery) (?:lifetime|time) (?:exceeded|expired)|delivery time expired|maximum (?:queue|retry) time|have been failing for a long time|expired after|retry period (?:expired|exceeded)|undeliverable for \d+|could not find a gateway for/i,
  ),
  rule(
    'generic.gave_up',
    'expired',
    W.weakPhrase,
    'MTAs giving up without saying why: qmail "I\'m not going to try again; this message has been in the queue too long", "giving up"',
    /in the queue too long|too long in (?:the )?queue|gave up|giving up|i'?m not going to try again|no longer (?:be )?retr/i,
  ),

  // --- network_error -----------------------------------------------------------------------
  rule(
    'generic.loop',
    'network_error',
    W.exactPhrase,
    'Mail loops: qmail #5.4.6, Exim "Too many Received headers", Postfix "mail for … loops back to myself", Microsoft 5.4.14',
    /\bloop(?:s back| detected|ing)?\b|hop count exceeded|too many hops|too many "?received"? headers/i,
  ),
  rule(
    'generic.dns_temp',
    'network_error',
    W.phrase,
    'Temporary DNS failures: Postfix "Host not found, try again", "Name service error", Gmail "DNS Error"',
    /host not found, try again|name service error|dns (?:error|failure|lookup failed|timeout|temporary|problem)|temporary (?:dns|lookup) failure|servfail|malformed or unexpected name server reply|lookup of \S+ (?:failed|responded with code)|name server (?:failure|timeout)/i,
  ),
  rule(
    'generic.network',
    'network_error',
    W.phrase,
    'Network failures named as such: OpenSMTPD "Network error on destination MXs"',
    /\bnetwork (?:error|failure|problem)\b/i,
  ),
  rule(
    'haraka.tried_all_mx',
    'network_error',
    W.exactPhrase,
    'Haraka outbound: "Tried all MXs" when no MX host of the domain took a connection (its DSN pairs it with a misleading 5.1.2)',
    /\btried all mxs?\b/i,
  ),
  rule(
    'generic.connection',
    'network_error',
    W.phrase,
    'Connection failures: Postfix "connect to … Connection refused/timed out", qmail "wasn\'t able to establish an SMTP connection", Gmail "did not accept our requests to connect"',
    /connection (?:refused|timed out|reset|closed|lost|dropped)|lost connection|conversation with .{0,80} timed out|timed out while|timeout (?:waiting|exceeded|while)|could not connect|couldn'?t connect|unable to connect|cannot connect|failed to connect|(?:wasn'?t|was not) able to establish an smtp connection|did not accept our requests to connect|network (?:is )?(?:unreachable|down)|no route to host|host (?:is )?(?:unreachable|down|not reachable)|socket error|connection (?:attempt )?failed|read error|broken pipe|no answer from host|server (?:not responding|is not responding|did not respond)/i,
  ),

  // --- system_full / system_error / mailer_error ------------------------------------------
  rule(
    'generic.system_full',
    'system_full',
    W.exactPhrase,
    'Postfix/sendmail 452 4.3.1 "Insufficient system storage"',
    /insufficient system (?:storage|resources)|(?:disk|file ?system|partition|mail system) (?:is )?full|no space left on device|out of disk space/i,
  ),
  rule(
    'generic.mailer',
    'mailer_error',
    W.exactPhrase,
    'Local delivery agents: procmail, maildrop, pipes ("Command died with status", "unknown mailer error")',
    /\bprocmail\b|\bmaildrop\b|command (?:died|output|failed)|unknown mailer error|mailer error|\bX-Unix\b|\bpipe to (?:program|command)\b|local delivery (?:failed|error)|\bexit (?:code|status) \d+/i,
  ),
  rule(
    'generic.temporary',
    'system_error',
    W.weakPhrase - 0.05,
    'Vague temporary refusals: "Service unavailable", "try again later", "Requested action aborted"',
    /service (?:currently |temporarily )?unavailable|temporary (?:local )?(?:problem|failure|error)|try again later|requested action aborted|server (?:is )?(?:busy|overloaded)|resources temporarily unavailable/i,
  ),
  rule(
    'generic.system',
    'system_error',
    W.phrase,
    'Server-side faults: "Local error in processing", "System error", configuration errors',
    /local error in processing|(?:internal|system|server|configuration) (?:error|failure|problem)|mail system (?:error|problem)|unable to contact ldap|ldap (?:error|server)|could not load|misconfigur|processing error/i,
  ),

  // --- syntax_error ------------------------------------------------------------------------
  rule(
    'generic.syntax',
    'syntax_error',
    W.phrase,
    'RFC 5321 500/501 texts, Exim "malformed address"',
    /syntax error|malformed (?:address|command)|command (?:not )?(?:recognized|unrecognized|not implemented)|bad sequence of commands|invalid (?:command|argument|parameter)|unrecognized command|line too long|improper use of smtp command pipelining/i,
  ),
];

/** Every rule ID, for tests and documentation. */
export const PHRASE_RULE_IDS = PHRASE_RULES.map((r) => r.id);
