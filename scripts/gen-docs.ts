// Writes the generated documentation: docs/checks.md, docs/report.schema.json, the
// configuration table in README.md, docs/bounce.schema.json, docs/inbound.schema.json and the reason
// reference in docs/bounces.md.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  bounceDocWithReasons,
  bounceSchemaText,
  checksMarkdown,
  inboundSchemaText,
  readmeWithConfig,
  reportSchemaText,
} from '../src/docs/generate.js';

writeFileSync('docs/checks.md', checksMarkdown());
writeFileSync('docs/report.schema.json', reportSchemaText());
writeFileSync('README.md', readmeWithConfig(readFileSync('README.md', 'utf8')));
writeFileSync('docs/bounce.schema.json', bounceSchemaText());
writeFileSync('docs/inbound.schema.json', inboundSchemaText());
writeFileSync('docs/bounces.md', bounceDocWithReasons(readFileSync('docs/bounces.md', 'utf8')));
console.log(
  'wrote docs/checks.md, docs/report.schema.json, the README configuration table, docs/bounce.schema.json, docs/inbound.schema.json and the reasons of docs/bounces.md',
);
