// Bounce service benchmark (issue 6's closing figure), reproducible with `npm run bench` or
// `node scripts/run-bench.mjs bounce-service`. Needs Redis at 127.0.0.1:6379.
//
// Time from POST /api/v1/bounces to the completed diagnosis (polled every 2 ms), single
// process (web + worker), median of 10 sequential submissions each, for:
//   1. parse and classify only (followups=false): a Postfix report;
//   2. a blocked sending IP: DNSBL and PTR/FCrDNS follow-ups (DNS on loopback);
//   3. an authentication failure: SPF, DMARC and DKIM follow-ups (DNS on loopback);
//   4. an unknown user: the RCPT probe against a fake MX on 127.0.0.2.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { startSmtpFixtures } from '../test/fixtures/smtp-servers.js';
import { SMTP_HOSTS, smtpZones } from '../test/fixtures/zones/smtp.js';
import { SENDER_IPS, senderZones } from '../test/fixtures/zones/bounce-followups.js';
import { postfixDsn, received } from '../test/fixtures/bounce-messages.js';
import type { Original } from '../test/fixtures/bounce-messages.js';
import { startFixtureDns } from '../test/support/dns-server.js';
import { startTestService } from '../test/support/service.js';

const RUNS = 10;

const original = (ip: string, dkim?: string): Original => ({
  from: 'news@shop.example',
  returnPath: 'bounces@shop.example',
  to: 'customer@example.net',
  subject: 'Your order',
  received: [received('mail.shop.example', 'mail.shop.example', ip, 'relay.example.net')],
  ...(dkim ? { dkim: [dkim] } : {}),
});

const SCENARIOS: { name: string; query: string; bounce: (i: number) => string }[] = [
  {
    name: 'parse and classify only',
    query: '?followups=false',
    bounce: (i) =>
      postfixDsn(
        'mail.shop.example',
        [
          {
            recipient: `user${i}@example.net`,
            remote: 'mx.example.net[93.184.216.10]',
            reply: `550 5.1.1 <user${i}@example.net>: Recipient address rejected: User unknown in local recipient table`,
            status: '5.1.1',
            command: 'RCPT TO',
          },
        ],
        original(SENDER_IPS.authorised),
      ),
  },
  {
    name: 'blocked IP: DNSBL + PTR follow-ups',
    query: '',
    bounce: (i) =>
      postfixDsn(
        'mail.shop.example',
        [
          {
            recipient: `user${i}@example.net`,
            remote: 'mx.example.net[93.184.216.10]',
            reply: `554 5.7.1 Service unavailable; Client host [${SENDER_IPS.listed}] blocked using zen.spamhaus.org`,
            status: '5.7.1',
            command: 'RCPT TO',
          },
        ],
        original(SENDER_IPS.listed),
      ),
  },
  {
    name: 'auth failure: SPF + DMARC + DKIM follow-ups',
    query: '',
    bounce: (i) =>
      postfixDsn(
        'mail.shop.example',
        [
          {
            recipient: `buyer${i}@gmail.example`,
            remote: 'gmail-smtp-in.l.google.example[142.250.27.26]',
            reply:
              "550 5.7.26 Unauthenticated email from shop.example is not accepted due to domain's DMARC policy.",
            status: '5.7.26',
            command: 'end of DATA',
          },
        ],
        original(SENDER_IPS.unauthorised, 'v=1; a=rsa-sha256; d=esp-mailer.example; s=k1; b=dGVzdA=='),
      ),
  },
  {
    name: 'user unknown: RCPT probe of a loopback MX',
    query: '',
    bounce: (i) =>
      postfixDsn(
        'mail.shop.example',
        [
          {
            recipient: `nobody${i}@good.test`,
            remote: `mx.good.test[${SMTP_HOSTS.good}]`,
            reply: `550 5.1.1 <nobody${i}@good.test>: Recipient address rejected: User unknown`,
            status: '5.1.1',
            command: 'RCPT TO',
          },
        ],
        original(SENDER_IPS.authorised),
      ),
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const smtp = await startSmtpFixtures();
const dns = await startFixtureDns({ zones: { ...smtpZones(smtp.ipv6), ...senderZones() } });
const t = await startTestService({
  dns,
  env: {
    ...smtp.env(),
    MXDOCTOR_DNSBLS: 'zen.spamhaus.org',
    MXDOCTOR_RATE_LIMIT_CHECKS: 'off',
    MXDOCTOR_RATE_LIMIT_REQUESTS: 'off',
    MXDOCTOR_SMTP_RATE_PER_IP: 'off',
    MXDOCTOR_SMTP_CACHE_TTL: '0',
    MXDOCTOR_LOG_LEVEL: 'warn',
  },
});

const results: { name: string; medianMs: number; minMs: number; maxMs: number; runs: number[] }[] = [];
for (const s of SCENARIOS) {
  const latencies: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const body = s.bounce(i);
    const t0 = performance.now();
    const res = await fetch(`${t.url}/api/v1/bounces${s.query}`, {
      method: 'POST',
      headers: { 'content-type': 'message/rfc822' },
      body,
    });
    if (res.status !== 202) throw new Error(`POST: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    for (;;) {
      const st = (await (await fetch(`${t.url}/api/v1/bounces/${id}`)).json()) as {
        status: string;
        diagnosis?: { bounces: { followups: { verdict: string }[] }[] };
      };
      if (st.status === 'completed') {
        const f = st.diagnosis!.bounces[0]!.followups;
        if (s.query === '' && (f.length === 0 || f.some((x) => x.verdict === 'could_not_test')))
          throw new Error(`${s.name}: follow-ups did not all run: ${JSON.stringify(f)}`);
        break;
      }
      if (st.status === 'failed' || st.status === 'rejected') throw new Error(`bounce ${id} ${st.status}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    latencies.push(performance.now() - t0);
  }
  results.push({
    name: s.name,
    medianMs: Math.round(median(latencies)),
    minMs: Math.round(Math.min(...latencies)),
    maxMs: Math.round(Math.max(...latencies)),
    runs: latencies.map(Math.round),
  });
}
await t.stop();
await dns.stop();
await smtp.stop();

const output = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  runsPerScenario: RUNS,
  postToDiagnosisMs: results,
};
for (const r of results) {
  console.log(
    `POST → completed diagnosis, ${r.name}: median ${r.medianMs} ms of ${RUNS} (min ${r.minMs}, max ${r.maxMs})`,
  );
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  `bench/results/bounce-service-${output.date.slice(0, 19).replace(/:/g, '')}.json`,
  JSON.stringify(output, null, 2) + '\n',
);
