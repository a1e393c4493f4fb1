// Express 5 server for the end-to-end benchmark, one process per run.
//   BENCH_FIXTURE  JSON file written by bench/e2e.mjs: { issuer, audience, ... }
//   BENCH_AUTH     none | noop-middleware | monocloud | monocloud-nocache | auth0 | auth0-dpop | jwt-bearer
// Prints one JSON line {"ready":true,"port":N} on stdout once it listens on 127.0.0.1.
import { readFileSync } from 'node:fs';

import express from 'express';

import { announceWhenListening } from './lifecycle.mjs';

const { issuer, audience } = JSON.parse(readFileSync(process.env.BENCH_FIXTURE, 'utf8'));
const auth = process.env.BENCH_AUTH ?? 'none';

const app = express();
app.disable('x-powered-by');

// Built the way the README shows it: options once at start-up, one middleware on the route.
let guard = null;
if (auth === 'monocloud' || auth === 'monocloud-nocache') {
  const { protectApi } = await import('@monocloud/backend-node-rs/express');
  const protect = protectApi({
    tenantDomain: issuer,
    audience,
    // The no-cache variant shows the pool rows without our verified-claims cache.
    ...(auth === 'monocloud-nocache' ? { tokenCacheMaxEntries: 0 } : {}),
  });
  guard = protect();
} else if (auth === 'auth0' || auth === 'auth0-dpop') {
  const { auth: oauth2 } = await import('express-oauth2-jwt-bearer');
  // DPoP is on by default in our protectApi(); that library needs it enabled.
  guard = oauth2({ issuerBaseURL: issuer, audience, ...(auth === 'auth0-dpop' ? { dpop: { enabled: true } } : {}) });
} else if (auth === 'jwt-bearer') {
  // The one-import migration: that library's API on our verifier, configured the same way.
  const { auth: jwtBearer } = await import('@monocloud/backend-node-rs/jwt-bearer');
  guard = jwtBearer({ issuerBaseURL: issuer, audience });
} else if (auth === 'noop-middleware') {
  guard = (req, res, next) => next();
} else if (auth !== 'none') {
  throw new Error(`unknown BENCH_AUTH ${auth}`);
}

// The same small JSON body for every variant (sub is absent without auth).
const handler = (req, res) => {
  res.json({ ok: true, sub: req.claims?.sub ?? req.auth?.payload?.sub });
};
if (guard) app.get('/api/data', guard, handler);
else app.get('/api/data', handler);

// express-oauth2-jwt-bearer refuses by calling next(err); answer with its status instead of
// Express's default handler, which would also print every refusal's stack to stderr.
app.use((err, req, res, next) => {
  res.status(err.status ?? 500).json({ message: err.status === 401 ? 'unauthorized' : 'error' });
});

// A fixed port (BENCH_PORT) lets DPoP proofs, which name the URL, be made before the server starts.
announceWhenListening(app.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1'));
