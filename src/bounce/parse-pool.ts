import { Worker } from 'node:worker_threads';
import { BounceInputError } from './errors.js';
import type { BounceInputErrorCode } from './errors.js';
import type { Diagnosis } from './model.js';

/**
 * Bounce parsing off the event loop: a small pool of worker threads, each diagnosing one
 * message at a time (diagnoseBounce, no follow-ups). The service's web pages, /healthz and
 * BullMQ's lock renewals share one event loop with the bounce worker: a message that takes
 * long to read — a 5 MiB report naming thousands of recipients — must not stop them.
 *
 * Each message has a time budget. One that exceeds it is reported as unusable (a
 * BounceInputError "too_complex") and its thread is stopped and replaced, so a message that
 * defeats the parser costs one budget, not the service.
 */
export interface ParsePoolOptions {
  /** Threads (each parses one message at a time). @defaultValue 2 */
  size?: number;
  /** How long one message may take, from the moment a thread starts on it. @defaultValue 20 s */
  budgetMs?: number;
  /** Input size limit passed to diagnoseBounce. */
  maxBytes?: number;
}

/** What the pool sends a thread. */
export interface ParseRequest {
  id: number;
  input: Uint8Array | string;
  maxBytes: number | undefined;
}

/** What a thread says: it is ready, or its answer — a diagnosis, why the input is unusable, or an error. */
export type ParseReply =
  | { ready: true }
  | { id: number; diagnosis: Diagnosis }
  | { id: number; inputError: { code: BounceInputErrorCode; message: string } }
  | { id: number; error: string };

export const DEFAULT_PARSE_BUDGET_MS = 20_000;

interface Task {
  id: number;
  input: Uint8Array | string;
  resolve: (d: Diagnosis) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

interface Slot {
  worker: Worker;
  /** Loaded and waiting for messages (a new thread takes a moment to load the parser). */
  ready: boolean;
  task: Task | null;
  timer: NodeJS.Timeout | undefined;
}

export class BounceParsePool {
  readonly size: number;
  readonly budgetMs: number;
  readonly #maxBytes: number | undefined;
  readonly #slots = new Set<Slot>();
  readonly #queue: Task[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: ParsePoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? 2));
    this.budgetMs = options.budgetMs ?? DEFAULT_PARSE_BUDGET_MS;
    this.#maxBytes = options.maxBytes;
  }

  /** Diagnoses one message in a thread. Rejects with BounceInputError for unusable input. */
  parse(input: Uint8Array | string, signal?: AbortSignal): Promise<Diagnosis> {
    if (this.#closed) return Promise.reject(new Error('the bounce parse pool is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Diagnosis>((resolve, reject) => {
      const task: Task = {
        id: this.#nextId++,
        input,
        resolve,
        reject,
        signal,
        onAbort: () => this.#abort(task),
      };
      signal?.addEventListener('abort', task.onAbort, { once: true });
      this.#queue.push(task);
      this.#dispatch();
    });
  }

  /** Stops every thread; queued and running parses are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const task of this.#queue.splice(0)) this.#settle(task, new Error('the bounce parse pool closed'));
    await Promise.all(
      [...this.#slots].map((slot) => this.#stop(slot, new Error('the bounce parse pool closed'))),
    );
  }

  /** Hands queued messages to idle threads, starting threads up to the pool size. */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = [...this.#slots].find((s) => s.ready && s.task === null);
      if (!slot) {
        const starting = [...this.#slots].filter((s) => !s.ready).length;
        if (this.#slots.size < this.size && starting < this.#queue.length) this.#start();
        return;
      }
      const task = this.#queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.timer = setTimeout(() => this.#overBudget(slot), this.budgetMs);
      const request: ParseRequest = { id: task.id, input: task.input, maxBytes: this.#maxBytes };
      slot.worker.postMessage(request);
    }
  }

  #start(): Slot {
    const slot: Slot = { worker: spawnParseWorker(), ready: false, task: null, timer: undefined };
    slot.worker.on('message', (reply: ParseReply) => this.#answer(slot, reply));
    slot.worker.on('error', (err) => void this.#stop(slot, err));
    slot.worker.on('exit', () => {
      if (!this.#slots.has(slot)) return;
      void this.#stop(slot, new Error('a bounce parse thread exited'));
    });
    // Referenced while it loads or parses (a message is waiting), not while idle.
    this.#slots.add(slot);
    return slot;
  }

  #answer(slot: Slot, reply: ParseReply): void {
    if ('ready' in reply) {
      slot.ready = true;
      this.#dispatch();
      if (slot.task === null) slot.worker.unref();
      return;
    }
    const task = slot.task;
    if (!task || task.id !== reply.id) return;
    clearTimeout(slot.timer);
    slot.task = null;
    slot.worker.unref();
    if ('diagnosis' in reply) this.#settle(task, null, reply.diagnosis);
    else if ('inputError' in reply)
      this.#settle(task, new BounceInputError(reply.inputError.code, reply.inputError.message));
    else this.#settle(task, new Error(`bounce parsing failed: ${reply.error}`));
    this.#dispatch();
  }

  #overBudget(slot: Slot): void {
    const budget =
      this.budgetMs >= 1000 ? `${Math.round(this.budgetMs / 100) / 10} s` : `${this.budgetMs} ms`;
    void this.#stop(
      slot,
      new BounceInputError(
        'too_complex',
        `Reading this message took longer than ${budget}, so it was stopped. It is far more complex than a bounce: send the bounce itself (its text and the returned headers), without large attachments.`,
      ),
    );
  }

  #abort(task: Task): void {
    const queued = this.#queue.indexOf(task);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#settle(task, task.signal?.reason);
      return;
    }
    const slot = [...this.#slots].find((s) => s.task === task);
    if (slot) void this.#stop(slot, task.signal?.reason);
  }

  /** Stops a thread, failing its message with `err`; the next message starts a new thread. */
  async #stop(slot: Slot, err: unknown): Promise<void> {
    if (!this.#slots.delete(slot)) return;
    clearTimeout(slot.timer);
    const task = slot.task;
    slot.task = null;
    if (task) this.#settle(task, err);
    // A thread that dies before it is ready cannot load the parser: fail what waits, do not loop.
    if (!slot.ready) for (const waiting of this.#queue.splice(0)) this.#settle(waiting, err);
    await slot.worker.terminate();
    if (!this.#closed) this.#dispatch();
  }

  #settle(task: Task, err: unknown, diagnosis?: Diagnosis): void {
    task.signal?.removeEventListener('abort', task.onAbort);
    if (diagnosis) task.resolve(diagnosis);
    else task.reject(err);
  }
}

/**
 * A thread running parse-worker. Compiled, it is the .js file beside this one. From the
 * TypeScript sources (tests, MXDOCTOR_FROM_SOURCE=1), the thread registers tsx first: module
 * hooks registered in this thread do not reach new threads.
 */
function spawnParseWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./parse-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, execArgv: [] });
}
