import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { runMxdoctor } from '../../support/cli.js';

/**
 * Fault: the only resolver is dead (a wrong --resolver, a firewall that drops port 53). Every
 * question times out; with the defaults, each was asked once per attempt and the checks'
 * queries waited in line behind the first ones, so the check took 27 s to say that nothing
 * could be determined. Now the client asks the resolver for the root zone's NS records when its
 * first attempt fails, and asks it nothing more once that goes unanswered too: each question at
 * most once, whatever the number of retries.
 */
describe('fault: the resolver never answers', { timeout: 60_000 }, () => {
  let hole: Socket;
  const received: string[] = [];
  before(async () => {
    hole = createSocket('udp4');
    hole.on('message', (m: Buffer) => received.push(m.subarray(12).toString('latin1')));
    await new Promise<void>((resolve) => hole.bind(0, '127.0.0.1', resolve));
  });
  after(() => hole.close());

  it('asks each question once, then reports that nothing could be determined', async () => {
    const resolver = `127.0.0.1:${hole.address().port}`;
    const r = await runMxdoctor(['check', 'example.com', '--json', '--no-smtp', '--resolver', resolver], {
      env: { MXDOCTOR_DNS_TIMEOUT: '300ms', MXDOCTOR_DNS_RETRIES: '2' },
      timeoutMs: 30_000,
    });
    assert.ok(r.stdout.startsWith('{'), `a JSON report on stdout; stderr: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as {
      complete: boolean;
      checks: { id: string; status: string; summary: string }[];
      dnsLog: { name: string; type: string; rcode: string }[];
    };
    assert.equal(report.complete, false);
    const resolverFinding = report.checks.find((f) => f.id === 'dns.resolver');
    assert.equal(resolverFinding?.status, 'error');
    assert.match(resolverFinding.summary, /No DNS resolver answered/);
    const mx = report.checks.find((f) => f.id === 'mx.records');
    assert.equal(mx?.status, 'error', 'no verdict about the domain from a resolver that never answered');

    // Every datagram the dead resolver got is in the report's log, and no question twice.
    assert.equal(report.dnsLog.length, received.length);
    const questions = report.dnsLog.map((e) => `${e.name} ${e.type}`);
    assert.deepEqual(
      questions.filter((q, i) => questions.indexOf(q) !== i),
      [],
      'no question asked twice',
    );
    assert.ok(questions.includes(' NS'), 'the liveness query for the root zone is in the log');
    assert.ok(
      report.dnsLog.every((e) => e.rcode === 'TIMEOUT'),
      'every exchange on the wire timed out',
    );
  });
});
