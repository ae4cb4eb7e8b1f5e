import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { checkServerIdentity } from 'node:tls';
import type { PeerCertificate, SecureContext, TLSSocket } from 'node:tls';
import { z } from 'zod';
import type { Config } from '../config/index.js';
import type { DnsClient } from '../dns/client.js';
import { connectAllowed } from '../net/address-guard.js';
import { withDeadline } from '../net/deadline.js';
import { describeError } from '../net/errors.js';
import { tlsTo } from '../net/https-get.js';
import { FetchClock, FetchTimingSchema } from '../net/fetch-timing.js';
import { loadTrustStore, trustContext } from '../tls/trust-store.js';
import { version } from '../version.js';

/**
 * Fetches https://mta-sts.<domain>/.well-known/mta-sts.txt the way RFC 8461 §3.3 requires a
 * sender to: the name resolved once through our resolver, each address checked against the
 * address guard right before connecting, TLS to that address with SNI = the policy host,
 * the certificate validated against mxdoctor's trust store and the name, no redirects,
 * status 200, text/plain, at most 64 KiB, all under one deadline.
 */

/** RFC 8461 §3.3 suggests senders limit policies to 64 KiB. */
export const MAX_POLICY_BYTES = 64 * 1024;

export const PolicyFetchSchema = z.object({
  url: z.string(),
  host: z.string(),
  port: z.number().int(),
  address: z.string().optional().describe('The address connected to'),
  outcome: z
    .enum([
      'ok',
      'dns_error',
      'no_address',
      'forbidden_address',
      'connect_error',
      'tls_error',
      'certificate',
      'redirect',
      'status',
      'content_type',
      'too_large',
      'timeout',
      'http_error',
    ])
    .describe('ok, or what went wrong'),
  error: z.string().optional(),
  status: z.number().int().optional(),
  contentType: z.string().optional(),
  location: z.string().optional(),
  bytes: z.number().int().optional(),
  body: z.string().optional().describe('The policy text (when fetched)'),
  certificate: z
    .object({ subject: z.string(), issuer: z.string(), notAfter: z.string(), sans: z.array(z.string()) })
    .optional(),
  ms: z.number(),
  timing: FetchTimingSchema.optional(),
});
export type PolicyFetch = z.infer<typeof PolicyFetchSchema>;

function certSummary(cert: PeerCertificate): PolicyFetch['certificate'] {
  const dn = (x: Record<string, unknown> | undefined) =>
    Object.entries(x ?? {})
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');
  return {
    subject: dn(cert.subject as unknown as Record<string, unknown>),
    issuer: dn(cert.issuer as unknown as Record<string, unknown>),
    notAfter: cert.valid_to ? new Date(cert.valid_to).toISOString() : '',
    sans: (cert.subjectaltname ?? '')
      .split(', ')
      .filter(Boolean)
      .map((s) => s.replace(/^DNS:/, '')),
  };
}

/** OpenSSL verification codes in words. */
const CERT_ERRORS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a self-signed certificate no trusted CA vouches for',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    'it was issued by an unknown CA, or the server does not send the intermediate certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its issuer is unknown (missing intermediate certificate?)',
  CERT_REVOKED: 'it has been revoked',
};

type Attempt = Omit<PolicyFetch, 'url' | 'host' | 'port' | 'ms' | 'timing'>;

async function fetchFrom(
  address: string,
  host: string,
  port: number,
  secureContext: SecureContext,
  signal: AbortSignal,
  clock: FetchClock,
): Promise<Attempt> {
  let socket: TLSSocket;
  try {
    socket = await tlsTo(address, host, port, secureContext, signal, clock);
  } catch (err) {
    if (signal.aborted) throw err;
    const code = (err as { code?: string }).code ?? '';
    const tls = /SSL|TLS|ERR_SSL|EPROTO/.test(code) || /handshake|SSL|TLS/i.test((err as Error).message);
    return { address, outcome: tls ? 'tls_error' : 'connect_error', error: describeError(err) };
  }
  try {
    const peer = socket.getPeerCertificate();
    const certificate = peer && Object.keys(peer).length ? certSummary(peer) : undefined;
    const base = { address, ...(certificate ? { certificate } : {}) };
    const refused = certificateProblem(socket, peer, host);
    if (refused) return { ...base, ...refused };
    const response = await getPolicy(socket, host, port, signal);
    clock.mark('responseMs');
    return await readPolicy(response, base);
  } catch (err) {
    if (signal.aborted) throw err;
    return { address, outcome: 'http_error', error: describeError(err) };
  } finally {
    socket.destroy();
  }
}

/** Why the server's certificate cannot be used for `host`: the name first (its message says which names it has), then the chain. */
function certificateProblem(
  socket: TLSSocket,
  peer: PeerCertificate,
  host: string,
): { outcome: 'certificate'; error: string } | undefined {
  const identity = checkServerIdentity(host, peer);
  if (identity)
    return { outcome: 'certificate', error: `the certificate is not valid for ${host}: ${identity.message}` };
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'unknown reason');
    return {
      outcome: 'certificate',
      error: `the certificate is not trusted: ${CERT_ERRORS[code] ?? code} (${code})`,
    };
  }
  return undefined;
}

