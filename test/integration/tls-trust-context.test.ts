import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, createSecureContext, createServer, rootCertificates } from 'node:tls';
import type { SecureContext, Server } from 'node:tls';
import forge from 'node-forge';
import { afterBundledRoots, bundledRootsAreDefault, contextTrusting } from '../../src/net/trust-context.js';
import { loadTrustStore, trustContext } from '../../src/tls/trust-store.js';
import { ROOT } from '../support/cli.js';
import { createTestPki } from '../support/test-ca.js';

/**
 * The trust context of the MTA-STS and BIMI fetches is built from Node's default context plus
 * the configured CA certificates instead of parsing every root again (net/trust-context.ts).
 * It must trust exactly what `createSecureContext({ ca: store.pems })` trusts: the configured
 * CA, Node's bundled roots, and not the process's NODE_EXTRA_CA_CERTS unless configured. Each
 * case is judged by OpenSSL itself, in a real handshake with a loopback server.
 */

const pki = createTestPki('trust context');
const leaf = pki.leaf({ names: ['mx.trust.test'] });

interface Served {
  port: number;
  server: Server;
}

/**
 * A loopback TLS server presenting exactly `cert`. Its own store holds only the test root: with
 * Node's default store, OpenSSL would complete the chain it sends from the bundled roots.
 */
function serve(cert: string, key: string): Promise<Served> {
  return new Promise((resolve) => {
    const server = createServer({ cert, key, ca: [pki.root.certPem] }, (socket) => socket.end());
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, server }));
  });
}

/** OpenSSL's verdict on the server's chain under a context: 'ok' or the verify error code. */
function verdict(context: SecureContext, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'mx.trust.test',
      secureContext: context,
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => {
      resolve(socket.authorized ? 'ok' : String(socket.authorizationError));
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/**
 * A certificate that names a bundled root as its issuer but is signed by another key. With
 * that root in the store, OpenSSL finds it and rejects the signature (CERT_SIGNATURE_FAILURE);
 * without it, the issuer is not found (UNABLE_TO_VERIFY_LEAF_SIGNATURE): two different errors, which tell whether the root is trusted without
 * needing its private key.
 */
function claimingIssuer(rootPem: string): { cert: string; key: string } {
  const root = forge.pki.certificateFromPem(rootPem);
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '0a1b2c';
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'mx.trust.test' }]);
  cert.setIssuer(root.subject.attributes);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** Bundled RSA roots (node-forge reads only RSA keys) valid for another year, spread over the list. */
function sampleRsaRoots(count: number): string[] {
  const soon = Date.now() + 365 * 86_400_000;
  const usable = rootCertificates.filter((pem) => {
    try {
      forge.pki.certificateFromPem(pem);
    } catch {
      return false;
    }
    return new Date(new X509Certificate(pem).validTo).getTime() > soon;
  });
  const step = Math.max(1, Math.floor(usable.length / count));
  return usable.filter((_, i) => i % step === 0).slice(0, count);
}

