import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMxdoctor } from '../support/cli.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { schemaValidator } from '../support/schema.js';
import { arcSeal, message, prepend, rsaKey, sign } from '../support/signed-mail.js';
import type { TestKey } from '../support/signed-mail.js';
import { AuthReportSchema } from '../../src/auth/model.js';
import type { AuthReport } from '../../src/auth/model.js';

/**
 * `mxdoctor auth` end to end: messages signed at test time with keys generated at test time,
 * the keys and policies served by the loopback fixture DNS (never the network).
 */
describe('mxdoctor auth', () => {
  let dns: FixtureDns;
  let dir: string;
  const validate = schemaValidator(AuthReportSchema);
  const key = rsaKey(2048);
  const weak = rsaKey(1024);
  const forwarderKey = rsaKey(2048);
  const other: TestKey = rsaKey(2048);

  const body = 'Hello,\n\nthe quarterly figures are attached.\n\nAlice\n';
  const base = (extra: [string, string][] = []) =>
    message(
      [
        ['From', 'Alice <alice@good.example>'],
        ['To', 'bob@receiver.example'],
        ['Subject', 'Figures'],
        ['Date', 'Thu, 03 Dec 2026 09:00:00 +0000'],
        ['Message-ID', '<1@good.example>'],
        ...extra,
      ],
      body,
    );
  const receivedBy = (ip: string): [string, string][] => [
    ['Return-Path', '<alice@good.example>'],
    [
      'Received',
      `from mail.good.example (mail.good.example [${ip}]) by mx.receiver.example with ESMTPS id 1; Thu, 03 Dec 2026 09:00:01 +0000`,
    ],
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mxdoctor-auth-'));
    dns = await startFixtureDns({
      zones: {
        'good.example': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'] },
        '_dmarc.good.example': { TXT: ['v=DMARC1; p=reject; rua=mailto:d@good.example'] },
        'sel._domainkey.good.example': { TXT: [key.txt] },
        'weak._domainkey.good.example': { TXT: [weak.txt] },
        'default._bimi.good.example': {
          TXT: ['v=BIMI1; l=https://good.example/logo.svg; a=https://good.example/vmc.pem'],
        },
        'other.example': { TXT: ['v=spf1 -all'] },
        'sel._domainkey.other.example': { TXT: [other.txt] },
        'arc._domainkey.forwarder.example': { TXT: [forwarderKey.txt] },
        'forwarder.example': { TXT: ['v=spf1 ip4:203.0.113.0/24 -all'] },
      },
    });
  });
  after(async () => {
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const auth = async (msg: Buffer, args: string[] = []) => {
    const file = join(dir, `m${Math.random().toString(36).slice(2)}.eml`);
    writeFileSync(file, msg);
    const r = await runMxdoctor(['auth', file, '--json', '--resolver', dns.address, ...args]);
    let report: AuthReport;
    try {
      report = JSON.parse(r.stdout) as AuthReport;
    } catch {
      assert.fail(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 400)}\n${r.stderr}`);
    }
    assert.deepEqual(validate(report), []);
    const f = (id: string) => report.findings.filter((x) => x.id === id).map((x) => x.status);
    return { code: r.code, report, f };
  };

  it('passes a signed message from an authorised server, with the envelope from the receiver’s own headers', async () => {
    const signed = await sign(base(), key, 'good.example', 'sel');
    const msg = prepend(signed, [
      ...receivedBy('192.0.2.10'),
      [
        'Received-SPF',
        'pass (mx.receiver.example: 192.0.2.10 is authorised) client-ip=192.0.2.10; envelope-from=alice@good.example; helo=mail.good.example',
      ],
      [
        'Authentication-Results',
        'mx.receiver.example; spf=pass smtp.mailfrom=good.example; dkim=pass header.d=good.example header.s=sel; dmarc=pass header.from=good.example',
      ],
    ]);
    const { code, report, f } = await auth(msg);
    assert.equal(code, 0);
    assert.equal(report.verdict, 'pass');
    assert.deepEqual(
      [report.envelope.ip, report.envelope.mailFrom, report.envelope.helo],
      ['192.0.2.10', 'alice@good.example', 'mail.good.example'],
    );
    assert.equal(report.envelope.sources.ip?.header, 'Received-SPF');
    assert.match(report.envelope.sources.ip?.why ?? '', /accepted the message from 192\.0\.2\.10/);
    assert.equal(report.spf.result, 'pass');
    assert.deepEqual(
      report.dkim.map((d) => [d.domain, d.selector, d.result, d.keyBits, d.aligned]),
      [['good.example', 'sel', 'pass', 2048, true]],
    );
    assert.deepEqual(
      [report.dmarc.result, report.dmarc.disposition, report.dmarc.policy],
      ['pass', 'none', 'reject'],
    );
    assert.equal(report.bimi.eligible, true);
    assert.deepEqual(f('auth.receiver'), ['pass']);
    assert.deepEqual(f('auth.arc'), ['info']);
  });

  it('fails DMARC with the disposition when the body changed and the IP is not authorised, and says the receiver decided differently', async () => {
    const signed = await sign(base(), key, 'good.example', 'sel');
    const tampered = Buffer.from(signed.toString('utf8').replace('quarterly figures', 'new bank details'));
    const msg = prepend(tampered, [
      ...receivedBy('198.51.100.7'),
      [
        'Authentication-Results',
        'mx.receiver.example; spf=pass smtp.mailfrom=good.example; dkim=pass header.d=good.example; dmarc=pass header.from=good.example',
      ],
    ]);
    const { code, report, f } = await auth(msg);
    assert.equal(code, 1);
    assert.equal(report.envelope.sources.ip?.header, 'Received');
    assert.equal(report.spf.result, 'fail');
    assert.equal(report.dkim[0]!.result, 'fail');
    assert.match(report.dkim[0]!.comment ?? '', /body was changed/);
    assert.deepEqual([report.dmarc.result, report.dmarc.disposition], ['fail', 'reject']);
    assert.deepEqual(f('auth.dmarc'), ['fail']);
    assert.deepEqual(f('auth.receiver'), ['warn']);
    const receiver = report.findings.find((x) => x.id === 'auth.receiver')!;
    assert.match(receiver.summary, /spf: mx\.receiver\.example said pass, we say fail/);
    assert.match(receiver.summary, /dkim \(d=good\.example\): mx\.receiver\.example said pass, we say fail/);
    assert.match(receiver.summary, /dmarc: mx\.receiver\.example said pass, we say fail/);
  });

  it('warns about a 1024-bit key and an l= tag that leaves content unsigned, and checks alignment', async () => {
    const signed = await sign(base(), weak, 'good.example', 'weak', { maxBodyLength: 20 });
    const msg = prepend(signed, receivedBy('192.0.2.10'));
    const { report, f } = await auth(msg);
    const d = report.dkim[0]!;
    assert.deepEqual([d.result, d.keyBits, d.bodyLengthLimit], ['pass', 1024, 20]);
    assert.ok((d.unsignedBodyBytes ?? 0) > 0);
    assert.deepEqual(f('auth.dkim'), ['warn']);
    const finding = report.findings.find((x) => x.id === 'auth.dkim')!;
    assert.match(finding.summary, /1024-bit RSA key is weak/);
    assert.match(finding.summary, /octets of the body unsigned/);

    // A signature by another domain passes but does not align; SPF aligns.
    const foreign = prepend(await sign(base(), other, 'other.example', 'sel'), receivedBy('192.0.2.10'));
    const r2 = await auth(foreign);
    assert.deepEqual(
      r2.report.dkim.map((x) => [x.result, x.aligned]),
      [['pass', false]],
    );
    assert.deepEqual(
      [r2.report.dmarc.spfAligned, r2.report.dmarc.dkimAligned, r2.report.dmarc.result],
      [true, false, 'pass'],
    );
  });

  it('validates an ARC chain sealed by a forwarder, and takes --ip and --mail-from over the headers', async () => {
    const signed = await sign(base(), key, 'good.example', 'sel');
    const atForwarder = prepend(signed, receivedBy('192.0.2.10'));
    const sealed = await arcSeal(
      atForwarder,
      forwarderKey,
      'forwarder.example',
      'arc',
      {
        'sel._domainkey.good.example': key.txt,
        'arc._domainkey.forwarder.example': forwarderKey.txt,
        'good.example': 'v=spf1 ip4:192.0.2.0/24 -all',
        '_dmarc.good.example': 'v=DMARC1; p=reject',
      },
      {
        ip: '192.0.2.10',
        helo: 'mail.good.example',
        sender: 'alice@good.example',
        mta: 'mx.forwarder.example',
      },
    );
    const msg = prepend(sealed, [
      [
        'Received',
        'from mx.forwarder.example (mx.forwarder.example [203.0.113.5]) by mx.receiver.example; Thu, 03 Dec 2026 09:00:05 +0000',
      ],
    ]);
    const { report } = await auth(msg, ['--ip', '203.0.113.5', '--mail-from', 'srs0=x@forwarder.example']);
    assert.equal(report.arc.result, 'pass', JSON.stringify(report.arc));
    assert.equal(report.arc.instances, 1);
    assert.equal(report.arc.sealer, 'mx.forwarder.example');
    assert.equal(report.envelope.sources.ip?.header, 'option');
    assert.equal(report.spf.result, 'pass');
    assert.equal(report.spf.domain, 'forwarder.example');
    // SPF passes for the forwarder (not aligned); DKIM survives forwarding and aligns.
    assert.deepEqual(
      [report.dmarc.spfAligned, report.dmarc.dkimAligned, report.dmarc.result],
      [false, true, 'pass'],
    );
  });

  it('ignores Authentication-Results from below the entry hop, and says when no envelope is known', async () => {
    const signed = await sign(
      base([['Authentication-Results', 'forged.example; dmarc=pass']]),
      key,
      'good.example',
      'sel',
    );
    const withHop = prepend(signed, receivedBy('192.0.2.10'));
    const r1 = await auth(withHop);
    assert.deepEqual(r1.f('auth.receiver'), ['info']);
    assert.equal(r1.report.receivers[0]!.trusted, false);

    const { code, report, f } = await auth(signed);
    assert.deepEqual(f('auth.envelope'), ['error']);
    assert.deepEqual(f('auth.spf'), ['error']);
    assert.equal(report.dkim[0]!.result, 'pass');
    assert.equal(report.dmarc.result, 'pass');
    assert.equal(code, 0);
  });

  it('prints a readable summary and refuses input that is not a message', async () => {
    const file = join(dir, 'plain.eml');
    writeFileSync(file, prepend(await sign(base(), key, 'good.example', 'sel'), receivedBy('192.0.2.10')));
    const r = await runMxdoctor(['auth', file, '--resolver', dns.address]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Verdict: PASS — spf=pass, dkim=pass\(good\.example\), arc=none, dmarc=pass \(disposition none\), bimi=eligible/,
    );
    const bad = await runMxdoctor(['auth', '-'], { stdin: 'just some text\nwithout headers' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no header fields/);
    const ip = await runMxdoctor(['auth', file, '--ip', 'mail.example']);
    assert.equal(ip.code, 2);
    assert.match(ip.stderr, /--ip "mail\.example" is not an IPv4 or IPv6 address/);
  });
});
