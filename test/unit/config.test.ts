import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  SETTINGS,
  loadConfig,
  parseDuration,
  parseResolver,
  systemResolvers,
} from '../../src/config/index.js';
import { unsetBounceMaxBytes } from '../../src/config/bounce-size.js';
import { configSchema } from '../../src/config/declare.js';
import { ALL_FIELDS } from '../../src/config/settings.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
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

  it('knows the bounce size limit without loading the configuration only while its variable is unset', () => {
    // Unset or empty, loadConfig reads the default: the same value, without zod.
    for (const env of [{}, { MXDOCTOR_BOUNCE_MAX_SIZE: '' }, { MXDOCTOR_DNS_TIMEOUT: '2s' }])
      assert.equal(unsetBounceMaxBytes(env), loadConfig(env).bounce.maxBytes, JSON.stringify(env));
    // Set, it is for loadConfig to parse and validate.
    assert.equal(unsetBounceMaxBytes({ MXDOCTOR_BOUNCE_MAX_SIZE: '5M' }), undefined);
    assert.equal(unsetBounceMaxBytes({ MXDOCTOR_BOUNCE_MAX_SIZE: '1' }), undefined);
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

describe('configuration declarations', () => {
  it('declares each variable once and each place in Config once', () => {
    const envs = SETTINGS.map((s) => s.env);
    assert.deepEqual(
      envs.filter((e, i) => envs.indexOf(e) !== i),
      [],
      'duplicate variables',
    );
    const places = SETTINGS.map((s) => `${s.group}.${s.key}`);
    assert.deepEqual(
      places.filter((p, i) => places.indexOf(p) !== i),
      [],
      'two settings land in one place',
    );
  });

  it('puts every setting where its declaration says, with its default', () => {
    const c = loadConfig({ MXDOCTOR_EHLO_NAME: 'probe.example.net' }) as unknown as Record<
      string,
      Record<string, unknown>
    >;
    for (const s of SETTINGS) {
      assert.ok(s.key in (c[s.group] ?? {}), `${s.env} lands in config.${s.group}.${s.key}`);
    }
    assert.equal(c.dns!.timeoutMs, 3000);
    assert.deepEqual(c.limits!.checks, { points: 20, windowMs: 600_000 });
    assert.equal(c.alert!.from, 'mxdoctor@probe.example.net', 'a default computed from another setting');
  });

  it('declares only defaults that pass their own schemas (the loader validates given values alone)', () => {
    // Every value a load without variables keeps at its static default, finish hooks run: the
    // values the loader does not validate.
    const loaded = loadConfig({}) as unknown as Record<string, Record<string, unknown>>;
    const fields = SETTINGS.filter(
      (f) => !f.fromEnvironment({}) && isDeepStrictEqual(loaded[f.group]![f.key], f.default()),
    );
    assert.ok(fields.length > 70, `${fields.length} settings left at a static default`);
    for (const f of fields) {
      const result = configSchema([f]).safeParse({ [f.group]: { [f.key]: f.default() } });
      assert.ok(result.success, `${f.env}: ${result.error?.issues[0]?.message}`);
    }
  });

  it('validates every value the environment gives, and the defaults computed per load', () => {
    // A static default is not run through its schema; a given value always is.
    assert.throws(
      () => loadConfig({ MXDOCTOR_LOG_LEVEL: 'verbose' }),
      (e: unknown) => e instanceof ConfigError && /^MXDOCTOR_LOG_LEVEL: .*"info"/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ MXDOCTOR_REDIS_PREFIX: 'nohashtag' }),
      (e: unknown) =>
        e instanceof ConfigError && /^MXDOCTOR_REDIS_PREFIX: must contain a \{hash-tag\}/.test(e.message),
    );
    const resolvers = ALL_FIELDS.find((f) => f.group === 'dns' && f.key === 'resolvers')!;
    assert.equal(
      resolvers.fromEnvironment({}),
      true,
      'the resolvers come from /etc/resolv.conf at each load',
    );
  });

  it('validates CLI overrides with the same rules, naming the variable', () => {
    assert.throws(
      () => loadConfig({}, { check: { deadlineMs: 5 } }),
      (e: unknown) => e instanceof ConfigError && /^MXDOCTOR_CHECK_DEADLINE: .*100/.test(e.message),
    );
  });

  it('blames a bad EHLO name on MXDOCTOR_EHLO_NAME, not on the addresses derived from it', () => {
    for (const [env, overrides] of [
      [{ MXDOCTOR_EHLO_NAME: 'bad name' }, {}],
      [{}, { probe: { ehloName: 'bad name' } }],
    ] as const) {
      assert.throws(
        () => loadConfig(env, overrides),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message === 'MXDOCTOR_EHLO_NAME / --helo "bad name" is not a host name',
      );
    }
  });
});
