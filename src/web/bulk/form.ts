import busboy from 'busboy';
import express from 'express';
import type { Request, RequestHandler } from 'express';
import { HttpError } from '../errors.js';

/**
 * The body of the batch and authentication forms: multipart/form-data (text fields and one
 * file upload) or application/x-www-form-urlencoded. Bounded: each field and the file up to
 * `maxBytes`, only the named fields; a request far beyond that is cut off. The parsed form
 * goes to req.body (the CSRF check reads `_csrf` there); what went over the limit is noted.
 */
export interface ParsedForm {
  fields: Record<string, string>;
  file?: Buffer;
  fileName?: string;
  /** The field (or "file") that went over the limit. */
  tooLarge?: string;
  _csrf?: string;
}

function multipart(req: Request, names: ReadonlySet<string>, maxBytes: number): Promise<ParsedForm> {
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
          new HttpError(413, 'payload_too_large', 'The form is far larger than the size limit.', undefined, {
            Connection: 'close',
          }),
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

export function formParser(fieldNames: readonly string[], maxBytes: number): RequestHandler {
  const names = new Set(fieldNames);
  const urlencoded = express.urlencoded({
    extended: false,
    limit: maxBytes * 3 + 4096,
    parameterLimit: names.size + 2,
  });
  return (req, res, next) => {
    if (req.is('multipart/form-data')) {
      multipart(req, names, maxBytes).then((form) => {
        req.body = form;
        next();
      }, next);
      return;
    }
    urlencoded(req, res, (err?: unknown) => {
      if (err) return next(err);
      const raw = (req.body ?? {}) as Record<string, unknown>;
      const form: ParsedForm = { fields: {} };
      if (typeof raw._csrf === 'string') form._csrf = raw._csrf;
      for (const name of names) if (typeof raw[name] === 'string') form.fields[name] = raw[name] as string;
      req.body = form;
      next();
    });
  };
}
