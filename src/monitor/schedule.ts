import { createHash } from 'node:crypto';
import cronParser from 'cron-parser';

/**
 * Monitor schedules: `{"every": "15m"}` or `{"cron": "*\/15 * * * *", "tz": "Europe/Berlin"}`,
 * validated against the configured minimum interval, and the jitter that spreads monitors
 * sharing a schedule over time. Pure (no I/O); the BullMQ job scheduler options are derived
 * here so that the scheduler and the pages agree on what "next run" means.
 */
export type Schedule = { every: string } | { cron: string; tz?: string };

export type ParsedSchedule =
  | { kind: 'every'; everyMs: number; text: string }
  | { kind: 'cron'; pattern: string; tz?: string; minGapMs: number; text: string };

/** Longest interval accepted (a monitor that runs less than monthly is not monitoring). */
export const MAX_EVERY_MS = 31 * 86_400_000;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "1h30m", "1d" → milliseconds; undefined when it is not a duration. */
export function parseInterval(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (!/^(\d+\s*[smhd]\s*)+$/.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(/(\d+)\s*([smhd])\s*/gy)) ms += Number(m[1]) * UNITS[m[2]!]!;
  return ms;
}

/** Milliseconds in the shortest exact form: 900000 → "15m", 5400000 → "1h30m". */
export function formatInterval(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('') || `${ms}ms`;
}

/** Human text for an interval: "every 15 minutes", "every hour". */
export function describeInterval(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms % size === 0) {
      const n = ms / size;
      return n === 1 ? `every ${name}` : `every ${n} ${name}s`;
    }
  }
  return `every ${formatInterval(ms)}`;
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The shortest gap between consecutive runs of a cron pattern, from its fields (iterating
 * cron-parser's dates costs milliseconds each): every run time within a day, the gaps
 * between them, and the gap from the day's last run to the next day's first when two
 * consecutive days can both fire. Month restrictions only make gaps longer and are ignored.
 */
export function cronMinGapMs(pattern: string, tz?: string): number {
  const f = cronParser.parseExpression(pattern, { tz: tz ?? 'UTC' }).fields;
  const nums = (xs: readonly unknown[]) =>
    [...new Set(xs.filter((x): x is number => typeof x === 'number'))].sort((a, b) => a - b);
  const secs = nums(f.second);
  const mins = nums(f.minute);
  const hours = nums(f.hour);
  const times: number[] = [];
  for (const h of hours) for (const m of mins) for (const s of secs) times.push(h * 3600 + m * 60 + s);
  let min = Infinity;
  for (let i = 1; i < times.length; i++) min = Math.min(min, times[i]! - times[i - 1]!);
  const dom = f.dayOfMonth;
  const dow = nums(f.dayOfWeek.map((d) => (d === 7 ? 0 : d)));
  const domAll = dom.length >= 31;
  const dowAll = dow.length >= 7;
  const dowConsecutive = dow.some((d) => dow.includes((d + 1) % 7));
  const domDays = nums(dom);
  const domConsecutive =
    domDays.some((d) => domDays.includes(d + 1)) ||
    (domDays.includes(1) && (dom.includes('L') || domDays.some((d) => d >= 28)));
  // With both day fields restricted, cron fires on either (OR): some pair of days is adjacent.
  const consecutiveDays = domAll ? dowConsecutive || dowAll : dowAll ? domConsecutive : true;
  if (times.length > 0) {
    const wrap = 86_400 - times[times.length - 1]! + times[0]!;
    min = Math.min(min, consecutiveDays ? wrap : wrap + 86_400);
  }
  return min * 1000;
}

export type ScheduleResult =
  { ok: true; schedule: Schedule; parsed: ParsedSchedule } | { ok: false; error: string };

/**
 * Validates a schedule. `minIntervalMs` is MXDOCTOR_MONITOR_MIN_INTERVAL: a schedule that
 * would run more often is refused with a message that says what is accepted.
 */
export function parseSchedule(input: unknown, minIntervalMs: number): ScheduleResult {
  const min = formatInterval(minIntervalMs);
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    return {
      ok: false,
      error: `schedule must be {"every": "15m"} or {"cron": "*/15 * * * *"} (at most every ${min}).`,
    };
  }
  const o = input as Record<string, unknown>;
  const keys = Object.keys(o);
  if ('every' in o) {
    if (keys.some((k) => k !== 'every'))
      return { ok: false, error: 'schedule: "every" cannot be combined with other fields.' };
    const raw = typeof o.every === 'number' ? `${o.every}s` : String(o.every ?? '');
    const ms = parseInterval(raw);
    if (ms === undefined || ms === 0) {
      return {
        ok: false,
        error: `schedule.every ${JSON.stringify(String(o.every).slice(0, 40))} is not an interval; use a number with s, m, h or d, e.g. "15m", "1h" or "1h30m".`,
      };
    }
    if (ms < minIntervalMs)
      return {
        ok: false,
        error: `schedule.every ${formatInterval(ms)} is shorter than the minimum interval of ${min} (MXDOCTOR_MONITOR_MIN_INTERVAL).`,
      };
    if (ms > MAX_EVERY_MS)
      return { ok: false, error: `schedule.every ${formatInterval(ms)} is longer than the maximum of 31d.` };
    const text = formatInterval(ms);
    return {
      ok: true,
      schedule: { every: text },
      parsed: { kind: 'every', everyMs: ms, text: describeInterval(ms) },
    };
  }
  if ('cron' in o) {
    if (keys.some((k) => k !== 'cron' && k !== 'tz'))
      return { ok: false, error: 'schedule: "cron" can only be combined with "tz".' };
    const pattern = String(o.cron ?? '')
      .trim()
      .replace(/\s+/g, ' ');
    const tz = o.tz === undefined || o.tz === '' ? undefined : String(o.tz);
    if (tz !== undefined && !validTimeZone(tz)) {
      return {
        ok: false,
        error: `schedule.tz ${JSON.stringify(tz.slice(0, 60))} is not a time zone; use an IANA name such as "UTC" or "Europe/Berlin".`,
      };
    }
    const fields = pattern.split(' ').length;
    let gap: number;
    try {
      if (!pattern || fields < 5 || fields > 6) throw new Error('expected 5 fields (or 6 with seconds)');
      gap = cronMinGapMs(pattern, tz);
    } catch (err) {
      return {
        ok: false,
        error: `schedule.cron ${JSON.stringify(pattern.slice(0, 60))} is not a cron pattern (${(err as Error).message}); use five fields "minute hour day-of-month month day-of-week", e.g. "*/15 * * * *".`,
      };
    }
    if (gap < minIntervalMs) {
      return {
        ok: false,
        error: `schedule.cron ${JSON.stringify(pattern)} runs as often as every ${formatInterval(gap)}, more often than the minimum interval of ${min} (MXDOCTOR_MONITOR_MIN_INTERVAL).`,
      };
    }
    const schedule: Schedule = tz ? { cron: pattern, tz } : { cron: pattern };
    return {
      ok: true,
      schedule,
      parsed: {
        kind: 'cron',
        pattern,
        ...(tz ? { tz } : {}),
        minGapMs: gap,
        text: `cron ${pattern}${tz ? ` (${tz})` : ' (UTC)'}`,
      },
    };
  }
  return {
    ok: false,
    error: `schedule must have "every" (e.g. {"every": "15m"}) or "cron" (e.g. {"cron": "*/15 * * * *"}).`,
  };
}

