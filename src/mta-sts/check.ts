import { z } from 'zod';
import { fetchMtaStsPolicy, PolicyFetchSchema } from './fetch.js';
import type { PolicyFetch } from './fetch.js';
import { mxMatchesPattern, parseStsPolicy, parseStsTxt } from './record.js';
import type { StsPolicy } from './record.js';
import { smtpAvailability, SmtpAvailabilitySchema, smtpNotTested } from '../smtp/contract.js';
import type { TlsObservation } from '../tls/model.js';
import type { Finding, MxHost, MxSet } from '../report/model.js';
import { defineFindings } from '../checks/findings.js';
import { defineCheck } from '../checks/descriptors.js';

/**
 * MTA-STS (RFC 8461): the _mta-sts TXT record, the HTTPS policy, whether every MX matches
 * it, and — in enforce mode — whether every MX offers STARTTLS with a certificate that
 * senders will accept (from the SMTP probe's TLS observations).
 */
const F = defineFindings('mta_sts', {
  'mta_sts.record': {
    title: 'MTA-STS record',
    statuses: ['pass', 'info', 'fail', 'error'],
    meaning:
      'A valid "v=STSv1; id=…" TXT record at _mta-sts.<domain> (pass); none (info: MTA-STS not deployed); several or invalid ones, so senders apply no policy (fail); lookup failed (error).',
  },
  'mta_sts.policy': {
    title: 'MTA-STS policy',
    statuses: ['pass', 'info', 'warn', 'fail', 'error'],
    meaning:
      'The policy at https://mta-sts.<domain>/.well-known/mta-sts.txt is served correctly (certificate valid for the name, no redirect, 200, text/plain, ≤ 64 KiB) and parses, in enforce mode (pass); testing or none mode (info); a short max_age or oddities such as unknown keys (warn); anything that makes senders ignore the policy (fail); the host could not be reached within the deadline, or connecting to it is not allowed (error).',
  },
  'mta_sts.mx_match': {
    title: 'MX hosts match the MTA-STS policy',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'Every MX host matches an "mx:" pattern of the policy (pass). An MX that matches none is one that senders honouring an enforce policy will not deliver to (fail; warn in testing mode).',
  },
  'mta_sts.tls': {
    title: 'MX TLS under MTA-STS',
    statuses: ['pass', 'info', 'warn', 'fail', 'error'],
    meaning:
      'In enforce mode every MX address offers STARTTLS with a certificate that is trusted and valid for the MX name (pass); one that does not will not receive mail from senders honouring MTA-STS (fail; warn in testing mode). Not tested when SMTP was switched off (info) or gave no TLS data (error).',
  },
});

export const MtaStsDataSchema = z.object({
  records: z.array(z.string()).describe('TXT records at _mta-sts.<domain> starting v=STSv1'),
  rcode: z.string(),
  id: z.string().optional(),
  fetch: PolicyFetchSchema.optional(),
  policy: z
    .object({
      mode: z.enum(['enforce', 'testing', 'none']),
      mx: z.array(z.string()),
      maxAge: z.number().int(),
      lineEndings: z.enum(['crlf', 'lf', 'mixed', 'none']),
      warnings: z.array(z.string()),
    })
    .optional(),
  policyError: z.string().optional(),
  smtp: SmtpAvailabilitySchema,
});
export type MtaStsData = z.infer<typeof MtaStsDataSchema>;

const FETCH_FAIL_REMEDY: Record<string, string> = {
  certificate:
    'Serve mta-sts.<domain> with a certificate from a public CA that covers exactly that name (e.g. a Let’s Encrypt certificate for mta-sts.<domain>).',
  redirect:
    'Serve the policy directly at https://mta-sts.<domain>/.well-known/mta-sts.txt; do not redirect (not even to www or another path).',
  status: 'Publish the policy file at /.well-known/mta-sts.txt on the mta-sts.<domain> web server.',
  content_type:
    'Serve the file as "Content-Type: text/plain" (e.g. nginx: "default_type text/plain;" in that location).',
  too_large: 'The policy needs only a few lines: version, mode, mx, max_age. Serve just those.',
  no_address:
    'Publish an A/AAAA record for mta-sts.<domain> pointing at the web server that serves the policy.',
  tls_error: 'Enable HTTPS (TLS 1.2 or newer) on mta-sts.<domain>.',
  connect_error: 'Make port 443 of mta-sts.<domain> reachable from the Internet.',
  http_error: 'Make the web server answer plain HTTP/1.1 GET requests for /.well-known/mta-sts.txt.',
};

