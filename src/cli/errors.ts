/** Exit codes of the mxdoctor command. */
export const EXIT = {
  ok: 0,
  /** At least one finding is "fail". */
  fail: 1,
  /** Usage, input or configuration error. */
  usage: 2,
  /** Internal error (a bug, or the environment broke). */
  internal: 3,
} as const;

/** An error whose message is for the user as it stands, with an exit code. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A usage, input or configuration error (UsageError, or the configuration's ConfigError),
 * whose message is for the user. Known by its name, not its class: the bundle gives each
 * command a file of its own (scripts/bundle-cli.mjs), with its own copy of these classes,
 * and the command line's error handling is in another file.
 */
export function isUserError(err: unknown): err is Error {
  return err instanceof Error && (err.name === 'UsageError' || err.name === 'ConfigError');
}
