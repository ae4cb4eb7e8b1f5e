import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runMxdoctor } from '../support/cli.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { freePort, scriptedMta, startPlaybook, startSmtpFake } from '../support/smtp-fakes.js';
import type { FakeBase, Playbook, SmtpFake } from '../support/smtp-fakes.js';
import { schemaValidator } from '../support/schema.js';
import { VerificationSchema } from '../../src/verify/model.js';
import type { Verification } from '../../src/verify/model.js';

/**
 * `mxdoctor verify` end to end on loopback: a strict MX (a user list), a catch-all MX, a
 * server that limits recipients per transaction (452 4.5.3), a server that starts refusing
 * the probe after a few recipients (421 rate limit), and domains that settle it in DNS (no
 * such domain, null MX, no MX, dangling MX).
 */
const SOA = ['ns1.verify.test hostmaster.verify.test 1 3600 600 86400 300'];
const HOSTS = { strict: '127.0.2.1', catchAll: '127.0.2.2', limited: '127.0.2.3', stopper: '127.0.2.4' };

describe('mxdoctor verify', () => {
  let dns: FixtureDns;
  let port: number;
  let strict: SmtpFake;
  let catchAll: SmtpFake;
  let limited: Playbook;
  let stopper: Playbook;
  let stopperRcpts = 0;
  const fakes: FakeBase[] = [];
  const validate = schemaValidator(VerificationSchema);

  before(async () => {
    port = await freePort();
    dns = await startFixtureDns({
      zones: {
        'strict.test': { MX: ['10 mx.strict.test'], SOA },
        'mx.strict.test': { A: [HOSTS.strict] },
        // On the disposable-domain list; served here by the strict fake.
        'mailinator.com': { MX: ['10 mx.strict.test'] },
        'catchall.test': { MX: ['10 mx.catchall.test'], SOA },
        'mx.catchall.test': { A: [HOSTS.catchAll] },
        'limited.test': { MX: ['10 mx.limited.test'] },
        'mx.limited.test': { A: [HOSTS.limited] },
        'stopper.test': { MX: ['10 mx.stopper.test'] },
        'mx.stopper.test': { A: [HOSTS.stopper] },
        'nullmx.test': { MX: ['0 .'] },
        'nomx.test': { TXT: ['v=spf1 -all'], SOA },
        'dangling.test': { MX: ['10 ghost.dangling.test'], SOA },
      },
    });
    strict = await startSmtpFake({
      host: HOSTS.strict,
      port,
      name: 'mx.strict.test',
      users: ['alice', 'info', 'temp'],
      domains: ['strict.test', 'mailinator.com'],
    });
    catchAll = await startSmtpFake({
      host: HOSTS.catchAll,
      port,
      name: 'mx.catchall.test',
      domains: ['catchall.test'],
      catchAll: true,
    });
    // Three recipients per transaction, then "452 4.5.3 Too many recipients".
    limited = await startPlaybook(HOSTS.limited, port, async (conn) => {
      let inTransaction = 0;
      await scriptedMta({
        name: 'mx.limited.test',
        reply: (line) => {
          if (/^MAIL/i.test(line)) inTransaction = 0;
          if (!/^RCPT/i.test(line)) return undefined;
          if (++inTransaction > 3) return '452 4.5.3 Too many recipients';
          return /mxdoctor-|nobody/.test(line) ? '550 5.1.1 No such user' : '250 2.1.5 Ok';
        },
      })(conn);
    });
    // Answers four recipients in all, then says it is rate-limiting the client and hangs up.
    stopper = await startPlaybook(HOSTS.stopper, port, async (conn) => {
      await scriptedMta({
        name: 'mx.stopper.test',
        reply: (line, c) => {
          if (!/^RCPT/i.test(line)) return undefined;
          if (++stopperRcpts > 4) {
            setTimeout(() => c.close(), 10);
            return '421 4.7.0 mx.stopper.test Too many connections from your IP, rate limited';
          }
          return /mxdoctor-|nobody/.test(line) ? '550 5.1.1 No such user' : '250 2.1.5 Ok';
        },
      })(conn);
    });
    fakes.push(strict, catchAll, limited, stopper);
  });
  after(async () => {
    for (const f of fakes) f.assertNoMessageSent();
    await Promise.all(fakes.map((f) => f.stop()));
    await dns.stop();
  });

  const env = (extra: Record<string, string> = {}) => ({
    MXDOCTOR_RESOLVERS: dns.address,
    MXDOCTOR_ALLOW_PRIVATE: '1',
    MXDOCTOR_SMTP_PORT: String(port),
    MXDOCTOR_EHLO_NAME: 'probe.mxdoctor.test',
    MXDOCTOR_MAIL_FROM: 'probe@mxdoctor.test',
    MXDOCTOR_SMTP_SESSION_TIMEOUT: '20s',
    ...extra,
  });
  const verify = async (args: string[], extra: Record<string, string> = {}, stdin?: string) => {
    const r = await runMxdoctor(['verify', '--json', ...args], {
      env: env(extra),
      ...(stdin !== undefined ? { stdin } : {}),
    });
    let v: Verification;
    try {
      v = JSON.parse(r.stdout) as Verification;
    } catch {
      assert.fail(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 300)}\n${r.stderr}`);
    }
    assert.deepEqual(validate(v), []);
    return { code: r.code, v, stderr: r.stderr };
  };
  const verdicts = (v: Verification) => v.results.map((r) => `${r.input}: ${r.verdict}/${r.reason}`);

  it('tells deliverable, undeliverable and risky apart, in one session per MX address, with catch-all measured once', async () => {
    const before = [strict.connections, catchAll.connections];
    const { code, v } = await verify([
      'alice@strict.test',
      'bob@strict.test',
      'info@strict.test',
      'temp@mailinator.com',
      'x@catchall.test',
      'y@catchall.test',
      'Alice@Strict.TEST.',
    ]);
    assert.equal(code, 1);
    assert.deepEqual(verdicts(v), [
      'alice@strict.test: deliverable/accepted',
      'bob@strict.test: undeliverable/user_unknown',
      'info@strict.test: risky/role_account',
      'temp@mailinator.com: risky/disposable',
      'x@catchall.test: risky/catch_all',
      'y@catchall.test: risky/catch_all',
      'Alice@Strict.TEST.: deliverable/accepted',
    ]);
    const bob = v.results[1]!;
    assert.equal(bob.reply?.code, 550);
    assert.match(bob.explanation, /User unknown/);
    assert.deepEqual(bob.mx, { host: 'mx.strict.test', address: HOSTS.strict });
    assert.deepEqual(
      [strict.connections - before[0]!, catchAll.connections - before[1]!],
      [1, 1],
      'one session per MX address',
    );
    assert.deepEqual(
      v.domains.map((d) => [d.domain, d.catchAll]),
      [
        ['strict.test', 'no'],
        ['mailinator.com', 'no'],
        ['catchall.test', 'yes'],
      ],
    );
    // One random address per domain, never more.
    const randoms = catchAll.rcpts.filter((r) => r.to.startsWith('mxdoctor-'));
    assert.equal(randoms.length, 1);
  });

  it('settles syntax and DNS without SMTP: no such domain, null MX, no MX, dangling MX', async () => {
    const { v } = await verify([
      'a@nxdomain.test',
      'a@nullmx.test',
      'a@nomx.test',
      'a@dangling.test',
      'no-at-sign',
      'a..b@strict.test',
      '"john doe"@strict.test',
      'josé@strict.test',
    ]);
    assert.deepEqual(verdicts(v), [
      'a@nxdomain.test: undeliverable/no_such_domain',
      'a@nullmx.test: undeliverable/null_mx',
      'a@nomx.test: undeliverable/no_mx',
      'a@dangling.test: undeliverable/dangling_mx',
      'no-at-sign: undeliverable/invalid_syntax',
      'a..b@strict.test: undeliverable/invalid_syntax',
      '"john doe"@strict.test: unknown/quoted_local_part',
      'josé@strict.test: unknown/smtputf8',
    ]);
    assert.deepEqual(v.mx, []);
  });

  it('continues in a new transaction when the server limits recipients (452 4.5.3)', async () => {
    const before = limited.connections;
    const addresses = Array.from({ length: 8 }, (_, i) => `user${i}@limited.test`);
    const { v } = await verify([...addresses, 'nobody@limited.test']);
    assert.deepEqual(
      v.results.map((r) => r.verdict),
      [...addresses.map(() => 'deliverable'), 'undeliverable'],
    );
    assert.equal(limited.connections - before, 1, 'one session');
    const commands = limited.commands.at(-1)!;
    assert.ok(commands.filter((c) => /^MAIL/i.test(c)).length >= 3, commands.join(' | '));
  });

  it('stops asking a server that refuses the probe: the rest are unknown, never undeliverable', async () => {
    const addresses = Array.from({ length: 10 }, (_, i) => `u${i}@stopper.test`);
    const { v } = await verify(addresses, { MXDOCTOR_VERIFY_RCPTS_PER_SESSION: '4' });
    // Session 1: u0–u2 and the catch-all probe (four recipients); session 2: the server
    // answers 421 to the first RCPT; nothing more is asked.
    assert.deepEqual(
      v.results.map((r) => r.verdict),
      ['deliverable', 'deliverable', 'deliverable', ...Array.from({ length: 7 }, () => 'unknown')],
    );
    for (const r of v.results.slice(3)) {
      assert.ok(['probe_stopped', 'probe_refused'].includes(r.reason), `${r.input}: ${r.reason}`);
      assert.match(r.explanation, /stopped answering the probe|refused the probe/);
    }
    assert.equal(v.mx[0]!.sessions, 2);
    assert.match(v.mx[0]!.stopped ?? '', /421 4\.7\.0/);
    // The second session pipelined its three RCPTs before the 421; no third session was opened.
    assert.equal(stopper.connections, 2);
    assert.equal(stopperRcpts, 7);
  });

  it('reads a list, prints a table or CSV, and refuses bad usage', async () => {
    const list = '# subscribers\nalice@strict.test\n\nbob@strict.test\n';
    const table = await runMxdoctor(['verify', '--file', '-'], { env: env(), stdin: list });
    assert.equal(table.code, 1);
    assert.match(table.stdout, /^ADDRESS +VERDICT +REASON +EXPLANATION\n/);
    assert.match(table.stdout, /alice@strict\.test +deliverable +accepted/);
    assert.match(table.stdout, /2 addresses in .*: 1 deliverable, 1 undeliverable, 0 risky, 0 unknown/);
    const csv = await runMxdoctor(['verify', '--csv', 'alice@strict.test'], { env: env() });
    assert.equal(csv.code, 0);
    assert.match(csv.stdout, /^input,address,verdict,reason,/);
    assert.match(
      csv.stdout,
      /\nalice@strict\.test,alice@strict\.test,deliverable,accepted,false,false,false,mx\.strict\.test,127\.0\.2\.1,250,/,
    );
    const none = await runMxdoctor(['verify'], { env: env() });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /missing required argument 'address'/);
    const both = await runMxdoctor(['verify', 'a@b.test', '--file', '-'], { env: env(), stdin: '' });
    assert.equal(both.code, 2);
  });
});
