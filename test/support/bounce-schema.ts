import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/** Validates a bounce diagnosis against the published JSON Schema (docs/bounce.schema.json). */
export function bounceValidator(): (diagnosis: unknown) => string[] {
  const schema = JSON.parse(readFileSync(join(ROOT, 'docs', 'bounce.schema.json'), 'utf8')) as object;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(schema);
  return (diagnosis) =>
    validate(diagnosis) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}
