import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnoseBounce } from '../../src/bounce/index.js';
import type { BounceRecord } from '../../src/bounce/index.js';
import { ROOT, runMxdoctor } from '../support/cli.js';

/**
 * Bounces written by real MTAs on loopback about a fake remote whose replies are known
 * (test/fixtures/bounces/producers/README.md). The manifest holds the truth of each case, set
 * by how it was made and never by mxdoctor's output: every record's recipient, action, reason
 * (or an arguable alternative the manifest names), hard/soft and enhanced status code, and the
 * SMTP stage where the bounce names it.
 */
const DIR = join(ROOT, 'test', 'fixtures', 'bounces', 'producers');

interface ExpectedRecord {
  recipient: string;
  action: 'failed' | 'delayed';
  reason: string;
  reasonAlso?: string[];
  hard: boolean;
  /** null: the bounce states none (a derived status is then fine). */
  status: string | null;
  replyCode: number | null;
  stage: 'CONNECT' | 'MAIL' | 'RCPT' | 'DATA' | 'none';
  /** Whether the bounce itself names the stage, so the diagnosis can be held to it. */
  stageStated: boolean;
}
interface Entry {
  file: string;
  producer: string;
  case: string;
  cause: string;
  records: ExpectedRecord[];
}

const MANIFEST = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Entry[];

/** The facts a record must get right, side by side with the truth for one readable diff. */
function compare(got: BounceRecord, want: ExpectedRecord) {
  const acceptable = [want.reason, ...(want.reasonAlso ?? [])];
  const statusOk = want.status === null ? got.statusSource !== 'dsn' && got.statusSource !== 'reply' : true;
  return {
    got: {
      recipient: got.recipient,
      action: got.action,
      reason: acceptable.includes(got.reason) ? want.reason : got.reason,
      hard: got.hard,
      status: want.status === null ? (statusOk ? null : got.status) : got.status,
      stage: want.stageStated ? (got.smtpCommand ?? 'none') : want.stage,
    },
    want: {
      recipient: want.recipient,
      action: want.action,
      reason: want.reason,
      hard: want.hard,
      status: want.status,
      stage: want.stage,
    },
  };
}

describe('bounces made by real MTAs (producers manifest)', () => {
  it('the manifest covers several producers and every kind of stage', () => {
    const producers = new Set(MANIFEST.map((e) => e.file.split('/')[0]));
    assert.ok(producers.size >= 6, `producers: ${[...producers].join(', ')}`);
    const stages = new Set(MANIFEST.flatMap((e) => e.records.map((r) => r.stage)));
    assert.deepEqual([...stages].sort(), ['CONNECT', 'DATA', 'MAIL', 'RCPT', 'none']);
  });

  for (const entry of MANIFEST) {
    it(`${entry.file}: ${entry.records.map((r) => `${r.recipient} ${r.reason}`).join(', ')}`, async () => {
      const d = await diagnoseBounce(readFileSync(join(DIR, entry.file)));
      assert.deepEqual(
        d.bounces.map((b) => b.recipient),
        entry.records.map((r) => r.recipient),
        `recipients of ${entry.file} (${entry.cause})`,
      );
      for (const [i, want] of entry.records.entries()) {
        const { got, want: truth } = compare(d.bounces[i]!, want);
        assert.deepEqual(got, truth, `${entry.file} #${i + 1}: ${entry.cause}`);
      }
    });
  }

  it('Haraka: a recipient without a Diagnostic-Code takes the notice\'s "Failure Reason:" line, not its greeting', async () => {
    const d = await diagnoseBounce(readFileSync(join(DIR, 'haraka', 'host-unknown-nxdomain.eml')));
    assert.equal(
      d.bounces[0]!.diagnostic,
      'Error: Nowhere to deliver mail to for domain: no-such-domain.test',
    );
    const gaveUp = await diagnoseBounce(readFileSync(join(DIR, 'haraka', 'expired-connection-refused.eml')));
    assert.equal(gaveUp.bounces[0]!.diagnostic, 'Error: Too many failures (Tried all MXs)');
  });

  it('mxdoctor bounce FILE --json reads a producer bounce as the library does', async () => {
    const entry = MANIFEST.find((e) => e.file === 'courier/rcpt-unknown-and-full.eml');
    assert.ok(entry, 'the manifest lists courier/rcpt-unknown-and-full.eml');
    const r = await runMxdoctor(['bounce', join(DIR, entry.file), '--json', '--no-followup']);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as { bounces: BounceRecord[] };
    assert.deepEqual(
      d.bounces.map((b) => [b.recipient, b.reason, b.hard, b.status]),
      entry.records.map((w) => [w.recipient, w.reason, w.hard, w.status]),
    );
  });
});
