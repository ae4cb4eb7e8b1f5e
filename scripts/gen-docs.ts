// Writes the generated documentation: docs/checks.md, docs/report.schema.json, the
// configuration table in README.md, docs/bounce.schema.json, docs/inbound.schema.json and the reason
// reference in docs/bounces.md; and src/smtp/literals-table.ts, the required literals of the phrase
// screens' expressions.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadChecks } from '../src/checks/registry.js';
import {
  bounceDocWithReasons,
  bounceSchemaText,
  checksMarkdown,
  inboundSchemaText,
  readmeWithConfig,
  reportSchemaText,
} from '../src/docs/generate.js';
import { literalsTableText } from '../src/docs/literals-table.js';

const checks = await loadChecks();
writeFileSync('docs/checks.md', checksMarkdown(checks));
writeFileSync('docs/report.schema.json', reportSchemaText(checks));
writeFileSync('README.md', readmeWithConfig(readFileSync('README.md', 'utf8')));
writeFileSync('docs/bounce.schema.json', bounceSchemaText());
writeFileSync('docs/inbound.schema.json', inboundSchemaText());
writeFileSync('docs/bounces.md', bounceDocWithReasons(readFileSync('docs/bounces.md', 'utf8')));
writeFileSync('src/smtp/literals-table.ts', literalsTableText());
console.log(
  'wrote docs/checks.md, docs/report.schema.json, the README configuration table, docs/bounce.schema.json, docs/inbound.schema.json, the reasons of docs/bounces.md and src/smtp/literals-table.ts',
);
