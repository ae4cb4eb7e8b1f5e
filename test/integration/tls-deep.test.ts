import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import type { TlsOptions } from 'node:tls';
import { createTestPki } from '../support/test-ca.js';
import { dh1024Pem, startStartTlsServer } from '../support/starttls-server.js';
import type { StartTlsServer, StartTlsServerOptions } from '../support/starttls-server.js';
import { scanAddress } from '../../src/tls/deep/scan.js';
import type { DeepScanOptions } from '../../src/tls/deep/scan.js';
import { evaluateDeepTls } from '../../src/tls/deep/evaluate.js';
import type { DeepTlsScan } from '../../src/tls/deep/model.js';

/**
 * The TLS depth scan against real Node TLS servers behind a STARTTLS preamble on loopback,
 * one per case: a weak-suite server, DHE with a 1024-bit group, renegotiation on and off,
 * OCSP stapling, client versus server cipher preference, SHA-1 signatures, no STARTTLS.
 */
const pki = createTestPki();
const leaf = pki.leaf({ names: ['mx.test'] });
const cert = { key: leaf.keyPem, cert: leaf.chainPem };
const servers: StartTlsServer[] = [];

async function server(tls: TlsOptions, extra: Partial<StartTlsServerOptions> = {}): Promise<StartTlsServer> {
  const s = await startStartTlsServer({ tls: { ...cert, ...tls }, ...extra });
  servers.push(s);
  return s;
}

async function scan(s: StartTlsServer, options: Partial<DeepScanOptions> = {}): Promise<DeepTlsScan> {
  return scanAddress({
    target: { host: 'mx.test', address: s.host, port: s.port, heloName: 'probe.mxdoctor.test' },
    timeouts: { connectMs: 2000, bannerMs: 2000, commandMs: 2000, tlsMs: 3000 },
    allowPrivate: true,
    signal: AbortSignal.timeout(60_000),
    ...options,
  });
}

const status = (result: DeepTlsScan, id: string) => evaluateDeepTls(result).find((f) => f.id === id)?.status;

