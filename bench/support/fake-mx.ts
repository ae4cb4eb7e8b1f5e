// Small fake MX servers for the service benches, many of them (one per loopback address), that
// observe what the politeness limits promise: how many sessions each address had open at once,
// and which domain each session was about (from its RCPT TO), so a check run twice shows as a
// domain with twice the sessions. Behaviours: a quick well-behaved MTA, a tarpit that sends
// its greeting at one byte per second, and a silent server that never greets.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export type FakeMxBehaviour = 'mta' | 'tarpit' | 'silent';

export interface FakeMx {
  host: string;
  behaviour: FakeMxBehaviour;
  /** Sessions accepted so far. */
  sessions: number;
  /** Sessions open now (accepted, not yet answered QUIT nor closed). */
  open: number;
  /** Most sessions open at once. */
  maxOpen: number;
  /** Sessions per domain (the domain of the session's first RCPT TO). */
  perDomain: Map<string, number>;
  /** DATA or BDAT lines received: a probe must never send them. */
  violations: number;
  /** Per session: when it was accepted and when it ended (performance.now()). */
  spans: { start: number; end?: number }[];
  stop(): Promise<void>;
}

const MAX_LINE = 4096;

export async function startFakeMx(host: string, port: number, behaviour: FakeMxBehaviour): Promise<FakeMx> {
  const sockets = new Set<Socket>();
  const fake: FakeMx = {
    host,
    behaviour,
    sessions: 0,
    open: 0,
    maxOpen: 0,
    perDomain: new Map(),
    violations: 0,
    spans: [],
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const name = `mx.fake-${host.replace(/\./g, '-')}.test`;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    fake.sessions++;
    fake.open++;
    fake.maxOpen = Math.max(fake.maxOpen, fake.open);
    const span: { start: number; end?: number } = { start: performance.now() };
    fake.spans.push(span);
    let ended = false;
    // A session ends for the limiter's purpose when the server said 221 or the socket closed:
    // a client releases its slot only after one of these.
    const end = (): void => {
      if (ended) return;
      ended = true;
      span.end = performance.now();
      fake.open--;
    };
    let timer: NodeJS.Timeout | undefined;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      clearTimeout(timer);
      end();
    });
    if (behaviour === 'silent') return;
    if (behaviour === 'tarpit') {
      const greeting = `220 ${name} ESMTP slowly\r\n`;
      let i = 0;
      const drip = (): void => {
        if (socket.destroyed || i >= greeting.length) return;
        socket.write(greeting[i++]!);
        timer = setTimeout(drip, 1000);
      };
      drip();
      return;
    }
    let buffer = '';
    let domain: string | undefined;
    socket.write(`220 ${name} ESMTP\r\n`);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const replies: string[] = [];
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i).replace(/\r$/, '');
        buffer = buffer.slice(i + 1);
        const verb = (line.split(' ')[0] ?? '').toUpperCase();
        if (verb === 'DATA' || verb === 'BDAT') {
          fake.violations++;
          socket.end('554 5.7.0 a probe must never send DATA or BDAT\r\n');
          return;
        }
        if (verb === 'EHLO')
          replies.push(`250-${name}`, '250-PIPELINING', '250-8BITMIME', '250 ENHANCEDSTATUSCODES');
        else if (verb === 'HELO') replies.push(`250 ${name}`);
        else if (verb === 'MAIL') replies.push('250 2.1.0 Ok');
        else if (verb === 'RCPT') {
          const to = /<[^@>]*@([^>]*)>/.exec(line)?.[1]?.toLowerCase() ?? '';
          if (domain === undefined && to) {
            domain = to;
            fake.perDomain.set(to, (fake.perDomain.get(to) ?? 0) + 1);
          }
          replies.push(/<postmaster@/i.test(line) ? '250 2.1.5 Ok' : '550 5.1.1 No such user');
        } else if (verb === 'RSET' || verb === 'NOOP') replies.push('250 2.0.0 Ok');
        else if (verb === 'QUIT') {
          socket.end([...replies, '221 2.0.0 Bye'].map((r) => `${r}\r\n`).join(''));
          end();
          return;
        } else replies.push('502 5.5.2 Error: command not recognized');
      }
      if (buffer.length > MAX_LINE) {
        socket.destroy();
        return;
      }
      if (replies.length) socket.write(replies.map((r) => `${r}\r\n`).join(''));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return fake;
}

/** The n-th address of a /16 inside 127.0.0.0/8 (skipping .0 and .255), e.g. 127.1.0.1. */
export function loopbackAddress(second: number, n: number): string {
  return `127.${second}.${Math.floor(n / 254)}.${(n % 254) + 1}`;
}
