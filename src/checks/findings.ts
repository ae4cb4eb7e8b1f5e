import type { Finding, Status, Subject } from '../report/model.js';
import type { FindingSpec } from './types.js';

/**
 * Declares a check's finding IDs with their documentation, and returns a typed maker that
 * only accepts declared IDs and statuses. This keeps the explanation of every finding in
 * the file of the check that produces it, and the check-ID table complete.
 */
export interface FindingBody {
  summary: string;
  remedy?: string;
  details?: Record<string, unknown>;
  subject?: Subject;
  /** Overrides the spec's title for this instance (e.g. to name the address). */
  title?: string;
}

export interface FindingFactory<Id extends string> {
  specs: FindingSpec[];
  make(id: Id, status: Status, body: FindingBody): Finding;
}

export function defineFindings<Id extends string>(
  check: string,
  specs: Record<Id, Omit<FindingSpec, 'id'>>,
): FindingFactory<Id> {
  const list: FindingSpec[] = Object.entries<Omit<FindingSpec, 'id'>>(specs).map(([id, s]) => ({ id, ...s }));
  return {
    specs: list,
    make(id, status, body) {
      const spec = specs[id];
      if (!spec.statuses.includes(status)) {
        throw new Error(`finding ${id} cannot have status ${status} (declared: ${spec.statuses.join(', ')})`);
      }
      const finding: Finding = {
        id,
        status,
        title: body.title ?? spec.title,
        summary: body.summary,
        details: body.details ?? {},
        check,
      };
      if (body.remedy !== undefined) finding.remedy = body.remedy;
      if (body.subject !== undefined) finding.subject = body.subject;
      return finding;
    },
  };
}

/** "a, b, c, d, e and 2 more": a list of values for a finding's sentence. */
export function list(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
