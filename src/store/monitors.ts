import { gunzipSync, gzipSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import type { Report } from '../report/model.js';
import type { Alert, AlertState } from '../monitor/alerts.js';
import { withAllRules } from '../monitor/model.js';
import type { Monitor, MonitorSpec } from '../monitor/model.js';
import type { RunSummary } from '../monitor/summary.js';

/**
 * Monitors and their history in Redis. Every key sits under the service prefix (with its
 * {hash-tag}, so the multi-key scripts below work on Redis Cluster too):
 *
 * | key                         | content                                                   |
 * |-----------------------------|-----------------------------------------------------------|
 * | `:mons`                     | sorted set of monitor ids by creation time                |
 * | `:mon:<id>`                 | the monitor (JSON, with `rev`)                            |
 * | `:mon:<id>:state`           | hash: alert state, last summary (gzip), trend, `rev`      |
 * | `:mon:<id>:runs`            | sorted set of run ids by start time                       |
 * | `:mon:<id>:run:<run>`       | the run's header (JSON): verdict, counts, changes, alerts |
 * | `:mon:<id>:rep:<run>`       | the run's full report (gzip JSON)                         |
 * | `:mon:<id>:alerts`          | list of alerts raised, newest first (last 500)            |
 * | `:mon:<id>:deliveries`      | list of delivery attempts, newest first (last 200)        |
 * | `:mon:<id>:dest`            | hash: last delivery outcome per destination               |
 * | `:mons:last`                | hash: each monitor's last run in brief (listings, metrics) |
 * | `:sent:<delivery id>`       | marker of a delivered alert (30 days)                     |
 *
 * A run is committed in one script that checks the alert state's revision: two runs of a
 * monitor finishing together cannot both advance the state from the same starting point,
 * and a run committed twice (a job re-run after its worker died) is stored once.
 */

/** How a run came about. */
export type RunTrigger = 'schedule' | 'manual' | 'initial';

/** What changed in a run compared with the run before it, in brief. */
export interface RunChanges {
  previousRunId: string;
  /** Findings that appeared, disappeared or changed status, and key facts that changed. */
  count: number;
  /** Sentences, most important first (at most 30). */
  texts: string[];
}

/** The header of one run: what listings and the timeline show without loading the report. */
export interface RunRecord {
  runId: string;
  monitorId: string;
  jobId: string;
  trigger: RunTrigger;
  scheduledAt?: string;
  at: string;
  finishedAt: string;
  durationMs: number;
  verdict: Report['verdict'];
  complete: boolean;
  counts: Report['counts'];
  /** Days until the earliest leaf certificate expiry among the MX addresses (when probed). */
  certDays?: number;
  /** Whether the alert rules looked at this run (false when a later run was committed first). */
  evaluated: boolean;
  changes?: RunChanges;
  /** Keys of the alerts this run raised. */
  alerts: string[];
}

/** One alert as kept in the monitor's alert list. */
export interface AlertRecord extends Alert {
  runId: string;
  /** Destination ids it is delivered to. */
  destinations: string[];
  /** The delivery job per destination. */
  deliveryIds: Record<string, string>;
}

export interface DeliveryRecord {
  deliveryId: string;
  destinationId: string;
  type: 'email' | 'webhook';
  /** Where it went, for people (URL without credentials, or the addresses). */
  target: string;
  runId?: string;
  test: boolean;
  alerts: number;
  title: string;
  status: 'sent' | 'retrying' | 'failed' | 'skipped';
  attempt: number;
  attempts: number;
  detail?: string;
  at: string;
}

/** A monitor's last run in brief, for the list and the metrics. */
export interface LastRun {
  runId: string;
  at: string;
  verdict: Report['verdict'];
  counts: Report['counts'];
  complete: boolean;
  certDays?: number;
  /** Verdicts of the last runs, oldest first: p, w, f. */
  trend: string;
}

export interface MonitorState {
  rev: number;
  alerts: AlertState;
  last?: RunSummary;
  lastRunId?: string;
  lastAt?: string;
  trend: string;
}

export interface CommitInput {
  monitorId: string;
  expectedRev: number;
  record: RunRecord;
  report: Report;
  /** Set when the run was evaluated: the new alert state, summary and trend. */
  evaluation?: { alerts: AlertState; summary: RunSummary; trend: string; last: LastRun };
  alertRecords: AlertRecord[];
  retentionMs: number;
  maxRuns: number;
}

export type CommitResult = 'committed' | 'conflict' | 'duplicate' | 'gone';

// KEYS: mon, state, runs, run, rep, alerts, last.
// ARGV: expected rev, run id, score, run JSON, report gz, retention ms, max runs, key prefix
//       (":mon:<id>"), evaluated (0/1), alert state JSON, summary gz, trend, last JSON,
//       monitor id, then alert record JSONs.
const COMMIT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if redis.call('ZSCORE', KEYS[3], ARGV[2]) then return 'duplicate' end
local rev = tonumber(redis.call('HGET', KEYS[2], 'rev') or '0')
if rev ~= tonumber(ARGV[1]) then return 'conflict' end
local score = tonumber(ARGV[3])
local retention = tonumber(ARGV[6])
redis.call('SET', KEYS[4], ARGV[4], 'PX', retention)
redis.call('SET', KEYS[5], ARGV[5], 'PX', retention)
redis.call('ZADD', KEYS[3], score, ARGV[2])
local function drop(ids)
  for _, id in ipairs(ids) do
    redis.call('DEL', ARGV[8] .. ':run:' .. id, ARGV[8] .. ':rep:' .. id)
  end
end
drop(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. (score - retention)))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (score - retention))
local n = redis.call('ZCARD', KEYS[3])
local max = tonumber(ARGV[7])
if n > max then
  drop(redis.call('ZRANGE', KEYS[3], 0, n - max - 1))
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, n - max - 1)
end
redis.call('HSET', KEYS[2], 'rev', rev + 1)
if ARGV[9] == '1' then
  redis.call('HSET', KEYS[2], 'alerts', ARGV[10], 'last', ARGV[11], 'trend', ARGV[12], 'lastRunId', ARGV[2], 'lastAt', score)
  redis.call('HSET', KEYS[7], ARGV[14], ARGV[13])
