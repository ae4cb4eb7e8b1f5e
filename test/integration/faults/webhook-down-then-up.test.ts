import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { ADMIN_TOKEN, WebhookReceiver, api, waitFor } from '../../support/monitor.js';
import { startTestService, unusedPort } from '../../support/service.js';
import type { TestService } from '../../support/service.js';

/**
 * Fault: the webhook receiver is down when an alert goes out, and comes back later (issue 13
 * §8). Through the real service (web + worker, BullMQ on Redis): the delivery is retried with
 * backoff while nothing listens on the receiver's port, every failed attempt is in the
 * monitor's delivery log, and once the receiver is up the alert arrives exactly once — no
 * second copy from a retry that was already queued.
 *
 * The alert: the monitored domain is listed on a domain blocklist from the first run, which
 * alerts at once (a listing is news even as the baseline).
 */
const SOA = ['ns.example.net hostmaster.example.net 1 3600 600 86400 300'];

describe('fault: webhook receiver down, then up', { timeout: 90_000 }, () => {
  let dns: FixtureDns;
  let t: TestService;
  let port: number;
  let hook: WebhookReceiver | undefined;

  before(async () => {
    dns = await startFixtureDns({
      zones: {
        'hooked.test': { MX: ['10 mx.hooked.test'], SOA, TXT: ['v=spf1 -all'] },
        'mx.hooked.test': { A: ['127.0.0.61'] },
        'hooked.test.dbl.example.test': { A: ['127.0.1.2'] },
      },
    });
    port = await unusedPort();
    t = await startTestService({
      dns,
      env: {
        MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN,
        MXDOCTOR_DNSBLS: 'off',
        MXDOCTOR_DOMAIN_BLOCKLISTS: 'dbl.example.test',
        MXDOCTOR_ALERT_BACKOFF: '250ms',
        MXDOCTOR_ALERT_ATTEMPTS: '10',
        MXDOCTOR_WEBHOOK_TIMEOUT: '2s',
      },
    });
  });
  after(async () => {
    await t?.stop();
    await hook?.stop();
    await dns?.stop();
  });

  it('retries while the receiver is down and delivers exactly once when it is back', async () => {
    const created = await api<{ id: string; destinations: { id: string; secret?: string }[] }>(
      t.url,
      'POST',
      '/api/v1/monitors',
      {
        domain: 'hooked.test',
        schedule: { every: '1h' },
        options: { smtp: false },
        destinations: [{ type: 'webhook', url: `http://127.0.0.1:${port}/hooks/mxdoctor` }],
      },
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    type Delivery = { status: string; type: string; attempt: number; detail: string; deliveryId: string };
    const deliveries = async (): Promise<Delivery[]> =>
      (await api<{ deliveries: Delivery[] }>(t.url, 'GET', `/api/v1/monitors/${id}`)).body.deliveries ?? [];

    // Down: nothing listens on the port. Wait for two failed attempts, each recorded.
    const failed = await waitFor(
      async () => {
        const d = (await deliveries()).filter((x) => x.type === 'webhook' && x.status === 'retrying');
        return d.length >= 2 && d;
      },
      'two failed delivery attempts',
      30_000,
    );
    assert.ok(
      failed.every((d) => /could not connect|refused|ECONNREFUSED/i.test(d.detail)),
      failed.map((d) => d.detail).join(' | '),
    );
    assert.equal(new Set(failed.map((d) => d.deliveryId)).size, 1, 'retries of one delivery');

    // Up again, on the same port.
    hook = await new WebhookReceiver().start(port);
    hook.secret = created.body.destinations[0]!.secret ?? '';
    const sent = await waitFor(
      async () => (await deliveries()).find((x) => x.type === 'webhook' && x.status === 'sent'),
      'the delivery once the receiver is up',
      30_000,
    );
    assert.equal(sent.deliveryId, failed[0]!.deliveryId);
    assert.ok(
      sent.attempt > failed.length,
      `sent at attempt ${sent.attempt} after ${failed.length} failures`,
    );

    // Exactly one request reached the receiver, and no retry follows the success.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(hook.received.length, 1, 'one request at the receiver');
    const [request] = hook.received;
    assert.equal(request!.headers['x-mxdoctor-delivery'], sent.deliveryId);
    assert.ok(request!.signatureValid, 'signed');
    assert.ok(
      (request!.json.alerts as { rule: string }[]).some((a) => a.rule === 'dnsbl_listed'),
      JSON.stringify(request!.json),
    );
    const after = await deliveries();
    assert.equal(after.filter((x) => x.status === 'sent').length, 1, 'one "sent" in the delivery log');
    assert.ok(!after.some((x) => x.status === 'failed'), 'no attempt failed for good');
  });
});
