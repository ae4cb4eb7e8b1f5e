import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient } from '../../src/dns/client.js';
import { relevantCaa } from '../../src/caa/lookup.js';
import { caaHost, evaluateCaa, issuerMatches } from '../../src/caa/evaluate.js';
import { caaPolicy, parseIssueValue } from '../../src/caa/record.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';

/** CAA (RFC 8659): tree climbing against a loopback resolver, parsing and the issuer heuristic. */
describe('CAA records', () => {
  let dns: FixtureDns;
  let client: DnsClient;
  before(async () => {
    dns = await startFixtureDns({
      zones: {
        'example.org': {
          CAA: ['0 issue "letsencrypt.org"', '0 issuewild ";"', '0 iodef "mailto:pki@example.org"'],
        },
        'mx.example.org': { A: ['192.0.2.25'] },
        'mta-sts.example.org': { CAA: ['0 issue "digicert.com; cansignhttpexchanges=yes"'] },
        'example.net': { A: ['192.0.2.1'] },
        'mx.example.net': { A: ['192.0.2.26'] },
        'strict.example.com': { CAA: ['0 issue ";"', '128 tbs "unknown"'] },
      },
      behaviour: { 'broken.example.com': { servfail: true } },
    });
    client = new DnsClient({ servers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 500, retries: 0 });
  });
  after(() => dns.stop());
  const signal = () => AbortSignal.timeout(5000);

  it('climbs from the host to the first name with CAA records', async () => {
    const r = await relevantCaa(client, 'mx.example.org', signal());
    assert.deepEqual(r.asked, ['mx.example.org', 'example.org']);
    assert.equal(r.foundAt, 'example.org');
    assert.equal(r.records.length, 3);
    const own = await relevantCaa(client, 'mta-sts.example.org', signal());
    assert.deepEqual(own.asked, ['mta-sts.example.org']);
  });

  it('climbs to the top and finds none', async () => {
    const r = await relevantCaa(client, 'mx.example.net', signal());
    assert.deepEqual(r.asked, ['mx.example.net', 'example.net', 'net']);
    assert.equal(r.foundAt, undefined);
    const [f] = evaluateCaa({ hosts: [caaHost(r, 'mx', ["CN=R11, O=Let's Encrypt, C=US"])] });
    assert.equal(f!.status, 'info');
    assert.match(f!.summary, /any CA may issue/);
  });

  it('stops with an error when a lookup fails', async () => {
    const r = await relevantCaa(client, 'mx.broken.example.com', signal());
    assert.match(r.error ?? '', /SERVFAIL/);
    const [f] = evaluateCaa({ hosts: [caaHost(r, 'mx', [])] });
    assert.equal(f!.status, 'error');
  });

  it('says whether the certificate seen comes from an allowed CA, and that this is a heuristic', async () => {
    const r = await relevantCaa(client, 'mx.example.org', signal());
    const ok = evaluateCaa({ hosts: [caaHost(r, 'mx', ["CN=R11, O=Let's Encrypt, C=US"])] })[0]!;
    assert.match(ok.summary, /issue: letsencrypt\.org; issuewild: \(none\)/);
    assert.match(ok.summary, /looks like letsencrypt\.org/);
    assert.match(ok.summary, /heuristic/);
    const other = evaluateCaa({
      hosts: [caaHost(r, 'mx', ['CN=GeoTrust TLS RSA CA G1, O=DigiCert Inc, C=US'])],
    })[0]!;
    assert.match(other.summary, /does not look like any CA these records allow/);
    assert.equal(other.status, 'info');
  });

  it('parses issue values and flags critical unknown tags (RFC 8659 §4)', () => {
    assert.deepEqual(parseIssueValue('digicert.com; cansignhttpexchanges=yes'), {
      domain: 'digicert.com',
      params: 'cansignhttpexchanges=yes',
    });
    assert.deepEqual(parseIssueValue(';'), { domain: '', params: '' });
    assert.ok('error' in parseIssueValue('not a domain!'));
    const p = caaPolicy([
      { flags: 0, tag: 'issue', value: ';' },
      { flags: 128, tag: 'tbs', value: 'unknown' },
    ]);
    assert.deepEqual(p.unknownCritical, ['tbs']);
    assert.ok(
      issuerMatches('sectigo.com', 'CN=Sectigo RSA Domain Validation Secure Server CA, O=Sectigo Limited'),
    );
    assert.ok(issuerMatches('example-ca.com', 'CN=Example-CA issuing 1'));
    assert.ok(!issuerMatches('pki.goog', "CN=R11, O=Let's Encrypt"));
  });
});
