import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diagnoseBounce } from '../../src/bounce/index.js';

/**
 * Bare SMTP replies, as support engineers paste them, each named after the real-world case it
 * models: the classifier must give the reason, the status and hard/soft the taxonomy says.
 */
const ROWS: { name: string; reply: string; reason: string; status: string | null; hard: boolean }[] = [
  {
    name: 'Gmail: unauthenticated sender (5.7.26)',
    reply: '550 5.7.26 This mail has been blocked because the sender is unauthenticated.',
    reason: 'auth_failure',
    status: '5.7.26',
    hard: false,
  },
  {
    name: 'Gmail: no such account (multi-line)',
    reply:
      "550-5.1.1 The email account that you tried to reach does not exist. Please try\n550-5.1.1 double-checking the recipient's email address for typos or\n550 5.1.1 unnecessary spaces.",
    reason: 'user_unknown',
    status: '5.1.1',
    hard: true,
  },
  {
    name: 'Gmail: disabled account',
    reply: '550 5.2.1 The email account that you tried to reach is disabled.',
    reason: 'suspended',
    status: '5.2.1',
    hard: false,
  },
  {
    name: 'Gmail: over quota',
    reply: '452 4.2.2 The email account that you tried to reach is over quota.',
    reason: 'mailbox_full',
    status: '4.2.2',
    hard: false,
  },
  {
    name: 'Gmail: not RFC 5322 compliant',
    reply: '550 5.7.1 This message is not RFC 5322 compliant. There are multiple From headers.',
    reason: 'not_compliant_rfc',
    status: '5.7.1',
    hard: false,
  },
  {
    name: 'Microsoft: banned sending IP (5.7.606)',
    reply: '550 5.7.606 Access denied, banned sending IP [203.0.113.9].',
    reason: 'blocked',
    status: '5.7.606',
    hard: false,
  },
  {
    name: 'Microsoft: IP reputation (4.7.650)',
    reply:
      '451 4.7.650 The mail server [203.0.113.9] has been temporarily rate limited due to IP reputation.',
    reason: 'bad_reputation',
    status: '4.7.650',
    hard: false,
  },
  {
    name: 'Microsoft: recipient not found (5.1.10)',
    reply: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
    reason: 'user_unknown',
    status: '5.1.10',
    hard: true,
  },
  {
    name: 'Microsoft: relay to non-accepted domain (5.7.54)',
    reply: '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain',
    reason: 'relaying_denied',
    status: '5.7.54',
    hard: false,
  },
  {
    name: 'Yahoo: TSS04 deferral',
    reply:
      '421 4.7.0 [TSS04] Messages from 203.0.113.9 temporarily deferred due to unexpected volume or user complaints',
    reason: 'bad_reputation',
    status: '4.7.0',
    hard: false,
  },
  {
    name: 'Yahoo: policy refusal (5.7.9)',
    reply: '554 5.7.9 Message not accepted for policy reasons.',
    reason: 'policy_violation',
    status: '5.7.9',
    hard: false,
  },
  {
    name: 'Postfix: unknown in virtual mailbox table',
    reply: '550 5.1.1 <a@example.com>: Recipient address rejected: User unknown in virtual mailbox table',
    reason: 'user_unknown',
    status: '5.1.1',
    hard: true,
  },
  {
    name: 'Postfix: relay access denied',
    reply: '554 5.7.1 <a@example.com>: Relay access denied',
    reason: 'relaying_denied',
    status: '5.7.1',
    hard: false,
  },
  {
    name: 'Postfix: no reverse hostname',
    reply: '450 4.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.9]',
    reason: 'require_ptr',
    status: '4.7.1',
    hard: false,
  },
  {
    name: 'Postfix: STARTTLS required',
    reply: '530 5.7.0 Must issue a STARTTLS command first',
    reason: 'tls_required',
    status: '5.7.0',
    hard: false,
  },
  {
    name: 'Postfix: sender domain not found',
    reply: '450 4.1.8 <x@nowhere.example>: Sender address rejected: Domain not found',
    reason: 'rejected',
    status: '4.1.8',
    hard: false,
  },
  {
    name: 'Spamhaus listing',
    reply: '554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org',
    reason: 'blocked',
    status: '5.7.1',
    hard: false,
  },
  {
    name: 'Message too large',
    reply: '552 5.3.4 Message size exceeds fixed limit',
    reason: 'message_too_large',
    status: '5.3.4',
    hard: false,
  },
  {
    name: 'Insufficient system storage',
    reply: '452 4.3.1 Insufficient system storage',
    reason: 'system_full',
    status: '4.3.1',
    hard: false,
  },
  {
    name: 'Too many recipients',
    reply: '452 4.5.3 Too many recipients',
    reason: 'rate_limited',
    status: '4.5.3',
    hard: false,
  },
  {
    name: 'Virus found',
    reply: '554 5.7.1 Message rejected: virus found (Eicar-Test-Signature)',
    reason: 'virus_detected',
    status: '5.7.1',
    hard: false,
  },
  {
    name: 'Spam content',
    reply: '550 5.7.1 Message content rejected as spam',
    reason: 'spam_detected',
    status: '5.7.1',
    hard: false,
  },
  {
    name: 'Mail loop',
    reply: '554 5.4.6 Hop count exceeded - possible mail loop',
    reason: 'network_error',
    status: '5.4.6',
    hard: false,
  },
  {
    name: 'Null MX (RFC 7505)',
    reply: '556 5.1.10 Recipient address has null MX',
    reason: 'not_accept',
    status: '5.1.10',
    hard: true,
  },
  {
    name: 'A basic code only',
    reply: '550 Requested action not taken: mailbox unavailable',
    reason: 'user_unknown',
    status: '5.1.1',
    hard: true,
  },
];

describe('classification of bare SMTP replies', () => {
  for (const row of ROWS) {
    it(`${row.name} → ${row.reason}`, async () => {
      const d = await diagnoseBounce(row.reply);
      assert.equal(d.kind, 'smtp-reply');
      assert.equal(d.bounces.length, 1);
      const r = d.bounces[0]!;
      assert.equal(r.reason, row.reason, `matched ${r.matched.join(', ')}`);
      assert.equal(r.status, row.status);
      assert.equal(r.hard, row.hard);
      assert.equal(r.replyCode, Number(row.reply.slice(0, 3)));
      assert.equal(r.permanent, row.reply.startsWith('5'));
      assert.ok(r.explanation.summary.length > 10 && r.explanation.nextSteps.length > 0);
    });
  }
  it('derives the enhanced status from the reason when the reply has none, and says so', async () => {
    const r = (await diagnoseBounce('550 Relay access denied')).bounces[0]!;
    assert.equal(r.reason, 'relaying_denied');
    assert.equal(r.status, '5.7.1');
    assert.equal(r.statusSource, 'derived');
  });
  it('a refusal at MAIL FROM is about the sender, not the recipient', async () => {
    const d = await diagnoseBounce(
      'host mx.example.com[192.0.2.1] said: 550 Unknown user (in reply to MAIL FROM command)',
    );
    assert.equal(d.bounces[0]!.reason, 'rejected');
    assert.equal(d.bounces[0]!.smtpCommand, 'MAIL');
  });
  it('"no such user" only after DATA is a filter, not a missing mailbox', async () => {
    const d = await diagnoseBounce(
      'host mx.example.com[192.0.2.1] said: 550 Unknown user (in reply to end of DATA command)',
    );
    assert.equal(d.bounces[0]!.reason, 'filtered');
    assert.equal(d.bounces[0]!.hard, false);
  });
});
