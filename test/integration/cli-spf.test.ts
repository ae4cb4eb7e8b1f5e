import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { runMxdoctor } from '../support/cli.js';
import { SPF_BEHAVIOUR, SPF_ZONES } from '../fixtures/zones/spf.js';
import type { CheckHostResult } from '../../src/spf/evaluate.js';

/** `mxdoctor spf` end to end: verdicts, exit codes, JSON, explanation, bad input. */
describe('mxdoctor spf', () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({ zones: SPF_ZONES, behaviour: SPF_BEHAVIOUR });
  });
  after(() => dns.stop());
  const spf = (args: string[]) =>
    runMxdoctor(['spf', ...args, '--resolver', dns.address, '--dns-timeout', '1000ms']);

  it('passes an address authorised through an include, with exit code 0', async () => {
    const r = await spf(['spf-good.example.com', '--ip', '198.51.100.7', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as CheckHostResult;
    assert.equal(result.result, 'pass');
    assert.deepEqual(result.matched, {
      domain: 'spf-good.example.com',
      term: 'include:_spf.provider.example.net',
    });
    assert.equal(result.lookups, 2);
    assert.equal(result.sender, 'postmaster@spf-good.example.com');
  });

  it('passes an IPv6 address of the MX host through "mx"', async () => {
    const r = await spf(['spf-good.example.com', '--ip', '2001:db8::25']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^SPF PASS for 2001:db8::25/);
    assert.match(r.stdout, /"mx" in the SPF record of spf-good\.example\.com matched/);
  });

  it("fails an unlisted address with exit code 1 and shows the domain's explanation", async () => {
    const r = await spf([
      'spf-exp.example.com',
      '--ip',
      '203.0.113.9',
      '--sender',
      'alice@spf-exp.example.com',
      '-v',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /SPF FAIL/);
    assert.match(
      r.stdout,
      /Explanation published by the domain: 203\.0\.113\.9 is not one of spf-exp\.example\.com's mail servers/,
    );
    assert.match(r.stdout, /Evaluation:/);
  });

  it('returns softfail through a redirect with exit code 1', async () => {
    const r = await spf(['spf-redirect.example.com', '--ip', '203.0.113.9', '--json']);
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.stdout) as CheckHostResult).result, 'softfail');
  });

  it('returns permerror for two records and for too many lookups, exit code 5', async () => {
    const a = await spf(['spf-multiple.example.com', '--ip', '192.0.2.1', '--json']);
    assert.equal(a.code, 5);
    assert.match((JSON.parse(a.stdout) as CheckHostResult).reason, /2 SPF records/);
    const b = await spf(['spf-toomany.example.com', '--ip', '192.0.2.1', '--json']);
    assert.equal(b.code, 5);
    const result = JSON.parse(b.stdout) as CheckHostResult;
    assert.equal(result.result, 'permerror');
    assert.equal(result.lookups, 11);
  });

  it('returns none with exit code 4 for a domain without SPF, temperror (5) on SERVFAIL', async () => {
    assert.equal((await spf(['spf-none.example.com', '--ip', '192.0.2.1'])).code, 4);
    const t = await spf(['spf-servfail.example.com', '--ip', '192.0.2.1', '--json']);
    assert.equal(t.code, 5);
    assert.equal((JSON.parse(t.stdout) as CheckHostResult).result, 'temperror');
  });

  it('rejects a bad IP and a missing --ip with exit code 2 and a clear message', async () => {
    const a = await spf(['spf-good.example.com', '--ip', '192.0.2.256']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /--ip "192\.0\.2\.256" is not an IP address/);
    const b = await runMxdoctor(['spf', 'spf-good.example.com']);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--ip/);
    const c = await spf(['spf-good.example.com', '--ip', '192.0.2.1', '--sender', 'not an address']);
    assert.equal(c.code, 2);
  });
});
