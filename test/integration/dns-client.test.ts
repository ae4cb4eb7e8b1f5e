import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { DnsClient } from '../../src/dns/client.js';
import { TtlCache } from '../../src/dns/cache.js';
import { ROOM_MARK, admissionStats, inflightStats, whenRoom } from '../../src/dns/inflight.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';

/** A UDP port on loopback that takes every datagram and answers none: a dead resolver. */
async function blackHole(): Promise<{ port: number; received(): number; close(): void }> {
  const socket = createSocket('udp4');
  let count = 0;
  socket.on('message', () => count++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, received: () => count, close: () => socket.close() };
}

/** The question name of a DNS message (uncompressed, as a query has it); '' for the root. */
function questionName(msg: Buffer): string {
  const labels: string[] = [];
  for (let i = 12; msg[i]! > 0; i += msg[i]! + 1) labels.push(msg.toString('latin1', i + 1, i + 1 + msg[i]!));
  return labels.join('.');
}

/** A NOERROR reply to `query` with these A records. */
function reply(query: Buffer, addresses: string[]): Buffer {
  let end = 12;
  while (query[end]! > 0) end += query[end]! + 1;
  const question = query.subarray(12, end + 5);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const answers = addresses.map((a) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(4, 10);
    a.split('.').forEach((o, i) => (rr[12 + i] = Number(o)));
    return rr;
  });
  return Buffer.concat([header, question, ...answers]);
}

