import { decodeText, header, headers } from './mime.js';
import type { MessageView } from './mime.js';
import type { BounceRecord, Original } from './model.js';
import { addressesIn } from './ndr.js';
import { parseHeaderBlock } from './original.js';
import { buildRecord, recordFacts } from './record.js';
import { squash } from './reply.js';

/**
 * Feedback reports: ARF (RFC 5965) complaints, and Microsoft's JMRP reports without the ARF
 * part. Not bounces: one "feedback" record per complaining recipient.
 */

export function feedbackRecords(
  view: MessageView,
  original: Original,
  contentType: string,
  subject: string | null,
): BounceRecord[] | null {
  const isArf = view.feedbackReports.length > 0 || /report-type=["']?feedback-report/i.test(contentType);
  const returnedHeaders = view.returned.length ? parseHeaderBlock(decodeText(view.returned[0]!)) : [];
  const jmrp = header(returnedHeaders, 'x-hmxmroriginalrecipient');
  const complaintSubject = subject !== null && /^\s*complaint about message from/i.test(subject);
  if (!isArf && !jmrp && !complaintSubject) return null;
  const fields = view.feedbackReports.length ? parseHeaderBlock(view.feedbackReports[0]!) : [];
  const type = header(fields, 'feedback-type') ?? 'abuse';
  const rcpts = headers(fields, 'original-rcpt-to').flatMap((v) => addressesIn(v));
  if (rcpts.length === 0 && jmrp) rcpts.push(...addressesIn(jmrp));
  if (rcpts.length === 0) rcpts.push(...original.to);
  const sourceIp = header(fields, 'source-ip');
  if (sourceIp && !original.sendingIp) original.sendingIp = sourceIp.trim();
  const mailFrom = header(fields, 'original-mail-from');
  if (mailFrom && !original.sender) original.sender = addressesIn(mailFrom)[0] ?? null;
  const agent = header(fields, 'user-agent');
  const diagnostic = squash(
    `Feedback-Type: ${type}${agent ? `; User-Agent: ${agent}` : ''}${sourceIp ? `; Source-IP: ${sourceIp}` : ''}`,
  );
  const list = rcpts.length ? [...new Set(rcpts)] : [null];
  return list.map((recipient) =>
    buildRecord(
      recordFacts(original, {
        recipient,
        diagnostic,
        forceReason: 'feedback',
        reportingMta: header(fields, 'reporting-mta'),
      }),
    ),
  );
}