describe('TLS depth scan against loopback servers', () => {
  before(() => {
    // Node warns once about the 1024-bit group the weak-DH fixture uses on purpose.
    process.removeAllListeners('warning');
  });
  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('fails a server restricted to AES128-SHA on TLS 1.0–1.2, and counts one connection per handshake', async () => {
    const s = await server({ minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA:@SECLEVEL=0' });
    const r = await scan(s);
    const v = Object.fromEntries(r.versions.map((x) => [x.version, x]));
    assert.deepEqual(v['TLSv1.2']!.accepted, ['TLS_RSA_WITH_AES_128_CBC_SHA']);
    assert.deepEqual(v['TLSv1']!.accepted, ['TLS_RSA_WITH_AES_128_CBC_SHA']);
    assert.equal(v['TLSv1.3']!.supported, false);
    const findings = evaluateDeepTls(r);
    const ciphers = findings.find((f) => f.id === 'tls.ciphers')!;
    assert.equal(ciphers.status, 'fail');
    assert.match(ciphers.summary, /TLS_RSA_WITH_AES_128_CBC_SHA \(Insufficient: RSA key exchange/);
    assert.equal(status(r, 'tls.key_exchange'), 'warn');
    assert.equal(status(r, 'tls.kex_hash'), 'info');
    assert.equal(s.connections, r.handshakes.length);
    assert.ok(r.handshakes.length <= 15, `${r.handshakes.length} handshakes`);
    assert.equal(s.violation, undefined);
  });

  it('fails DHE with a 1024-bit group', async () => {
    const s = await server({
      maxVersion: 'TLSv1.2',
      ciphers: 'DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0',
      dhparam: dh1024Pem(),
    });
    const r = await scan(s);
    assert.deepEqual(r.dhBits, [1024]);
    const kx = evaluateDeepTls(r).find((f) => f.id === 'tls.key_exchange')!;
    assert.equal(kx.status, 'fail');
    assert.match(kx.summary, /1024 bits/);
    assert.equal(status(r, 'tls.ciphers'), 'warn');
  });

  it('warns when client-initiated renegotiation is allowed, passes when refused', async () => {
    const allowed = await scan(await server({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE+AESGCM' }));
    assert.equal(allowed.renegotiation, 'allowed');
    assert.equal(status(allowed, 'tls.renegotiation'), 'warn');
    const refused = await scan(
      await server({
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE+AESGCM',
        secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      }),
    );
    assert.equal(refused.renegotiation, 'refused');
    assert.equal(status(refused, 'tls.renegotiation'), 'pass');
  });

  it('passes a modern server and reports its stapled OCSP response', async () => {
    const s = await server(
      {
        minVersion: 'TLSv1.2',
        ciphers: 'ECDHE+AESGCM:ECDHE+CHACHA20',
        honorCipherOrder: true,
        secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      },
      // OCSPResponse { responseStatus successful } — enough for the client to see a staple.
      { ocspResponse: Buffer.from('30030a0100', 'hex') },
    );
    const r = await scan(s);
    const findings = evaluateDeepTls(r);
    assert.deepEqual(
      findings.map((f) => [f.id, f.status]),
      [
        ['tls.ciphers', 'pass'],
        ['tls.cipher_order', 'pass'],
        ['tls.key_exchange', 'pass'],
        ['tls.kex_hash', 'pass'],
        ['tls.renegotiation', 'pass'],
        ['tls.ocsp_stapling', 'info'],
      ],
    );
    assert.deepEqual(r.ocsp, { stapled: true, status: 'successful', bytes: 5 });
    assert.deepEqual([...r.versions.find((v) => v.version === 'TLSv1.3')!.accepted].sort(), [
      'TLS_AES_128_GCM_SHA256',
      'TLS_AES_256_GCM_SHA384',
      'TLS_CHACHA20_POLY1305_SHA256',
    ]);
    assert.ok(r.handshakes.length <= 25, `${r.handshakes.length} handshakes`);
  });

  it('warns when the server lets the client choose between a Sufficient and a Phase-out suite', async () => {
    // Node's servers choose by default; honorCipherOrder: false hands the choice to the client.
    const r = await scan(
      await server({
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256',
        honorCipherOrder: false,
      }),
    );
    assert.equal(r.order.result, 'client');
    assert.equal(status(r, 'tls.cipher_order'), 'warn');
    const own = await scan(
      await server({
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256',
        honorCipherOrder: true,
      }),
    );
    assert.equal(own.order.result, 'server');
    assert.equal(status(own, 'tls.cipher_order'), 'pass');
  });

  it('warns when the server signs the key exchange with SHA-1 on request, and about weak curves', async () => {
    const r = await scan(
      await server({
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE+AESGCM:@SECLEVEL=0',
        ecdhCurve: 'P-256:P-224:secp256k1',
      }),
    );
    assert.equal(r.kexHash.sha1, true);
    assert.equal(status(r, 'tls.kex_hash'), 'warn');
    assert.deepEqual([...r.groups.accepted].sort(), ['P-224', 'P-256', 'secp256k1']);
    const kx = evaluateDeepTls(r).find((f) => f.id === 'tls.key_exchange')!;
    assert.equal(kx.status, 'fail');
    assert.match(kx.summary, /secp256k1/);
  });

  it('makes one connection and reports info when STARTTLS is not offered', async () => {
    const s = await server({}, { starttls: false });
    const r = await scan(s);
    assert.equal(r.status, 'no_starttls');
    assert.equal(s.connections, 1);
    assert.deepEqual(
      evaluateDeepTls(r).map((f) => [f.id, f.status]),
      [['tls.ciphers', 'info']],
    );
  });

  it('does not connect to a loopback address unless private addresses are allowed', async () => {
    const s = await server({});
    const r = await scan(s, { allowPrivate: false });
    assert.equal(r.status, 'forbidden');
    assert.equal(s.connections, 0);
  });

  it('stops within the deadline when the caller aborts', async () => {
    const s = await server({});
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by test')), 30);
    const t0 = Date.now();
    await assert.rejects(scan(s, { signal: controller.signal }), /cancelled by test/);
    assert.ok(Date.now() - t0 < 2000);
  });
});
