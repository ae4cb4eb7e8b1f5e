// A small, fast authoritative-style DNS responder for the service benches, where a flood of
// checks sends tens of thousands of queries: test/support/dns-server.ts (dns2's bit-by-bit
// codec, a scan of every zone per query) answers a few thousand a second and would be what
// the bench measures. Answers from a map of names: A, MX and TXT records it holds; NOERROR
// without records for other types of a known name; NXDOMAIN for anything else. UDP only
// (the answers are small); no compression, no EDNS in answers.
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';

export interface FastZone {
  A?: string[];
  /** "preference exchange" */
  MX?: string[];
  TXT?: string[];
}

export interface FastDns {
  address: string;
  queries: number;
  stop(): Promise<void>;
}

const TYPE = { A: 1, MX: 15, TXT: 16 } as const;

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean);
  const out = Buffer.alloc(parts.reduce((n, p) => n + p.length + 1, 1));
  let at = 0;
  for (const p of parts) {
    out[at++] = p.length;
    out.write(p, at, 'latin1');
    at += p.length;
  }
  return out;
}

function rdata(type: number, value: string): Buffer {
  if (type === TYPE.A) return Buffer.from(value.split('.').map(Number));
  if (type === TYPE.MX) {
    const [pref, exchange] = value.split(' ');
    const pb = Buffer.alloc(2);
    pb.writeUInt16BE(Number(pref));
    return Buffer.concat([pb, encodeName(exchange!)]);
  }
  const t = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([t.length]), t]);
}

export async function startFastDns(zones: Record<string, FastZone>): Promise<FastDns> {
  const names = new Map(Object.entries(zones).map(([k, v]) => [k.toLowerCase(), v]));
  const socket: Socket = createSocket('udp4');
  const dns: FastDns = {
    address: '',
    queries: 0,
    stop: () => new Promise<void>((r) => socket.close(() => r())),
  };
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 17) return;
    dns.queries++;
    // The question: labels from offset 12, then type and class.
    const labels: string[] = [];
    let at = 12;
    while (at < msg.length && msg[at]! > 0 && msg[at]! < 64) {
      labels.push(msg.toString('latin1', at + 1, at + 1 + msg[at]!));
      at += 1 + msg[at]!;
    }
    at++;
    if (at + 4 > msg.length) return;
    const qtype = msg.readUInt16BE(at);
    const questionEnd = at + 4;
    const qname = labels.join('.').toLowerCase();
    const zone = names.get(qname);
    const key = (Object.keys(TYPE) as (keyof typeof TYPE)[]).find((k) => TYPE[k] === qtype);
    const records = zone && key ? (zone[key] ?? []) : [];
    const answers = records.map((value) => {
      const data = rdata(qtype, value);
      const fixed = Buffer.alloc(12);
      fixed.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      fixed.writeUInt16BE(qtype, 2);
      fixed.writeUInt16BE(1, 4);
      fixed.writeUInt32BE(300, 6);
      fixed.writeUInt16BE(data.length, 10);
      return Buffer.concat([fixed, data]);
    });
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header[2] = 0x80 | (msg[2]! & 0x01); // QR, RD copied
    header[3] = 0x80 | (zone ? 0 : 3); // RA, NOERROR or NXDOMAIN
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(
      Buffer.concat([header, msg.subarray(12, questionEnd), ...answers]),
      rinfo.port,
      rinfo.address,
    );
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  dns.address = `127.0.0.1:${socket.address().port}`;
  return dns;
}
