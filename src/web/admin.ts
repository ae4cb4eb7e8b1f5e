import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Express } from 'express';
import { adminAuth, adminSecurityHeaders } from './security.js';

export const ADMIN_PATH = '/admin/queues';

/**
 * The BullMQ dashboard (bull-board) at /admin/queues, behind MXDOCTOR_ADMIN_TOKEN. Without
 * a token it is not mounted at all (404): it can retry, remove and inspect jobs.
 */
export function mountAdmin(app: Express, queue: Queue, token: string | undefined): void {
  if (!token) return;
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(ADMIN_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queue)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'mxdoctor queue' } },
  });
  app.use(ADMIN_PATH, adminSecurityHeaders(), adminAuth(token), serverAdapter.getRouter());
}
