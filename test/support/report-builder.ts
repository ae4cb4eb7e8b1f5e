import type { Finding, Report, Status } from '../../src/report/model.js';
import type { CertFacts, TlsObservation } from '../../src/tls/model.js';

/** Builds small but schema-shaped reports for pure tests (diffs, alerts, output formats). */
export function finding(id: string, status: Status, extra: Partial<Finding> = {}): Finding {
  return {
    id,
    status,
    title: extra.title ?? id,
    summary: extra.summary ?? `${id} is ${status}`,
    details: {},
    check: id.split('.')[0]!,
    ...extra,
  };
}

export function cert(sha: string, notAfter: string, issuer = 'CN=Test CA'): CertFacts {
  return {
    subject: 'CN=mx.example.com',
    commonName: 'mx.example.com',
    sans: ['mx.example.com'],
    issuer,
    serial: '01',
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter,
    keyAlgorithm: 'rsa',
    keyBits: 2048,
    signatureAlgorithm: 'sha256WithRSAEncryption',
    selfSigned: false,
    isCa: false,
    sha256: sha,
    sha512: sha + sha,
    spkiSha256: `spki-${sha}`,
    spkiSha512: `spki-${sha}${sha}`,
    der: '',
  };
}

export function tls(host: string, address: string, leaf?: CertFacts): TlsObservation {
  return {
    host,
    address,
    port: 25,
    starttls: leaf ? 'offered' : 'not_offered',
    handshake: leaf ? 'ok' : 'not_attempted',
    chain: leaf ? [leaf] : [],
    trusted: true,
    hostnameMatches: true,
  };
}

export function report(options: {
  domain?: string;
  mx?: [number, string, string[]][];
  findings?: Finding[];
  tls?: TlsObservation[];
  data?: Record<string, unknown>;
  startedAt?: string;
}): Report {
  const domain = options.domain ?? 'example.com';
  const findings = options.findings ?? [];
  const counts = { pass: 0, warn: 0, fail: 0, info: 0, error: 0 };
  for (const f of findings) counts[f.status]++;
  return {
    schemaVersion: 1,
    tool: { name: 'mxdoctor', version: '0.0.0' },
    domain: { input: domain, ascii: domain, unicode: domain },
    startedAt: options.startedAt ?? '2026-11-28T12:00:00.000Z',
    finishedAt: options.startedAt ?? '2026-11-28T12:00:01.000Z',
    durationMs: 1000,
    verdict: counts.fail ? 'fail' : counts.warn ? 'warn' : 'pass',
    complete: counts.error === 0,
    counts,
    options: { verify: [], dkimSelectors: [], smtp: true, greylistRetryMs: 0 },
    resolvers: ['127.0.0.1:53'],
    mx: {
      kind: 'mx',
      hosts: (options.mx ?? [[10, 'mx1.example.com', ['192.0.2.1']]]).map(
        ([preference, name, addresses]) => ({
          name,
          preference,
          implicit: false,
          ipLiteral: false,
          cnameChain: [],
          addresses: addresses.map(
            (address) => ({ address, family: address.includes(':') ? 6 : 4, category: 'public' }) as const,
          ),
          lookup: { a: 'NOERROR', aaaa: 'NOERROR' },
        }),
      ),
    },
    checks: findings,
    data: { ...(options.tls ? { smtp: { tls: options.tls, sessions: [] } } : {}), ...options.data },
    dnsLog: [],
  };
}
