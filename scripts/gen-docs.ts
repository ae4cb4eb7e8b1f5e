// Writes the generated documentation: docs/checks.md, docs/report.schema.json and the
// configuration table in README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { checksMarkdown, readmeWithConfig, reportSchemaText } from '../src/report/docs.js';

writeFileSync('docs/checks.md', checksMarkdown());
writeFileSync('docs/report.schema.json', reportSchemaText());
writeFileSync('README.md', readmeWithConfig(readFileSync('README.md', 'utf8')));
console.log('wrote docs/checks.md, docs/report.schema.json and the README configuration table');
