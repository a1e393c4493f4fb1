// Koa 3 for the end-to-end benchmark, one process per run.
//   BENCH_FIXTURE  JSON file written by bench/e2e.mjs: { issuer, audience, ... }
//   BENCH_AUTH     none | monocloud
// Prints one JSON line {"ready":true,"port":N} on stdout once it listens on 127.0.0.1.
import { readFileSync } from 'node:fs';

import Koa from 'koa';

import { announceWhenListening } from './lifecycle.mjs';

const { issuer, audience } = JSON.parse(readFileSync(process.env.BENCH_FIXTURE, 'utf8'));
const auth = process.env.BENCH_AUTH ?? 'none';

const app = new Koa();
if (auth === 'monocloud') {
  const { protectApi } = await import('@monocloud/backend-node-rs/koa');
  app.use(protectApi({ tenantDomain: issuer, audience })());
} else if (auth !== 'none') {
  throw new Error(`unknown BENCH_AUTH ${auth}`);
}
app.use((ctx) => {
  if (ctx.path !== '/api/data') return;
  ctx.body = { ok: true, sub: ctx.state.claims?.sub };
});

announceWhenListening(app.listen(0, '127.0.0.1'));
