import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runMxdoctor } from '../support/cli.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { bounceValidator } from '../support/bounce-schema.js';
import type { Diagnosis } from '../../src/bounce/index.js';

/** `mxdoctor bounce` end to end: input from stdin and files, JSON, exit codes, follow-ups over a loopback resolver. */
const FIXTURES = join(ROOT, 'test', 'fixtures', 'bounces');

const ZONES = {
  'example.net': { MX: ['10 mx.example.net'] },
  'mx.example.net': { A: ['93.184.216.10'] },
  'nullmx.example': { MX: ['0 .'] },
  // 93.184.216.34 has a PTR whose name resolves back; 93.184.216.35 has a PTR that does not; .36 has none.
  '34.216.184.93.in-addr.arpa': { PTR: ['mail.example.net'] },
  'mail.example.net': { A: ['93.184.216.34'] },
  '35.216.184.93.in-addr.arpa': { PTR: ['dyn-35.example.net'] },
  'dyn-35.example.net': { A: ['93.184.216.99'] },
};

describe('mxdoctor bounce', () => {
  let dns: FixtureDns;
  const validate = bounceValidator();
  before(async () => {
    dns = await startFixtureDns({ zones: ZONES });
  });
  after(async () => {
    await dns.stop();
  });

  async function json(args: string[], stdin?: string): Promise<Diagnosis> {
    const r = await runMxdoctor(
      ['bounce', ...args, '--json', '--resolver', dns.address, '--dns-timeout', '400ms'],
      {
        ...(stdin !== undefined ? { stdin } : {}),
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as Diagnosis;
    assert.deepEqual(validate(d), [], 'matches docs/bounce.schema.json');
    return d;
  }

  it('diagnoses a bare multi-line reply from standard input', async () => {
    const d = await json(
      ['--no-followup'],
      '550-5.7.26 This mail has been blocked because the sender is\n550 5.7.26 unauthenticated.\n',
    );
    assert.equal(d.kind, 'smtp-reply');
    assert.equal(d.bounces[0]!.reason, 'auth_failure');
    assert.deepEqual(d.bounces[0]!.followups, []);
  });

  it('prints a diagnosis a support engineer can read', async () => {
    const r = await runMxdoctor(['bounce', join(FIXTURES, 'mbox-two-bounces.mbox'), '--no-followup']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /frank@nowhere\.example — HARD host_unknown: Recipient domain does not exist/);
    assert.match(r.stdout, /grace@example\.net — HARD user_unknown/);
    assert.match(r.stdout, /What to do:/);
    assert.match(r.stdout, /Whose side: recipient’s address/);
  });

  it('confirms host_unknown with a domain check of the recipient domain', async () => {
    const d = await json(
      [],
      "<frank@nowhere.example>:\nSorry, I couldn't find any host named nowhere.example. (#5.1.2)\n",
    );
    const f = d.bounces[0]!.followups;
    assert.equal(f.length, 1);
    assert.equal(f[0]!.id, 'recipient_domain');
    assert.equal(f[0]!.verdict, 'confirmed');
    assert.match(f[0]!.summary, /nowhere\.example does not exist in DNS \(NXDOMAIN\)/);
  });

  it('does not confirm it when the domain now has MX hosts (DNS only), and confirms a null MX', async () => {
    const d = await json(
      ['--no-smtp'],
      '<a@example.net>: Host or domain name not found. Name service error for name=example.net type=MX: Host not found\n',
    );
    assert.equal(d.bounces[0]!.reason, 'host_unknown');
    assert.equal(d.bounces[0]!.followups[0]!.verdict, 'not_confirmed');
    assert.match(d.bounces[0]!.followups[0]!.summary, /Connectivity to the mail servers was not tested/);
    const n = await json([], '<b@nullmx.example>: Domain nullmx.example does not accept mail (nullMX)\n');
    assert.equal(n.bounces[0]!.reason, 'not_accept');
    assert.equal(n.bounces[0]!.followups[0]!.verdict, 'confirmed');
    assert.match(n.bounces[0]!.followups[0]!.summary, /null MX/);
  });

  it('checks the PTR and forward confirmation of the sending IP for require_ptr', async () => {
    // A pasted Postfix notice about four recipients, each refused for another sending IP.
    const notice = ['93.184.216.34', '93.184.216.35', '93.184.216.36', '192.0.2.1']
      .map(
        (ip, i) =>
          `<user${i}@example.net>: host mx.example.net[93.184.216.10] said: 550 5.7.25 [${ip}] The IP address sending this message does not have a PTR record setup (in reply to end of DATA command)`,
      )
      .join('\n\n');
    const d = await json(['--dnsbl', 'zen.spamhaus.org'], `${notice}\n`);
    const ptr = d.bounces.map((b) => b.followups[0]!);
    assert.deepEqual(
      ptr.map((f) => [f.id, f.target, f.verdict]),
      [
        ['sending_ip_ptr', '93.184.216.34', 'not_confirmed'],
        ['sending_ip_ptr', '93.184.216.35', 'confirmed'],
        ['sending_ip_ptr', '93.184.216.36', 'confirmed'],
        ['sending_ip_ptr', '192.0.2.1', 'could_not_test'],
      ],
    );
    assert.match(ptr[1]!.summary, /does not resolve back/);
    assert.match(ptr[2]!.summary, /has no PTR record/);
  });

  it('exits 2 with a clear message for unusable input', async () => {
    const empty = await runMxdoctor(['bounce'], { stdin: '' });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /input is empty/);
    const prose = await runMxdoctor(['bounce'], { stdin: 'Dear support, my mail does not arrive.\n' });
    assert.equal(prose.code, 2);
    assert.match(prose.stderr, /No bounce found/);
    const missing = await runMxdoctor(['bounce', join(FIXTURES, 'no-such-file.eml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such file/);
    const big = readFileSync(join(FIXTURES, 'gmail-dsn-dmarc-unauthenticated-5.7.26.eml'));
    const tooLarge = await runMxdoctor(['bounce', '--no-followup'], {
      stdin: big.toString('utf8'),
      env: { MXDOCTOR_BOUNCE_MAX_SIZE: '2K' },
    });
    assert.equal(tooLarge.code, 2);
    assert.match(tooLarge.stderr, /more than the limit of 2 KiB/);
    assert.doesNotMatch(tooLarge.stderr, /at .*\.ts:\d+/, 'no stack trace');
  });
});
