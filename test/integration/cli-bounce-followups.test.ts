import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMxdoctor } from '../support/cli.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { bounceValidator } from '../support/bounce-schema.js';
import { startSmtpFixtures } from '../fixtures/smtp-servers.js';
import type { SmtpFixtures } from '../fixtures/smtp-servers.js';
import { SMTP_HOSTS as H, smtpZones } from '../fixtures/zones/smtp.js';
import { SENDER_IPS, senderZones } from '../fixtures/zones/bounce-followups.js';
import { mbox, postfixDsn, received } from '../fixtures/bounce-messages.js';
import type { Original } from '../fixtures/bounce-messages.js';
import type { BounceRecord, Diagnosis, Followup } from '../../src/bounce/index.js';

/**
 * Every follow-up check end to end through `mxdoctor bounce`: Postfix reports (in an mbox,
 * as a support engineer saves them) about recipients at the SMTP fixture domains — fake MX
 * servers on 127.0.0.x behind a loopback resolver — and about messages sent from the
 * fixture sender's addresses, whose SPF, DMARC, DKIM, PTR and blocklist entries the resolver
 * serves. The network fence refuses anything but loopback.
 */

const ORIGINAL: Original = {
  from: 'news@shop.example',
  returnPath: 'bounces@shop.example',
  to: 'customer@example.net',
  subject: 'Your order 4711',
  received: [received('mail.shop.example', 'mail.shop.example', SENDER_IPS.authorised, 'relay.example.net')],
};

function record(d: Diagnosis, recipient: string): BounceRecord {
  const r = d.bounces.find((b) => b.recipient === recipient);
  assert.ok(r, `a record for ${recipient} in ${d.bounces.map((b) => b.recipient).join(', ')}`);
  return r;
}

function followup(r: BounceRecord, id: string): Followup {
  const f = r.followups.find((x) => x.id === id);
  assert.ok(
    f,
    `follow-up ${id} for ${r.recipient} (${r.reason}); got ${r.followups.map((x) => x.id).join(', ')}`,
  );
  return f;
}

