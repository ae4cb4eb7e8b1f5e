import { getDiffieHellman } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TlsOptions, TLSSocket } from 'node:tls';

/**
 * A small SMTP server with STARTTLS on loopback whose TLS side is a real Node TLS server
 * configured per test (protocol versions, cipher suites, DH group, server preference,
 * renegotiation, signature algorithms, OCSP stapling), so the TLS depth scan and the
 * submission probe meet each case for real. The plain side speaks just enough SMTP:
 * banner, EHLO (optionally advertising AUTH before TLS), STARTTLS, NOOP, QUIT. DATA and
 * BDAT fail the test. Connections are counted.
 */
export interface StartTlsServerOptions {
  host?: string;
  port?: number;
  name?: string;
  tls: TlsOptions;
  /** A stapled OCSP response to send when the client asks (RFC 6066 §8). */
  ocspResponse?: Buffer;
  /** EHLO keywords offered before STARTTLS (STARTTLS itself is added). */
  plainExtensions?: string[];
  /** EHLO keywords offered after STARTTLS. */
  tlsExtensions?: string[];
  /** Implicit TLS (port 465 style): TLS from the first byte, no STARTTLS. */
  implicit?: boolean;
  /** Offer STARTTLS. @defaultValue true */
  starttls?: boolean;
}

export interface StartTlsServer {
  host: string;
  port: number;
  /** TCP connections accepted. */
  connections: number;
  /** TLS handshakes completed / failed. */
  handshakes: { ok: number; failed: number };
  /** Commands received (plain and TLS), in order. */
  commands: string[];
  /** Set when a client sent DATA or BDAT. */
  violation?: string;
  stop(): Promise<void>;
}

/** A 1024-bit DH group (RFC 2409 Oakley group 2) as PEM DHParameter, for the weak-DH case. */
export function dh1024Pem(): string {
  const p = getDiffieHellman('modp2').getPrime();
  const int = (b: Buffer): Buffer => {
    const body = b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
    return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
  };
  const seq = Buffer.concat([int(p), int(Buffer.from([2]))]);
  const der = Buffer.concat([Buffer.from([0x30]), derLength(seq.length), seq]);
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN DH PARAMETERS-----\n${b64}\n-----END DH PARAMETERS-----\n`;
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

function lineHandler(
  state: StartTlsServer,
  stream: Socket | TLSSocket,
  respond: (line: string) => boolean | void,
): void {
  let buffer = '';
  const onData = (chunk: Buffer): void => {
    buffer += chunk.toString('latin1');
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i).replace(/\r$/, '');
      buffer = buffer.slice(i + 1);
      state.commands.push(line);
      if (/^(DATA|BDAT)\b/i.test(line)) {
        state.violation = `client sent ${line}`;
        stream.destroy();
        return;
      }
      if (respond(line) === false) {
        stream.removeListener('data', onData);
        return;
      }
    }
  };
  stream.on('data', onData);
  stream.on('error', () => {});
}

export async function startStartTlsServer(options: StartTlsServerOptions): Promise<StartTlsServer> {
  const host = options.host ?? '127.0.0.1';
  const name = options.name ?? 'mx.test';
  const sockets = new Set<Socket>();
  const state: StartTlsServer = {
    host,
    port: 0,
    connections: 0,
    handshakes: { ok: 0, failed: 0 },
    commands: [],
    stop: async () => {},
  };
  const tlsServer = createTlsServer(options.tls);
  if (options.ocspResponse) {
    const response = options.ocspResponse;
    tlsServer.on(
      'OCSPRequest',
      (_cert: Buffer, _issuer: Buffer, cb: (err: Error | null, resp: Buffer) => void) => cb(null, response),
    );
  }
  tlsServer.on('tlsClientError', () => {
    state.handshakes.failed++;
  });
  const ehlo = (extensions: string[]): string => {
    const lines = [name, ...extensions];
    return lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}\r\n`).join('');
  };
  tlsServer.on('secureConnection', (secure: TLSSocket) => {
    state.handshakes.ok++;
    if (options.implicit) secure.write(`220 ${name} ESMTP ready\r\n`);
    lineHandler(state, secure, (line) => {
      if (/^QUIT/i.test(line)) secure.end('221 bye\r\n');
      else if (/^(EHLO|HELO)/i.test(line))
        secure.write(ehlo(options.tlsExtensions ?? ['PIPELINING', 'AUTH PLAIN LOGIN']));
      else if (/^(NOOP|RSET)/i.test(line)) secure.write('250 2.0.0 ok\r\n');
      else secure.write('502 5.5.2 not here\r\n');
    });
  });
  const server: Server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (options.implicit) {
      tlsServer.emit('connection', socket);
      return;
    }
    socket.write(`220 ${name} ESMTP test\r\n`);
    const plain = options.plainExtensions ?? ['PIPELINING', '8BITMIME'];
    const offer = options.starttls === false ? plain : [...plain, 'STARTTLS'];
    lineHandler(state, socket, (line) => {
      if (/^QUIT/i.test(line)) socket.end('221 bye\r\n');
      else if (/^(EHLO|HELO)/i.test(line)) socket.write(ehlo(offer));
      else if (/^STARTTLS/i.test(line) && options.starttls !== false) {
        socket.write('220 2.0.0 ready to start TLS\r\n');
        tlsServer.emit('connection', socket);
        return false;
      } else if (/^(NOOP|RSET)/i.test(line)) socket.write('250 2.0.0 ok\r\n');
      else socket.write('530 5.7.0 must issue STARTTLS first\r\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  state.port = (server.address() as AddressInfo).port;
  state.stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
