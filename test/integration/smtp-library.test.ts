import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCheck } from '../../src/checks/run.js';
import { probeMxTls, verifyRecipients } from '../../src/smtp/check.js';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { normalizeDomain } from '../../src/input/domain.js';
import { sleep } from '../../src/net/deadline.js';
import { countStatuses } from '../../src/report/score.js';
import { mergeRecipientReprobe } from '../../src/report/rcpt-merge.js';
import type { Report } from '../../src/report/model.js';
import { tlsObservationsOf, sessionSummariesOf } from '../../src/smtp/contract.js';
import type { SmtpData } from '../../src/smtp/model.js';
import { InProcessLimiter } from '../../src/smtp/probe.js';
import type { ConnectionCache } from '../../src/smtp/sharing.js';
import { RedisConnectionCache } from '../../src/store/connection-cache.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { freePort, startSmtpFake } from '../support/smtp-fakes.js';
import type { SmtpFake } from '../support/smtp-fakes.js';
import { createTestPki } from '../support/test-ca.js';
import { cleanPrefix, connectTestRedis, recordCommands, testPrefix } from '../support/redis.js';

/** A ConnectionCache in memory, with the shape of the Redis one (plain JSON, storedAt). */
class MemoryCache implements ConnectionCache {
  readonly entries = new Map<string, { value: unknown; storedAt: string }>();
  async get(key: string) {
    return this.entries.get(key);
  }
  async set(key: string, value: unknown) {
    this.entries.set(key, { value: JSON.parse(JSON.stringify(value)), storedAt: '2026-01-02T03:04:05.000Z' });
  }
}

function domain(name: string) {
  const d = normalizeDomain(name);
  if (!d.ok) throw new Error(d.error);
  return d.domain;
}

/** The MX set of a domain, as a check without SMTP reports it (what probeMxTls takes). */
async function mxSetOf(name: string, config: Config) {
  return (
    await runCheck(
      domain(name),
      { verify: [], dkimSelectors: [], smtp: false, greylistRetryMs: 0 },
      { config },
    )
  ).mx;
}

