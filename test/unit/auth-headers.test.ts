import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideEnvelope, fromAddresses, pathAddress } from '../../src/auth/envelope.js';
import {
  headerFields,
  heloOf,
  parseAuthResults,
  parseReceivedSpf,
  stripComments,
} from '../../src/auth/headers.js';
import { aligned } from '../../src/auth/evaluate.js';

const fields = (text: string) => headerFields(`${text.replace(/\n/g, '\r\n')}\r\n\r\nbody`);

describe('trace headers of a received message', () => {
  it('unfolds header fields and keeps their order', () => {
    const f = fields('Received: from a\n  by b; date\nSubject: hi\nX: y');
    assert.deepEqual(
      f.map((x) => [x.index, x.key, x.value]),
      [
        [1, 'received', 'from a by b; date'],
        [2, 'subject', 'hi'],
        [3, 'x', 'y'],
      ],
    );
  });

  it('parses Authentication-Results (RFC 8601) with comments, versions and properties', () => {
    const [f] = fields(
      'Authentication-Results: mx.google.com (version 1); dkim=pass (2048-bit key) header.i=@example.com header.s=s1; spf=softfail (google.com: domain of a@b.example does not designate 192.0.2.1) smtp.mailfrom=a@b.example; dmarc/1=fail (p=REJECT) header.from=example.com; arc=none',
    );
    const ar = parseAuthResults(f!);
    assert.equal(ar.authservId, 'mx.google.com');
    assert.deepEqual(
      ar.results.map((r) => [r.method, r.result, r.props]),
      [
        ['dkim', 'pass', { 'header.i': '@example.com', 'header.s': 's1' }],
        ['spf', 'softfail', { 'smtp.mailfrom': 'a@b.example' }],
        ['dmarc', 'fail', { 'header.from': 'example.com' }],
        ['arc', 'none', {}],
      ],
    );
  });

  it('parses Received-SPF key=value pairs and HELO names of several MTAs', () => {
    const [f] = fields(
      'Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.1; helo=mail.example.com; envelope-from="a@example.com"; receiver=mx',
    );
    const spf = parseReceivedSpf(f!);
    assert.equal(spf.result, 'pass');
    assert.deepEqual(
      [spf.keys['client-ip'], spf.keys.helo, spf.keys['envelope-from']],
      ['192.0.2.1', 'mail.example.com', 'a@example.com'],
    );
    assert.equal(heloOf('from mail.example.com (mail.example.com [192.0.2.1]) by mx'), 'mail.example.com');
    assert.equal(
      heloOf('from host.example ([192.0.2.1] helo=claimed.example) by mx with esmtp'),
      'claimed.example',
    );
    assert.equal(heloOf('from unknown (HELO q.example) (192.0.2.1) by mx'), 'q.example');
    assert.equal(stripComments('a (b (c) d) "e (f)" g'), 'a   "e (f)" g');
  });

  it('takes the envelope from the receiver’s block, skipping internal handoffs', () => {
    const f = fields(
      [
        'Received: from mailstore (localhost [127.0.0.1]) by inbox.receiver.example',
        'Received: from filter (filter [10.0.0.5]) by mailstore.receiver.example',
        'Received: from mail.sender.example (mail.sender.example [192.0.2.44]) by mx.receiver.example',
        'Authentication-Results: mx.receiver.example; spf=pass smtp.mailfrom=bounce@sender.example',
        'DKIM-Signature: v=1; d=sender.example',
        'Authentication-Results: forged.example; spf=pass smtp.mailfrom=ceo@victim.example',
        'Return-Path: <wrong@elsewhere.example>',
        'Received: from laptop ([198.51.100.1]) by mail.sender.example',
      ].join('\n'),
    );
    const d = decideEnvelope(f);
    assert.equal(d.trustedUntil, 4);
    assert.equal(d.envelope.ip, '192.0.2.44');
    assert.match(d.envelope.sources.ip!.why, /the 2 Received headers above it are internal handoffs/);
    assert.equal(d.envelope.mailFrom, 'bounce@sender.example');
    assert.equal(d.envelope.sources.mailFrom!.header, 'Authentication-Results');
    assert.equal(d.envelope.helo, 'mail.sender.example');
    assert.equal(d.envelope.receivedBy, 'mx.receiver.example');
    const o = decideEnvelope(f, { ip: '192.0.2.9', mailFrom: '<>', helo: 'h.example' });
    assert.deepEqual([o.envelope.ip, o.envelope.mailFrom, o.envelope.helo], ['192.0.2.9', '', 'h.example']);
  });

  it('reads addresses from From and Return-Path, and aligns domains relaxed or strict', () => {
    assert.deepEqual(fromAddresses('"Doe, John" <john@example.com>, jane@example.org (Jane)'), [
      'john@example.com',
      'jane@example.org',
    ]);
    assert.equal(pathAddress('<>'), '');
    assert.equal(pathAddress(' <a@b.example> (comment)'), 'a@b.example');
    assert.equal(aligned('mail.example.com', 'example.com', 'r'), true);
    assert.equal(aligned('mail.example.com', 'example.com', 's'), false);
    assert.equal(aligned('example.co.uk', 'other.co.uk', 'r'), false);
  });
});
