/**
 * What bounce diagnosis refuses, and what it accepts — in a module of its own, with no
 * dependencies, so the command line can name them without loading the MIME parser.
 */
/**
 * too_large, empty, binary: refused before parsing; not_a_bounce: parsed, and no bounce in it;
 * too_complex: parsing took longer than its time budget (parse-pool.ts).
 */
export type BounceInputErrorCode = 'too_large' | 'empty' | 'binary' | 'not_a_bounce' | 'too_complex';

export class BounceInputError extends Error {
  readonly code: BounceInputErrorCode;
  constructor(code: BounceInputErrorCode, message: string) {
    super(message);
    this.name = 'BounceInputError';
    this.code = code;
  }
}

export const BOUNCE_ACCEPTS =
  'Accepted: a whole bounce message (.eml, any MTA’s non-delivery report or RFC 3464 DSN), its text, or a bare SMTP reply such as "550 5.1.1 User unknown".';
