import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineFindings } from '../checks/findings.js';
import { FetchTimingSchema } from '../net/fetch-timing.js';
import { httpsGet } from '../net/https-get.js';
import type { HttpsGetOptions, HttpsGetResult } from '../net/https-get.js';
import type { Finding } from '../report/model.js';
import { checkEvidence } from './evidence.js';
import type { EvidenceCheck } from './evidence.js';
import { BIMI_SVG_MAX_BYTES, checkSvgTinyPs } from './svg.js';

/**
 * The BIMI logo (l=) and evidence document (a=): fetched under the MTA-STS policy rules
 * (net/https-get.ts), then judged — the SVG against SVG Tiny PS, the mark certificate against
 * the configured mark-issuer trust store, its dates and names, and its embedded logo against
 * the published one.
 */
export const BIMI_ASSET_FINDINGS = defineFindings('bimi', {
  'bimi.logo': {
    title: 'BIMI logo',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'The l= SVG, fetched over HTTPS without redirects: SVG Tiny PS (baseProfile="tiny-ps", version 1.2, a <title>, no scripts, animation or external references, square view box) within 32 KiB (pass); larger than 32 KiB or not served as image/svg+xml (warn); not fetchable (HTTP error, redirect, bad certificate, too large) or not SVG Tiny PS, so mailbox providers show no logo (fail); the fetch timed out or DNS failed (error).',
  },
  'bimi.evidence': {
    title: 'BIMI mark certificate',
    statuses: ['pass', 'warn', 'fail', 'info', 'error'],
    meaning:
      'The a= VMC/CMC: it chains to a configured mark-certificate issuer, is within its validity dates, names the BIMI domain, carries the BIMI extended key usage, and embeds the published logo (pass); it expires within 21 days (warn); it fails any of those checks or cannot be fetched (fail); no a= document, or no mark-issuer trust store is configured so the chain could not be checked (info); the fetch timed out or DNS failed (error).',
  },
});

/** Logos and evidence documents larger than this are not read. */
export const BIMI_FETCH_MAX_BYTES = 256 * 1024;

const FetchSchema = z.object({
  url: z.string(),
  outcome: z.string(),
  error: z.string().optional(),
  status: z.number().int().optional(),
  contentType: z.string().optional(),
  bytes: z.number().int().optional(),
  sha256: z.string().optional(),
  ms: z.number(),
  timing: FetchTimingSchema.optional(),
});

export const BimiAssetsSchema = z.object({
  logo: FetchSchema.extend({
    svg: z
      .object({
        problems: z.array(z.string()),
        viewBox: z.object({ width: z.number(), height: z.number() }).optional(),
        hasTitle: z.boolean(),
        elements: z.number().int(),
      })
      .optional(),
  }).optional(),
  evidence: FetchSchema.extend({
    check: z
      .object({
        certificates: z.number().int(),
        leaf: z
          .object({
            subject: z.string(),
            issuer: z.string(),
            notBefore: z.string(),
            notAfter: z.string(),
            sans: z.array(z.string()),
          })
          .optional(),
        markEku: z.boolean(),
        trust: z.object({
          checked: z.boolean(),
          trusted: z.boolean().optional(),
          error: z.string().optional(),
          anchor: z.string().optional(),
        }),
        validity: z.string().optional(),
        daysLeft: z.number().int().optional(),
        domainListed: z.boolean(),
        logo: z.object({
          embedded: z.boolean(),
          matches: z.boolean().optional(),
          note: z.string().optional(),
          sha256: z.string().optional(),
        }),
        problems: z.array(z.string()),
      })
      .optional(),
  }).optional(),
});
export type BimiAssets = z.infer<typeof BimiAssetsSchema>;

function fetchData(r: HttpsGetResult): z.infer<typeof FetchSchema> {
  const out: z.infer<typeof FetchSchema> = { url: r.url, outcome: r.outcome, ms: r.ms, timing: r.timing };
  if (r.error) out.error = r.error;
  if (r.status !== undefined) out.status = r.status;
  if (r.contentType) out.contentType = r.contentType;
  if (r.bytes !== undefined) out.bytes = r.bytes;
  if (r.body) out.sha256 = createHash('sha256').update(r.body).digest('hex');
  return out;
}

export interface BimiAssetOptions {
  domain: string;
  logoUrl?: string;
  evidenceUrl?: string;
  /** Everything httpsGet needs except the URL and the limits set here. */
  fetch: Pick<HttpsGetOptions, 'resolve' | 'trust' | 'allowPrivate' | 'timeoutMs' | 'userAgent' | 'signal'>;
  /** PEM trust anchors for mark certificates (VMC/CMC issuers); empty: not configured. */
  markTrust: readonly string[];
  now: Date;
}

/** Fetches and checks the logo and the evidence document. Rejects only when the signal aborts. */
export async function checkBimiAssets(o: BimiAssetOptions): Promise<BimiAssets> {
  const out: BimiAssets = {};
  let svg: Buffer | undefined;
  if (o.logoUrl) {
    const r = await httpsGet({
      ...o.fetch,
      url: o.logoUrl,
      maxBytes: BIMI_FETCH_MAX_BYTES,
      accept: 'image/svg+xml',
    });
    out.logo = fetchData(r);
    if (r.outcome === 'ok' && r.body) {
      svg = r.body;
      const c = checkSvgTinyPs(r.body);
      out.logo.svg = {
        problems: c.problems,
        hasTitle: c.hasTitle,
        elements: c.elements,
        ...(c.viewBox ? { viewBox: c.viewBox } : {}),
      };
    }
  }
  if (o.evidenceUrl) {
    const r = await httpsGet({
      ...o.fetch,
      url: o.evidenceUrl,
      maxBytes: BIMI_FETCH_MAX_BYTES,
      accept: 'application/pem-certificate-chain, application/x-pem-file, */*',
    });
    out.evidence = fetchData(r);
    if (r.outcome === 'ok' && r.body)
      out.evidence.check = checkEvidence(
        r.body.toString('latin1'),
        o.domain,
        svg,
        o.markTrust,
        o.now,
      ) as EvidenceCheck;
  }
  return out;
}

