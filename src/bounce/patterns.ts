import type { Reason } from './model.js';
import { W } from './status-codes.js';

/**
 * Well-known phrases of receiving servers and MTAs, mapped to reasons: the reviewed
 * knowledge of the classifier, kept as data. Each row names where the phrase comes from
 * (the MTA's or provider's own documentation of its replies, or the stock text of an MTA),
 * so a reviewer can judge it and a new one is one line.
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
  /**
   * Further phrases made of two parts, the second later on the same line as the first
   * ("access denied" … "host"): the rule matches when `re` or one of these does. Kept out of
   * `re` because `first(?=.*then)` reads the rest of the line again at every `first`.
   */
  sameLine?: readonly SameLine[];
}

export interface SameLine {
  /** Global (flag g): it is searched line after line. */
  first: RegExp;
  then: RegExp;
}

/** Characters that end a line for `.` in a pattern. */
const LINE_END = /[\n\r\u2028\u2029]/g;

/** Whether `then` matches after a `first` on the same line (`first(?=.*then)`, in linear time). */
function onSameLine({ first, then }: SameLine, text: string): boolean {
  first.lastIndex = 0;
  for (let m = first.exec(text); m; m = first.exec(text)) {
    const from = m.index + m[0].length;
    LINE_END.lastIndex = from;
    const end = LINE_END.exec(text)?.index ?? text.length;
    // A later `first` on this line sees less of it: only the first one per line is tried.
    if (then.test(text.slice(from, end))) return true;
    first.lastIndex = end + 1;
  }
  return false;
}

/** Whether a rule's phrase is in the text. */
export function phraseMatches(rule: PhraseRule, text: string): boolean {
  return rule.re.test(text) || (rule.sameLine?.some((s) => onSameLine(s, text)) ?? false);
}

const rule = (
  id: string,
  reason: Reason,
  weight: number,
  source: string,
  re: RegExp,
  advice?: PhraseRule['advice'],
  sameLine?: readonly SameLine[],
): PhraseRule => ({
  id,
  reason,
  re,
  weight,
  source,
  ...(advice ? { advice } : {}),
  ...(sameLine ? { sameLine } : {}),
});

