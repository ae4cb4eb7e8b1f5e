import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient } from '../../src/dns/client.js';
import { runSubmission } from '../../src/submission/run.js';
import type { SubmissionRunOptions } from '../../src/submission/run.js';
import { evaluateSubmission } from '../../src/submission/evaluate.js';
import { discoverSubmission, publishesSrv } from '../../src/submission/hosts.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { startStartTlsServer } from '../support/starttls-server.js';
import type { StartTlsServer } from '../support/starttls-server.js';
import { createTestPki, DAYS } from '../support/test-ca.js';

/**
 * The submission probe against loopback servers found through RFC 6186 SRV records served
 * by a fixture resolver: implicit TLS on "465", a "587" that offers AUTH before STARTTLS, a
 * correct "587", and one without STARTTLS. Ports come from the SRV records, so the servers
 * listen on free ports.
 */
describe('submission ports', () => {
  const pki = createTestPki();
  const good = pki.leaf({ names: ['smtp.good.test'] });
  const servers: StartTlsServer[] = [];
  let dns: FixtureDns;
  let client: DnsClient;
  let implicit: StartTlsServer;
  let authFirst: StartTlsServer;
  let proper: StartTlsServer;
  let plainOnly: StartTlsServer;
  let wrongName: StartTlsServer;

  before(async () => {
    const tls = { key: good.keyPem, cert: good.chainPem };
    implicit = await startStartTlsServer({ name: 'smtp.good.test', tls, implicit: true });
    proper = await startStartTlsServer({ name: 'smtp.good.test', tls, plainExtensions: ['PIPELINING'] });
    authFirst = await startStartTlsServer({
      host: '127.0.0.2',
      name: 'smtp.leaky.test',
      tls: { key: good.keyPem, cert: good.chainPem },
      plainExtensions: ['PIPELINING', 'AUTH PLAIN LOGIN'],
    });
    plainOnly = await startStartTlsServer({
      host: '127.0.0.3',
      name: 'smtp.plain.test',
      tls,
      starttls: false,
    });
    const expired = pki.leaf({ names: ['other.test'], notBefore: DAYS(-30), notAfter: DAYS(-1) });
    wrongName = await startStartTlsServer({
      host: '127.0.0.4',
      name: 'smtp.badcert.test',
      tls: { key: expired.keyPem, cert: expired.chainPem },
      implicit: true,
    });
    servers.push(implicit, proper, authFirst, plainOnly, wrongName);
    dns = await startFixtureDns({
      zones: {
        '_submissions._tcp.good.test': { SRV: [`0 1 ${implicit.port} smtp.good.test`] },
        '_submission._tcp.good.test': { SRV: [`0 1 ${proper.port} smtp.good.test`] },
        'smtp.good.test': { A: ['127.0.0.1'] },
        '_submission._tcp.leaky.test': { SRV: [`0 1 ${authFirst.port} smtp.leaky.test`] },
        'smtp.leaky.test': { A: ['127.0.0.2'] },
        '_submission._tcp.plain.test': { SRV: [`0 1 ${plainOnly.port} smtp.plain.test`] },
        'smtp.plain.test': { A: ['127.0.0.3'] },
        '_submissions._tcp.badcert.test': { SRV: [`0 1 ${wrongName.port} smtp.badcert.test`] },
        'smtp.badcert.test': { A: ['127.0.0.4'] },
        '_submissions._tcp.gone.test': { SRV: ['0 1 465 smtp.gone.test'] },
        'smtp.gone.test': { A: ['127.0.0.5'] },
        '_submissions._tcp.none.test': { SRV: ['0 0 0 .'] },
        '_submission._tcp.none.test': { SRV: ['0 0 0 .'] },
        'guess.test': { A: ['127.0.0.1'] },
        'mail.guess.test': { A: ['127.0.0.6'] },
      },
    });
    client = new DnsClient({ servers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 500, retries: 0 });
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await dns.stop();
  });

  const run = (domain: string, extra: Partial<SubmissionRunOptions> = {}) =>
    runSubmission({
      dns: client,
      domain,
      reason: 'srv',
      heloName: 'probe.mxdoctor.test',
      timeouts: { connectMs: 1000, bannerMs: 1000, commandMs: 1000, tlsMs: 2000 },
      allowPrivate: true,
      trust: [pki.root.certPem],
      now: new Date(),
      signal: AbortSignal.timeout(20_000),
      ...extra,
    });
  const statuses = (findings: { id: string; status: string }[]) => findings.map((f) => `${f.id}=${f.status}`);

  it('passes implicit TLS on 465 and STARTTLS with AUTH only after TLS on 587', async () => {
    const data = await run('good.test');
    assert.deepEqual(
      data.probes.map((p) => [p.mode, p.port, p.outcome]),
      [
        ['implicit', implicit.port, 'ok'],
        ['starttls', proper.port, 'ok'],
      ],
    );
    assert.deepEqual(statuses(evaluateSubmission(data, 'good.test')), [
      'submission.hosts=pass',
      'submission.implicit_tls=pass',
      'submission.certificate=pass',
      'submission.starttls=pass',
      'submission.auth_before_tls=pass',
      'submission.certificate=pass',
    ]);
    // Never authenticated, never sent: only EHLO, STARTTLS and QUIT.
    for (const s of [implicit, proper])
      assert.deepEqual(
        [...new Set(s.commands.map((c) => c.split(' ')[0]))].sort(),
        s === implicit ? ['EHLO', 'QUIT'] : ['EHLO', 'QUIT', 'STARTTLS'],
      );
  });

  it('fails a 587 that offers AUTH PLAIN LOGIN before STARTTLS', async () => {
    const data = await run('leaky.test');
    const f = evaluateSubmission(data, 'leaky.test').find((x) => x.id === 'submission.auth_before_tls')!;
    assert.equal(f.status, 'fail');
    assert.match(f.summary, /PLAIN and LOGIN send the password as it is/);
    assert.equal(authFirst.violation, undefined);
    assert.ok(!authFirst.commands.some((c) => /^AUTH/i.test(c)));
  });

  it('fails a 587 without STARTTLS, and a certificate that is expired and for another name', async () => {
    const plain = evaluateSubmission(await run('plain.test'), 'plain.test');
    assert.equal(plain.find((x) => x.id === 'submission.starttls')!.status, 'fail');
    const bad = evaluateSubmission(await run('badcert.test'), 'badcert.test');
    const cert = bad.find((x) => x.id === 'submission.certificate')!;
    assert.equal(cert.status, 'fail');
    assert.match(cert.summary, /not valid for smtp\.badcert\.test/);
    assert.match(cert.summary, /expired/);
  });

  it('fails an SRV record pointing at a closed port', async () => {
    const findings = evaluateSubmission(await run('gone.test'), 'gone.test');
    assert.equal(findings.find((x) => x.id === 'submission.implicit_tls')!.status, 'fail');
  });

  it('reads SRV "." as a declaration that there is no submission service', async () => {
    const data = await run('none.test');
    assert.deepEqual(data.srv.declined, ['submissions', 'submission']);
    assert.deepEqual(data.probes, []);
    assert.deepEqual(statuses(evaluateSubmission(data, 'none.test')), ['submission.hosts=info']);
  });

  it('falls back to the names clients guess when no SRV record exists', async () => {
    const d = await discoverSubmission(client, 'guess.test', AbortSignal.timeout(5000));
    assert.equal(publishesSrv(d), false);
    assert.deepEqual(d.guessed, ['mail.guess.test']);
    assert.deepEqual(
      d.targets.map((t) => `${t.host}:${t.port}/${t.mode}/${t.from}`),
      ['mail.guess.test:465/implicit/guess', 'mail.guess.test:587/starttls/guess'],
    );
  });

  it('does not connect to loopback unless private addresses are allowed', async () => {
    const before = implicit.connections;
    const data = await run('good.test', { allowPrivate: false });
    assert.ok(data.probes.every((p) => p.outcome === 'forbidden'));
    assert.equal(implicit.connections, before);
  });
});
