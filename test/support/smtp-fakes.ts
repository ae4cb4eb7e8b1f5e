import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';
import type { SecureContext, SecureContextOptions } from 'node:tls';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerOptions, SMTPServerAddress, SMTPServerSession } from 'smtp-server';

/**
 * Fake MX servers for tests, on loopback only.
 *
 * - `startSmtpFake` wraps the `smtp-server` package: a well-behaved MTA with STARTTLS, a
 *   user list, catch-all, greylisting and sender policies.
 * - `startPlaybook` is a raw net/tls server that runs a script per connection, for servers
 *   that misbehave in ways no real MTA library can be told to (tarpits, endless lines,
 *   drops, broken STARTTLS, legacy-only TLS).
 *
 * Both record every command line they receive, and record a violation (and answer 554 and
 * hang up) if a client ever sends DATA or BDAT: the prober must never start a message.
 * Tests call `assertNoMessageSent()` (or check `violations`) for every fake.
 */

export interface FakeBase {
  host: string;
  port: number;
  /** Every command line received, in order, per connection. */
  commands: string[][];
  /** DATA/BDAT lines received: must stay empty. */
  violations: string[];
  connections: number;
  assertNoMessageSent(): void;
  stop(): Promise<void>;
}

function base(host: string, port: number): Omit<FakeBase, 'stop'> {
  const fake: Omit<FakeBase, 'stop'> = {
    host,
    port,
    commands: [],
    violations: [],
    connections: 0,
    assertNoMessageSent() {
      if (fake.violations.length > 0) {
        throw new Error(
          `the probe sent a message command to the fake at ${host}: ${fake.violations.join(' | ')}`,
        );
      }
    },
  };
  return fake;
}

const MESSAGE_COMMAND = /^\s*(DATA|BDAT)\b/i;

export interface SmtpFakeOptions {
  host: string;
  port: number;
  /** Name in the banner and EHLO greeting. */
  name: string;
  tls?: SecureContextOptions;
  /** Offer STARTTLS (needs tls). @defaultValue true when tls is given */
  starttls?: boolean;
  /** Local parts (lower case) that exist; postmaster always exists unless listed in `rejectPostmaster`. */
  users?: string[];
  /** Domains this server accepts mail for. */
  domains: string[];
  catchAll?: boolean;
  /** Greylist every RCPT of a (sender, recipient) pair until this many ms after its first attempt. */
  greylistMs?: number;
  /**
   * Defer every RCPT with this reply: from a client's first connection only (Postfix
   * postscreen's after-greeting tests: a client that completes them is let through when it
   * reconnects), or always (a broken lookup table).
   */
  deferRcpt?: { code: number; text: string; firstConnectionOnly: boolean };
  /** Refuse MAIL FROM from this sender with 550 5.7.1. */
  rejectSender?: string;
  /** Refuse the null reverse-path at RCPT. */
  rejectNullSender?: boolean;
  /** Accept recipients in any domain (an open relay). */
  openRelay?: boolean;
  rejectPostmaster?: boolean;
  /** Offer AUTH before STARTTLS. */
  auth?: boolean;
  size?: number;
  /**
   * Write RFC 3463 codes into the replies ourselves (as Postfix does) instead of letting
   * smtp-server pick one per reply code (its 550 is always 5.1.1, its 554 5.6.0).
   */
  ownEnhancedCodes?: boolean;
  /** Extra smtp-server options. */
  extra?: Partial<SMTPServerOptions>;
}

export interface SmtpFake extends FakeBase {
  /** RCPT TO addresses seen, with the reply code given. */
  rcpts: { to: string; from: string; code: number }[];
  /** Serves another certificate from the next connection on (a certificate renewal). */
  setTls(tls: SecureContextOptions): void;
  /** Offers STARTTLS, or not, from the next connection on (a server that flaps). */
  setStartTls(offer: boolean): void;
}

