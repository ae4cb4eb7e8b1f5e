import type { Explanation, Reason } from './model.js';
import { REASON_INFO, hardNote } from './reasons.js';
import type { ExplainFacts } from './reasons.js';

/** The explanation of one record: what happened, whose side, what to do, why hard or soft. */
export function explain(reason: Reason, hard: boolean, facts: ExplainFacts): Explanation {
  const info = REASON_INFO[reason];
  return {
    summary: info.summary(facts),
    side: info.side,
    nextSteps: info.steps(facts),
    hardNote: hardNote(reason, hard),
  };
}

/** The domain of an address, lower-cased, or null. */
export function domainOf(address: string | null | undefined): string | null {
  if (!address) return null;
  const at = address.lastIndexOf('@');
  if (at < 0) return null;
  const d = address
    .slice(at + 1)
    .replace(/[>\].]+$/, '')
    .toLowerCase();
  return d || null;
}
