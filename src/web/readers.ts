import { createHash, randomBytes } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Config } from '../config/index.js';
import { ownerFor } from '../report/access.js';
import type { Owner, Reader } from '../report/access.js';
import { accessOf } from './monitors/auth.js';
import { readCookie } from './security.js';
import { bearerToken, safeEqual } from './tokens.js';

/**
 * Who is asking, for the ownership of reports and bounce diagnoses (src/report/access.ts):
 * the admin token (bearer, Basic or the sign-in session), an API token (bearer), and the
 * browser's owner cookie. The cookie is a random value set when a browser first submits a
 * form; reports keep only a hash of it, so reading Redis does not let anyone pose as the
 * browser. It is SameSite=Lax, so following a link to one's own report still carries it.
 */
export const OWNER_COOKIE = 'mxdoctor_owner';
const OWNER_COOKIE_DAYS = 400;
const VALUE = /^[A-Za-z0-9_-]{32}$/;

function browserKey(value: string): string {
  return createHash('sha256').update(`mxdoctor-owner:${value}`).digest('base64url').slice(0, 32);
}

/** Sets res.locals.reader for the routes after it. */
export function identify(config: Config, secret: () => Promise<string>): RequestHandler {
  return async (req, res, next) => {
    const access = await accessOf(req, config, secret);
    const sent = bearerToken(req);
    const token = sent ? config.auth.apiTokens.find((t) => safeEqual(t.token, sent)) : undefined;
    const cookie = readCookie(req, OWNER_COOKIE);
    const reader: Reader = {
      admin: access.admin,
      ...(token ? { token: token.name } : {}),
      ...(cookie && VALUE.test(cookie) ? { browser: browserKey(cookie) } : {}),
    };
    res.locals.reader = reader;
    next();
  };
}

export function readerIn(res: Response): Reader {
  return (res.locals.reader as Reader | undefined) ?? { admin: false };
}

/**
 * The owner of what this request submits. A form post from a browser without an owner
 * cookie gets one first, so that the browser can later see the addresses it verified.
 */
export function submitterOf(req: Request, res: Response, form: boolean): Owner {
  const reader = readerIn(res);
  if (form && reader.token === undefined && reader.browser === undefined) {
    const value = randomBytes(24).toString('base64url');
    res.cookie(OWNER_COOKIE, value, {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      path: '/',
      maxAge: OWNER_COOKIE_DAYS * 86_400_000,
    });
    reader.browser = browserKey(value);
    res.locals.reader = reader;
  }
  return ownerFor(reader);
}
