import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diagnoseBounce } from '../../src/bounce/index.js';
import { PHRASE_RULES } from '../../src/bounce/patterns.js';
import type { Reason } from '../../src/bounce/model.js';
import { classifyRcpt } from '../../src/smtp/classify.js';
import type { RcptVerdict } from '../../src/smtp/classify.js';
import { parseReply } from '../../src/smtp/reply.js';
import { WORDING, familiesIn } from '../../src/smtp/wording.js';

/**
 * One home for the wording of replies (src/smtp/wording.ts): recipient verification and bounce
 * diagnosis read the same phrases, so the same reply means the same thing to both — the probe's
 * verdict on a RCPT reply matches the reason the bounce classifier gives that reply.
 */

/** What each bounce reason means for the address, in the probe's words. */
const PROBE_VERDICT: Partial<Record<Reason, RcptVerdict>> = {
  user_unknown: 'undeliverable',
  host_unknown: 'undeliverable',
  not_accept: 'undeliverable',
  suspended: 'undeliverable',
  has_moved: 'undeliverable',
  relaying_denied: 'undeliverable',
  mailbox_full: 'mailbox_full',
  blocked: 'blocked_probe',
  bad_reputation: 'blocked_probe',
  require_ptr: 'blocked_probe',
  rejected: 'blocked_probe',
  security_error: 'blocked_probe',
  rate_limited: 'blocked_probe',
};

describe('reply wording shared by the probe and the bounce classifier', () => {
  it('gives the bounce phrases of the shared families the very patterns of the wording table', () => {
    const rules = new Map(PHRASE_RULES.map((r) => [r.id, r]));
    for (const w of WORDING) {
      const rule = rules.get(w.id);
      if (!rule) continue; // wording only the probe reads (retry_later, helo_refused, names_sender)
      assert.equal(rule.re, w.re, w.id);
      assert.equal(rule.source, w.source, w.id);
    }
    const shared = WORDING.filter((w) => rules.has(w.id)).length;
    assert.ok(shared >= 40, `only ${shared} bounce phrases come from the wording table`);
  });

  const replies: [string, string][] = [
    // Microsoft 365 directory-based edge blocking says "access denied" about a recipient that does not exist.
    [
      'Microsoft DBEB',
      '550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]',
    ],
    ['Domino', '550 User some.name (jane@example.jp) not listed in Domino Directory'],
    [
      'Postfix user unknown',
      '550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient table',
    ],
    ['Gmail disabled account', '550 5.2.1 The email account that you tried to reach is disabled.'],
    ['a locked account', '554 vdelivermail: account is locked email bounced'],
    ['Gmail over quota', '552 5.2.2 The email account that you tried to reach is over quota.'],
    ['Spamhaus', '554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org'],
    ['Microsoft banned IP', '550 5.7.606 Access denied, banned sending IP [198.51.100.222].'],
    ['reverse DNS', '550 5.7.25 The IP address sending this message does not have a PTR record setup'],
    ['sender domain', '550 5.7.1 <probe@example.net>: Sender address rejected: Domain not found'],
    ['too many recipients, permanent', '550 Too many recipients'],
    ['authentication required', '530 5.7.0 Authentication required'],
    ['relay', '554 5.7.1 <x@example.com>: Relay access denied'],
  ];
  for (const [name, text] of replies) {
    it(`${name}: the probe's verdict matches the bounce's reason`, async () => {
      const reason = (await diagnoseBounce(text)).bounces[0]!.reason;
      const expected = PROBE_VERDICT[reason];
      assert.ok(expected, `no probe verdict stands for the bounce reason ${reason}`);
      assert.equal(classifyRcpt(parseReply(text)).verdict, expected, `bounce: ${reason}`);
    });
  }

  it('reads greylisting the same way: a deferral the probe waits out, a bounce that explains it', async () => {
    const text =
      '450 4.2.0 <x@example.com>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/';
    assert.ok(familiesIn(text).has('greylisted'));
    assert.equal(classifyRcpt(parseReply(text)).verdict, 'greylisted');
    const record = (await diagnoseBounce(text)).bounces[0]!;
    assert.ok(record.matched.includes('phrase:generic.greylisting'), record.matched.join(' '));
  });
});
