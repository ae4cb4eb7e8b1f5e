import { mayList, mayRead, seesAddresses } from '../../report/access.js';
import type { Reader, ReportsView } from '../../report/access.js';
import { redactAddresses } from '../../report/redact.js';
import type { CheckStatus } from '../../queue/jobs/check.js';
import type { ReportMeta } from '../../store/reports.js';

/**
 * What of a check a reader may see (the rules are src/report/access.ts): the same for the
 * JSON API, the pages and the downloads, so no route can show more than another.
 */

export interface VisibleCheck {
  /** The status, its verified addresses hidden unless the reader may see them. */
  status: CheckStatus;
  /** Whether the reader sees the verified addresses. */
  seesAddresses: boolean;
  /** Anything of this check (its report, a progress update) as the reader may see it. */
  show<T>(value: T): T;
}

/** The check as `reader` may see it, or undefined when it is not theirs to see. */
export function visibleTo(status: CheckStatus | undefined, reader: Reader): VisibleCheck | undefined {
  if (!status || !mayRead(status.owner, reader)) return undefined;
  const sees = seesAddresses(status.owner, reader);
  const verify = [...status.options.verify];
  const show = <T>(value: T): T => (sees ? value : redactAddresses(value, verify));
  return { status: show(status), seesAddresses: sees, show };
}

/** A domain's reports as `reader` may list them, newest first, at most `limit`; owners left out. */
export function listFor(
  metas: readonly ReportMeta[],
  reader: Reader,
  view: ReportsView,
  limit: number,
): ReportMeta[] {
  return metas
    .filter((m) => mayList(m.owner, m.options.verify.length > 0, reader, view))
    .slice(0, limit)
    .map(({ owner, ...meta }) =>
      seesAddresses(owner, reader) ? meta : redactAddresses(meta, meta.options.verify),
    );
}
