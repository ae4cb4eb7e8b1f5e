import { UsageError } from './errors.js';

/** Flags of the commands that read lists (check --file, verify --file), kept light to load. */
export const DEFAULT_CONCURRENCY = 8;

export function concurrencyFlag(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 200)
    throw new UsageError(`--concurrency ${JSON.stringify(value)} must be a number from 1 to 200`);
  return Number(value);
}