describe('DnsClient against a loopback resolver', () => {
  let dns: FixtureDns;
  let second: FixtureDns;

  before(async () => {
    dns = await startFixtureDns({
      zones: {
        'example.org': {
          A: ['93.184.215.14'],
          TXT: ['v=spf1 -all', ['v=DKIM1; p=', 'MIIB', 'IjAN']],
          SOA: ['ns1.example.org hostmaster.example.org 1 3600 600 86400 120'],
        },
        'www.example.org': { CNAME: ['web.example.org'] },
        'web.example.org': { CNAME: ['edge.cdn.example.net'] },
        'edge.cdn.example.net': { A: ['93.184.215.15'] },
        'loop1.example.org': { CNAME: ['loop2.example.org'] },
        'loop2.example.org': { CNAME: ['loop1.example.org'] },
        '_25._tcp.mx.example.org': {
          TLSA: ['3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6'],
        },
        'signed.example.org': { A: ['93.184.215.16'] },
        'bogus.example.org': { A: ['93.184.215.17'] },
        'sub.empty.example.org': { A: ['93.184.215.18'] },
      },
      behaviour: {
        'signed.example.org': { ad: true },
        'bogus.example.org': { bogus: true },
        'slow.example.org': { delayMs: 5000 },
        'dead.example.org': { silent: true },
        ...Object.fromEntries(
          Array.from({ length: 9 }, (_, i) => [`queued${i}.example.org`, { delayMs: 200 }]),
        ),
      },
    });
    second = await startFixtureDns({ zones: { 'example.org': { A: ['93.184.215.99'] } }, ad: true });
  });
  after(async () => {
    await dns.stop();
    await second.stop();
  });

  const client = (
    servers: FixtureDns[] = [dns],
    opts: Partial<ConstructorParameters<typeof DnsClient>[0]> = {},
  ) =>
    new DnsClient({
      servers: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
      timeoutMs: 300,
      retries: 1,
      ...opts,
    });

  it('returns records with TTLs and logs the exchange', async () => {
    const c = client();
    const a = await c.query('EXAMPLE.org.', 'A');
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(a.records, [{ name: 'example.org', ttl: 300, type: 'A', address: '93.184.215.14' }]);
    assert.equal(a.ttl, 300);
    assert.equal(c.log.length, 1);
    assert.equal(c.log[0]!.name, 'example.org');
    assert.equal(c.log[0]!.answers, 1);
  });

  it('answers a name that cannot be put on the wire as data, asking nobody', async () => {
    // Names come from untrusted text too: a bounce's DKIM selector, a pasted host name.
    const c = client();
    const long = await c.query(`${'s'.repeat(64)}._domainkey.example.org`, 'TXT');
    assert.equal(long.rcode, 'OTHER');
    assert.match(long.error ?? '', /^not asked: .*64 octets/);
    const wide = await c.query('\u4e2d\u6587.example.org', 'A');
    assert.equal(wide.rcode, 'OTHER');
    assert.match(wide.error ?? '', /A-labels/);
    assert.equal(c.log.length, 0);
  });

  it('joins TXT character-strings without separators (RFC 7208 §3.3)', async () => {
    const a = await client().query('example.org', 'TXT');
    assert.deepEqual(a.records.map((r) => r.text).sort(), ['v=DKIM1; p=MIIBIjAN', 'v=spf1 -all']);
  });

  it('distinguishes NXDOMAIN from NODATA and gives the negative TTL from the SOA', async () => {
    const c = client();
    const nx = await c.query('missing.example.org', 'A');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.ttl, 120);
    const nodata = await c.query('example.org', 'MX');
    assert.equal(nodata.rcode, 'NOERROR');
    assert.equal(nodata.records.length, 0);
    const ent = await c.query('empty.example.org', 'A');
    assert.equal(ent.rcode, 'NOERROR', 'an empty non-terminal exists (RFC 8020)');
  });

  it('follows a CNAME chain and reports it', async () => {
    const a = await client().query('www.example.org', 'A');
    assert.deepEqual(a.cnameChain, ['web.example.org', 'edge.cdn.example.net']);
    assert.deepEqual(
      a.records.map((r) => r.address),
      ['93.184.215.15'],
    );
  });

  it('stops on a CNAME loop', async () => {
    const a = await client().query('loop1.example.org', 'A');
    assert.equal(a.records.length, 0);
    assert.ok(a.cnameChain.length <= 11);
  });

  it('decodes TLSA (type 52), which dns2 keeps as raw rdata', async () => {
    const a = await client().query('_25._tcp.mx.example.org', 'TLSA');
    assert.deepEqual(
      a.records.map((r) => [r.usage, r.selector, r.matchingType, r.data]),
      [[3, 1, 1, '0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6']],
    );
  });

  it('asks with AD set (RFC 6840 §5.7) and reports the AD bit of the answer', async () => {
    const c = client();
    const signed = await c.query('signed.example.org', 'A');
    assert.equal(signed.ad, true);
    assert.equal((await c.query('example.org', 'A')).ad, false);
    assert.ok(dns.queries.some((q) => q.name === 'signed.example.org' && q.ad));
  });

  it('sees a bogus answer as SERVFAIL, and its data with CD set', async () => {
    const c = client();
    assert.equal((await c.query('bogus.example.org', 'A')).rcode, 'SERVFAIL');
    const cd = await c.query('bogus.example.org', 'A', { checkingDisabled: true });
    assert.equal(cd.rcode, 'NOERROR');
    assert.equal(cd.records.length, 1);
  });

  it('times out, retries, and reports TIMEOUT as data', async () => {
    const c = client([dns], { retries: 2, timeoutMs: 100 });
    const t0 = performance.now();
    const a = await c.query('dead.example.org', 'A');
    assert.equal(a.rcode, 'TIMEOUT');
    assert.match(a.error ?? '', /no UDP answer/);
    // Nothing had come back from the resolver when the first attempt timed out: before asking
    // it again, the client asked it for the root zone's NS records, and it answered.
    assert.deepEqual(
      c.log.map((e) => `${e.name || '.'} ${e.type} ${e.rcode === 'TIMEOUT' ? 'TIMEOUT' : 'answered'}`),
      [
        'dead.example.org A TIMEOUT',
        '. NS answered',
        'dead.example.org A TIMEOUT',
        'dead.example.org A TIMEOUT',
      ],
    );
    assert.ok(performance.now() - t0 < 1000);
  });

  it('gets the same answers from a fixture that answers repeated questions from its cache (the latency bench)', async () => {
    const cached = await startFixtureDns({
      zones: {
        'example.org': { A: ['93.184.215.14'], SOA: ['ns1.example.org h.example.org 1 3600 600 86400 120'] },
      },
      ad: true,
      answerCache: true,
    });
    try {
      const ask = async (name: string) => {
        const c = client([cached], { retries: 0, timeoutMs: 1000 });
        const [a, nx] = await Promise.all([c.query(name, 'A'), c.query(`nothing.${name}`, 'A')]);
        return [a.rcode, a.ad, a.records.map((r) => r.address), a.ttl, nx.rcode, nx.ttl];
      };
      const first = await ask('example.org');
      assert.deepEqual(first, ['NOERROR', true, ['93.184.215.14'], 300, 'NXDOMAIN', 120]);
      assert.deepEqual(await ask('example.org'), first, 'the same answers, under the new IDs');
      assert.equal(cached.answeredFromCache, 2);
      assert.equal(cached.queries.length, 4, 'every query logged, cached or not');
      cached.set('example.org', { A: ['93.184.215.99'] });
      assert.deepEqual((await ask('example.org'))[2], ['93.184.215.99'], 'a zone change clears the cache');
      assert.equal(cached.answeredFromCache, 2);
    } finally {
      await cached.stop();
    }
  });

  it('keeps asking a live resolver that times out on one domain, every attempt of every query', async () => {
    // A domain whose name servers are dead: a live resolver times out on its names alone.
    const c = client([dns], { retries: 2, timeoutMs: 100 });
    const answers = await Promise.all(['A', 'MX', 'TXT'].map((t) => c.query('dead.example.org', t as 'A')));
    assert.deepEqual(
      answers.map((a) => a.rcode),
      ['TIMEOUT', 'TIMEOUT', 'TIMEOUT'],
    );
    for (const a of answers) assert.match(a.error ?? '', /no UDP answer/);
    assert.equal(c.log.filter((e) => e.name === 'dead.example.org').length, 9, 'three attempts each');
    assert.equal(c.log.filter((e) => e.name === '').length, 1, 'one liveness query');
    assert.equal((await c.query('example.org', 'A')).rcode, 'NOERROR');
  });

  it('stops asking a resolver that answers neither a query nor the root zone', async () => {
    const hole = await blackHole();
    try {
      const c = new DnsClient({
        servers: [{ host: '127.0.0.1', port: hole.port }],
        timeoutMs: 100,
        retries: 2,
      });
      const names = ['a', 'b', 'c', 'd', 'e'].map((l) => `${l}.example.org`);
      const answers = await Promise.all(names.map((n) => c.query(n, 'A')));
      for (const a of answers) assert.equal(a.rcode, 'TIMEOUT');
      // Each question was sent once, then the liveness query; the retries were not sent.
      assert.equal(hole.received(), names.length + 1);
      assert.deepEqual(c.log.map((e) => e.name).sort(), ['', ...names]);
      for (const a of answers) assert.match(a.error ?? '', /^ETIMEDOUT: no UDP answer/);
      // A later question is not sent at all, and says why.
      const later = await c.query('f.example.org', 'MX');
      assert.equal(later.rcode, 'TIMEOUT');
      assert.match(
        later.error ?? '',
        /^not asked: 127\.0\.0\.1:\d+ answered no query, nor one for the root zone's NS records \(ETIMEDOUT/,
      );
      assert.equal(later.server, `127.0.0.1:${hole.port}`);
      assert.equal(hole.received(), names.length + 1);
    } finally {
      hole.close();
    }
  });

  it('asks the live resolver alone once the other answered neither a query nor the root zone', async () => {
    const hole = await blackHole();
    try {
      const c = new DnsClient({
        servers: [
          { host: '127.0.0.1', port: hole.port },
          { host: '127.0.0.1', port: second.port },
        ],
        timeoutMs: 150,
        retries: 1,
      });
      for (let i = 0; i < 6; i++) {
        const a = await c.query(i % 2 ? 'example.org' : `n${i}.example.org`, 'A');
        assert.notEqual(a.rcode, 'TIMEOUT', `query ${i}: ${a.error}`);
        assert.equal(a.server, `127.0.0.1:${second.port}`);
      }
      // The first query's first attempt, then the liveness query when its turn came again.
      assert.equal(hole.received(), 2);
    } finally {
      hole.close();
    }
  });

  it('moves to the next resolver after a timeout', async () => {
    const dead = await startFixtureDns({ zones: {}, behaviour: { 'example.org': { silent: true } } });
    try {
      const c = client([dead, second], { retries: 1, timeoutMs: 150 });
      const a = await c.query('example.org', 'A');
      assert.equal(a.rcode, 'NOERROR');
      assert.equal(a.server, `127.0.0.1:${second.port}`);
      assert.deepEqual(
        c.log.map((e) => e.rcode),
        ['TIMEOUT', 'NOERROR'],
      );
    } finally {
      await dead.stop();
    }
  });

  it('keeps at most maxInFlight queries outstanding per resolver; the rest wait instead of timing out', async () => {
    // A resolver that answers each query after 200 ms; the per-attempt timeout is 300 ms.
    // Nine queries through a limit of three go out in three waves, and none times out
    // because an attempt's clock starts only when it is sent.
    const c = client([dns], { maxInFlight: 3, timeoutMs: 300, retries: 0 });
    const t0 = performance.now();
    const all = Promise.all(Array.from({ length: 9 }, (_, i) => c.query(`queued${i}.example.org`, 'A')));
    await new Promise((r) => setTimeout(r, 80));
    // Three on the wire; the other six wait their turn in the process's admission queue.
    assert.deepEqual(inflightStats()[`127.0.0.1:${dns.port}`], { active: 3, waiting: 0 });
    assert.deepEqual(admissionStats(), { active: 3, waiting: 6, waitingForRoom: 0 });
    const answers = await all;
    assert.ok(performance.now() - t0 >= 580, 'three waves of 200 ms');
    assert.deepEqual(new Set(answers.map((a) => a.rcode)), new Set(['NXDOMAIN']));
    assert.ok(c.log.every((e) => e.rcode === 'NXDOMAIN' && e.ms < 300));
    assert.equal(inflightStats()[`127.0.0.1:${dns.port}`], undefined, 'no slot leaked');
  });

  it('shares a UDP socket per resolver for at most 32 questions, never repeating an ID on one socket', async () => {
    const before = dns.queries.length;
    const c = client([dns], { timeoutMs: 2000 });
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => c.query(`shared${i}.example.org`, 'A')),
    );
    assert.ok(answers.every((a) => a.rcode === 'NXDOMAIN'));
    const byPort = new Map<number, number[]>();
    for (const q of dns.queries.slice(before)) byPort.set(q.port!, [...(byPort.get(q.port!) ?? []), q.id]);
    assert.equal([...byPort.values()].flat().length, 100);
    assert.ok(byPort.size >= 4 && byPort.size <= 8, `${byPort.size} source ports`);
    for (const ids of byPort.values()) {
      assert.ok(ids.length <= 32);
      assert.equal(new Set(ids).size, ids.length, 'an ID used twice on one socket');
    }
  });

  it('takes on a shared socket only the reply with the ID, source address and port it waits for', async () => {
    // A resolver that answers a question's first attempt only after the client gave up on it,
    // just before the second attempt's answer, which a spoofer from another port tries to beat.
    const fake = createSocket('udp4');
    const spoofer = createSocket('udp4');
    await new Promise<void>((resolve) => fake.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => spoofer.bind(0, '127.0.0.1', resolve));
    const asked: { id: number; port: number; name: string }[] = [];
    let firstAttempt: Buffer | undefined;
    fake.on('message', (msg, rinfo) => {
      const name = questionName(msg);
      asked.push({ id: msg.readUInt16BE(0), port: rinfo.port, name });
      if (name === '') return void fake.send(reply(msg, []), rinfo.port, rinfo.address);
      if (!firstAttempt) return void (firstAttempt = msg);
      spoofer.send(reply(msg, ['192.0.2.66']), rinfo.port, rinfo.address);
      fake.send(reply(firstAttempt, ['192.0.2.1']), rinfo.port, rinfo.address);
      setTimeout(() => fake.send(reply(msg, ['192.0.2.2']), rinfo.port, rinfo.address), 20);
    });
    try {
      const c = new DnsClient({
        servers: [{ host: '127.0.0.1', port: fake.address().port }],
        timeoutMs: 150,
        retries: 1,
      });
      const a = await c.query('late.example.org', 'A');
      assert.deepEqual(
        a.records.map((r) => r.address),
        ['192.0.2.2'],
      );
      assert.deepEqual(
        asked.map((q) => q.name),
        ['late.example.org', '', 'late.example.org'],
      );
      assert.equal(new Set(asked.map((q) => q.port)).size, 1, 'one socket');
      assert.equal(new Set(asked.map((q) => q.id)).size, 3, 'a new ID each');
    } finally {
      fake.close();
      spoofer.close();
    }
  });

  it('makes identical in-flight queries once', async () => {
    const c = client();
    const before = dns.queries.length;
    const results = await Promise.all(Array.from({ length: 10 }, () => c.query('example.org', 'A')));
    assert.equal(dns.queries.length - before, 1);
    assert.ok(results.every((r) => r === results[0]));
  });

  it('shares a question asked `once` while it is awaited and does not keep its answer', async () => {
    const c = client();
    const before = dns.queries.length;
    const [a, b] = await Promise.all([
      c.query('example.org', 'TXT', { once: true }),
      c.query('example.org', 'TXT', { once: true }),
    ]);
    assert.equal(a, b);
    assert.equal(dns.queries.length - before, 1);
    await c.query('example.org', 'TXT');
    assert.equal(dns.queries.length - before, 2, 'asked again: the first answer was not kept');
    await c.query('example.org', 'TXT', { once: true });
    assert.equal(dns.queries.length - before, 2, 'a kept answer serves a once-question too');
  });

  it('honours an AbortSignal at once', async () => {
    const c = client([dns], { timeoutMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by test')), 50);
    const t0 = performance.now();
    await assert.rejects(
      c.query('slow.example.org', 'A', { signal: controller.signal }),
      /cancelled by test/,
    );
    assert.ok(performance.now() - t0 < 1000);
  });

  it('resolves at most maxInFlight × resolvers queries at once in the process; the rest queue in order and none leaks', async () => {
    // Twelve queries through an admission of four (two resolvers, two in flight each): four
    // are being resolved, eight wait as queued records, and they are sent in the order they
    // were asked.
    const c = client([dns, dns], { maxInFlight: 2, timeoutMs: 1000, retries: 0 });
    const before = dns.queries.length;
    const all = Promise.all(
      Array.from({ length: 12 }, (_, i) => c.query(`queued${i % 9}-${i}.example.org`, 'A')),
    );
    assert.deepEqual(admissionStats(), { active: 4, waiting: 8, waitingForRoom: 0 });
    const answers = await all;
    assert.deepEqual(new Set(answers.map((a) => a.rcode)), new Set(['NXDOMAIN']));
    assert.deepEqual(
      dns.queries.slice(before).map((q) => q.name),
      Array.from({ length: 12 }, (_, i) => `queued${i % 9}-${i}.example.org`),
    );
    assert.deepEqual(admissionStats(), { active: 0, waiting: 0, waitingForRoom: 0 });
  });

  it('keeps new work waiting while the process has more than ROOM_MARK questions queued', async () => {
    const c = client([dns], { maxInFlight: 1, timeoutMs: 1000, retries: 0 });
    const asked = Array.from({ length: ROOM_MARK + 40 }, (_, i) => c.query(`room${i}.example.org`, 'A'));
    const waitingAtGrant: number[] = [];
    const first = whenRoom(new AbortController().signal).then(() => {
      waitingAtGrant.push(admissionStats().waiting);
    });
    // A second caller waits behind the first, and one that gives up leaves the line.
    const second = whenRoom(new AbortController().signal).then(() => {
      waitingAtGrant.push(admissionStats().waiting);
    });
    const leaving = new AbortController();
    const left = assert.rejects(whenRoom(leaving.signal), /gave up/);
    assert.equal(admissionStats().waitingForRoom, 3);
    leaving.abort(new Error('gave up'));
    await left;
    assert.equal(admissionStats().waitingForRoom, 2);
    await Promise.all([first, second, ...asked]);
    assert.equal(waitingAtGrant.length, 2);
    assert.ok(
      waitingAtGrant.every((n) => n < ROOM_MARK),
      `granted with ${waitingAtGrant.join(', ')} queued`,
    );
    assert.deepEqual(admissionStats(), { active: 0, waiting: 0, waitingForRoom: 0 });
  });

  it('shares answers across clients through a TtlCache until they expire', async () => {
    let now = 1_000_000;
    const cache = new TtlCache({ now: () => now });
    const before = dns.queries.length;
    await client([dns], { cache }).query('example.org', 'A');
    await client([dns], { cache }).query('example.org', 'A');
    assert.equal(dns.queries.length - before, 1);
    now += 301_000;
    await client([dns], { cache }).query('example.org', 'A');
    assert.equal(dns.queries.length - before, 2);
  });
});
