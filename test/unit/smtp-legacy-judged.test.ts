import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseEhlo } from '../../src/smtp/ehlo.js';
import { evaluateSmtp } from '../../src/smtp/evaluate.js';
import type { SmtpFacts } from '../../src/smtp/evaluate-facts.js';
import type { SessionRecord } from '../../src/smtp/model.js';
import type { AddressProbe } from '../../src/smtp/probe.js';

/**
 * The legacy-TLS session starts at the main session's greeting, before anyone knows whether
 * the server offers STARTTLS (src/smtp/probe.ts). What it saw is judged only where the main
 * session's EHLO offered STARTTLS: a server without STARTTLS is judged on nothing TLS, and is
 * not counted as "refusing TLS 1.0/1.1" against another MX that accepts them.
 */

const reply = (code: number, text: string) => ({ code, lines: [`${code} ${text}`], text });

function session(
  kind: SessionRecord['kind'],
  host: string,
  address: string,
  starttls: boolean,
): SessionRecord {
  const lines = [`250-${host}`, starttls ? '250-STARTTLS' : '250-8BITMIME', '250 PIPELINING'];
  const ehloReply = { code: 250, lines, text: lines.map((l) => l.slice(4)).join('\n') };
  return {
    kind,
    host,
    address,
    port: 25,
    family: 4,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
    connect: { ok: true, ms: 1 },
    banner: { reply: reply(220, `${host} ESMTP`), ms: 1 },
    ehlo: { verb: 'EHLO', reply: ehloReply, capabilities: parseEhlo(ehloReply) },
    rcpts: [],
    quit: true,
    bareLineFeeds: 0,
    bytesIn: 100,
    transcript: [],
  };
}

function probe(
  host: string,
  address: string,
  starttls: boolean,
  legacy: SessionRecord['legacy'],
): AddressProbe {
  const main = session('probe', host, address, starttls);
  const legacySession = { ...session('legacy_tls', host, address, starttls), legacy };
  return {
    host,
    preference: 10,
    address,
    family: 4,
    rank: 0,
    main,
    legacy: legacySession,
    tls: {
      host,
      address,
      port: 25,
      starttls: starttls ? 'offered' : 'not_offered',
      handshake: 'not_attempted',
      chain: [],
    },
  };
}

function facts(probes: AddressProbe[]): SmtpFacts {
  return {
    domain: 'example.test',
    port: 25,
    ehloName: 'probe.example.org',
    mailFrom: 'mxdoctor@probe.example.org',
    probes,
    skipped: [],
    verify: [],
    randoms: [],
    greylistRetryMs: 0,
    legacyTlsProbe: true,
    now: new Date('2026-01-01T00:00:00Z'),
  };
}

describe('the legacy-TLS session is judged only where the main session saw STARTTLS offered', () => {
  const accepting = probe('mx1.example.test', '192.0.2.1', true, {
    accepted: true,
    protocol: 'TLSv1.1',
    cipher: 'ECDHE-RSA-AES128-SHA',
  });
  const withoutStarttls = probe('mx2.example.test', '192.0.2.2', false, {
    accepted: false,
    error: 'STARTTLS not offered',
  });

  it('judges TLS 1.0/1.1 on the server that offered STARTTLS, and nothing TLS on the one that did not', () => {
    const { findings } = evaluateSmtp(facts([accepting, withoutStarttls]));
    const legacy = findings.filter((f) => f.id === 'tls.legacy_protocols');
    assert.deepEqual(
      legacy.map((f) => [f.status, f.subject?.host]),
      [['warn', 'mx1.example.test']],
    );
    assert.ok(!findings.some((f) => f.id.startsWith('tls.') && f.subject?.host === 'mx2.example.test'));
  });

  it('does not call the server without STARTTLS one that refuses TLS 1.0/1.1', () => {
    const { findings } = evaluateSmtp(facts([accepting, withoutStarttls]));
    const consistency = findings.find((f) => f.id === 'smtp.consistency');
    assert.ok(consistency);
    assert.doesNotMatch(consistency.summary, /TLS 1\.0\/1\.1 are accepted/);
  });

  it('still compares two servers that both offered STARTTLS', () => {
    const refusing = probe('mx2.example.test', '192.0.2.2', true, {
      accepted: false,
      error: 'tlsv1 alert protocol version',
    });
    const { findings } = evaluateSmtp(facts([accepting, refusing]));
    const consistency = findings.find((f) => f.id === 'smtp.consistency');
    assert.match(
      consistency?.summary ?? '',
      /TLS 1\.0\/1\.1 are accepted by mx1\.example\.test 192\.0\.2\.1 but refused by mx2\.example\.test 192\.0\.2\.2/,
    );
  });
});
