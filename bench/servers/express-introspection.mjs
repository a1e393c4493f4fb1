// Express 5 server for the fleet benchmark: opaque tokens, introspected at a test issuer.
//   BENCH_FIXTURE  JSON file written by bench/fleet.mjs: { tenantDomain, audience, clientId, clientSecret, store }
//   BENCH_CACHE    none (every request introspects) | memory (built-in cache) | shared (the store)
// Prints one JSON line {"ready":true,"port":N} on stdout once it listens on 127.0.0.1.
import { readFileSync } from 'node:fs';

import express from 'express';

import { protectApi } from '@monocloud/backend-node-rs/express';

import { announceWhenListening } from './lifecycle.mjs';

const { store, ...client } = JSON.parse(readFileSync(process.env.BENCH_FIXTURE, 'utf8'));
const cache = process.env.BENCH_CACHE ?? 'none';
const options = {
  none: { introspectionCacheDuration: 0 },
  memory: { introspectionCacheMaxEntries: 10_000 },
  shared: { store },
}[cache];
if (!options) throw new Error(`unknown BENCH_CACHE ${cache}`);

const app = express();
app.disable('x-powered-by');
const protect = protectApi({ ...client, ...options });
app.get('/api/data', protect(), (req, res) => res.json({ ok: true, sub: req.claims?.sub }));
announceWhenListening(app.listen(0, '127.0.0.1'));