function examplePolicy(domain: string, mx: MxSet | undefined, mode = 'enforce'): string {
  const hosts = (mx?.hosts ?? []).map((h) => h.name);
  const lines = [
    'version: STSv1',
    `mode: ${mode}`,
    ...(hosts.length ? hosts : [`mail.${domain}`]).map((h) => `mx: ${h}`),
    'max_age: 604800',
  ];
  return lines.join('\\r\\n');
}

/** Findings. Pure. */
export function evaluateMtaSts(
  domain: string,
  data: MtaStsData,
  mx: MxSet | undefined,
  observations: TlsObservation[],
): Finding[] {
  const record = recordFinding(domain, data, mx);
  if (record.status !== 'pass' || !data.fetch) return [record];
  const findings = [record, policyFinding(domain, data, data.fetch, mx)];
  if (data.fetch.outcome !== 'ok' || data.policyError !== undefined || !data.policy) return findings;
  const policy: StsPolicy = { version: 'STSv1', ...data.policy };
  if (policy.mode === 'none') return findings;
  const hosts = mx?.hosts ?? [];
  findings.push(...mxMatchFindings(domain, policy, hosts));
  findings.push(...tlsFindings(data, policy, hosts, observations));
  return findings;
}

/** mta_sts.record: the _mta-sts TXT record; anything but pass ends the evaluation. */
function recordFinding(domain: string, data: MtaStsData, mx: MxSet | undefined): Finding {
  const txtName = `_mta-sts.${domain}`;
  if (data.rcode !== 'NOERROR' && data.rcode !== 'NXDOMAIN') {
    return F.make('mta_sts.record', 'error', {
      summary: `Could not look up ${txtName} (${data.rcode}).`,
      subject: { name: txtName },
    });
  }
  if (data.records.length === 0) {
    return F.make('mta_sts.record', 'info', {
      summary: `${domain} does not publish MTA-STS (no "v=STSv1" TXT record at ${txtName}): senders deliver over TLS opportunistically, so an attacker on the path can strip TLS.`,
      remedy: `To require TLS: serve a policy at https://mta-sts.${domain}/.well-known/mta-sts.txt ("${examplePolicy(domain, mx, 'testing')}") and publish "${txtName}. IN TXT \\"v=STSv1; id=20250101\\"". Start in testing mode with TLS-RPT.`,
      subject: { name: txtName },
    });
  }
  if (data.records.length > 1) {
    return F.make('mta_sts.record', 'fail', {
      summary: `${txtName} has ${data.records.length} "v=STSv1" records; RFC 8461 §3.1 makes senders treat this as no MTA-STS.`,
      remedy: `Keep one: "${data.records[0]}".`,
      subject: { name: txtName },
      details: { records: data.records },
    });
  }
  const txt = parseStsTxt(data.records[0]!);
  if (!txt.ok) {
    return F.make('mta_sts.record', 'fail', {
      summary: `The MTA-STS record "${data.records[0]}" at ${txtName} is invalid: ${txt.error}. Senders ignore the policy.`,
      remedy: `Publish "${txtName}. IN TXT \\"v=STSv1; id=20250101\\"" (change id whenever the policy changes).`,
      subject: { name: txtName },
    });
  }
  return F.make('mta_sts.record', 'pass', {
    summary: `${txtName}: "${data.records[0]}".`,
    subject: { name: txtName },
  });
}