describe('SMTP probe as a library: verification, TLS probe, re-probe merge, cache, limiter', () => {
  let dns: FixtureDns;
  let port: number;
  let good: SmtpFake;
  let grey: SmtpFake;
  let config: Config;

  before(async () => {
    const pki = createTestPki('lib');
    port = await freePort();
    const leaf = pki.leaf({ names: ['mx.lib-good.test'] });
    const tls = { key: leaf.keyPem, cert: leaf.chainPem };
    good = await startSmtpFake({
      host: '127.0.0.30',
      port,
      name: 'mx.lib-good.test',
      tls,
      users: ['alice'],
      domains: ['lib-good.test'],
    });
    grey = await startSmtpFake({
      host: '127.0.0.31',
      port,
      name: 'mx.lib-grey.test',
      users: ['alice'],
      domains: ['lib-grey.test'],
      greylistMs: 800,
    });
    const SOA = ['ns.test hostmaster.test 1 3600 600 86400 300'];
    dns = await startFixtureDns({
      zones: {
        'lib-good.test': { MX: ['10 mx.lib-good.test'], SOA },
        'mx.lib-good.test': { A: ['127.0.0.30'] },
        'lib-grey.test': { MX: ['10 mx.lib-grey.test'], SOA },
        'mx.lib-grey.test': { A: ['127.0.0.31'] },
      },
    });
    config = loadConfig({
      MXDOCTOR_RESOLVERS: dns.address,
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_SMTP_PORT: String(port),
      MXDOCTOR_CA_FILE: pki.rootFile,
      MXDOCTOR_EHLO_NAME: 'probe.mxdoctor.test',
      MXDOCTOR_SMTP_BANNER_TIMEOUT: '2s',
      MXDOCTOR_SMTP_COMMAND_TIMEOUT: '2s',
      MXDOCTOR_SMTP_RCPT_TIMEOUT: '2s',
    });
  });
  after(async () => {
    good.assertNoMessageSent();
    grey.assertNoMessageSent();
    await Promise.all([good.stop(), grey.stop(), dns.stop()]);
  });

  it('re-probes greylisted recipients later and merges the answer into the stored report', async () => {
    const report: Report = await runCheck(
      domain('lib-grey.test'),
      {
        verify: ['alice@lib-grey.test', 'bob@lib-grey.test'],
        dkimSelectors: [],
        smtp: true,
        greylistRetryMs: 0,
      },
      { config },
    );
    const before = report.checks.filter((f) => f.id === 'rcpt.verify').map((f) => f.status);
    assert.deepEqual(before, ['error', 'error'], 'greylisted: could not tell');
    const smtp = report.data.smtp as SmtpData;

    await sleep(900);
    const result = await verifyRecipients({
      domain: 'lib-grey.test',
      mx: report.mx,
      addresses: ['alice@lib-grey.test', 'bob@lib-grey.test'],
      randoms: smtp.catchAll.probes,
      config,
    });
    assert.deepEqual(
      result.verdicts.map((v) => [v.address, v.verdict]),
      [
        ['alice@lib-grey.test', 'deliverable'],
        ['bob@lib-grey.test', 'undeliverable'],
      ],
    );
    assert.equal(result.catchAll.state, 'no');
    // Only RCPT: no null-sender or relay transaction, never DATA.
    const sent = result.sessions.flatMap((s) => s.transcript.filter((l) => l.dir === 'C').map((l) => l.line));
    assert.ok(!sent.some((l) => l === 'MAIL FROM:<>' || /example\.net/.test(l)));

    const merged = mergeRecipientReprobe(report, result);
    assert.deepEqual(
      merged.checks
        .filter((f) => f.id.startsWith('rcpt.'))
        .map((f) => `${f.id}:${f.status}:${f.subject?.name ?? ''}`),
      ['rcpt.catch_all:pass:', 'rcpt.verify:pass:alice@lib-grey.test', 'rcpt.verify:fail:bob@lib-grey.test'],
    );
    assert.deepEqual(merged.counts, countStatuses(merged.checks));
    assert.equal(merged.verdict, 'fail');
    const data = merged.data.smtp as SmtpData;
    assert.equal(data.recipients.find((r) => r.address === 'bob@lib-grey.test')!.verdict, 'undeliverable');
    assert.equal(data.reprobedAt, result.checkedAt);
    assert.deepEqual(
      report.checks.filter((f) => f.id === 'rcpt.verify').map((f) => f.status),
      ['error', 'error'],
      'the input report is left untouched',
    );
  });

  it('probes STARTTLS and certificates on its own, sharing results through the connection cache', async () => {
    const cache = new MemoryCache();
    const mx = await mxSetOf('lib-good.test', config);
    const first = await probeMxTls({
      domain: 'lib-good.test',
      mx,
      config,
      sharing: { connectionCache: cache },
    });
    assert.equal(first.tls[0]!.handshake, 'ok');
    assert.equal(first.tls[0]!.trusted, true);
    assert.equal(first.tls[0]!.cached, undefined);
    assert.ok(first.findings.some((f) => f.id === 'smtp.starttls' && f.status === 'pass'));
    assert.ok(!first.findings.some((f) => f.id.startsWith('rcpt.')));
    assert.deepEqual(first.sessions, [
      {
        host: 'mx.lib-good.test',
        address: '127.0.0.30',
        bannerHostname: 'mx.lib-good.test',
        ehloHostname: 'mx.lib-good.test',
      },
    ]);
    assert.equal(cache.entries.size, 1);
    assert.match([...cache.entries.keys()][0]!, /127\.0\.0\.30/);

    const connections = good.connections;
    const second = await probeMxTls({
      domain: 'lib-good.test',
      mx,
      config,
      sharing: { connectionCache: cache },
    });
    assert.equal(good.connections, connections, 'served from the cache: no new connection');
    assert.deepEqual(second.tls[0]!.cached, { storedAt: '2026-01-02T03:04:05.000Z' });
    assert.match(second.findings.find((f) => f.id === 'smtp.starttls')!.summary, /shared cache/);
  });

  it('asks the Redis cache once per probe and once to store, and opens one session between concurrent probes', async () => {
    const mx = await mxSetOf('lib-good.test', config);
    // What one probe opens on its own (the main session and the legacy-TLS one).
    let before = good.connections;
    await probeMxTls({ domain: 'lib-good.test', mx, config });
    const perProbe = good.connections - before;
    assert.ok(perProbe >= 1);

    const counted = connectTestRedis();
    const prefixes = [testPrefix('lib'), testPrefix('lib')];
    try {
      await counted.ping();
      const sent = recordCommands(counted);
      const sharing = (prefix: string) => ({
        connectionCache: new RedisConnectionCache(counted, { prefix }),
      });
      // A miss: the look-up takes the claim, and the result goes in with the claim's release.
      const probed = await probeMxTls({
        domain: 'lib-good.test',
        mx,
        config,
        sharing: sharing(prefixes[0]!),
      });
      assert.equal(probed.tls[0]!.cached, undefined);
      assert.deepEqual(sent, ['eval', 'eval'], 'look-up with claim, then store with release');
      // A hit: one look-up, no session.
      before = good.connections;
      const hit = await probeMxTls({ domain: 'lib-good.test', mx, config, sharing: sharing(prefixes[0]!) });
      assert.ok(hit.tls[0]!.cached?.storedAt);
      assert.equal(good.connections, before);
      assert.deepEqual(sent, ['eval', 'eval', 'eval']);

      // Three checks of domains behind this MX at once, on another key space: one probes.
      before = good.connections;
      const probes = await Promise.all(
        [1, 2, 3].map(() =>
          probeMxTls({ domain: 'lib-good.test', mx, config, sharing: sharing(prefixes[1]!) }),
        ),
      );
      assert.equal(good.connections - before, perProbe, "one probe's sessions between the three");
      assert.equal(probes.filter((p) => p.tls[0]!.cached === undefined).length, 1);
      assert.equal(probes.filter((p) => p.tls[0]!.cached?.storedAt).length, 2);
      assert.equal(probes.filter((p) => p.tls[0]!.handshake === 'ok').length, 3);
      assert.equal(
        (await counted.keys(`${prefixes[1]}:smtp:conn:*`)).length,
        1,
        'the entry, and no lock left',
      );
    } finally {
      counted.disconnect();
      for (const prefix of prefixes) await cleanPrefix(prefix);
    }
  });

  it('makes a full TLS handshake at every STARTTLS of a process: each session sees the whole chain', async () => {
    const mx = await mxSetOf('lib-good.test', config);
    // No connection cache: two sessions, one after the other, with the process's STARTTLS context.
    const connections = good.connections;
    const chains: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const { tls } = await probeMxTls({ domain: 'lib-good.test', mx, config });
      assert.equal(tls[0]!.handshake, 'ok');
      assert.equal(tls[0]!.trusted, true);
      chains.push(tls[0]!.chain.map((c) => c.sha256));
    }
    assert.ok(good.connections >= connections + 2, 'two sessions were made');
    // A resumed session would present no certificate.
    assert.ok(chains[0]!.length >= 1);
    assert.deepEqual(chains[1], chains[0]);
  });

  it('shares connection facts across domain checks but never another domain’s recipients', async () => {
    const cache = new MemoryCache();
    const options = { verify: ['alice@lib-good.test'], dkimSelectors: [], smtp: true, greylistRetryMs: 0 };
    await runCheck(domain('lib-good.test'), options, {
      config,
      services: { smtp: { connectionCache: cache } },
    });
    const stored = JSON.stringify([...cache.entries.values()]);
    assert.ok(!/RCPT TO|alice@/.test(stored), 'recipient tests are not cached');
    const report = await runCheck(domain('lib-good.test'), options, {
      config,
      services: { smtp: { connectionCache: cache } },
    });
    const tls = tlsObservationsOf(report.data.smtp);
    assert.equal(tls[0]!.cached?.storedAt, '2026-01-02T03:04:05.000Z');
    const smtp = report.data.smtp as SmtpData;
    assert.deepEqual(
      smtp.sessions.map((s) => [s.kind, Boolean(s.cached)]),
      [
        ['probe', true],
        ['legacy_tls', true],
        ['rcpt', false],
      ],
    );
    assert.equal(report.checks.find((f) => f.id === 'rcpt.verify')!.status, 'pass', 'recipients asked live');
    assert.equal(sessionSummariesOf(report.data.smtp)[0]!.bannerHostname, 'mx.lib-good.test');
  });

  it('limits concurrent sessions per address and gives up a queued slot on abort', async () => {
    const limiter = new InProcessLimiter(1);
    const signal = new AbortController().signal;
    const release = await limiter.acquire('192.0.2.1', signal);
    let second = false;
    const waiting = limiter.acquire('192.0.2.1', signal).then((r) => {
      second = true;
      return r;
    });
    const other = await limiter.acquire('192.0.2.2', signal);
    await sleep(20);
    assert.equal(second, false, 'the same address waits');
    const aborted = new AbortController();
    const third = limiter.acquire('192.0.2.1', aborted.signal);
    aborted.abort(new Error('cancelled'));
    await assert.rejects(third, /cancelled/);
    release();
    (await waiting)();
    other();
    assert.equal(second, true);
  });
});
