import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openApiValidator } from '../../support/openapi.js';
import { startTestService } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { INBOUND_DOMAIN, INBOUND_ZONES, sendTestMessage } from '../../support/inbound.js';

/**
 * The inbound test through the service, against a real Redis and worker: open a test with
 * the API, send a DKIM-signed message to the receiver the web process runs, follow the page's
 * progress stream, read the report through the API (validated against the served OpenAPI
 * document) and on the page (remote text escaped); the address takes one message only.
 */
const MARKUP = '<img src=x onerror=alert(1)>';

interface StatusBody {
  id: string;
  status: string;
  address: string;
  expiresAt: string;
  sender?: { ip: string; tls?: string };
  report?: {
    verdict: string;
    checks: { id: string; status: string }[];
    connection: { tls: { protocol?: string } };
    domainCheck?: { domain: string; id?: string; url?: string };
    score: { value: number | null };
  };
  links: Record<string, string>;
}

describe('inbound test through the service', () => {
  let t: TestService;
  let validate: (component: string, value: unknown) => string[];
  before(async () => {
    t = await startTestService({
      zones: INBOUND_ZONES,
      env: {
        MXDOCTOR_INBOUND_LISTEN: '127.0.0.1:0',
        MXDOCTOR_INBOUND_DOMAIN: INBOUND_DOMAIN,
        MXDOCTOR_DNSBLS: 'off',
        MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
      },
    });
    validate = openApiValidator(
      (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as Record<string, unknown>,
    );
  });
  after(async () => {
    await t.stop();
  });

  const port = () => t.service.inbound.receiver!.port;
  const get = async (id: string): Promise<StatusBody> => {
    const res = await fetch(`${t.url}/api/v1/inbound-tests/${id}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as StatusBody;
    assert.deepEqual(validate('InboundTestStatus', body), []);
    return body;
  };
  async function until(id: string, status: string): Promise<StatusBody> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const body = await get(id);
      if (body.status === status) return body;
      if (Date.now() > deadline) throw new Error(`test ${id} still ${body.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('opens a test, receives one signed message over STARTTLS and reports SPF, DKIM and DMARC pass', async () => {
    const res = await fetch(`${t.url}/api/v1/inbound-tests`, { method: 'POST' });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { id: string; address: string; expiresAt: string };
    assert.deepEqual(validate('InboundTestCreated', created), []);
    assert.equal(res.headers.get('location'), `/api/v1/inbound-tests/${created.id}`);
    assert.match(created.address, new RegExp(`^test-[a-z2-7]{26}@${INBOUND_DOMAIN.replace(/\./g, '\\.')}$`));
    assert.ok(Date.parse(created.expiresAt) > Date.now());
    assert.equal((await get(created.id)).status, 'waiting');

    // The page's progress stream, opened while the test waits.
    const stream = await fetch(`${t.url}/inbound/${created.id}/events`);
    assert.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = stream.body!.getReader();
    let events = '';
    const streamed = (async () => {
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        events += decoder.decode(value);
        if (events.includes('event: done')) return;
      }
    })();

    const reply = await sendTestMessage({
      port: port(),
      to: created.address,
      dkimDomain: 'good.sender.example',
      subject: `Hello ${MARKUP}`,
    });
    assert.match(reply, /^250 2\.0\.0 Test message received/);
    // The sender's logs keep the reply: it must not carry the id that opens the report.
    assert.ok(!reply.includes(created.id.slice(0, 8)), reply);
    const analysed = await until(created.id, 'analysed');
    await Promise.race([streamed, new Promise((r) => setTimeout(r, 5000))]);
    await reader.cancel().catch(() => {});
    assert.match(events, /event: progress/);
    assert.match(events, /event: done\ndata: \{"status":"completed"\}/);

    const r = analysed.report!;
    const statusOf = (id: string) => r.checks.find((f) => f.id === id)?.status;
    assert.equal(statusOf('auth.spf'), 'pass');
    assert.equal(statusOf('auth.dkim'), 'pass');
    assert.equal(statusOf('auth.dmarc'), 'pass');
    assert.match(r.connection.tls.protocol ?? '', /^TLSv1\.[23]$/);
    assert.equal(analysed.sender?.ip, '127.0.0.1');
    assert.equal(analysed.sender?.tls, r.connection.tls.protocol);
    // The From domain's check was queued beside the analysis.
    assert.equal(r.domainCheck?.domain, 'good.sender.example');
    assert.match(r.domainCheck?.id ?? '', /^[A-Za-z0-9_-]{22}$/);
    const check = await fetch(`${t.url}/api/v1/checks/${r.domainCheck!.id}`);
    assert.equal(check.status, 200);

    // The page shows the report, the remote subject as text.
    const page = await (await fetch(`${t.url}/inbound/${created.id}`)).text();
    assert.match(page, /What a receiver sees of your message/);
    assert.ok(!page.includes(MARKUP));
    assert.ok(page.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.match(page, new RegExp(`href="/checks/${r.domainCheck!.id}"`));
    const json = await fetch(`${t.url}/inbound/${created.id}/report.json`);
    assert.equal(json.status, 200);

    // Single use: a second message to the same address is refused at RCPT.
    await assert.rejects(
      sendTestMessage({ port: port(), to: created.address, dkimDomain: 'good.sender.example' }),
      /has received its message already/,
    );
  });

  it('refuses addresses that were never handed out, and says 404 for unknown tests', async () => {
    await assert.rejects(
      sendTestMessage({ port: port(), to: `test-${'a'.repeat(26)}@${INBOUND_DOMAIN}` }),
      /unknown or has expired/,
    );
    const res = await fetch(`${t.url}/api/v1/inbound-tests/${'A'.repeat(22)}`);
    assert.equal(res.status, 404);
    assert.equal((await fetch(`${t.url}/inbound/${'A'.repeat(22)}`)).status, 404);
  });

  it('tells an expired test from a waiting one', async () => {
    const created = (await (await fetch(`${t.url}/api/v1/inbound-tests`, { method: 'POST' })).json()) as {
      id: string;
    };
    const later = new Date(Date.now() + t.config.inbound.testTtlMs + 1000);
    assert.equal((await t.service.inbound.tests.status(created.id, later))?.status, 'expired');
    assert.equal((await t.service.inbound.tests.status(created.id))?.status, 'waiting');
  });

  it('opens a test from the web form (CSRF-protected) and shows the address while it waits', async () => {
    const start = await fetch(`${t.url}/inbound`);
    const html = await start.text();
    const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0]!;
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const refused = await fetch(`${t.url}/inbound`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    assert.equal(refused.status, 403);
    const res = await fetch(`${t.url}/inbound`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token }).toString(),
    });
    assert.equal(res.status, 303);
    const location = res.headers.get('location') ?? '';
    assert.match(location, /^\/inbound\/[A-Za-z0-9_-]{22}$/);
    const page = await (await fetch(`${t.url}${location}`)).text();
    assert.match(page, /Send a test message/);
    assert.match(
      page,
      new RegExp(`<code id="test-address">test-[a-z2-7]{26}@${INBOUND_DOMAIN.replace(/\./g, '\\.')}</code>`),
    );
    assert.match(page, /data-events="\/inbound\/[A-Za-z0-9_-]{22}\/events"/);
  });
});
