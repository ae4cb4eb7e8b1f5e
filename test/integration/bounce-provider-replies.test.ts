import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/cli.js';
import { diagnoseBounce, REASONS } from '../../src/bounce/index.js';
import type { Reason } from '../../src/bounce/index.js';

/**
 * Replies the big mailbox providers and filtering vendors document themselves (Gmail's SMTP
 * error reference, Exchange Online's NDR table, Outlook.com's, Yahoo's, Yandex's, GMX's,
 * Comcast's, Mimecast's… pages), each with the reason and hard/soft it means in mxdoctor's
 * vocabulary: test/fixtures/bounces/provider-replies.json, chosen and mapped as
 * provider-replies.md says. Every reply goes through diagnoseBounce as the bare line a
 * support engineer pastes; those marked `dsn` also inside a minimal RFC 3464 report whose
 * Status and Diagnostic-Code carry the same reply, where the same evidence must give the same
 * answer.
 */

interface ProviderCase {
  id: string;
  provider: string;
  url: string;
  reply: string;
  stage: 'CONNECT' | 'MAIL' | 'RCPT' | 'DATA' | null;
  reason: Reason;
  hard: boolean;
  note: string;
  text: string;
  codeAdded?: boolean;
  dsn?: boolean;
}

const FIXTURE = JSON.parse(
  readFileSync(join(ROOT, 'test', 'fixtures', 'bounces', 'provider-replies.json'), 'utf8'),
) as { cases: ProviderCase[] };
const CASES = FIXTURE.cases;

/** The enhanced status code the reply states, else the class's catch-all (X.0.0). */
function statusOf(reply: string): string {
  const m = /^([245])\d\d[ -](?:([245]\.\d{1,3}\.\d{1,3})\b)?/.exec(reply);
  assert.ok(m, `the fixture's reply does not start with a reply code: ${reply}`);
  return m[2] ?? `${m[1]}.0.0`;
}

/** A minimal RFC 3464 report (Postfix layout) about one recipient, the reply in its Diagnostic-Code. */
function dsnFor(c: ProviderCase): string {
  const status = statusOf(c.reply);
  const boundary = 'provider-replies-boundary';
  // A multi-line reply folds into the field as continuation lines (RFC 5322 §2.2.3).
  const diagnostic = c.reply.split('\n').join('\r\n    ');
  return [
    'From: MAILER-DAEMON@mta.example.net (Mail Delivery System)',
    'To: sender@example.net',
    'Subject: Undelivered Mail Returned to Sender',
    'Date: Tue, 12 Mar 2024 09:15:02 +0000',
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Your message could not be delivered to one or more recipients.',
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mta.example.net',
    '',
    'Final-Recipient: rfc822; someone@example.org',
    `Action: ${status.startsWith('4') ? 'delayed' : 'failed'}`,
    `Status: ${status}`,
    'Remote-MTA: dns; mx.example.org',
    `Diagnostic-Code: smtp; ${diagnostic}`,
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

describe('provider-documented replies: the fixture', () => {
  it('holds 100+ cases across at least 10 providers, each fully described', () => {
    assert.ok(CASES.length >= 100, `only ${CASES.length} cases`);
    assert.ok(new Set(CASES.map((c) => c.provider)).size >= 10);
    assert.equal(new Set(CASES.map((c) => c.id)).size, CASES.length, 'case IDs are unique');
    for (const c of CASES) {
      assert.ok((REASONS as readonly string[]).includes(c.reason), `${c.id}: unknown reason ${c.reason}`);
      assert.match(c.url, /^https?:\/\//, `${c.id}: url`);
      assert.ok(c.note.length > 0 && c.provider.length > 0, `${c.id}: note and provider`);
      assert.match(c.text, /^(?:page|recalled|composed|copy:https?:\/\/\S+)$/, `${c.id}: text`);
    }
  });
});

describe('provider-documented replies: bare reply lines', () => {
  for (const c of CASES) {
    it(`${c.id}: ${c.reason}, ${c.hard ? 'hard' : 'soft'}`, async () => {
      const d = await diagnoseBounce(c.reply);
      assert.equal(d.kind, 'smtp-reply');
      assert.equal(d.bounces.length, 1);
      const r = d.bounces[0]!;
      assert.deepEqual(
        { reason: r.reason, hard: r.hard },
        { reason: c.reason, hard: c.hard },
        `${c.provider} (${c.url}): ${c.note}\nreply: ${c.reply}\nmatched: ${r.matched.join(', ')}`,
      );
    });
  }
});

describe('provider-documented replies: inside an RFC 3464 report', () => {
  const sample = CASES.filter((c) => c.dsn);
  it('samples at least 30 cases', () => {
    assert.ok(sample.length >= 30, `only ${sample.length} cases are marked dsn`);
  });
  for (const c of sample) {
    it(`${c.id}: the same reason and hard/soft as the bare line`, async () => {
      const d = await diagnoseBounce(dsnFor(c));
      assert.equal(d.kind, 'dsn');
      assert.equal(d.bounces.length, 1);
      const r = d.bounces[0]!;
      assert.equal(r.status, statusOf(c.reply));
      assert.deepEqual(
        { reason: r.reason, hard: r.hard },
        { reason: c.reason, hard: c.hard },
        `${c.provider} (${c.url}): ${c.note}\nreply: ${c.reply}\nmatched: ${r.matched.join(', ')}`,
      );
    });
  }
});
