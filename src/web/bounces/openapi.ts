import type { z } from 'zod';
import { RAW_BOUNCE_TYPES } from './api.js';
import { BounceAcceptedSchema, BounceRequestSchema, BounceStatusSchema } from './schemas.js';

/**
 * The bounce endpoints' part of the OpenAPI document (src/web/openapi.ts adds it): component
 * schemas from the zod schemas that validate the requests, and the paths.
 */
export function registerBounceSchemas(registry: z.core.$ZodRegistry<{ id: string }>): void {
  registry.add(BounceRequestSchema, { id: 'BounceRequest' });
  registry.add(BounceAcceptedSchema, { id: 'BounceAccepted' });
  registry.add(BounceStatusSchema, { id: 'BounceStatus' });
}

export function bouncePaths(common: Record<string, unknown>): Record<string, unknown> {
  const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
  const json = (id: string) => ({ 'application/json': { schema: ref(id) } });
  const error = (description: string) => ({ description, content: json('Error') });
  const boolQuery = (name: string, description: string) => ({
    name,
    in: 'query',
    required: false,
    description: `${description} (raw message bodies only; in JSON give it in the body)`,
    schema: { type: 'boolean', default: true },
  });
  const raw = Object.fromEntries(
    RAW_BOUNCE_TYPES.map((t) => [
      t,
      { schema: { type: 'string', description: 'The bounce message itself' } },
    ]),
  );
  return {
    '/api/v1/bounces': {
      post: {
        operationId: 'createBounceDiagnosis',
        summary: 'Queue the diagnosis of a bounce',
        description:
          'Send a whole bounce message, its text, or a bare SMTP reply. Empty, binary and oversized input is refused at once; whether the input is a bounce at all is decided by the worker (status `rejected`). The text is deleted once diagnosed.',
        parameters: [
          boolQuery('followups', 'Run the follow-up checks'),
          boolQuery('smtp', 'Let follow-ups connect to mail servers'),
        ],
        requestBody: { required: true, content: { ...json('BounceRequest'), ...raw } },
        responses: {
          '202': {
            description: 'Queued',
            headers: { Location: { schema: { type: 'string' }, description: 'URL of the diagnosis' } },
            content: json('BounceAccepted'),
          },
          '400': error('Invalid JSON, invalid fields (see error.field), an empty or binary message'),
          '401': error('An Authorization header with an unknown token'),
          '413': error('The bounce is larger than MXDOCTOR_BOUNCE_MAX_SIZE (5 MiB by default)'),
          '415': error(`Content-Type is not application/json, ${RAW_BOUNCE_TYPES.join(', ')}`),
          ...common,
        },
      },
    },
    '/api/v1/bounces/{id}': {
      get: {
        operationId: 'getBounceDiagnosis',
        summary: 'State, progress, and the diagnosis when done',
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            description: 'Diagnosis id, as returned by POST /api/v1/bounces',
            schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' },
          },
        ],
        responses: {
          '200': { description: 'The diagnosis', content: json('BounceStatus') },
          '404': error('No such diagnosis (or it has expired)'),
          ...common,
        },
      },
    },
  };
}
