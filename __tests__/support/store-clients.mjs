// Connected Redis/Valkey clients of the libraries users bring as `store` (node-redis v6 and
// v4, ioredis), made from a redis:// URL. Connecting is bounded; an error event never crashes
// the test process (a stopped server is part of the tests).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const STORE_CLIENT_KINDS = ['node-redis', 'node-redis-v4', 'ioredis'];

/**
 * Waits (at most five seconds: ten processes starting on a small machine connect slowly) for
 * `connecting`; a server that is down leaves the client connecting on its own.
 */
const within = (connecting) =>
  Promise.race([connecting.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);

/** Resolves with { client, close() } once the client is ready, or after five seconds trying. */
export async function connectStoreClient(kind, url) {
  if (kind === 'ioredis') {
    const { Redis } = require('ioredis');
    const client = new Redis(url, { lazyConnect: true, connectTimeout: 5_000 });
    client.on('error', () => {});
    await within(client.connect());
    return { client, close: async () => client.disconnect() };
  }
  const { createClient } = require(kind === 'node-redis-v4' ? 'redis4' : 'redis');
  const client = createClient({ url, socket: { connectTimeout: 5_000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 500) } });
  client.on('error', () => {});
  await within(client.connect());
  return {
    client,
    close: async () => {
      if (typeof client.destroy === 'function') client.destroy();
      else await client.disconnect().catch(() => {});
    },
  };
}
