import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scanWith, DEFAULT_MAX_HANDSHAKES, SHA1_SIGALGS } from '../../src/tls/deep/scan.js';
import type { HandshakeFn } from '../../src/tls/deep/scan.js';
import type { Attempt, AttemptResult } from '../../src/tls/deep/handshake.js';
import { CIPHER_SUITES, suiteUsableIn } from '../../src/tls/deep/suites.js';
import type { TlsVersion } from '../../src/tls/deep/suites.js';
import { evaluateDeepTls } from '../../src/tls/deep/evaluate.js';

/**
 * The scan planner against simulated servers: which handshakes it makes, how many, and what
 * it concludes. The real handshakes are tested against loopback servers in
 * test/integration/tls-deep.test.ts.
 */
interface SimServer {
  /** Accepted suites per version, in the server's preference order. */
  suites: Partial<Record<TlsVersion, string[]>>;
  serverPreference?: boolean;
  groups?: string[];
  dhBits?: number;
  sha1?: boolean;
  renegotiation?: boolean;
  /** Fail (as a connection failure) from this handshake number on. */
  failFrom?: number;
}

function simulate(server: SimServer): { hs: HandshakeFn; calls: Attempt[] } {
  const calls: Attempt[] = [];
  const hs: HandshakeFn = async (a) => {
    calls.push(a);
    if (server.failFrom !== undefined && calls.length >= server.failFrom)
      return { outcome: 'failed', failure: 'connect', error: 'connection refused', ms: 1 };
    const accepted = server.suites[a.version] ?? [];
    const offered = a.suites.map((s) => s.iana);
    const pick = server.serverPreference
      ? accepted.find((s) => offered.includes(s))
      : offered.find((s) => accepted.includes(s));
    if (!pick) return { outcome: 'refused', error: 'handshake failure', ms: 1 };
    const suite = CIPHER_SUITES.find((s) => s.iana === pick)!;
    const groups = server.groups ?? ['X25519', 'P-256'];
    const offeredGroups = a.groups ?? groups;
    const result: AttemptResult = { outcome: 'accepted', protocol: a.version, suite: pick, ms: 1 };
    if (suite.kx === 'DHE') {
      result.group = `DH ${server.dhBits ?? 2048}`;
      result.dhBits = server.dhBits ?? 2048;
    } else if (suite.kx === 'ECDHE' || suite.kx === 'any') {
      const g = offeredGroups.find((x) => groups.includes(x));
      if (!g) return { outcome: 'refused', error: 'no shared group', ms: 1 };
      result.group = g;
    }
    if (a.sigalgs === SHA1_SIGALGS && !server.sha1)
      return { outcome: 'refused', error: 'no shared sigalg', ms: 1 };
    if (a.renegotiate) result.renegotiation = server.renegotiation ? 'allowed' : 'refused';
    return result;
  };
  return { hs, calls };
}

const signal = new AbortController().signal;
const names = (v: TlsVersion, pred: (iana: string) => boolean) =>
  CIPHER_SUITES.filter((s) => suiteUsableIn(s, v) && pred(s.iana)).map((s) => s.iana);

const MODERN: SimServer = {
  suites: {
    'TLSv1.3': ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'],
    'TLSv1.2': ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
  },
  serverPreference: true,
};

