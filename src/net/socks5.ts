import type { Socket } from 'node:net';
import { tcpConnect } from './connect.js';
import type { SocketFactory } from './connect.js';
import { deadline } from './deadline.js';
import { ProbeError, isProbeError } from './errors.js';
import { v6ToBigInt } from './address-guard.js';
import { ipFamily } from './ip-family.js';

/**
 * A SOCKS5 client (RFC 1928) with optional username/password authentication (RFC 1929), for
 * probing SMTP from a host whose outbound port 25 is blocked. The proxy is only ever asked
 * to CONNECT to an IP address (ATYP 1 or 4), never to a name (ATYP 3): names are resolved by
 * mxdoctor's own resolver and each address passes the address guard before this is called,
 * so the proxy cannot be used to resolve around the guard. Every read is bounded (replies
 * have a fixed maximum size) and the whole negotiation runs under one deadline.
 */

export interface Socks5Proxy {
  /** Proxy host (name or address; it is the operator's own setting, resolved by the system). */
  host: string;
  port: number;
  username?: string;
  password?: string;
}

/** What the proxy reported after CONNECT: the address and port it connects from (BND). */
export interface Socks5Bound {
  address: string;
  port: number;
}

/**
 * Parses "socks5://[user:password@]host:port". "socks5h://" (proxy-side name resolution) is
 * refused on purpose: mxdoctor resolves names itself and applies its address guard.
 */
export function parseSocks5Url(text: string): Socks5Proxy {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ProbeError('EINPUT', `"${text}" is not a URL; expected socks5://host:port`);
  }
  if (url.protocol === 'socks5h:')
    throw new ProbeError(
      'EINPUT',
      'socks5h:// asks the proxy to resolve names; mxdoctor resolves names itself and only asks the proxy for IP addresses: use socks5://',
    );
  if (url.protocol !== 'socks5:')
    throw new ProbeError('EINPUT', `unsupported proxy scheme "${url.protocol}"; expected socks5://host:port`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 1080 : Number(url.port);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new ProbeError('EINPUT', `"${text}" needs a host and a port, e.g. socks5://127.0.0.1:1080`);
  const proxy: Socks5Proxy = { host, port };
  if (url.username) proxy.username = decodeURIComponent(url.username);
  if (url.password) proxy.password = decodeURIComponent(url.password);
  return proxy;
}

/** "socks5://host:port" without credentials, for reports and logs. */
export function describeProxy(proxy: Socks5Proxy): string {
  const host = ipFamily(proxy.host) === 6 ? `[${proxy.host}]` : proxy.host;
  return `socks5://${host}:${proxy.port}${proxy.username ? ' (with username/password)' : ''}`;
}

const REPLIES: Record<number, string> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by the proxy ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

/** Reads exact byte counts from a socket, bounded: it never asks for more than 262 bytes. */
class ExactReader {
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    // A proxy that talks on without being asked is broken; 1 KiB is far above any reply.
    if (this.buffer.length > 1024) this.onError(new Error('the proxy sent more than a SOCKS reply'));
    this.wake?.();
  };
  private readonly onError = (err: Error): void => {
    this.failure ??= err;
    this.wake?.();
  };
  private readonly onClose = (): void => this.onError(new Error('the proxy closed the connection'));

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  read(n: number, signal: AbortSignal): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.wake = undefined;
        signal.removeEventListener('abort', onAbort);
      };
      const check = (): void => {
        if (this.buffer.length >= n) {
          done();
          const out = this.buffer.subarray(0, n);
          this.buffer = this.buffer.subarray(n);
          resolve(out);
        } else if (this.failure) {
          done();
          reject(this.failure);
        }
      };
      const onAbort = (): void => {
        done();
        const reason: unknown = signal.reason;
        reject(reason instanceof Error ? reason : new ProbeError('EABORTED', 'aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.wake = check;
      check();
    });
  }

  /** Stops reading and puts bytes that arrived after the SOCKS reply back into the socket. */
  release(): void {
    this.socket.pause();
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('error', this.onError);
    this.socket.removeListener('close', this.onClose);
    if (this.buffer.length > 0) this.socket.unshift(this.buffer);
    this.buffer = Buffer.alloc(0);
  }
}