describe('mxdoctor bounce follow-up checks', () => {
  let smtp: SmtpFixtures;
  let dns: FixtureDns;
  const validate = bounceValidator();
  before(async () => {
    smtp = await startSmtpFixtures();
    dns = await startFixtureDns({ zones: { ...smtpZones(smtp.ipv6), ...senderZones() } });
  });
  after(async () => {
    await dns?.stop();
    await smtp?.stop();
  });

  /** The follow-ups' resolver and blocklist: the fixture DNS, quick to give up. */
  const lookups = (): string[] => [
    '--resolver',
    dns.address,
    '--dns-timeout',
    '1s',
    '--dnsbl',
    'zen.spamhaus.org',
  ];

  async function diagnose(input: string, args: string[] = []): Promise<Diagnosis> {
    const r = await runMxdoctor(['bounce', '--json', ...lookups(), ...args], {
      stdin: input,
      env: smtp.env(),
      timeoutMs: 90_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as Diagnosis;
    assert.deepEqual(validate(d), [], 'matches docs/bounce.schema.json');
    return d;
  }

  it('asks the recipient’s servers: the address, the domain’s connectivity and its STARTTLS', async () => {
    const recipients = postfixDsn(
      'mail.shop.example',
      [
        {
          recipient: 'alice@good.test',
          remote: `mx.good.test[${H.good}]`,
          reply:
            '550 5.1.1 <alice@good.test>: Recipient address rejected: User unknown in local recipient table',
          status: '5.1.1',
          command: 'RCPT TO',
        },
        {
          recipient: 'bob@good.test',
          remote: `mx.good.test[${H.good}]`,
          reply:
            '550 5.1.1 <bob@good.test>: Recipient address rejected: User unknown in local recipient table',
          status: '5.1.1',
          command: 'RCPT TO',
        },
        {
          recipient: 'carol@nowhere.test',
          reply:
            'Host or domain name not found. Name service error for name=nowhere.test type=MX: Host not found, try again',
          status: '5.4.4',
        },
        {
          recipient: 'dave@busy.test',
          reply: `delivery temporarily suspended: connect to mx.busy.test[${H.busy}]:25: Connection timed out`,
          status: '4.4.1',
          action: 'delayed',
        },
        {
          recipient: 'erin@good.test',
          reply:
            'Host or domain name not found. Name service error for name=good.test type=MX: Host not found, try again',
          status: '4.4.3',
          action: 'delayed',
        },
      ],
      ORIGINAL,
    );
    const tls = postfixDsn(
      'mail.shop.example',
      [
        {
          recipient: 'frank@nostarttls.test',
          reply: `TLS is required, but was not offered by host mx.nostarttls.test[${H.noStarttls}]`,
          status: '4.7.4',
          action: 'delayed',
        },
        {
          recipient: 'grace@expired.test',
          reply: `delivery temporarily suspended: Cannot start TLS: handshake failure with mx.expired.test[${H.expired}]`,
          status: '4.7.5',
          action: 'delayed',
        },
        {
          recipient: 'heidi@good.test',
          remote: `mx.good.test[${H.good}]`,
          reply: '530 5.7.0 Must issue a STARTTLS command first',
          status: '5.7.0',
          command: 'MAIL FROM',
        },
      ],
      ORIGINAL,
    );
    const d = await diagnose(mbox([recipients, tls]));
    assert.equal(d.bounces.length, 8);

    // user_unknown → RCPT TO on the MX, with random addresses against a catch-all.
    const alice = followup(record(d, 'alice@good.test'), 'recipient_address');
    assert.equal(alice.verdict, 'not_confirmed');
    assert.match(
      alice.summary,
      /^not confirmed: the address exists now: mx\.good\.test \[127\.0\.0\.2\] accepted RCPT TO:<alice@good\.test>/,
    );
    const bob = followup(record(d, 'bob@good.test'), 'recipient_address');
    assert.equal(bob.verdict, 'confirmed');
    assert.match(
      bob.summary,
      /^confirmed: mx\.good\.test \[127\.0\.0\.2\] still refuses bob@good\.test: “550 /,
    );
    assert.ok((bob.details.transcript as string[]).some((l) => l === 'C: RCPT TO:<bob@good.test>'));

    // host_unknown / network_error → the domain check with connectivity.
    const carol = record(d, 'carol@nowhere.test');
    assert.equal(carol.reason, 'host_unknown');
    assert.equal(followup(carol, 'recipient_domain').verdict, 'confirmed');
    assert.match(
      followup(carol, 'recipient_domain').summary,
      /nowhere\.test does not exist in DNS \(NXDOMAIN\)/,
    );
    assert.equal(record(d, 'dave@busy.test').reason, 'expired');
    const dave = followup(record(d, 'dave@busy.test'), 'recipient_domain');
    assert.equal(dave.verdict, 'confirmed');
    assert.match(
      dave.summary,
      /no mail server of busy\.test accepts a connection now: mx\.busy\.test \[127\.0\.0\.21\] refused the session: “421 /,
    );
    assert.equal(record(d, 'erin@good.test').reason, 'network_error');
    const erin = followup(record(d, 'erin@good.test'), 'recipient_domain');
    assert.equal(erin.verdict, 'not_confirmed');
    assert.match(erin.summary, /good\.test resolves now .* mx\.good\.test \[127\.0\.0\.2\] greeted/);

    // tls_required → STARTTLS and certificate of the recipient's MX.
    const frank = followup(record(d, 'frank@nostarttls.test'), 'recipient_mx_tls');
    assert.equal(frank.verdict, 'confirmed');
    assert.match(frank.summary, /mx\.nostarttls\.test \[127\.0\.0\.4\]: .*STARTTLS/);
    const grace = followup(record(d, 'grace@expired.test'), 'recipient_mx_tls');
    assert.equal(grace.verdict, 'confirmed');
    assert.match(grace.summary, /mx\.expired\.test \[127\.0\.0\.6\]: .*expired/i);
    const heidi = followup(record(d, 'heidi@good.test'), 'recipient_mx_tls');
    assert.equal(heidi.verdict, 'not_confirmed');
    assert.match(heidi.summary, /offers STARTTLS .* sending side/);

    for (const fake of smtp.fakes) fake.assertNoMessageSent();
  });

  it('checks the sender’s authentication, blocklists and reverse DNS of the sending IP', async () => {
    const auth = (ip: string, dkim: string, recipient: string) =>
      postfixDsn(
        'mail.shop.example',
        [
          {
            recipient,
            remote: 'gmail-smtp-in.l.google.com[142.250.27.26]',
            reply:
              "550-5.7.26 Unauthenticated email from shop.example is not accepted due to domain's DMARC policy. Please contact the administrator of shop.example domain. 550 5.7.26 To learn more about the DMARC initiative, go to https://support.google.com/mail/?p=DmarcRejection",
            status: '5.7.26',
            command: 'end of DATA',
          },
        ],
        {
          ...ORIGINAL,
          received: [
            received(
              'mail.shop.example',
              `host-${ip.replace(/\./g, '-')}.example.net`,
              ip,
              'relay.example.net',
            ),
          ],
          dkim: [dkim],
        },
      );
    const unauthorised = auth(
      SENDER_IPS.unauthorised,
      'v=1; a=rsa-sha256; c=relaxed/relaxed; d=esp-mailer.example; s=k1; t=1710234900; h=from:to:subject:date; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==',
      'buyer1@gmail.com',
    );
    const brokenKey = auth(
      SENDER_IPS.authorised,
      'v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.example; s=gone2023;\r\n\th=from:to:subject:date; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==',
      'buyer2@gmail.com',
    );
    const blocked = postfixDsn(
      'mail.shop.example',
      [
        {
          recipient: 'ivan@example.net',
          remote: 'mx.example.net[93.184.216.10]',
          reply: `554 5.7.1 Service unavailable; Client host [${SENDER_IPS.listed}] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/${SENDER_IPS.listed}`,
          status: '5.7.1',
          command: 'RCPT TO',
        },
      ],
      ORIGINAL,
    );
    const reputation = postfixDsn(
      'mail.shop.example',
      [
        {
          recipient: 'judy@yahoo.example',
          remote: 'mta5.am0.yahoodns.example[67.195.204.72]',
          reply: `421 4.7.0 [TSS04] Messages from ${SENDER_IPS.authorised} temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes`,
          status: '4.7.0',
          command: 'MAIL FROM',
          action: 'delayed',
        },
        {
          recipient: 'mallory@good.test',
          remote: `mx.good.test[${H.good}]`,
          reply:
            '550 5.1.1 <mallory@good.test>: Recipient address rejected: User unknown in local recipient table',
          status: '5.1.1',
          command: 'RCPT TO',
        },
      ],
      ORIGINAL,
    );
    const d = await diagnose(mbox([unauthorised, brokenKey, blocked, reputation]), ['--no-smtp']);

    // SPF fails for an IP the policy does not list; DMARC p=reject then fails; the ESP key is fine.
    const r1 = record(d, 'buyer1@gmail.com');
    assert.equal(r1.reason, 'auth_failure');
    const spf1 = followup(r1, 'sender_spf');
    assert.equal(spf1.verdict, 'confirmed');
    assert.match(
      spf1.summary,
      /^confirmed: SPF fails: shop\.example’s policy does not authorise 93\.184\.216\.9 \(-all\)/,
    );
    const dmarc1 = followup(r1, 'sender_dmarc');
    assert.equal(dmarc1.verdict, 'confirmed');
    assert.match(
      dmarc1.summary,
      /shop\.example publishes p=reject, SPF gives fail .* no DKIM signature aligned with shop\.example: DMARC fails/,
    );
    const dkim1 = followup(r1, 'sender_dkim');
    assert.equal(dkim1.verdict, 'not_confirmed');
    assert.match(
      dkim1.summary,
      /k1\._domainkey\.esp-mailer\.example is published and usable \(RSA 2048 bits\), but d=esp-mailer\.example does not align/,
    );

    // SPF passes (aligned): DMARC is satisfied; the shop's own signature points at a missing key.
    const r2 = record(d, 'buyer2@gmail.com');
    assert.equal(followup(r2, 'sender_spf').verdict, 'not_confirmed');
    assert.match(
      followup(r2, 'sender_spf').summary,
      /SPF passes: shop\.example authorises 93\.184\.216\.7 \(ip4:93\.184\.216\.7\)/,
    );
    assert.equal(followup(r2, 'sender_dmarc').verdict, 'not_confirmed');
    const dkim2 = followup(r2, 'sender_dkim');
    assert.equal(dkim2.verdict, 'confirmed');
    assert.match(dkim2.summary, /no DKIM key is published at gone2023\._domainkey\.shop\.example/);

    // A listed IP without reverse DNS.
    const r3 = record(d, 'ivan@example.net');
    assert.equal(r3.reason, 'blocked');
    const bl = followup(r3, 'sending_ip_dnsbl');
    assert.equal(bl.verdict, 'confirmed');
    assert.match(bl.summary, /^confirmed: 93\.184\.216\.66 is listed on zen\.spamhaus\.org \(127\.0\.0\.2/);
    assert.equal(followup(r3, 'sending_ip_ptr').verdict, 'confirmed');
    assert.match(followup(r3, 'sending_ip_ptr').summary, /93\.184\.216\.66 has no PTR record/);

    // A clean IP with forward-confirmed reverse DNS: neither confirms the reputation problem.
    const r4 = record(d, 'judy@yahoo.example');
    assert.equal(r4.reason, 'bad_reputation');
    assert.equal(followup(r4, 'sending_ip_dnsbl').verdict, 'not_confirmed');
    assert.match(
      followup(r4, 'sending_ip_dnsbl').summary,
      /93\.184\.216\.7 is not listed on any of the 1 blocklist asked/,
    );
    assert.equal(followup(r4, 'sending_ip_ptr').verdict, 'not_confirmed');

    // With connections off, the recipient check is not run, and says so.
    const r5 = followup(record(d, 'mallory@good.test'), 'recipient_address');
    assert.equal(r5.verdict, 'could_not_test');
    assert.match(r5.summary, /switched off/);
    for (const fake of smtp.fakes)
      assert.equal(fake.commands.flat().filter((c) => /mallory/.test(c)).length, 0);
  });

  it('caps the follow-ups that contact mail servers, so one bounce cannot set off hundreds of probes', async () => {
    const failed = Array.from({ length: 11 }, (_, i) => ({
      recipient: `user@gone${i}.test`,
      remote: `mx.gone${i}.test[192.0.2.${i + 1}]`,
      reply: `550 5.1.1 <user@gone${i}.test>: Recipient address rejected: User unknown in local recipient table`,
      status: '5.1.1',
      command: 'RCPT TO',
    }));
    const d = await diagnose(postfixDsn('mail.shop.example', failed, ORIGINAL));
    const verdicts = d.bounces.map((b) => followup(b, 'recipient_address'));
    assert.equal(
      verdicts.filter((f) => f.verdict === 'confirmed').length,
      8,
      'the first 8 domains (NXDOMAIN) are checked',
    );
    const capped = verdicts.filter((f) => f.details.capped === true);
    assert.equal(capped.length, 3);
    assert.match(
      capped[0]!.summary,
      /not run, because this bounce asks for more follow-up checks than one diagnosis runs \(8 that contact mail servers\)/,
    );
  });

  it('runs the follow-ups of every message of a mailbox when asked, its lines in input order', async () => {
    const report = (recipient: string, ip: string) =>
      postfixDsn(
        'mail.shop.example',
        [
          {
            recipient,
            remote: 'mx.example.net[93.184.216.10]',
            reply: `554 5.7.1 Service unavailable; Client host [${ip}] blocked using zen.spamhaus.org`,
            status: '5.7.1',
            command: 'RCPT TO',
          },
        ],
        ORIGINAL,
      );
    const dir = mkdtempSync(join(tmpdir(), 'mxdoctor-followups-mailbox-'));
    try {
      writeFileSync(join(dir, '1.eml'), report('ivan@example.net', SENDER_IPS.listed));
      writeFileSync(join(dir, '2.eml'), 'Hello, lunch at noon?\n');
      writeFileSync(join(dir, '3.eml'), report('judy@example.net', SENDER_IPS.authorised));
      const r = await runMxdoctor(['bounce', dir, '--followup', '--no-smtp', '--json', ...lookups()], {
        env: smtp.env(),
        timeoutMs: 90_000,
      });
      // One message is not a bounce: exit code 1, the others diagnosed.
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { file: string; diagnosis?: Diagnosis; error?: { code: string } });
      assert.deepEqual(
        lines.map((l) => l.file),
        ['1.eml', '2.eml', '3.eml'].map((f) => join(dir, f)),
      );
      assert.equal(lines[1]!.error?.code, 'not_a_bounce');
      const listed = followup(record(lines[0]!.diagnosis!, 'ivan@example.net'), 'sending_ip_dnsbl');
      assert.equal(listed.verdict, 'confirmed');
      const clean = followup(record(lines[2]!.diagnosis!, 'judy@example.net'), 'sending_ip_dnsbl');
      assert.equal(clean.verdict, 'not_confirmed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what it could not test when the bounce lacks the facts, and prints the verdicts for people', async () => {
    const r = await runMxdoctor(['bounce', '--resolver', dns.address, '--dns-timeout', '1s', '-v'], {
      stdin:
        '550 5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM.\n',
      env: smtp.env(),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /COULD NOT TEST SPF of the sender’s domain for the sending IP — could not test: neither the refusal nor the returned headers name the sending IP address/,
    );
    assert.match(
      r.stdout,
      /COULD NOT TEST DKIM key of the signature — could not test: the bounce does not include the original message’s headers/,
    );
  });
});