/** A number in [0, range) fixed for this id: the same monitor always gets the same phase. */
export function stableFraction(id: string): number {
  const h = createHash('sha256').update(`mxdoctor-jitter:${id}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * How a monitor's schedule becomes a BullMQ job scheduler, with its jitter:
 * - every: BullMQ runs at `floor(t / every) * every + offset`; the offset is this monitor's
 *   stable phase within the interval, so 1,000 monitors "every 5m" start evenly spread
 *   over the 5 minutes instead of all at the top of the interval;
 * - cron: the pattern fires at its times for every monitor; each run then waits this
 *   monitor's stable delay, up to `maxCronJitterMs` and at most a quarter of the shortest
 *   gap between runs, before it starts.
 */
export interface SchedulerPlan {
  repeat: { every: number; offset: number } | { pattern: string; tz?: string };
  /** Delay of each run after the scheduler fires (cron only). */
  runDelayMs: number;
}

export function schedulerPlan(id: string, parsed: ParsedSchedule, maxCronJitterMs: number): SchedulerPlan {
  const f = stableFraction(id);
  if (parsed.kind === 'every') {
    // BullMQ treats offset 0 as "no offset" (run now, then every interval): keep it ≥ 1 ms.
    const offset = Math.max(1, Math.floor(f * parsed.everyMs));
    return { repeat: { every: parsed.everyMs, offset }, runDelayMs: 0 };
  }
  const window = Math.min(maxCronJitterMs, Math.floor(parsed.minGapMs / 4));
  return {
    repeat: { pattern: parsed.pattern, ...(parsed.tz ? { tz: parsed.tz } : { tz: 'UTC' }) },
    runDelayMs: Math.floor(f * Math.max(0, window)),
  };
}

/** The next run times after `from` (scheduler time plus the run delay), for the pages. */
export function nextRuns(parsed: ParsedSchedule, plan: SchedulerPlan, from: Date, count = 1): Date[] {
  const out: Date[] = [];
  if (parsed.kind === 'every' && 'every' in plan.repeat) {
    const { every, offset } = plan.repeat;
    let t = Math.floor(from.getTime() / every) * every + offset;
    while (t <= from.getTime()) t += every;
    for (let i = 0; i < count; i++) out.push(new Date(t + i * every));
    return out;
  }
  if (parsed.kind === 'cron') {
    const it = cronParser.parseExpression(parsed.pattern, {
      currentDate: new Date(from.getTime() - plan.runDelayMs),
      tz: parsed.tz ?? 'UTC',
    });
    for (let i = 0; i < count && it.hasNext(); i++) out.push(new Date(it.next().getTime() + plan.runDelayMs));
  }
  return out;
}