/** mta_sts.policy: the policy file fetched over HTTPS, and what it says. */
function policyFinding(domain: string, data: MtaStsData, fetch: PolicyFetch, mx: MxSet | undefined): Finding {
  const txtName = `_mta-sts.${domain}`;
  const url = fetch.url;
  if (fetch.outcome === 'timeout' || fetch.outcome === 'dns_error' || fetch.outcome === 'forbidden_address') {
    return F.make('mta_sts.policy', 'error', {
      summary: `Could not fetch ${url}: ${fetch.error}.`,
      subject: { name: fetch.host },
      details: { outcome: fetch.outcome },
    });
  }
  if (fetch.outcome !== 'ok') {
    const remedy = (FETCH_FAIL_REMEDY[fetch.outcome] ?? 'Serve the policy file correctly.').replace(
      /<domain>/g,
      domain,
    );
    return F.make('mta_sts.policy', 'fail', {
      summary: `The MTA-STS policy ${url} cannot be used: ${fetch.error}${fetch.certificate && fetch.outcome === 'certificate' ? ` (certificate: ${fetch.certificate.subject}, names ${fetch.certificate.sans.join(', ') || 'none'}, expires ${fetch.certificate.notAfter})` : ''}. Senders treat the domain as having no MTA-STS policy.`,
      remedy,
      subject: { name: fetch.host },
      details: {
        outcome: fetch.outcome,
        status: fetch.status ?? null,
        contentType: fetch.contentType ?? null,
      },
    });
  }
  if (data.policyError !== undefined || !data.policy) {
    return F.make('mta_sts.policy', 'fail', {
      summary: `The MTA-STS policy at ${url} is invalid: ${data.policyError}. Senders ignore it.`,
      remedy: `Serve exactly these lines (CRLF line endings): "${examplePolicy(domain, mx)}".`,
      subject: { name: fetch.host },
    });
  }
  const policy: StsPolicy = { version: 'STSv1', ...data.policy };
  const notes: string[] = [...policy.warnings];
  if (policy.lineEndings === 'mixed') notes.push('line endings are a mix of CRLF and LF');
  if (policy.mode !== 'none' && policy.maxAge < 86_400) {
    notes.push(
      `max_age ${policy.maxAge} s is under a day; senders re-fetch constantly and an attacker who blocks the fetch defeats the policy (RFC 8461 suggests weeks)`,
    );
  }
  const summary = `${url}: mode ${policy.mode}, mx ${policy.mx.join(', ') || '(none)'}, max_age ${policy.maxAge} s (${Math.round(policy.maxAge / 86400)} days)${policy.lineEndings === 'lf' ? '; lines end in LF (RFC 8461 specifies CRLF; senders accept LF)' : ''}.`;
  if (notes.length > 0) {
    return F.make('mta_sts.policy', 'warn', {
      summary: `${summary} But: ${notes.join('; ')}.`,
      remedy: `Serve: "${examplePolicy(domain, mx, policy.mode)}".`,
      subject: { name: fetch.host },
      details: { mode: policy.mode, maxAge: policy.maxAge },
    });
  }
  return F.make('mta_sts.policy', policy.mode === 'enforce' ? 'pass' : 'info', {
    summary:
      policy.mode === 'enforce'
        ? summary
        : `${summary} ${policy.mode === 'testing' ? 'Testing mode: senders report TLS failures (TLS-RPT) but still deliver without TLS.' : 'Mode none: the policy is being withdrawn.'}`,
    ...(policy.mode === 'testing'
      ? {
          remedy: `Once TLS-RPT reports show no failures, switch to "mode: enforce" and change the id= in ${txtName}.`,
        }
      : {}),
    subject: { name: fetch.host },
    details: { mode: policy.mode, maxAge: policy.maxAge },
  });
}

/** mta_sts.mx_match: every MX host must match an "mx:" pattern of the policy. */
function mxMatchFindings(domain: string, policy: StsPolicy, hosts: MxHost[]): Finding[] {
  const findings: Finding[] = [];
  const txtName = `_mta-sts.${domain}`;
  // Every MX must match a pattern.
  const unmatched = hosts.filter((h) => !policy.mx.some((p) => mxMatchesPattern(h.name, p)));
  const level = policy.mode === 'enforce' ? 'fail' : 'warn';
  if (unmatched.length > 0) {
    for (const h of unmatched) {
      findings.push(
        F.make('mta_sts.mx_match', level, {
          summary: `The MX host ${h.name} matches no "mx:" pattern of the MTA-STS policy (${policy.mx.join(', ')}). ${policy.mode === 'enforce' ? 'Senders that honour MTA-STS will not deliver to it.' : 'In enforce mode, senders would not deliver to it.'}`,
          remedy: `Add "mx: ${h.name}" (or a "*.${h.name.split('.').slice(1).join('.')}" pattern) to the policy and change the id= in ${txtName}.`,
          subject: { host: h.name },
        }),
      );
    }
  } else if (hosts.length > 0) {
    findings.push(
      F.make('mta_sts.mx_match', 'pass', {
        summary: `Every MX host matches the policy: ${hosts.map((h) => h.name).join(', ')}.`,
      }),
    );
  }

  return findings;
}

