import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openApiValidator } from '../../support/openapi.js';
import { bounceValidator } from '../../support/bounce-schema.js';
import { Queue } from 'bullmq';
import { connectTestRedis } from '../../support/redis.js';
import { QUEUE_BOUNCES } from '../../../src/queue/names.js';
import { DiagnosisStore } from '../../../src/store/diagnoses.js';
import { startTestService } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { postfixDsn, received } from '../../fixtures/bounce-messages.js';
import { SENDER_IPS, senderZones } from '../../fixtures/zones/bounce-followups.js';
import type { Diagnosis } from '../../../src/bounce/index.js';

/**
 * Bounce diagnosis through the service: the JSON API (JSON and raw message bodies, errors,
 * rate limits, tokens, storage and retention) and the web pages (form with paste and upload,
 * CSRF, size limit, the diagnosis page with everything remote escaped), against a real Redis
 * and worker. Real responses are validated against the served OpenAPI document.
 */

const MARKUP = '<img src=x onerror=alert(1)>';

const BLOCKED = postfixDsn(
  'mail.shop.example',
  [
    {
      recipient: 'ivan@example.net',
      remote: 'mx.example.net[93.184.216.10]',
      reply: `554 5.7.1 Service unavailable; Client host [${SENDER_IPS.listed}] blocked using zen.spamhaus.org ${MARKUP}`,
      status: '5.7.1',
      command: 'RCPT TO',
    },
    {
      recipient: 'gone@example.net',
      remote: 'mx.example.net[93.184.216.10]',
      reply:
        '550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown in local recipient table',
      status: '5.1.1',
      command: 'RCPT TO',
    },
  ],
  {
    from: 'news@shop.example',
    returnPath: 'bounces@shop.example',
    to: 'customer@example.net',
    subject: `Offer ${MARKUP}`,
    received: [received('mail.shop.example', 'mail.shop.example', SENDER_IPS.listed, 'relay.example.net')],
  },
);

type Status = {
  id: string;
  status: string;
  diagnosis?: Diagnosis;
  error?: string;
  errorCode?: string;
  links: Record<string, string>;
};

