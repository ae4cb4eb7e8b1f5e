import { authenticateMessage } from '../auth/run.js';
import type { ProgressUpdate } from '../checks/types.js';
import type { Config } from '../config/index.js';
import { CheckCache } from '../dns/cache.js';
import { DnsClient, dnsClientSettings } from '../dns/client.js';
import { serverText } from '../dns/transport.js';
import { deadline } from '../net/deadline.js';
import type { Finding } from '../report/model.js';
import { countStatuses, verdictOf } from '../report/score.js';
import { version } from '../version.js';
import { domainOf } from './addresses.js';
import { evaluateConnection, gatherConnectionDns } from './connection-checks.js';
import { parseMessage } from './message.js';
import { evaluateMessage, summarizeMessage } from './message-checks.js';
import type { Delivery } from './model.js';
import { LINK, INBOUND_SCHEMA_VERSION } from './report.js';
import type { InboundReport } from './report.js';
import { evaluateReputation, gatherReputation, linkDomains } from './reputation.js';
import { scoreInbound } from './score.js';
import { evaluateSpam, receivedField, spamOpinion } from './spamd.js';

/**
 * Analyses one received test message: gathers what a receiver would look up — reverse DNS and
 * the HELO name, the message's authentication (src/auth, with the session's IP, MAIL FROM and
 * HELO), blocklists, a spam filter's opinion — and judges it all into the inbound report.
 * One deadline (MXDOCTOR_CHECK_DEADLINE) bounds the whole analysis; every lookup goes through
 * one DnsClient whose exchanges end up in the report's DNS log.
 */
export interface AnalyseDeps {
  config: Config;
  signal: AbortSignal;
  now?: () => Date;
  /** The receiver's name, for the envelope's provenance. @defaultValue config.inbound.domain */
  receiverName?: string;
  progress?: (update: ProgressUpdate) => void;
  /** Queues the domain check of the From domain (the service); absent in the CLI. */
  domainCheck?: (domain: string) => Promise<{ id: string; url: string } | undefined>;
}

export interface AnalyseInput {
  delivery: Delivery;
  message: Buffer;
  testId?: string;
}

/** Findings the inbound report leaves out of src/auth's: the envelope is the session's, and this receiver wrote no Authentication-Results. */
const NOT_FOR_INBOUND = new Set(['auth.envelope', 'auth.receiver']);

