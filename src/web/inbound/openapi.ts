import type { z } from 'zod';
import { InboundTestCreatedSchema, InboundTestStatusSchema } from './schemas.js';

/** The inbound test endpoints' part of the OpenAPI document (src/web/openapi.ts adds it). */
export function registerInboundSchemas(registry: z.core.$ZodRegistry<{ id: string }>): void {
  registry.add(InboundTestCreatedSchema, { id: 'InboundTestCreated' });
  registry.add(InboundTestStatusSchema, { id: 'InboundTestStatus' });
}

export function inboundPaths(common: Record<string, unknown>): Record<string, unknown> {
  const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
  const json = (id: string) => ({ 'application/json': { schema: ref(id) } });
  const error = (description: string) => ({ description, content: json('Error') });
  return {
    '/api/v1/inbound-tests': {
      post: {
        operationId: 'createInboundTest',
        summary: 'Open an inbound test: a one-time address to send one message to',
        description:
          'Returns an address test-<random>@<MXDOCTOR_INBOUND_DOMAIN> that accepts one message until expiresAt. Send a message to it from the server whose mail you want to check; the report says what a receiver sees of it. Available when the service runs the receiver (MXDOCTOR_INBOUND_LISTEN).',
        responses: {
          '201': {
            description: 'Opened',
            headers: { Location: { schema: { type: 'string' }, description: 'URL of the test' } },
            content: json('InboundTestCreated'),
          },
          '401': error('An Authorization header with an unknown token'),
          ...common,
        },
      },
    },
    '/api/v1/inbound-tests/{id}': {
      get: {
        operationId: 'getInboundTest',
        summary: 'Status of an inbound test, and its report once the message is analysed',
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            description: 'Test id, as returned by POST /api/v1/inbound-tests',
            schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' },
          },
        ],
        responses: {
          '200': { description: 'The test', content: json('InboundTestStatus') },
          '404': error('No such test (or it is no longer kept)'),
          ...common,
        },
      },
    },
  };
}
