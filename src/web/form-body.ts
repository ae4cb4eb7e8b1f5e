import busboy from 'busboy';
import express from 'express';
import type { Request, RequestHandler } from 'express';
import { HttpError } from './errors.js';

/**
 * The body of the web forms that take text and an upload (batches, authentications, bounces):
 * multipart/form-data (text fields and one file; what browsers send for a form with a file
 * input) or application/x-www-form-urlencoded. Bounded: each field and the file up to
 * `maxBytes`, only the named fields, one file; a request far beyond that is cut off. The
 * parsed form goes to req.body (the CSRF check reads `_csrf` there); what went over the limit
 * is noted instead of failing, so the page can say which part.
 */
export interface ParsedForm {
  fields: Record<string, string>;
  file?: Buffer;
  fileName?: string;
  /** The field (or "file") that went over the limit. */
  tooLarge?: string;
  _csrf?: string;
}

export interface FormOptions {
  /** What a 413 says when the request is far beyond the limit (after the first sentence). */
  farTooLarge?: string;
  /** The field an over-large URL-encoded body is blamed on (else the request fails with 413). */
  overflowField?: string;
}

function multipart(
  req: Request,
  names: ReadonlySet<string>,
  maxBytes: number,
  options: FormOptions,
): Promise<ParsedForm> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: {
          fieldSize: maxBytes,
          fileSize: maxBytes,
          files: 1,
          fields: names.size + 1,
          parts: names.size + 3,
        },
        defParamCharset: 'utf8',
      });
    } catch (err) {
      reject(new HttpError(400, 'invalid_request', `The form could not be read: ${(err as Error).message}.`));
      return;
    }
    const form: ParsedForm = { fields: {} };
    const chunks: Buffer[] = [];
    let received = 0;
    const hardLimit = 2 * maxBytes + 256 * 1024;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > hardLimit) {
        req.off('data', onData);
        req.unpipe(bb);
        reject(
          new HttpError(
            413,
            'payload_too_large',
            `The form is far larger than the size limit.${options.farTooLarge ? ` ${options.farTooLarge}` : ''}`,
            undefined,
            { Connection: 'close' },
          ),
        );
      }
    };
    req.on('data', onData);
    bb.on('field', (name, value, info) => {
      if (name === '_csrf') form._csrf = value;
      else if (names.has(name)) {
        if (info.valueTruncated) form.tooLarge = name;
        form.fields[name] = value;
      }
    });
    bb.on('file', (name, stream, info) => {
      if (name !== 'file') return void stream.resume();
      form.fileName = info.filename;
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => {
        form.tooLarge = 'file';
        chunks.length = 0;
        stream.resume();
      });
    });
    bb.on('error', (err: Error) =>
      reject(new HttpError(400, 'invalid_request', `The form could not be read: ${err.message}.`)),
    );
    bb.on('close', () => {
      req.off('data', onData);
      if (form.fileName !== undefined && chunks.length > 0) form.file = Buffer.concat(chunks);
      resolve(form);
    });
    req.pipe(bb);
  });
}

export function formParser(
  fieldNames: readonly string[],
  maxBytes: number,
  options: FormOptions = {},
): RequestHandler {
  const names = new Set(fieldNames);
  // URL encoding can triple the size of text (%XX); each field is checked after.
  const urlencoded = express.urlencoded({
    extended: false,
    limit: maxBytes * 3 + 4096,
    parameterLimit: names.size + 2,
  });
  return (req, res, next) => {
    if (req.is('multipart/form-data')) {
      multipart(req, names, maxBytes, options).then((form) => {
        req.body = form;
        next();
      }, next);
      return;
    }
    if (!req.is('application/x-www-form-urlencoded')) {
      next(
        new HttpError(
          415,
          'unsupported_media_type',
          'The form must be sent as multipart/form-data or application/x-www-form-urlencoded.',
        ),
      );
      return;
    }
    urlencoded(req, res, (err?: unknown) => {
      if (err) {
        if (options.overflowField && (err as { type?: string }).type === 'entity.too.large') {
          req.body = { fields: {}, tooLarge: options.overflowField } satisfies ParsedForm;
          return next();
        }
        return next(err);
      }
      const raw = (req.body ?? {}) as Record<string, unknown>;
      // A repeated name arrives as an array: its first value counts.
      const text = (v: unknown): string | undefined =>
        typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
      const form: ParsedForm = { fields: {} };
      const csrf = text(raw._csrf);
      if (csrf !== undefined) form._csrf = csrf;
      for (const name of names) {
        const value = text(raw[name]);
        if (value === undefined) continue;
        form.fields[name] = value;
        if (Buffer.byteLength(value, 'utf8') > maxBytes) form.tooLarge ??= name;
      }
      req.body = form;
      next();
    });
  };
}
