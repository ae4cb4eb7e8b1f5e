import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCheck } from '../../src/checks/run.js';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { normalizeDomain } from '../../src/input/domain.js';
import { mxCheck } from '../../src/mx/check.js';
import type { Finding, Report } from '../../src/report/model.js';
import { smtpCheck } from '../../src/smtp/check.js';
import type { SessionRecord, SmtpData } from '../../src/smtp/model.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { ehloLines, freePort, scriptedMta, startPlaybook } from '../support/smtp-fakes.js';
import type { Playbook, PlaybookConnection } from '../support/smtp-fakes.js';
import { createTestPki } from '../support/test-ca.js';

/**
 * Servers that speak out of turn (issue 13 §5). SMTP pairs replies with commands by order
 * alone, so one extra reply shifts every later one onto the wrong command: STARTTLS looks
 * refused, a refused relay recipient looks accepted. Each fake here is an otherwise normal MTA
 * (STARTTLS, postmaster and alice exist, other local parts are unknown, foreign domains are
 * refused as relaying) with one quirk; the report must name the quirk, quote the bytes, and
 * never draw a verdict from replies that may answer another command.
 */

const HOSTS = {
  afterEhlo: '127.0.0.151',
  afterRcpt: '127.0.0.152',
  inside: '127.0.0.153',
  slowGreeting: '127.0.0.154',
  denied: '127.0.0.155',
  late: '127.0.0.156',
} as const;
type Case = keyof typeof HOSTS;

const EXTENSIONS = ['PIPELINING', 'STARTTLS', '8BITMIME'];

interface Quirks {
  /** Lines to answer EHLO with (default: the normal EHLO reply). */
  ehlo?: (normal: string[]) => string[];
  /** Called after the EHLO reply was sent (e.g. to send a late extra line). */
  afterEhlo?: (conn: PlaybookConnection) => Promise<void>;
  /** The answer to a RCPT (default: the normal answer). */
  rcpt?: (normal: string, nth: number) => string[];
  /** The answer to MAIL FROM (default: 250). */
  mail?: string;
  greeting?: (conn: PlaybookConnection) => Promise<void>;
}

/** A normal MTA for `domain`, with quirks; state is per connection. */
function mta(domain: string, tls: { key: string; cert: string }, quirks: Quirks = {}) {
  const name = `mx.${domain}`;
  return async (conn: PlaybookConnection): Promise<void> => {
    let secure = false;
    let rcpts = 0;
    if (quirks.greeting) await quirks.greeting(conn);
    const script = scriptedMta({
      name,
      greeting: quirks.greeting ? [] : [`220 ${name} ESMTP`],
      extensions: EXTENSIONS,
      onStartTls: async (c) => {
        await c.startTls(tls);
        secure = true;
      },
      reply: async (line, c) => {
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') {
          const normal = ehloLines(
            name,
            EXTENSIONS.filter((e) => !(secure && e === 'STARTTLS')),
          );
          c.send(...(quirks.ehlo ? quirks.ehlo(normal) : normal));
          await quirks.afterEhlo?.(c);
          return [];
        }
        if (verb === 'MAIL' && quirks.mail) return quirks.mail;
        if (verb === 'RCPT') {
          const to = /<([^>]*)>/.exec(line)?.[1]?.toLowerCase() ?? '';
          const [local, at] = [to.slice(0, to.lastIndexOf('@')), to.slice(to.lastIndexOf('@') + 1)];
          const normal =
            at !== domain
              ? '554 5.7.1 <' + to + '>: Relay access denied'
              : local === 'postmaster' || local === 'alice'
                ? '250 2.1.5 Ok'
                : `550 5.1.1 <${to}>: Recipient address rejected: User unknown in local recipient table`;
          return quirks.rcpt ? quirks.rcpt(normal, ++rcpts) : normal;
        }
        return undefined;
      },
    });
    await script(conn);
  };
}

const domainOf = (c: Case): string => `${c.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}.step.test`;

