import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../../src/store/redis.js';

/**
 * The real Redis of the tests, at 127.0.0.1:6379 (.ci/run starts one). Every test run uses
 * its own key prefix, with a {hash-tag} like production, and removes its keys afterwards.
 */
export const TEST_REDIS_URL = 'redis://127.0.0.1:6379';

export function testPrefix(label = 't'): string {
  return `{mxdt-${label}-${randomBytes(5).toString('hex')}}`;
}

export function connectTestRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: false });
}

export async function cleanPrefix(prefix: string): Promise<void> {
  const redis = connectTestRedis();
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/**
 * Records the commands `redis` sends from now on, by name (lower case), in order: each is a
 * round trip, which is what a test of "one command instead of three" counts. Give it a
 * connection of the test's own, not one that others share.
 */
export function recordCommands(redis: Redis): string[] {
  const sent: string[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    sent.push(command.name);
    return send(command, stream);
  };
  return sent;
}
