// Hono 4 (on @hono/node-server) for the end-to-end benchmark, one process per run.
//   BENCH_FIXTURE  JSON file written by bench/e2e.mjs: { issuer, audience, ... }
//   BENCH_AUTH     none | noop-middleware | monocloud
// Prints one JSON line {"ready":true,"port":N} on stdout once it listens on 127.0.0.1.
import { readFileSync } from 'node:fs';

import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const { issuer, audience } = JSON.parse(readFileSync(process.env.BENCH_FIXTURE, 'utf8'));
const auth = process.env.BENCH_AUTH ?? 'none';

const app = new Hono();
const handler = (c) => c.json({ ok: true, sub: c.var.claims?.sub });
if (auth === 'monocloud') {
  const { protectApi } = await import('@monocloud/backend-node-rs/hono');
  app.get('/api/data', protectApi({ tenantDomain: issuer, audience })(), handler);
} else if (auth === 'noop-middleware') {
  app.get('/api/data', async (c, next) => {
    await next();
  }, handler);
} else if (auth === 'none') {
  app.get('/api/data', handler);
} else {
  throw new Error(`unknown BENCH_AUTH ${auth}`);
}

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: info.port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