end
for i = 15, #ARGV do
  redis.call('LPUSH', KEYS[6], ARGV[i])
end
redis.call('LTRIM', KEYS[6], 0, 499)
return 'committed'
`;

// KEYS: mon, mons. ARGV: monitor JSON, expected rev (-1 = create), created score.
const SAVE = `
local cur = redis.call('GET', KEYS[1])
local expected = tonumber(ARGV[2])
if expected < 0 then
  if cur then return 0 end
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[3], cjson.decode(ARGV[1]).id)
  return 1
end
if not cur then return -1 end
if tonumber(cjson.decode(cur).rev) ~= expected then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

// KEYS: mon, mons, runs, state, alerts, deliveries, dest, last. ARGV: key prefix, id.
const DELETE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, run in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  redis.call('DEL', ARGV[1] .. ':run:' .. run, ARGV[1] .. ':rep:' .. run)
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[8], ARGV[2])
return 1
`;

function gz(value: unknown): Buffer {
  return gzipSync(JSON.stringify(value), { level: 6 });
}

function ungz<T>(buf: Buffer): T {
  return JSON.parse(gunzipSync(buf).toString('utf8')) as T;
}

export class MonitorStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private k(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }
  private mon(id: string, ...rest: string[]): string {
    return this.k('mon', id, ...rest);
  }

  /** Stores a new monitor; false when the id is taken. */
  async create(monitor: Monitor): Promise<boolean> {
    const r = await this.redis.eval(
      SAVE,
      2,
      this.mon(monitor.id),
      this.k('mons'),
      JSON.stringify(monitor),
      '-1',
      String(Date.parse(monitor.createdAt)),
    );
    return r === 1;
  }

  /**
   * Replaces a monitor if it is still at `expectedRev` (the new one carries rev + 1).
   * 'conflict' when someone else changed it in between, 'gone' when it was deleted.
   */
  async update(monitor: Monitor, expectedRev: number): Promise<'ok' | 'conflict' | 'gone'> {
    const r = await this.redis.eval(
      SAVE,
      2,
      this.mon(monitor.id),
      this.k('mons'),
      JSON.stringify(monitor),
      String(expectedRev),
      '0',
    );
    return r === 1 ? 'ok' : r === -1 ? 'gone' : 'conflict';
  }

  async get(id: string): Promise<Monitor | undefined> {
    const text = await this.redis.get(this.mon(id));
    return text ? withAllRules(JSON.parse(text) as Monitor) : undefined;
  }

  async ids(): Promise<string[]> {
    return this.redis.zrange(this.k('mons'), 0, -1);
  }

  /** All monitors, oldest first. */
  async list(): Promise<Monitor[]> {
    const ids = await this.ids();
    const out: Monitor[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const texts = await this.redis.mget(...ids.slice(i, i + 500).map((id) => this.mon(id)));
      for (const t of texts) if (t) out.push(withAllRules(JSON.parse(t) as Monitor));
    }
    return out;
  }

  /** Deletes a monitor with its history; false when there was none. */
  async delete(id: string): Promise<boolean> {
    const r = await this.redis.eval(
      DELETE,
      8,
      this.mon(id),
      this.k('mons'),
      this.mon(id, 'runs'),
      this.mon(id, 'state'),
      this.mon(id, 'alerts'),
      this.mon(id, 'deliveries'),
      this.mon(id, 'dest'),
      this.k('mons', 'last'),
      this.mon(id),
      id,
    );
    return r === 1;
  }

  async state(id: string): Promise<MonitorState> {
    const key = this.mon(id, 'state');
    const [rev, alerts, trend, lastRunId, lastAt] = await this.redis.hmget(
      key,
      'rev',
      'alerts',
      'trend',
      'lastRunId',
      'lastAt',
    );
    const last = await this.redis.hgetBuffer(key, 'last');
    return {
      rev: Number(rev ?? 0),
      alerts: alerts ? (JSON.parse(alerts) as AlertState) : {},
      trend: trend ?? '',
      ...(last && last.length ? { last: ungz<RunSummary>(last) } : {}),
      ...(lastRunId ? { lastRunId } : {}),
      ...(lastAt ? { lastAt: new Date(Number(lastAt)).toISOString() } : {}),
    };
  }

  /**
   * Forgets the alert state and the last summary (the next run is a new baseline), keeping
   * the history; bumps the revision so that a run committing meanwhile starts over.
   */
  async resetAlertState(id: string): Promise<void> {
    const key = this.mon(id, 'state');
    await this.redis.multi().hdel(key, 'alerts', 'last', 'lastRunId', 'lastAt').hincrby(key, 'rev', 1).exec();
  }

  async hasRun(id: string, runId: string): Promise<boolean> {
    return (await this.redis.zscore(this.mon(id, 'runs'), runId)) !== null;
  }

  async commit(c: CommitInput): Promise<CommitResult> {
    const id = c.monitorId;
    const e = c.evaluation;
    const r = await this.redis.eval(
      COMMIT,
      7,
      this.mon(id),
      this.mon(id, 'state'),
      this.mon(id, 'runs'),
      this.mon(id, 'run', c.record.runId),
      this.mon(id, 'rep', c.record.runId),
      this.mon(id, 'alerts'),
      this.k('mons', 'last'),
      String(c.expectedRev),
      c.record.runId,
      String(Date.parse(c.record.at)),
      JSON.stringify(c.record),
      gz(c.report),
      String(c.retentionMs),
      String(c.maxRuns),
      this.mon(id),
      e ? '1' : '0',
      e ? JSON.stringify(e.alerts) : '',
      e ? gz(e.summary) : '',
      e?.trend ?? '',
      e ? JSON.stringify(e.last) : '',
      id,
      // LPUSH one by one: the newest alert ends up first.
      ...c.alertRecords.map((a) => JSON.stringify(a)),
    );
    return r as CommitResult;
  }

  /** Run headers, newest first; `before` (a start time, ISO) pages back. */
  async runs(id: string, limit = 50, before?: string): Promise<RunRecord[]> {
    const max = before ? `(${Date.parse(before)}` : '+inf';
    const ids = await this.redis.zrevrangebyscore(this.mon(id, 'runs'), max, '-inf', 'LIMIT', 0, limit);
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(...ids.map((r) => this.mon(id, 'run', r)));
    return texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as RunRecord);
  }

  async runCount(id: string): Promise<number> {
    return this.redis.zcard(this.mon(id, 'runs'));
  }

  async run(id: string, runId: string): Promise<RunRecord | undefined> {
    const text = await this.redis.get(this.mon(id, 'run', runId));
    return text ? (JSON.parse(text) as RunRecord) : undefined;
  }

  async report(id: string, runId: string): Promise<Report | undefined> {
    const buf = await this.redis.getBuffer(this.mon(id, 'rep', runId));
    return buf ? ungz<Report>(buf) : undefined;
  }

  /** The run ids just before and after `runId` (for "previous/next run" and default diffs). */
  async neighbours(id: string, runId: string): Promise<{ previous?: string; next?: string }> {
    const key = this.mon(id, 'runs');
    const rank = await this.redis.zrank(key, runId);
    if (rank === null) return {};
    const [previous] = rank > 0 ? await this.redis.zrange(key, rank - 1, rank - 1) : [];
    const [next] = await this.redis.zrange(key, rank + 1, rank + 1);
    return { ...(previous ? { previous } : {}), ...(next ? { next } : {}) };
  }

  /** A run with its report and its neighbours (the run pages of the API and the web), or undefined. */
  async runWithReport(
    id: string,
    runId: string,
  ): Promise<{ run: RunRecord; report: Report; previous?: string; next?: string } | undefined> {
    const [run, report, around] = await Promise.all([
      this.run(id, runId),
      this.report(id, runId),
      this.neighbours(id, runId),
    ]);
    return run && report ? { run, report, ...around } : undefined;
  }

  async alerts(id: string, limit = 50): Promise<AlertRecord[]> {
    const texts = await this.redis.lrange(this.mon(id, 'alerts'), 0, limit - 1);
    return texts.map((t) => JSON.parse(t) as AlertRecord);
  }

  async alertsOfRun(id: string, runId: string): Promise<AlertRecord[]> {
    return (await this.alerts(id, 500)).filter((a) => a.runId === runId);
  }

  async recordDelivery(id: string, d: DeliveryRecord): Promise<void> {
    await this.redis
      .multi()
      .lpush(this.mon(id, 'deliveries'), JSON.stringify(d))
      .ltrim(this.mon(id, 'deliveries'), 0, 199)
      .hset(this.mon(id, 'dest'), d.destinationId, JSON.stringify(d))
      .exec();
  }

  async deliveries(id: string, limit = 50): Promise<DeliveryRecord[]> {
    const texts = await this.redis.lrange(this.mon(id, 'deliveries'), 0, limit - 1);
    return texts.map((t) => JSON.parse(t) as DeliveryRecord);
  }

  /** The last delivery outcome of each destination. */
  async destinationStatus(id: string): Promise<Record<string, DeliveryRecord>> {
    const all = await this.redis.hgetall(this.mon(id, 'dest'));
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as DeliveryRecord]));
  }

  /** Marks a delivery as done; false when it already was (then it must not be sent again). */
  async markSent(deliveryId: string): Promise<boolean> {
    return (await this.redis.set(this.k('sent', deliveryId), '1', 'PX', 30 * 86_400_000, 'NX')) === 'OK';
  }

  async wasSent(deliveryId: string): Promise<boolean> {
    return (await this.redis.exists(this.k('sent', deliveryId))) === 1;
  }

  /** Every monitor's last run in brief. */
  async lastRuns(): Promise<Record<string, LastRun>> {
    const all = await this.redis.hgetall(this.k('mons', 'last'));
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as LastRun]));
  }
}

export type { MonitorSpec };