export async function analyseInbound(input: AnalyseInput, deps: AnalyseDeps): Promise<InboundReport> {
  const now = deps.now ?? (() => new Date());
  const t0 = performance.now();
  const { config } = deps;
  const { delivery, message } = input;
  const c = delivery.connection;
  const progress = (step: string, text: string, percent: number): void =>
    deps.progress?.({ step, message: text, percent });
  const d = deadline(deps.signal, config.check.deadlineMs, 'inbound analysis');
  try {
    const dns = new DnsClient({
      ...dnsClientSettings(config.dns),
      cache: new CheckCache(),
      signal: d.signal,
    });
    progress('message', 'Reading the message…', 10);
    const parsed = parseMessage(message);
    const summary = summarizeMessage(parsed, message.length);
    // Queued first, so that the domain check runs while the message is analysed.
    const domainCheck = summary.fromDomain
      ? queueDomainCheck(summary.fromDomain, deps)
      : Promise.resolve(undefined);

    progress('lookups', 'Looking up reverse DNS, SPF, DKIM keys, DMARC and asking the spam filter…', 25);
    const gathered = gatherConnectionDns(dns, c, d.signal);
    const receiver = deps.receiverName ?? config.inbound.domain;
    const spamAsked = gathered.then((found) =>
      askSpamFilter(input, receiver, found.ptr?.confirmed[0], config, d.signal),
    );
    const [connectionDns, auth, spam] = await Promise.all([
      gathered,
      authenticateMessage(
        message,
        {
          ip: c.remoteAddress,
          mailFrom: delivery.envelope.mailFrom,
          ...(c.helo?.name ? { helo: c.helo.name } : {}),
          session: { by: receiver },
        },
        { config, resolver: dns, signal: d.signal, now, heloSpf: true },
      ),
      spamAsked,
    ]);

    progress('reputation', 'Looking up blocklists…', 70);
    const reputationInput = {
      ip: c.remoteAddress,
      domains: messageDomains([
        [summary.fromDomain, 'From'],
        [domainOf(delivery.envelope.mailFrom), 'MAIL FROM'],
        ...auth.dkim.map((s) => [s.domain, 'DKIM d='] as const),
        ...linkDomains(`${parsed.text ?? ''}\n${parsed.html ?? ''}`).map((l) => [l, 'link'] as const),
      ]),
      ipZones: config.dnsbl.zones,
      domainZones: config.dnsbl.domainZones,
    };
    const reputation = await gatherReputation(dns, reputationInput, d.signal);

    progress('report', 'Writing the report…', 90);
    const signedHeaders = new Set(
      auth.dkim.filter((s) => s.result === 'pass').flatMap((s) => s.signedHeaders),
    );
    const findings: Finding[] = [
      ...evaluateConnection(c, connectionDns),
      ...auth.findings.filter((f) => !NOT_FOR_INBOUND.has(f.id)),
      ...evaluateReputation(reputation, reputationInput),
      ...evaluateMessage(parsed, {
        receivedAt: new Date(delivery.envelope.receivedAt),
        mailFromParams: delivery.envelope.mailFromParams,
        size: message.length,
        dkimSignedHeaders: signedHeaders,
      }),
      evaluateSpam(spam),
    ];
    const link = await domainCheck;
    findings.push(
      LINK.make('inbound.domain_check', 'info', {
        summary: link?.url
          ? `The domain check of ${link.domain} (MX, SPF, DKIM, DMARC, TLS, blocklists) runs beside this analysis: ${link.url}`
          : summary.fromDomain
            ? `Check the From domain's whole mail set-up too: mxdoctor check ${summary.fromDomain}`
            : 'The message has no single From domain whose set-up could be checked.',
        details: link ? { ...link } : {},
      }),
    );

    const { findings: _f, verdict: _v, ...authentication } = auth;
    void _f;
    void _v;
    const counts = countStatuses(findings);
    const report: InboundReport = {
      schemaVersion: INBOUND_SCHEMA_VERSION,
      tool: { name: 'mxdoctor', version: version() },
      test: { ...(input.testId ? { id: input.testId } : {}), address: delivery.envelope.rcptTo },
      receivedAt: delivery.envelope.receivedAt,
      analysedAt: now().toISOString(),
      durationMs: Math.round(performance.now() - t0),
      verdict: verdictOf(findings),
      complete: counts.error === 0,
      counts,
      score: scoreInbound(findings),
      connection: c,
      connectionDns,
      envelope: delivery.envelope,
      message: summary,
      authentication,
      reputation,
      ...('data' in spam ? { spam: spam.data } : {}),
      ...(link ? { domainCheck: link } : {}),
      checks: findings,
      resolvers: config.dns.resolvers.map(serverText),
      dnsLog: dns.log,
    };
    return JSON.parse(JSON.stringify(report)) as InboundReport;
  } finally {
    d.dispose();
  }
}

/** The domains a message names, each with where it was named (From, MAIL FROM, DKIM d=, link). */
function messageDomains(named: (readonly [string | undefined, string])[]): Map<string, string[]> {
  const domains = new Map<string, string[]>();
  for (const [domain, why] of named) {
    if (!domain) continue;
    const key = domain.toLowerCase().replace(/\.$/, '');
    const whys = domains.get(key) ?? [];
    if (!whys.includes(why)) whys.push(why);
    domains.set(key, whys);
  }
  return domains;
}

/** spamd sees the message as behind a receiving MTA: with the Received field it would add. */
function askSpamFilter(
  input: AnalyseInput,
  receiver: string,
  rdns: string | undefined,
  config: Config,
  signal: AbortSignal,
) {
  const received = Buffer.from(receivedField(input.delivery, { by: receiver, rdns }));
  return spamOpinion(config.spamd.address, Buffer.concat([received, input.message]), {
    timeoutMs: config.spamd.timeoutMs,
    signal,
  });
}

async function queueDomainCheck(
  domain: string,
  deps: AnalyseDeps,
): Promise<{ domain: string; id?: string; url?: string } | undefined> {
  if (!deps.domainCheck) return undefined;
  try {
    const queued = await deps.domainCheck(domain);
    return queued ? { domain, ...queued } : { domain };
  } catch {
    return { domain };
  }
}
