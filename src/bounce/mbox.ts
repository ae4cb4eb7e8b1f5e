import type { Diagnosis } from './model.js';
import { MAX_RECORDS } from './record.js';

/**
 * mbox input: several messages one after the other, each after a "From " line. Split into
 * messages, diagnosed one by one (diagnose.ts), and the diagnoses merged into one.
 */

/** At most this many messages of an mbox are diagnosed. */
export const MAX_MBOX_MESSAGES = 100;

/** mbox "From " separator lines (the envelope sender and an asctime date). */
const MBOX_SEPARATOR =
  /(?:^|\n)From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d:\d\d(?: \S+)? \d{4}[ \t]*\r?(?=\n)/g;

/** The messages of an mbox (input that starts with a "From " line and has several), or the input as one message. */
export function splitMbox(bytes: Buffer): Buffer[] {
  // Only input that starts with a separator is an mbox: anything else is one message, without
  // turning the whole of it into a string first.
  if (bytes.toString('latin1', 0, 5) !== 'From ') return [bytes];
  const text = bytes.toString('latin1');
  const starts = [...text.matchAll(MBOX_SEPARATOR)].map((m) => m.index + (m[0].startsWith('\n') ? 1 : 0));
  // Only a real mbox (starting with a separator): a "From " line inside a body is quoted text.
  if (starts.length < 2 || starts[0] !== 0) return [bytes];
  const bounds = starts;
  return bounds
    .map((start, i) => bytes.subarray(start, bounds[i + 1] ?? bytes.length))
    .filter((b) => b.toString('latin1').trim());
}

/**
 * The diagnoses of an mbox's messages as one: every bounce in order (with the index of its
 * message when there are several), the first message's original and reporter, a warning
 * that says so.
 */
export function mergeMbox(messageCount: number, results: readonly Diagnosis[]): Diagnosis {
  const first = results[0]!;
  const several = results.length > 1;
  return {
    ...first,
    bounces: results
      .flatMap((r, i) => (several ? r.bounces.map((b) => ({ ...b, messageIndex: i })) : r.bounces))
      .slice(0, MAX_RECORDS),
    ...(several ? { originals: results.map((r) => r.original) } : {}),
    warnings: [
      `The input holds ${messageCount} messages (an mbox); ${results.length} of them ${results.length === 1 ? 'is a bounce' : 'are bounces'}, and the original message and reporter shown are the first one's.`,
      ...results.flatMap((r) => r.warnings),
    ],
  };
}
