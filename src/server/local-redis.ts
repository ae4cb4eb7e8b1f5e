import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { ConfigError, executablePath, redactRedisUrl } from '../config/index.js';

/**
 * `npm start` on a single machine: when REDIS_URL is unset and nothing answers at the
 * default (127.0.0.1:MXDOCTOR_LOCAL_REDIS_PORT), start a private redis-server from PATH with
 * its data in MXDOCTOR_DATA_DIR, append-only, and say so. Without a redis-server, stop with
 * one message that says how to get Redis.
 */
export interface LocalRedis {
  pid: number;
  stop(): Promise<void>;
}

/** Sends PING and waits for +PONG (or a Redis error such as NOAUTH: still a Redis). */
export function redisAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host, port });
    let buffer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolvePromise(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      buffer += d.toString('latin1');
      if (buffer.includes('\r\n')) done(buffer.startsWith('+PONG') || buffer.startsWith('-'));
    });
    socket.on('error', () => done(false));
  });
}

export function findOnPath(name: string, path = executablePath()): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const NO_REDIS_MESSAGE = (url: string): string =>
  `mxdoctor needs Redis, but nothing answers at ${url} and there is no redis-server on PATH. ` +
  'Start one with `docker compose up -d redis`, or install your system’s package ' +
  '(Debian/Ubuntu: `sudo apt-get install redis-server`; Fedora: `sudo dnf install valkey`; macOS: `brew install redis`) ' +
  'and run `npm start` again, or point REDIS_URL at an existing Redis.';

export async function ensureLocalRedis(config: Config, log: Logger): Promise<LocalRedis | undefined> {
  if (config.redis.urlFromEnv) return undefined;
  const port = config.redis.localPort;
  if (await redisAnswers('127.0.0.1', port)) return undefined;
  const url = redactRedisUrl(config.redis.url);
  const binary = findOnPath('redis-server');
  if (!binary) throw new ConfigError(NO_REDIS_MESSAGE(url));
  const dir = resolve(config.service.dataDir);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'redis-server.log');
  const child: ChildProcess = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--protected-mode',
      'yes',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
      '--logfile',
      logFile,
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  child.once('error', () => (exited = true));
  for (let i = 0; i < 100 && !exited; i++) {
    if (await redisAnswers('127.0.0.1', port, 200)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (exited || !(await redisAnswers('127.0.0.1', port, 500))) {
    child.kill('SIGKILL');
    let tail = '';
    try {
      tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
    } catch {
      // no log
    }
    throw new ConfigError(
      `mxdoctor tried to start a private redis-server (${binary}) on 127.0.0.1:${port} but it did not come up${tail ? `: ${tail}` : ''}. Free the port, set MXDOCTOR_LOCAL_REDIS_PORT, or point REDIS_URL at a running Redis.`,
    );
  }
  log.info(
    { redis: url, pid: child.pid, dataDir: dir },
    `No Redis answered at ${url}: started a private redis-server (pid ${child.pid}, data in ${config.service.dataDir}, append-only). It stops when mxdoctor stops.`,
  );
  return {
    pid: child.pid!,
    async stop() {
      if (exited) return;
      // SIGTERM: Redis flushes the append-only file and exits.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
