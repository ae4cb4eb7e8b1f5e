import { ProbeError } from './errors.js';

/**
 * A signal that fires when `parent` fires or after `ms` milliseconds, whichever comes first.
 * A timeout aborts with ProbeError('ETIMEDOUT'); a parent abort keeps the parent's reason, so
 * callers can tell "this operation took too long" from "the whole check was cancelled".
 * Call `dispose()` when the operation ends: it clears the timer and unhooks from the parent
 * (long-lived parents would otherwise collect listeners).
 */
export interface Deadline {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function deadline(parent: AbortSignal | undefined, ms: number, what = 'operation'): Deadline {
  const controller = new AbortController();
  if (parent?.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, dispose: () => {} };
  }
  const onParentAbort = (): void => controller.abort(parent?.reason);
  parent?.addEventListener('abort', onParentAbort, { once: true });
  const timer =
    Number.isFinite(ms) && ms >= 0
      ? setTimeout(
          () => controller.abort(new ProbeError('ETIMEDOUT', `${what} timed out after ${ms} ms`)),
          ms,
        )
      : undefined;
  timer?.unref?.();
  return {
    signal: controller.signal,
    dispose: () => {
      if (timer) clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/** Runs `fn` under a deadline and always disposes it. */
export async function withDeadline<T>(
  parent: AbortSignal | undefined,
  ms: number,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const d = deadline(parent, ms, what);
  try {
    return await fn(d.signal);
  } finally {
    d.dispose();
  }
}

/** The error to throw for an aborted signal: its reason when that is an Error, else EABORTED. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new ProbeError('EABORTED', typeof reason === 'string' ? reason : 'operation aborted');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** Rejects as soon as `signal` aborts; otherwise settles with `promise`. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    // The operation may still settle later; its rejection must not go unhandled.
    promise.catch(() => {});
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** A promise that resolves after `ms`, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
