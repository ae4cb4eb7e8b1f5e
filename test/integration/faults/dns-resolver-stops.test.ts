import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runMxdoctor } from '../../support/cli.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';

/**
 * Fault: the resolver stops answering in the middle of a check (issue 13 §8). `mxdoctor check`
 * against a fixture resolver that answers the first few queries and then nothing: the check
 * must end by its overall deadline, say which resolver stopped answering and how many queries
 * went unanswered, mark what depends on them "error" (never a pass or fail drawn from missing
 * data), and name every check the deadline cut short.
 */
const SOA = ['ns.example.net hostmaster.example.net 1 3600 600 86400 300'];
/** With 2 s per DNS attempt and one retry, the same check runs ~12 s when its deadline is far. */
const DEADLINE_MS = 3000;
/** How late the report may end past the deadline (assembling it, a busy machine). */
const SLACK_MS = 2000;

interface Finding {
  id: string;
  status: string;
  summary: string;
}

describe('fault: the resolver stops answering mid-check', { timeout: 60_000 }, () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({
      zones: {
        'quiet.test': {
          MX: ['10 mx.quiet.test'],
          SOA,
          TXT: ['v=spf1 mx -all'],
        },
        'mx.quiet.test': { A: ['127.0.0.71'] },
        '_dmarc.quiet.test': { TXT: ['v=DMARC1; p=reject'] },
      },
    });
  });
  after(() => dns.stop());

  it('ends by the deadline and names the resolver, the unanswered queries and the checks cut short', async () => {
    // The MX query (asked first) is answered; everything after it is not.
    dns.stopAnsweringAfter(1);
    const started = performance.now();
    const r = await runMxdoctor(
      [
        'check',
        'quiet.test',
        '--json',
        '--no-smtp',
        '--resolver',
        dns.address,
        '--timeout',
        `${DEADLINE_MS}ms`,
      ],
      { env: { MXDOCTOR_DNS_TIMEOUT: '2s', MXDOCTOR_DNS_RETRIES: '1' }, timeoutMs: 30_000 },
    );
    const wallMs = performance.now() - started;
    assert.ok(r.stdout.startsWith('{'), `a JSON report on stdout; stderr: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as { durationMs: number; complete: boolean; checks: Finding[] };
    assert.ok(dns.queries.length > 1, 'queries kept coming after the resolver went silent');

    assert.ok(
      report.durationMs <= DEADLINE_MS + SLACK_MS,
      `the check took ${report.durationMs} ms (deadline ${DEADLINE_MS})`,
    );
    assert.ok(wallMs < DEADLINE_MS + 15_000, `the command took ${Math.round(wallMs)} ms`);
    assert.equal(report.complete, false, 'the report says it is incomplete');

    const resolver = report.checks.find((f) => f.id === 'dns.resolver');
    assert.ok(resolver && resolver.status !== 'pass', 'a finding about the resolver');
    assert.match(
      resolver.summary,
      new RegExp(`\\d+ of \\d+ DNS queries got no answer \\(from ${dns.address}\\)`),
    );

    const byId = (id: string) => report.checks.filter((f) => f.id === id);
    const cut = byId('pipeline.deadline');
    // The MX answer came, its host's address did not: "error" or cut short by the deadline —
    // never "no MX".
    const mx = byId('mx.records');
    assert.ok(
      mx.every((f) => f.status === 'error'),
      JSON.stringify(mx),
    );
    assert.ok(
      mx.length > 0 || cut.some((f) => /^MX\b/.test(f.summary)),
      'the MX check is reported: as an error, or as cut short',
    );
    // SPF and DMARC exist but could not be read: never reported missing.
    for (const id of ['spf.record', 'dmarc.record']) {
      for (const f of byId(id)) {
        assert.notEqual(f.status, 'pass', `${id}: ${f.summary}`);
        assert.doesNotMatch(f.summary, /publishes no|has no/i, `${id} must not claim the record is missing`);
      }
    }
    // Every "error" says why: a timeout, the silent resolver, or the deadline.
    for (const f of report.checks.filter((x) => x.status === 'error')) {
      assert.match(
        f.summary,
        /TIMEOUT|in time|no answer|timed out|could not be (looked up|resolved)|could not resolve|did not finish within the overall deadline|could not look up|failed/i,
        `${f.id}: ${f.summary}`,
      );
    }
    assert.ok(cut.length > 0, 'the checks the deadline cut short are named');
    for (const f of cut)
      assert.match(
        f.summary,
        new RegExp(`^.+ did not finish within the overall deadline of ${DEADLINE_MS / 1000} s`),
      );
  });
});
