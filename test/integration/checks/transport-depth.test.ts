import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { mxCheck } from '../../../src/mx/check.js';
import { smtpCheck } from '../../../src/smtp/check.js';
import { deepTlsCheck } from '../../../src/tls/deep/check.js';
import type { DeepTlsData } from '../../../src/tls/deep/check.js';
import { submissionCheck } from '../../../src/submission/check.js';
import { caaCheck } from '../../../src/caa/check.js';
import type { Check } from '../../../src/checks/types.js';
import type { SmtpData } from '../../../src/smtp/model.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { finding, runChecksAgainst, statuses } from '../../support/run-checks.js';
import { startSocks5Server } from '../../support/socks5-server.js';
import type { Socks5TestServer } from '../../support/socks5-server.js';
import { startStartTlsServer } from '../../support/starttls-server.js';
import type { StartTlsServer } from '../../support/starttls-server.js';
import { createTestPki } from '../../support/test-ca.js';

/**
 * Issue 15 through the real pipeline: `--tls deep` (tls_deep check), the submission check
 * (run when SRV records are published, or when asked), CAA, and the SMTP egress proxy that
 * carries all SMTP-side connections and shows up in the probe identity.
 */
const checks: Check[] = [mxCheck, smtpCheck, deepTlsCheck, submissionCheck, caaCheck];

