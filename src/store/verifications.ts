import type { Redis } from 'ioredis';
import type { Verification } from '../verify/model.js';

/**
 * Address verifications in Redis, under their id, for the report retention period: the
 * request, the result once there is one, and the greylisting re-ask while one is scheduled.
 */
export interface StoredVerification {
  id: string;
  submittedAt: string;
  addresses: string[];
  result?: Verification;
  /** A delayed job will ask these greylisted addresses again. */
  retry?: { scheduledAt: string; addresses: string[] };
  error?: string;
}

export class VerificationStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: { prefix: string; retentionMs: number },
  ) {}

  private key(id: string): string {
    return `${this.options.prefix}:verification:${id}`;
  }

  async save(v: StoredVerification): Promise<void> {
    await this.redis.set(this.key(v.id), JSON.stringify(v), 'PX', this.options.retentionMs);
  }

  async get(id: string): Promise<StoredVerification | undefined> {
    const text = await this.redis.get(this.key(id));
    return text ? (JSON.parse(text) as StoredVerification) : undefined;
  }
}
