import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { deadline } from './deadline.js';
import { ProbeError, isProbeError } from './errors.js';
import { ipFamily } from './ip-family.js';

/**
 * How a protocol engine opens a TCP connection to an address it has already checked with
 * the address guard: directly, or through an egress proxy (socks5.ts). Engines take a
 * SocketFactory as a parameter, so that the same SMTP or TLS code runs from a host whose
 * outbound port 25 is blocked, and tests can count or refuse connections.
 */
export interface ConnectTarget {
  /** An IP address (never a name: the caller resolved it and applied the address guard). */
  address: string;
  port: number;
}

export interface ConnectLimits {
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * Opens a connection. The socket may come back paused (a proxy's handshake puts the bytes
 * that followed its reply back into it): attach the 'data' listener, then call resume().
 */
export type SocketFactory = (target: ConnectTarget, options: ConnectLimits) => Promise<Socket>;

/** Plain-words text for a socket error code. */
export function connectErrorText(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return `network unreachable (${err.code})`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `connection reset (${err.code})`;
    default:
      return err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message;
  }
}

/**
 * Opens a TCP connection within `timeoutMs`. Rejects with ProbeError ECONNECTION (with the
 * reason in words), ETIMEDOUT, or the signal's reason when the caller aborts.
 */
export function tcpConnect(
  host: string,
  port: number,
  { timeoutMs, signal }: ConnectLimits,
  what = `TCP connect to ${host} port ${port}`,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const d = deadline(signal, timeoutMs, what);
    const socket = netConnect({ host, port, family: ipFamily(host) || undefined, noDelay: true });
    const cleanup = (): void => {
      d.dispose();
      d.signal.removeEventListener('abort', onAbort);
      socket.removeListener('connect', onConnect);
      socket.removeListener('error', onError);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      cleanup();
      socket.destroy();
      reject(
        new ProbeError('ECONNECTION', `${what}: ${connectErrorText(err)}`, { phase: 'connect', cause: err }),
      );
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      const reason: unknown = d.signal.reason;
      if (isProbeError(reason, 'ETIMEDOUT'))
        reject(
          new ProbeError('ETIMEDOUT', `${what}: no answer within ${timeoutMs} ms`, { phase: 'connect' }),
        );
      else reject(reason instanceof Error ? reason : new ProbeError('EABORTED', 'aborted'));
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
    if (d.signal.aborted) onAbort();
    else d.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Connects straight to the target. */
export const directConnect: SocketFactory = (target, limits) => {
  if (!ipFamily(target.address))
    return Promise.reject(
      new ProbeError('EINPUT', `${target.address} is not an IP address`, { phase: 'connect' }),
    );
  return tcpConnect(target.address, target.port, limits);
};
