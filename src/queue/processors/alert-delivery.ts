import { UnrecoverableError } from 'bullmq';
import type { Job } from 'bullmq';
import type { Config } from '../../config/index.js';
import { sendEmail } from '../../monitor/email.js';
import {
  htmlBody,
  signWebhook,
  slackPayload,
  subjectOf,
  textBody,
  webhookPayload,
} from '../../monitor/message.js';
import type { AlertBatch } from '../../monitor/message.js';
import type { Destination } from '../../monitor/model.js';
import { postWebhook } from '../../monitor/webhook.js';
import { DeliveryJobDataSchema, targetOf } from '../jobs/monitor.js';
import type { MonitorRuntime } from '../jobs/monitor.js';
import { parseJobData } from './shared.js';

/**
 * The `alert-delivery` job: sends one alert message (or a test) to one destination of a
 * monitor, by email or webhook. Every attempt's outcome is recorded on the monitor; a
 * delivery already sent is not sent again (its id is the dedupe key). A failure the
 * destination will not get over (a 4xx, the last attempt) fails the job for good.
 */
export async function processDelivery(
  job: Job,
  signal: AbortSignal,
  rt: Pick<MonitorRuntime, 'config' | 'store' | 'now' | 'log'>,
): Promise<unknown> {
  const data = parseJobData(DeliveryJobDataSchema, job.data);
  const deliveryId = job.id!;
  const m = await rt.store.get(data.monitorId);
  if (!m) return { skipped: 'monitor deleted' };
  const d = m.destinations.find((x) => x.id === data.destinationId);
  const attempts = job.opts.attempts ?? 1;
  const attempt = job.attemptsMade + 1;
  const base = {
    deliveryId,
    destinationId: data.destinationId,
    ...(data.runId ? { runId: data.runId } : {}),
    test: data.test,
    alerts: data.batch.alerts.length,
    title: subjectOf(data.batch),
    attempt,
    attempts,
  };
  if (!d) {
    await rt.store.recordDelivery(m.id, {
      ...base,
      type: 'webhook',
      target: '(removed)',
      status: 'skipped',
      detail: 'the destination was removed from the monitor',
      at: rt.now().toISOString(),
    });
    return { skipped: 'destination removed' };
  }
  if (await rt.store.wasSent(deliveryId)) return { skipped: 'already sent' };

  const outcome = await send(d, data.batch, deliveryId, signal, rt.config);
  const record = { ...base, type: d.type, target: targetOf(d), at: rt.now().toISOString() } as const;
  if (outcome.ok) {
    await rt.store.markSent(deliveryId);
    await rt.store.recordDelivery(m.id, { ...record, status: 'sent', detail: outcome.detail });
    rt.log.info({ monitorId: m.id, deliveryId, destination: d.id, type: d.type }, 'alert delivered');
    return { sent: true };
  }
  const final = !outcome.retryable || attempt >= attempts;
  await rt.store.recordDelivery(m.id, {
    ...record,
    status: final ? 'failed' : 'retrying',
    detail: outcome.detail,
  });
  rt.log.warn(
    { monitorId: m.id, deliveryId, destination: d.id, attempt, attempts, detail: outcome.detail },
    final ? 'alert delivery failed for good' : 'alert delivery failed; it will be retried',
  );
  if (final) throw new UnrecoverableError(outcome.detail);
  throw new Error(outcome.detail);
}

interface SendOutcome {
  ok: boolean;
  retryable: boolean;
  detail: string;
}

/** One attempt to hand the message to the destination. */
async function send(
  d: Destination,
  batch: AlertBatch,
  deliveryId: string,
  signal: AbortSignal,
  config: Config,
): Promise<SendOutcome> {
  if (d.type === 'email') {
    return sendEmail(
      { to: d.to, subject: subjectOf(batch), text: textBody(batch), html: htmlBody(batch), id: deliveryId },
      config,
    );
  }
  const payload = d.format === 'slack' ? slackPayload(batch) : webhookPayload(batch, deliveryId);
  const body = JSON.stringify(payload);
  const ts = Math.floor(Date.now() / 1000);
  const r = await postWebhook(
    {
      url: d.url,
      body,
      headers: {
        'X-Mxdoctor-Signature': signWebhook(d.secret, ts, body),
        'X-Mxdoctor-Event': batch.test ? 'test' : 'alert',
        'X-Mxdoctor-Delivery': deliveryId,
      },
      signal,
    },
    config,
  );
  return {
    ok: r.ok,
    retryable: r.retryable,
    detail: `${r.detail}${r.body && !r.ok ? `: ${r.body.slice(0, 200)}` : ''}`,
  };
}
