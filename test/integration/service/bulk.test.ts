import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openApiValidator } from '../../support/openapi.js';
import { startTestService } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { freePort, startSmtpFake } from '../../support/smtp-fakes.js';
import type { SmtpFake } from '../../support/smtp-fakes.js';
import { createTestPki } from '../../support/test-ca.js';
import { message, prepend, rsaKey, sign } from '../../support/signed-mail.js';
import type { Report } from '../../../src/report/model.js';

/**
 * The bulk API against a real Redis and worker: a batch of six domains behind one MX (probed
 * once for the connection-level facts, across the batch's checks), its results as JSON Lines
 * and CSV and its completion webhook; a verification with a greylisted address asked again by
 * the delayed job; a message authenticated at once. Responses validate against the OpenAPI
 * document the service serves.
 */
describe('service: batches, verifications, authentications', () => {
  let t: TestService;
  let mx: SmtpFake;
  let grey: SmtpFake;
  let hook: Server;
  let hookUrl: string;
  const hooks: { headers: Record<string, unknown>; body: Record<string, unknown> }[] = [];
  let validate: (component: string, value: unknown) => string[];
  const key = rsaKey(2048);
  const domains = Array.from({ length: 6 }, (_, i) => `b${i}.example.com`);

  before(async () => {
    const port = await freePort();
    const pki = createTestPki('mxdoctor bulk service test');
    const leaf = pki.leaf({ names: ['mx.bulkhost.example.net'] });
    mx = await startSmtpFake({
      host: '127.0.0.70',
      port,
      name: 'mx.bulkhost.example.net',
      tls: { key: leaf.keyPem, cert: leaf.chainPem },
      users: ['alice'],
      domains,
    });
    grey = await startSmtpFake({
      host: '127.0.0.71',
      port,
      name: 'mx.grey.example.net',
      users: ['alice'],
      domains: ['grey.example.com'],
      greylistMs: 300,
    });
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hooks.push({ headers: req.headers, body: JSON.parse(body) as Record<string, unknown> });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    t = await startTestService({
      zones: {
        ...Object.fromEntries(domains.map((d) => [d, { MX: ['10 mx.bulkhost.example.net'] }])),
        'mx.bulkhost.example.net': { A: ['127.0.0.70'] },
        'grey.example.com': { MX: ['10 mx.grey.example.net'] },
        'mx.grey.example.net': { A: ['127.0.0.71'] },
        'good.example': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'] },
        '_dmarc.good.example': { TXT: ['v=DMARC1; p=reject'] },
        'sel._domainkey.good.example': { TXT: [key.txt] },
      },
      env: {
        MXDOCTOR_SMTP_PORT: String(port),
        MXDOCTOR_BATCH_MAX_DOMAINS: '10',
        MXDOCTOR_GREYLIST_REPROBE: '1s',
        MXDOCTOR_SECRET: 'a-test-secret-of-sixteen-plus',
        MXDOCTOR_CA_FILE: pki.rootFile,
      },
    });
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as Record<string, unknown>;
    validate = openApiValidator(doc);
  });
  after(async () => {
    await t?.stop();
    for (const f of [mx, grey]) {
      f?.assertNoMessageSent();
      await f?.stop();
    }
    hook?.close();
  });

  const poll = async <T extends { state?: string; status?: string }>(
    url: string,
    done: (b: T) => boolean,
  ) => {
    const until = Date.now() + 60_000;
    for (;;) {
      const body = (await (await fetch(`${t.url}${url}`)).json()) as T;
      if (done(body)) return body;
      if (Date.now() > until) throw new Error(`${url} not done: ${JSON.stringify(body).slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  };

  it('runs a batch: 202, progress per domain, results as JSON Lines and CSV, the webhook once, the MX probed once', async () => {
    const list = ['# customers', ...domains, 'not a domain!', domains[0]].join('\n');
    const res = await fetch(`${t.url}/api/v1/batches?webhook=${encodeURIComponent(hookUrl)}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: list,
    });
    assert.equal(res.status, 202);
    const accepted = (await res.json()) as { id: string; total: number; invalid: { line: number }[] };
    assert.deepEqual(validate('BatchAccepted', accepted), []);
    assert.equal(accepted.total, 6);
    assert.deepEqual(
      accepted.invalid.map((i) => i.line),
      [8],
    );
    const status = await poll<{
      state: string;
      items: { state: string; domain: string }[];
      counts: Record<string, number>;
    }>(`/api/v1/batches/${accepted.id}`, (b) => b.state === 'completed');
    assert.deepEqual(validate('BatchStatus', status), []);
    assert.deepEqual(
      status.items.map((i) => [i.domain, i.state]),
      domains.map((d) => [d, 'done']),
    );
    // Legacy TLS and the connection-level probe once for the MX address, then one session
    // per further domain for its own recipients: 1 + 1 + 5 = 7 (12 without sharing).
    assert.equal(mx.connections, 7);

    const jsonl = await fetch(`${t.url}/api/v1/batches/${accepted.id}/results?format=jsonl`);
    assert.equal(jsonl.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
    const reports = (await jsonl.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Report);
    assert.deepEqual(
      reports.map((r) => r.domain.ascii),
      domains,
    );
    for (const r of reports) assert.deepEqual(validate('Report', r), []);
    const csv = await (await fetch(`${t.url}/api/v1/batches/${accepted.id}/results?format=csv`)).text();
    const rows = csv.trim().split('\n');
    assert.match(rows[0]!, /^line,domain,verdict,score,fail,warn,error,info,pass,complete,Input & DNS,MX,/);
    assert.equal(rows.length, 7);
    assert.match(rows[1]!, /^2,b0\.example\.com,(pass|warn|fail),\d+,/);

    const until = Date.now() + 10_000;
    while (hooks.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.equal(hooks.length, 1);
    assert.equal(hooks[0]!.body.event, 'batch.completed');
    assert.equal(hooks[0]!.body.id, accepted.id);
    assert.match(String(hooks[0]!.headers['x-mxdoctor-signature']), /^sha256=[0-9a-f]{64}$/);

    const page = await (await fetch(`${t.url}/batches/${accepted.id}`)).text();
    assert.match(page, /Done: 6 of 6 checked/);
    assert.match(page, /b5\.example\.com/);
  });

  it('states the size limit in the error, and refuses what is not a list', async () => {
    const tooMany = await fetch(`${t.url}/api/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domains: Array.from({ length: 11 }, (_, i) => `x${i}.example.com`) }),
    });
    assert.equal(tooMany.status, 413);
    const body = (await tooMany.json()) as { error: { message: string } };
    assert.deepEqual(validate('Error', body), []);
    assert.match(body.error.message, /at most 10 domains/);
    const big = await fetch(`${t.url}/api/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'a.example.com\n'.repeat(80_000),
    });
    assert.equal(big.status, 413);
    assert.match(((await big.json()) as { error: { message: string } }).error.message, /1024 KiB/);
    const wrong = await fetch(`${t.url}/api/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: 'x',
    });
    assert.equal(wrong.status, 415);
  });

  it('verifies addresses, and asks a greylisted one again through the delayed job', async () => {
    const res = await fetch(`${t.url}/api/v1/verifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        addresses: ['alice@b0.example.com', 'nobody@b0.example.com', 'alice@grey.example.com'],
      }),
    });
    assert.equal(res.status, 202);
    const accepted = (await res.json()) as { id: string };
    assert.deepEqual(validate('VerificationAccepted', accepted), []);
    type V = {
      status: string;
      retry?: unknown;
      result?: { results: { input: string; verdict: string; reason: string; retried?: boolean }[] };
    };
    const first = await poll<V>(`/api/v1/verifications/${accepted.id}`, (b) => b.status === 'completed');
    assert.deepEqual(validate('VerificationStatus', first), []);
    const later = first.retry
      ? await poll<V>(`/api/v1/verifications/${accepted.id}`, (b) => b.status === 'completed' && !b.retry)
      : first;
    assert.ok(first.retry, 'the greylisted address is scheduled for a retry');
    assert.deepEqual(
      later.result!.results.map((r) => [r.input, r.verdict, r.reason, r.retried ?? false]),
      [
        ['alice@b0.example.com', 'deliverable', 'accepted', false],
        ['nobody@b0.example.com', 'undeliverable', 'user_unknown', false],
        ['alice@grey.example.com', 'deliverable', 'accepted', true],
      ],
    );
  });

  it('authenticates a message at once', async () => {
    const signed = await sign(
      message({ From: 'alice@good.example', To: 'bob@example.org', Subject: 'Hi' }, 'Hello\n'),
      key,
      'good.example',
      'sel',
    );
    const msg = prepend(signed, [
      [
        'Received',
        'from mail.good.example (mail.good.example [192.0.2.10]) by mx.example.org; Thu, 3 Dec 2026 10:00:00 +0000',
      ],
    ]);
    const res = await fetch(`${t.url}/api/v1/authentications?mailFrom=alice@good.example`, {
      method: 'POST',
      headers: { 'content-type': 'message/rfc822' },
      body: msg,
    });
    assert.equal(res.status, 200);
    const report = (await res.json()) as {
      spf: { result: string };
      dmarc: { result: string };
      dkim: { result: string }[];
    };
    assert.deepEqual(validate('AuthReport', report), []);
    assert.deepEqual(
      [report.spf.result, report.dkim[0]?.result, report.dmarc.result],
      ['pass', 'pass', 'pass'],
    );
    const notAMessage = await fetch(`${t.url}/api/v1/authentications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'no headers here' }),
    });
    assert.equal(notAMessage.status, 400);
    for (const page of ['/batches', '/authenticate'])
      assert.equal((await fetch(`${t.url}${page}`)).status, 200);
  });
});
