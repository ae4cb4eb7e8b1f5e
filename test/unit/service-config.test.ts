import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, parseRate, parseTokens, redactRedisUrl } from '../../src/config/index.js';

describe('service configuration', () => {
  it('has defaults for a single machine', () => {
    const c = loadConfig({});
    assert.equal(c.service.port, 3000);
    assert.equal(c.redis.url, 'redis://127.0.0.1:6379');
    assert.equal(c.redis.urlFromEnv, false);
    assert.equal(c.redis.prefix, '{mxdoctor}');
    assert.equal(c.queue.dedupeMs, 60_000);
    assert.equal(c.storage.retentionMs, 30 * 86_400_000);
    assert.equal(c.politeness.sessionsPerAddress, 2);
    assert.equal(c.smtp.cacheTtlMs, 300_000);
    assert.deepEqual(c.auth.apiTokens, []);
    assert.equal(c.auth.adminToken, undefined);
  });

  it('reads the service variables', () => {
    const c = loadConfig({
      PORT: '8080',
      REDIS_URL: 'rediss://:pw@redis.internal:6380/2',
      MXDOCTOR_REDIS_PREFIX: 'prod{mxd}',
      MXDOCTOR_WORKER_CONCURRENCY: '12',
      MXDOCTOR_REPORT_RETENTION: '7d',
      MXDOCTOR_RATE_LIMIT_CHECKS: '5/1h',
      MXDOCTOR_API_TOKENS: 'ci:0123456789abcdef0123, fedcba9876543210fedc',
      MXDOCTOR_TRUST_PROXY: '1',
      MXDOCTOR_LOCAL_REDIS_PORT: '6400',
    });
    assert.equal(c.service.port, 8080);
    assert.equal(c.redis.urlFromEnv, true);
    assert.equal(c.redis.prefix, 'prod{mxd}');
    assert.equal(c.queue.concurrency, 12);
    assert.equal(c.storage.retentionMs, 7 * 86_400_000);
    assert.deepEqual(c.limits.checks, { points: 5, windowMs: 3_600_000 });
    assert.deepEqual(c.auth.apiTokens, [
      { name: 'ci', token: '0123456789abcdef0123' },
      { name: 'token2', token: 'fedcba9876543210fedc' },
    ]);
    assert.equal(c.service.trustProxy, 1);
    assert.equal(loadConfig({ MXDOCTOR_LOCAL_REDIS_PORT: '6400' }).redis.url, 'redis://127.0.0.1:6400');
  });

  it('refuses bad values with a message naming the variable', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ MXDOCTOR_REDIS_PREFIX: 'mxdoctor' }, /MXDOCTOR_REDIS_PREFIX: must contain a \{hash-tag\}/],
      [{ REDIS_URL: 'http://redis' }, /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
      [
        { MXDOCTOR_RATE_LIMIT_CHECKS: 'lots' },
        /MXDOCTOR_RATE_LIMIT_CHECKS="lots" is not a rate; use a count per duration such as 20\/10m/,
      ],
      [{ MXDOCTOR_API_TOKENS: 'ci:short' }, /MXDOCTOR_API_TOKENS: token 1 \(ci\) is too short/],
      [{ MXDOCTOR_ADMIN_TOKEN: 'x' }, /MXDOCTOR_ADMIN_TOKEN is too short/],
      [{ PORT: 'eighty' }, /PORT="eighty" must be a whole number from 0 to 65535/],
    ];
    for (const [env, message] of bad)
      assert.throws(
        () => loadConfig(env),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
      );
    assert.throws(
      () => parseTokens('ci:abc', 'T'),
      (e: Error) => !e.message.includes('abc'),
      'never echoes a token',
    );
  });

  it('parses rates and redacts Redis passwords', () => {
    assert.deepEqual(parseRate('300/1m', 'X'), { points: 300, windowMs: 60_000 });
    assert.deepEqual(parseRate('20 / 10m', 'X'), { points: 20, windowMs: 600_000 });
    assert.deepEqual(parseRate('10/h', 'X'), { points: 10, windowMs: 3_600_000 });
    assert.equal(parseRate('off', 'X').points, 0);
    assert.equal(redactRedisUrl('redis://user:secret@host:6379/0'), 'redis://user:***@host:6379/0');
  });
});