/** GET /.well-known/mta-sts.txt over the verified connection. */
function getPolicy(
  socket: TLSSocket,
  host: string,
  port: number,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({
      createConnection: () => socket,
      host,
      port,
      path: '/.well-known/mta-sts.txt',
      method: 'GET',
      headers: {
        Host: port === 443 ? host : `${host}:${port}`,
        'User-Agent': `mxdoctor/${version()} (MTA-STS policy check)`,
        Accept: 'text/plain',
        Connection: 'close',
      },
      signal,
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

/** The response as an attempt: redirects, statuses, sizes over 64 KiB and the content type refused. */
async function readPolicy(
  response: IncomingMessage,
  base: Pick<Attempt, 'address' | 'certificate'>,
): Promise<Attempt> {
  const status = response.statusCode ?? 0;
  const contentType = String(response.headers['content-type'] ?? '');
  const head = { ...base, status, ...(contentType ? { contentType } : {}) };
  if (status >= 300 && status < 400) {
    response.destroy();
    return {
      ...head,
      outcome: 'redirect',
      location: String(response.headers.location ?? ''),
      error: `HTTP ${status} redirect to ${String(response.headers.location ?? '(no Location)')}; senders must not follow redirects (RFC 8461 §3.3)`,
    };
  }
  if (status !== 200) {
    response.destroy();
    return { ...head, outcome: 'status', error: `HTTP ${status} ${response.statusMessage ?? ''}`.trim() };
  }
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_POLICY_BYTES) {
    response.destroy();
    return {
      ...head,
      outcome: 'too_large',
      bytes: declared,
      error: `the policy is ${declared} bytes (Content-Length), over the 64 KiB limit`,
    };
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  const tooLarge = await new Promise<boolean>((resolve, reject) => {
    response.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_POLICY_BYTES) {
        response.destroy();
        resolve(true);
        return;
      }
      chunks.push(chunk);
    });
    response.once('end', () => resolve(false));
    response.once('error', reject);
    response.once('close', () => resolve(bytes > MAX_POLICY_BYTES));
  });
  if (tooLarge) {
    return {
      ...head,
      outcome: 'too_large',
      bytes,
      error: `the policy is more than 64 KiB (${bytes}+ bytes read)`,
    };
  }
  const body = Buffer.concat(chunks).toString('utf8');
  if (!/^text\/plain\s*(;|$)/i.test(contentType)) {
    return {
      ...head,
      outcome: 'content_type',
      bytes,
      body,
      error: `Content-Type is "${contentType || '(none)'}"; RFC 8461 §3.2 requires text/plain`,
    };
  }
  return { ...head, outcome: 'ok', bytes, body };
}

/**
 * Fetches the MTA-STS policy of `domain`. Never rejects for network outcomes (they are the
 * `outcome`); rejects only when `signal` aborts.
 */
export async function fetchMtaStsPolicy(
  dns: Pick<DnsClient, 'addresses'>,
  domain: string,
  config: Pick<Config, 'https' | 'net' | 'tls'>,
  signal: AbortSignal,
): Promise<PolicyFetch> {
  const host = `mta-sts.${domain}`;
  const port = config.https.port;
  const url = `https://${host}${port === 443 ? '' : `:${port}`}/.well-known/mta-sts.txt`;
  const clock = new FetchClock();
  const done = (a: Attempt): PolicyFetch => ({
    url,
    host,
    port,
    ...a,
    ms: clock.elapsedMs(),
    timing: clock.timing,
  });
  const lookup = dns.addresses(host, { signal });
  // The trust store's TLS context costs CPU once per process: build it while the address
  // lookup is on the wire rather than after it.
  let secureContext: SecureContext;
  try {
    secureContext = trustContext(loadTrustStore(config));
  } catch (err) {
    await lookup.catch(() => undefined);
    throw err;
  }
  const { a, aaaa } = await lookup;
  clock.mark('addressMs');
  const addresses = [...a.records, ...aaaa.records].map((r) => r.address);
  if (addresses.length === 0) {
    const failed = [a, aaaa].find((x) => x.rcode !== 'NOERROR' && x.rcode !== 'NXDOMAIN');
    if (failed) return done({ outcome: 'dns_error', error: `${failed.type} ${host}: ${failed.rcode}` });
    return done({
      outcome: 'no_address',
      error: `${host} ${a.rcode === 'NXDOMAIN' ? 'does not exist' : 'has no A or AAAA record'}`,
    });
  }
  try {
    return await withDeadline(signal, config.https.timeoutMs, `fetching ${url}`, async (deadlineSignal) => {
      let last: Attempt | undefined;
      const refused: string[] = [];
      for (const address of addresses) {
        const allowed = connectAllowed(address, config.net.allowPrivate);
        if (!allowed.ok) {
          refused.push(allowed.why);
          continue;
        }
        last = await fetchFrom(address, host, port, secureContext, deadlineSignal, clock);
        if (last.outcome !== 'connect_error') return done(last);
      }
      if (last) return done(last);
      return done({ outcome: 'forbidden_address', error: refused.join('; ') });
    });
  } catch (err) {
    if (signal.aborted) throw err;
    return done({
      outcome: 'timeout',
      error: `no complete answer within ${config.https.timeoutMs} ms (${describeError(err)})`,
    });
  }
}
