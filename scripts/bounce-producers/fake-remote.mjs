#!/usr/bin/env node
// The "remote" MX for the bounce producers (test/fixtures/bounces/producers/README.md): a small
// SMTP server on loopback that answers with chosen replies, so every bounce a real MTA writes
// about it has a known cause. Not used by tests; run by hand while generating fixtures:
//
//   node scripts/bounce-producers/fake-remote.mjs [--port 2525] [--log /tmp/fake-remote.log]
//
// One behaviour per loopback address, all on --port (so an MTA needs one port setting and
// routes each test domain to an address):
//   127.0.0.26  remote.test: a normal server; the reply to RCPT depends on the recipient's
//               local part (RCPT below), the reply after DATA on the first accepted recipient
//               (DATA below); other local parts are accepted
//   127.0.0.27  connect-blocked.test: refuses at connection with a Spamhaus-style 554 greeting
//   127.0.0.28  greet-421.test: greets with 421 4.3.2 and closes
//   127.0.0.29  silent.test: accepts the TCP connection and never says anything
//   127.0.0.30  small.test: advertises SIZE 2000 in its EHLO reply, then behaves like .26
//   127.0.0.31  refused.test: nothing listens there (connection refused)
import net from 'node:net';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const PORT = Number(opt('--port', '2525'));
const LOG = opt('--log', '/tmp/fake-remote.log');
// Mail for the sender's own domain is the bounce coming back (from MTAs that return bounces by
// SMTP, e.g. Haraka and nullmailer): stored as received, one file each, in --catch/<port>.
const CATCH = opt('--catch', '/srv/bp/out/catch');
const NAME = 'mx.remote.test';

const log = (id, dir, line) => appendFileSync(LOG, `${new Date().toISOString()} ${id} ${dir} ${line}\n`);

/** The reply to RCPT TO for a local part; null accepts. */
const RCPT = {
  unknown: (a) => `550 5.1.1 <${a}>: Recipient address rejected: User unknown in virtual mailbox table`,
  full: (a) => `552 5.2.2 <${a}>: Recipient address rejected: Mailbox full`,
  fulltemp: (a) => `452 4.2.2 <${a}>: Mailbox full, try again later`,
  dnsbl: () =>
    '554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/127.0.0.1',
  grey: (a) =>
    `450 4.2.0 <${a}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/remote.test.html`,
  disabled: (a) => `550 5.2.1 <${a}>: Recipient address rejected: Mailbox disabled, account suspended`,
  relay: (a) => `554 5.7.1 <${a}>: Relay access denied`,
  nodomain: (a) => `550 5.1.2 <${a}>: Recipient address rejected: Domain not found`,
};

/** The reply after the data of a message whose first accepted recipient has this local part. */
const DATA = {
  spam: '554 5.7.1 Message content rejected as spam (score 12.4 > 5.0)',
  virus: '554 5.7.0 Message rejected: virus found in attachment (Eicar-Test-Signature)',
  toobig: '552 5.3.4 Message size exceeds fixed maximum message size',
  tempdata: '451 4.3.0 Temporary local problem, try again later',
};

const local = (addr) => addr.replace(/^.*?<?([^<@>]*)@.*$/, '$1').toLowerCase();
const addrOf = (arg) => arg.match(/<([^>]*)>/)?.[1] ?? arg.split(/[:\s]/)[1] ?? '';

function session(sock, kind, { size } = {}) {
  const id = `${kind}#${Math.random().toString(36).slice(2, 7)}`;
  const say = (line) => {
    log(id, '<', line);
    sock.write(line + '\r\n');
  };
  let buf = '';
  let inData = false;
  let data = '';
  let rcpts = [];
  sock.setTimeout(120000, () => sock.destroy());
  sock.on('error', () => {});
  say(`220 ${NAME} ESMTP fake-remote`);
  sock.on('data', (chunk) => {
    buf += chunk.toString('latin1');
    for (;;) {
      if (inData) {
        const end = buf.indexOf('\r\n.\r\n');
        const endAtStart = data === '' && buf.startsWith('.\r\n');
        if (end < 0 && !endAtStart) {
          if (buf.length > 64) {
            data += buf.slice(0, -8);
            buf = buf.slice(-8);
          }
          return;
        }
        const cut = endAtStart ? 0 : end + 2;
        data += buf.slice(0, cut);
        buf = buf.slice(cut + 3);
        inData = false;
        log(id, '.', `(${data.length} bytes of data)`);
        const first = rcpts[0] ?? '';
        if (rcpts.some((r) => /@sender\.test$/i.test(r))) {
          mkdirSync(CATCH, { recursive: true });
          const file = `${CATCH}/${new Date().toISOString().replace(/[:.]/g, '-')}-${id.replace(/\W/g, '')}.eml`;
          writeFileSync(file, data.replace(/^\.\./gm, '.'), 'latin1');
          log(id, '.', `stored as ${file}`);
        }
        say(DATA[local(first)] ?? `250 2.0.0 Ok: queued as ${Date.now().toString(36).toUpperCase()}`);
        data = '';
        rcpts = [];
        continue;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      log(id, '>', line);
      const verb = line.split(' ')[0].toUpperCase();
      if (verb === 'EHLO') {
        const ext = [NAME, 'PIPELINING', `SIZE ${size ?? 10240000}`, '8BITMIME', 'ENHANCEDSTATUSCODES'];
        ext.forEach((e, i) => say(`250${i === ext.length - 1 ? ' ' : '-'}${e}`));
      } else if (verb === 'HELO') say(`250 ${NAME}`);
      else if (verb === 'LHLO') say(`250 ${NAME}`);
      else if (verb === 'MAIL') {
        rcpts = [];
        const m = line.match(/SIZE=(\d+)/i);
        if (size && m && Number(m[1]) > size) say('552 5.3.4 Message size exceeds fixed limit');
        else say('250 2.1.0 Ok');
      } else if (verb === 'RCPT') {
        const a = addrOf(line.slice(5));
        const rule = RCPT[local(a)];
        if (rule) say(rule(a));
        else {
          rcpts.push(a);
          say('250 2.1.5 Ok');
        }
      } else if (verb === 'DATA') {
        if (rcpts.length === 0) say('554 5.5.1 Error: no valid recipients');
        else {
          inData = true;
          say('354 End data with <CR><LF>.<CR><LF>');
        }
      } else if (verb === 'RSET') {
        rcpts = [];
        say('250 2.0.0 Ok');
      } else if (verb === 'NOOP') say('250 2.0.0 Ok');
      else if (verb === 'QUIT') {
        say('221 2.0.0 Bye');
        sock.end();
        return;
      } else say('502 5.5.2 Error: command not recognized');
    }
  });
}

const servers = {
  '127.0.0.26': (s) => session(s, 'normal'),
  '127.0.0.27': (s) => {
    const line =
      '554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/127.0.0.1';
    log('blocked', '<', line);
    s.on('error', () => {});
    s.end(line + '\r\n');
  },
  '127.0.0.28': (s) => {
    const line = '421 4.3.2 Service not available, closing transmission channel';
    log('greet421', '<', line);
    s.on('error', () => {});
    s.end(line + '\r\n');
  },
  '127.0.0.29': (s) => {
    log('silent', '-', 'connection accepted, staying silent');
    s.on('error', () => {});
    s.setTimeout(600000, () => s.destroy());
  },
  '127.0.0.30': (s) => session(s, 'small', { size: 2000 }),
};
for (const [host, handler] of Object.entries(servers)) {
  net.createServer(handler).listen(PORT, host, () => console.log(`listening ${host}:${PORT}`));
}
