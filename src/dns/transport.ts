import { createSocket } from 'node:dgram';
import type { Socket, SocketOptions } from 'node:dgram';
import { lookup } from 'node:dns';
import type { LookupOneOptions } from 'node:dns';
import { connect } from 'node:net';
import { abortReason } from '../net/deadline.js';
import { ProbeError } from '../net/errors.js';
import { ipFamily } from '../net/ip-family.js';

/**
 * Sends one DNS message to one server over UDP or TCP and returns the raw response. Each
 * exchange has a timeout, honours an AbortSignal, and reads at most one DNS message
 * (≤ 65535 bytes). UDP exchanges with one server share a socket for a few dozen questions
 * (see SharedUdp); each TCP exchange has a connection of its own.
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

/**
 * The UDP socket that exchanges with one server share. A socket of its own for every
 * question (bind, then close) was an eighth of a worker's CPU per check: a check asks 30 to
 * 75 questions. Each socket carries at most SOCKET_QUESTIONS questions, each with an ID
 * never used on it before, and is then replaced by one on a fresh random port, as c-ares
 * does with udp_max_queries: a reply must still match the server, the port and the ID
 * (RFC 5452 §9.1; the client then checks the question). Sockets are per server, so a server
 * that a user names (an authoritative server of theirs) learns only the port of the socket
 * it is asked on, never the one that asks the resolver. Unreferenced: an idle socket does
 * not keep a process alive (a waiting exchange's timer does); one that asked nothing since
 * the last sweep (every IDLE_SWEEP_MS) is closed.
 */
interface SharedUdp {
  readonly socket: Socket;
  /** IDs of the questions sent on it so far; a repeated ID would pair with a late reply. */
  readonly ids: Set<number>;
  /** The exchanges waiting for a reply, by ID. */
  readonly waiting: Map<number, (err: Error | null, msg?: Buffer) => void>;
  retired: boolean;
  closed: boolean;
  /** ids.size at the last sweep: unchanged and nothing waiting means idle. */
  sweptAt: number;
}

const SOCKET_QUESTIONS = 32;
const IDLE_SWEEP_MS = 10_000;
const udpSockets = new Map<string, SharedUdp>();
let sweeper: NodeJS.Timeout | undefined;

function sweepIdle(): void {
  for (const [key, shared] of udpSockets) {
    if (shared.waiting.size === 0 && shared.ids.size === shared.sweptAt) retire(key, shared);
    else shared.sweptAt = shared.ids.size;
  }
  if (udpSockets.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** The socket to ask `server` (whose serverText is `key`) with ID `id` on. */
function udpSocketFor(server: ServerAddress, key: string, id: number): SharedUdp {
  const current = udpSockets.get(key);
  if (current && current.ids.size < SOCKET_QUESTIONS && !current.ids.has(id)) return current;
  if (current) retire(key, current);
  const socket = createSocket({ type: ipFamily(server.host) === 6 ? 'udp6' : 'udp4', lookup: literalLookup });
  socket.unref();
  const shared: SharedUdp = {
    socket,
    ids: new Set(),
    waiting: new Map(),
    retired: false,
    closed: false,
    sweptAt: 0,
  };
  const host = normalizeHost(server.host);
  socket.on('message', (msg, rinfo) => {
    // Accept only a reply from the server we asked, with the ID of a waiting question;
    // anything else is ignored (spoofing defence, RFC 5452 §4).
    if (rinfo.port !== server.port || msg.length < 12) return;
    if (normalizeHost(rinfo.address) !== host) return;
    shared.waiting.get(msg.readUInt16BE(0))?.(null, msg);
  });
  socket.on('error', (err) => {
    // An error of the socket (not of one send) ends every exchange on it.
    retire(key, shared);
    const failure = new ProbeError('EDNS', `UDP to ${key}: ${err.message}`);
    for (const settle of [...shared.waiting.values()]) settle(failure);
  });
  udpSockets.set(key, shared);
  sweeper ??= setInterval(sweepIdle, IDLE_SWEEP_MS).unref();
  return shared;
}

/** Takes a socket out of use; it closes once no exchange waits on it. */
function retire(key: string, shared: SharedUdp): void {
  shared.retired = true;
  if (udpSockets.get(key) === shared) udpSockets.delete(key);
  closeWhenIdle(shared);
}

function closeWhenIdle(shared: SharedUdp): void {
  if (!shared.retired || shared.closed || shared.waiting.size > 0) return;
  shared.closed = true;
  shared.socket.close();
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
    const key = serverText(server);
    const shared = udpSocketFor(server, key, expectId);
    shared.ids.add(expectId);
    const finish = exchange<Buffer>(
      `UDP answer from ${key}`,
      timeoutMs,
      signal,
      () => {
        shared.waiting.delete(expectId);
        closeWhenIdle(shared);
      },
      reject,
      resolve,
    );
    shared.waiting.set(expectId, finish);
    shared.socket.send(query, server.port, server.host, (err) => {
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
