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
