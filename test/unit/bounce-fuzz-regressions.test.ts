import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnoseBounce } from '../../src/bounce/index.js';
import { ROOT } from '../support/cli.js';

/**
 * Regressions found by fuzzing the bounce parser (test/fuzz/bounce.ts, issue 13 §8): each
 * input is the fuzzer's counterexample, shrunk.
 */
describe('bounce parser: regressions from fuzzing', () => {
  it('diagnoses a bounce whose recipient is a folded header of 80 KB (the address pattern built from it was too large: SyntaxError)', async () => {
    const exim = readFileSync(
      join(ROOT, 'test/fixtures/bounces/real-mta/exim-4.96-two-recipients-unknown-and-full.eml'),
      'latin1',
    );
    const input = `Final-Recipient: ${'x\r\n '.repeat(20_000)}\r\n${exim.replace(/\r?\n/g, '\r\n')}`;
    const d = await diagnoseBounce(Buffer.from(input, 'latin1'));
    assert.ok(d.bounces.length >= 1);
    for (const b of d.bounces) assert.ok(b.diagnostic === undefined || b.diagnostic.length <= 1200);
  });

  it('diagnoses a DSN cut off right after a part\'s "Content-Type:" (mailparser gives false for the type: TypeError)', async () => {
    const input = [
      'From: MAILER-DAEMON@mx.example.com',
      'To: root@sender.example',
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      "I'm sorry to have to inform you that your message could not be delivered.",
      '',
      '--b1',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.com',
      '',
      'Final-Recipient: rfc822; someone@example.jp',
      'Action: failed',
      'Status: 5.1.8',
      'Diagnostic-Code: smtp; 553 5.1.8 Domain of sender address does not exist',
      '',
      '--b1',
      'Content-Description: Undelivered Message',
      'Content-Type:',
    ].join('\n');
    const d = await diagnoseBounce(input);
    assert.equal(d.bounces[0]?.status, '5.1.8');
  });
});