/** mta_sts.tls: STARTTLS with a trusted, matching certificate on every MX address, from the SMTP probe. */
function tlsFindings(
  data: MtaStsData,
  policy: StsPolicy,
  hosts: MxHost[],
  observations: TlsObservation[],
): Finding[] {
  const findings: Finding[] = [];
  const level = policy.mode === 'enforce' ? 'fail' : 'warn';
  // TLS on every MX, from the SMTP probe.
  for (const h of hosts) {
    for (const a of h.addresses) {
      const subject = { host: h.name, address: a.address };
      const obs = observations.find((o) => o.host === h.name && o.address === a.address);
      if (!obs) {
        const { why, status } = smtpNotTested(data.smtp, `the SMTP probe has no TLS data for ${a.address}`);
        findings.push(
          F.make('mta_sts.tls', status, {
            summary: `Not tested: whether ${h.name} [${a.address}] offers STARTTLS with a valid certificate, as the ${policy.mode} policy requires, because ${why}.`,
            subject,
            details: { reason: why },
          }),
        );
        continue;
      }
      const problem =
        obs.starttls === 'not_offered'
          ? 'does not offer STARTTLS'
          : obs.starttls === 'unknown'
            ? `could not be tested for STARTTLS${obs.error ? ` (${obs.error})` : ''}`
            : obs.handshake !== 'ok'
              ? `fails the TLS handshake${obs.error ? ` (${obs.error})` : ''}`
              : obs.trusted === false
                ? `presents a certificate that is not trusted${obs.trustError ? ` (${obs.trustError})` : ''}`
                : obs.hostnameMatches === false
                  ? `presents a certificate not valid for ${h.name} (names: ${obs.chain[0]?.sans.join(', ') || 'none'})`
                  : undefined;
      if (problem === undefined) {
        findings.push(
          F.make('mta_sts.tls', 'pass', {
            summary: `${h.name} [${a.address}] offers STARTTLS with a trusted certificate valid for its name.`,
            subject,
          }),
        );
      } else if (obs.starttls === 'unknown') {
        findings.push(
          F.make('mta_sts.tls', 'error', { summary: `${h.name} [${a.address}] ${problem}.`, subject }),
        );
      } else {
        findings.push(
          F.make('mta_sts.tls', level, {
            summary: `${h.name} [${a.address}] ${problem}. ${policy.mode === 'enforce' ? 'Senders that honour the enforce policy will not deliver to it.' : 'Under an enforce policy, senders would not deliver to it.'}`,
            remedy: `Enable STARTTLS on ${h.name} with a certificate from a public CA covering "${h.name}", including the intermediate certificates.`,
            subject,
          }),
        );
      }
    }
  }
  return findings;
}

declare module '../checks/types.js' {
  interface CheckData {
    mta_sts: MtaStsData;
  }
}

export const mtaStsCheck = defineCheck('mta_sts', {
  findings: F.specs,
  dataSchema: MtaStsDataSchema,
  // The TXT lookup and the policy fetch need only the domain: they overlap the SMTP probe,
  // whose TLS observations are joined only to evaluate.
  async gather(ctx) {
    const domain = ctx.domain.ascii;
    const txt = await ctx.dns.query(`_mta-sts.${domain}`, 'TXT', { signal: ctx.signal });
    const records = txt.records.map((r) => r.text).filter((t) => /^v\s*=\s*STSv1\s*(;|$)/i.test(t));
    const data: Omit<MtaStsData, 'smtp'> = { records, rcode: txt.rcode };
    if (records.length === 1) {
      const parsed = parseStsTxt(records[0]!);
      if (parsed.ok) {
        data.id = parsed.value.id;
        ctx.progress(`fetching https://mta-sts.${domain}/.well-known/mta-sts.txt`, 0.3);
        const fetched: PolicyFetch = await fetchMtaStsPolicy(ctx.dns, domain, ctx.config, ctx.signal);
        data.fetch = fetched;
        if (fetched.outcome === 'ok' && fetched.body !== undefined) {
          const policy = parseStsPolicy(fetched.body);
          if (policy.ok) {
            const { version: _v, ...rest } = policy.value;
            data.policy = rest;
          } else data.policyError = policy.error;
        }
        if (fetched.body !== undefined && fetched.body.length > 4096)
          data.fetch = { ...fetched, body: `${fetched.body.slice(0, 4096)}…` };
      }
    }
    return data;
  },
  async run(ctx, gathered) {
    const smtpData = ctx.upstream('smtp');
    const { records, rcode, ...fetched } = gathered;
    // The report's key order: the record, then the SMTP availability, then the policy.
    const data: MtaStsData = {
      records,
      rcode,
      smtp: smtpAvailability(ctx.options.smtp, smtpData),
      ...fetched,
    };
    const mx = ctx.upstream('mx');
    return { findings: evaluateMtaSts(ctx.domain.ascii, data, mx, smtpData?.tls ?? []), data };
  },
});
