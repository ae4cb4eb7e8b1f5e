import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.js';
import { version } from '../version.js';
import { registerBounce } from './bounce.js';
import { registerCheck } from './check.js';
import { registerSpf } from './spf.js';
import { registerVerify } from './verify.js';
import { registerAuth } from './auth.js';
import { registerService } from './serve.js';
import { EXIT, UsageError } from './errors.js';

/**
 * The mxdoctor command line. Each subcommand registers itself; this file owns exit codes
 * and error output: usage and input errors print one clear line and exit 2, anything
 * unexpected prints one line (a stack only with MXDOCTOR_DEBUG) and exits 3.
 */
export async function runCli(argv: string[]): Promise<number> {
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
  registerCheck(program, setExit);
  registerBounce(program, setExit);
  registerSpf(program, setExit);
  registerVerify(program, setExit);
  registerAuth(program, setExit);
  registerService(program);

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
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`mxdoctor: ${err.message}\n`);
      return EXIT.usage;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mxdoctor: internal error: ${message}\n`);
    if (process.env.MXDOCTOR_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return EXIT.internal;
  }
}

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
