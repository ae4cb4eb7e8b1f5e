import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/**
 * A small SOCKS5 proxy (RFC 1928, RFC 1929) on loopback for tests: it records every CONNECT
 * request (address type, address, port) and relays to loopback targets only. Knobs make it
 * require a password, refuse targets, or fall silent.
 */
export interface Socks5Request {
  atyp: 'ipv4' | 'domain' | 'ipv6';
  address: string;
  port: number;
}

export interface Socks5TestServerOptions {
  /** Require username/password (RFC 1929). */
  auth?: { username: string; password: string };
  /** Answer CONNECT with this reply code instead of connecting (5 = connection refused). */
  replyCode?: number;
  /** Accept the TCP connection and never answer. */
  silent?: boolean;
}

export interface Socks5TestServer {
  host: string;
  port: number;
  requests: Socks5Request[];
  connections: number;
  stop(): Promise<void>;
}

export async function startSocks5Server(options: Socks5TestServerOptions = {}): Promise<Socks5TestServer> {
  const sockets = new Set<Socket>();
  const state: Socks5TestServer = {
    host: '127.0.0.1',
    port: 0,
    requests: [],
    connections: 0,
    stop: async () => {},
  };
  const server: Server = createServer((client) => {
    state.connections++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (options.silent) return;
    let buffer = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'request' | 'relay' = 'greeting';
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (stage === 'greeting') {
          if (buffer.length < 2 || buffer.length < 2 + buffer[1]!) return;
          const methods = [...buffer.subarray(2, 2 + buffer[1]!)];
          buffer = buffer.subarray(2 + buffer[1]!);
          const want = options.auth ? 2 : 0;
          if (!methods.includes(want)) {
            client.end(Buffer.from([5, 0xff]));
            return;
          }
          client.write(Buffer.from([5, want]));
          stage = options.auth ? 'auth' : 'request';
        } else if (stage === 'auth') {
          if (buffer.length < 2) return;
          const ulen = buffer[1]!;
          if (buffer.length < 3 + ulen) return;
          const plen = buffer[2 + ulen]!;
          if (buffer.length < 3 + ulen + plen) return;
          const user = buffer.subarray(2, 2 + ulen).toString();
          const pass = buffer.subarray(3 + ulen, 3 + ulen + plen).toString();
          buffer = buffer.subarray(3 + ulen + plen);
          const ok = user === options.auth!.username && pass === options.auth!.password;
          client.write(Buffer.from([1, ok ? 0 : 1]));
          if (!ok) {
            client.end();
            return;
          }
          stage = 'request';
        } else if (stage === 'request') {
          if (buffer.length < 5) return;
          const atyp = buffer[3]!;
          const len = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + buffer[4]!;
          if (buffer.length < 4 + len + 2) return;
          const raw = buffer.subarray(4, 4 + len);
          const port = buffer.readUInt16BE(4 + len);
          buffer = buffer.subarray(4 + len + 2);
          const address =
            atyp === 1
              ? [...raw].join('.')
              : atyp === 4
                ? Array.from({ length: 8 }, (_, i) => raw.readUInt16BE(i * 2).toString(16)).join(':')
                : raw.subarray(1).toString();
          state.requests.push({ atyp: atyp === 1 ? 'ipv4' : atyp === 4 ? 'ipv6' : 'domain', address, port });
          const reply = (code: number): Buffer => Buffer.from([5, code, 0, 1, 127, 0, 0, 9, 0x04, 0xd2]);
          if (options.replyCode !== undefined) {
            client.end(reply(options.replyCode));
            return;
          }
          if (atyp !== 1 || !address.startsWith('127.')) {
            client.end(reply(2));
            return;
          }
          stage = 'relay';
          client.removeListener('data', onData);
          const upstream = connect({ host: address, port });
          upstream.on('error', () => client.destroy());
          upstream.once('connect', () => {
            // BND = 127.0.0.9:1234, the "address servers saw" in the tests.
            client.write(reply(0));
            if (buffer.length) upstream.write(buffer);
            client.pipe(upstream);
            upstream.pipe(client);
          });
          client.on('close', () => upstream.destroy());
          return;
        } else return;
      }
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
