import type { z } from 'zod';
import {
  MonitorDetailSchema,
  MonitorInputSchema,
  MonitorListSchema,
  MonitorPatchSchema,
  MonitorResponseSchema,
  RunDiffSchema,
  RunListSchema,
  RunQueuedSchema,
  TestQueuedSchema,
  runDetailSchema,
} from './schemas.js';

/**
 * The monitors part of the OpenAPI document: schemas registered beside the checks API's,
 * and the paths under /api/v1/monitors. Writes need the admin token as a bearer token;
 * reads need a token only when MXDOCTOR_MONITORS_VIEW=private.
 */
export function registerMonitorSchemas(
  registry: z.core.$ZodRegistry<{ id: string }>,
  report: z.ZodType,
): void {
  registry.add(MonitorInputSchema, { id: 'MonitorRequest' });
  registry.add(MonitorPatchSchema, { id: 'MonitorPatch' });
  registry.add(MonitorResponseSchema, { id: 'Monitor' });
  registry.add(MonitorDetailSchema, { id: 'MonitorDetail' });
  registry.add(MonitorListSchema, { id: 'MonitorList' });
  registry.add(RunListSchema, { id: 'MonitorRuns' });
  registry.add(runDetailSchema(report), { id: 'MonitorRun' });
  registry.add(RunDiffSchema, { id: 'MonitorDiff' });
  registry.add(RunQueuedSchema, { id: 'MonitorRunQueued' });
  registry.add(TestQueuedSchema, { id: 'TestAlertQueued' });
}

type Helpers = {
  json: (id: string) => Record<string, unknown>;
  error: (description: string) => Record<string, unknown>;
  common: Record<string, unknown>;
};

/** What every monitor path shares: the helpers, the id parameter, the usual errors. */
interface Shared extends Helpers {
  admin: { bearer: never[] }[];
  id: Record<string, unknown>;
  unauthorized: Record<string, unknown>;
  notFound: Record<string, unknown>;
}

export function monitorPaths(helpers: Helpers): Record<string, unknown> {
  const s: Shared = {
    ...helpers,
    admin: [{ bearer: [] }],
    id: {
      name: 'id',
      in: 'path',
      required: true,
      description: 'Monitor id',
      schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{16}$' },
    },
    unauthorized: helpers.error('No token, or not the admin token (writes), or monitors are private (reads)'),
    notFound: helpers.error('No such monitor (or run)'),
  };
  return {
    '/api/v1/monitors': monitorsPath(s),
    '/api/v1/monitors/{id}': monitorPath(s),
    '/api/v1/monitors/{id}/run': runNowPath(s),
    '/api/v1/monitors/{id}/runs': runsPath(s),
    '/api/v1/monitors/{id}/runs/{runId}': runPath(s),
    '/api/v1/monitors/{id}/diff': diffPath(s),
    '/api/v1/monitors/{id}/destinations/{destinationId}/test': testAlertPath(s),
  };
}

function monitorsPath({ json, error, common, admin, unauthorized }: Shared) {
  return {
    get: {
      operationId: 'listMonitors',
      summary: 'All monitors with their last run and next run',
      parameters: [
        {
          name: 'label',
          in: 'query',
          required: false,
          schema: { type: 'string' },
          description: 'Only monitors with this label',
        },
      ],
      responses: {
        '200': { description: 'Monitors', content: json('MonitorList') },
        '401': unauthorized,
        ...common,
      },
    },
    post: {
      operationId: 'createMonitor',
      summary: 'Create a monitor (admin token)',
      description:
        'Creates the monitor and its job scheduler, and queues a first run as the baseline. Webhook destinations without a secret get a generated one (in the response).',
      security: admin,
      requestBody: { required: true, content: json('MonitorRequest') },
      responses: {
        '201': {
          description: 'Created',
          headers: { Location: { schema: { type: 'string' }, description: 'URL of the monitor' } },
          content: json('Monitor'),
        },
        '400': error('Invalid fields (see error.field)'),
        '401': unauthorized,
        '415': error('Content-Type is not application/json'),
        ...common,
      },
    },
  };
}