describe('TLS depth scan plan', () => {
  it('finds every suite of a modern server in a handful of handshakes and passes it', async () => {
    const { hs, calls } = simulate(MODERN);
    const facts = await scanWith(hs, { maxHandshakes: DEFAULT_MAX_HANDSHAKES, signal });
    assert.equal(facts.status, 'scanned');
    assert.deepEqual(
      facts.versions.find((v) => v.version === 'TLSv1.3')!.accepted.sort(),
      [...MODERN.suites['TLSv1.3']!].sort(),
    );
    assert.deepEqual(facts.versions.find((v) => v.version === 'TLSv1.2')!.accepted, MODERN.suites['TLSv1.2']);
    assert.equal(facts.versions.find((v) => v.version === 'TLSv1')!.supported, false);
    assert.ok(facts.versions.every((v) => v.complete));
    assert.equal(facts.handshakes.length, calls.length);
    assert.ok(calls.length <= 25, `${calls.length} handshakes`);
    const findings = evaluateDeepTls({ ...facts, host: 'mx.test', address: '192.0.2.1', port: 25, ms: 0 });
    assert.equal(findings.find((f) => f.id === 'tls.ciphers')!.status, 'pass');
  });

  it('looks for weak suites first and says which were Insufficient', async () => {
    const { hs, calls } = simulate({
      suites: { 'TLSv1.2': ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_RSA_WITH_AES_128_CBC_SHA'] },
    });
    const facts = await scanWith(hs, { maxHandshakes: DEFAULT_MAX_HANDSHAKES, signal });
    // The first TLS 1.2 handshake offers only Insufficient and Phase-out suites.
    const first12 = calls.find((c) => c.version === 'TLSv1.2')!;
    assert.ok(first12.suites.every((s) => s.class === 'insufficient' || s.class === 'phase_out'));
    const f = evaluateDeepTls({ ...facts, host: 'mx.test', address: '192.0.2.1', port: 25, ms: 0 });
    assert.equal(f.find((x) => x.id === 'tls.ciphers')!.status, 'fail');
    assert.match(f.find((x) => x.id === 'tls.ciphers')!.summary, /TLS_RSA_WITH_AES_128_CBC_SHA/);
    assert.equal(f.find((x) => x.id === 'tls.key_exchange')!.status, 'warn');
  });

  it('never makes more handshakes than the cap, and says the list may be incomplete', async () => {
    // Accepts every suite Node can offer: the worst case for the budget.
    const all: SimServer = {
      suites: Object.fromEntries(
        (['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const).map((v) => [v, names(v, () => true)]),
      ),
      groups: ['X25519', 'P-256', 'P-384', 'P-224'],
      sha1: true,
      renegotiation: true,
    };
    for (const cap of [5, 20, 60]) {
      const { hs, calls } = simulate(all);
      const facts = await scanWith(hs, { maxHandshakes: cap, signal });
      assert.ok(calls.length <= cap, `cap ${cap}: ${calls.length}`);
      assert.equal(facts.capReached, true);
      const f = evaluateDeepTls({ ...facts, host: 'mx.test', address: '192.0.2.1', port: 25, ms: 0 });
      assert.equal(f.find((x) => x.id === 'tls.ciphers')!.status, 'fail');
      assert.match(f.find((x) => x.id === 'tls.ciphers')!.summary, /may be incomplete/);
    }
    // With the default cap, the tests after the cipher scan still run.
    const { hs } = simulate(all);
    const facts = await scanWith(hs, { maxHandshakes: DEFAULT_MAX_HANDSHAKES, signal });
    assert.equal(facts.renegotiation, 'allowed');
    assert.equal(facts.kexHash.sha1, true);
    assert.ok(facts.groups.accepted.includes('P-224'));
  });

  it('tells server preference from client preference', async () => {
    const mixed = ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256'];
    const server = await scanWith(simulate({ suites: { 'TLSv1.2': mixed }, serverPreference: true }).hs, {
      maxHandshakes: 60,
      signal,
    });
    assert.equal(server.order.result, 'server');
    const client = await scanWith(simulate({ suites: { 'TLSv1.2': mixed } }).hs, {
      maxHandshakes: 60,
      signal,
    });
    assert.equal(client.order.result, 'client');
    const f = evaluateDeepTls({ ...client, host: 'mx.test', address: '192.0.2.1', port: 25, ms: 0 });
    assert.equal(f.find((x) => x.id === 'tls.cipher_order')!.status, 'warn');
    const weakFirst = await scanWith(
      simulate({ suites: { 'TLSv1.2': [...mixed].reverse() }, serverPreference: true }).hs,
      { maxHandshakes: 60, signal },
    );
    const g = evaluateDeepTls({ ...weakFirst, host: 'mx.test', address: '192.0.2.1', port: 25, ms: 0 });
    assert.equal(g.find((x) => x.id === 'tls.cipher_order')!.status, 'warn');
    assert.match(g.find((x) => x.id === 'tls.cipher_order')!.summary, /first choice/);
  });

  it('stops after two failed connections instead of hammering the server', async () => {
    const { hs, calls } = simulate({ ...MODERN, failFrom: 3 });
    const facts = await scanWith(hs, { maxHandshakes: 60, signal });
    assert.equal(calls.length, 4);
    assert.match(facts.stopped ?? '', /stopped after 2 failed connections/);
  });

  it('reports an unreachable address as not scanned', async () => {
    const { hs, calls } = simulate({ ...MODERN, failFrom: 1 });
    const facts = await scanWith(hs, { maxHandshakes: 60, signal });
    assert.equal(calls.length, 2);
    assert.equal(facts.status, 'unreachable');
    const f = evaluateDeepTls({ ...facts, host: 'mx.test', address: '192.0.2.1', port: 25, ms: 0 });
    assert.deepEqual(
      f.map((x) => [x.id, x.status]),
      [['tls.ciphers', 'error']],
    );
  });

  it('rejects when the signal aborts', async () => {
    const controller = new AbortController();
    const { hs } = simulate(MODERN);
    const slow: HandshakeFn = async (a) => {
      controller.abort(new Error('cancelled'));
      return hs(a);
    };
    await assert.rejects(scanWith(slow, { maxHandshakes: 60, signal: controller.signal }), /cancelled/);
  });
});
