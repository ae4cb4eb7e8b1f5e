import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Report } from '../../../src/report/model.js';
import type { SmtpData } from '../../../src/smtp/model.js';
import { freePort, startSmtpFake } from '../../support/smtp-fakes.js';
import type { SmtpFake } from '../../support/smtp-fakes.js';
import { createTestPki } from '../../support/test-ca.js';
import { startTestService, waitForCheck } from '../../support/service.js';
import type { TestService } from '../../support/service.js';

/**
 * Thousands of domains sit behind a few providers' MX hosts. Two domains hosted on one MX:
 * the second check reuses the connection-level results (banner, EHLO, TLS, certificate) the
 * first stored in Redis, says how old they are, and only opens a session for its own
 * recipients.
 */
describe('service: checks of domains that share an MX share its connection results', () => {
  let t: TestService;
  let mx: SmtpFake;

  before(async () => {
    const port = await freePort();
    const pki = createTestPki('mxdoctor shared-mx test');
    const leaf = pki.leaf({ names: ['mx.hoster.example.net'] });
    mx = await startSmtpFake({
      host: '127.0.0.69',
      port,
      name: 'mx.hoster.example.net',
      tls: { key: leaf.keyPem, cert: leaf.chainPem },
      users: ['alice'],
      domains: ['one.example.com', 'two.example.com'],
    });
    t = await startTestService({
      zones: {
        'one.example.com': { MX: ['10 mx.hoster.example.net'] },
        'two.example.com': { MX: ['10 mx.hoster.example.net'] },
        'mx.hoster.example.net': { A: ['127.0.0.69'] },
      },
      env: { MXDOCTOR_SMTP_PORT: String(port), MXDOCTOR_SMTP_LEGACY_TLS: 'false' },
    });
  });
  after(async () => {
    await t?.stop();
    await mx?.stop();
  });

  const check = async (domain: string): Promise<Report> => {
    const res = await fetch(`${t.url}/api/v1/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domain }),
    });
    const { id } = (await res.json()) as { id: string };
    return (await waitForCheck(t.url, id)).report as Report;
  };

  it('uses the cached banner, EHLO and certificate for the second domain and says so', async () => {
    const first = await check('one.example.com');
    const connectionsAfterFirst = mx.connections;
    const second = await check('two.example.com');
    const a = first.data.smtp as SmtpData;
    const b = second.data.smtp as SmtpData;
    assert.equal(a.tls[0]!.cached, undefined, 'the first check probed for itself');
    assert.ok(b.tls[0]!.cached?.storedAt, 'the second used the shared cache');
    assert.equal(b.tls[0]!.chain[0]!.sha256, a.tls[0]!.chain[0]!.sha256);
    assert.deepEqual(
      b.sessions.map((s) => [s.kind, Boolean(s.cached)]),
      [
        ['probe', true],
        ['rcpt', false],
      ],
      'the cached connection facts, and one session of its own for its recipients (postmaster, catch-all)',
    );
    assert.equal(mx.connections - connectionsAfterFirst, 1);
    assert.equal(second.checks.find((f) => f.id === 'smtp.starttls')?.status, 'pass');
    assert.equal(second.checks.find((f) => f.id === 'smtp.postmaster')?.status, 'pass');

    const page = await (
      await fetch(
        `${t.url}/checks/${((await (await fetch(`${t.url}/api/v1/domains/two.example.com/checks`)).json()) as { checks: { id: string }[] }).checks[0]!.id}`,
      )
    ).text();
    assert.match(page, /from the shared cache, [^<]* old/);
    mx.assertNoMessageSent();
  });
});
