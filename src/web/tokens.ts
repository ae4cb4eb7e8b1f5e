import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Bearer tokens: what a request sends and how it is compared. Apart from the web app's
 * security middleware (security.ts, which loads helmet), so that a worker's health server
 * reads its metrics token without the web stack.
 */

/** Compares two secrets in constant time (over their SHA-256, so any lengths). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** The token of an `Authorization: Bearer <token>` header, if the request sent one. */
export function bearerToken(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}
