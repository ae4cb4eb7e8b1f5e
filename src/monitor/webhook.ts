import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Config } from '../config/index.js';
import { CheckCache } from '../dns/cache.js';
import { DnsClient, dnsClientSettings } from '../dns/client.js';
import { alertConnectAllowed } from '../net/address-guard.js';
import { abortReason, withDeadline } from '../net/deadline.js';
import { describeError } from '../net/errors.js';
import { ipFamily } from '../net/ip-family.js';
import { loadTrustStore, trustContext } from '../tls/trust-store.js';
import { version } from '../version.js';

/**
 * POSTs a webhook under the alert address rules: the host name is resolved once (through
 * mxdoctor's resolvers), every address is checked with `alertConnectAllowed` (public, or
 * inside MXDOCTOR_ALERT_ALLOW_NETWORKS; never link-local or a cloud metadata endpoint)
 * right before connecting to it, the connection goes to that very address (never a second
 * lookup), TLS is verified against mxdoctor's trust store and the name, redirects are not
 * followed, the whole exchange has one deadline, and at most 64 KiB of the response is read.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface WebhookResult {
  ok: boolean;
  /** Worth trying again later (network trouble, timeouts, 5xx, 408, 429). */
  retryable: boolean;
  status?: number;
  address?: string;
  /** What happened, for the delivery log. */
  detail: string;
  /** The start of the response body (at most 512 characters). */
  body?: string;
  ms: number;
}

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  signal?: AbortSignal;
}

type Deps = Pick<Config, 'dns' | 'net' | 'tls' | 'alert'>;

function connectSocket(
  url: URL,
  address: string,
  port: number,
  trust: SecureContext | undefined,
  signal: AbortSignal,
): Promise<Socket | TLSSocket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket =
      url.protocol === 'https:'
        ? tlsConnect({
            host: address,
            port,
            ...(ipFamily(host) ? {} : { servername: host }),
            ...(trust ? { secureContext: trust } : {}),
            // Verified below with the reason in words; the request is sent only after that.
            rejectUnauthorized: false,
            ALPNProtocols: ['http/1.1'],
          })
        : netConnect({ host: address, port });
    const onAbort = (): void => {
      socket.destroy();
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      signal.removeEventListener('abort', onAbort);
      if (url.protocol === 'https:') {
        const tls = socket as TLSSocket;
        const identity = checkServerIdentity(host, tls.getPeerCertificate());
        if (identity) {
          tls.destroy();
          return reject(new Error(`the certificate is not valid for ${host}: ${identity.message}`));
        }
        if (!tls.authorized) {
          tls.destroy();
          return reject(new Error(`the certificate is not trusted (${String(tls.authorizationError)})`));
        }
      }
      resolve(socket);
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    });
  });
}

async function post(
  url: URL,
  address: string,
  req: WebhookRequest,
  trust: SecureContext | undefined,
  signal: AbortSignal,
): Promise<Omit<WebhookResult, 'ms'>> {
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  let socket: Socket | TLSSocket;
  try {
    socket = await connectSocket(url, address, port, trust, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    return {
      ok: false,
      retryable: true,
      address,
      detail: `could not connect to ${address}: ${describeError(err)}`,
    };
  }
  try {
    const auth =
      url.username || url.password
        ? {
            Authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`,
          }
        : {};
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = request({
        createConnection: () => socket,
        method: 'POST',
        path: `${url.pathname}${url.search}`,
        headers: {
          Host: url.host,
          'User-Agent': `mxdoctor/${version()} (alert webhook)`,
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(req.body)),
          Connection: 'close',
          ...auth,
          ...req.headers,
        },
        signal,
      });
      r.once('response', resolve);
      r.once('error', reject);
      r.end(req.body);
    });
    const status = response.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let bytes = 0;
    await new Promise<void>((resolve) => {
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_RESPONSE_BYTES) {
          response.destroy();
          resolve();
          return;
        }
        chunks.push(chunk);
      });
      response.once('end', () => resolve());
      response.once('error', () => resolve());
      response.once('close', () => resolve());
    });
    const body = Buffer.concat(chunks).toString('utf8').slice(0, 512);
    const base = { status, address, ...(body ? { body } : {}) };
    if (status >= 200 && status < 300)
      return { ...base, ok: true, retryable: false, detail: `HTTP ${status}` };
    if (status >= 300 && status < 400) {
      return {
        ...base,
        ok: false,
        retryable: false,
        detail: `HTTP ${status} redirect to ${String(response.headers.location ?? '(no Location)')}; webhooks do not follow redirects, use the final URL`,
      };
    }
    const retryable = status >= 500 || status === 408 || status === 429;
    return { ...base, ok: false, retryable, detail: `HTTP ${status} ${response.statusMessage ?? ''}`.trim() };
  } catch (err) {
    if (signal.aborted) throw err;
    return { ok: false, retryable: true, address, detail: describeError(err) };
  } finally {
    socket.destroy();
  }
}

export async function postWebhook(req: WebhookRequest, config: Deps): Promise<WebhookResult> {
  const t0 = performance.now();
  const done = (r: Omit<WebhookResult, 'ms'>): WebhookResult => ({
    ...r,
    ms: Math.round(performance.now() - t0),
  });
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return done({ ok: false, retryable: false, detail: 'the URL is not valid' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return done({ ok: false, retryable: false, detail: `${url.protocol} URLs are not supported` });
  const parent = req.signal;
  try {
    return await withDeadline(
      parent,
      config.alert.webhookTimeoutMs,
      `webhook ${url.host}`,
      async (signal) => {
        const host = url.hostname.replace(/^\[|\]$/g, '');
        let addresses: string[];
        if (ipFamily(host)) addresses = [host];
        else {
          const dns = new DnsClient({
            ...dnsClientSettings(config.dns),
            cache: new CheckCache(),
            signal,
          });
          const { a, aaaa } = await dns.addresses(host, { signal });
          addresses = [...a.records, ...aaaa.records].map((r) => r.address);
          if (addresses.length === 0) {
            const failed = [a, aaaa].find((x) => x.rcode !== 'NOERROR' && x.rcode !== 'NXDOMAIN');
            return done({
              ok: false,
              // NXDOMAIN may be a typo or a zone being fixed: retrying costs little.
              retryable: true,
              detail: failed
                ? `DNS lookup of ${host} failed (${failed.rcode})`
                : `${host} has no A or AAAA record`,
            });
          }
        }
        // The store's context is built once per process (src/net/trust-context.ts), not with
        // every alert: parsing the ~150 roots of a `ca` list cost each webhook tens of ms.
        const trust = url.protocol === 'https:' ? trustContext(loadTrustStore(config)) : undefined;
        const refused: string[] = [];
        let last: Omit<WebhookResult, 'ms'> | undefined;
        for (const address of addresses) {
          const allowed = alertConnectAllowed(address, config.alert.allowNetworks);
          if (!allowed.ok) {
            refused.push(allowed.why);
            continue;
          }
          last = await post(url, address, req, trust, signal);
          // Another address of the same name is only worth trying when this one was unreachable.
          if (last.status !== undefined || !last.retryable) return done(last);
        }
        if (last) return done(last);
        return done({ ok: false, retryable: false, detail: `not sent: ${refused.join('; ')}` });
      },
    );
  } catch (err) {
    if (parent?.aborted) throw err;
    return done({
      ok: false,
      retryable: true,
      detail: `no complete answer within ${config.alert.webhookTimeoutMs} ms (${describeError(err)})`,
    });
  }
}
