import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkBimiAssets, evaluateBimiAssets } from '../../src/bimi/assets.js';
import type { BimiAssetOptions } from '../../src/bimi/assets.js';
import { createCa, issueLeaf } from '../support/forge-certs.js';
import { PolicyServer } from '../support/https-policy-server.js';
import { issueVmc } from '../support/vmc.js';

/**
 * BIMI logo and mark certificate, fetched from an HTTPS server on loopback: SVG and VMC
 * fixtures are generated at test time (node-forge), one site per real-world case.
 */
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" viewBox="0 0 64 64"><title>Brand</title><rect width="64" height="64" fill="#123"/></svg>`;
const OTHER = LOGO.replace('#123', '#456');

describe('BIMI logo and evidence document', () => {
  const web = createCa('web CA');
  const marks = createCa('Mark issuer root');
  const rogue = createCa('Not a mark issuer');
  const pem = (c: { certPem: string }, ...chain: { certPem: string }[]) =>
    [c.certPem, ...chain.map((x) => x.certPem)].join('');
  const docs: Record<
    string,
    { type: string; body: string; status?: number; headers?: Record<string, string> }
  > = {
    '/logo.svg': { type: 'image/svg+xml', body: LOGO },
    '/bad.svg': {
      type: 'image/svg+xml',
      body: LOGO.replace('baseProfile="tiny-ps"', 'baseProfile="tiny"').replace(
        '<title>Brand</title>',
        '<script>x()</script>',
      ),
    },
    '/text.svg': { type: 'text/plain', body: LOGO },
    '/moved.svg': {
      type: 'text/html',
      body: '',
      status: 301,
      headers: { Location: 'https://10.0.0.1/logo.svg' },
    },
    '/missing.svg': { type: 'text/html', body: 'not here', status: 404 },
    '/big.svg': {
      type: 'image/svg+xml',
      body: LOGO.replace('</svg>', `<desc>${'x'.repeat(300_000)}</desc></svg>`),
    },
    '/vmc.pem': {
      type: 'application/pem-certificate-chain',
      body: pem(issueVmc(marks, { names: ['bimi.test'], svg: LOGO }), marks),
    },
    '/other-logo.pem': {
      type: 'application/pem-certificate-chain',
      body: pem(issueVmc(marks, { names: ['bimi.test'], svg: OTHER }), marks),
    },
    '/other-domain.pem': {
      type: 'application/pem-certificate-chain',
      body: pem(issueVmc(marks, { names: ['brand.example'], svg: LOGO }), marks),
    },
    '/rogue.pem': {
      type: 'application/pem-certificate-chain',
      body: pem(issueVmc(rogue, { names: ['bimi.test'], svg: LOGO }), rogue),
    },
    '/expired.pem': {
      type: 'application/pem-certificate-chain',
      body: pem(
        issueVmc(marks, {
          names: ['bimi.test'],
          svg: LOGO,
          notBefore: new Date(Date.now() - 400 * 864e5),
          notAfter: new Date(Date.now() - 864e5),
        }),
        marks,
      ),
    },
    '/tls-cert.pem': {
      type: 'application/pem-certificate-chain',
      body: pem(issueVmc(marks, { names: ['bimi.test'], svg: LOGO, eku: false }), marks),
    },
  };
  let server: PolicyServer;
  before(async () => {
    const site = issueLeaf(web, { commonName: 'bimi.test' });
    server = await new PolicyServer(
      {
        'bimi.test': {
          cert: site,
          respond: (req, res) => {
            const doc = docs[req.url ?? ''];
            if (!doc) return void res.writeHead(404).end();
            res.writeHead(doc.status ?? 200, { 'Content-Type': doc.type, ...doc.headers }).end(doc.body);
          },
        },
      },
      site,
    ).start();
  });
  after(() => server.stop());

  const run = (
    logo: string | undefined,
    evidence: string | undefined,
    extra: Partial<BimiAssetOptions> = {},
  ) =>
    checkBimiAssets({
      domain: 'bimi.test',
      ...(logo ? { logoUrl: `https://bimi.test:${server.port}${logo}` } : {}),
      ...(evidence ? { evidenceUrl: `https://bimi.test:${server.port}${evidence}` } : {}),
      fetch: {
        resolve: async () => ({ addresses: ['127.0.0.1'] }),
        trust: [web.certPem],
        allowPrivate: true,
        timeoutMs: 5000,
        userAgent: 'mxdoctor-test',
        signal: AbortSignal.timeout(10_000),
      },
      markTrust: [marks.certPem],
      now: new Date(),
      ...extra,
    });
  const status = async (
    logo: string | undefined,
    evidence: string | undefined,
    extra: Partial<BimiAssetOptions> = {},
  ) =>
    Object.fromEntries(
      evaluateBimiAssets(await run(logo, evidence, extra), 'bimi.test').map((f) => [f.id, f.status]),
    );

  it('passes an SVG Tiny PS logo and a mark certificate that embeds it', async () => {
    assert.deepEqual(await status('/logo.svg', '/vmc.pem'), { 'bimi.logo': 'pass', 'bimi.evidence': 'pass' });
  });

  it('fails a logo that is not SVG Tiny PS, and one that cannot be fetched', async () => {
    const bad = evaluateBimiAssets(await run('/bad.svg', undefined), 'bimi.test')[0]!;
    assert.equal(bad.status, 'fail');
    assert.match(bad.summary, /tiny-ps.*<title>.*<script>/s);
    assert.equal((await status('/missing.svg', undefined))['bimi.logo'], 'fail');
    const moved = evaluateBimiAssets(await run('/moved.svg', undefined), 'bimi.test')[0]!;
    assert.equal(moved.status, 'fail');
    assert.match(moved.summary, /redirect to https:\/\/10\.0\.0\.1/);
    assert.equal((await status('/big.svg', undefined))['bimi.logo'], 'fail');
    assert.equal((await status('/text.svg', undefined))['bimi.logo'], 'warn');
  });

  it('fails a mark certificate for another logo, another domain, another issuer, past its dates, or without the BIMI usage', async () => {
    const cases: [string, RegExp][] = [
      ['/other-logo.pem', /not the SVG published/],
      ['/other-domain.pem', /bimi\.test is not among its names \(brand\.example\)/],
      ['/rogue.pem', /does not chain to a known mark-certificate issuer/],
      ['/expired.pem', /expired/],
      ['/tls-cert.pem', /not a mark certificate/],
    ];
    for (const [path, why] of cases) {
      const f = evaluateBimiAssets(await run('/logo.svg', path), 'bimi.test').find(
        (x) => x.id === 'bimi.evidence',
      )!;
      assert.equal(f.status, 'fail', path);
      assert.match(f.summary, why, path);
    }
  });

  it('says the chain was not checked when no mark-issuer trust store is configured', async () => {
    const f = evaluateBimiAssets(await run('/logo.svg', '/vmc.pem', { markTrust: [] }), 'bimi.test').find(
      (x) => x.id === 'bimi.evidence',
    )!;
    assert.equal(f.status, 'info');
    assert.match(f.summary, /no mark-issuer trust store is configured/);
  });

  it('does not fetch from a private address unless allowed, and only over https', async () => {
    const before = server.requests.length;
    const blocked = await run('/logo.svg', undefined, {
      fetch: {
        resolve: async () => ({ addresses: ['127.0.0.1'] }),
        trust: [web.certPem],
        allowPrivate: false,
        timeoutMs: 2000,
        userAgent: 't',
        signal: AbortSignal.timeout(5000),
      },
    });
    assert.equal(blocked.logo?.outcome, 'forbidden_address');
    assert.equal(server.requests.length, before);
    const plain = await checkBimiAssets({
      domain: 'bimi.test',
      logoUrl: 'http://bimi.test/logo.svg',
      fetch: {
        resolve: async () => ({ addresses: ['127.0.0.1'] }),
        trust: [],
        allowPrivate: true,
        timeoutMs: 1000,
        userAgent: 't',
        signal: AbortSignal.timeout(5000),
      },
      markTrust: [],
      now: new Date(),
    });
    assert.equal(plain.logo?.outcome, 'bad_url');
  });
});
