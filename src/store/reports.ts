import type { Redis } from 'ioredis';
import type { CheckOptions, Report } from '../report/model.js';

/**
 * Reports in Redis: each report as JSON under its id (the job id), with a small summary
 * beside it for listings, both kept for the retention period; and per domain a sorted set
 * of report ids by finish time, newest first, for "previous checks of this domain".
 *
 * Saving is exactly-once: the first save of an id wins and later saves of the same id (a
 * job that was run again after its worker stalled) change nothing, in one atomic script.
 *
 * The summary also keeps who made the report (`owner`, see src/report/access.ts), written
 * with the report in the same script, so that a report never exists without its owner.
 */
export interface ReportMeta {
  id: string;
  domain: { ascii: string; unicode: string };
  verdict: Report['verdict'];
  complete: boolean;
  counts: Report['counts'];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  options: CheckOptions;
  /** Who made it (src/report/access.ts); absent in reports stored before owners: anonymous. */
  owner?: string;
}

export function metaOf(id: string, report: Report, owner?: string): ReportMeta {
  return {
    id,
    domain: { ascii: report.domain.ascii, unicode: report.domain.unicode },
    verdict: report.verdict,
    complete: report.complete,
    counts: report.counts,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    durationMs: report.durationMs,
    options: report.options,
    ...(owner !== undefined ? { owner } : {}),
  };
}

// KEYS: report, meta, domain index. ARGV: report JSON, meta JSON, retention ms, score, id, history size.
const SAVE_ONCE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local retention = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', retention)
redis.call('SET', KEYS[2], ARGV[2], 'PX', retention)
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (now - retention))
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[6]) + 1))
redis.call('PEXPIRE', KEYS[3], retention)
return 1
`;

// KEYS: report, meta. ARGV: report JSON, meta JSON. Replaces a stored report, keeping its expiry.
const REPLACE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
redis.call('SET', KEYS[2], ARGV[2], 'KEEPTTL')
return 1
`;

export interface ReportStoreOptions {
  prefix: string;
  retentionMs: number;
  /** Most report ids kept per domain. */
  domainHistory: number;
}

export class ReportStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: ReportStoreOptions,
  ) {}

  private key(kind: 'report' | 'report-meta', id: string): string {
    return `${this.options.prefix}:${kind}:${id}`;
  }

  private indexKey(ascii: string): string {
    return `${this.options.prefix}:domain:${ascii}`;
  }

  /** Stores the report of `id` unless one is stored already; true when this call stored it. */
  async saveOnce(id: string, report: Report, owner?: string): Promise<boolean> {
    const stored = await this.redis.eval(
      SAVE_ONCE,
      3,
      this.key('report', id),
      this.key('report-meta', id),
      this.indexKey(report.domain.ascii),
      JSON.stringify(report),
      JSON.stringify(metaOf(id, report, owner)),
      String(this.options.retentionMs),
      String(Date.parse(report.finishedAt) || Date.now()),
      id,
      String(this.options.domainHistory),
    );
    return stored === 1;
  }

  /** Replaces the stored report of `id` (e.g. after a re-probe), keeping its expiry; false when none is stored. */
  async replace(id: string, report: Report): Promise<boolean> {
    // The owner never changes: carry it over from the stored summary.
    const owner = (await this.getMeta(id))?.owner;
    const done = await this.redis.eval(
      REPLACE,
      2,
      this.key('report', id),
      this.key('report-meta', id),
      JSON.stringify(report),
      JSON.stringify(metaOf(id, report, owner)),
    );
    return done === 1;
  }

  async get(id: string): Promise<Report | undefined> {
    const text = await this.redis.get(this.key('report', id));
    return text ? (JSON.parse(text) as Report) : undefined;
  }

  /** The stored report as the exact JSON text (for downloads, without re-serialising). */
  async getText(id: string): Promise<string | undefined> {
    return (await this.redis.get(this.key('report', id))) ?? undefined;
  }

  async getMeta(id: string): Promise<ReportMeta | undefined> {
    const text = await this.redis.get(this.key('report-meta', id));
    return text ? (JSON.parse(text) as ReportMeta) : undefined;
  }

  async has(id: string): Promise<boolean> {
    return (await this.redis.exists(this.key('report', id))) === 1;
  }

  /** The most recent reports of a domain (ASCII form), newest first. */
  async listByDomain(ascii: string, limit = this.options.domainHistory): Promise<ReportMeta[]> {
    const ids = await this.redis.zrevrange(this.indexKey(ascii), 0, Math.max(0, limit - 1));
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(...ids.map((id) => this.key('report-meta', id)));
    return texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as ReportMeta);
  }
}
