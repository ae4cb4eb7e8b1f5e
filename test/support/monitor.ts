import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerOptions } from 'smtp-server';

/**
 * Helpers for the monitoring tests: the admin token, a JSON API client, polling, a loopback
 * webhook receiver that checks signatures, and a mail relay that accepts alert email.
 */
export const ADMIN_TOKEN = 'monitor-tests-admin-token-0123456789';

export interface ApiResult<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export async function api<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
): Promise<ApiResult<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
}

/** Polls `fn` until it returns something truthy. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RunRow {
  runId: string;
  at: string;
  verdict: string;
  trigger: string;
  scheduledAt?: string;
  alerts: string[];
  changes?: { count: number; texts: string[] };
}

export interface AlertRow {
  key: string;
  rule: string;
  kind: string;
  level: string;
  title: string;
  text: string;
  runId: string;
}

/** The monitor's runs (newest first) once there are at least `count`. */
export async function waitForRuns(
  base: string,
  id: string,
  count: number,
  timeoutMs = 30_000,
): Promise<RunRow[]> {
  return waitFor(
    async () => {
      const r = await api<{ runs: RunRow[] }>(base, 'GET', `/api/v1/monitors/${id}/runs?limit=500`);
      return r.body.runs && r.body.runs.length >= count ? r.body.runs : undefined;
    },
    `${count} run(s) of monitor ${id}`,
    timeoutMs,
  );
}

/** Queues a run and waits until it is committed; returns it. */
export async function runNow(base: string, id: string, timeoutMs = 30_000): Promise<RunRow> {
  const q = await api<{ runId: string }>(base, 'POST', `/api/v1/monitors/${id}/run`);
  if (q.status !== 202) throw new Error(`run now: ${q.status} ${JSON.stringify(q.body)}`);
  return waitFor(
    async () => {
      const r = await api<{ run: RunRow }>(base, 'GET', `/api/v1/monitors/${id}/runs/${q.body.runId}`);
      return r.status === 200 ? r.body.run : undefined;
    },
    `run ${q.body.runId}`,
    timeoutMs,
  );
}

export async function alertsOf(base: string, id: string): Promise<AlertRow[]> {
  const r = await api<{ recentAlerts: AlertRow[] }>(base, 'GET', `/api/v1/monitors/${id}`);
  return r.body.recentAlerts;
}

// ---------------------------------------------------------------------------------------

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  /** Whether X-Mxdoctor-Signature is a valid HMAC of "t.body" under the secret. */
  signatureValid: boolean;
  status: number;
}

/**
 * A webhook receiver on 127.0.0.1. `respond` decides each answer (default 200); every
 * request is recorded with whether its signature verifies under `secret`.
 */
export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  port = 0;
  secret = '';
  respond: (n: number, res: ServerResponse) => number | void = () => 200;
  private server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/mxdoctor?team=mail`;
  }

  static verify(secret: string, header: string | undefined, body: string): boolean {
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
    if (!m) return false;
    const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
    return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
  }

  /** Listens on `port` (a free one by default; a fixed one to come back where it was). */
  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = this.respond(this.received.length, res) ?? 200;
        this.received.push({
          headers: req.headers,
          body,
          json: body ? (JSON.parse(body) as Record<string, unknown>) : {},
          signatureValid: WebhookReceiver.verify(
            this.secret,
            req.headers['x-mxdoctor-signature'] as string,
            body,
          ),
          status,
        });
        if (!res.headersSent)
          res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'try again');
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

// ---------------------------------------------------------------------------------------

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** A mail relay on 127.0.0.1 that accepts and keeps alert email (STARTTLS with `tls`). */
export async function startMailRelay(tls?: { key: string; cert: string }): Promise<{
  url: string;
  mails: ReceivedMail[];
  stop(): Promise<void>;
}> {
  const mails: ReceivedMail[] = [];
  const options: SMTPServerOptions = {
    authOptional: true,
    disabledCommands: ['AUTH'],
    ...(tls ? { key: tls.key, cert: tls.cert } : { hideSTARTTLS: true }),
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  };
  const server = new SMTPServer(options);
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
