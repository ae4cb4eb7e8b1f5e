import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runMxdoctor } from '../support/cli.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { bounceValidator } from '../support/bounce-schema.js';
import type { Diagnosis } from '../../src/bounce/index.js';

/**
 * `mxdoctor bounce` over a mailbox: several files, a folder of .eml files, a Maildir and an
 * mbox, in one process; JSON Lines or a table by reason; unusable messages reported on their
 * line while the run goes on; the exit status says whether every message could be used.
 */
const FIXTURES = join(ROOT, 'test', 'fixtures', 'bounces');
const fixture = (name: string): string => join(FIXTURES, name);

interface Line {
  file: string;
  message?: number;
  diagnosis?: Diagnosis;
  error?: { code: string; message: string };
}

function lines(stdout: string): Line[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
}

describe('mxdoctor bounce over a mailbox', () => {
  const validate = bounceValidator();
  let dir: string;
  let dns: FixtureDns;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mxdoctor-mailbox-'));
    // A folder of messages: two bounces, a message that is no bounce, an empty file, a hidden file.
    mkdirSync(join(dir, 'folder', 'sub'), { recursive: true });
    copyFileSync(fixture('postfix-starttls-required.eml'), join(dir, 'folder', 'a-postfix.eml'));
    copyFileSync(fixture('dovecot-quota-delay-dsn.eml'), join(dir, 'folder', 'b-dovecot.eml'));
    writeFileSync(
      join(dir, 'folder', 'c-letter.eml'),
      'From: a@example.com\nSubject: hello\n\nHow are you?\n',
    );
    writeFileSync(join(dir, 'folder', 'd-empty.eml'), '');
    writeFileSync(join(dir, 'folder', '.hidden'), 'not read');
    // A Maildir: cur/ and new/ are read, tmp/ (deliveries in progress) is not.
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, 'Maildir', sub), { recursive: true });
    copyFileSync(
      fixture('gmail-dsn-dmarc-unauthenticated-5.7.26.eml'),
      join(dir, 'Maildir', 'new', '1700000002.M1.host'),
    );
    copyFileSync(fixture('postfix-success-dsn.eml'), join(dir, 'Maildir', 'cur', '1700000001.M1.host:2,S'));
    copyFileSync(fixture('postfix-starttls-required.eml'), join(dir, 'Maildir', 'tmp', '1700000003.M1.host'));
    dns = await startFixtureDns({ zones: { 'nowhere.example': {} } });
  });
  after(async () => {
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints one JSON line per message: the file, the mbox message number, the diagnosis or the error', async () => {
    const mbox = fixture('mbox-two-bounces.mbox');
    const r = await runMxdoctor(['bounce', join(dir, 'folder'), mbox, '--json', '--no-followup']);
    assert.equal(r.code, 1, 'some messages could not be used');
    const got = lines(r.stdout);
    assert.deepEqual(
      got.map((l) => [
        l.file.replace(dir, '<dir>').replace(FIXTURES, '<fixtures>'),
        l.message,
        l.error?.code,
      ]),
      [
        ['<dir>/folder/a-postfix.eml', undefined, undefined],
        ['<dir>/folder/b-dovecot.eml', undefined, undefined],
        ['<dir>/folder/c-letter.eml', undefined, 'not_a_bounce'],
        ['<dir>/folder/d-empty.eml', undefined, 'empty'],
        ['<fixtures>/mbox-two-bounces.mbox', 1, undefined],
        ['<fixtures>/mbox-two-bounces.mbox', 2, undefined],
      ],
    );
    for (const l of got.filter((x) => x.diagnosis)) assert.deepEqual(validate(l.diagnosis), [], l.file);
    // Each message of the mbox on its own, and the same diagnosis as the file alone gives.
    assert.deepEqual(
      got.slice(4).map((l) => l.diagnosis!.bounces.map((b) => [b.recipient, b.reason])),
      [[['frank@nowhere.example', 'host_unknown']], [['grace@example.net', 'user_unknown']]],
    );
    const alone = await runMxdoctor([
      'bounce',
      fixture('postfix-starttls-required.eml'),
      '--json',
      '--no-followup',
    ]);
    assert.deepEqual(got[0]!.diagnosis, JSON.parse(alone.stdout));
    assert.match(got[2]!.error!.message, /No bounce found/);
    assert.match(r.stderr, /1 entry that is not a file not read/);
  });

  it('reads a Maildir’s cur/ and new/ in arrival order, and skips tmp/', async () => {
    const r = await runMxdoctor(['bounce', join(dir, 'Maildir'), '--json', '--no-followup']);
    assert.equal(r.code, 0, r.stderr);
    const got = lines(r.stdout);
    assert.deepEqual(
      got.map((l) => l.file.replace(dir, '<dir>')),
      ['<dir>/Maildir/cur/1700000001.M1.host:2,S', '<dir>/Maildir/new/1700000002.M1.host'],
    );
    assert.deepEqual(
      got.map((l) => l.diagnosis!.bounces[0]!.reason),
      ['delivered', 'auth_failure'],
    );
  });

  it('prints a line per message and a table by reason, hard and soft', async () => {
    const r = await runMxdoctor([
      'bounce',
      join(dir, 'folder'),
      fixture('mbox-two-bounces.mbox'),
      '--no-followup',
    ]);
    assert.equal(r.code, 1);
    const out = r.stdout.replaceAll(dir, '<dir>').replaceAll(FIXTURES, '<fixtures>');
    assert.match(out, /^<dir>\/folder\/a-postfix\.eml {2}tls_required \(soft\) \S+@\S+ 5\.7\.\d+$/m);
    assert.match(out, /^<dir>\/folder\/c-letter\.eml {2}unusable \(not_a_bounce\): No bounce found/m);
    assert.match(
      out,
      /^<fixtures>\/mbox-two-bounces\.mbox #2 {2}user_unknown \(hard\) grace@example\.net 5\.1\.1$/m,
    );
    assert.match(out, /^6 messages: 4 diagnosed, 2 unusable; 4 recipients$/m);
    assert.match(out, /^reason +recipients +hard +soft$/m);
    assert.match(out, /^host_unknown +1 +1 +0$/m);
    assert.match(out, /^user_unknown +1 +1 +0$/m);
    assert.match(out, /^unusable: not_a_bounce +1 message$/m);
  });

  it('exit 0 when every message was diagnosed, 2 when none could be, or nothing was found', async () => {
    const ok = await runMxdoctor([
      'bounce',
      fixture('postfix-starttls-required.eml'),
      fixture('dovecot-quota-delay-dsn.eml'),
      '--no-followup',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const none = await runMxdoctor([
      'bounce',
      join(dir, 'folder', 'c-letter.eml'),
      join(dir, 'folder', 'd-empty.eml'),
    ]);
    assert.equal(none.code, 2);
    assert.match(none.stdout, /2 messages: 0 diagnosed, 2 unusable/);
    const empty = mkdtempSync(join(dir, 'empty-'));
    const nothing = await runMxdoctor(['bounce', empty, '--json']);
    assert.equal(nothing.code, 2);
    assert.equal(nothing.stdout, '');
    assert.match(nothing.stderr, /no message found/);
    const missing = await runMxdoctor(['bounce', empty, join(dir, 'no-such.eml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*no-such\.eml: no such file or folder/);
  });

  it('splits one mbox with --mailbox, from a file or standard input; without it, one file is one diagnosis as before', async () => {
    const mbox = readFileSync(fixture('mbox-two-bounces.mbox'), 'utf8');
    for (const args of [[fixture('mbox-two-bounces.mbox')], ['-'], []]) {
      const r = await runMxdoctor(['bounce', '--mailbox', ...args, '--json', '--no-followup'], {
        stdin: mbox,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        lines(r.stdout).map((l) => [l.message, l.diagnosis!.bounces.length]),
        [
          [1, 1],
          [2, 1],
        ],
      );
    }
    const one = await runMxdoctor(['bounce', fixture('mbox-two-bounces.mbox'), '--json', '--no-followup']);
    const d = JSON.parse(one.stdout) as Diagnosis;
    assert.equal(d.bounces.length, 2, 'one diagnosis of both messages');
  });

  it('reads the size limit from MXDOCTOR_BOUNCE_MAX_SIZE, validated; without follow-ups no other setting stops it', async () => {
    const args = ['bounce', join(dir, 'folder'), '--json', '--no-followup'];
    const codes = (r: { stdout: string }): (string | undefined)[] =>
      lines(r.stdout).map((l) => l.error?.code);
    const unset = await runMxdoctor(args);
    assert.deepEqual(codes(unset), [undefined, undefined, 'not_a_bounce', 'empty']);
    // The limit set: read through the configuration, so it applies and a bad value is refused.
    const small = await runMxdoctor(args, { env: { MXDOCTOR_BOUNCE_MAX_SIZE: '1K' } });
    assert.deepEqual(codes(small), ['too_large', 'too_large', 'not_a_bounce', 'empty']);
    assert.match(lines(small.stdout)[0]!.error!.message, /more than the limit of 1 KiB/);
    const bad = await runMxdoctor(args, { env: { MXDOCTOR_BOUNCE_MAX_SIZE: '12' } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /MXDOCTOR_BOUNCE_MAX_SIZE/);
    assert.equal(bad.stdout, '');
    // A setting of the follow-ups, wrong: it stops a run that would use it, not one without them.
    const env = { env: { MXDOCTOR_DNS_TIMEOUT: 'soon' } };
    const without = await runMxdoctor(args, env);
    assert.deepEqual(codes(without), codes(unset));
    const single = await runMxdoctor(
      ['bounce', fixture('postfix-starttls-required.eml'), '--no-followup'],
      env,
    );
    assert.equal(single.code, 0, single.stderr);
    const withFollowups = await runMxdoctor([...args.slice(0, -1), '--followup'], env);
    assert.equal(withFollowups.code, 2);
    assert.match(withFollowups.stderr, /MXDOCTOR_DNS_TIMEOUT/);
  });

  it('runs no follow-up for a mailbox unless asked, and says so', async () => {
    const args = ['bounce', fixture('mbox-two-bounces.mbox'), '--mailbox', '--json'];
    const env = { env: { MXDOCTOR_RESOLVERS: dns.address, MXDOCTOR_DNS_TIMEOUT: '400ms' } };
    const off = await runMxdoctor(args, env);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stderr, /follow-up checks are off for a mailbox.*--followup/);
    assert.deepEqual(
      lines(off.stdout).flatMap((l) => l.diagnosis!.bounces.flatMap((b) => b.followups)),
      [],
    );
    const on = await runMxdoctor([...args, '--followup', '--no-smtp'], env);
    assert.equal(on.code, 0, on.stderr);
    assert.doesNotMatch(on.stderr, /follow-up checks are off/);
    const first = lines(on.stdout)[0]!.diagnosis!.bounces[0]!;
    assert.equal(first.reason, 'host_unknown');
    assert.ok(
      first.followups.some((f) => f.id === 'recipient_domain'),
      `a recipient_domain follow-up, got ${first.followups.map((f) => f.id).join(', ')}`,
    );
  });
});
