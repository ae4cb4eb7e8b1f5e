import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checksMarkdown, inboundSchemaText, reportSchemaText } from '../../src/docs/generate.js';
import { AUTH } from '../../src/auth/evaluate.js';
import { INBOUND_SPECS } from '../../src/inbound/report.js';
import { CHECKS, loadChecks } from '../../src/checks/registry.js';
import { CORE } from '../../src/checks/core.js';
import { FINDING_ID } from '../../src/report/model.js';
import { ROOT } from '../support/cli.js';

const ALL_CHECKS = await loadChecks();

describe('generated documentation', () => {
  it('docs/checks.md lists every finding ID (run `npm run docs` when this fails)', () => {
    assert.equal(readFileSync(join(ROOT, 'docs', 'checks.md'), 'utf8'), checksMarkdown(ALL_CHECKS));
  });
  it('docs/report.schema.json matches the report model (run `npm run docs` when this fails)', () => {
    assert.equal(
      readFileSync(join(ROOT, 'docs', 'report.schema.json'), 'utf8'),
      reportSchemaText(ALL_CHECKS),
    );
  });
  it('docs/inbound.schema.json matches the inbound report model (run `npm run docs` when this fails)', () => {
    assert.equal(readFileSync(join(ROOT, 'docs', 'inbound.schema.json'), 'utf8'), inboundSchemaText());
  });
  it('finding IDs are unique, well-formed dotted names', () => {
    const ids = [
      ...CORE.specs,
      ...ALL_CHECKS.flatMap((c) => c.findings),
      ...AUTH.specs,
      ...INBOUND_SPECS,
    ].map((s) => s.id);
    assert.deepEqual(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      [],
    );
    for (const id of ids) assert.match(id, FINDING_ID);
  });
  it('each registry entry loads the check it describes', () => {
    // defineCheck joins a check's code to the entry of its name: an entry loading another
    // check's module would run that check twice and this one never.
    assert.deepEqual(
      ALL_CHECKS.map((c) => c.name),
      CHECKS.map((c) => c.name),
    );
  });
  it('check names are unique and dependencies exist', () => {
    const names = ALL_CHECKS.map((c) => c.name);
    assert.equal(new Set(names).size, names.length);
    for (const c of ALL_CHECKS)
      for (const d of [...(c.dependsOn ?? []), ...(c.uses ?? [])])
        assert.ok(names.includes(d), `${c.name} depends on unknown ${d}`);
  });
});

describe('README', () => {
  it('has the current configuration table (run `npm run docs` when this fails)', async () => {
    const { readmeWithConfig } = await import('../../src/docs/generate.js');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.equal(readme, readmeWithConfig(readme));
  });
  it('shows the two set-up commands', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /npm ci/);
    assert.match(readme, /npm test/);
  });
});
