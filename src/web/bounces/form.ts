import type { RequestHandler } from 'express';
import { formParser } from '../form-body.js';
import type { ParsedForm } from '../form-body.js';

/**
 * The "Diagnose a bounce" form's body, read by the web forms' shared parser (form-body.ts:
 * multipart with a textarea and a file upload, or URL-encoded; the text and the file each up
 * to the bounce size limit) and put on req.body in the shape the page uses. What went over a
 * limit is noted instead of failing, so the page can say which part.
 */
export interface BounceFormBody {
  _csrf?: string;
  message: string;
  /** Bytes of the uploaded file, when one was chosen. */
  file?: Buffer;
  fileName?: string;
  noFollowups: boolean;
  noSmtp: boolean;
  /** Which part went over the size limit. */
  tooLarge?: 'message' | 'file';
}

const FIELDS = ['message', 'noFollowups', 'noSmtp'] as const;

function toBounceForm(form: ParsedForm): BounceFormBody {
  const body: BounceFormBody = {
    ...(form._csrf !== undefined ? { _csrf: form._csrf } : {}),
    message: form.fields.message ?? '',
    noFollowups: form.fields.noFollowups === '1',
    noSmtp: form.fields.noSmtp === '1',
  };
  if (form.file !== undefined) {
    body.file = form.file;
    if (form.fileName !== undefined) body.fileName = form.fileName;
  }
  // Only the text and the file can be too large; the check boxes' values are one character.
  if (form.tooLarge === 'file' || form.tooLarge === 'message') body.tooLarge = form.tooLarge;
  return body;
}

/** Middleware: parses the bounce form into req.body (see BounceFormBody). */
export function bounceFormParser(maxBytes: number): RequestHandler {
  const parse = formParser(FIELDS, maxBytes, {
    farTooLarge: 'Paste the bounce itself, or upload the saved message (.eml).',
    overflowField: 'message',
  });
  return (req, res, next) =>
    parse(req, res, (err?: unknown) => {
      if (err) return next(err);
      req.body = toBounceForm(req.body as ParsedForm);
      next();
    });
}
