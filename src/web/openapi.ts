import { z } from 'zod';
import type { Check } from '../checks/types.js';
import { reportSchema } from '../checks/schema.js';
import { version } from '../version.js';
import { bouncePaths, registerBounceSchemas } from './bounces/openapi.js';
import { checkPaths, registerCheckSchemas } from './checks/openapi.js';
import { monitorPaths, registerMonitorSchemas } from './monitors/openapi.js';
import { bulkPaths, registerBulkSchemas } from './bulk/openapi.js';
import { inboundPaths, registerInboundSchemas } from './inbound/openapi.js';

/**
 * The OpenAPI 3.1 document of the JSON API, generated from the zod schemas that validate
 * requests (src/web/{checks,bounces,monitors}/schemas.ts) and from the report model, so it
 * cannot drift from the code. Each feature adds its component schemas and its paths
 * (src/web/<feature>/openapi.ts).
 */

/**
 * zod puts schemas that several registered schemas share, and recursive ones (the SPF
 * include tree), under a "__shared" entry with $defs, referenced as
 * "#/components/schemas/__shared#/$defs/x" — not a valid reference inside an OpenAPI
 * document. Move each into components.schemas as "Shared_x" and point every reference at it.
 */
function hoistShared(schemas: Record<string, Record<string, unknown>>): void {
  const shared = schemas.__shared as { $defs?: Record<string, Record<string, unknown>> } | undefined;
  if (!shared) return;
  delete schemas.__shared;
  for (const [name, def] of Object.entries(shared.$defs ?? {})) schemas[`Shared_${name}`] = def;
  const rewrite = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(rewrite);
    if (!node || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (typeof obj.$ref === 'string') {
      const m = /^(?:#\/components\/schemas\/__shared)?#\/\$defs\/(.+)$/.exec(obj.$ref);
      if (m) obj.$ref = `#/components/schemas/Shared_${m[1]}`;
    }
    Object.values(obj).forEach(rewrite);
  };
  rewrite(schemas);
}

/** The component schemas of every feature, as JSON Schema 2020-12 under components.schemas. */
function componentSchemas(checks: readonly Check[]): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  const Report = reportSchema(checks);
  registerCheckSchemas(registry, Report);
  registerBounceSchemas(registry);
  registerInboundSchemas(registry);
  registerMonitorSchemas(registry, Report);
  registerBulkSchemas(registry);
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  for (const s of Object.values(schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  hoistShared(schemas);
  return schemas;
}

export function buildOpenApi(checks: readonly Check[]): Record<string, unknown> {
  const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
  const json = (id: string) => ({ 'application/json': { schema: ref(id) } });
  const error = (description: string) => ({ description, content: json('Error') });
  const common = {
    '429': {
      ...error('Too many requests from this client or token; retry after the Retry-After header'),
      headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } },
    },
    '503': error('Redis (the queue and report store) is unreachable; retry later'),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'mxdoctor API',
      version: version(),
      description:
        'Queue domain checks of mail deliverability and read their reports. Errors are JSON `{"error": {"code", "message", "field"?}}`.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    security: [{}, { bearer: [] }],
    paths: {
      ...checkPaths({ json, error, common }),
      ...bouncePaths(common),
      ...inboundPaths(common),
      ...monitorPaths({ json, error, common }),
      ...bulkPaths({ json, error, common }),
    },
    components: {
      schemas: componentSchemas(checks),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Optional for checks: a token from MXDOCTOR_API_TOKENS gets its own rate limit; without one, requests share the web form’s per-address limit. Monitors: changes need the admin token (MXDOCTOR_ADMIN_TOKEN); reading needs the admin token or an API token when MXDOCTOR_MONITORS_VIEW=private.',
        },
      },
    },
  };
}
