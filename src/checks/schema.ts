import { z } from 'zod';
import type { Check } from './types.js';
import { buildReportSchema } from '../report/model.js';

/** The report schema with these checks' data schemas (every registered check's: loadChecks()). */
export function reportSchema(checks: readonly Check[]) {
  const shape: Record<string, z.ZodType> = {};
  for (const check of checks) {
    if (check.dataSchema) shape[check.name] = check.dataSchema as z.ZodType;
  }
  return buildReportSchema(shape);
}

/** The published JSON Schema (draft 2020-12) of the report. */
export function reportJsonSchema(checks: readonly Check[]): Record<string, unknown> {
  const schema = z.toJSONSchema(reportSchema(checks), { target: 'draft-2020-12', unrepresentable: 'any' });
  return {
    $id: 'https://github.com/mxdoctor/mxdoctor/docs/report.schema.json',
    title: 'mxdoctor report',
    ...schema,
  };
}
