import type { Command } from 'commander';
import { colorEnabled, loadConfig } from '../config/index.js';
import { parseHostPort } from '../config/inbound.js';
import { newTestToken, testAddress } from '../inbound/address.js';
import { analyseInbound } from '../inbound/analyse.js';
import type { Delivery } from '../inbound/model.js';
import { startReceiver } from '../inbound/receiver.js';
import { receiverSettings } from '../inbound/setup.js';
import { collectResolver, durationFlag, engineOverrides } from './engine-flags.js';
import type { EngineFlags } from './engine-flags.js';
import { EXIT, UsageError } from './errors.js';
import { formatInbound } from './format-inbound.js';

/**
 * `mxdoctor inbound`: the inbound test in one process, without Redis — listen for SMTP, print
 * a one-time address, wait for one message to it, analyse it as a receiver would and print
 * the report. Exit status: 0 when no finding failed, 1 when one did or no message came in
 * time, 2 for usage errors.
 */
interface InboundFlags extends EngineFlags {
  listen?: string;
  domain?: string;
  json?: boolean;
  verbose?: boolean;
  wait?: number;
}

/** The shortest --wait (MXDOCTOR_INBOUND_TEST_TTL's minimum): a sender's queue needs some seconds. */
const MIN_WAIT_MS = 10_000;

/** Where `mxdoctor inbound` listens when neither --listen nor MXDOCTOR_INBOUND_LISTEN says. */
const DEFAULT_LISTEN = '127.0.0.1:2525';

export function registerInbound(program: Command, setExit: (code: number) => void): void {
  program
    .command('inbound')
    .description(
      'receive one test message at a one-time address and report what a receiver sees of it: connection, TLS, SPF, DKIM, DMARC, blocklists, the message',
    )
    .option(
      '--listen <host:port>',
      `where to listen for SMTP (MXDOCTOR_INBOUND_LISTEN; default ${DEFAULT_LISTEN})`,
    )
    .option(
      '--domain <domain>',
      'domain of the test address (MXDOCTOR_INBOUND_DOMAIN; default the EHLO name)',
    )
    .option(
      '--wait <duration>',
      'how long to wait for the message, at least 10s (MXDOCTOR_INBOUND_TEST_TTL, 1h)',
      durationFlag('--wait'),
    )
    .option('--json', 'print the report as JSON (the address and progress go to standard error)')
    .option('-v, --verbose', 'also print the SMTP session')
    .option(
      '--resolver <ip[:port]>',
      'DNS resolver to use (repeatable; default: MXDOCTOR_RESOLVERS or /etc/resolv.conf)',
      collectResolver,
    )
    .option(
      '--dns-timeout <duration>',
      'timeout of one DNS query attempt (MXDOCTOR_DNS_TIMEOUT)',
      durationFlag('--dns-timeout'),
    )
    .option(
      '--timeout <duration>',
      'deadline of the analysis (MXDOCTOR_CHECK_DEADLINE)',
      durationFlag('--timeout'),
    )
    .addHelpText(
      'after',
      `
Send the test message to the printed address from the server whose mail you want to check
(its MX or smarthost must reach the listening address). Without MXDOCTOR_INBOUND_TLS_CERT and
MXDOCTOR_INBOUND_TLS_KEY the receiver offers STARTTLS with a self-signed certificate made at
start. Nothing is kept: the message and the report live only in this process.

Exit codes: 0 no finding failed; 1 at least one failed, or no message came in time;
2 usage or configuration error; 3 internal error.

Examples:
  mxdoctor inbound --listen 127.0.0.1:2525 --domain inbound.example.test
  swaks --server 127.0.0.1:2525 --to <the printed address> --from you@example.com -tls`,
    )
    .action(async (flags: InboundFlags) => run(flags, setExit));
}

async function run(flags: InboundFlags, setExit: (code: number) => void): Promise<void> {
  let listen;
  try {
    listen = flags.listen !== undefined ? parseHostPort(flags.listen, '--listen') : undefined;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (flags.wait !== undefined && flags.wait < MIN_WAIT_MS)
    throw new UsageError(`--wait must be at least ${MIN_WAIT_MS / 1000}s (a sender needs time to deliver)`);
  const base = engineOverrides(flags);
  const config = loadConfig(undefined, {
    ...base,
    inbound: {
      ...(listen ? { listen } : {}),
      ...(flags.domain !== undefined ? { domain: flags.domain.trim() } : {}),
      ...(flags.wait !== undefined ? { testTtlMs: flags.wait } : {}),
    },
  });
  if (!config.inbound.listen) config.inbound.listen = parseHostPort(DEFAULT_LISTEN, 'default')!;
  // With --json the report alone goes to standard output.
  const say = (text: string): void => void (flags.json ? process.stderr : process.stdout).write(`${text}\n`);

  const token = newTestToken();
  const address = testAddress(token, config.inbound.domain);
  let used = false;
  let arrived!: (d: { delivery: Delivery; message: Buffer }) => void;
  const received = new Promise<{ delivery: Delivery; message: Buffer }>((r) => (arrived = r));
  const settings = await receiverSettings(config);
  let receiver;
  try {
    receiver = await startReceiver({
      ...settings,
      async lookup(t) {
        if (t !== token) return 'unknown';
        return used ? 'used' : 'waiting';
      },
      async deliver(t, delivery, message) {
        if (t !== token) return { ok: false, reason: 'unknown' };
        if (used) return { ok: false, reason: 'used' };
        used = true;
        arrived({ delivery, message });
        return { ok: true, id: token };
      },
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL')
      throw new UsageError(
        `cannot listen on ${config.inbound.listen.host}:${config.inbound.listen.port}: ${e.code}`,
      );
    throw err;
  }
  say(
    `Listening for SMTP on ${receiver.host}:${receiver.port} as ${config.inbound.domain}${settings.tls.kind === 'self-signed' ? ' (STARTTLS with a self-signed certificate)' : ''}.`,
  );
  say(`Send one test message to:\n\n  ${address}\n`);
  const ttl = config.inbound.testTtlMs;
  say(`Waiting up to ${ttl < 120_000 ? `${Math.round(ttl / 1000)} s` : `${Math.round(ttl / 60_000)} min`}…`);

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>(
    (r) => (timer = setTimeout(() => r(undefined), config.inbound.testTtlMs)),
  );
  const got = await Promise.race([received, timedOut]);
  clearTimeout(timer);
  if (!got) {
    await receiver.close();
    process.stderr.write(`mxdoctor: no message arrived for ${address} in time\n`);
    setExit(EXIT.fail);
    return;
  }
  const c = got.delivery.connection;
  say(
    `Message received from ${c.remoteAddress} (${c.tls.used ? (c.tls.protocol ?? 'TLS') : 'no TLS'}, ${got.message.length} bytes); analysing…`,
  );
  const controller = new AbortController();
  const report = await analyseInbound(got, { config, signal: controller.signal });
  await receiver.close();
  process.stdout.write(
    flags.json
      ? JSON.stringify(report, null, 2) + '\n'
      : '\n' + formatInbound(report, colorEnabled(process.stdout), flags.verbose),
  );
  setExit(report.verdict === 'fail' ? EXIT.fail : EXIT.ok);
}