describe('trust context: the same trust as ca: pems, without parsing the bundled roots again', () => {
  const servers: Server[] = [];
  let signedByTestCa: Served;
  before(async () => {
    signedByTestCa = await serve(leaf.chainPem, leaf.keyPem);
    servers.push(signedByTestCa.server);
  });
  after(() => {
    for (const s of servers) s.close();
  });

  const distribution = Boolean(
    (process.config.variables as unknown as Record<string, unknown>).node_shared_openssl,
  );
  it(
    'starts from the default context here (the cheap path is the one under test)',
    { skip: distribution && "a distribution's Node, whose default store may not be the bundled roots" },
    () => {
      const store = loadTrustStore({ tls: { caFile: pki.rootFile } });
      assert.deepEqual(afterBundledRoots(store.pems), [pki.root.certPem.trim()]);
      assert.equal(bundledRootsAreDefault(), true);
    },
  );

  it('trusts a server signed by the configured CA, and not when that CA is not configured', async () => {
    const configured = loadTrustStore({ tls: { caFile: pki.rootFile } });
    const bare = loadTrustStore({ tls: {} });
    assert.equal(await verdict(trustContext(configured), signedByTestCa.port), 'ok');
    assert.equal(await verdict(trustContext(bare), signedByTestCa.port), 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
    // The reference: what parsing every PEM says.
    assert.equal(await verdict(createSecureContext({ ca: configured.pems }), signedByTestCa.port), 'ok');
  });

  it("keeps Node's bundled roots, with and without configured CAs", async () => {
    const configured = trustContext(loadTrustStore({ tls: { caFile: pki.rootFile } }));
    const bare = trustContext(loadTrustStore({ tls: {} }));
    const withoutRoots = createSecureContext({ ca: [pki.root.certPem] });
    const roots = sampleRsaRoots(6);
    assert.equal(roots.length, 6);
    for (const root of roots) {
      const claimant = claimingIssuer(root);
      const served = await serve(claimant.cert, claimant.key);
      servers.push(served.server);
      const subject = new X509Certificate(root).subject.replace(/\n/g, ', ');
      assert.equal(await verdict(configured, served.port), 'CERT_SIGNATURE_FAILURE', subject);
      assert.equal(await verdict(bare, served.port), 'CERT_SIGNATURE_FAILURE', subject);
      assert.equal(await verdict(withoutRoots, served.port), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', subject);
    }
  });

  it('serves any other list by parsing it, trusting exactly that list', async () => {
    assert.equal(afterBundledRoots([pki.root.certPem]), undefined);
    assert.equal(afterBundledRoots(rootCertificates.slice(1)), undefined);
    assert.equal(await verdict(contextTrusting([pki.root.certPem]), signedByTestCa.port), 'ok');
    const [root] = sampleRsaRoots(1);
    const claimant = claimingIssuer(root!);
    const served = await serve(claimant.cert, claimant.key);
    servers.push(served.server);
    assert.equal(
      await verdict(contextTrusting([pki.root.certPem]), served.port),
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );
  });

  it("does not trust the process's NODE_EXTRA_CA_CERTS unless the list holds it", async () => {
    // Node adds NODE_EXTRA_CA_CERTS to its shared default store at start-up; a context built
    // on the default context must leave it out when the store does not list it.
    const module = pathToFileURL(join(ROOT, 'src', 'net', 'trust-context.ts')).href;
    const script = `
      import { connect, createSecureContext, rootCertificates } from 'node:tls';
      import { readFileSync } from 'node:fs';
      const { contextTrusting } = await import(${JSON.stringify(module)});
      const verdict = (secureContext) => new Promise((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: ${signedByTestCa.port}, servername: 'mx.trust.test', secureContext, rejectUnauthorized: false });
        s.once('secureConnect', () => { resolve(s.authorized ? 'ok' : String(s.authorizationError)); s.destroy(); });
        s.once('error', reject);
      });
      const extra = readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8');
      console.log(JSON.stringify({
        defaultContext: await verdict(createSecureContext()),
        bundledOnly: await verdict(contextTrusting([...rootCertificates])),
        listed: await verdict(contextTrusting([...rootCertificates, extra])),
      }));`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: pki.rootFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`exit ${code}: ${stderr}`)),
      );
    });
    assert.deepEqual(JSON.parse(out), {
      defaultContext: 'ok',
      bundledOnly: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      listed: 'ok',
    });
  });
});

describe('bundledRootsAreDefault', () => {
  const official = { node_shared_openssl: false };
  it('holds for an official build without CA flags', () => {
    assert.equal(bundledRootsAreDefault([], [], official, false), true);
    assert.equal(bundledRootsAreDefault(['--use-bundled-ca'], [], official, false), true);
  });
  it('doubts any sign of another default store', () => {
    assert.equal(bundledRootsAreDefault(['--use-openssl-ca'], [], official, false), false);
    assert.equal(bundledRootsAreDefault([], ['--use-openssl-ca'], official, false), false);
    assert.equal(bundledRootsAreDefault([], ['--use-system-ca'], official, false), false);
    assert.equal(bundledRootsAreDefault([], [], official, true), false);
    assert.equal(bundledRootsAreDefault([], [], { node_shared_openssl: true }, false), false);
    assert.equal(
      bundledRootsAreDefault([], [], { ...official, openssl_system_ca_path: '/etc/ssl' }, false),
      false,
    );
    assert.equal(bundledRootsAreDefault([], [], {}, false), false);
  });
});
