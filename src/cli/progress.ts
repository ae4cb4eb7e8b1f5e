/**
 * A one-line progress bar on a terminal's standard error, redrawn at most ten times a second:
 * "[########......] 412/1000  41%  8 running  3 fail  eta 1m 20s". Off when the stream is
 * not a terminal, so logs and pipes get no control characters.
 */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export class ProgressBar {
  private readonly enabled: boolean;
  private lastDraw = 0;
  private drawn = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
    private readonly noun: string,
  ) {
    this.enabled = Boolean(stream.isTTY) && total > 0;
  }

  update(done: number, running: number, failed: number, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 24;
    const filled = Math.round((done / this.total) * width);
    const percent = Math.floor((done / this.total) * 100);
    const elapsed = now - this.startedAt;
    const eta =
      done > 0 && done < this.total ? ` eta ${duration(((this.total - done) * elapsed) / done)}` : '';
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${this.noun} ${percent}%  ${running} running${failed ? `  ${failed} fail` : ''}${eta}`;
    this.stream.write(`\r${line.slice(0, Math.max(20, (this.stream.columns ?? 80) - 1))}\u001b[K`);
    this.drawn = true;
  }

  /** Removes the bar (before other output, and at the end). */
  clear(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\u001b[K');
    this.drawn = false;
    this.lastDraw = 0;
  }
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}
