import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { checkServerIdentity, connect } from 'node:tls';
import type { SecureContext, TLSSocket } from 'node:tls';
import { connectAllowed } from './address-guard.js';
import { abortReason, withDeadline } from './deadline.js';
import { describeError } from './errors.js';
import { FetchClock } from './fetch-timing.js';
import type { FetchTiming } from './fetch-timing.js';
import { ipFamily } from './ip-family.js';
import { contextTrusting } from './trust-context.js';

/**
 * A careful HTTPS GET for documents a domain publishes about itself (BIMI logos and mark
 * certificates), under the same rules as the MTA-STS policy fetch (mta-sts/fetch.ts, RFC 8461
 * §3.3): https: only; the host name resolved once by the caller's resolver; every address
 * checked by the address guard right before connecting; TLS with SNI, the certificate
 * validated against the caller's trust store and the name; redirects reported, never
 * followed (so a redirect cannot lead to a private address); a size cap enforced while
 * reading; one deadline for everything. The result is data; only the caller's abort rejects.
 * The MTA-STS fetch shares its TLS connection step (tlsTo).
 */

export type HttpsGetOutcome =
  | 'ok'
  | 'bad_url'
  | 'dns_error'
  | 'no_address'
  | 'forbidden_address'
  | 'connect_error'
  | 'tls_error'
  | 'certificate'
  | 'redirect'
  | 'status'
  | 'too_large'
  | 'timeout'
  | 'http_error';

export interface HttpsGetResult {
  url: string;
  outcome: HttpsGetOutcome;
  address?: string;
  error?: string;
  status?: number;
  contentType?: string;
  location?: string;
  /** Bytes read (or declared, for too_large). */
  bytes?: number;
  /** The body (only for outcome ok). Not serialisable: callers keep what they need. */
  body?: Buffer;
  ms: number;
  timing: FetchTiming;
}

export interface HttpsGetOptions {
  url: string;
  /** Resolves a host name to its addresses (A and AAAA); throws or returns [] on failure. */
  resolve: (host: string, signal: AbortSignal) => Promise<{ addresses: string[]; error?: string }>;
  /** PEM trust anchors for the server certificate. */
  trust: string[];
  allowPrivate: boolean;
  timeoutMs: number;
  maxBytes: number;
  accept: string;
  userAgent: string;
  signal: AbortSignal;
}

type Attempt = Omit<HttpsGetResult, 'url' | 'ms' | 'timing'>;

/**
 * A TLS connection to one checked address, with SNI, that resolves once the handshake is done
 * and the certificate can be judged: verification is left to the caller (rejectUnauthorized
 * false, so it can say exactly why a certificate fails), and nothing is requested before the
 * caller's own checks pass. Shared by this GET and the MTA-STS policy fetch.
 */
