import { createHmac, randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import type { Redis } from 'ioredis';
import { HttpError } from './errors.js';
import { bearerToken, safeEqual } from './tokens.js';

/**
 * Security of the web edge: headers with a strict Content-Security-Policy (helmet), CSRF
 * tokens on every form post, bearer tokens for the API and the admin dashboard. Secrets
 * are compared in constant time and never logged.
 */

/** Strict CSP: only our own scripts and styles, no inline code, no framing, forms post only to us. */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'same-origin' },
  });
}

/** The queue dashboard (bull-board) is a React app with inline styles; scripts stay strict. */
export function adminSecurityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'same-origin' },
  });
}

/**
 * The secret that signs CSRF tokens: MXDOCTOR_SECRET, or one generated on first use and
 * kept in Redis, so every web process of a deployment shares it without configuration.
 */
export function secretProvider(redis: Redis, prefix: string, configured?: string): () => Promise<string> {
  let pending: Promise<string> | undefined;
  return () => {
    if (configured) return Promise.resolve(configured);
    pending ??= (async () => {
      const key = `${prefix}:secret:csrf`;
      await redis.set(key, randomBytes(32).toString('base64url'), 'NX');
      const secret = await redis.get(key);
      if (!secret) throw new Error('Redis is unavailable: the CSRF secret could not be read');
      return secret;
    })().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

const CSRF_COOKIE = 'mxdoctor_csrf';
export const CSRF_FIELD = '_csrf';

/**
 * Signed double-submit CSRF protection (OWASP): a random value in a SameSite=Strict,
 * HttpOnly cookie, and in each form an HMAC of it under the server secret. A cross-site
 * page can make the browser send the cookie with a POST, but cannot read it or compute the
 * matching form token.
 */
export class Csrf {
  constructor(private readonly secret: () => Promise<string>) {}

  private sign(secret: string, value: string): string {
    return createHmac('sha256', secret).update(`csrf:${value}`).digest('base64url');
  }

  /** The token for this client's forms (setting the cookie when it has none). */
  async token(req: Request, res: Response): Promise<string> {
    let value = readCookie(req, CSRF_COOKIE);
    if (!value || !/^[A-Za-z0-9_-]{24,64}$/.test(value)) {
      value = randomBytes(24).toString('base64url');
      res.cookie(CSRF_COOKIE, value, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
    }
    return this.sign(await this.secret(), value);
  }

  /** Whether `sent` is this client's token (the cookie's signature); for the X-CSRF-Token header of scripts. */
  async matches(req: Request, sent: string | undefined): Promise<boolean> {
    const cookie = readCookie(req, CSRF_COOKIE);
    if (!cookie || !sent) return false;
    return safeEqual(this.sign(await this.secret(), cookie), sent);
  }

  /** Middleware for form posts: 403 unless the form's token matches the cookie. */
  verify(): RequestHandler {
    return (req: Request, _res: Response, next: NextFunction) => {
      const cookie = readCookie(req, CSRF_COOKIE);
      const sent = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
      if (!cookie || typeof sent !== 'string') {
        next(
          new HttpError(
            403,
            'forbidden',
            'This form could not be accepted: its security token or cookie is missing. Enable cookies for this site, reload the form and submit it again.',
          ),
        );
        return;
      }
      this.secret().then((secret) => {
        if (!safeEqual(this.sign(secret, cookie), sent)) {
          next(
            new HttpError(
              403,
              'forbidden',
              'This form could not be accepted: its security token does not match (the form may be stale). Reload the form and submit it again.',
            ),
          );
        } else next();
      }, next);
    };
  }
}

/**
 * Optional API tokens: a valid bearer token names the client (res.locals.apiToken) for its
 * own rate limit; the admin token is accepted too (it reads every report); an Authorization
 * header with an unknown token is 401; no header is anonymous use.
 */
export function apiTokenAuth(
  tokens: readonly { name: string; token: string }[],
  adminToken?: string,
): RequestHandler {
  return (req, res, next) => {
    if ((tokens.length === 0 && !adminToken) || !req.headers.authorization) {
      next();
      return;
    }
    const sent = bearerToken(req);
    if (sent && adminToken && safeEqual(adminToken, sent)) {
      next();
      return;
    }
    const match = sent ? tokens.find((t) => safeEqual(t.token, sent)) : undefined;
    if (!match) {
      next(
        new HttpError(
          401,
          'unauthorized',
          'The Authorization header does not carry a valid API token; send "Authorization: Bearer <token>" with a token from MXDOCTOR_API_TOKENS, or no Authorization header for anonymous use.',
          undefined,
          {
            'WWW-Authenticate': 'Bearer realm="mxdoctor"',
          },
        ),
      );
      return;
    }
    res.locals.apiToken = match.name;
    next();
  };
}

/** The admin pages: Bearer token, or HTTP Basic with the token as password (for browsers). */
export function adminAuth(token: string): RequestHandler {
  return (req, res, next) => {
    let sent = bearerToken(req);
    const basic = /^Basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!sent && basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      sent = decoded.slice(decoded.indexOf(':') + 1);
    }
    if (sent && safeEqual(token, sent)) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Basic realm="mxdoctor admin", charset="UTF-8"');
    res
      .status(401)
      .type('text/plain')
      .send('The queue dashboard needs the admin token (MXDOCTOR_ADMIN_TOKEN) as password.\n');
  };
}
