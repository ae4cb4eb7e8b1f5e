import { z } from 'zod';
import type { Report } from '../report/model.js';
import type { TlsObservation } from '../tls/model.js';

/**
 * The part of the SMTP check's output that others consume: what TLS each MX address
 * presented (`tls`) and the session summaries (`sessions`). DANE (TLSA matching), MTA-STS
 * (enforce mode needs STARTTLS with a trusted, matching certificate on every MX) and PTR read
 * only these fields, typed, through `ctx.upstream('smtp')`; monitoring, metrics and the pages
 * read them out of stored reports with the readers below. The SMTP check owns them: it may
 * add fields, never rename or remove these.
 */

/**
 * Reads the TLS observations out of the SMTP data of a stored report (`report.data.smtp`,
 * plain JSON); empty when SMTP did not run.
 */
export function tlsObservationsOf(smtpData: unknown): TlsObservation[] {
  const tls = (smtpData as { tls?: unknown } | undefined)?.tls;
  return Array.isArray(tls) ? (tls as TlsObservation[]) : [];
}

/**
 * Per-session facts others read (PTR consistency compares the banner and EHLO host names
 * with the address's PTR; consistency and monitoring compare sessions).
 */
export const SessionSummarySchema = z.object({
  host: z.string(),
  address: z.string(),
  /** The host name the 220 greeting announces (first word after the code), when it does. */
  bannerHostname: z.string().optional(),
  /** The host name in the first line of the EHLO reply, when given. */
  ehloHostname: z.string().optional(),
});
export type SessionSummary = z.infer<typeof SessionSummarySchema>;

/** Reads the session summaries out of the SMTP data of a stored report (`report.data.smtp.sessions`). */
export function sessionSummariesOf(smtpData: unknown): SessionSummary[] {
  const sessions = (smtpData as { sessions?: unknown } | undefined)?.sessions;
  return Array.isArray(sessions) ? (sessions as SessionSummary[]) : [];
}

/**
 * Whether a check that compares with the SMTP probe had its data: `ran`, `disabled`
 * (--no-smtp) or `not_run` (the probe failed or is not registered).
 */
export const SmtpAvailabilitySchema = z.enum(['ran', 'disabled', 'not_run']);
export type SmtpAvailability = z.infer<typeof SmtpAvailabilitySchema>;

export function smtpAvailability(smtpEnabled: boolean, smtpData: unknown): SmtpAvailability {
  return !smtpEnabled ? 'disabled' : smtpData === undefined ? 'not_run' : 'ran';
}

/**
 * Why a comparison with the probe could not be made, and the status to give it: switching
 * SMTP off is a choice (info); a probe that did not run or did not reach the address is
 * "could not test" (error). `missing` says what was missing when the probe did run.
 */
export function smtpNotTested(
  availability: SmtpAvailability,
  missing: string,
): { why: string; status: 'info' | 'error' } {
  if (availability === 'disabled') return { why: 'SMTP probing was switched off', status: 'info' };
  if (availability === 'not_run') return { why: 'the SMTP check did not run', status: 'error' };
  return { why: missing, status: 'error' };
}

/** Days until the earliest leaf certificate expiry among the MX addresses probed. */
export function earliestCertificateDays(report: Report, now: Date): number | undefined {
  const days = tlsObservationsOf(report.data.smtp)
    .map((o) => o.chain[0]?.notAfter)
    .filter((d): d is string => typeof d === 'string')
    .map((d) => Math.floor((Date.parse(d) - now.getTime()) / 86_400_000));
  return days.length ? Math.min(...days) : undefined;
}
