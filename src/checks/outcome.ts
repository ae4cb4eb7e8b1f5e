import type { Finding } from '../report/model.js';
import type { CheckData, CheckName } from './types.js';

/** What one check of a run came to: its data and findings, or only the findings of its failure. */
export type Outcome = { ok: true; data: unknown; findings: Finding[] } | { ok: false; findings: Finding[] };

/**
 * The data a finished check returned, typed by its name. The one place where data stored by
 * name meets its type: `defineCheck` holds every registered check to its CheckData entry.
 */
export function dataOf<K extends CheckName>(
  outcomes: ReadonlyMap<string, Outcome>,
  name: K,
): CheckData[K] | undefined {
  const o = outcomes.get(name);
  return o?.ok ? (o.data as CheckData[K] | undefined) : undefined;
}
