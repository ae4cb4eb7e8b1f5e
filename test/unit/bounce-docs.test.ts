import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bounceDocWithReasons, bounceSchemaText } from '../../src/docs/generate.js';
import { REASONS, REASON_INFO, PHRASE_RULES, STATUS_RULES, statusRule } from '../../src/bounce/index.js';
import { FOLLOWUPS } from '../../src/bounce/followups/index.js';
import { ROOT } from '../support/cli.js';

describe('bounce documentation and knowledge tables', () => {
  it('docs/bounce.schema.json matches the diagnosis model (run `npm run docs` when this fails)', () => {
    assert.equal(readFileSync(join(ROOT, 'docs', 'bounce.schema.json'), 'utf8'), bounceSchemaText());
  });
  it('docs/bounces.md documents every reason (run `npm run docs` when this fails)', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'bounces.md'), 'utf8');
    assert.equal(doc, bounceDocWithReasons(doc));
    for (const reason of REASONS) assert.match(doc, new RegExp(`### \`${reason}\``));
  });
  it('every reason has a title, a meaning and next steps', () => {
    for (const reason of REASONS) {
      const info = REASON_INFO[reason];
      assert.ok(info.title && info.meaning.length > 20, reason);
      assert.ok(info.steps({}).length > 0, reason);
      assert.ok(info.summary({}).endsWith('.'), reason);
    }
  });
  it('phrase rules have unique IDs, a source, and a weight between 0 and 1', () => {
    const ids = PHRASE_RULES.map((r) => r.id);
    assert.deepEqual(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      [],
    );
    for (const r of PHRASE_RULES) {
      assert.match(r.id, /^[a-z0-9]+\.[a-z0-9_]+$/);
      assert.ok(r.source.length > 5, r.id);
      assert.ok(r.weight > 0 && r.weight < 1, r.id);
      assert.ok(REASONS.includes(r.reason), r.id);
    }
  });
  it('status rules resolve: exact provider codes, ranges, then the RFC 3463 class-independent code', () => {
    assert.equal(statusRule('5.7.606')?.reason, 'blocked');
    assert.equal(statusRule('5.7.649')?.reason, 'blocked');
    assert.equal(statusRule('4.7.650')?.reason, 'bad_reputation');
    assert.equal(statusRule('4.1.1')?.reason, 'user_unknown');
    assert.equal(statusRule('5.7.26')?.reason, 'auth_failure');
    assert.equal(statusRule('5.9.9'), null);
    for (const r of STATUS_RULES) assert.ok(/^(?:X|[245])\.\d{1,3}\.\d{1,3}$/.test(r.code), r.code);
  });
  it('follow-up IDs are unique and every one names the reasons it confirms', () => {
    const ids = FOLLOWUPS.map((f) => f.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const f of FOLLOWUPS) assert.ok(f.reasons.length > 0);
  });
});
