/**
 * What the text of an SMTP reply says, in families of wording: one table for both readers of
 * replies — recipient verification (src/smtp/classify.ts: the probe's RCPT TO) and bounce
 * diagnosis (src/bounce/patterns.ts: the reasons of a non-delivery report) — so the same text
 * means the same thing to both. A family is a meaning ("the mailbox does not exist", "the
 * sending IP is on a blocklist"); each phrase names where its wording comes from (an MTA's
 * stock text, a provider's documented reply), so a reviewer can judge it and a new one is one
 * entry. What each reader concludes from a family is its own business: the probe asks whether
 * a refusal is about the recipient or about itself; the bounce classifier weighs the phrase
 * against the status codes (the weights are in src/bounce/patterns.ts).
 *
 * Patterns run case-insensitively over the reply text with whitespace collapsed; every one is
 * checked for linear matching time by test/unit/redos.test.ts.
 *
 * One table: the phrases are data, listed family by family.
 */
import { LiteralScanner, anyOf, compileRequirement, holds, requirement, triggers } from './literals.js';
import type { Requirement } from './literals.js';
import { REQUIREMENTS, literalsKey } from './literals-table.js';

export type WordingFamily =
  /** The mailbox does not exist (user unknown, no such recipient, invalid address). */
  | 'mailbox_unknown'
  /** The recipient's domain does not exist or names no mail host. */
  | 'domain_unknown'
  /** The domain says it takes no mail (RFC 7505 null MX, no mail exchanger). */
  | 'domain_refuses_mail'
  /** The mailbox has moved (RFC 5321 551 "user not local"). */
  | 'mailbox_moved'
  /** The mailbox is full or over quota. */
  | 'mailbox_full'
  /** The mailbox or account is disabled, suspended, locked. */
  | 'mailbox_disabled'
  /** Greylisting (RFC 6647): a deferral of a sender not seen before. */
  | 'greylisted'
  /** A deferral that asks the client to come back later, without saying why. */
  | 'retry_later'
  /** The server does not relay for this recipient. */
  | 'relay_denied'
  /** The sending IP is on a blocklist (a DNSBL, a provider's list). */
  | 'blocklisted'
  /** The sending host or IP is refused for what it is (dynamic IP, client host rejected). */
  | 'client_refused'
  /** The sending IP or domain has a poor reputation. */
  | 'reputation'
  /** The sending IP has no or no matching reverse DNS. */
  | 'reverse_dns'
  /** The client's HELO/EHLO name is refused. */
  | 'helo_refused'
  /** The envelope sender is refused (unknown domain, failed verification, listed address). */
  | 'sender_refused'
  /** The client is not authorised (authentication required, delivery not authorised). */
  | 'not_authorized'
  /** Too many connections, messages or recipients: a rate limit. */
  | 'rate_limited'
  /** A refusal for policy reasons. */
  | 'policy'
  /** Words that name the sending side of the conversation without saying more ("client host", "your IP", "access denied", "banned"). */
  | 'names_sender';

/** A phrase whose second part comes later on the same line as its first ("access denied" … "host"). */
export interface SameLine {
  /** Global (flag g): it is searched line after line. */
  first: RegExp;
  then: RegExp;
}

export interface WordingPhrase {
  /** Stable ID (the bounce classifier reports it as evidence: "phrase:<id>"). */
  id: string;
  family: WordingFamily;
  /** Where the wording comes from. */
  source: string;
  re: RegExp;
  /**
   * Further two-part phrases: the phrase matches when `re` or one of these does. Kept out of
   * `re` because `first(?=.*then)` reads the rest of the line again at every `first`.
   */
  sameLine?: readonly SameLine[];
}

