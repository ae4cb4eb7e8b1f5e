/**
 * Who made a report (or a bounce diagnosis), and who may list it, read it and see the
 * addresses it verified. Pure: the web works out the reader of a request and the stores keep
 * the owner beside the report.
 *
 * - A check made with an API token belongs to that token: only the token and the admin token
 *   list or read it; to anyone else it does not exist.
 * - A check made without a token is anonymous. Anyone with its link may read it (ids are 128
 *   random bits and handed only to the submitter). It is listed on the domain's pages when
 *   the operator makes anonymous reports public (MXDOCTOR_REPORTS_VIEW=public).
 * - Addresses given to `verify` are the submitter's: they are shown only to the owner (the
 *   token, the browser that submitted the web form, the admin token). An anonymous API check
 *   has no owner that could be recognised, so whoever holds its link counts as the owner, and
 *   it is never listed to anyone else. Everyone else sees the addresses redacted.
 */

/** `token:<name>` (an API token), `browser:<hash of its cookie>` (the web form), or `anonymous`. */
export type Owner = `token:${string}` | `browser:${string}` | 'anonymous';

/** Who is asking. */
export interface Reader {
  /** Presented the admin token (or its sign-in session). */
  admin: boolean;
  /** The name of the API token presented, if any. */
  token?: string;
  /** The hash of the browser's owner cookie, if it has one. */
  browser?: string;
}

export type ReportsView = 'public' | 'private';

/** The owner of what `reader` submits: the token, else the browser, else anonymous. */
export function ownerFor(reader: Reader): Owner {
  if (reader.token !== undefined) return `token:${reader.token}`;
  if (reader.browser !== undefined) return `browser:${reader.browser}`;
  return 'anonymous';
}

/** Stored owners are text; anything unknown (reports from before owners) is anonymous. */
function kindOf(owner: string | undefined): 'token' | 'browser' | 'anonymous' {
  if (owner?.startsWith('token:')) return 'token';
  if (owner?.startsWith('browser:')) return 'browser';
  return 'anonymous';
}

export function isOwner(owner: string | undefined, reader: Reader): boolean {
  if (reader.admin) return true;
  switch (kindOf(owner)) {
    case 'token':
      return reader.token !== undefined && owner === `token:${reader.token}`;
    case 'browser':
      return reader.browser !== undefined && owner === `browser:${reader.browser}`;
    case 'anonymous':
      return false;
  }
}

/** May open it by its id (a token's reports exist only for that token and the admin). */
export function mayRead(owner: string | undefined, reader: Reader): boolean {
  return kindOf(owner) !== 'token' || isOwner(owner, reader);
}

/** Sees the verified addresses (everyone else gets them redacted). */
export function seesAddresses(owner: string | undefined, reader: Reader): boolean {
  return isOwner(owner, reader) || kindOf(owner) === 'anonymous';
}

/** Appears in the domain's listings for this reader. */
export function mayList(
  owner: string | undefined,
  verified: boolean,
  reader: Reader,
  view: ReportsView,
): boolean {
  if (isOwner(owner, reader)) return true;
  const kind = kindOf(owner);
  if (kind === 'token' || view === 'private') return false;
  // Its link shows the addresses to whoever holds it: it must not be handed out.
  return !(kind === 'anonymous' && verified);
}

/**
 * The owner part of a check's dedupe identity: identical requests share one check only
 * when its report would look the same to both (no token, no verified addresses).
 */
export function dedupeScope(owner: string | undefined, verified: boolean): string | undefined {
  return kindOf(owner) === 'token' || (verified && kindOf(owner) !== 'anonymous') ? owner : undefined;
}