describe('servers that speak out of turn', { concurrency: 3 }, () => {
  let dns: FixtureDns;
  let config: Config;
  const fakes: Playbook[] = [];

  before(async () => {
    const port = await freePort();
    const pki = createTestPki('out of step');
    const tlsFor = (domain: string) => {
      const leaf = pki.leaf({ names: [`mx.${domain}`] });
      return { key: leaf.keyPem, cert: leaf.chainPem };
    };
    const quirks: Record<Case, Quirks> = {
      // One extra reply after every EHLO reply, in the same write.
      afterEhlo: { ehlo: (normal) => [...normal, '250 2.0.0 OK'] },
      // The first RCPT of the session is answered twice, in the same write.
      afterRcpt: { rcpt: (normal, nth) => (nth === 1 ? [normal, normal] : [normal]) },
      // A line of another reply (a second greeting) in the middle of every EHLO reply.
      inside: {
        ehlo: (normal) => [normal[0]!, `220 mx.${domainOf('inside')} ESMTP`, ...normal.slice(1)],
      },
      // Postfix postscreen: the first line of a multi-line greeting, the rest seconds later.
      slowGreeting: {
        greeting: async (conn) => {
          conn.send(`220-mx.${domainOf('slowGreeting')} ESMTP`);
          await conn.sleep(2500);
          conn.send(`220 mx.${domainOf('slowGreeting')} ESMTP ready`);
        },
      },
      // Every sender refused alike, the null sender included.
      denied: { mail: '550 5.7.1 Access denied' },
      // The extra line after EHLO comes a moment later, in its own write: it is read as the
      // answer to STARTTLS.
      late: {
        afterEhlo: async (conn) => {
          await conn.sleep(300);
          conn.send('250 2.0.0 OK');
        },
      },
    };
    const zones: Record<string, Record<string, string[]>> = {};
    for (const c of Object.keys(HOSTS) as Case[]) {
      const domain = domainOf(c);
      fakes.push(await startPlaybook(HOSTS[c], port, mta(domain, tlsFor(domain), quirks[c])));
      zones[domain] = { MX: [`10 mx.${domain}`], SOA: ['ns.test hostmaster.test 1 3600 600 86400 300'] };
      zones[`mx.${domain}`] = { A: [HOSTS[c]] };
    }
    dns = await startFixtureDns({ zones });
    config = loadConfig({
      MXDOCTOR_RESOLVERS: dns.address,
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_SMTP_PORT: String(port),
      MXDOCTOR_CA_FILE: pki.rootFile,
      MXDOCTOR_EHLO_NAME: 'probe.mxdoctor.test',
      MXDOCTOR_SMTP_LEGACY_TLS: 'false',
      MXDOCTOR_SMTP_BANNER_TIMEOUT: '6s',
      MXDOCTOR_SMTP_COMMAND_TIMEOUT: '2s',
      MXDOCTOR_SMTP_RCPT_TIMEOUT: '2s',
    });
  });
  after(async () => {
    for (const f of fakes) f.assertNoMessageSent();
    await Promise.all([...fakes.map((f) => f.stop()), dns?.stop()]);
  });

  async function check(c: Case): Promise<{ report: Report; smtp: SmtpData; main: SessionRecord }> {
    const parsed = normalizeDomain(domainOf(c));
    if (!parsed.ok) throw new Error(parsed.error);
    const report = await runCheck(
      parsed.domain,
      { verify: [`nobody@${domainOf(c)}`], dkimSelectors: [], smtp: true, greylistRetryMs: 0 },
      { config, checks: [mxCheck, smtpCheck] },
    );
    const smtp = report.data.smtp as SmtpData;
    const main = smtp.sessions.find((s) => s.kind === 'probe');
    assert.ok(main, 'a full session ran');
    return { report, smtp, main };
  }

  function finding(report: Report, id: string): Finding {
    const f = report.checks.find((x) => x.id === id);
    assert.ok(f, `finding ${id} in ${report.checks.map((x) => `${x.id}:${x.status}`).join(', ')}`);
    return f;
  }

  /** "id:status" of the SMTP findings that blame the domain or its server. */
  function failures(report: Report): string[] {
    return report.checks
      .filter((f) => /^(smtp|tls|rcpt)\./.test(f.id) && (f.status === 'fail' || f.status === 'warn'))
      .map((f) => `${f.id}:${f.status}`);
  }

  /** The findings that must not rest on replies out of step are "could not test". */
  function assertNoVerdictFromShiftedReplies(report: Report): void {
    const ids = ['smtp.open_relay', 'rcpt.catch_all', 'smtp.null_sender', 'smtp.postmaster', 'rcpt.verify'];
    const got = ids.map((id) => `${id}:${finding(report, id).status}`);
    assert.deepEqual(
      got,
      ids.map((id) => `${id}:error`),
      'no verdict from replies out of step',
    );
    for (const id of ids)
      assert.match(finding(report, id).summary, /the server's replies were out of step/, id);
  }

  it('an extra line after the EHLO reply: quoted and discarded; STARTTLS works; no relay or catch-all verdict', async () => {
    const { report, main } = await check('afterEhlo');
    assertNoVerdictFromShiftedReplies(report);
    assert.equal(finding(report, 'smtp.starttls').status, 'pass');
    const sync = finding(report, 'smtp.protocol_sync');
    assert.equal(sync.status, 'warn');
    assert.match(sync.summary, /"250 2\.0\.0 OK" before STARTTLS/);
    assert.deepEqual(failures(report), ['smtp.protocol_sync:warn']);
    // The transcript shows the extra line where it arrived: after the EHLO reply, before STARTTLS.
    const lines = main.transcript.map((t) => `${t.dir}: ${t.line}`);
    const extra = lines.indexOf('S: 250 2.0.0 OK');
    assert.ok(
      extra > lines.findIndex((l) => l.startsWith('S: 250 STARTTLS') || l.startsWith('S: 250 8BITMIME')),
    );
    assert.equal(lines[extra + 1], 'C: STARTTLS');
    assert.equal(main.outOfStep?.[0]?.where, 'before STARTTLS');
  });

  it('an extra line after a RCPT reply: recipients, catch-all, null sender and relaying are not judged', async () => {
    const { report, smtp } = await check('afterRcpt');
    assertNoVerdictFromShiftedReplies(report);
    // Pipelined: MAIL, the RCPTs, their RSET and the null-sender and relay transactions went in
    // one write, so every reply after the extra line shifted by one: the last RCPT's refusal
    // came back where RSET's answer was due — a reply RSET cannot get — and was named as such.
    const sync = finding(report, 'smtp.protocol_sync');
    assert.match(
      sync.summary,
      /"550 5\.1\.1 <mxdoctor-[^"]+" as the answer to RSET \(a reply that command cannot get\)/,
    );
    assert.deepEqual(failures(report), ['smtp.protocol_sync:warn']);
    assert.equal(finding(report, 'smtp.starttls').status, 'pass');
    assert.equal(smtp.catchAll.state, 'unknown');
    const nobody = smtp.recipients.find((r) => r.address === `nobody@${domainOf('afterRcpt')}`);
    assert.equal(nobody?.verdict, 'unknown');
    assert.equal(nobody?.reason, 'out_of_step');
  });

  it('a line of another reply inside a multi-line reply: set aside, and the rest of the reply still read', async () => {
    const { report, main } = await check('inside');
    assert.equal(finding(report, 'smtp.ehlo').status, 'pass');
    assert.ok(main.ehlo?.capabilities?.starttls, 'the EHLO reply was read to its end');
    const sync = finding(report, 'smtp.protocol_sync');
    assert.match(sync.summary, /"220 mx\.inside\.step\.test ESMTP" inside the EHLO reply/);
    assert.equal(finding(report, 'smtp.starttls').status, 'pass');
    assertNoVerdictFromShiftedReplies(report);
    assert.deepEqual(failures(report), ['smtp.protocol_sync:warn']);
  });

  it('an extra line that comes late is read as the answer to STARTTLS: STARTTLS is not called refused', async () => {
    const { report, main } = await check('late');
    const starttls = finding(report, 'smtp.starttls');
    assert.equal(starttls.status, 'error', starttls.summary);
    assert.match(starttls.summary, /out of step.*"250 2\.0\.0 OK"/);
    assert.match(finding(report, 'smtp.protocol_sync').summary, /as the answer to STARTTLS/);
    assert.equal(main.outOfStep?.[0]?.kind, 'unexpected');
    assert.ok(!failures(report).some((f) => f.endsWith(':fail')), failures(report).join(', '));
  });

  it('a greeting in two parts seconds apart is a normal greeting', async () => {
    const { report, main } = await check('slowGreeting');
    assert.equal(finding(report, 'smtp.banner').status, 'pass');
    assert.ok((main.banner?.ms ?? 0) >= 2000, 'the whole greeting was awaited');
    assert.equal(main.outOfStep, undefined);
    assert.ok(!report.checks.some((f) => f.id === 'smtp.protocol_sync'));
    for (const id of [
      'smtp.starttls',
      'smtp.open_relay',
      'rcpt.catch_all',
      'smtp.null_sender',
      'smtp.postmaster',
    ])
      assert.equal(finding(report, id).status, 'pass', id);
    assert.equal(finding(report, 'rcpt.verify').status, 'fail', 'nobody@ is unknown');
  });

  it('a server that refuses every sender alike refuses the probe, not bounces: the null sender is not failed', async () => {
    const { report } = await check('denied');
    const ns = finding(report, 'smtp.null_sender');
    assert.equal(ns.status, 'error', ns.summary);
    assert.match(
      ns.summary,
      /550 5\.7\.1 Access denied.*mxdoctor's own MAIL FROM:<[^>]+>.*refuses the probe/,
    );
    assert.equal(finding(report, 'smtp.open_relay').status, 'error');
    assert.equal(finding(report, 'smtp.postmaster').status, 'error');
    assert.ok(!failures(report).some((f) => f.endsWith(':fail')), failures(report).join(', '));
    assert.ok(!report.checks.some((f) => f.id === 'smtp.protocol_sync'), 'refusals are in step');
  });
});
