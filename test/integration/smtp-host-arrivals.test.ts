import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mxCheck } from '../../src/mx/check.js';
import type { Report } from '../../src/report/model.js';
import type { Timeline } from '../../src/report/timeline.js';
import { smtpCheck } from '../../src/smtp/check.js';
import type { SmtpData } from '../../src/smtp/model.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { runChecksAgainst } from '../support/run-checks.js';
import { reportValidator } from '../support/schema.js';
import { freePort, startSmtpFake } from '../support/smtp-fakes.js';
import type { SmtpFake } from '../support/smtp-fakes.js';

/**
 * A domain with two MX hosts whose names are served by different name servers, one of them
 * slow (a backup MX at a small provider, a name server far away): the sessions with each host
 * start as soon as that host's own addresses are known, not when the slowest host's lookup
 * ends (issue 14 §2). What the report says is in the MX set's order, whichever host answered
 * first.
 */
const SLOW_MS = 600;

describe('the SMTP probe of a domain whose MX hosts resolve at different speeds', () => {
  let dns: FixtureDns;
  let fakes: SmtpFake[];
  let env: Record<string, string>;

  before(async () => {
    const port = await freePort();
    fakes = await Promise.all(
      [
        ['127.0.0.96', 'mx1.arrive.example.com'],
        ['127.0.0.97', 'mx2.arrive.example.com'],
      ].map(([host, name]) =>
        startSmtpFake({
          host: host!,
          port,
          name: name!,
          domains: [
            'slowbackup.example.com',
            'slowprimary.example.com',
            'slowaaaa.example.com',
            'deadbackup.example.com',
          ],
        }),
      ),
    );
    dns = await startFixtureDns({
      zones: {
        // The backup MX's name is the slow one.
        'slowbackup.example.com': { MX: ['10 mx1.arrive.example.com', '20 mx2.arrive.example.com'] },
        // The primary MX's name is the slow one.
        'slowprimary.example.com': { MX: ['10 mx2.arrive.example.com', '20 mx1.arrive.example.com'] },
        // Forty MX records, the least preferred listed first (a name server returns them in
        // any order): the 32 most preferred are the ones resolved and judged.
        'manymx.example.com': {
          MX: Array.from({ length: 40 }, (_, i) => `${40 - i} mx${40 - i}.many.example.com`),
        },
        ...Object.fromEntries(
          Array.from({ length: 40 }, (_, i) => [`mx${i + 1}.many.example.com`, { A: ['127.0.0.96'] }]),
        ),
        // One MX host whose name server is slow to answer AAAA questions (some drop them).
        'slowaaaa.example.com': { MX: ['10 mx.slowaaaa.example.com'] },
        'mx.slowaaaa.example.com': { A: ['127.0.0.96'] },
        // A backup MX whose name server never answers, in a check whose deadline comes first.
        'deadbackup.example.com': { MX: ['10 mx1.arrive.example.com', '20 mx.dead.example.com'] },
        'mx.dead.example.com': { A: ['127.0.0.97'] },
        'mx1.arrive.example.com': { A: ['127.0.0.96'] },
        'mx2.arrive.example.com': { A: ['127.0.0.97'] },
      },
      behaviour: {
        'mx2.arrive.example.com': { delayMs: SLOW_MS },
        'mx.slowaaaa.example.com': { delayMs: SLOW_MS, delayTypes: ['AAAA'] },
        'mx.dead.example.com': { silent: true },
      },
    });
    env = {
      MXDOCTOR_SMTP_MAX_HOSTS: '3',
      MXDOCTOR_SMTP_PORT: String(port),
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_SMTP_LEGACY_TLS: '0',
    };
  });
  after(async () => {
    for (const fake of fakes ?? []) {
      fake.assertNoMessageSent();
      await fake.stop();
    }
    await dns?.stop();
  });

  const check = async (domain: string): Promise<{ report: Report; timeline: Timeline; smtp: SmtpData }> => {
    const report = await runChecksAgainst(dns, domain, [mxCheck, smtpCheck], { smtp: true }, env);
    assert.deepEqual(reportValidator()(report), []);
    return { report, timeline: report.timeline as Timeline, smtp: report.data.smtp as SmtpData };
  };

  /** When the last answer about a name (of one type, or of any) arrived, on the check's clock. */
  const answeredAt = (t: Timeline, name: string, type?: string): number =>
    Math.max(
      ...t.dns.filter((q) => q.name === name && (!type || q.type === type)).map((q) => q.startMs + q.ms),
    );
  const sessionStart = (t: Timeline, address: string): number => {
    const s = t.smtp.find((x) => x.kind === 'probe' && x.address === address);
    assert.ok(s, `a probe session with ${address}: ${JSON.stringify(t.smtp)}`);
    return s.startMs;
  };

  it('talks to the primary MX while the backup MX is still being looked up', async () => {
    const { timeline: t, smtp, report } = await check('slowbackup.example.com');
    // The backup's first IPv4 address is probed on its A answer, without waiting for AAAA
    // (which may come a little later): the A answer is the one the session waits for.
    const slowAnswer = answeredAt(t, 'mx2.arrive.example.com', 'A');
    assert.ok(slowAnswer >= SLOW_MS, `the slow host answered at ${slowAnswer} ms`);
    const primary = sessionStart(t, '127.0.0.96');
    assert.ok(
      primary < slowAnswer - SLOW_MS / 2,
      `the session with the primary MX started at ${primary} ms, the backup's address came at ${slowAnswer} ms`,
    );
    assert.ok(
      sessionStart(t, '127.0.0.97') >= slowAnswer - 1,
      `the backup's session once its address is known (A answer at ${slowAnswer} ms): ${JSON.stringify(t.dns)}`,
    );
    assert.deepEqual(
      smtp.tested.map((x) => x.host),
      ['mx1.arrive.example.com', 'mx2.arrive.example.com'],
    );
    assert.deepEqual(
      report.mx?.hosts.map((h) => h.name),
      ['mx1.arrive.example.com', 'mx2.arrive.example.com'],
    );
  });

  it("talks to a host's IPv4 address while its AAAA answer is still on its way", async () => {
    const { timeline: t, smtp, report } = await check('slowaaaa.example.com');
    const aaaa = t.dns.find((q) => q.type === 'AAAA' && q.name === 'mx.slowaaaa.example.com');
    assert.ok(aaaa && aaaa.startMs + aaaa.ms >= SLOW_MS, JSON.stringify(t.dns));
    const session = sessionStart(t, '127.0.0.96');
    assert.ok(
      session < aaaa.startMs + aaaa.ms - SLOW_MS / 2,
      `the session started at ${session} ms, the AAAA answer came at ${aaaa.startMs + aaaa.ms} ms`,
    );
    assert.deepEqual(
      smtp.tested.map((x) => x.address),
      ['127.0.0.96'],
    );
    assert.equal(report.checks.find((f) => f.id === 'smtp.postmaster')?.status, 'pass');
    assert.deepEqual(report.mx?.hosts[0]?.lookup, { a: 'NOERROR', aaaa: 'NOERROR' });
  });

  it('probes the primary MX while the lookup of a backup MX whose name server never answers runs out', async () => {
    const report = await runChecksAgainst(
      dns,
      'deadbackup.example.com',
      [mxCheck, smtpCheck],
      { smtp: true },
      { ...env, MXDOCTOR_DNS_TIMEOUT: '400' },
    );
    const t = report.timeline as Timeline;
    const gaveUp = answeredAt(t, 'mx.dead.example.com');
    assert.ok(gaveUp >= 400, `the dead host's lookup ended at ${gaveUp} ms`);
    assert.ok(sessionStart(t, '127.0.0.96') < gaveUp - 200, 'the primary was probed meanwhile');
    const smtp = report.data.smtp as SmtpData;
    assert.deepEqual(
      smtp.tested.map((x) => x.host),
      ['mx1.arrive.example.com'],
    );
    assert.deepEqual(smtp.skipped, [{ host: 'mx.dead.example.com', why: 'the host has no address' }]);
    assert.equal(report.checks.find((f) => f.id === 'mx.dangling')?.status, 'error');
  });

  it('ends at the deadline when a backup MX lookup outlasts it, leaving no rejection unobserved', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const asked = fakes[0]!.rcpts.length;
    try {
      const report = await runChecksAgainst(
        dns,
        'deadbackup.example.com',
        [mxCheck, smtpCheck],
        { smtp: true },
        { ...env, MXDOCTOR_CHECK_DEADLINE: '700', MXDOCTOR_DNS_TIMEOUT: '5000' },
      );
      assert.ok(fakes[0]!.rcpts.length > asked, 'the primary was asked before the deadline');
      const ended = report.checks.filter((f) => /^(smtp|mx|pipeline)\./.test(f.id) && f.status === 'error');
      assert.ok(
        ended.some((f) => /deadline/i.test(f.summary)),
        JSON.stringify(report.checks.map((f) => `${f.id}:${f.status} ${f.summary}`)),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(rejections, []);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('reports the hosts in preference order when the backup answered first', async () => {
    const { timeline: t, smtp } = await check('slowprimary.example.com');
    assert.ok(sessionStart(t, '127.0.0.96') < sessionStart(t, '127.0.0.97'), 'the backup was probed first');
    assert.deepEqual(
      smtp.tested.map((x) => x.host),
      ['mx2.arrive.example.com', 'mx1.arrive.example.com'],
    );
    assert.deepEqual(
      smtp.tls.map((x) => x.host),
      ['mx2.arrive.example.com', 'mx1.arrive.example.com'],
    );
    assert.deepEqual(
      smtp.sessions.filter((s) => s.kind === 'probe').map((s) => s.address),
      ['127.0.0.97', '127.0.0.96'],
    );
  });

  it('resolves and probes the most preferred MX hosts of a domain with more than it checks, whatever their order in the answer', async () => {
    const { report, smtp } = await check('manymx.example.com');
    const preferred = Array.from({ length: 32 }, (_, i) => `mx${i + 1}.many.example.com`);
    assert.deepEqual(
      report.mx?.hosts.map((h) => h.name),
      preferred,
    );
    assert.ok(
      report.mx?.hosts.every((h) => h.addresses.length === 1),
      'each of the 32 was looked up',
    );
    assert.deepEqual(
      report.checks.filter((f) => f.id === 'mx.dangling').map((f) => f.status),
      ['pass'],
    );
    assert.deepEqual(
      smtp.tested.map((x) => x.host),
      preferred.slice(0, 3),
    );
  });
});
