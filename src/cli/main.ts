import { Command, CommanderError } from 'commander';
import { version } from '../version.js';
import { HOOK, hooks } from './bundle-hooks.js';
import { EXIT, isUserError } from './errors.js';
import type * as ServiceCommands from './serve.js';

type Register = (program: Command, setExit: (code: number) => void) => void;

/**
 * The subcommands, each loaded only when it runs: `mxdoctor --version` loads none of them,
 * and `mxdoctor check` loads neither the bounce parser nor the service (web server, queue,
 * Redis client, logging). A test (test/integration/cli-startup.test.ts) holds this.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  check: async () => (await import('./check.js')).registerCheck,
  bounce: async () => (await import('./bounce.js')).registerBounce,
  spf: async () => (await import('./spf.js')).registerSpf,
  verify: async () => (await import('./verify.js')).registerVerify,
  auth: async () => (await import('./auth.js')).registerAuth,
  inbound: async () => (await import('./inbound.js')).registerInbound,
  serve: async () => (await importService()).registerService,
  web: async () => (await importService()).registerService,
  worker: async () => (await importService()).registerService,
};

type ServiceModule = typeof ServiceCommands;

/** The commands of the service (bin/mxdoctor.js runs them from dist/src/). */
const SERVICE_COMMANDS = new Set(['serve', 'web', 'worker']);

/**
 * The service's command module (for the help: bin/mxdoctor.js runs the service itself from
 * dist/src/). From the command line's bundle, whose file leaves it out (scripts/bundle-cli.mjs),
 * the bundle's loader imports it (src/cli/bundle-loader.ts): an import() inside code compiled
 * from V8's code cache fails on Node 20.
 */
function importService(): Promise<ServiceModule> {
  const viaLoader = hooks()[HOOK.importService] as (() => Promise<ServiceModule>) | undefined;
  return viaLoader ? viaLoader() : import('./serve.js');
}
/** Order of the commands in the help. */
const ORDER = ['check', 'bounce', 'spf', 'verify', 'auth', 'inbound', 'serve'];

/**
 * The command the arguments name: the first one that is not an option (the program's own
 * options, -V and -h, take no value). Undefined for `mxdoctor`, `mxdoctor --help`,
 * `mxdoctor help …` and unknown words: those need every command, for the list and the
 * suggestions.
 */
function selectedCommand(argv: readonly string[]): string | undefined {
  const first = argv.find((a) => !a.startsWith('-'));
  return first !== undefined && Object.hasOwn(COMMANDS, first) ? first : undefined;
}

/**
 * The mxdoctor command line. Each subcommand registers itself; this file owns exit codes
 * and error output: usage and input errors print one clear line and exit 2, anything
 * unexpected prints one line (a stack only with MXDOCTOR_DEBUG) and exits 3.
 */
export async function runCli(argv: string[]): Promise<number> {
  const selected = selectedCommand(argv);
  // A reader that goes away (`mxdoctor check example.com | head`) ends a one-shot command
  // quietly, as it would any Unix filter, rather than with Node's unhandled EPIPE and its
  // stack. Not the service: a daemon whose log reader died should not look like a clean stop.
  if (!SERVICE_COMMANDS.has(selected ?? '')) {
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EXIT.ok);
      throw err;
    });
  }
  let exitCode: number = EXIT.ok;
  const setExit = (code: number): void => {
    exitCode = code;
  };
  const program = new Command()
    .name('mxdoctor')
    .description(
      'Mail deliverability diagnostics: check a domain’s mail setup, diagnose bounces, monitor mail servers.',
    )
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .addHelpText(
      'after',
      `
Configuration comes from environment variables (MXDOCTOR_RESOLVERS, MXDOCTOR_DNS_TIMEOUT,
MXDOCTOR_ALLOW_PRIVATE, …; see the README); command-line flags override them.`,
    );
  // `mxdoctor --version` (first) prints the version before any command would be looked at.
  const versionOnly = argv[0] === '-V' || argv[0] === '--version';
  const registers = versionOnly
    ? []
    : selected
      ? [COMMANDS[selected]!]
      : ORDER.map((name) => COMMANDS[name]!);
  for (const register of await Promise.all(registers.map((load) => load()))) register(program, setExit);

  // As a monitoring plugin (check --nagios), every failure to check is UNKNOWN (3) with a
  // status line on stdout, never 2 (which would read as CRITICAL).
  const nagios = argv.includes('--nagios');
  const unknown = (message: string): number => {
    process.stdout.write(`MXDOCTOR UNKNOWN - ${message.replace(/[\r\n|]+/g, ' ')}\n`);
    return 3;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (nagios && !(err instanceof CommanderError && (err.exitCode === 0 || err.code === 'commander.help'))) {
      const message = err instanceof Error ? err.message.replace(/^error: /, '') : String(err);
      if (!(err instanceof CommanderError)) process.stderr.write(`mxdoctor: ${message}\n`);
      return unknown(message);
    }
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; everything else is a usage error.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
        return EXIT.ok;
      if (err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    if (isUserError(err)) {
      process.stderr.write(`mxdoctor: ${err.message}\n`);
      return EXIT.usage;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mxdoctor: internal error: ${message}\n`);
    if (process.env.MXDOCTOR_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return EXIT.internal;
  }
}

// Not a top-level await: the command line also runs as a CommonJS bundle (scripts/bundle-cli.mjs).
void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