async function waitForBounce(url: string, id: string, timeoutMs = 30_000): Promise<Status> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const body = (await (await fetch(`${url}/api/v1/bounces/${id}`)).json()) as Status;
    if (!['queued', 'active'].includes(body.status)) return body;
    if (Date.now() > until) throw new Error(`bounce ${id} still ${body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('bounce diagnosis through the JSON API', () => {
  let t: TestService;
  let validate: (component: string, value: unknown) => string[];
  const validDiagnosis = bounceValidator();
  before(async () => {
    t = await startTestService({
      zones: senderZones(),
      env: {
        MXDOCTOR_DNSBLS: 'zen.spamhaus.org',
        MXDOCTOR_BOUNCE_MAX_SIZE: '64K',
        MXDOCTOR_BOUNCE_RETENTION: '2h',
      },
    });
    validate = openApiValidator(
      (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as Record<string, unknown>,
    );
  });
  after(async () => t.stop());

  const post = (body: string, type = 'application/json', query = '') =>
    fetch(`${t.url}/api/v1/bounces${query}`, { method: 'POST', headers: { 'content-type': type }, body });

  it('queues a JSON {message}, runs the follow-ups in a worker, and returns the diagnosis (202 → GET)', async () => {
    const res = await post(JSON.stringify({ message: BLOCKED, smtp: false }));
    assert.equal(res.status, 202);
    const accepted = (await res.json()) as { id: string; status: string; links: { self: string } };
    assert.deepEqual(validate('BounceAccepted', accepted), []);
    assert.equal(res.headers.get('location'), `/api/v1/bounces/${accepted.id}`);
    assert.equal(accepted.status, 'queued');

    const done = await waitForBounce(t.url, accepted.id);
    assert.deepEqual(validate('BounceStatus', done), []);
    assert.equal(done.status, 'completed');
    assert.deepEqual(validDiagnosis(done.diagnosis), [], 'the diagnosis matches docs/bounce.schema.json');
    const [blocked, gone] = done.diagnosis!.bounces;
    assert.equal(blocked!.reason, 'blocked');
    const dnsbl = blocked!.followups.find((f) => f.id === 'sending_ip_dnsbl')!;
    assert.equal(dnsbl.verdict, 'confirmed');
    assert.match(dnsbl.summary, /93\.184\.216\.66 is listed on zen\.spamhaus\.org/);
    assert.equal(gone!.reason, 'user_unknown');
    assert.match(gone!.followups[0]!.summary, /switched off/, 'smtp: false reached the follow-ups');
    assert.equal(done.links.json, `/bounces/${accepted.id}/diagnosis.json`);

    // The bounce text is gone once diagnosed; the diagnosis is kept for the retention period.
    const redis = connectTestRedis();
    try {
      assert.equal(await redis.exists(`${t.prefix}:bounce-input:${accepted.id}`), 0);
      const ttl = await redis.pttl(`${t.prefix}:bounce:${accepted.id}`);
      assert.ok(ttl > 0 && ttl <= 2 * 3_600_000, `retention 2h, PTTL ${ttl}`);
    } finally {
      redis.disconnect();
    }
    // The worker logged the job with the id of the request that queued it.
    const started = t.logs.lines.find((l) => l.msg === 'bounce diagnosis started' && l.jobId === accepted.id);
    assert.equal(started?.reqId, res.headers.get('x-request-id'));

    const download = await fetch(`${t.url}/bounces/${accepted.id}/diagnosis.json`);
    assert.match(
      download.headers.get('content-disposition') ?? '',
      /^attachment; filename="mxdoctor-bounce-\d{4}-\d\d-\d\d-/,
    );
    assert.deepEqual(await download.json(), done.diagnosis);
  });

  it('takes the message itself as message/rfc822 or text/plain, with options as query parameters', async () => {
    const res = await post(BLOCKED, 'message/rfc822', '?followups=false');
    assert.equal(res.status, 202);
    const done = await waitForBounce(t.url, ((await res.json()) as { id: string }).id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(
      done.diagnosis!.bounces.map((b) => b.followups.length),
      [0, 0],
    );
    const reply = await post(
      '550-5.7.26 This mail has been blocked because the sender is\r\n550 5.7.26 unauthenticated.',
      'text/plain; charset=utf-8',
      '?followups=0',
    );
    const r = await waitForBounce(t.url, ((await reply.json()) as { id: string }).id);
    assert.equal(r.diagnosis!.kind, 'smtp-reply');
    assert.equal(r.diagnosis!.bounces[0]!.reason, 'auth_failure');
  });

  it('reports input that is not a bounce as rejected, with what is accepted', async () => {
    const res = await post('Dear support, my newsletter does not arrive. Can you help?\n', 'text/plain');
    assert.equal(res.status, 202);
    const done = await waitForBounce(t.url, ((await res.json()) as { id: string }).id);
    assert.deepEqual(validate('BounceStatus', done), []);
    assert.equal(done.status, 'rejected');
    assert.equal(done.errorCode, 'not_a_bounce');
    assert.match(done.error ?? '', /No bounce found/);
    assert.equal(done.diagnosis, undefined);
  });

  const cases: {
    name: string;
    send: () => Promise<Response>;
    status: number;
    code: string;
    field?: string;
    message: RegExp;
  }[] = [
    {
      name: 'malformed JSON',
      send: () => post('{"message": "550'),
      status: 400,
      code: 'invalid_json',
      message: /\{"message": "<the bounce>"\}/,
    },
    {
      name: 'a missing message',
      send: () => post('{"followups": false}'),
      status: 400,
      code: 'invalid_request',
      field: 'message',
      message: /message is required/,
    },
    {
      name: 'an unknown field',
      send: () => post('{"message": "550 5.1.1 x", "domain": "x"}'),
      status: 400,
      code: 'invalid_request',
      field: 'domain',
      message: /accepted: message, followups, smtp/,
    },
    {
      name: 'a non-boolean option',
      send: () => post('{"message": "550 5.1.1 x", "smtp": "no"}'),
      status: 400,
      code: 'invalid_request',
      field: 'smtp',
      message: /smtp must be true or false/,
    },
    {
      name: 'an empty message',
      send: () => post('{"message": "  \\n "}'),
      status: 400,
      code: 'invalid_request',
      field: 'message',
      message: /The input is empty/,
    },
    {
      name: 'binary data',
      send: () => post(Buffer.alloc(600, 1).toString('latin1'), 'message/rfc822'),
      status: 400,
      code: 'invalid_request',
      field: 'message',
      message: /binary data/,
    },
    {
      name: 'a message over the size limit (JSON)',
      send: () => post(JSON.stringify({ message: 'x'.repeat(70 * 1024) })),
      status: 413,
      code: 'payload_too_large',
      field: 'message',
      message: /larger than the 64 KiB accepted \(MXDOCTOR_BOUNCE_MAX_SIZE\)/,
    },
    {
      name: 'a message over the size limit (raw)',
      send: () => post('x'.repeat(70 * 1024), 'text/plain'),
      status: 413,
      code: 'payload_too_large',
      field: 'message',
      message: /larger than the 64 KiB accepted/,
    },
    {
      name: 'an unsupported content type',
      send: () => post('message=550', 'application/x-www-form-urlencoded'),
      status: 415,
      code: 'unsupported_media_type',
      message: /application\/json .* message\/rfc822/,
    },
    {
      name: 'query options with a JSON body',
      send: () => post('{"message": "550 5.1.1 x"}', 'application/json', '?smtp=false'),
      status: 400,
      code: 'invalid_request',
      field: 'smtp',
      message: /give the options in it/,
    },
    {
      name: 'an unknown query parameter',
      send: () => post('550 5.1.1 x', 'text/plain', '?verbose=1'),
      status: 400,
      code: 'invalid_request',
      field: 'verbose',
      message: /Unknown query parameter "verbose"/,
    },
    {
      name: 'an unknown id',
      send: () => fetch(`${t.url}/api/v1/bounces/AAAAAAAAAAAAAAAAAAAAAA`),
      status: 404,
      code: 'not_found',
      field: 'id',
      message: /No bounce diagnosis with id/,
    },
    {
      name: 'a malformed id',
      send: () => fetch(`${t.url}/api/v1/bounces/..%2Fx`),
      status: 404,
      code: 'not_found',
      field: 'id',
      message: /No bounce diagnosis/,
    },
    {
      name: 'a wrong method',
      send: () => fetch(`${t.url}/api/v1/bounces`, { method: 'GET' }),
      status: 405,
      code: 'method_not_allowed',
      message: /accepts POST only/,
    },
  ];
  for (const c of cases) {
    it(`answers ${c.status} ${c.code} for ${c.name}`, async () => {
      const res = await c.send();
      assert.equal(res.status, c.status);
      const body = (await res.json()) as { error: { code: string; message: string; field?: string } };
      assert.deepEqual(validate('Error', body), []);
      assert.equal(body.error.code, c.code);
      assert.match(body.error.message, c.message);
      assert.equal(body.error.field, c.field);
    });
  }
});

describe('bounce diagnosis through the web pages', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService({
      zones: senderZones(),
      env: { MXDOCTOR_DNSBLS: 'zen.spamhaus.org', MXDOCTOR_BOUNCE_MAX_SIZE: '64K' },
    });
  });
  after(async () => t.stop());

  async function session(): Promise<{ cookie: string; token: string; html: string }> {
    const res = await fetch(`${t.url}/bounces`);
    assert.equal(res.status, 200);
    const html = await res.text();
    return {
      cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!,
      token: /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '',
      html,
    };
  }
  const submit = (form: FormData, cookie: string) =>
    fetch(`${t.url}/bounces`, { method: 'POST', redirect: 'manual', headers: { cookie }, body: form });

  it('serves an accessible form for pasting or uploading, linked from every page', async () => {
    const { html } = await session();
    assert.match(html, /<form method="post" action="\/bounces" enctype="multipart\/form-data"/);
    assert.match(html, /<label for="message">The bounce<\/label>/);
    assert.match(html, /<label for="file">Or upload the saved message/);
    assert.match(html, /aria-describedby="message-hint"/);
    assert.ok(!/<script>|style="|onclick=/i.test(html), 'no inline script or style');
    assert.match(await (await fetch(`${t.url}/`)).text(), /<a href="\/bounces">Diagnose a bounce<\/a>/);
  });

  it('diagnoses an uploaded bounce and shows everything from it as text', async () => {
    const { cookie, token } = await session();
    const form = new FormData();
    form.set('_csrf', token);
    form.set('message', '');
    form.set('noSmtp', '1');
    form.set('file', new Blob([BLOCKED], { type: 'message/rfc822' }), 'bounce.eml');
    const res = await submit(form, cookie);
    assert.equal(res.status, 303);
    const location = res.headers.get('location') ?? '';
    assert.match(location, /^\/bounces\/[A-Za-z0-9_-]{22}$/);

    // Without JavaScript the page refreshes itself until the diagnosis is there.
    let html = '';
    for (let i = 0; i < 300; i++) {
      html = await (await fetch(`${t.url}${location}`)).text();
      if (!html.includes('id="progress"')) break;
      assert.match(html, /<noscript><meta http-equiv="refresh" content="2"><\/noscript>/);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(html, /<h1>Bounce diagnosis<\/h1>/);
    assert.match(html, /2 recipients: 1 hard, 1 soft/);
    assert.match(html, /<span class="badge reason-badge">blocked<\/span>/);
    assert.match(html, /Hard or soft: why it matters/);
    assert.match(
      html,
      /<span class="badge verdict-badge-confirmed">Confirmed<\/span> <strong>Blocklists for 93\.184\.216\.66<\/strong>/,
    );
    assert.match(html, /<dt>Diagnostic-Code<\/dt>/);
    assert.match(html, /All \d+ header fields of the original message/);
    // The markup in the refusal and in the subject is text, never an element.
    assert.ok(!html.includes(MARKUP), 'raw markup never reaches the page');
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'escaped markup is shown');
  });

  it('ends the live progress stream of a finished diagnosis at once, and of an unknown one as gone', async () => {
    const { cookie, token } = await session();
    const form = new FormData();
    form.set('_csrf', token);
    form.set('message', BLOCKED);
    form.set('noSmtp', '1');
    const id = ((await submit(form, cookie)).headers.get('location') ?? '').split('/').pop()!;
    for (let i = 0; i < 300; i++) {
      const html = await (await fetch(`${t.url}/bounces/${id}`)).text();
      if (!html.includes('id="progress"')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const done = await fetch(`${t.url}/bounces/${id}/events`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(done.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.match(await done.text(), /event: done\ndata: \{"status":"completed"\}/);
    const gone = await fetch(`${t.url}/bounces/AAAAAAAAAAAAAAAAAAAAAA/events`, {
      signal: AbortSignal.timeout(10_000),
    });
    assert.match(await gone.text(), /event: done\ndata: \{"status":"gone"\}/);
  });

  it('refuses a post without the CSRF token, and says what is wrong next to the field', async () => {
    const { cookie, token } = await session();
    const noToken = new FormData();
    noToken.set('message', '550 5.1.1 <a@b.example>: user unknown');
    assert.equal((await submit(noToken, cookie)).status, 403);

    const empty = new FormData();
    empty.set('_csrf', token);
    empty.set('message', '   ');
    const e = await submit(empty, cookie);
    assert.equal(e.status, 400);
    const html = await e.text();
    assert.match(html, /<title>Error: Diagnose a bounce · mxdoctor<\/title>/);
    assert.match(
      html,
      /<p class="field-error" id="message-error"><span class="visually-hidden">Error:<\/span> Paste the bounce into the box/,
    );
    assert.match(html, /aria-describedby="message-hint message-error" aria-invalid=true/);

    const both = new FormData();
    both.set('_csrf', token);
    both.set('message', '550 5.1.1 <a@b.example>: user unknown <b>bold</b>');
    both.set('file', new Blob(['550 5.1.1 x']), 'x.txt');
    const b = await submit(both, cookie);
    assert.equal(b.status, 400);
    const bothHtml = await b.text();
    assert.match(bothHtml, /not both/);
    assert.ok(
      bothHtml.includes('user unknown &lt;b&gt;bold&lt;/b&gt;</textarea>'),
      'the pasted text is kept, escaped',
    );

    const big = new FormData();
    big.set('_csrf', token);
    big.set('file', new Blob(['x'.repeat(70 * 1024)]), 'huge.eml');
    const tooLarge = await submit(big, cookie);
    assert.equal(tooLarge.status, 413);
    assert.match(
      await tooLarge.text(),
      /id="file-error".*The file is larger than 64 KiB, the most accepted/s,
    );
  });

  it('shows input that is not a bounce as such, with a way back', async () => {
    const { cookie, token } = await session();
    const form = new FormData();
    form.set('_csrf', token);
    form.set('message', 'Hello, how are you?');
    const res = await submit(form, cookie);
    const location = res.headers.get('location')!;
    let html = '';
    for (let i = 0; i < 300; i++) {
      html = await (await fetch(`${t.url}${location}`)).text();
      if (!html.includes('id="progress"')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(html, /<h1>This is not a bounce mxdoctor can diagnose<\/h1>/);
    assert.match(html, /No bounce found/);
    assert.match(html, /<a class="button" href="\/bounces">Diagnose another bounce<\/a>/);
  });
});

describe('bounce submissions: rate limits and tokens', () => {
  const TOKEN = 'ci-token-0123456789abcdef';
  let t: TestService;
  before(async () => {
    t = await startTestService({
      env: {
        MXDOCTOR_RATE_LIMIT_CHECKS: '2/1m',
        MXDOCTOR_RATE_LIMIT_TOKEN: '1/1m',
        MXDOCTOR_API_TOKENS: `ci:${TOKEN}`,
      },
    });
  });
  after(async () => t.stop());

  const post = (headers: Record<string, string> = {}) =>
    fetch(`${t.url}/api/v1/bounces`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...headers },
      body: '550 5.1.1 <a@b.example>: User unknown',
    });

  it('limits anonymous submissions apart from checks (429 with Retry-After); tokens get their own budget', async () => {
    assert.equal((await post()).status, 202);
    assert.equal((await post()).status, 202);
    const limited = await post();
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    const body = (await limited.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'rate_limited');
    assert.match(body.error.message, /This address has submitted bounces 2 times in 60 seconds/);
    // The checks budget is untouched.
    const check = await fetch(`${t.url}/api/v1/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domain: 'shop.example.com', options: { smtp: false } }),
    });
    assert.equal(check.status, 202);
    // A token has its own budget; an unknown one is refused.
    assert.equal((await post({ authorization: `Bearer ${TOKEN}` })).status, 202);
    assert.equal((await post({ authorization: `Bearer ${TOKEN}` })).status, 429);
    const unknown = await post({ authorization: 'Bearer not-a-valid-token-at-all' });
    assert.equal(unknown.status, 401);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'unauthorized');
  });
});

