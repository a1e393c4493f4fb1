// Fastify 5 server for the end-to-end benchmark, one process per run.
//   BENCH_FIXTURE  JSON file written by bench/e2e.mjs: { issuer, audience, ... }
//   BENCH_AUTH     none | noop-hook | monocloud | monocloud-nocache
// Prints one JSON line {"ready":true,"port":N} on stdout once it listens on 127.0.0.1.
import { readFileSync } from 'node:fs';

import Fastify from 'fastify';

const { issuer, audience } = JSON.parse(readFileSync(process.env.BENCH_FIXTURE, 'utf8'));
const auth = process.env.BENCH_AUTH ?? 'none';

const app = Fastify({ logger: false });

let onRequest;
if (auth === 'monocloud' || auth === 'monocloud-nocache') {
  const { protectApi } = await import('@monocloud/backend-node-rs/fastify');
  const protect = protectApi({
    tenantDomain: issuer,
    audience,
    ...(auth === 'monocloud-nocache' ? { tokenCacheMaxEntries: 0 } : {}),
  });
  onRequest = protect();
} else if (auth === 'noop-hook') {
  // An async onRequest hook that does nothing: what any async guard costs in Fastify before it
  // does any work (the route no longer runs on the synchronous path).
  onRequest = async () => {};
} else if (auth !== 'none') {
  throw new Error(`unknown BENCH_AUTH ${auth}`);
}

// The same small JSON body for every variant (sub is absent without auth).
const handler = async (request) => ({ ok: true, sub: request.claims?.sub });
if (onRequest) app.get('/api/data', { onRequest }, handler);
else app.get('/api/data', handler);

await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ ready: true, port: app.server.address().port })}\n`);
process.on('SIGTERM', () => {
  app.server.closeAllConnections();
  app.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
