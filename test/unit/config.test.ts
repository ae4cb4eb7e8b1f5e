import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, parseDuration, parseResolver, systemResolvers } from '../../src/config.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    assert.equal(c.smtp.port, 25);
    assert.equal(c.net.allowPrivate, false);
    assert.equal(c.dns.timeoutMs, 3000);
    assert.ok(c.dns.resolvers.length >= 1);
    assert.equal(c.probe.mailFrom, `mxdoctor@${c.probe.ehloName}`);
  });

  it('turns blocklists off with "off", and names a bad zone', () => {
    const c = loadConfig({ MXDOCTOR_DNSBLS: 'off', MXDOCTOR_DOMAIN_BLOCKLISTS: 'none' });
    assert.deepEqual(c.dnsbl.zones, []);
    assert.deepEqual(c.dnsbl.domainZones, []);
    assert.deepEqual(loadConfig({ MXDOCTOR_DNSBLS: 'bl.example.net, Zen.Spamhaus.org.' }).dnsbl.zones, [
      'bl.example.net',
      'zen.spamhaus.org',
    ]);
    assert.throws(
      () => loadConfig({ MXDOCTOR_DOMAIN_BLOCKLISTS: 'dbl.spamhaus.org, not a zone' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /MXDOCTOR_DOMAIN_BLOCKLISTS: "not a zone" is not a DNS zone.*or off for none/.test(e.message),
    );
  });

  it('reads every documented variable', () => {
    const c = loadConfig({
      MXDOCTOR_RESOLVERS: '9.9.9.9, 127.0.0.1:5353,[2620:fe::fe]:53',
      MXDOCTOR_DNS_TIMEOUT: '2s',
      MXDOCTOR_DNS_RETRIES: '1',
      MXDOCTOR_CHECK_DEADLINE: '2m',
      MXDOCTOR_EHLO_NAME: 'probe.example.net',
      MXDOCTOR_MAIL_FROM: 'check@example.net',
      MXDOCTOR_ALLOW_PRIVATE: 'yes',
      MXDOCTOR_SMTP_PORT: '2525',
    });
    assert.deepEqual(c.dns.resolvers, [
      { host: '9.9.9.9', port: 53 },
      { host: '127.0.0.1', port: 5353 },
      { host: '2620:fe::fe', port: 53 },
    ]);
    assert.equal(c.dns.resolversSource, 'MXDOCTOR_RESOLVERS');
    assert.equal(c.dns.timeoutMs, 2000);
    assert.equal(c.dns.retries, 1);
    assert.equal(c.check.deadlineMs, 120_000);
    assert.equal(c.probe.ehloName, 'probe.example.net');
    assert.equal(c.probe.mailFrom, 'check@example.net');
    assert.equal(c.net.allowPrivate, true);
    assert.equal(c.smtp.port, 2525);
  });

  it('lets overrides (CLI flags) win over the environment', () => {
    const c = loadConfig({ MXDOCTOR_SMTP_PORT: '2525' }, { smtp: { port: 2600 } });
    assert.equal(c.smtp.port, 2600);
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ MXDOCTOR_RESOLVERS: 'dns.google' }, /^MXDOCTOR_RESOLVERS: "dns.google" is not a resolver address/],
    [{ MXDOCTOR_RESOLVERS: '1.1.1.1:99999' }, /^MXDOCTOR_RESOLVERS/],
    [{ MXDOCTOR_DNS_TIMEOUT: 'soon' }, /^MXDOCTOR_DNS_TIMEOUT="soon" is not a duration/],
    [{ MXDOCTOR_DNS_RETRIES: '-1' }, /^MXDOCTOR_DNS_RETRIES="-1" must be a whole number from 0 to 10/],
    [{ MXDOCTOR_ALLOW_PRIVATE: 'maybe' }, /^MXDOCTOR_ALLOW_PRIVATE="maybe" is not a boolean/],
    [{ MXDOCTOR_SMTP_PORT: '0' }, /^MXDOCTOR_SMTP_PORT/],
    [{ MXDOCTOR_MAIL_FROM: 'not an address' }, /^MXDOCTOR_MAIL_FROM/],
    [{ MXDOCTOR_CHECK_DEADLINE: '10ms' }, /^MXDOCTOR_CHECK_DEADLINE/],
  ];
  for (const [env, message] of bad) {
    it(`fails fast on ${JSON.stringify(env)} with one message naming the variable`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }

  it('parses durations with units', () => {
    assert.equal(parseDuration('1500', 'X'), 1500);
    assert.equal(parseDuration('1.5s', 'X'), 1500);
    assert.equal(parseDuration('2m', 'X'), 120_000);
    assert.equal(parseDuration('250ms', 'X'), 250);
  });

  it('parses resolver addresses with and without ports', () => {
    assert.deepEqual(parseResolver('::1', 'X'), { host: '::1', port: 53 });
    assert.deepEqual(parseResolver('[::1]:5300', 'X'), { host: '::1', port: 5300 });
    assert.deepEqual(parseResolver('192.0.2.53:5353', 'X'), { host: '192.0.2.53', port: 5353 });
  });

  it('reads nameservers from resolv.conf, ignoring other lines and zone ids', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mxd-'));
    const path = join(dir, 'resolv.conf');
    writeFileSync(
      path,
      '# comment\nsearch example.com\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\noptions ndots:1\n',
    );
    assert.deepEqual(systemResolvers(path), [
      { host: '192.0.2.53', port: 53 },
      { host: 'fe80::1', port: 53 },
    ]);
    assert.deepEqual(systemResolvers(join(dir, 'missing')), [{ host: '127.0.0.1', port: 53 }]);
  });
});
