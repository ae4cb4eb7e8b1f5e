import { createSocket } from 'node:dgram';
import type { SocketOptions } from 'node:dgram';
import { lookup } from 'node:dns';
import type { LookupOneOptions } from 'node:dns';
import { connect } from 'node:net';
import { abortReason } from '../net/deadline.js';
import { ProbeError } from '../net/errors.js';
import { ipFamily } from '../net/ip-family.js';

/**
 * Sends one DNS message to one server over UDP or TCP and returns the raw response. Each
 * exchange has its own socket (a fresh random source port for UDP, RFC 5452), a timeout,
 * honours an AbortSignal, and reads at most one DNS message (≤ 65535 bytes).
 */
export interface ServerAddress {
  host: string;
  port: number;
}

/** A server as logs and reports name it: "ip:port", an IPv6 address in brackets. */
export function serverText(server: ServerAddress): string {
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/** Largest DNS message (RFC 1035 §4.2.2: the TCP length prefix is 16 bits). */
const MAX_MESSAGE = 65_535;

/**
 * One exchange's bookkeeping: settles once, with a timeout and the caller's signal, and
 * closes the socket whichever way it ends.
 */
function exchange<T>(
  what: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  close: () => void,
  reject: (err: Error) => void,
  resolve: (value: T) => void,
): (err: Error | null, value?: T) => void {
  let settled = false;
  const finish = (err: Error | null, value?: T): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    close();
    if (err) reject(err);
    else resolve(value as T);
  };
  const onAbort = (): void => finish(abortReason(signal!));
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(
    () => finish(new ProbeError('ETIMEDOUT', `no ${what} in ${timeoutMs} ms`)),
    timeoutMs,
  );
  return finish;
}

export function udpExchange(
  server: ServerAddress,
  query: Buffer,
  expectId: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const socket = createSocket({
      type: ipFamily(server.host) === 6 ? 'udp6' : 'udp4',
      lookup: literalLookup,
    });
    const finish = exchange<Buffer>(
      `UDP answer from ${serverText(server)}`,
      timeoutMs,
      signal,
      () => socket.close(),
      reject,
      resolve,
    );
    socket.on('error', (err) =>
      finish(new ProbeError('EDNS', `UDP to ${server.host}:${server.port}: ${err.message}`)),
    );
    socket.on('message', (msg, rinfo) => {
      // Accept only a reply from the server we asked, with our transaction id; anything
      // else is ignored (spoofing defence, RFC 5452 §4).
      if (rinfo.port !== server.port || msg.length < 12 || msg.readUInt16BE(0) !== expectId) return;
      if (normalizeHost(rinfo.address) !== normalizeHost(server.host)) return;
      finish(null, msg);
    });
    socket.send(query, server.port, server.host, (err) => {
      if (err) finish(new ProbeError('EDNS', `UDP send to ${server.host}:${server.port}: ${err.message}`));
    });
  });
}

/**
 * The socket's address lookup (binding to the wildcard address, sending to the resolver):
 * resolvers are IP addresses, answered at once. dgram's default, dns.lookup, answers even an
 * address on the next tick, so each exchange queued its send until the socket had bound —
 * a third of the garbage of a query on the wire (issue 14 P4). Names still go to dns.lookup.
 */
const literalLookup = ((
  address: string,
  options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void => {
  const family = ipFamily(address);
  if (family === 0) {
    lookup(address, options as LookupOneOptions, callback);
    return;
  }
  callback(null, address, family);
}) as SocketOptions['lookup'];

function normalizeHost(h: string): string {
  return h.replace(/^::ffff:/, '').toLowerCase();
}

export function tcpExchange(
  server: ServerAddress,
  query: Buffer,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const socket = connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let expected = -1;
    const finish = exchange<Buffer>(
      `TCP answer from ${server.host}:${server.port}`,
      timeoutMs,
      signal,
      () => socket.destroy(),
      reject,
      resolve,
    );
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      socket.write(Buffer.concat([prefix, query]));
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received > MAX_MESSAGE + 2) {
        return finish(
          new ProbeError('ELIMIT', `TCP answer from ${server.host}:${server.port} exceeds 65535 bytes`),
        );
      }
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (expected < 0 && all.length >= 2) expected = all.readUInt16BE(0);
      if (expected >= 0 && all.length >= expected + 2) finish(null, all.subarray(2, expected + 2));
    });
    socket.on('end', () =>
      finish(
        new ProbeError(
          'EDNS',
          `${server.host}:${server.port} closed the TCP connection before a full answer`,
        ),
      ),
    );
    socket.on('error', (err) =>
      finish(new ProbeError('EDNS', `TCP to ${server.host}:${server.port}: ${err.message}`)),
    );
  });
}