export function tlsTo(
  address: string,
  host: string,
  port: number,
  secureContext: SecureContext,
  signal: AbortSignal,
  clock: FetchClock,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const socket = connect({
      host: address,
      port,
      servername: host,
      secureContext,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    socket.once('connect', () => clock.mark('connectedMs'));
    const onAbort = (): void => {
      socket.destroy();
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('secureConnect', () => {
      clock.mark('secureMs');
      signal.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    });
  });
}

async function getFrom(
  address: string,
  url: URL,
  port: number,
  o: HttpsGetOptions,
  signal: AbortSignal,
  clock: FetchClock,
): Promise<Attempt> {
  const host = url.hostname;
  let socket: TLSSocket;
  try {
    socket = await tlsTo(address, host, port, contextTrusting(o.trust), signal, clock);
  } catch (err) {
    if (signal.aborted) throw err;
    const code = (err as { code?: string }).code ?? '';
    const tls = /SSL|TLS|EPROTO/.test(code) || /handshake|SSL|TLS/i.test((err as Error).message);
    return { address, outcome: tls ? 'tls_error' : 'connect_error', error: describeError(err) };
  }
  try {
    const identity = checkServerIdentity(host, socket.getPeerCertificate());
    if (identity)
      return {
        address,
        outcome: 'certificate',
        error: `the certificate is not valid for ${host}: ${identity.message}`,
      };
    if (!socket.authorized)
      return {
        address,
        outcome: 'certificate',
        error: `the certificate is not trusted (${String(socket.authorizationError)})`,
      };
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({
        createConnection: () => socket,
        host,
        port,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { Host: url.host, 'User-Agent': o.userAgent, Accept: o.accept, Connection: 'close' },
        signal,
      });
      req.once('response', resolve);
      req.once('error', reject);
      req.end();
    });
    clock.mark('responseMs');
    const status = response.statusCode ?? 0;
    const contentType = String(response.headers['content-type'] ?? '');
    const head = { address, status, ...(contentType ? { contentType } : {}) };
    if (status >= 300 && status < 400) {
      response.destroy();
      const location = String(response.headers.location ?? '');
      return {
        ...head,
        outcome: 'redirect',
        location,
        error: `HTTP ${status} redirect to ${location || '(no Location)'}; redirects are not followed`,
      };
    }
    if (status !== 200) {
      response.destroy();
      return { ...head, outcome: 'status', error: `HTTP ${status} ${response.statusMessage ?? ''}`.trim() };
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > o.maxBytes) {
      response.destroy();
      return {
        ...head,
        outcome: 'too_large',
        bytes: declared,
        error: `${declared} bytes (Content-Length), over the ${o.maxBytes}-byte limit`,
      };
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    const tooLarge = await new Promise<boolean>((resolve, reject) => {
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > o.maxBytes) {
          response.destroy();
          resolve(true);
          return;
        }
        chunks.push(chunk);
      });
      response.once('end', () => resolve(false));
      response.once('error', reject);
      response.once('close', () => resolve(bytes > o.maxBytes));
    });
    if (tooLarge)
      return {
        ...head,
        outcome: 'too_large',
        bytes,
        error: `more than ${o.maxBytes} bytes (${bytes}+ read)`,
      };
    return { ...head, outcome: 'ok', bytes, body: Buffer.concat(chunks) };
  } catch (err) {
    if (signal.aborted) throw err;
    return { address, outcome: 'http_error', error: describeError(err) };
  } finally {
    socket.destroy();
  }
}

export async function httpsGet(o: HttpsGetOptions): Promise<HttpsGetResult> {
  const clock = new FetchClock();
  const done = (a: Attempt): HttpsGetResult => ({
    url: o.url,
    ...a,
    ms: clock.elapsedMs(),
    timing: clock.timing,
  });
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    return done({ outcome: 'bad_url', error: `"${o.url}" is not a URL` });
  }
  if (url.protocol !== 'https:') return done({ outcome: 'bad_url', error: `${o.url} is not an https: URL` });
  if (url.username || url.password) return done({ outcome: 'bad_url', error: 'the URL carries credentials' });
  const port = url.port ? Number(url.port) : 443;
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  try {
    return await withDeadline(o.signal, o.timeoutMs, `fetching ${o.url}`, async (signal) => {
      const resolved = ipFamily(literal) ? { addresses: [literal] } : await o.resolve(url.hostname, signal);
      clock.mark('addressMs');
      if (resolved.addresses.length === 0)
        return done(
          resolved.error
            ? { outcome: 'dns_error', error: resolved.error }
            : { outcome: 'no_address', error: `${url.hostname} has no A or AAAA record` },
        );
      let last: Attempt | undefined;
      const refused: string[] = [];
      for (const address of resolved.addresses) {
        const allowed = connectAllowed(address, o.allowPrivate);
        if (!allowed.ok) {
          refused.push(allowed.why);
          continue;
        }
        last = await getFrom(address, url, port, o, signal, clock);
        if (last.outcome !== 'connect_error') return done(last);
      }
      return done(last ?? { outcome: 'forbidden_address', error: refused.join('; ') });
    });
  } catch (err) {
    if (o.signal.aborted) throw err;
    return done({
      outcome: 'timeout',
      error: `no complete answer within ${o.timeoutMs} ms (${describeError(err)})`,
    });
  }
}
