import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** Validates real API responses against a component schema of the served OpenAPI document. */
export function openApiValidator(
  doc: Record<string, unknown>,
): (component: string, value: unknown) => string[] {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema(doc, 'openapi.json');
  return (component, value) => {
    const validate = ajv.getSchema(`openapi.json#/components/schemas/${component}`);
    if (!validate) return [`no component schema ${component}`];
    if (validate(value)) return [];
    return (validate.errors ?? []).map(
      (e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    );
  };
}