function encodeAddress(address: string): Buffer {
  if (ipFamily(address) === 4) return Buffer.from([1, ...address.split('.').map(Number)]);
  const value = v6ToBigInt(address);
  const bytes = Buffer.alloc(17);
  bytes[0] = 4;
  for (let i = 0; i < 16; i++) bytes[16 - i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return bytes;
}

function decodeV6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

export interface Socks5ConnectOptions {
  proxy: Socks5Proxy;
  /** The final target: an IP address that already passed the address guard. */
  address: string;
  port: number;
  /** For the whole exchange: TCP connect to the proxy, negotiation and the proxy's CONNECT. */
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * Connects to `address`:`port` through the proxy. Resolves with the tunnelled socket (ready
 * for the target protocol) and the proxy's bound address; rejects with ProbeError EINPUT
 * (a name instead of an address), ECONNECTION (the proxy refused, or reported the target
 * unreachable — the reason in words), EPROTOCOL (not a SOCKS5 proxy), ETIMEDOUT or the
 * caller's abort.
 */
export async function socks5Connect(
  options: Socks5ConnectOptions,
): Promise<{ socket: Socket; bound: Socks5Bound }> {
  const { proxy, address, port, timeoutMs, signal } = options;
  if (!ipFamily(address))
    throw new ProbeError('EINPUT', `the SOCKS5 proxy is only asked for IP addresses, not "${address}"`, {
      phase: 'connect',
    });
  const via = `via SOCKS5 proxy ${proxy.host}:${proxy.port}`;
  const d = deadline(signal, timeoutMs, `connect to ${address} port ${port} ${via}`);
  let socket: Socket | undefined;
  try {
    socket = await tcpConnect(
      proxy.host,
      proxy.port,
      { timeoutMs, signal: d.signal },
      `TCP connect to the SOCKS5 proxy ${proxy.host}:${proxy.port}`,
    );
    const reader = new ExactReader(socket);
    const withAuth = proxy.username !== undefined;
    // Greeting (RFC 1928 §3): offer no-auth, and username/password when configured.
    socket.write(Buffer.from(withAuth ? [5, 2, 0, 2] : [5, 1, 0]));
    const choice = await reader.read(2, d.signal);
    if (choice[0] !== 5)
      throw new ProbeError(
        'EPROTOCOL',
        `${proxy.host}:${proxy.port} is not a SOCKS5 proxy (version byte ${choice[0]})`,
        { phase: 'connect' },
      );
    if (choice[1] === 0xff)
      throw new ProbeError(
        'ECONNECTION',
        `the SOCKS5 proxy accepts none of our authentication methods (${withAuth ? 'none, username/password' : 'none'})`,
        { phase: 'connect' },
      );
    if (choice[1] === 2) {
      if (!withAuth)
        throw new ProbeError('ECONNECTION', 'the SOCKS5 proxy requires a username and password', {
          phase: 'connect',
        });
      // RFC 1929 §2: VER 1, ULEN, UNAME, PLEN, PASSWD (each 1–255 bytes).
      const user = Buffer.from(proxy.username ?? '', 'utf8');
      const pass = Buffer.from(proxy.password ?? '', 'utf8');
      if (user.length < 1 || user.length > 255 || pass.length > 255)
        throw new ProbeError('EINPUT', 'SOCKS5 username and password must be 1–255 bytes', {
          phase: 'connect',
        });
      socket.write(Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([pass.length]), pass]));
      const status = await reader.read(2, d.signal);
      if (status[1] !== 0)
        throw new ProbeError('ECONNECTION', 'the SOCKS5 proxy rejected the username or password', {
          phase: 'connect',
        });
    } else if (choice[1] !== 0) {
      throw new ProbeError('EPROTOCOL', `the SOCKS5 proxy chose method ${choice[1]}, which was not offered`, {
        phase: 'connect',
      });
    }
    // CONNECT (RFC 1928 §4) by address only.
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16BE(port);
    socket.write(Buffer.concat([Buffer.from([5, 1, 0]), encodeAddress(address), portBytes]));
    const head = await reader.read(4, d.signal);
    if (head[0] !== 5)
      throw new ProbeError('EPROTOCOL', 'the SOCKS5 proxy sent a malformed reply', { phase: 'connect' });
    if (head[1] !== 0)
      throw new ProbeError(
        'ECONNECTION',
        `${address} port ${port} ${via}: ${REPLIES[head[1]!] ?? `SOCKS error ${head[1]}`}`,
        { phase: 'connect' },
      );
    let bound: Socks5Bound;
    if (head[3] === 1) {
      const b = await reader.read(6, d.signal);
      bound = { address: [...b.subarray(0, 4)].join('.'), port: b.readUInt16BE(4) };
    } else if (head[3] === 4) {
      const b = await reader.read(18, d.signal);
      bound = { address: decodeV6(b.subarray(0, 16)), port: b.readUInt16BE(16) };
    } else if (head[3] === 3) {
      const len = (await reader.read(1, d.signal))[0]!;
      const b = await reader.read(len + 2, d.signal);
      bound = { address: b.subarray(0, len).toString('latin1'), port: b.readUInt16BE(len) };
    } else {
      throw new ProbeError('EPROTOCOL', `the SOCKS5 proxy replied with address type ${head[3]}`, {
        phase: 'connect',
      });
    }
    reader.release();
    return { socket, bound };
  } catch (err) {
    socket?.destroy();
    if (signal.aborted) throw err;
    if (isProbeError(err)) {
      if (err.code === 'ETIMEDOUT' && !err.message.includes(via))
        throw new ProbeError(
          'ETIMEDOUT',
          `no connection to ${address} port ${port} ${via} within ${timeoutMs} ms`,
          { phase: 'connect' },
        );
      throw err;
    }
    throw new ProbeError('ECONNECTION', `${via}: ${(err as Error).message}`, {
      phase: 'connect',
      cause: err,
    });
  } finally {
    d.dispose();
  }
}

/**
 * A SocketFactory that goes through the proxy. `onBound` hears the proxy's bound address of
 * each connection (reports name the proxy and the address servers saw).
 */
export function socks5Connector(proxy: Socks5Proxy, onBound?: (bound: Socks5Bound) => void): SocketFactory {
  return async (target, limits) => {
    const { socket, bound } = await socks5Connect({ proxy, ...target, ...limits });
    onBound?.(bound);
    return socket;
  };
}
