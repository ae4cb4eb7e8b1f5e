import busboy from 'busboy';
import express from 'express';
import type { Request, RequestHandler } from 'express';
import { HttpError } from '../errors.js';

/**
 * The "Diagnose a bounce" form's body: multipart/form-data (a textarea and a file upload;
 * what browsers send for a form with a file input) or, from other clients,
 * application/x-www-form-urlencoded. Bounded: the text and the file each up to the bounce
 * size limit, a handful of fields, one file; a request far beyond that is cut off.
 *
 * The parsed form is put on req.body (so the CSRF check reads `_csrf` as for other forms),
 * and what went over a limit is noted instead of failing, so the page can say which part.
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

const FIELDS = new Set(['_csrf', 'message', 'noFollowups', 'noSmtp']);

function fromFields(fields: Map<string, string>): BounceFormBody {
  return {
    ...(fields.has('_csrf') ? { _csrf: fields.get('_csrf')! } : {}),
    message: fields.get('message') ?? '',
    noFollowups: fields.get('noFollowups') === '1',
    noSmtp: fields.get('noSmtp') === '1',
  };
}

function parseMultipart(req: Request, maxBytes: number): Promise<BounceFormBody> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: { fieldSize: maxBytes, fileSize: maxBytes, files: 1, fields: 8, parts: 10 },
        defParamCharset: 'utf8',
      });
    } catch (err) {
      reject(new HttpError(400, 'invalid_request', `The form could not be read: ${(err as Error).message}.`));
      return;
    }
    const fields = new Map<string, string>();
    const chunks: Buffer[] = [];
    let fileName: string | undefined;
    let tooLarge: BounceFormBody['tooLarge'];
    let received = 0;
    // Both parts at their limit plus the multipart framing; beyond that, stop reading.
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
            'The form is far larger than the size limit. Paste the bounce itself, or upload the saved message (.eml).',
            undefined,
            { Connection: 'close' },
          ),
        );
      }
    };
    req.on('data', onData);
    bb.on('field', (name, value, info) => {
      if (!FIELDS.has(name)) return;
      if (info.valueTruncated && name === 'message') tooLarge = 'message';
      fields.set(name, value);
    });
    bb.on('file', (name, stream, info) => {
      if (name !== 'file') {
        stream.resume();
        return;
      }
      fileName = info.filename;
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => {
        tooLarge = 'file';
        chunks.length = 0;
        stream.resume();
      });
    });
    bb.on('error', (err: Error) =>
      reject(new HttpError(400, 'invalid_request', `The form could not be read: ${err.message}.`)),
    );
    bb.on('close', () => {
      req.off('data', onData);
      const body = fromFields(fields);
      if (fileName !== undefined && (chunks.length > 0 || tooLarge === 'file')) {
        body.file = Buffer.concat(chunks);
        body.fileName = fileName;
      }
      if (tooLarge) body.tooLarge = tooLarge;
      resolve(body);
    });
    req.pipe(bb);
  });
}

/** Middleware: parses the bounce form into req.body (see BounceFormBody). */
export function bounceFormParser(maxBytes: number): RequestHandler {
  // URL encoding can triple the size of text (%XX); the message itself is checked after.
  const urlencoded = express.urlencoded({ extended: false, limit: maxBytes * 3 + 4096, parameterLimit: 10 });
  return (req, res, next) => {
    if (req.is('multipart/form-data')) {
      parseMultipart(req, maxBytes).then((body) => {
        req.body = body;
        next();
      }, next);
      return;
    }
    if (req.is('application/x-www-form-urlencoded')) {
      urlencoded(req, res, (err?: unknown) => {
        if (err) {
          if ((err as { type?: string }).type === 'entity.too.large') {
            req.body = {
              message: '',
              noFollowups: false,
              noSmtp: false,
              tooLarge: 'message',
            } satisfies BounceFormBody;
            next();
          } else next(err);
          return;
        }
        const raw = (req.body ?? {}) as Record<string, unknown>;
        const text = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '');
        const fields = new Map<string, string>();
        for (const name of FIELDS) if (raw[name] !== undefined) fields.set(name, text(raw[name]));
        const body = fromFields(fields);
        if (Buffer.byteLength(body.message, 'utf8') > maxBytes) body.tooLarge = 'message';
        req.body = body;
        next();
      });
      return;
    }
    next(
      new HttpError(
        415,
        'unsupported_media_type',
        'The form must be sent as multipart/form-data or application/x-www-form-urlencoded.',
      ),
    );
  };
}
