import type { z } from 'zod';
import {
  AuthReportSchema,
  AuthenticationRequestSchema,
  BatchAcceptedSchema,
  BatchRequestSchema,
  BatchStatusSchema,
  VerificationAcceptedSchema,
  VerificationRequestSchema,
  VerificationStatusSchema,
} from './schemas.js';

/** The bulk part of the OpenAPI document: batches, verifications, authentications. */
export function registerBulkSchemas(registry: z.core.$ZodRegistry<{ id: string }>): void {
  registry.add(BatchRequestSchema, { id: 'BatchRequest' });
  registry.add(BatchAcceptedSchema, { id: 'BatchAccepted' });
  registry.add(BatchStatusSchema, { id: 'BatchStatus' });
  registry.add(VerificationRequestSchema, { id: 'VerificationRequest' });
  registry.add(VerificationAcceptedSchema, { id: 'VerificationAccepted' });
  registry.add(VerificationStatusSchema, { id: 'VerificationStatus' });
  registry.add(AuthenticationRequestSchema, { id: 'AuthenticationRequest' });
  registry.add(AuthReportSchema, { id: 'AuthReport' });
}

type Helpers = {
  json: (id: string) => Record<string, unknown>;
  error: (description: string) => Record<string, unknown>;
  common: Record<string, unknown>;
};

export function bulkPaths({ json, error, common }: Helpers): Record<string, unknown> {
  const id = (what: string) => ({
    name: 'id',
    in: 'path',
    required: true,
    description: `${what} id`,
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' },
  });
  const text = { schema: { type: 'string' } };
  return {
    '/api/v1/batches': {
      post: {
        operationId: 'createBatch',
        summary: 'Check many domains: queue a batch',
        description:
          'One check per domain, at a lower priority than interactive checks. MX hosts the domains share are probed once within the connection cache’s freshness; the per-address politeness limits hold across the batch and all workers. Entries that are not domains are listed in `invalid` and left out.',
        parameters: [
          {
            name: 'webhook',
            in: 'query',
            required: false,
            description: 'With a text body: URL POSTed a summary when the batch completes',
            schema: { type: 'string' },
          },
        ],
        requestBody: {
          required: true,
          content: { ...json('BatchRequest'), 'text/plain': text, 'text/csv': text },
        },
        responses: {
          '202': {
            description: 'Queued',
            headers: { Location: { schema: { type: 'string' }, description: 'URL of the batch' } },
            content: json('BatchAccepted'),
          },
          '400': error('Invalid JSON or fields, or no domain in the list'),
          '401': error('An Authorization header with an unknown token'),
          '413': error(
            'Body larger than 1 MiB, or more domains than MXDOCTOR_BATCH_MAX_DOMAINS (the error says how many)',
          ),
          '415': error('Not JSON, text/plain or text/csv'),
          ...common,
        },
      },
    },
    '/api/v1/batches/{id}': {
      get: {
        operationId: 'getBatch',
        summary: 'Progress of a batch and the status of each domain',
        parameters: [id('Batch')],
        responses: {
          '200': { description: 'The batch', content: json('BatchStatus') },
          '404': error('No such batch (or it has expired)'),
          ...common,
        },
      },
    },
    '/api/v1/batches/{id}/results': {
      get: {
        operationId: 'getBatchResults',
        summary: 'Results of a batch so far: one report a line (JSON Lines) or CSV',
        parameters: [
          id('Batch'),
          {
            name: 'format',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: ['jsonl', 'csv'], default: 'jsonl' },
          },
        ],
        responses: {
          '200': {
            description:
              'Finished domains in the order of the list; X-Mxdoctor-Pending says how many are still running',
            headers: { 'X-Mxdoctor-Pending': { schema: { type: 'integer' } } },
            content: { 'application/x-ndjson': text, 'text/csv': text },
          },
          '404': error('No such batch'),
          ...common,
        },
      },
    },
    '/api/v1/verifications': {
      post: {
        operationId: 'createVerification',
        summary: 'Verify addresses (RCPT TO only; nothing is sent)',
        description:
          'Syntax, the domain’s MX, then RCPT TO on the MX, with catch-all measured once per domain. Greylisted addresses are asked again by a delayed job (MXDOCTOR_GREYLIST_REPROBE).',
        requestBody: { required: true, content: { ...json('VerificationRequest'), 'text/plain': text } },
        responses: {
          '202': { description: 'Queued', content: json('VerificationAccepted') },
          '400': error('Invalid JSON, or no address'),
          '413': error('Body larger than 1 MiB, or more addresses than MXDOCTOR_VERIFY_MAX_ADDRESSES'),
          '415': error('Not JSON or text/plain'),
          ...common,
        },
      },
    },
    '/api/v1/verifications/{id}': {
      get: {
        operationId: 'getVerification',
        summary: 'State and result of a verification',
        parameters: [id('Verification')],
        responses: {
          '200': { description: 'The verification', content: json('VerificationStatus') },
          '404': error('No such verification'),
          ...common,
        },
      },
    },
    '/api/v1/authentications': {
      post: {
        operationId: 'authenticateMessage',
        summary: 'Authenticate a received message: SPF, DKIM, ARC, DMARC, BIMI',
        description:
          'Answers at once (DNS lookups only). The envelope comes from the receiving system’s own trace headers unless ip, mailFrom and helo are given.',
        parameters: ['ip', 'mailFrom', 'helo'].map((name) => ({
          name,
          in: 'query',
          required: false,
          description: 'With a message/rfc822 body: overrides the envelope',
          schema: { type: 'string' },
        })),
        requestBody: {
          required: true,
          content: { ...json('AuthenticationRequest'), 'message/rfc822': text, 'text/plain': text },
        },
        responses: {
          '200': { description: 'The result', content: json('AuthReport') },
          '400': error('Invalid JSON or fields, or not a message'),
          '413': error('Message larger than 10 MiB'),
          '415': error('Not JSON, message/rfc822 or text/plain'),
          ...common,
        },
      },
    },
  };
}
