import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/**
 * A user-space proxy on loopback that puts a round-trip time between a client and the
 * fixture servers behind it (DNS over UDP and TCP, SMTP, HTTPS), so that a benchmark sees the
 * waits a real network imposes — in whole round trips, which is what pipelining and
 * parallelism save.
 *
 * TCP, as a real connection behaves with this RTT:
 * - the handshake: the client's bytes cannot leave before one RTT after it connected (SYN,
 *   SYN-ACK: its connect completes then; the loopback kernel completes it at once, so data is
 *   held instead), and the server sees the connection half an RTT later (the ACK), when the
 *   proxy connects to it — a greeting sent at once reaches the client two RTTs after connect;
 * - data: every byte takes RTT/2 each way, in order; an end (FIN) or a reset follows the data.
 * UDP: every datagram takes RTT/2 each way.
 *
 * Loopback only: it listens and connects on the addresses given, which must be 127.0.0.0/8.
 *
 * Its deliveries run on timers, so they are late when its event loop is busy (the fixture
 * servers of the same process take CPU): `stats` says by how much.
 */
export interface ProxyStats {
  tcpConnections: number;
  udpDatagrams: number;
  /** Timed deliveries made (each chunk, datagram, end or close, one way). */
  deliveries: number;
  /**
   * How late the deliveries ran after their due time, in ms, summed and at most: a timer
   * fires a millisecond or so late, and later when the process is busy (the fixture servers
   * share it). Each round trip is longer than asked by the lateness of its two deliveries.
   */
  lateMsTotal: number;
  lateMsMax: number;
}

/** A FIFO of timed deliveries: each item goes out at its time, never before the one ahead of it. */
class Pipe {
  private readonly queue: { at: number; run: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stats: ProxyStats) {}

  push(at: number, run: () => void): void {
    const last = this.queue.at(-1)?.at ?? 0;
    this.queue.push({ at: Math.max(at, last), run });
    if (!this.timer) this.arm();
  }

