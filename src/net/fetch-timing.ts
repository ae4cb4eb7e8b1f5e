import { z } from 'zod';

/**
 * When the steps of one HTTPS fetch ended (the MTA-STS policy, BIMI assets), in milliseconds
 * since the fetch began, on the same clock as its `ms`: the report's timeline (report/
 * timeline.ts) shows them as address lookup → connect → TLS → response. A step that was not
 * reached has no mark. Plain data.
 */
export const FetchTimingSchema = z
  .object({
    startedAt: z.string().describe('When the fetch began (ISO 8601)'),
    addressMs: z.number().optional().describe('The host name was resolved'),
    connectedMs: z.number().optional().describe('The TCP connection was open (the last address tried)'),
    secureMs: z.number().optional().describe('The TLS handshake was done'),
    responseMs: z.number().optional().describe('The response headers had arrived'),
  })
  .describe('When each step of the fetch ended, in ms since it began (the body ends at `ms`)');
export type FetchTiming = z.infer<typeof FetchTimingSchema>;

export type FetchStep = Exclude<keyof FetchTiming, 'startedAt'>;

/** A fetch's clock: `mark` notes that a step has just ended. */
export class FetchClock {
  readonly timing: FetchTiming = { startedAt: new Date().toISOString() };
  private readonly t0 = performance.now();

  elapsedMs(): number {
    return Math.round(performance.now() - this.t0);
  }

  mark(step: FetchStep): void {
    this.timing[step] = this.elapsedMs();
  }
}
