import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  cronMinGapMs,
  formatInterval,
  nextRuns,
  parseInterval,
  parseSchedule,
  schedulerPlan,
} from '../../../src/monitor/schedule.js';

const MIN = 5 * 60_000;

describe('monitor schedules', () => {
  it('reads intervals with units and writes them back in their shortest form', () => {
    const rows: [string, number | undefined, string][] = [
      ['15m', 900_000, '15m'],
      ['90s', 90_000, '1m30s'],
      ['1h30m', 5_400_000, '1h30m'],
      ['1d', 86_400_000, '1d'],
      [' 2 H ', 7_200_000, '2h'],
      ['15', undefined, ''],
      ['-5m', undefined, ''],
      ['5 minutes', undefined, ''],
    ];
    for (const [text, ms, back] of rows) {
      assert.equal(parseInterval(text), ms, text);
      if (ms !== undefined) assert.equal(formatInterval(ms), back);
    }
  });

  it('accepts "every" schedules at or above the minimum interval and says why it refuses others', () => {
    assert.deepEqual(parseSchedule({ every: '15m' }, MIN), {
      ok: true,
      schedule: { every: '15m' },
      parsed: { kind: 'every', everyMs: 900_000, text: 'every 15 minutes' },
    });
    assert.deepEqual(parseSchedule({ every: '300s' }, MIN).ok && parseSchedule({ every: '300s' }, MIN), {
      ok: true,
      schedule: { every: '5m' },
      parsed: { kind: 'every', everyMs: 300_000, text: 'every 5 minutes' },
    });
    const short = parseSchedule({ every: '4m' }, MIN);
    assert.equal(short.ok, false);
    assert.match(
      !short.ok ? short.error : '',
      /4m is shorter than the minimum interval of 5m \(MXDOCTOR_MONITOR_MIN_INTERVAL\)/,
    );
    assert.equal(parseSchedule({ every: '32d' }, MIN).ok, false);
    assert.equal(parseSchedule({ every: '15m', cron: '* * * * *' }, MIN).ok, false);
    assert.equal(parseSchedule('15m', MIN).ok, false);
  });

  it('finds the shortest gap of a cron pattern from its fields', () => {
    const rows: [string, string | undefined, number][] = [
      ['*/15 * * * *', undefined, 15 * 60_000],
      ['0 * * * *', undefined, 3_600_000],
      ['0,1 * * * *', undefined, 60_000],
      ['*/20 9-17 * * 1-5', undefined, 20 * 60_000],
      // 23:59 one day, 00:00 the next: one minute apart across midnight.
      ['59 23 * * *', undefined, 86_400_000],
      ['0,59 0,23 * * *', undefined, 60_000],
      // Mondays only: 23:00 Monday and 00:00 next Monday are days apart; 00:00 → 23:00 is 23 h.
      ['0 0,23 * * 1', undefined, 23 * 3_600_000],
      ['0 6 * * 1-5', 'Europe/Berlin', 86_400_000],
      ['*/10 * * * * *', undefined, 10_000],
      ['0 0 1 * *', undefined, 2 * 86_400_000],
    ];
    for (const [pattern, tz, gap] of rows) assert.equal(cronMinGapMs(pattern, tz), gap, pattern);
  });

  it('accepts cron schedules that run no more often than the minimum and refuses the others', () => {
    const ok = parseSchedule({ cron: '*/15  * * * *', tz: 'Europe/Berlin' }, MIN);
    assert.deepEqual(ok.ok && ok.schedule, { cron: '*/15 * * * *', tz: 'Europe/Berlin' });
    for (const [input, message] of [
      [{ cron: '* * * * *' }, /runs as often as every 1m, more often than the minimum interval of 5m/],
      [{ cron: '0,2 * * * *' }, /every 2m/],
      [{ cron: '61 * * * *' }, /is not a cron pattern/],
      [{ cron: '* * *' }, /expected 5 fields/],
      [{ cron: '0 * * * *', tz: 'Nowhere/Town' }, /not a time zone/],
      [{ cron: '0 * * * *', every: '1h' }, /"every" cannot be combined with other fields/],
      [{ cron: '0 * * * *', at: 'noon' }, /"cron" can only be combined with "tz"/],
    ] as const) {
      const r = parseSchedule(input, MIN);
      assert.equal(r.ok, false, JSON.stringify(input));
      assert.match(!r.ok ? r.error : '', message);
    }
  });

  it('spreads 1,000 monitors on the same 5-minute schedule over the whole interval', () => {
    const parsed = parseSchedule({ every: '5m' }, MIN);
    assert.ok(parsed.ok);
    const perSecond = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const plan = schedulerPlan(`monitor-${i}`, parsed.parsed, 5 * 60_000);
      assert.ok('every' in plan.repeat);
      const { offset, every } = plan.repeat;
      assert.ok(offset >= 1 && offset < every);
      assert.equal(plan.runDelayMs, 0);
      const second = Math.floor(offset / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    // 1,000 over 300 seconds is 3.3 per second on average; a hash never piles them up.
    assert.ok(
      Math.max(...perSecond.values()) <= 12,
      `at most ${Math.max(...perSecond.values())} start in one second`,
    );
    assert.ok(perSecond.size >= 250, `${perSecond.size} distinct seconds used`);
    // The same monitor always gets the same phase.
    assert.deepEqual(schedulerPlan('m1', parsed.parsed, 1), schedulerPlan('m1', parsed.parsed, 1));
  });

  it('delays cron runs by a stable jitter of at most the window and a quarter of the interval', () => {
    const hourly = parseSchedule({ cron: '0 * * * *' }, MIN);
    const quarter = parseSchedule({ cron: '*/15 * * * *' }, MIN);
    assert.ok(hourly.ok && quarter.ok);
    const delays = Array.from(
      { length: 500 },
      (_, i) => schedulerPlan(`m${i}`, hourly.parsed, 5 * 60_000).runDelayMs,
    );
    assert.ok(Math.max(...delays) < 5 * 60_000 && Math.min(...delays) >= 0);
    assert.ok(new Set(delays.map((d) => Math.floor(d / 1000))).size > 200, 'spread over the window');
    const q = Array.from(
      { length: 200 },
      (_, i) => schedulerPlan(`m${i}`, quarter.parsed, 10 * 60_000).runDelayMs,
    );
    assert.ok(Math.max(...q) < (15 * 60_000) / 4);
    assert.deepEqual(schedulerPlan('x', hourly.parsed, 60_000).repeat, { pattern: '0 * * * *', tz: 'UTC' });
  });

  it('computes the next run times as the scheduler will', () => {
    const every = parseSchedule({ every: '15m' }, MIN);
    assert.ok(every.ok);
    const plan = schedulerPlan('abc', every.parsed, 0);
    const from = new Date('2026-11-28T12:03:00Z');
    const [a, b] = nextRuns(every.parsed, plan, from, 2);
    assert.ok(a!.getTime() > from.getTime() && a!.getTime() <= from.getTime() + 900_000);
    assert.equal(b!.getTime() - a!.getTime(), 900_000);
    assert.equal(a!.getTime() % 900_000, 'every' in plan.repeat ? plan.repeat.offset : -1);
    const cron = parseSchedule({ cron: '0 6 * * *', tz: 'Europe/Berlin' }, MIN);
    assert.ok(cron.ok);
    const cronPlan = schedulerPlan('abc', cron.parsed, 60_000);
    const [next] = nextRuns(cron.parsed, cronPlan, from, 1);
    assert.equal(next!.toISOString().slice(0, 16), '2026-11-29T05:00', '06:00 in Berlin (UTC+1 in November)');
    assert.ok(next!.getTime() - Date.parse('2026-11-29T05:00:00Z') === cronPlan.runDelayMs);
  });
});
