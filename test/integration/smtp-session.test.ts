import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSession, sessionClosed } from '../../src/smtp/session.js';
import type { SessionPlan } from '../../src/smtp/session.js';
import { freePort, scriptedMta, startPlaybook } from '../support/smtp-fakes.js';
import type { Playbook } from '../support/smtp-fakes.js';

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The session state machine against raw playbook servers: deadlines, limits, guard, pipelining. */
describe('SMTP session', () => {
  let port: number;
  const fakes: Playbook[] = [];
  const host = (n: number): string => `127.0.0.${40 + n}`;

  before(async () => {
    port = await freePort();
    // 0: a tarpit greeting, one byte per 300 ms.
    fakes.push(
      await startPlaybook(host(0), port, async (conn) => {
        for (const ch of '220 slow.example.test ESMTP\r\n') {
          if (conn.closed) return;
          conn.raw(ch);
          await conn.sleep(300);
        }
      }),
    );
    // 1: an EHLO reply with endless continuation lines.
    fakes.push(
      await startPlaybook(host(1), port, async (conn) => {
        conn.send('220 many.example.test ESMTP');
        await conn.read();
        for (let i = 0; i < 5000 && !conn.closed; i++) {
          conn.send(`250-EXTENSION${i}`);
          if (i % 100 === 0) await conn.sleep(1);
        }
      }),
    );
    // 2: no PIPELINING, and at most two recipients per transaction.
    fakes.push(
      await startPlaybook(
        host(2),
        port,
        (() => {
          let rcpts = 0;
          return scriptedMta({
            name: 'strict.example.test',
            extensions: ['8BITMIME'],
            reply: (line) => {
              if (/^(MAIL|RSET)/i.test(line)) rcpts = 0;
              if (/^RCPT/i.test(line))
                return ++rcpts > 2 ? '452 4.5.3 Error: too many recipients' : '250 2.1.5 Ok';
              return undefined;
            },
          });
        })(),
      ),
    );
    // 3: silent after the greeting.
    fakes.push(
      await startPlaybook(host(3), port, async (conn) => {
        conn.send('220 quiet.example.test ESMTP');
        while ((await conn.read()) !== undefined) {
          // never answers
        }
      }),
    );
    // 4: PIPELINING offered.
    fakes.push(
      await startPlaybook(
        host(4),
        port,
        scriptedMta({ name: 'piped.example.test', extensions: ['PIPELINING', '8BITMIME'] }),
      ),
    );
    // 5: a slow goodbye: answers QUIT only when the test lets it (a far server's 221).
    for (const pipelining of [true, false])
      fakes.push(
        await startPlaybook(
          host(pipelining ? 5 : 6),
          port,
          scriptedMta({
            name: 'slow-bye.example.test',
            extensions: pipelining ? ['PIPELINING'] : [],
            reply: async (line) => {
              if (!/^QUIT/i.test(line)) return undefined;
              await goodbye.promise;
              return '221 2.0.0 Bye';
            },
          }),
        ),
      );
  });
  /** Opened by the tests of the slow goodbye. */
  let goodbye = gate();
  after(async () => {
    for (const f of fakes) f.assertNoMessageSent();
    await Promise.all(fakes.map((f) => f.stop()));
  });

  const plan = (n: number, extra: Partial<SessionPlan> = {}): SessionPlan => ({
    kind: 'probe',
    host: `mx${n}.example.test`,
    address: host(n),
    port,
    heloName: 'probe.mxdoctor.test',
    mailFrom: 'probe@mxdoctor.test',
    starttls: true,
    recipients: [],
    timeouts: {
      connectMs: 2000,
      bannerMs: 2000,
      commandMs: 2000,
      envelopeMs: 2000,
      tlsMs: 2000,
      sessionMs: 10_000,
    },
    limits: { maxLineBytes: 2048, maxReplyLines: 100, maxSessionBytes: 262_144 },
    allowPrivate: true,
    signal: new AbortController().signal,
    ...extra,
  });

  it('ends a session at its overall deadline, naming the phase it was in', async () => {
    const t0 = Date.now();
    const r = await runSession(
      plan(0, { timeouts: { ...plan(0).timeouts, bannerMs: 30_000, sessionMs: 1200 } }),
    );
    assert.equal(r.error?.code, 'ETIMEDOUT');
    assert.match(r.error!.message, /SMTP session timed out after 1200 ms \(waiting for the banner reply\)/);
    assert.ok(Date.now() - t0 < 3000);
  });

  it('cancels everything when the caller aborts, and rejects', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('job cancelled')), 300);
    await assert.rejects(runSession(plan(3, { signal: controller.signal })), /job cancelled/);
  });

  it('stops a reply with too many lines at the limit', async () => {
    const r = await runSession(plan(1));
    assert.equal(r.error?.code, 'ELIMIT');
    assert.match(r.error!.message, /more than 100 lines/);
    assert.equal(r.ehlo, undefined);
  });

  it('stops at the session byte budget', async () => {
    const r = await runSession(
      plan(1, { limits: { maxLineBytes: 2048, maxReplyLines: 100_000, maxSessionBytes: 8192 } }),
    );
    assert.equal(r.error?.code, 'ELIMIT');
    assert.match(r.error!.message, /more than 8192 bytes/);
    assert.ok(r.bytesIn < 8192 + 65_536);
  });

  it('refuses a loopback address unless private addresses are allowed, without connecting', async () => {
    const before = fakes[2]!.connections;
    const r = await runSession(plan(2, { allowPrivate: false }));
    assert.equal(r.connect.failure, 'forbidden');
    assert.match(r.connect.error!, /loopback/);
    assert.equal(fakes[2]!.connections, before);
  });

  it('asks recipients one by one without PIPELINING, and opens a new transaction after "too many recipients"', async () => {
    const recipients = ['a', 'b', 'c', 'd'].map((l) => ({
      to: `${l}@example.test`,
      role: 'verify' as const,
    }));
    const r = await runSession(plan(2, { recipients }));
    assert.deepEqual(
      r.rcpts.map((x) => [x.to, x.verdict]),
      recipients.map((x) => [x.to, 'deliverable']),
    );
    await sessionClosed(r);
    const sent = fakes[2]!.commands.at(-1)!;
    assert.deepEqual(sent, [
      'EHLO probe.mxdoctor.test',
      'MAIL FROM:<probe@mxdoctor.test>',
      'RCPT TO:<a@example.test>',
      'RCPT TO:<b@example.test>',
      'RCPT TO:<c@example.test>',
      'RCPT TO:<d@example.test>',
      'RSET',
      'MAIL FROM:<probe@mxdoctor.test>',
      'RCPT TO:<c@example.test>',
      'RCPT TO:<d@example.test>',
      'RSET',
      'QUIT',
    ]);
    assert.equal(r.quit, true);
  });

  const tail = {
    recipients: [{ to: 'a@example.test', role: 'verify' as const }],
    nullSenderTo: 'postmaster@example.test',
    relay: { from: 'probe@mxdoctor.test', to: 'someone@example.net' },
  };
  /** The transcript's commands and replies from the first MAIL on, as "C …" / "S …". */
  const envelope = (r: { transcript: { dir: string; line: string }[] }): string[] => {
    const lines = r.transcript.filter((l) => l.dir === 'C' || l.dir === 'S').map((l) => `${l.dir} ${l.line}`);
    return lines.slice(lines.findIndex((l) => l.startsWith('C MAIL')));
  };

  it('sends the recipient test, its RSET and the null-sender and relay transactions as one group when PIPELINING is offered, then QUIT', async () => {
    const r = await runSession(plan(4, tail));
    assert.equal(r.rcpts[0]?.reply?.code, 250);
    assert.equal(r.nullSender?.rcptReply?.code, 250);
    assert.equal(r.relay?.rcptReply?.code, 250);
    await sessionClosed(r);
    const lines = envelope(r);
    // One write of every command (RFC 2920 §3.1: RSET, MAIL and RCPT may appear anywhere in a
    // group), then their nine replies in order, then QUIT on its own, not waited for.
    assert.deepEqual(lines.slice(0, 9), [
      'C MAIL FROM:<probe@mxdoctor.test>',
      'C RCPT TO:<a@example.test>',
      'C RSET',
      'C MAIL FROM:<>',
      'C RCPT TO:<postmaster@example.test>',
      'C RSET',
      'C MAIL FROM:<probe@mxdoctor.test>',
      'C RCPT TO:<someone@example.net>',
      'C RSET',
    ]);
    assert.ok(
      lines.slice(9, 18).every((l) => l.startsWith('S 250 ')),
      lines.join('\n'),
    );
    assert.deepEqual(lines.slice(18), ['C QUIT', 'S 221 2.0.0 Bye']);
    assert.equal(r.quit, true);
  });

  it('asks a second random address in a transaction of its own when the first was accepted, after the group', async () => {
    const r = await runSession(
      plan(4, {
        ...tail,
        recipients: [...tail.recipients, { to: 'x1@example.test', role: 'random' as const }],
        extraRandom: ['x2@example.test'],
      }),
    );
    await sessionClosed(r);
    assert.deepEqual(
      r.rcpts.map((x) => `${x.to} ${x.verdict}`),
      ['a@example.test deliverable', 'x1@example.test deliverable', 'x2@example.test deliverable'],
    );
    const lines = envelope(r).filter((l) => l.startsWith('C '));
    // The follow-up transaction comes after the whole first group, and QUIT ends it.
    assert.ok(
      lines.indexOf('C RCPT TO:<someone@example.net>') < lines.indexOf('C RCPT TO:<x2@example.test>'),
    );
    assert.deepEqual(lines.slice(-4), [
      'C MAIL FROM:<probe@mxdoctor.test>',
      'C RCPT TO:<x2@example.test>',
      'C RSET',
      'C QUIT',
    ]);
  });

  it('sends RSET and QUIT as one group after the recipients when nothing else follows (PIPELINING)', async () => {
    const r = await runSession(plan(4, { recipients: tail.recipients }));
    await sessionClosed(r);
    assert.deepEqual(envelope(r).slice(-5), [
      'S 250 2.1.5 Ok',
      'C RSET',
      'C QUIT',
      'S 250 2.0.0 Ok',
      'S 221 2.0.0 Bye',
    ]);
  });

  for (const pipelining of [true, false])
    it(`is done once QUIT is written, and records the 221 that comes while the connection closes (${pipelining ? 'PIPELINING' : 'lock step'})`, async () => {
      goodbye = gate();
      // The server holds its 221 until the session has returned: had the session waited for it, it would not return.
      const r = await runSession(plan(pipelining ? 5 : 6, tail));
      assert.equal(r.relay?.rcptReply?.code, 250);
      assert.equal(r.error, undefined);
      assert.equal(r.transcript.filter((l) => l.dir === 'C').at(-1)?.line, 'QUIT');
      assert.ok(!r.transcript.some((l) => l.line.startsWith('221 ')));
      assert.equal(r.quit, false);
      goodbye.resolve();
      await sessionClosed(r);
      // Pipelined, QUIT went out with the group, before its replies; in lock step, on its own.
      const last = r.transcript.slice(pipelining ? -2 : -3).map((l) => `${l.dir} ${l.line}`);
      assert.deepEqual(last, [...(pipelining ? [] : ['C QUIT']), 'S 221 2.0.0 Bye', '* connection closed']);
      assert.equal(r.quit, true);
      const at = r.transcript.map((l) => l.atMs);
      assert.deepEqual(
        at,
        [...at].sort((a, b) => a - b),
        'transcript in order',
      );
    });

  it('closes after the grace when the 221 never comes, and the session is not held for it', async () => {
    goodbye = gate();
    const r = await runSession(
      plan(6, { recipients: tail.recipients, timeouts: { ...plan(6).timeouts, commandMs: 300 } }),
    );
    assert.equal(r.rcpts[0]?.verdict, 'deliverable');
    await sessionClosed(r);
    assert.equal(r.quit, false);
    assert.deepEqual(
      r.transcript.slice(-2).map((l) => `${l.dir} ${l.line}`),
      ['C QUIT', '* connection closed'],
    );
    goodbye.resolve();
  });

  it('keeps the null-sender and relay transactions in lock step without PIPELINING', async () => {
    const r = await runSession(plan(2, tail));
    await sessionClosed(r);
    const lines = envelope(r);
    for (let i = 0; i < lines.length; i += 2) {
      assert.ok(lines[i]!.startsWith('C ') && lines[i + 1]?.startsWith('S '), lines.join('\n'));
    }
    assert.equal(r.relay?.rcptReply?.code, 250);
  });
});
