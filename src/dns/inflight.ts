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

/**
 * Resolves with a release function once fewer than `limit` holders of `key` are active: a
 * process-wide gate per key (the DNS client's key is the resolver; the check processor's,
 * its reports being stored).
 */
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

/**
 * Work started a few at a time across this process: `admit` runs `start` at once while fewer
 * than `limit` admitted runs are unfinished, and otherwise queues it. A queued run waits as
 * one small record (its start function and its promise's two settle functions), not as a
 * suspended async call with a signal listener: 500 checks starting together queue ~40,000
 * DNS questions, held for seconds — long enough for the garbage collector to move all of
 * them to the old generation, whose growth then set the worker's resident size (issue 14 P4).
 * Queued runs start in order.
 */
interface Queued {
  start: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  limit: number;
}

const admission = { active: 0, queue: [] as (Queued | undefined)[], head: 0 };

export function admit<T>(limit: number, start: () => Promise<T>): Promise<T> {
  if (admission.active < limit && admission.head === admission.queue.length) {
    admission.active++;
    const running = start();
    running.then(admitNext, admitNext);
    return running;
  }
  return new Promise<T>((resolve, reject) => {
    admission.queue.push({ start, resolve: resolve as (value: unknown) => void, reject, limit });
  });
}

function admitNext(): void {
  admission.active--;
  grantRoom();
  const { queue } = admission;
  while (admission.head < queue.length && admission.active < queue[admission.head]!.limit) {
    const next = queue[admission.head]!;
    queue[admission.head++] = undefined;
    admission.active++;
    next.start().then(
      (value) => {
        admitNext();
        next.resolve(value);
      },
      (err: unknown) => {
        admitNext();
        next.reject(err);
      },
    );
  }
  // Drop the records already started, in one go rather than one shift() per record.
  if (admission.head === queue.length) {
    queue.length = 0;
    admission.head = 0;
  } else if (admission.head > 1024 && admission.head * 2 > queue.length) {
    queue.splice(0, admission.head);
    admission.head = 0;
  }
}

/** Runs admitted and waiting (tests read it). */
export function admissionStats(): { active: number; waiting: number; waitingForRoom: number } {
  return {
    active: admission.active,
    waiting: admission.queue.length - admission.head,
    waitingForRoom: roomWaiters.length,
  };
}

/**
 * Questions waiting for admission beyond which new work that is about to ask many waits for
 * room (`whenRoom`). A domain check asks ~80 questions as it starts: 500 checks starting
 * together queued 40,000, each with the calls waiting on it, and the garbage collector moved
 * them all to the old generation before they were answered. Work that waits here is one
 * small record instead, and starts when the queue has drained below this mark: the same
 * questions are asked at the same rate, only fewer of them wait at once. The mark is the
 * default admission (64 in flight to one resolver): a question waits about as long as one
 * is resolved, too short for the collector to promote it. In the worker of `npm run bench
 * tarpit`, 1024 left ~45 MB more in the old generation than 256, and 256 ~20 MB more than 64
 * with the admission of one resolver (issue 14 P4).
 */
export const ROOM_MARK = 64;

const roomWaiters: { grant: () => void }[] = [];

/**
 * Resolves at once while fewer than ROOM_MARK questions wait for admission and nothing
 * waits before the caller; otherwise when the queue has drained below the mark and the
 * callers before have gone. At most one caller goes per turn of the event loop, so that the
 * questions of the work let through are queued before the next one looks. Rejects when
 * `signal` aborts.
 */
export function whenRoom(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  if (roomWaiters.length === 0 && hasRoom()) {
    passed();
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const waiter = {
      grant: () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
    };
    const onAbort = (): void => {
      const i = roomWaiters.indexOf(waiter);
      if (i >= 0) roomWaiters.splice(i, 1);
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    roomWaiters.push(waiter);
  });
}

/**
 * One caller went through this turn of the event loop: the next may go on the next turn,
 * once the work let through has queued what it asks at once (many checks resume in the same
 * turn when one Redis reply carries many jobs).
 */
let passedThisTurn = false;

function hasRoom(): boolean {
  return !passedThisTurn && admission.queue.length - admission.head < ROOM_MARK;
}

function passed(): void {
  passedThisTurn = true;
  setImmediate(() => {
    passedThisTurn = false;
    grantRoom();
  });
}

/** Lets the first waiter go when there is room. */
function grantRoom(): void {
  if (roomWaiters.length === 0 || !hasRoom()) return;
  roomWaiters.shift()!.grant();
  passed();
}