export async function startSmtpFake(options: SmtpFakeOptions): Promise<SmtpFake> {
  const fake = base(options.host, options.port) as SmtpFake;
  fake.rcpts = [];
  const greylist = new Map<string, number>();
  const users = new Set((options.users ?? []).map((u) => u.toLowerCase()));
  const domains = new Set(options.domains.map((d) => d.toLowerCase()));
  const commandsOf = new Map<string, string[]>();
  const passedClients = new Set<string>();
  const deferringSessions = new Set<string>();
  const smtpError = (code: number, message: string): Error & { responseCode: number } =>
    Object.assign(
      new Error(options.ownEnhancedCodes ? message : message.replace(/^\d\.\d{1,3}\.\d{1,3} /, '')),
      {
        responseCode: code,
      },
    );
  const logger = {
    level: () => undefined,
    trace: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    fatal: () => undefined,
    child: () => logger,
    debug: (meta: { cid?: string; command?: string } | undefined, ...args: unknown[]) => {
      if (!meta?.command || args[0] !== 'C:') return;
      const line = String(args[1] ?? '');
      const list = commandsOf.get(meta.cid ?? '') ?? [];
      list.push(line);
      if (MESSAGE_COMMAND.test(meta.command)) fake.violations.push(line);
    },
  };
  const server = new SMTPServer({
    name: options.name,
    banner: 'mxdoctor test fake',
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    hideSTARTTLS: !options.tls || options.starttls === false,
    hideENHANCEDSTATUSCODES: options.ownEnhancedCodes === true,
    authOptional: true,
    ...(options.auth ? { authMethods: ['PLAIN', 'LOGIN'] } : { disabledCommands: ['AUTH'] }),
    ...(options.size ? { size: options.size } : {}),
    logger: logger as unknown as SMTPServerOptions['logger'],
    onConnect(session, callback) {
      fake.connections++;
      const list: string[] = [];
      fake.commands.push(list);
      commandsOf.set(session.id, list);
      const defer = options.deferRcpt;
      if (defer && !(defer.firstConnectionOnly && passedClients.has(session.remoteAddress)))
        deferringSessions.add(session.id);
      callback();
    },
    onMailFrom(address: SMTPServerAddress, _session: SMTPServerSession, callback) {
      if (options.rejectSender && address.address.toLowerCase() === options.rejectSender.toLowerCase()) {
        return callback(smtpError(550, '5.7.1 Sender address rejected: Access denied'));
      }
      callback();
    },
    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback) {
      const to = address.address.toLowerCase();
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '';
      const [local, domain] = [to.slice(0, to.lastIndexOf('@')), to.slice(to.lastIndexOf('@') + 1)];
      const answer = (code: number, err?: Error): void => {
        fake.rcpts.push({ to, from, code });
        callback(err);
      };
      if (options.deferRcpt && deferringSessions.has(session.id)) {
        passedClients.add(session.remoteAddress);
        return answer(options.deferRcpt.code, smtpError(options.deferRcpt.code, options.deferRcpt.text));
      }
      if (!domains.has(domain) && !options.openRelay) {
        return answer(554, smtpError(554, '5.7.1 Relay access denied'));
      }
      if (options.greylistMs !== undefined) {
        const key = `${session.remoteAddress}|${from}|${to}`;
        const first = greylist.get(key);
        if (first === undefined) greylist.set(key, Date.now());
        if (first === undefined || Date.now() - first < options.greylistMs) {
          return answer(
            450,
            smtpError(450, '4.7.1 Recipient address rejected: Greylisted, please try again later'),
          );
        }
      }
      if (from === '' && options.rejectNullSender) {
        return answer(550, smtpError(550, '5.7.1 Null sender not accepted'));
      }
      if (local === 'postmaster' && options.rejectPostmaster) {
        return answer(550, smtpError(550, '5.1.1 <postmaster>: Recipient address rejected: User unknown'));
      }
      if (options.catchAll || local === 'postmaster' || users.has(local) || !domains.has(domain))
        return answer(250);
      return answer(
        550,
        smtpError(550, `5.1.1 <${to}>: Recipient address rejected: User unknown in local recipient table`),
      );
    },
    onData(stream, _session, callback) {
      fake.violations.push('DATA (message body reached onData)');
      stream.resume();
      stream.on('end', () => callback(smtpError(554, '5.7.0 test fake: a probe must never send DATA')));
    },
    ...options.extra,
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  fake.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  fake.setTls = (tls) => server.updateSecureContext({ key: tls.key, cert: tls.cert } as never);
  fake.setStartTls = (offer) => {
    (server.options as { hideSTARTTLS?: boolean }).hideSTARTTLS = !offer;
  };
  return fake;
}

/** One client connection of a playbook server. */
export interface PlaybookConnection {
  /** Sends lines, each terminated with CRLF. */
  send(...lines: string[]): void;
  /** Sends raw bytes/text as is. */
  raw(text: string): void;
  /** Next command line from the client (undefined when it hung up). */
  read(): Promise<string | undefined>;
  /**
   * Upgrades to TLS as the server side of STARTTLS: with a context built once (as a real MTA
   * loads its certificate at start), or one built from the options at this STARTTLS.
   */
  startTls(
    options:
      SecureContext | (SecureContextOptions & { minVersion?: string; maxVersion?: string; ciphers?: string }),
  ): Promise<void>;
  /** Protocol of the TLS session, once upgraded. */
  tlsProtocol(): string | undefined;
  sleep(ms: number): Promise<void>;
  close(): void;
  readonly closed: boolean;
}

export interface Playbook extends FakeBase {
  /** Errors thrown by the script (other than the client hanging up). */
  errors: string[];
}

/**
 * A raw server that runs `script` for each connection. A client's DATA or BDAT line is a
 * violation: the connection answers 554 and closes.
 */
export async function startPlaybook(
  host: string,
  port: number,
  script: (conn: PlaybookConnection) => Promise<void>,
): Promise<Playbook> {
  const fake = base(host, port) as Playbook;
  fake.errors = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    fake.connections++;
    sockets.add(socket);
    const commands: string[] = [];
    fake.commands.push(commands);
    let stream: Socket | TLSSocket = socket;
    let buffer = '';
    let waiting: ((line: string | undefined) => void) | undefined;
    const queue: string[] = [];
    let closed = false;
    let tlsProtocol: string | undefined;
    const deliver = (line: string | undefined): void => {
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(line);
      } else if (line !== undefined) queue.push(line);
    };
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('latin1');
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i).replace(/\r$/, '');
        buffer = buffer.slice(i + 1);
        commands.push(line);
        if (MESSAGE_COMMAND.test(line)) {
          fake.violations.push(line);
          stream.write('554 5.7.0 test fake: a probe must never send DATA or BDAT\r\n');
          stream.destroy();
          return;
        }
        deliver(line);
      }
    };
    const onClose = (): void => {
      closed = true;
      sockets.delete(socket);
      deliver(undefined);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => undefined);
    const conn: PlaybookConnection = {
      send: (...lines) => {
        if (!closed) stream.write(lines.map((l) => `${l}\r\n`).join(''));
      },
      raw: (text) => {
        if (!closed) stream.write(text);
      },
      read: () => {
        const next = queue.shift();
        if (next !== undefined) return Promise.resolve(next);
        if (closed) return Promise.resolve(undefined);
        return new Promise((resolve) => (waiting = resolve));
      },
      startTls: (options) =>
        new Promise<void>((resolve, reject) => {
          socket.removeListener('data', onData);
          let secureContext: SecureContext;
          if ('context' in options) secureContext = options;
          else {
            const { minVersion, maxVersion, ciphers, ...ctx } = options;
            secureContext = createSecureContext({
              ...ctx,
              ...(minVersion ? { minVersion: minVersion as 'TLSv1' } : {}),
              ...(maxVersion ? { maxVersion: maxVersion as 'TLSv1' } : {}),
              ...(ciphers ? { ciphers } : {}),
            });
          }
          const secure = new TLSSocket(socket, { isServer: true, secureContext });
          secure.on('error', (err) => reject(err));
          secure.on('secure', () => {
            tlsProtocol = secure.getProtocol() ?? undefined;
            stream = secure;
            secure.on('data', onData);
            resolve();
          });
        }),
      tlsProtocol: () => tlsProtocol,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      close: () => {
        closed = true;
        stream.end();
        setTimeout(() => stream.destroy(), 50).unref();
      },
      get closed() {
        return closed;
      },
    };
    script(conn).catch((err: Error) => {
      if (!closed) fake.errors.push(err.message);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  fake.stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return fake;
}

/** A free TCP port on 127.0.0.1 (all fakes of one test share it on different 127.0.0.x addresses). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether ::1 can be bound (IPv6 loopback present). */
export async function ipv6Available(): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

/** Standard EHLO preamble lines for playbooks. */
export function ehloLines(name: string, extensions: string[]): string[] {
  const all = [`${name} greets you`, ...extensions];
  return all.map((text, i) => `250${i === all.length - 1 ? ' ' : '-'}${text}`);
}

export interface ScriptedMtaOptions {
  name: string;
  /** Greeting line(s); default "220 <name> ESMTP". */
  greeting?: string[];
  extensions?: string[];
  /** Called on STARTTLS; return false to keep the plain connection. */
  onStartTls?: (conn: PlaybookConnection) => Promise<void>;
  /** Replies per command verb, or a function of the command line. */
  reply?: (
    line: string,
    conn: PlaybookConnection,
  ) => Promise<string | string[] | undefined> | string | string[] | undefined;
}

/**
 * A small scripted MTA loop for playbooks: answers EHLO/HELO/MAIL/RCPT/RSET/NOOP/QUIT with
 * sensible defaults unless `reply` returns something for the line (undefined = default).
 */
export function scriptedMta(options: ScriptedMtaOptions): (conn: PlaybookConnection) => Promise<void> {
  return async (conn) => {
    conn.send(...(options.greeting ?? [`220 ${options.name} ESMTP`]));
    let secure = false;
    for (;;) {
      const line = await conn.read();
      if (line === undefined) return;
      const custom = await options.reply?.(line, conn);
      if (custom !== undefined) {
        const lines = Array.isArray(custom) ? custom : [custom];
        if (lines.length) conn.send(...lines);
        continue;
      }
      const verb = line.split(' ')[0]!.toUpperCase();
      if (verb === 'EHLO') {
        const ext = (options.extensions ?? ['PIPELINING', '8BITMIME']).filter(
          (e) => !(secure && e === 'STARTTLS'),
        );
        conn.send(...ehloLines(options.name, ext));
      } else if (verb === 'HELO') conn.send(`250 ${options.name}`);
      else if (verb === 'STARTTLS' && options.onStartTls && !secure) {
        conn.send('220 2.0.0 Ready to start TLS');
        await options.onStartTls(conn);
        secure = true;
      } else if (verb === 'MAIL') conn.send('250 2.1.0 Ok');
      else if (verb === 'RCPT') conn.send('250 2.1.5 Ok');
      else if (verb === 'RSET' || verb === 'NOOP') conn.send('250 2.0.0 Ok');
      else if (verb === 'QUIT') {
        conn.send('221 2.0.0 Bye');
        conn.close();
        return;
      } else conn.send('502 5.5.2 Error: command not recognized');
    }
  };
}
