import type { QueueEvents } from 'bullmq';
import type { ProgressUpdate } from '../checks/types.js';

/**
 * Fans BullMQ queue events out to the browsers watching a check: one QueueEvents stream
 * per web process, any number of listeners per job id (Server-Sent Events connections).
 */
export type CheckEvent =
  | { type: 'progress'; progress: ProgressUpdate }
  | { type: 'completed' }
  | { type: 'failed'; error: string }
  /** The web process is shutting down: end the stream (the browser reconnects elsewhere). */
  | { type: 'closing' };

type Listener = (event: CheckEvent) => void;

export class ProgressHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private closed = false;

  constructor(private readonly events: QueueEvents | undefined) {
    events?.on('progress', ({ jobId, data }) => {
      if (data && typeof data === 'object')
        this.emit(jobId, { type: 'progress', progress: data as ProgressUpdate });
    });
    events?.on('completed', ({ jobId }) => this.emit(jobId, { type: 'completed' }));
    events?.on('failed', ({ jobId, failedReason }) =>
      this.emit(jobId, { type: 'failed', error: failedReason }),
    );
  }

  private emit(jobId: string, event: CheckEvent): void {
    for (const l of this.listeners.get(jobId) ?? []) l(event);
  }

  subscribe(jobId: string, listener: Listener): () => void {
    if (this.closed) return () => {};
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  get watchers(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  /** Tells every listener the stream is over (shutdown) and stops listening. */
  close(): void {
    this.closed = true;
    const all = [...this.listeners.values()].flatMap((s) => [...s]);
    this.listeners.clear();
    for (const l of all) l({ type: 'closing' });
  }
}
