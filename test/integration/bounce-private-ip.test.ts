import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { diagnoseBounce } from '../../src/bounce/index.js';
import type { Diagnosis, Followup } from '../../src/bounce/index.js';
import { runFollowups } from '../../src/bounce/followups/index.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { postfixDsn, received } from '../fixtures/bounce-messages.js';

/**
 * Issue 13 §6, the bounce follow-ups: a refusal that names a private sending IP. With
 * MXDOCTOR_ALLOW_PRIVATE the address is a real target — looked up on the blocklists, its
 * reverse DNS checked; without it, the follow-up says what it found ("the sending IP 10.0.0.5
 * named in the refusal is a private address; blocklists do not list private addresses"), not
 * that the bounce names no sending IP.
 */
const PRIVATE_IP = '10.0.0.5';
const SOA = ['ns1.example.net hostmaster.example.net 2026112801 3600 600 1209600 300'];

const BOUNCE = postfixDsn(
  'mail.lan.example',
  [
    {
      recipient: 'ivan@lan.example',
      remote: 'mx.lan.example[10.0.0.9]',
      reply: `554 5.7.1 Service unavailable; Client host [${PRIVATE_IP}] blocked using zen.spamhaus.org`,
      status: '5.7.1',
      command: 'RCPT TO',
    },
  ],
  {
    from: 'news@shop.lan.example',
    returnPath: 'bounces@shop.lan.example',
    to: 'ivan@lan.example',
    subject: 'Hello',
    received: [
      received('workstation.lan.example', 'workstation.lan.example', '10.0.0.77', 'mail.lan.example'),
    ],
  },
);

function followup(d: Diagnosis, id: string): Followup {
  const f = d.bounces[0]!.followups.find((x) => x.id === id);
  assert.ok(f, `follow-up ${id}; got ${d.bounces[0]!.followups.map((x) => x.id).join(', ')}`);
  return f;
}

describe('bounce follow-ups about a private sending IP', () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({
      zones: {
        'lan.example': { SOA },
        '5.0.0.10.zen.spamhaus.org': { A: ['127.0.0.2'], TXT: ['listed for the test'] },
        '5.0.0.10.in-addr.arpa': { PTR: ['mail.lan.example'] },
        'mail.lan.example': { A: [PRIVATE_IP] },
      },
    });
  });
  after(() => dns.stop());

  async function diagnose(allowPrivate: boolean): Promise<Diagnosis> {
    const config = loadConfig({
      MXDOCTOR_RESOLVERS: dns.address,
      MXDOCTOR_DNS_TIMEOUT: '1s',
      MXDOCTOR_DNSBLS: 'zen.spamhaus.org',
      ...(allowPrivate ? { MXDOCTOR_ALLOW_PRIVATE: '1' } : {}),
    });
    const d = await diagnoseBounce(BOUNCE);
    assert.equal(d.bounces[0]!.reason, 'blocked');
    return runFollowups(d, { config, smtp: false });
  }

  it('says what it found when private addresses are not targets', async () => {
    const d = await diagnose(false);
    const dnsbl = followup(d, 'sending_ip_dnsbl');
    assert.equal(dnsbl.verdict, 'could_not_test');
    assert.equal(
      dnsbl.summary,
      `could not test: the sending IP ${PRIVATE_IP} named in the refusal is a private address; blocklists do not list private addresses.`,
    );
    const ptr = followup(d, 'sending_ip_ptr');
    assert.equal(ptr.verdict, 'could_not_test');
    assert.match(
      ptr.summary,
      /the sending IP 10\.0\.0\.5 named in the refusal is a private address; its reverse DNS/,
    );
  });

  it('checks the private address with MXDOCTOR_ALLOW_PRIVATE: on the blocklists and in reverse DNS', async () => {
    const d = await diagnose(true);
    const dnsbl = followup(d, 'sending_ip_dnsbl');
    assert.equal(dnsbl.target, PRIVATE_IP);
    assert.equal(dnsbl.verdict, 'confirmed', dnsbl.summary);
    assert.match(dnsbl.summary, /10\.0\.0\.5 is listed on zen\.spamhaus\.org/);
    const ptr = followup(d, 'sending_ip_ptr');
    assert.equal(ptr.target, PRIVATE_IP);
    assert.notEqual(ptr.verdict, 'could_not_test', ptr.summary);
    assert.match(ptr.summary, /mail\.lan\.example/);
  });
});