export const PHRASE_RULES: readonly PhraseRule[] = [
  // --- user_unknown ------------------------------------------------------------------------
  rule(
    'gmail.no_such_user',
    'user_unknown',
    W.exactPhrase,
    'Gmail SMTP error reference (5.1.1); Gmail NDR "the address couldn\'t be found"',
    /the email account that you tried to reach does not exist|because the address couldn'?t be found|\baddress not found\b/i,
  ),
  rule(
    'microsoft.recipient_not_found',
    'user_unknown',
    W.exactPhrase,
    'Exchange/Microsoft 365 NDR reference (5.1.1, 5.1.10)',
    /RESOLVER\.ADR\.Recip(?:ient)?NotFound|recipient not found by SMTP address lookup/i,
  ),
  rule(
    'microsoft.dbeb',
    'user_unknown',
    W.exactPhrase,
    'Microsoft 365 directory-based edge blocking (5.4.1)',
    /recipient address rejected: access denied\.? AS\(201806281\)/i,
  ),
  rule(
    'yahoo.no_account',
    'user_unknown',
    W.exactPhrase,
    'Yahoo delivery error text',
    /this user doesn'?t have an? [\w.-]+ account/i,
  ),
  rule(
    'postfix.unknown_in_table',
    'user_unknown',
    W.exactPhrase,
    'Postfix: local_recipient_maps / virtual tables',
    /user unknown in (?:local recipient|virtual (?:mailbox|alias)|relay recipient) table/i,
  ),
  rule(
    'qmail.no_mailbox',
    'user_unknown',
    W.exactPhrase,
    'qmail: qmail-local / qmail-smtpd',
    /no mailbox here by that name/i,
  ),
  rule(
    'exchange.unknown_recipient',
    'user_unknown',
    W.phrase,
    'Exchange 2003/2007 NDR texts',
    /the recipient name is not recognized|the e-?mail account does not exist at the organization|unknown recipient|recipient not found|recip(?:ient)?notfound/i,
  ),
  rule(
    'generic.user_unknown',
    'user_unknown',
    W.phrase,
    'Stock texts of sendmail, Postfix, Exim, Courier and most servers',
    /\b(?:user|mailbox|recipient|address|account|addressee)(?: name)? (?:is )?(?:unknown|not found|not known|does not exist|doesn'?t exist|not exist|invalid|unavailable)\b|\bunknown (?:user|recipient|mailbox|local[- ]part|address|account)\b|\bno such (?:user|mailbox|recipient|account|address|person)\b|\binvalid (?:recipient|mailbox|user|address)\b|\bno (?:user|mailbox|account) (?:by that name|here)\b/i,
  ),
  rule(
    'trendmicro.check_address',
    'user_unknown',
    W.phrase,
    'Trend Micro InterScan (IMSS): "Unable to deliver message to <\u2026>. Please check if address is correct."',
    /please check if (?:the )?(?:e-?mail )?address is correct/i,
  ),
  rule(
    'generic.not_our_user',
    'user_unknown',
    W.weakPhrase,
    'Mailbox-unavailable wordings',
    /\bmailbox (?:unavailable|not available)\b|(?<!sender )\b(?:recipient address|recipient|address) rejected\b(?!: (?:access denied|gr[ae]ylist|relay|delivery not authori[sz]ed))|\bnot a valid (?:recipient|mailbox|user)\b|\bdoes not have an? (?:account|mailbox)\b|\bis not a known user\b|\bthere is no one at this address\b/i,
  ),
  rule(
    'generic.inactive_address',
    'user_unknown',
    W.phrase,
    'Apple iCloud and others: address no longer in use',
    /\binactive (?:e-?mail )?address\b|\baddress (?:is )?no longer (?:in use|active|valid)\b|\bno longer (?:a valid|available)\b/i,
  ),
  rule(
    'facebook.rcp_p1',
    'user_unknown',
    W.exactPhrase,
    'Facebook postmaster response codes (RCP-P1)',
    /\bRCP-P1\b/,
  ),
  rule(
    'domino.not_listed',
    'user_unknown',
    W.phrase,
    'Lotus Domino: user not listed in the directory',
    /(?:not listed in|was not found in) (?:the )?(?:public )?(?:domino )?(?:name (?:and|&) address book|directory)/i,
  ),

  // --- host_unknown ------------------------------------------------------------------------
  rule(
    'postfix.host_not_found',
    'host_unknown',
    W.exactPhrase,
    'Postfix: "Host or domain name not found"',
    /host or domain name not found|name service error for name=\S+ type=\w+: host not found(?!, try again)/i,
  ),
  rule(
    'qmail.no_host',
    'host_unknown',
    W.exactPhrase,
    'qmail: "Sorry, I couldn\'t find any host named/by that name (#5.1.2)"',
    /couldn'?t find any host (?:named|by that name)/i,
  ),
  rule(
    'exim.unrouteable',
    'host_unknown',
    W.exactPhrase,
    'Exim: "Unrouteable address", "all relevant MX records point to non-existent hosts"',
    /\bunrouteable address\b|all relevant mx records point to non-?existent hosts|mail domain (?:has no|does not have) (?:mx|mail exchanger)/i,
  ),
  rule(
    'sendmail.host_unknown',
    'host_unknown',
    W.phrase,
    'sendmail: "Host unknown (Name server: host not found)"',
    /\bhost unknown\b|\bunknown host\b|\bdomain (?:name )?not found\b|\bno such domain\b|\bdomain (?:does not|doesn'?t) exist\b|\bunknown (?:mail )?domain\b|\binvalid domain\b|\bnxdomain\b|\bdomain .{0,60}couldn'?t be found\b/i,
  ),
  rule(
    'opensmtpd.no_mx',
    'not_accept',
    W.phrase,
    'OpenSMTPD: "Domain not found", "no MX found for domain"',
    /\bno (?:mx|mail exchanger)(?: (?:record|host)s?)? (?:found|for)\b/i,
  ),

  // --- not_accept --------------------------------------------------------------------------
  rule(
    'cpanel.may_not_exist',
    'host_unknown',
    W.exactPhrase + 0.02,
    'cPanel/Exim stock text: "The account or domain may not exist, they may be blacklisted, or missing the proper dns entries"',
    /the account or domain may not exist/i,
  ),
  rule(
    'generic.hostname_does_not_exist',
    'host_unknown',
    W.phrase,
    'A host or domain name said not to exist (sendmail, Exim relays)',
    /(?<![@\w.-])(?:[a-z0-9-]+\.)+[a-z]{2,}\.? (?:does not exist|doesn'?t exist|not found)\b/i,
  ),
  rule(
    'rfc7505.null_mx',
    'not_accept',
    W.exactPhrase,
    'RFC 7505 null MX',
    /\bnull mx\b|does not accept (?:e-?)?mail|domain (?:does not|doesn'?t) (?:accept|receive) (?:e-?)?mail|host\/domain does not accept mail/i,
  ),
  rule(
    'qmail.no_mx_or_ip',
    'not_accept',
    W.phrase,
    'qmail: "Sorry, I couldn\'t find a mail exchanger or IP address (#5.4.4)"',
    /couldn'?t find a mail exchanger or ip address/i,
  ),

  // --- has_moved ---------------------------------------------------------------------------
  rule(
    'generic.has_moved',
    'has_moved',
    W.phrase,
    'RFC 5321 551 "User not local; please try <forward-path>"',
    /\buser not local\b|\bnot our (?:user|customer)\b|\bhas moved\b|\bno longer (?:at|with) this (?:address|company|organi[sz]ation)\b|\bmailbox has (?:been )?moved\b/i,
  ),

  // --- mailbox_full ------------------------------------------------------------------------
  rule(
    'gmail.over_quota',
    'mailbox_full',
    W.exactPhrase,
    'Gmail: "The email account that you tried to reach is over quota" / "inbox is out of storage space"',
    /is over quota|out of storage space|OverQuota(?:Perm|Temp)/i,
  ),
  rule(
    'generic.mailbox_full',
    'mailbox_full',
    W.phrase,
    'Stock texts of most servers (sendmail, Postfix, Exim, Dovecot, qmail)',
    /\bmail ?box (?:is )?(?:full|over (?:quota|capacity|limit))\b|\bover ?quota\b|\bquota (?:exceeded|exceeds|full|limit)\b|\b(?:exceeded|exceeds|exceed) (?:its |the |his |her )?(?:storage |mailbox |disk )?quota\b|\binsufficient (?:disk )?(?:space|storage) (?:in|for) (?:the )?(?:user'?s? )?mailbox\b|\bmailfolder is over the allowed quota\b|\bfull mailbox\b|\bmailbox size limit exceeded\b|\bno space left in (?:the )?mailbox\b|\buser'?s? (?:disk )?quota\b/i,
  ),

  // --- suspended ---------------------------------------------------------------------------
  rule(
    'gmail.disabled',
    'suspended',
    W.exactPhrase,
    'Gmail: "The email account that you tried to reach is disabled"',
    /the (?:e-?mail )?account that you tried to reach is (?:disabled|inactive)/i,
  ),
  rule(
    'generic.suspended',
    'suspended',
    W.phrase,
    'Stock texts: disabled, suspended, locked, frozen accounts',
    /\b(?:account|mailbox|user|address|recipient) (?:has been |is |was )?(?:temporar(?:il)?y )?(?:disabled|suspended|deactivated|inactive|locked|frozen|blocked|closed|discontinued|expired|not active)\b|\b(?:user|account|mailbox|address)\b.{0,60}\btemporar(?:il)?y (?:locked|disabled|suspended|blocked)\b|\bdisabled (?:recipient|mailbox|account|user)\b|\b(?:account|mailbox) (?:disabled|suspended|locked|frozen)\b|\bmailbox disabled for this recipient\b|\bhas been disabled or discontinued\b|\bvdelivermail: account is locked\b/i,
  ),

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
    /\bmessage (?:size )?(?:is )?too (?:large|big)\b|\bmessage size exceeds\b|\bsize (?:exceeds|exceeded) (?:the )?(?:fixed |maximum |message )?(?:limit|maximum|size)\b|\bexceeded .{0,30}message size limits?\b|\bmessage (?:length|size) exceeds\b|\bmessage exceeds (?:the )?(?:maximum|fixed|size)\b|\btoo much mail data\b|\bmail size limit exceeded\b|\bmessage is larger than\b/i,
  ),

  // --- blocked (sending IP / host refused) ------------------------------------------------
  rule(
    'dnsbl.named',
    'blocked',
    W.exactPhrase,
    'DNSBL operators named in rejections (Spamhaus, SpamCop, Barracuda, SORBS, CBL, UCEPROTECT, PSBL…)',
    /\bspamhaus\b|\bspamcop\b|\bbarracuda ?central\b|\bbarracuda reputation\b|\bb\.barracudacentral\.org\b|\bsorbs\b|\bcbl\.abuseat\.org\b|\babuseat\b|\buceprotect\b|\bpsbl\b|\bmailspike\b|\bivmspam\b|\bspamrats\b|\bdnsbl\b|\brbl\b|\bblocked using\b|\bblacklisted\b|\bblocklisted\b|\bblock ?list(?:ed)?\b|\bblack ?list(?:ed)?\b|\bAUP#\w*(?:RBL|BL)\b|\blisted (?:at|on|in) \S+\.(?:org|net|com)\b/i,
    undefined,
    [{ first: /\bsenderscore /gi, then: /block/i }],
  ),
  rule(
    'microsoft.banned_ip',
    'blocked',
    W.exactPhrase,
    'Microsoft: "Access denied, banned sending IP" (5.7.606–649)',
    /banned sending ip|part of their network is on our block list|\(S3150\)|\(S3140\)/i,
  ),
  rule(
    'yahoo.permanently_deferred',
    'blocked',
    W.exactPhrase,
    'Yahoo: [TSS09]/[TS03] "All messages from … will be permanently deferred"',
    /\[TSS?0?3\]|\[TSS09\]|will be permanently deferred|\[BL2[0-9]\]/i,
  ),
  rule(
    'generic.client_rejected',
    'blocked',
    W.phrase,
    'Postfix "Client host rejected: Access denied", sendmail "Access denied", dynamic-IP refusals',
    /client host (?:\[[^\][]*\] )?(?:rejected|blocked)(?!: cannot find your (?:reverse )?hostname)|\bconnection (?:refused|rejected|denied) (?:from|for) (?:ip|host|your)|\bnot accepting connections\b|\bdynamic(?:ally assigned)? ip\b|\bdial-?up\b|\bresidential ip\b|\buse the smtp server of your isp\b|\buse your (?:isp|provider)'?s? (?:smtp|mail|relay)\b|\bsmtp relay at your service provider\b|\bnot authorized to send email directly\b|\bip (?:address )?(?:is |has been )?(?:blocked|banned|rejected|refused|denied)\b|\bblocked (?:ip|host|address)\b|\byour (?:ip|host|server|network)(?: address)? (?:is |has been |was )?(?:blocked|banned|rejected|refused|not allowed)\b|\bhost (?:is )?(?:blocked|banned)\b|\bno access from mail server\b|\bopen relay\b/i,
    undefined,
    [{ first: /\baccess denied\b/gi, then: /\b(?:ip|host|client|server|connect)\b/i }],
  ),
  rule(
    'microsoft.ipv6_or_partner',
    'blocked',
    W.phrase,
    'Microsoft 5.7.510/5.7.513',
    /does not accept email over ipv6|blocked by .{0,40}'?s? partner/i,
  ),

  // --- bad_reputation -----------------------------------------------------------------------
  rule(
    'yahoo.tss04',
    'bad_reputation',
    W.exactPhrase,
    'Yahoo: [TSS04] "temporarily deferred due to unexpected volume or user complaints"',
    /\[TSS0?4\]|\[TS0?[12]\]|deferred due to (?:unexpected volume or )?user complaints/i,
  ),
  rule(
    'microsoft.ip_reputation',
    'bad_reputation',
    W.exactPhrase,
    'Microsoft: "temporarily rate limited due to IP reputation" (4.7.650)',
    /due to ip reputation|poor reputation|low reputation|bad reputation|reputation (?:of|for) (?:the|your|this) (?:sending )?(?:ip|domain)|sender reputation|reputation (?:is )?too low/i,
  ),
  rule(
    'gmail.unsolicited_rate',
    'bad_reputation',
    W.exactPhrase,
    'Gmail: "unusual rate of unsolicited mail originating from your IP address"',
    /unusual rate of unsolicited mail|suspicious due to the very low reputation|is likely unsolicited mail/i,
  ),

  // --- require_ptr -------------------------------------------------------------------------
  rule(
    'generic.reverse_dns',
    'require_ptr',
    W.exactPhrase,
    'Postfix "cannot find your reverse hostname", Gmail 5.7.25, Comcast/GMX/Exim PTR rules',
    /reverse (?:dns|hostname|lookup|address|name|mapping)|rev(?:erse)?-?dns|\bptr\b(?: record| resource record| lookup)?|cannot find your hostname|cannot resolve your address|no (?:ptr|reverse)|reverse dns (?:entry|record)|\bc=rdns\b|hostname (?:of|for) your (?:ip|address|server) (?:does not|doesn'?t) (?:exist|resolve|match)|IP name lookup failed|without a valid sender domain/i,
  ),

  // --- rejected (envelope sender) ----------------------------------------------------------
  rule(
    'generic.sender_domain',
    'rejected',
    W.exactPhrase,
    'sendmail "Domain of sender address … does not exist", Postfix "Sender address rejected: Domain not found"',
    /domain of sender address .{0,80}(?:does not exist|does not resolve)|sender address rejected|sender domain (?:must exist|does not exist|not found|unknown)|sender (?:address )?(?:is )?(?:invalid|not allowed|rejected|refused|denied|unknown)|bad sender|invalid sender|sender verify failed|sender verification failed|unroutable sender|unverified sender|sender (?:was|is) rejected|need fully-qualified address|(?:from|sender) (?:address )?(?:is )?blacklisted|sending to\/from an address that has been blacklisted|envelope sender|return-?path (?:is )?invalid/i,
  ),
  rule(
    'exim.sender_blacklisted',
    'rejected',
    W.exactPhrase + 0.02,
    'Exim ACL stock text for a listed envelope address: "you are sending to/from an address that has been blacklisted"',
    /sending to\/from an address that has been blacklisted|(?:sender|from) address (?:is |has been )?(?:black|block)listed/i,
  ),
  rule(
    'generic.from_domain_invalid',
    'rejected',
    W.phrase,
    'Refusals of the sender domain after DATA ("From: Domain is invalid")',
    /from:? (?:domain|address) (?:is )?(?:invalid|not valid|unknown)|(?:sender|from) domain (?:is )?(?:invalid|not valid|unknown)/i,
  ),
  rule(
    'qmail.sender_rejected',
    'rejected',
    W.phrase,
    'qmail: "Connected to … but sender was rejected"',
    /but sender was rejected/i,
  ),
  rule(
    'googlegroups.no_permission',
    'rejected',
    W.exactPhrase,
    'Google Groups: "the group you tried to contact may not exist, or you may not have permission to post" (every language links groups.google.com/support)',
    /you (?:do not|don'?t|may not) have permission to post|not allowed to post to this group|only members can post|group .{0,60}(?:may not exist|does not exist)|groups\.google\.com\/support/i,
  ),

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

  // --- tls_required ------------------------------------------------------------------------
  rule(
    'generic.starttls',
    'tls_required',
    W.exactPhrase,
    'Postfix "Must issue a STARTTLS command first", RFC 3207, RFC 8689 REQUIRETLS',
    /must issue a starttls command first|starttls (?:is )?required|requires? (?:starttls|tls|encryption|an encrypted)|encryption (?:is )?required|tls (?:is )?required|requiretls|tls handshake failed|cannot start tls|starttls failed|ssl (?:handshake|routines)|wrong version number|no shared cipher|certificate (?:verify|verification) failed/i,
  ),

  // --- relaying_denied ---------------------------------------------------------------------
  rule(
    'generic.relay_denied',
    'relaying_denied',
    W.exactPhrase,
    'Postfix "Relay access denied", sendmail "Relaying denied", Exchange 5.7.54/5.7.64',
    /relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed|refused)|unable to relay|not permitted to relay|we do not relay|relaying (?:is )?(?:denied|not allowed)|no relaying|cannot relay|relay not permitted|TenantAttribution/i,
  ),

  // --- security_error ----------------------------------------------------------------------
  rule(
    'generic.not_authorized',
    'security_error',
    W.phrase,
    'Postfix/sendmail access maps: "Recipient address rejected: Delivery not authorized" (the RFC 3463 X.7.1 text)',
    /delivery not authori[sz]ed/i,
  ),
  rule(
    'generic.auth_required',
    'security_error',
    W.exactPhrase + 0.01,
    'RFC 4954 530/535, Microsoft 5.7.57, Symantec "Please turn on SMTP Authentication"',
    /authentication (?:is )?required|turn on smtp authentication|smtp auth(?:entication)? (?:is )?required|unauthenticated senders? (?:not allowed|are not allowed)|not authenticated to send anonymous mail|authentication (?:credentials )?(?:invalid|failed)|client was not authenticated|sender is not authenticated/i,
  ),

  // --- spam_detected -----------------------------------------------------------------------
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
    /rfc ?5322|rfc ?2822|rfc ?822 compliant|multiple (?:addresses in from|\w+ headers)|duplicate (?:header|from|date|message-id|subject)|missing (?:a )?(?:valid )?(?:from|date|message-id) header|(?:no|missing|invalid) (?:from|date|message-id) header|header (?:is )?(?:missing|malformed|invalid|duplicated)/i,
  ),

  // --- content_error -----------------------------------------------------------------------
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
    /\bbare (?:lf|line ?feeds?)\b|\blines? too long\b|\binvalid characters\b|\b8-?bit (?:data|content|characters)\b|\bmessage (?:headers? )?(?:is )?malformed\b|\bmalformed (?:message|mime|header)\b|\binvalid mime\b|\battachment (?:type )?(?:not allowed|rejected|blocked|forbidden)\b|\bcontent[- ]type (?:not allowed|rejected)\b|\bheader (?:too long|size exceeds)\b|\bimproper use of 8-bit\b/i,
  ),

  // --- policy_violation --------------------------------------------------------------------
  rule(
    'gmail.security_issue',
    'policy_violation',
    W.exactPhrase + 0.02,
    'Gmail 552 5.7.0: "This message was blocked because its content presents a potential security issue"',
    /content presents a potential security issue/i,
  ),
  rule(
    'yahoo.policy',
    'policy_violation',
    W.exactPhrase,
    'Yahoo: 554 5.7.9 "Message not accepted for policy reasons"',
    /not accepted for policy reasons|\[PH01\]/i,
  ),
  rule(
    'generic.greylisting',
    'policy_violation',
    W.exactPhrase,
    'Greylisting replies (RFC 6647): Postgrey "Greylisted, see https://postgrey…", Exim/Rspamd/milter-greylist "greylisted, try again later", "Greylisting in action"',
    /\bgr[ae]y-?list(?:ed|ing)?\b/i,
    {
      summary:
        'This is greylisting (RFC 6647): the receiving server defers mail from a sender it has not seen before and accepts it when the sending server retries, usually after a few minutes.',
      steps: [
        'Nothing to do while your server is still retrying: the message is normally delivered at the next attempt after the greylisting delay.',
        'If it never gets through, make sure your server retries from the same IP address with the same envelope sender (a pool of changing sending IPs can keep failing greylisting), or ask the recipient’s postmaster to exempt your servers.',
      ],
    },
  ),
  rule(
    'generic.policy',
    'policy_violation',
    W.phrase,
    'Generic policy refusals',
    /\b(?:denied|rejected|refused|blocked|prohibited) (?:by|due to|for) (?:local |our |the |site |administrative |security )?polic(?:y|ies)\b|\bpolicy (?:violation|reasons|rejection|restriction)\b|\bviolat(?:es|ion of) (?:our |the )?polic|\bagainst (?:our )?policy\b|\bprohibited by administrator\b|\bnot allowed by (?:local )?policy\b|\bdoes not comply with (?:our |the )?polic/i,
  ),

  // --- filtered ----------------------------------------------------------------------------
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
    'Recipient-side filter refusals',
    /\b(?:rejected|refused|blocked|discarded) by (?:the )?(?:recipient'?s?|user'?s?|content|header|mail)? ?(?:filter|rules?)\b|\bfiltered\b(?![\w.-]*@)|\bfilter(?:ing)? (?:rule|settings)\b|\brecipient (?:has )?(?:blocked|refused) (?:you|your|mail|messages|the sender)\b|\bsender (?:is )?blocked by (?:the )?recipient\b|\bblocked by (?:the )?(?:recipient|user)\b|\bdomain (?:is )?(?:blocked|rejected) by (?:the )?recipient\b/i,
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
    'generic.rate',
    'rate_limited',
    W.exactPhrase,
    'Rate limits: Gmail 4.2.1/4.5.3/5.4.5, GoDaddy IB607, QQ "frequency limited", Postfix "too many connections"',
    /too many (?:recipients|connections|messages|mails|emails|sessions|concurrent|errors)|rate limit(?:ed|ing)?|receiving (?:mail|email|messages) (?:too quickly|at a rate)|\bfrequency limit|(?:sending|daily|hourly|rate|connection|recipient|message rate) (?:quota|limit) (?:exceeded|reached)|exceeded (?:the )?(?:sending|daily|hourly|maximum) (?:quota|limit|number)|sent to too many recipients|too fast|throttl(?:ed|ing)|slow down|max(?:imum)? (?:message|messages|connections|recipients) per|too much (?:mail|traffic)|try again later.{0,40}too many/i,
  ),

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
    'generic.connection',
    'network_error',
    W.phrase,
    'Connection failures: Postfix "connect to … Connection refused/timed out", qmail "wasn\'t able to establish an SMTP connection", Gmail "did not accept our requests to connect"',
    /connection (?:refused|timed out|reset|closed|lost|dropped)|lost connection|conversation with .{0,80} timed out|timed out while|timeout (?:waiting|exceeded|while)|could not connect|couldn'?t connect|unable to connect|cannot connect|failed to connect|(?:wasn'?t|was not) able to establish an smtp connection|did not accept our requests to connect|network (?:is )?unreachable|no route to host|host (?:is )?(?:unreachable|down|not reachable)|socket error|connection (?:attempt )?failed|read error|broken pipe|no answer from host|server (?:not responding|is not responding|did not respond)/i,
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
