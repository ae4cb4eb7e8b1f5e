import { buildTimeline } from '../report/timeline.js';
import type { FetchTimes, SessionTimes, Timeline, TimelineInput } from '../report/timeline.js';
import type { CheckData } from './types.js';

/** The checks' data the timeline reads besides the DNS log. */
export type TimelineData = Partial<Pick<CheckData, 'smtp' | 'mta_sts' | 'bimi'>>;

/**
 * The report's timeline from the data the checks returned: the SMTP sessions (smtp), the
 * MTA-STS policy fetch (mta_sts) and the BIMI assets (bimi), beside the DNS log. Called when
 * the report is assembled, in the same turn as its snapshot, so that the timeline and the
 * transcripts it reads agree.
 */
export function timelineOf(
  data: TimelineData,
  base: Pick<TimelineInput, 'wallStartMs' | 'totalMs' | 'dnsLog'>,
): Timeline {
  const fetches: FetchTimes[] = [];
  const sts = data.mta_sts?.fetch;
  if (sts) fetches.push({ purpose: 'mta_sts_policy', ...sts });
  const assets = data.bimi?.assets;
  if (assets?.logo) fetches.push({ purpose: 'bimi_logo', ...assets.logo });
  if (assets?.evidence) fetches.push({ purpose: 'bimi_evidence', ...assets.evidence });
  const timed = fetches.filter((f) => typeof f.ms === 'number' && typeof f.timing?.startedAt === 'string');
  const sessions = (data.smtp?.sessions ?? []).filter(isTimedSession);
  return buildTimeline({ ...base, sessions, fetches: timed });
}

/**
 * Whether a session carries what the timeline reads: a check registered under the SMTP
 * check's name (a test's, a plug-in's) may put other data there, and the report must still
 * be assembled.
 */
function isTimedSession(s: unknown): s is SessionTimes {
  const x = s as Partial<SessionTimes> | undefined;
  return Boolean(
    x &&
    typeof x.startedAt === 'string' &&
    typeof x.durationMs === 'number' &&
    typeof x.connect === 'object' &&
    x.connect !== null &&
    Array.isArray(x.transcript),
  );
}
