/**
 * The one error type for network operations that did not produce an outcome: timeouts,
 * cancellation, refused targets, broken peers. Protocol outcomes (NXDOMAIN, a 550 reply)
 * are data, never a ProbeError.
 */
export type ProbeErrorCode =
  | 'ETIMEDOUT' // a deadline expired
  | 'EABORTED' // the caller's AbortSignal fired
  | 'EDNS' // a DNS transport failure (no answer could be obtained)
  | 'ECONNECTION' // TCP connect failed or the peer dropped the connection
  | 'ETLS' // TLS handshake failure
  | 'EPROTOCOL' // the peer violated the protocol (garbage, malformed replies)
  | 'ELIMIT' // a size or count limit was exceeded (bounded reads)
  | 'EFORBIDDEN' // the target address is not allowed (private, loopback, reserved)
  | 'EINPUT'; // the caller's input was invalid

export class ProbeError extends Error {
  readonly code: ProbeErrorCode;
  readonly phase: string | undefined;

  constructor(code: ProbeErrorCode, message: string, options: { phase?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProbeError';
    this.code = code;
    this.phase = options.phase;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function isProbeError(err: unknown, code?: ProbeErrorCode): err is ProbeError {
  return err instanceof ProbeError && (code === undefined || err.code === code);
}

/** A short, human string for any thrown value (never a stack trace). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