describe('bounce worker shutdown', () => {
  it('hands a diagnosis still running when the grace period ends back to the queue, without a result', async () => {
    const t = await startTestService({
      zones: senderZones(),
      // The PTR lookup of the sending IP never answers: the follow-ups keep running.
      behaviour: { [`${SENDER_IPS.listed.split('.').reverse().join('.')}.in-addr.arpa`]: { silent: true } },
      env: {
        MXDOCTOR_DNSBLS: 'zen.spamhaus.org',
        MXDOCTOR_SHUTDOWN_GRACE: '300ms',
        MXDOCTOR_DNS_TIMEOUT: '20s',
      },
    });
    try {
      const res = await fetch(`${t.url}/api/v1/bounces?smtp=false`, {
        method: 'POST',
        headers: { 'content-type': 'message/rfc822' },
        body: BLOCKED,
      });
      const { id } = (await res.json()) as { id: string };
      for (let i = 0; ; i++) {
        const s = (await (await fetch(`${t.url}/api/v1/bounces/${id}`)).json()) as Status & {
          progress?: { step: string };
        };
        if (s.status === 'active' && s.progress?.step === 'followups') break;
        assert.ok(i < 400, `the diagnosis reaches its follow-ups (${s.status})`);
        await new Promise((r) => setTimeout(r, 25));
      }
      await t.service.stop();
      const redis = connectTestRedis();
      const queue = new Queue(QUEUE_BOUNCES, { connection: redis, prefix: t.prefix });
      try {
        const job = await queue.getJob(id);
        assert.equal(await job?.getState(), 'waiting', 'back in the queue for another worker');
        assert.equal(job?.attemptsMade, 0, 'no attempt counted');
        const store = new DiagnosisStore(redis, { prefix: t.prefix, retentionMs: 60_000 });
        assert.equal(await store.has(id), false, 'no result stored');
        assert.ok(await store.getInput(id), 'the bounce text is kept for the next worker');
      } finally {
        await queue.close();
        redis.disconnect();
      }
    } finally {
      await t.stop();
    }
  });
});
