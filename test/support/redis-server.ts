import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath, redisAnswers } from '../../src/server/local-redis.js';
import { unusedPort } from './service.js';

/**
 * A private redis-server on a free loopback port, for tests that stop and restart Redis
 * (outages, persistence). Needs redis-server on PATH (.ci/run installs it).
 */
export const REDIS_SERVER = findOnPath('redis-server');

export class TestRedisServer {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'mxdoctor-redis-'));
  constructor(
    readonly port: number,
    /** Append-only with fsync on every write, as a durable deployment runs it. */
    readonly appendOnly = false,
  ) {}

  static async create(options: { appendOnly?: boolean } = {}): Promise<TestRedisServer> {
    return new TestRedisServer(await unusedPort(), options.appendOnly ?? false);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!REDIS_SERVER) throw new Error('redis-server is not on PATH');
    this.child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        ...(this.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      if (await redisAnswers('127.0.0.1', this.port, 200)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open, nothing answers. */
  freeze(frozen: boolean): void {
    if (this.child && this.child.exitCode === null) this.child.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill(signal);
      // A frozen server handles SIGTERM only once it runs again.
      if (signal !== 'SIGKILL') child.kill('SIGCONT');
    });
  }
}
