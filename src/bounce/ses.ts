import { typedValue } from './dsn.js';
import type { BounceRecord, Kind, Original } from './model.js';
import { addressesIn } from './ndr.js';
import { buildRecord, recordFacts } from './record.js';
import { squash } from './reply.js';

/**
 * Amazon SES notifications (JSON, documented in the SES Developer Guide: "Contents of
 * notifications for Amazon SES"), delivered by e-mail through SNS or pasted directly: bounces,
 * complaints, deliveries and delays.
 */

interface SesResult {
  kind: Kind;
  records: (original: Original) => BounceRecord[];
}

export function sesNotification(text: string): SesResult | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start || end - start > 1_000_000) return null;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text.slice(start, end + 1).replace(/!\r?\n\s?/g, '')) as Record<string, unknown>;
  } catch {
    return null;
  }
  const type = String(json.notificationType ?? json.eventType ?? '');
  if (!['Bounce', 'Complaint', 'Delivery', 'DeliveryDelay'].includes(type)) return null;
  const mail = (json.mail ?? {}) as {
    source?: string;
    commonHeaders?: { subject?: string; from?: string[]; to?: string[]; messageId?: string; date?: string };
  };
  const fill = (original: Original): void => {
    original.sender ??= mail.source ?? null;
    original.from ??= addressesIn((mail.commonHeaders?.from ?? []).join(' '))[0] ?? null;
    if (original.to.length === 0) original.to = addressesIn((mail.commonHeaders?.to ?? []).join(' '));
    original.subject ??= mail.commonHeaders?.subject ?? null;
    original.messageId ??= mail.commonHeaders?.messageId ?? null;
  };
  if (type === 'Complaint') {
    const c = (json.complaint ?? {}) as {
      complainedRecipients?: { emailAddress?: string }[];
      complaintFeedbackType?: string;
      userAgent?: string;
    };
    return {
      kind: 'feedback',
      records: (original) => {
        fill(original);
        return (c.complainedRecipients ?? []).map((r) =>
          buildRecord(
            recordFacts(original, {
              recipient: r.emailAddress ?? null,
              diagnostic: squash(
                `Amazon SES complaint${c.complaintFeedbackType ? `: ${c.complaintFeedbackType}` : ''}${c.userAgent ? ` (${c.userAgent})` : ''}`,
              ),
              forceReason: 'feedback',
            }),
          ),
        );
      },
    };
  }
  if (type === 'Delivery' || type === 'DeliveryDelay') {
    const d = (json.delivery ?? json.deliveryDelay ?? {}) as {
      recipients?: string[];
      delayedRecipients?: { emailAddress?: string; status?: string; diagnosticCode?: string }[];
      smtpResponse?: string;
      reportingMTA?: string;
    };
    const rcpts = d.recipients ?? (d.delayedRecipients ?? []).map((r) => r.emailAddress ?? '');
    return {
      kind: 'dsn',
      records: (original) => {
        fill(original);
        return rcpts.map((recipient) =>
          buildRecord(
            recordFacts(original, {
              recipient,
              action: type === 'Delivery' ? 'delivered' : 'delayed',
              diagnostic: squash(d.smtpResponse ?? (type === 'Delivery' ? 'Delivered' : 'Delivery delayed')),
              reportingMta: d.reportingMTA ?? null,
            }),
          ),
        );
      },
    };
  }
  const b = (json.bounce ?? {}) as {
    bounceType?: string;
    bounceSubType?: string;
    reportingMTA?: string;
    remoteMtaIp?: string;
    bouncedRecipients?: {
      emailAddress?: string;
      action?: string;
      status?: string;
      diagnosticCode?: string;
    }[];
  };
  return {
    kind: 'ndr',
    records: (original) => {
      fill(original);
      return (b.bouncedRecipients ?? []).map((r) => {
        const diag = r.diagnosticCode ? typedValue(r.diagnosticCode).value : '';
        const sub = b.bounceSubType ?? '';
        return buildRecord(
          recordFacts(original, {
            recipient: r.emailAddress ?? null,
            action: r.action ?? (b.bounceType === 'Transient' ? 'failed' : 'failed'),
            dsnStatus: r.status ?? null,
            diagnostic: squash(diag || `Amazon SES ${b.bounceType ?? ''} bounce ${sub}`.trim()),
            context: squash(
              `Amazon SES bounceType ${b.bounceType ?? ''} bounceSubType ${sub}${/suppress/i.test(sub) ? ' suppression list' : ''}`,
            ),
            reportingMta: b.reportingMTA ? typedValue(b.reportingMTA).value : null,
            remoteMta: b.remoteMtaIp ?? null,
          }),
        );
      });
    },
  };
}