const TRANSIENT = new Set(['timeout', 'dns_error', 'forbidden_address']);

export function evaluateBimiAssets(assets: BimiAssets, domain: string): Finding[] {
  const F = BIMI_ASSET_FINDINGS;
  const subject = { name: `default._bimi.${domain}` };
  const findings: Finding[] = [];
  const logo = assets.logo;
  if (logo) {
    if (logo.outcome !== 'ok')
      findings.push(
        F.make('bimi.logo', TRANSIENT.has(logo.outcome) ? 'error' : 'fail', {
          summary: `The BIMI logo ${logo.url} could not be fetched: ${logo.error ?? logo.outcome}.${TRANSIENT.has(logo.outcome) ? '' : ' Mailbox providers show no logo.'}`,
          remedy:
            'Serve the SVG over HTTPS at that URL with status 200, a valid certificate and no redirect.',
          subject,
          details: { ...logo },
        }),
      );
    else if (logo.svg?.problems.length)
      findings.push(
        F.make('bimi.logo', 'fail', {
          summary: `The BIMI logo ${logo.url} is not SVG Tiny PS: ${logo.svg.problems.join('; ')}. Mailbox providers refuse to show it.`,
          remedy:
            'Export the logo as SVG Tiny PS (e.g. with the BIMI group\'s converter): <svg version="1.2" baseProfile="tiny-ps" viewBox="0 0 N N"> with a <title>, no scripts, no links, no raster images.',
          subject,
          details: { ...logo },
        }),
      );
    else {
      const warnings = [
        ...((logo.bytes ?? 0) > BIMI_SVG_MAX_BYTES
          ? [`it is ${logo.bytes} bytes; BIMI asks for at most 32 KiB`]
          : []),
        ...(!/^image\/svg\+xml\s*(;|$)/i.test(logo.contentType ?? '')
          ? [`it is served as "${logo.contentType ?? 'no Content-Type'}" instead of image/svg+xml`]
          : []),
      ];
      findings.push(
        warnings.length
          ? F.make('bimi.logo', 'warn', {
              summary: `The BIMI logo ${logo.url} is SVG Tiny PS, but ${warnings.join(' and ')}.`,
              remedy: 'Shrink the SVG (remove metadata, simplify paths) and serve it as image/svg+xml.',
              subject,
              details: { ...logo },
            })
          : F.make('bimi.logo', 'pass', {
              summary: `The BIMI logo ${logo.url} is SVG Tiny PS (${logo.bytes} bytes, square ${logo.svg?.viewBox?.width ?? '?'}-unit view box, with a title).`,
              subject,
              details: { ...logo },
            }),
      );
    }
  }
  const ev = assets.evidence;
  if (!ev) {
    if (logo)
      findings.push(
        F.make('bimi.evidence', 'info', {
          summary: `default._bimi.${domain} names no evidence document (a=), so there is no mark certificate to check.`,
          subject,
        }),
      );
    return findings;
  }
  if (ev.outcome !== 'ok' || !ev.check) {
    findings.push(
      F.make('bimi.evidence', TRANSIENT.has(ev.outcome) ? 'error' : 'fail', {
        summary: `The BIMI evidence document ${ev.url} could not be fetched: ${ev.error ?? ev.outcome}.`,
        remedy: 'Serve the VMC/CMC PEM chain over HTTPS at that URL with status 200 and no redirect.',
        subject,
        details: { ...ev },
      }),
    );
    return findings;
  }
  const c = ev.check;
  const details = { ...ev };
  if (c.problems.length)
    findings.push(
      F.make('bimi.evidence', 'fail', {
        summary: `The mark certificate at ${ev.url} is not usable for ${domain}: ${c.problems.join('; ')}.`,
        remedy:
          'Publish the complete VMC/CMC chain your mark-certificate issuer delivered for this domain, and use the very SVG it embeds as the l= logo.',
        subject,
        details,
      }),
    );
  else if (!c.trust.checked)
    findings.push(
      F.make('bimi.evidence', 'info', {
        summary: `The mark certificate at ${ev.url} names ${domain}, is valid until ${c.leaf?.notAfter.slice(0, 10)} and embeds the published logo; whether it chains to a mark-certificate issuer was not checked: no mark-issuer trust store is configured.`,
        subject,
        details,
      }),
    );
  else if (c.validity === 'expires_soon' || c.validity === 'expires_very_soon')
    findings.push(
      F.make('bimi.evidence', 'warn', {
        summary: `The mark certificate at ${ev.url} expires in ${c.daysLeft} days.`,
        remedy: 'Renew it with your mark-certificate issuer and publish the new chain.',
        subject,
        details,
      }),
    );
  else
    findings.push(
      F.make('bimi.evidence', 'pass', {
        summary: `The mark certificate at ${ev.url} chains to ${c.trust.anchor}, is valid until ${c.leaf?.notAfter.slice(0, 10)}, names ${domain} and embeds the published logo${c.logo.note ? ` (${c.logo.note})` : ''}.`,
        subject,
        details,
      }),
    );
  return findings;
}