export const WORDING: readonly WordingPhrase[] = [
  {
    id: 'gmail.no_such_user',
    family: 'mailbox_unknown',
    source: 'Gmail SMTP error reference (5.1.1); Gmail NDR "the address couldn\'t be found"',
    re: /the email account that you tried to reach does not exist|because the address couldn'?t be found|\baddress not found\b/i,
  },
  {
    id: 'microsoft.recipient_not_found',
    family: 'mailbox_unknown',
    source: 'Exchange/Microsoft 365 NDR reference (5.1.1, 5.1.10)',
    re: /RESOLVER\.ADR\.Recip(?:ient)?NotFound|recipient not found by SMTP address lookup/i,
  },
  {
    id: 'microsoft.dbeb',
    family: 'mailbox_unknown',
    source: 'Microsoft 365 directory-based edge blocking (5.4.1)',
    re: /recipient address rejected: access denied\.? AS\(201806281\)/i,
  },
  {
    id: 'yahoo.no_account',
    family: 'mailbox_unknown',
    source: 'Yahoo delivery error text',
    re: /this user doesn'?t have an? [\w.-]+ account/i,
  },
  {
    id: 'postfix.unknown_in_table',
    family: 'mailbox_unknown',
    source: 'Postfix: local_recipient_maps / virtual tables',
    re: /user unknown in (?:local recipient|virtual (?:mailbox|alias)|relay recipient) table/i,
  },
  {
    id: 'qmail.no_mailbox',
    family: 'mailbox_unknown',
    source: 'qmail: qmail-local / qmail-smtpd',
    re: /no mailbox here by that name/i,
  },
  {
    id: 'exchange.unknown_recipient',
    family: 'mailbox_unknown',
    source: 'Exchange 2003/2007 NDR texts',
    re: /the recipient name is not recognized|the e-?mail account does not exist at the organization|unknown recipient|recipient not found|recip(?:ient)?notfound/i,
  },
  {
    id: 'generic.user_unknown',
    family: 'mailbox_unknown',
    source: 'Stock texts of sendmail, Postfix, Exim, Courier and most servers',
    re: /\b(?:user|mailbox|recipient|address|account|addressee)(?: name)? (?:is )?(?:unknown|not found|not known|does not exist|doesn'?t exist|not exist|invalid|unavailable)\b|\bunknown (?:user|recipient|mailbox|local[- ]part|address|account)\b|\bno such (?:user|mailbox|recipient|account|address|person)\b|\binvalid (?:recipient|mailbox|user|address)\b|\bno (?:user|mailbox|account) (?:by that name|here)\b/i,
  },
  {
    id: 'generic.check_address',
    family: 'mailbox_unknown',
    source:
      'Advice to check the address, given when it was not found: Trend Micro InterScan "Please check if address is correct", Microsoft 365 "Check for typos or unnecessary spaces", Gmail "double-check the recipient\'s address"',
    re: /\bplease check (?:if|that) (?:the )?(?:e-?mail )?address is (?:correct|valid|spelled correctly)\b|\bcheck for typos\b|\bdouble-check the (?:recipient'?s? )?(?:e-?mail )?address\b|\bcheck the (?:recipient'?s? )?(?:e-?mail )?address (?:for (?:typos|errors)|and try again)\b/i,
  },
  {
    id: 'generic.not_our_user',
    family: 'mailbox_unknown',
    source: 'Mailbox-unavailable wordings',
    re: /\bmailbox (?:unavailable|not available)\b|(?<!sender )\b(?:recipient address|recipient|address) rejected\b(?!: (?:access denied|gr[ae]ylist|relay|delivery not authori[sz]ed))|\bnot a valid (?:recipient|mailbox|user)\b|\bdoes not have an? (?:account|mailbox)\b|\bis not a known user\b|\bthere is no one at this address\b/i,
  },
  {
    id: 'generic.inactive_address',
    family: 'mailbox_unknown',
    source: 'Apple iCloud and others: address no longer in use',
    re: /\binactive (?:e-?mail )?address\b|\baddress (?:is )?no longer (?:in use|active|valid)\b|\bno longer (?:a valid|available)\b/i,
  },
  {
    id: 'facebook.rcp_p1',
    family: 'mailbox_unknown',
    source: 'Facebook postmaster response codes (RCP-P1)',
    re: /\bRCP-P1\b/,
  },
  {
    id: 'domino.not_listed',
    family: 'mailbox_unknown',
    source: 'Lotus Domino: user not listed in the directory',
    re: /(?:not listed in|was not found in) (?:the )?(?:public )?(?:domino )?(?:name (?:and|&) address book|directory)/i,
  },
  {
    id: 'postfix.host_not_found',
    family: 'domain_unknown',
    source: 'Postfix: "Host or domain name not found"',
    re: /host or domain name not found|name service error for name=\S+ type=\w+: host not found(?!, try again)/i,
  },
  {
    id: 'qmail.no_host',
    family: 'domain_unknown',
    source: 'qmail: "Sorry, I couldn\'t find any host named/by that name (#5.1.2)"',
    re: /couldn'?t find any host (?:named|by that name)/i,
  },
  {
    id: 'exim.unrouteable',
    family: 'domain_unknown',
    source: 'Exim: "Unrouteable address", "all relevant MX records point to non-existent hosts"',
    re: /\bunrouteable address\b|all relevant mx records point to non-?existent hosts|mail domain (?:has no|does not have) (?:mx|mail exchanger)/i,
  },
  {
    id: 'sendmail.host_unknown',
    family: 'domain_unknown',
    source: 'sendmail: "Host unknown (Name server: host not found)"',
    re: /\bhost unknown\b|\bunknown host\b|\bdomain (?:name )?not found\b|\bno such domain\b|\bdomain (?:does not|doesn'?t) exist\b|\bunknown (?:mail )?domain\b|\binvalid domain\b|\bnxdomain\b|\bdomain .{0,60}couldn'?t be found\b/i,
  },
  {
    id: 'generic.no_mx',
    family: 'domain_refuses_mail',
    source:
      'No mail exchanger for the domain: OpenSMTPD "no MX found for domain", qmail "Sorry, I couldn\'t find a mail exchanger or IP address (#5.4.4)", "No MX record found for domain=…"',
    re: /\bno (?:mx|mail exchanger)(?: (?:record|host)s?)? (?:found|for)\b|\b(?:couldn'?t|could not|cannot|can'?t|unable to) find (?:a |an |any )?(?:mail exchanger|mx)(?: (?:record|host)s?)?\b/i,
  },
  {
    id: 'cpanel.may_not_exist',
    family: 'domain_unknown',
    source:
      'cPanel/Exim stock text: "The account or domain may not exist, they may be blacklisted, or missing the proper dns entries"',
    re: /the account or domain may not exist/i,
  },
  {
    id: 'generic.hostname_does_not_exist',
    family: 'domain_unknown',
    source: 'A host or domain name said not to exist (sendmail, Exim relays)',
    re: /(?<![@\w.-])(?:[a-z0-9-]+\.)+[a-z]{2,}\.? (?:does not exist|doesn'?t exist|not found)\b/i,
  },
  {
    id: 'rfc7505.null_mx',
    family: 'domain_refuses_mail',
    source: 'RFC 7505 null MX',
    re: /\bnull mx\b|does not accept (?:e-?)?mail|domain (?:does not|doesn'?t) (?:accept|receive) (?:e-?)?mail|host\/domain does not accept mail/i,
  },
  {
    id: 'generic.has_moved',
    family: 'mailbox_moved',
    source: 'RFC 5321 551 "User not local; please try <forward-path>"',
    re: /\buser not local\b|\bnot our (?:user|customer)\b|\bhas moved\b|\bno longer (?:at|with) this (?:address|company|organi[sz]ation)\b|\bmailbox has (?:been )?moved\b/i,
  },
  {
    id: 'gmail.over_quota',
    family: 'mailbox_full',
    source:
      'Gmail: "The email account that you tried to reach is over quota" / "inbox is out of storage space"',
    re: /is over quota|out of storage space|OverQuota(?:Perm|Temp)/i,
  },
  {
    id: 'generic.mailbox_full',
    family: 'mailbox_full',
    source: 'Stock texts of most servers (sendmail, Postfix, Exim, Dovecot, qmail)',
    re: /\bmail ?box (?:is )?(?:full|over (?:quota|capacity|limit))\b|\bover ?quota\b|\bquota (?:exceeded|exceeds|full|limit)\b|\b(?:exceeded|exceeds|exceed) (?:its |the |his |her )?(?:storage |mailbox |disk )?quota\b|\binsufficient (?:disk )?(?:space|storage) (?:in|for) (?:the )?(?:user'?s? )?mailbox\b|\bmailfolder is over the allowed quota\b|\bfull mailbox\b|\bmailbox size limit exceeded\b|\bno space left in (?:the )?mailbox\b|\buser'?s? (?:disk )?quota\b/i,
  },
  {
    id: 'gmail.disabled',
    family: 'mailbox_disabled',
    source: 'Gmail: "The email account that you tried to reach is disabled"',
    re: /the (?:e-?mail )?account that you tried to reach is (?:disabled|inactive)/i,
  },
  {
    id: 'generic.suspended',
    family: 'mailbox_disabled',
    source: 'Stock texts: disabled, suspended, locked, frozen accounts',
    re: /\b(?:account|mailbox|user|address|recipient) (?:has been |is |was )?(?:temporar(?:il)?y )?(?:disabled|suspended|deactivated|inactive|locked|frozen|blocked|closed|discontinued|expired|not active)\b|\b(?:user|account|mailbox|address)\b.{0,60}\btemporar(?:il)?y (?:locked|disabled|suspended|blocked)\b|\bdisabled (?:recipient|mailbox|account|user)\b|\b(?:account|mailbox) (?:disabled|suspended|locked|frozen)\b|\bmailbox disabled for this recipient\b|\bhas been disabled or discontinued\b|\bvdelivermail: account is locked\b/i,
  },
  {
    id: 'dnsbl.named',
    family: 'blocklisted',
    source:
      'DNSBL operators named in rejections (Spamhaus, SpamCop, Barracuda, SORBS, CBL, UCEPROTECT, PSBL…)',
    re: /\bspamhaus\b|\bspamcop\b|\bbarracuda ?central\b|\bbarracuda reputation\b|\bb\.barracudacentral\.org\b|\bsorbs\b|\bcbl\.abuseat\.org\b|\babuseat\b|\buceprotect\b|\bpsbl\b|\bmailspike\b|\bivmspam\b|\bspamrats\b|\bdnsbl\b|\brbl\b|\bblocked using\b|\bblacklisted\b|\bblocklisted\b|\bblock ?list(?:ed)?\b|\bblack ?list(?:ed)?\b|\bAUP#\w*(?:RBL|BL)\b|\blisted (?:at|on|in) \S+\.(?:org|net|com)\b/i,
    sameLine: [{ first: /\bsenderscore /gi, then: /block/i }],
  },
  {
    id: 'microsoft.banned_ip',
    family: 'blocklisted',
    source: 'Microsoft: "Access denied, banned sending IP" (5.7.606–649)',
    re: /banned sending ip|part of their network is on our block list|\(S3150\)|\(S3140\)/i,
  },
  {
    id: 'yahoo.permanently_deferred',
    family: 'blocklisted',
    source: 'Yahoo: [TSS09]/[TS03] "All messages from … will be permanently deferred"',
    re: /\[TSS?0?3\]|\[TSS09\]|will be permanently deferred|\[BL2[0-9]\]/i,
  },
  {
    id: 'generic.client_rejected',
    family: 'client_refused',
    source: 'Postfix "Client host rejected: Access denied", sendmail "Access denied", dynamic-IP refusals',
    re: /client host (?:\[[^\][]*\] )?(?:rejected|blocked)(?!: cannot find your (?:reverse )?hostname)|\bconnection (?:refused|rejected|denied) (?:from|for) (?:ip|host|your)|\bnot accepting connections\b|\bdynamic(?:ally assigned)? ip\b|\bdial-?up\b|\bresidential ip\b|\buse the smtp server of your isp\b|\buse your (?:isp|provider)'?s? (?:smtp|mail|relay)\b|\bsmtp relay at your service provider\b|\bnot authorized to send email directly\b|\bip (?:address )?(?:is |has been )?(?:blocked|banned|rejected|refused|denied)\b|\bblocked (?:ip|host|address)\b|\byour (?:ip|host|server|network)(?: address)? (?:is |has been |was )?(?:blocked|banned|rejected|refused|not allowed)\b|\bhost (?:is )?(?:blocked|banned)\b|\bno access from mail server\b|\bopen relay\b/i,
    sameLine: [{ first: /\baccess denied\b/gi, then: /\b(?:ip|host|client|server|connect)\b/i }],
  },
  {
    id: 'microsoft.ipv6_or_partner',
    family: 'client_refused',
    source: 'Microsoft 5.7.510/5.7.513',
    re: /does not accept email over ipv6|blocked by .{0,40}'?s? partner/i,
  },
  {
    id: 'yahoo.tss04',
    family: 'reputation',
    source: 'Yahoo: [TSS04] "temporarily deferred due to unexpected volume or user complaints"',
    re: /\[TSS0?4\]|\[TS0?[12]\]|deferred due to (?:unexpected volume or )?user complaints/i,
  },
  {
    id: 'microsoft.ip_reputation',
    family: 'reputation',
    source: 'Microsoft: "temporarily rate limited due to IP reputation" (4.7.650)',
    re: /due to ip reputation|poor reputation|low reputation|bad reputation|reputation (?:of|for) (?:the|your|this) (?:sending )?(?:ip|domain)|sender reputation|reputation (?:is )?too low/i,
  },
  {
    id: 'gmail.unsolicited_rate',
    family: 'reputation',
    source: 'Gmail: "unusual rate of unsolicited mail originating from your IP address"',
    re: /unusual rate of unsolicited mail|suspicious due to the very low reputation|is likely unsolicited mail/i,
  },
  {
    id: 'generic.reverse_dns',
    family: 'reverse_dns',
    source: 'Postfix "cannot find your reverse hostname", Gmail 5.7.25, Comcast/GMX/Exim PTR rules',
    re: /reverse (?:dns|hostname|lookup|address|name|mapping)|rev(?:erse)?-?dns|\bptr\b(?: record| resource record| lookup)?|cannot find your hostname|cannot resolve your address|no (?:ptr|reverse)|reverse dns (?:entry|record)|\bc=rdns\b|hostname (?:of|for) your (?:ip|address|server) (?:does not|doesn'?t) (?:exist|resolve|match)|IP name lookup failed|without a valid sender domain/i,
  },
  {
    id: 'generic.sender_domain',
    family: 'sender_refused',
    source:
      'sendmail "Domain of sender address … does not exist", Postfix "Sender address rejected: Domain not found"',
    re: /domain of sender address .{0,80}(?:does not exist|does not resolve)|sender address rejected|sender domain (?:must exist|does not exist|not found|unknown)|sender (?:address )?(?:is )?(?:invalid|not allowed|rejected|refused|denied|unknown)|bad sender|invalid sender|sender verify failed|sender verification failed|unroutable sender|unverified sender|sender (?:was|is) rejected|need fully-qualified address|(?:from|sender) (?:address )?(?:is )?blacklisted|sending to\/from an address that has been blacklisted|envelope sender|return-?path (?:is )?invalid/i,
  },
  {
    id: 'exim.sender_blacklisted',
    family: 'sender_refused',
    source:
      'Exim ACL stock text for a listed envelope address: "you are sending to/from an address that has been blacklisted"',
    re: /sending to\/from an address that has been blacklisted|(?:sender|from) address (?:is |has been )?(?:black|block)listed/i,
  },
  {
    id: 'generic.from_domain_invalid',
    family: 'sender_refused',
    source: 'Refusals of the sender domain after DATA ("From: Domain is invalid")',
    re: /from:? (?:domain|address) (?:is )?(?:invalid|not valid|unknown)|(?:sender|from) domain (?:is )?(?:invalid|not valid|unknown)/i,
  },
  {
    id: 'qmail.sender_rejected',
    family: 'sender_refused',
    source: 'qmail: "Connected to … but sender was rejected"',
    re: /but sender was rejected/i,
  },
  {
    id: 'googlegroups.no_permission',
    family: 'sender_refused',
    source:
      'Google Groups: "the group you tried to contact may not exist, or you may not have permission to post" (every language links groups.google.com/support)',
    re: /you (?:do not|don'?t|may not) have permission to post|not allowed to post to this group|only members can post|group .{0,60}(?:may not exist|does not exist)|groups\.google\.com\/support/i,
  },
  {
    id: 'generic.relay_denied',
    family: 'relay_denied',
    source: 'Postfix "Relay access denied", sendmail "Relaying denied", Exchange 5.7.54/5.7.64',
    re: /relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed|refused)|unable to relay|not permitted to relay|we do not relay|relaying (?:is )?(?:denied|not allowed)|no relaying|cannot relay|relay not permitted|TenantAttribution/i,
  },
  {
    id: 'generic.not_authorized',
    family: 'not_authorized',
    source:
      'Postfix/sendmail access maps: "Recipient address rejected: Delivery not authorized" (the RFC 3463 X.7.1 text)',
    re: /delivery not authori[sz]ed/i,
  },
  {
    id: 'generic.auth_required',
    family: 'not_authorized',
    source: 'RFC 4954 530/535, Microsoft 5.7.57, Symantec "Please turn on SMTP Authentication"',
    re: /authentication (?:is )?required|turn on smtp authentication|smtp auth(?:entication)? (?:is )?required|unauthenticated senders? (?:not allowed|are not allowed)|not authenticated to send anonymous mail|authentication (?:credentials )?(?:invalid|failed)|client was not authenticated|sender is not authenticated/i,
  },
  {
    id: 'gmail.security_issue',
    family: 'policy',
    source:
      'Gmail 552 5.7.0: "This message was blocked because its content presents a potential security issue"',
    re: /content presents a potential security issue/i,
  },
  {
    id: 'yahoo.policy',
    family: 'policy',
    source: 'Yahoo: 554 5.7.9 "Message not accepted for policy reasons"',
    re: /not accepted for policy reasons|\[PH01\]/i,
  },
  {
    id: 'generic.greylisting',
    family: 'greylisted',
    source:
      'Greylisting replies (RFC 6647): Postgrey "Greylisted, see https://postgrey…", Exim/Rspamd/milter-greylist "greylisted, try again later", "Greylisting in action"',
    re: /\bgr[ae]y[- ]?list(?:ed|ing)?\b/i,
  },
  {
    id: 'generic.policy',
    family: 'policy',
    source: 'Generic policy refusals',
    re: /\b(?:denied|rejected|refused|blocked|prohibited) (?:by|due to|for) (?:local |our |the |site |administrative |security )?polic(?:y|ies)\b|\bpolicy (?:violation|reasons|rejection|restriction)\b|\bviolat(?:es|ion of) (?:our |the )?polic|\bagainst (?:our )?policy\b|\bprohibited by administrator\b|\bnot allowed by (?:local )?policy\b|\bdoes not comply with (?:our |the )?polic/i,
  },
  {
    id: 'generic.rate',
    family: 'rate_limited',
    source:
      'Rate limits: Gmail 4.2.1/4.5.3/5.4.5, GoDaddy IB607, QQ "frequency limited", Postfix "too many connections"',
    re: /too many (?:recipients|connections|messages|mails|emails|sessions|concurrent|errors)|rate limit(?:ed|ing)?|receiving (?:mail|email|messages) (?:too quickly|at a rate)|\bfrequency limit|(?:sending|daily|hourly|rate|connection|recipient|message rate) (?:quota|limit) (?:exceeded|reached)|exceeded (?:the )?(?:sending|daily|hourly|maximum) (?:quota|limit|number)|sent to too many recipients|too fast|throttl(?:ed|ing)|slow down|max(?:imum)? (?:message|messages|connections|recipients) per|too much (?:mail|traffic)|try again later.{0,40}too many/i,
  },
  // --- wording the probe reads that no bounce reason is made of ---------------------------
  {
    id: 'generic.retry_later',
    family: 'retry_later',
    source:
      'Deferrals without a reason: "try again later", "please retry later", "temporarily deferred", "come back later"',
    re: /try again later|please (?:try|retry) (?:again|later)|temporar(?:il)?y (?:deferred|rejected|blocked)|deferred|come back later|retry (?:in|later)/i,
  },
  {
    id: 'generic.helo_refused',
    family: 'helo_refused',
    source:
      'Postfix "Helo command rejected: need fully-qualified hostname", and other refusals of the HELO/EHLO name',
    re: /helo|ehlo/i,
  },
  {
    id: 'generic.names_sender',
    family: 'names_sender',
    source: 'Refusals that name the client or its sender without a reason one of the families above gives',
    re: /client host|client address|your (?:ip|address|host|server|network)|sender (?:domain|address|verify|rejected)|\brdns\b|blocked|block ?list|black ?list|dnsbl|rbl|barracuda|listed (?:at|in|on|by)|reputation|access denied|not authori[sz]ed|banned|abuse|policy|too many (?:connections|errors|invalid)|spamhaus|spamcop|sorbs|ptr|reverse dns|rate limit|throttl/i,
  },
];

const BY_ID = new Map(WORDING.map((p) => [p.id, p]));

/** The phrase with this ID (a typo is an error at load time, not a rule that never matches). */
export function wording(id: string): WordingPhrase {
  const p = BY_ID.get(id);
  if (!p) throw new Error(`no wording ${id} in src/smtp/wording.ts`);
  return p;
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

/** Whether a phrase is in the text. */
export function phraseMatches(phrase: Pick<WordingPhrase, 're' | 'sameLine'>, text: string): boolean {
  return phrase.re.test(text) || (phrase.sameLine?.some((s) => onSameLine(s, text)) ?? false);
}

type Phrase = Pick<WordingPhrase, 're' | 'sameLine'>;

/**
 * Which phrases of a table are in a text, for tables tried whole on every text. Most phrases
 * do not apply to most replies: one pass over the text finds which of the literals that the
 * phrases' matches require (literals.ts) it holds, and only the phrases whose requirement the
 * text meets have their expressions run. The answer is the same as `phraseMatches` on each;
 * the literal scanner is built on first use.
 */
export function phraseReader(phrases: readonly Phrase[]): (text: string) => boolean[] {
  return (text) => {
    const candidates = candidatesIn(phrases, text);
    return phrases.map((p, i) => candidates[i] === 1 && phraseMatches(p, text));
  };
}

/**
 * Whether any phrase of a table is in a text: `phrases.some((p) => phraseMatches(p, text))`,
 * with the expressions screened as `phraseReader` screens them, tried in order until one
 * matches.
 */
export function anyPhrase(phrases: readonly Phrase[]): (text: string) => boolean {
  return (text) => {
    const candidates = candidatesIn(phrases, text);
    return phrases.some((p, i) => candidates[i] === 1 && phraseMatches(p, text));
  };
}

/**
 * 1 for each phrase of the table that the text may hold: the text meets its requirement, or
 * it has none known (0, or 2 once ruled out, for the others).
 */
function candidatesIn(phrases: readonly Phrase[], text: string): number[] {
  const screen = phraseScreen(phrases);
  const { found, tests, phrasesOf } = screen;
  const marked: number[] = [];
  screen.scanner.groupsIn(text, found, marked);
  // The phrases always tried, then those triggered by the literals found whose requirement
  // the text meets.
  const out = screen.always.slice();
  for (let i = 0; i < marked.length; i++) {
    const of = phrasesOf[marked[i]!]!;
    for (let k = 0; k < of.length; k++) {
      const p = of[k]!;
      if (out[p] === 0) out[p] = holds(tests[p]!, found) ? 1 : 2;
    }
  }
  for (let i = 0; i < marked.length; i++) found[marked[i]!] = 0;
  return out;
}

interface Screen {
  /** Finds the literals of the phrases' requirements, each its own group (by ID). */
  scanner: LiteralScanner;
  /** 1 for the phrases always tried, 0 for the others (a plain array: see LiteralScanner.groupsIn). */
  always: readonly number[];
  /** Each phrase's requirement, compiled (empty for those always tried). */
  tests: readonly Int32Array[];
  /** The phrases whose test each literal triggers (see triggers), by literal ID. */
  phrasesOf: readonly (readonly number[])[];
  /** The literals a text holds, 1 by ID: all 0 between two texts (candidatesIn clears what it marks). */
  found: number[];
}

/**
 * The screens built so far, by table, each on first use: every reader of a table shares its
 * screen (the bounce classifier reads the diagnostic and the context with two readers;
 * building a screen costs a one-off run some milliseconds of its start).
 */
const screens = new WeakMap<readonly Phrase[], Screen>();

function phraseScreen(phrases: readonly Phrase[]): Screen {
  let screen = screens.get(phrases);
  if (!screen) {
    screen = buildScreen(phrases);
    screens.set(phrases, screen);
  }
  return screen;
}

/**
 * The requirement of an expression: from the table `npm run docs` generates (reading the
 * ~100 expressions of the two phrase tables cost every process some 15 ms of its start), else
 * read now.
 */
function requirementOf(re: RegExp): Requirement | null {
  const known = REQUIREMENTS.get(literalsKey(re));
  return known !== undefined ? known : requirement(re);
}

function buildScreen(phrases: readonly Phrase[]): Screen {
  const ids = new Map<string, number>();
  const phrasesOf: number[][] = [];
  const idOf = (literal: string): number => {
    let id = ids.get(literal);
    if (id === undefined) {
      id = ids.size;
      ids.set(literal, id);
      phrasesOf.push([]);
    }
    return id;
  };
  const always = new Array<number>(phrases.length).fill(0);
  const tests: Int32Array[] = [];
  phrases.forEach((p, i) => {
    // A phrase matches when its expression or one of its same-line pairs does.
    const required = anyOf([p.re, ...(p.sameLine ?? []).map((s) => s.first)].map(requirementOf));
    if (required === null) {
      always[i] = 1;
      tests.push(new Int32Array(0));
      return;
    }
    tests.push(compileRequirement(required, idOf));
    for (const t of triggers(required)) phrasesOf[idOf(t)]!.push(i);
  });
  return {
    scanner: new LiteralScanner([...ids].map(([text, group]) => ({ text, group }))),
    always,
    tests,
    phrasesOf,
    found: new Array<number>(ids.size).fill(0),
  };
}

const familyReader = phraseReader(WORDING);

/**
 * Builds the scanner of the reply wordings now rather than at the first reply classified: a
 * probe does it while its first connection is in flight, so that the first RCPT answers are
 * not held up by it (tens of milliseconds of CPU).
 */
export function prepareWording(): void {
  phraseScreen(WORDING);
}

/** The families whose wording the text holds. */
export function familiesIn(text: string): Set<WordingFamily> {
  const hits = familyReader(text);
  return new Set(WORDING.filter((_, i) => hits[i]).map((p) => p.family));
}