function monitorPath({ json, error, common, admin, id, unauthorized, notFound }: Shared) {
  return {
    get: {
      operationId: 'getMonitor',
      summary: 'A monitor, its last and next run, recent alerts (and deliveries, for the admin token)',
      parameters: [id],
      responses: {
        '200': { description: 'The monitor', content: json('MonitorDetail') },
        '401': unauthorized,
        '404': notFound,
        ...common,
      },
    },
    patch: {
      operationId: 'updateMonitor',
      summary: 'Change a monitor (admin token)',
      description:
        'Fields given replace the stored ones (alerts are merged rule by rule). Setting "paused" removes or restores its job scheduler.',
      security: admin,
      parameters: [id],
      requestBody: { required: true, content: json('MonitorPatch') },
      responses: {
        '200': { description: 'The changed monitor', content: json('Monitor') },
        '400': error('Invalid fields'),
        '401': unauthorized,
        '404': notFound,
        '415': error('Content-Type is not application/json'),
        ...common,
      },
    },
    delete: {
      operationId: 'deleteMonitor',
      summary: 'Delete a monitor, its history and its job scheduler (admin token)',
      security: admin,
      parameters: [id],
      responses: { '204': { description: 'Deleted' }, '401': unauthorized, '404': notFound, ...common },
    },
  };
}

function runNowPath({ json, common, admin, id, unauthorized, notFound }: Shared) {
  return {
    post: {
      operationId: 'runMonitor',
      summary: 'Queue a run now (admin token)',
      security: admin,
      parameters: [id],
      responses: {
        '202': { description: 'Queued', content: json('MonitorRunQueued') },
        '401': unauthorized,
        '404': notFound,
        ...common,
      },
    },
  };
}

function runsPath({ json, error, common, id, unauthorized, notFound }: Shared) {
  return {
    get: {
      operationId: 'listMonitorRuns',
      summary: 'Runs of a monitor, newest first, each with its summary and what changed since the run before',
      parameters: [
        id,
        {
          name: 'limit',
          in: 'query',
          required: false,
          schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
        },
        {
          name: 'before',
          in: 'query',
          required: false,
          schema: { type: 'string' },
          description: 'Runs that started before this time (ISO 8601): the "next" of the previous page',
        },
      ],
      responses: {
        '200': { description: 'Runs', content: json('MonitorRuns') },
        '400': error('Invalid limit or before'),
        '401': unauthorized,
        '404': notFound,
        ...common,
      },
    },
  };
}

function runPath({ json, common, id, unauthorized, notFound }: Shared) {
  return {
    get: {
      operationId: 'getMonitorRun',
      summary: 'One run with its full report',
      parameters: [id, { name: 'runId', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        '200': { description: 'The run', content: json('MonitorRun') },
        '401': unauthorized,
        '404': notFound,
        ...common,
      },
    },
  };
}

function diffPath({ json, error, common, id, unauthorized }: Shared) {
  return {
    get: {
      operationId: 'diffMonitorRuns',
      summary: 'What changed between two runs',
      description:
        'Findings that appeared, disappeared or changed status, and key facts that changed. Defaults: to = the latest run, from = the run before "to".',
      parameters: [
        id,
        { name: 'from', in: 'query', required: false, schema: { type: 'string' } },
        { name: 'to', in: 'query', required: false, schema: { type: 'string' } },
      ],
      responses: {
        '200': { description: 'The diff', content: json('MonitorDiff') },
        '400': error('Invalid run id'),
        '401': unauthorized,
        '404': error('No such monitor or run'),
        ...common,
      },
    },
  };
}

function testAlertPath({ json, common, admin, id, unauthorized, notFound }: Shared) {
  return {
    post: {
      operationId: 'sendTestAlert',
      summary: 'Send a test alert to one destination (admin token)',
      security: admin,
      parameters: [id, { name: 'destinationId', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        '202': { description: 'Queued', content: json('TestAlertQueued') },
        '401': unauthorized,
        '404': notFound,
        ...common,
      },
    },
  };
}
