import { abortReason } from '../net/deadline.js';

/**
 * A process-wide cap on the queries in flight to one resolver. One domain check asks some
 * ninety questions at once (DKIM selectors, DNSBL zones, SPF includes), and a worker runs
 * several checks: unbounded, those bursts overflow a resolver's UDP receive buffer — the
 * kernel drops the excess, and each dropped query costs a full timeout and a retry. Waiting
 * for a slot costs microseconds instead. The per-attempt timeout starts once a slot is held;
 * the caller's signal (the check's deadline) also ends the wait.
 */
interface Gate {
  active: number;
  waiting: { grant: () => void; signal: AbortSignal | undefined; onAbort: () => void }[];
}

const gates = new Map<string, Gate>();

/** Resolves with a release function once fewer than `limit` queries are in flight to `key`. */
export function acquireSlot(key: string, limit: number, signal?: AbortSignal): Promise<() => void> {
  let gate = gates.get(key);
  if (!gate) {
    gate = { active: 0, waiting: [] };
    gates.set(key, gate);
  }
  const g = gate;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    g.active--;
    const next = g.waiting.shift();
    if (next) {
      next.signal?.removeEventListener('abort', next.onAbort);
      next.grant();
    } else if (g.active === 0) gates.delete(key);
  };
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (g.active < limit) {
    g.active++;
    return Promise.resolve(release);
  }
  return new Promise((resolve, reject) => {
    const waiter = {
      signal,
      grant: () => {
        g.active++;
        resolve(release);
      },
      onAbort: () => {
        const i = g.waiting.indexOf(waiter);
        if (i >= 0) g.waiting.splice(i, 1);
        reject(abortReason(signal!));
      },
    };
    signal?.addEventListener('abort', waiter.onAbort, { once: true });
    g.waiting.push(waiter);
  });
}

/** Queries in flight and waiting per resolver (tests read it). */
export function inflightStats(): Record<string, { active: number; waiting: number }> {
  return Object.fromEntries([...gates].map(([k, g]) => [k, { active: g.active, waiting: g.waiting.length }]));
}
