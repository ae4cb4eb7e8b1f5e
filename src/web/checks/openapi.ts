import type { z } from 'zod';
import { CheckRequestSchema } from '../../input/check-request.js';
import { CheckAcceptedSchema, DomainChecksSchema, ErrorSchema, checkStatusSchema } from './schemas.js';

/**
 * The checks part of the OpenAPI document (src/web/openapi.ts adds it): component schemas
 * from the zod schemas that validate the requests and from the report model, and the paths
 * under /api/v1/checks and /api/v1/domains.
 */
export function registerCheckSchemas(registry: z.core.$ZodRegistry<{ id: string }>, report: z.ZodType): void {
  registry.add(CheckRequestSchema, { id: 'CheckRequest' });
  registry.add(CheckAcceptedSchema, { id: 'CheckAccepted' });
  registry.add(report, { id: 'Report' });
  registry.add(checkStatusSchema(report), { id: 'CheckStatus' });
  registry.add(DomainChecksSchema, { id: 'DomainChecks' });
  registry.add(ErrorSchema, { id: 'Error' });
}

type Helpers = {
  json: (id: string) => Record<string, unknown>;
  error: (description: string) => Record<string, unknown>;
  common: Record<string, unknown>;
};

export function checkPaths({ json, error, common }: Helpers): Record<string, unknown> {
  const idParam = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'Check id, as returned by POST /api/v1/checks',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' },
  };
  return {
    '/api/v1/checks': {
      post: {
        operationId: 'createCheck',
        summary: 'Queue a domain check',
        description:
          'Identical requests (same domain and options) while a check runs or shortly after it finished return that check (`deduplicated: true`).',
        requestBody: { required: true, content: json('CheckRequest') },
        responses: {
          '202': {
            description: 'Queued (or an identical check reused)',
            headers: { Location: { schema: { type: 'string' }, description: 'URL of the check' } },
            content: json('CheckAccepted'),
          },
          '400': error('Invalid JSON or invalid fields (see error.field)'),
          '401': error('An Authorization header with an unknown token'),
          '413': error('Body larger than 16 KiB'),
          '415': error('Content-Type is not application/json'),
          ...common,
        },
      },
    },
    '/api/v1/checks/{id}': {
      get: {
        operationId: 'getCheck',
        summary: 'State, progress, and the report when done',
        parameters: [idParam],
        responses: {
          '200': { description: 'The check', content: json('CheckStatus') },
          '404': error('No such check (or its report has expired)'),
          ...common,
        },
      },
    },
    '/api/v1/domains/{domain}/checks': {
      get: {
        operationId: 'listDomainChecks',
        summary: 'Recent reports of a domain, newest first',
        parameters: [
          { name: 'domain', in: 'path', required: true, schema: { type: 'string' } },
          {
            name: 'limit',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          },
        ],
        responses: {
          '200': { description: 'Recent reports', content: json('DomainChecks') },
          '400': error('Not a domain name'),
          ...common,
        },
      },
    },
  };
}