describe('transport depth through the check pipeline', () => {
  const pki = createTestPki();
  const leaf = pki.leaf({ names: ['mx.depth.test', 'smtp.depth.test'] });
  let mx: StartTlsServer;
  let sub: StartTlsServer;
  let proxy: Socks5TestServer;
  let dns: FixtureDns;

  before(async () => {
    mx = await startStartTlsServer({
      host: '127.0.0.1',
      name: 'mx.depth.test',
      tls: {
        key: leaf.keyPem,
        cert: leaf.chainPem,
        minVersion: 'TLSv1.2',
        ciphers: 'ECDHE+AESGCM:AES128-SHA',
        secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      },
    });
    sub = await startStartTlsServer({
      host: '127.0.0.1',
      name: 'smtp.depth.test',
      tls: { key: leaf.keyPem, cert: leaf.chainPem },
      plainExtensions: ['PIPELINING', 'AUTH PLAIN'],
    });
    proxy = await startSocks5Server();
    dns = await startFixtureDns({
      zones: {
        'depth.test': { MX: ['10 mx.depth.test'], CAA: ['0 issue "mxdoctor.test"'] },
        'mx.depth.test': { A: ['127.0.0.1'] },
        '_submission._tcp.depth.test': { SRV: [`0 1 ${sub.port} smtp.depth.test`] },
        'smtp.depth.test': { A: ['127.0.0.1'] },
        'plain.test': { MX: ['10 mx.depth.test'] },
      },
    });
  });
  after(async () => {
    await mx.stop();
    await sub.stop();
    await proxy.stop();
    await dns.stop();
  });

  const env = () => ({
    MXDOCTOR_ALLOW_PRIVATE: 'true',
    MXDOCTOR_SMTP_PORT: String(mx.port),
    MXDOCTOR_CA_FILE: pki.rootFile,
    MXDOCTOR_EHLO_NAME: 'probe.mxdoctor.test',
    MXDOCTOR_SMTP_LEGACY_TLS: 'false',
    MXDOCTOR_SMTP_CONNECT_TIMEOUT: '2s',
    MXDOCTOR_SMTP_BANNER_TIMEOUT: '2s',
    MXDOCTOR_SMTP_COMMAND_TIMEOUT: '2s',
    MXDOCTOR_SMTP_TLS_TIMEOUT: '3s',
    MXDOCTOR_TLS_DEEP_HANDSHAKES: '40',
  });

  it('runs the TLS depth scan only with --tls deep, within its cap, one connection per handshake', async () => {
    const light = await runChecksAgainst(dns, 'plain.test', checks, { smtp: true }, env());
    assert.equal(light.checks.filter((f) => f.check === 'tls_deep').length, 0);
    const before = mx.connections;
    const deep = await runChecksAgainst(dns, 'plain.test', checks, { smtp: true, tls: 'deep' }, env());
    const data = (deep.data as Record<string, unknown>).tls_deep as DeepTlsData;
    assert.equal(data.scans.length, 1);
    const scan = data.scans[0]!;
    assert.ok(scan.handshakes.length <= 40);
    const smtpSessions = ((deep.data as Record<string, unknown>).smtp as SmtpData).sessions.length;
    assert.equal(mx.connections - before, scan.handshakes.length + smtpSessions);
    assert.deepEqual(statuses(deep, 'tls.ciph'), [
      'tls.cipher_order:pass@127.0.0.1',
      'tls.ciphers:fail@127.0.0.1',
    ]);
    assert.match(finding(deep, 'tls.ciphers').summary, /TLS_RSA_WITH_AES_128_CBC_SHA/);
    assert.equal(finding(deep, 'tls.renegotiation').status, 'pass');
    assert.equal(mx.violation, undefined);
  });

  it('probes the submission port the SRV record names, and only looks up SRV otherwise', async () => {
    const r = await runChecksAgainst(dns, 'depth.test', checks, { smtp: true }, env());
    assert.deepEqual(statuses(r, 'submission.'), [
      'submission.auth_before_tls:fail@127.0.0.1',
      'submission.certificate:pass@127.0.0.1',
      'submission.hosts:pass',
      'submission.starttls:pass@127.0.0.1',
    ]);
    const none = await runChecksAgainst(dns, 'plain.test', checks, { smtp: true }, env());
    assert.deepEqual(statuses(none, 'submission.'), []);
    assert.equal((none.data as Record<string, unknown>).submission, undefined);
    assert.ok(none.dnsLog.some((q) => q.name === '_submission._tcp.plain.test' && q.type === 'SRV'));
  });

  it('reports the CAA records of the MX host and whether its certificate fits them', async () => {
    const r = await runChecksAgainst(dns, 'depth.test', checks, { smtp: true }, env());
    const caa = finding(r, 'caa.records');
    assert.equal(caa.status, 'info');
    assert.match(caa.summary, /found at depth\.test\): issue: mxdoctor\.test/);
    assert.match(
      caa.summary,
      /issued by O=mxdoctor tests,CN=mxdoctor test intermediate CA, which looks like mxdoctor\.test/,
    );
    assert.match(caa.summary, /heuristic/);
  });

  it('sends every SMTP-side connection through the SOCKS5 proxy, by IP, and names it in the probe identity', async () => {
    const before = proxy.requests.length;
    const r = await runChecksAgainst(
      dns,
      'depth.test',
      checks,
      { smtp: true, tls: 'deep' },
      { ...env(), MXDOCTOR_SMTP_PROXY: `socks5://127.0.0.1:${proxy.port}` },
    );
    const requests = proxy.requests.slice(before);
    const data = r.data as Record<string, unknown>;
    const smtp = data.smtp as SmtpData;
    const deep = data.tls_deep as DeepTlsData;
    assert.equal(
      requests.length,
      smtp.sessions.length + deep.scans[0]!.handshakes.length + 1 /* submission */,
    );
    assert.ok(requests.every((q) => q.atyp === 'ipv4' && q.address === '127.0.0.1'));
    const identity = finding(r, 'probe.identity');
    assert.match(
      identity.summary,
      new RegExp(
        `through the SOCKS5 proxy socks5://127\\.0\\.0\\.1:${proxy.port} \\(which connected from 127\\.0\\.0\\.9\\)`,
      ),
    );
    assert.equal(smtp.probe.proxy, `socks5://127.0.0.1:${proxy.port}`);
    assert.equal(finding(r, 'smtp.starttls').status, 'pass');
  });
});
