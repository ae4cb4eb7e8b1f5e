import type { Redis } from 'ioredis';
import type { BulkRow } from '../report/bulk.js';
import type { CheckOptions } from '../report/model.js';

/**
 * Batches of domain checks in Redis: the batch (its domains in input order, each with the id
 * of its check job and report, the options and the webhook) under its id, and a hash of the
 * finished rows by position. Recording a row is one script that also says, exactly once,
 * when the last row arrived, so the completion webhook is queued once however many workers
 * finish at the same moment. Everything is kept for the report retention period.
 */
export interface BatchItem {
  /** Line of the submitted list, when it came from one. */
  line?: number;
  input: string;
  ascii: string;
  unicode: string;
  /** The check job, and the id of its report. */
  checkId: string;
}

export interface Batch {
  id: string;
  createdAt: string;
  options: CheckOptions;
  webhook?: string;
  via: 'api' | 'web';
  items: BatchItem[];
}

export interface BatchProgress {
  batch: Batch;
  /** Finished rows by position. */
  rows: Map<number, BulkRow>;
  completedAt?: string;
}

// KEYS: rows, done. ARGV: index, row JSON, total, retention ms, now ISO.
// Returns 1 when this row completed the batch (only once), else 0.
const RECORD = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then return 0 end
if redis.call('SET', KEYS[2], ARGV[5], 'NX', 'PX', ARGV[4]) then return 1 end
return 0
`;

export class BatchStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: { prefix: string; retentionMs: number },
  ) {}

  private key(id: string, part = ''): string {
    return `${this.options.prefix}:batch:${id}${part}`;
  }

  async create(batch: Batch): Promise<void> {
    await this.redis.set(this.key(batch.id), JSON.stringify(batch), 'PX', this.options.retentionMs);
  }

  async get(id: string): Promise<Batch | undefined> {
    const text = await this.redis.get(this.key(id));
    return text ? (JSON.parse(text) as Batch) : undefined;
  }

  /** Records the row of position `index`; true when it was the last one (said once per batch). */
  async record(id: string, index: number, row: BulkRow, total: number): Promise<boolean> {
    const done = await this.redis.eval(
      RECORD,
      2,
      this.key(id, ':rows'),
      this.key(id, ':done'),
      String(index),
      JSON.stringify(row),
      String(total),
      String(this.options.retentionMs),
      new Date().toISOString(),
    );
    return done === 1;
  }

  async progress(id: string): Promise<BatchProgress | undefined> {
    const [batch, rows, completedAt] = await Promise.all([
      this.get(id),
      this.redis.hgetall(this.key(id, ':rows')),
      this.redis.get(this.key(id, ':done')),
    ]);
    if (!batch) return undefined;
    const map = new Map<number, BulkRow>();
    for (const [k, v] of Object.entries(rows)) map.set(Number(k), JSON.parse(v) as BulkRow);
    return { batch, rows: map, ...(completedAt ? { completedAt } : {}) };
  }
}
