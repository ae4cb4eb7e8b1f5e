import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './cli.js';

const FENCE = pathToFileURL(join(ROOT, 'test', 'support', 'network-fence.mjs')).href;

/**
 * A long-running `mxdoctor` process (serve, web, worker) for tests that signal or kill it:
 * its JSON log lines are collected and can be awaited.
 */
export class MxdoctorProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { pattern: RegExp; resolve: (line: Record<string, unknown>) => void }[] = [];

  constructor(
    args: string[],
    env: Record<string, string>,
    options: { fromSource?: boolean; nodeArgs?: readonly string[] } = {},
  ) {
    this.child = spawn(
      process.execPath,
      [...(options.nodeArgs ?? []), join(ROOT, 'bin', 'mxdoctor.js'), ...args],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          NODE_OPTIONS: `--import=${FENCE}`,
          ...(options.fromSource === false ? {} : { MXDOCTOR_FROM_SOURCE: '1' }),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.check();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  lines(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  private check(): void {
    const lines = this.lines();
    this.waiters = this.waiters.filter((w) => {
      const hit = lines.find((l) => w.pattern.test(String(l.msg)));
      if (hit) w.resolve(hit);
      return !hit;
    });
  }

  /** Resolves with the first log line whose message matches. */
  waitForLog(pattern: RegExp, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no log line matching ${pattern} within ${timeoutMs} ms; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        pattern,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      this.check();
      void this.exited.then(() => {
        clearTimeout(timer);
        const hit = this.lines().find((l) => pattern.test(String(l.msg)));
        if (hit) resolve(hit);
        else
          reject(
            new Error(
              `process exited before logging ${pattern}; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
            ),
          );
      });
    });
  }

  /**
   * Resolves with the first match in what the process wrote to stderr. Stdout and stderr are
   * separate pipes: a log line can arrive before text the process wrote to stderr first.
   */
  async waitForStderr(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.stderr);
      if (m) return m;
      if (performance.now() > until || this.child.exitCode !== null)
        throw new Error(
          `nothing matching ${pattern} on stderr within ${timeoutMs} ms; stderr:\n${this.stderr}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }
}
