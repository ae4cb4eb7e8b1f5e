import { createHash, createHmac } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Config } from '../../config/index.js';
import { readCookie } from '../security.js';
import { bearerToken, safeEqual } from '../tokens.js';

/**
 * Who may do what with monitors. Changing them needs the admin token (MXDOCTOR_ADMIN_TOKEN):
 * as a bearer token (API), HTTP Basic with the token as password, or the session cookie the
 * sign-in form sets. Viewing is open to everyone with MXDOCTOR_MONITORS_VIEW=public, and
 * otherwise needs the admin token or one of MXDOCTOR_API_TOKENS.
 *
 * The session cookie holds an expiry and an HMAC of it under the server secret and a hash
 * of the admin token, so changing the token ends every session.
 */
export const SESSION_COOKIE = 'mxdoctor_admin';
export const SESSION_MS = 12 * 3600_000;

export interface Access {
  /** May create, change, run and delete monitors and see destinations. */
  admin: boolean;
  /** May see monitors, their history and reports. */
  view: boolean;
  /** Whether admin sign-in is possible at all (an admin token is configured). */
  adminConfigured: boolean;
  /** How admin was proven: a token in the request, or the sign-in session cookie (which a browser sends on its own). */
  adminVia?: 'token' | 'session';
}

function sessionMac(secret: string, adminToken: string, expiry: number): string {
  const tokenHash = createHash('sha256').update(adminToken).digest('hex');
  return createHmac('sha256', secret).update(`admin-session:${expiry}:${tokenHash}`).digest('base64url');
}

export function sessionValue(secret: string, adminToken: string, now = Date.now()): string {
  const expiry = now + SESSION_MS;
  return `${expiry}.${sessionMac(secret, adminToken, expiry)}`;
}

function validSession(value: string | undefined, secret: string, adminToken: string): boolean {
  const m = /^(\d{10,16})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  if (!m) return false;
  const expiry = Number(m[1]);
  if (expiry < Date.now()) return false;
  return safeEqual(sessionMac(secret, adminToken, expiry), m[2]!);
}

function presentedToken(req: Request): string | undefined {
  const bearer = bearerToken(req);
  if (bearer) return bearer;
  const basic = /^Basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

export async function accessOf(req: Request, config: Config, secret: () => Promise<string>): Promise<Access> {
  const adminToken = config.auth.adminToken;
  const token = presentedToken(req);
  let adminVia: Access['adminVia'];
  if (adminToken) {
    if (token && safeEqual(adminToken, token)) adminVia = 'token';
    else {
      const cookie = readCookie(req, SESSION_COOKIE);
      if (cookie && validSession(cookie, await secret(), adminToken)) adminVia = 'session';
    }
  }
  const admin = adminVia !== undefined;
  const apiToken = token !== undefined && config.auth.apiTokens.some((t) => safeEqual(t.token, token));
  return {
    admin,
    view: admin || config.monitor.view === 'public' || apiToken,
    adminConfigured: Boolean(adminToken),
    ...(adminVia ? { adminVia } : {}),
  };
}

export function setSession(req: Request, res: Response, value: string): void {
  res.cookie(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'strict',
    secure: req.secure,
    path: '/',
    maxAge: SESSION_MS,
  });
}

export function clearSession(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
}
