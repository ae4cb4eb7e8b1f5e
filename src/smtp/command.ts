/**
 * The commands the SMTP probe can send. This closed union is the only input the connection
 * accepts for writing, and it has no DATA and no BDAT: mxdoctor verifies recipients without
 * ever starting a message, so sending one is unrepresentable (and `serializeCommand`
 * refuses any argument that could smuggle a second command line). Pure.
 */
export type SmtpCommand =
  | { verb: 'EHLO'; domain: string }
  | { verb: 'HELO'; domain: string }
  | { verb: 'STARTTLS' }
  /** `from` is an address, or '' for the null reverse-path "<>" (RFC 5321 §4.5.5). */
  | { verb: 'MAIL'; from: string }
  | { verb: 'RCPT'; to: string }
  | { verb: 'RSET' }
  | { verb: 'NOOP' }
  | { verb: 'QUIT' };

export type SmtpVerb = SmtpCommand['verb'];

/**
 * Addresses we put in MAIL FROM/RCPT TO: a local part and a domain of printable ASCII (or
 * UTF-8 for SMTPUTF8) without spaces, angle brackets or control characters. This is
 * deliberately stricter than RFC 5321 §4.1.2 (no quoted local parts): what matters is that
 * a user-supplied address can never inject a line break (and with it DATA).
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be refused
const ADDRESS = /^[^\s<>@\u0000-\u001f\u007f]{1,64}@[^\s<>@\u0000-\u001f\u007f]{1,255}$/u;
const DOMAIN_ARG = /^(?:[A-Za-z0-9.-]{1,255}|\[[0-9A-Fa-f.:]{2,60}\]|\[IPv6:[0-9A-Fa-f.:]{2,60}\])$/;

export function isProbeAddress(address: string): boolean {
  return ADDRESS.test(address);
}

export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The command line without CRLF. Throws CommandError for an argument that is not allowed. */
export function serializeCommand(cmd: SmtpCommand): string {
  switch (cmd.verb) {
    case 'EHLO':
    case 'HELO':
      if (!DOMAIN_ARG.test(cmd.domain))
        throw new CommandError(`invalid ${cmd.verb} name ${JSON.stringify(cmd.domain)}`);
      return `${cmd.verb} ${cmd.domain}`;
    case 'MAIL':
      if (cmd.from !== '' && !isProbeAddress(cmd.from))
        throw new CommandError(`invalid MAIL FROM address ${JSON.stringify(cmd.from)}`);
      return `MAIL FROM:<${cmd.from}>`;
    case 'RCPT':
      if (!isProbeAddress(cmd.to))
        throw new CommandError(`invalid RCPT TO address ${JSON.stringify(cmd.to)}`);
      return `RCPT TO:<${cmd.to}>`;
    case 'STARTTLS':
    case 'RSET':
    case 'NOOP':
    case 'QUIT':
      return cmd.verb;
  }
}
