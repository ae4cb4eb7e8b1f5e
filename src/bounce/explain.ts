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
  // Without the trailing ">", "]" and "." (scanned back, not a pattern tried at every dot).
  const rest = address.slice(at + 1);
  let end = rest.length;
  while (end > 0 && '>].'.includes(rest[end - 1]!)) end--;
  const d = rest.slice(0, end).toLowerCase();
  return d || null;
}