  private arm(): void {
    const head = this.queue[0];
    if (!head) {
      this.timer = undefined;
      return;
    }
    this.timer = setTimeout(
      () => {
        const now = performance.now();
        while (this.queue.length && this.queue[0]!.at <= now + 0.5) {
          const { at, run } = this.queue.shift()!;
          const late = Math.max(0, now - at);
          this.stats.deliveries++;
          this.stats.lateMsTotal += late;
          this.stats.lateMsMax = Math.max(this.stats.lateMsMax, late);
          run();
        }
        this.arm();
      },
      Math.max(0, head.at - performance.now()),
    );
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

export class LatencyProxy {
  readonly stats: ProxyStats = {
    tcpConnections: 0,
    udpDatagrams: 0,
    deliveries: 0,
    lateMsTotal: 0,
    lateMsMax: 0,
  };
  private readonly servers: Server[] = [];
  private readonly udpSockets: UdpSocket[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly pipes = new Set<Pipe>();

  constructor(public rttMs: number) {}

  /** Proxies TCP from listenHost:listenPort (0: any free port) to target; resolves with the port. */
  async tcp(listenHost: string, listenPort: number, targetHost: string, targetPort: number): Promise<number> {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) =>
      this.relay(client, targetHost, targetPort),
    );
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, listenHost, () => resolve());
    });
    this.servers.push(server);
    return (server.address() as { port: number }).port;
  }

  /** Proxies UDP datagrams from listenHost:listenPort to target and the answers back. */
  async udp(listenHost: string, listenPort: number, targetHost: string, targetPort: number): Promise<number> {
    const front = createSocket('udp4');
    const pipe = this.pipe();
    const upstreams = new Map<string, UdpSocket>();
    front.on('error', () => undefined);
    front.on('message', (msg: Buffer, client: RemoteInfo) => {
      this.stats.udpDatagrams++;
      const key = `${client.address}:${client.port}`;
      let up = upstreams.get(key);
      if (!up) {
        up = createSocket('udp4');
        up.on('error', () => undefined);
        up.on('message', (answer: Buffer) =>
          pipe.push(performance.now() + this.rttMs / 2, () =>
            front.send(answer, client.port, client.address, () => undefined),
          ),
        );
        up.bind(0, '127.0.0.1');
        upstreams.set(key, up);
        this.udpSockets.push(up);
      }
      const socket = up;
      pipe.push(performance.now() + this.rttMs / 2, () =>
        socket.send(msg, targetPort, targetHost, () => undefined),
      );
    });
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.bind(listenPort, listenHost, () => resolve());
    });
    this.udpSockets.push(front);
    return front.address().port;
  }

  /** Proxies DNS on one port, UDP and TCP, as a resolver listens (a free port when 0). */
  async dns(listenHost: string, listenPort: number, targetHost: string, targetPort: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const port = await this.udp(listenHost, listenPort, targetHost, targetPort);
      try {
        await this.tcp(listenHost, port, targetHost, targetPort);
        return port;
      } catch (err) {
        // The TCP port was taken: give the UDP one back and try another.
        const front = this.udpSockets.pop()!;
        front.close();
        if (listenPort !== 0 || attempt >= 20) throw err;
      }
    }
  }

  private pipe(): Pipe {
    const p = new Pipe(this.stats);
    this.pipes.add(p);
    return p;
  }

  private relay(client: Socket, targetHost: string, targetPort: number): void {
    this.stats.tcpConnections++;
    this.sockets.add(client);
    // No Nagle on the proxy's own sockets: each delayed write goes out at once, or a small
    // write waiting for the ACK of the one before would add a delayed-ACK stall (40 ms).
    client.setNoDelay(true);
    const rtt = this.rttMs;
    const t0 = performance.now();
    const toServer = this.pipe();
    const toClient = this.pipe();
    // The client's bytes leave once its connect has completed (one RTT), then take RTT/2.
    const departs = (): number => Math.max(performance.now(), t0 + rtt) + rtt / 2;
    let server: Socket | undefined;
    const pending: (() => void)[] = [];
    const toUpstream = (run: (s: Socket) => void): void => {
      if (server) run(server);
      else pending.push(() => run(server!));
    };
    const close = (): void => {
      client.destroy();
      server?.destroy();
      this.sockets.delete(client);
      setTimeout(() => {
        toServer.clear();
        toClient.clear();
        this.pipes.delete(toServer);
        this.pipes.delete(toClient);
      }, rtt + 10).unref();
    };
    client.on('data', (chunk: Buffer) => toServer.push(departs(), () => toUpstream((s) => s.write(chunk))));
    client.on('end', () => toServer.push(departs(), () => toUpstream((s) => s.end())));
    client.on('error', () => toServer.push(departs(), () => toUpstream((s) => s.destroy())));
    client.on('close', () => toServer.push(departs(), () => toUpstream((s) => s.destroy())));
    // The server accepts when the handshake's last packet reaches it: 1.5 RTT after the SYN.
    setTimeout(() => {
      if (client.destroyed && !client.readableLength) {
        close();
        return;
      }
      const s = connect({ host: targetHost, port: targetPort, allowHalfOpen: true, noDelay: true });
      this.sockets.add(s);
      s.on('connect', () => {
        server = s;
        for (const run of pending.splice(0)) run();
      });
      s.on('data', (chunk: Buffer) =>
        toClient.push(performance.now() + rtt / 2, () => {
          if (!client.destroyed) client.write(chunk);
        }),
      );
      s.on('end', () => toClient.push(performance.now() + rtt / 2, () => client.end()));
      s.on('error', () => toClient.push(performance.now() + rtt / 2, close));
      s.on('close', () => {
        this.sockets.delete(s);
        toClient.push(performance.now() + rtt / 2, close);
      });
    }, rtt * 1.5);
  }

  async stop(): Promise<void> {
    for (const p of this.pipes) p.clear();
    for (const s of this.sockets) s.destroy();
    for (const u of this.udpSockets) {
      try {
        u.close();
      } catch {
        // already closed
      }
    }
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
