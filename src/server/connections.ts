import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { redactRedisUrl } from '../config/index.js';
import { RedisHealth, createRedis } from '../store/redis.js';
import { ensureLocalRedis } from './local-redis.js';
import type { LocalRedis } from './local-redis.js';

/**
 * Step 1 of starting the service: Redis. Starts a private redis-server when asked and none
 * answers, opens the fail-fast command connection and follows its health, and opens every
 * further connection through `blocking()` so that `close()` ends them all.
 */
export interface Connections {
  /** Fail-fast connection: the web, the stores it reads, the queues it submits to. */
  command: Redis;
  health: RedisHealth;
  localRedis?: LocalRedis;
  /** A connection that waits for Redis instead of failing fast (workers, queue events). */
  blocking(name: string): Redis;
  /** Stops following health, ends every connection, stops the private Redis. */
  close(): Promise<void>;
}

export async function connect(
  config: Config,
  log: Logger,
  options: { name: string; autoStartRedis: boolean },
): Promise<Connections> {
  const localRedis = options.autoStartRedis ? await ensureLocalRedis(config, log) : undefined;
  const connections: Redis[] = [];
  const open = (kind: 'command' | 'blocking', name: string): Redis => {
    const r = createRedis(config, kind, name);
    connections.push(r);
    return r;
  };
  const command = open('command', `${options.name}-commands`);
  const health = new RedisHealth(command, config.redis.url, log);
  if (!(await waitForRedis(command, 5000))) {
    log.error(
      { redis: redactRedisUrl(config.redis.url) },
      `Redis does not answer at ${redactRedisUrl(config.redis.url)}; retrying in the background (the web answers 503 meanwhile)`,
    );
  }
  return {
    command,
    health,
    ...(localRedis ? { localRedis } : {}),
    blocking: (name) => open('blocking', name),
    async close() {
      health.stop();
      await Promise.allSettled(connections.map((c) => c.quit().catch(() => c.disconnect())));
      await localRedis?.stop();
    },
  };
}

async function waitForRedis(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, ms);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}
