import { buildTimeline } from '../report/timeline.js';
import type { FetchTimes, Timeline, TimelineInput } from '../report/timeline.js';
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
  const sessions = data.smtp?.sessions ?? [];
  return buildTimeline({ ...base, sessions, fetches: timed });
}
