import type { Redis } from 'ioredis';
import { z } from 'zod';
import { DiagnosisSchema } from '../bounce/model.js';
import type { Diagnosis } from '../bounce/model.js';

/**
 * Bounce diagnoses of the service in Redis.
 *
 * - The submitted bounce text waits under `:bounce-input:<id>` until a worker has diagnosed
 *   it, and is deleted then (it is real mail: addresses, subjects, sometimes a whole message);
 *   its TTL removes it even if the job is lost.
 * - The result (a diagnosis, or why the input could not be used) is kept under
 *   `:bounce:<id>` for the retention period. Saving is exactly-once: a job that runs twice
 *   (its worker stalled) stores one result.
 */

export const BounceOptionsSchema = z.object({
  followups: z.boolean().describe('Run the follow-up checks'),
  smtp: z.boolean().describe('Let follow-ups connect to mail servers (RCPT probe, connectivity, STARTTLS)'),
});
export type BounceOptions = z.infer<typeof BounceOptionsSchema>;

export const BounceInputErrorSchema = z.object({
  code: z
    .enum(['empty', 'binary', 'too_large', 'not_a_bounce', 'too_complex', 'expired'])
    .describe(
      'empty, binary, too_large, not_a_bounce: what was wrong with the input; too_complex: reading it took longer than its time budget; expired: it waited longer than its text was kept',
    ),
  message: z.string().describe('What was wrong and what is accepted'),
});

export const StoredBounceSchema = z.object({
  id: z.string(),
  outcome: z
    .enum(['diagnosed', 'rejected'])
    .describe(
      'diagnosed: `diagnosis` holds the result; rejected: the input was not a usable bounce (`inputError` says why)',
    ),
  submittedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number().describe('From the start of the job to the stored result'),
  options: BounceOptionsSchema,
  diagnosis: DiagnosisSchema.optional(),
  inputError: BounceInputErrorSchema.optional(),
});
export type StoredBounce = z.infer<typeof StoredBounceSchema> & { diagnosis?: Diagnosis };

// KEYS: result. ARGV: JSON, retention ms. Stores unless a result is stored already.
const SAVE_ONCE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

export interface DiagnosisStoreOptions {
  prefix: string;
  retentionMs: number;
  /** How long a submitted bounce waits for a worker before its text is dropped. @defaultValue 1 day */
  inputTtlMs?: number;
}

export class DiagnosisStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: DiagnosisStoreOptions,
  ) {}

  private key(kind: 'bounce' | 'bounce-input', id: string): string {
    return `${this.options.prefix}:${kind}:${id}`;
  }

  get inputTtlMs(): number {
    return this.options.inputTtlMs ?? 86_400_000;
  }

  /** Keeps the submitted bytes until a worker takes them. */
  async saveInput(id: string, bytes: Buffer): Promise<void> {
    await this.redis.set(this.key('bounce-input', id), bytes, 'PX', this.inputTtlMs);
  }

  async getInput(id: string): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(this.key('bounce-input', id))) ?? undefined;
  }

  async deleteInput(id: string): Promise<void> {
    await this.redis.del(this.key('bounce-input', id));
  }

  /** Stores the result of `id` unless one is stored; true when this call stored it. */
  async saveOnce(result: StoredBounce): Promise<boolean> {
    const done = await this.redis.eval(
      SAVE_ONCE,
      1,
      this.key('bounce', result.id),
      JSON.stringify(result),
      String(this.options.retentionMs),
    );
    return done === 1;
  }

  async get(id: string): Promise<StoredBounce | undefined> {
    const text = await this.redis.get(this.key('bounce', id));
    return text ? (JSON.parse(text) as StoredBounce) : undefined;
  }

  async has(id: string): Promise<boolean> {
    return (await this.redis.exists(this.key('bounce', id))) === 1;
  }
}
