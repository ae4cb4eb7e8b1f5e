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
  it('a refusal after the message was sent is a filter even in exact user-unknown words with 5.1.1', async () => {
    for (const text of [
      // Postfix, Exim, qmail and a notice in plain words: each says the message had been sent.
      'host mx.example.com[192.0.2.1] said: 550 5.1.1 <kim@example.com>: Recipient address rejected: User unknown in local recipient table (in reply to end of DATA command)',
      'host mx.example.com [192.0.2.1] SMTP error from remote mail server after end of data: 550 5.1.1 No such user here',
      '192.0.2.1 failed after I sent the message. Remote host said: 550 5.1.1 mailbox unknown',
    ]) {
      const r = (await diagnoseBounce(text)).bounces[0]!;
      assert.equal(r.reason, 'filtered', `${text} → ${r.matched.join(', ')}`);
      assert.equal(r.hard, false);
      assert.ok(r.matched.includes('rule:user_unknown_after_message'));
    }
  });
  it("sendmail's >>> DATA with 5.1.1 is a refused recipient reported at DATA, not a filter", async () => {
    const d = await diagnoseBounce(
      [
        'From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>',
        'Subject: Returned mail: see transcript for details',
        '',
        '   ----- The following addresses had permanent fatal errors -----',
        '<kim@example.com>',
        '    (reason: 550 5.1.1 <kim@example.com>... User Unknown)',
        '',
        '   ----- Transcript of session follows -----',
        '... while talking to mx.example.com.:',
        '>>> DATA',
        '<<< 550 5.1.1 <kim@example.com>... User Unknown',
        '550 5.1.1 <kim@example.com>... User unknown',
        '',
      ].join('\n'),
    );
    const r = d.bounces[0]!;
    assert.equal(r.smtpCommand, 'DATA');
    assert.equal(r.reason, 'user_unknown', r.matched.join(', '));
    assert.equal(r.hard, true);
  });
  it('an expiry that names its cause (a blocklist) is about that cause; one after timeouts is an expiry', async () => {
    const blocked = (
      await diagnoseBounce(
        'retry timeout exceeded: host mx.example.com [192.0.2.1]: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org',
      )
    ).bounces[0]!;
    assert.equal(blocked.reason, 'blocked', blocked.matched.join(', '));
    const expired = (
      await diagnoseBounce(
        'retry timeout exceeded: connect to mx.example.com[192.0.2.1]:25: Connection timed out',
      )
    ).bounces[0]!;
    assert.equal(expired.reason, 'expired', expired.matched.join(', '));
    assert.equal(expired.hard, false);
  });
  it('a temporary "user unknown" is not a hard bounce: the same words are hard only with a permanent answer', async () => {
    const soft = (
      await diagnoseBounce('450 4.1.1 <kim@example.com>: Recipient address rejected: User unknown')
    ).bounces[0]!;
    assert.equal(soft.reason, 'user_unknown');
    assert.equal(soft.permanent, false);
    assert.equal(soft.hard, false);
    const hard = (
      await diagnoseBounce('550 5.1.1 <kim@example.com>: Recipient address rejected: User unknown')
    ).bounces[0]!;
    assert.equal(hard.hard, true);
  });
  it('the same evidence gives the same reason and hard/soft as a bare reply and inside an RFC 3464 report', async () => {
    const reply =
      '550 5.1.1 <kim@example.com>: Recipient address rejected: User unknown in virtual mailbox table';
    const dsn = [
      'From: MAILER-DAEMON@mx.example.org (Mail Delivery System)',
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'The mail system',
      '',
      '--b',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.org',
      '',
      'Final-Recipient: rfc822; kim@example.com',
      'Action: failed',
      'Status: 5.1.1',
      `Diagnostic-Code: smtp; ${reply}`,
      '',
      '--b--',
      '',
    ].join('\r\n');
    const a = (await diagnoseBounce(reply)).bounces[0]!;
    const b = (await diagnoseBounce(dsn)).bounces[0]!;
    assert.deepEqual([b.reason, b.hard, b.status], [a.reason, a.hard, a.status]);
    assert.equal(a.reason, 'user_unknown');
  });
  it('names the runner-up and lowers the confidence when the evidence points two ways', async () => {
    const clear = (await diagnoseBounce('550 5.1.1 <kim@example.com>: User unknown')).bounces[0]!;
    const torn = (
      await diagnoseBounce('552 5.2.2 <kim@example.com>: Mailbox full; this user is unknown after migration')
    ).bounces[0]!;
    assert.equal(torn.reason, 'mailbox_full', torn.matched.join(', '));
    assert.equal(torn.runnerUp, 'user_unknown');
    assert.ok(torn.confidence < clear.confidence, `${torn.confidence} < ${clear.confidence}`);
  });
  it('a notice in a language nothing here knows still yields its recipient and the reason its codes allow', async () => {
    // A Finnish notice from a mail system with an unfamiliar layout: no DSN part, no known
    // phrase; the sender, the returned message and the status code are the evidence.
    const notice = [
      'From: Postitoimitusjärjestelmä <mailer-daemon@posti.example.fi>',
      'To: sender@example.org',
      'Subject: =?utf-8?q?Viesti=C3=A4_ei_voitu_toimittaa?=',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="raja"',
      '',
      '--raja',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Viestiäsi ei voitu toimittaa seuraavalle vastaanottajalle:',
      '',
      '  matti@example.fi',
      '  Palvelin vastasi: Postilaatikko on täynnä (#5.2.2)',
      '',
      '--raja',
      'Content-Type: message/rfc822',
      '',
      'From: sender@example.org',
      'To: matti@example.fi',
      'Subject: Tapaaminen',
      '',
      'Hei!',
      '--raja--',
      '',
    ].join('\r\n');
    const d = await diagnoseBounce(notice);
    assert.equal(d.bounces.length, 1);
    const r = d.bounces[0]!;
    assert.equal(r.recipient, 'matti@example.fi');
    assert.equal(r.reason, 'mailbox_full', r.matched.join(', '));
    assert.equal(r.status, '5.2.2');
    assert.equal(r.hard, false);
  });
});
