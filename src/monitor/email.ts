import type * as Nodemailer from 'nodemailer';
import type { Config } from '../config/index.js';
import { abortReason } from '../net/deadline.js';
import { describeError } from '../net/errors.js';
import { loadTrustStore } from '../tls/trust-store.js';
import { version } from '../version.js';

/**
 * Alert email through nodemailer and the operator's SMTP server (MXDOCTOR_ALERT_SMTP_URL).
 * The relay is configured by the operator (like Redis), so it is not subject to the
 * probe's address rules; its certificate is checked against mxdoctor's trust store
 * (system roots + MXDOCTOR_CA_FILE). One transport per process, with bounded timeouts.
 */
export interface EmailMessage {
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Message-ID local part, stable per delivery (a retried delivery keeps its id). */
  id: string;
}

export interface EmailResult {
  ok: boolean;
  retryable: boolean;
  detail: string;
}

type Transport = ReturnType<typeof Nodemailer.createTransport>;
const transports = new Map<string, Transport>();

// nodemailer is loaded with the first alert email: a worker that sends none does not carry it.
async function transportFor(config: Pick<Config, 'alert' | 'tls'>): Promise<Transport | undefined> {
  const url = config.alert.smtpUrl;
  if (!url) return undefined;
  let t = transports.get(url);
  if (!t) {
    const { createTransport } = await import('nodemailer');
    t = transports.get(url);
    if (t) return t;
    t = createTransport({
      url,
      tls: { ca: loadTrustStore(config).pems },
      connectionTimeout: 20_000,
      greetingTimeout: 20_000,
      socketTimeout: 30_000,
      dnsTimeout: 10_000,
    });
    transports.set(url, t);
  }
  return t;
}

/** Closes the pooled transports (service shutdown). */
export function closeMailers(): void {
  for (const t of transports.values()) t.close();
  transports.clear();
}

/**
 * Sends one alert email. nodemailer cannot cancel a message in flight, so when `signal`
 * aborts (the worker's shutdown) this rejects at once and the attempt is abandoned; the
 * connection then ends by its own timeouts, and the delivery is tried again later.
 */
export async function sendEmail(
  message: EmailMessage,
  config: Pick<Config, 'alert' | 'tls'>,
  signal?: AbortSignal,
): Promise<EmailResult> {
  if (!signal) return sendEmailNow(message, config);
  if (signal.aborted) throw abortReason(signal);
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([sendEmailNow(message, config), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function sendEmailNow(
  message: EmailMessage,
  config: Pick<Config, 'alert' | 'tls'>,
): Promise<EmailResult> {
  const transport = await transportFor(config);
  if (!transport) {
    return {
      ok: false,
      retryable: false,
      detail:
        'email alerts are not configured: set MXDOCTOR_ALERT_SMTP_URL (e.g. smtp://user:pass@mail.example.com:587)',
    };
  }
  const domain = config.alert.from.split('@')[1] ?? 'mxdoctor.invalid';
  try {
    const info = await transport.sendMail({
      from: config.alert.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      messageId: `<${message.id}@${domain}>`,
      headers: {
        'Auto-Submitted': 'auto-generated',
        'X-Mailer': `mxdoctor/${version()}`,
      },
    });
    const rejected = (info.rejected ?? []).map(String);
    if (rejected.length > 0 && rejected.length === message.to.length)
      return { ok: false, retryable: false, detail: `every recipient was refused: ${rejected.join(', ')}` };
    return {
      ok: true,
      retryable: false,
      detail: `accepted: ${String(info.response ?? '').slice(0, 200)}${rejected.length ? `; refused ${rejected.join(', ')}` : ''}`,
    };
  } catch (err) {
    const code = (err as { responseCode?: number }).responseCode;
    // 5xx is the relay's final word (unknown recipient, not allowed to relay); anything
    // else (4xx, connection, timeout, TLS) may pass later.
    const permanent = typeof code === 'number' && code >= 500 && code < 600;
    return { ok: false, retryable: !permanent, detail: describeError(err).slice(0, 500) };
  }
}
