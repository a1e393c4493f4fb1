// The cost of one auth() call, in process: our jwt-bearer middleware against
// express-oauth2-jwt-bearer's, the same token on an Express request object, 20,000 calls each
// after a warm-up. It isolates the middleware from the HTTP stack and the load generator, which
// share the cores in bench/e2e.mjs.
//
//   node bench/jwt-bearer-call.mjs
import express from 'express';
import * as theirs from 'express-oauth2-jwt-bearer';

import * as ours from '@monocloud/backend-node-rs/jwt-bearer';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

const CALLS = 20_000;
const issuer = await createTestIssuer({ algs: ['RS256'] });
const token = await issuer.mint();
const app = express();
try {
  for (const [name, lib] of [['jwt-bearer auth()', ours], ['express-oauth2-jwt-bearer auth()', theirs]]) {
    const middleware = lib.auth({ issuerBaseURL: issuer.url, audience: issuer.audience });
    const req = Object.setPrototypeOf(
      {
        headers: { authorization: `Bearer ${token}`, host: '127.0.0.1:3000' },
        method: 'GET',
        url: '/api/data',
        originalUrl: '/api/data',
        app,
        socket: { remoteAddress: '127.0.0.1' },
      },
      app.request,
    );
    const run = async (count) => {
      for (let i = 0; i < count; i += 1) {
        const error = await new Promise((resolve) => middleware(req, {}, resolve));
        if (error) throw error;
      }
    };
    await run(2000);
    const started = process.hrtime.bigint();
    await run(CALLS);
    const micros = Number(process.hrtime.bigint() - started) / CALLS / 1000;
    process.stdout.write(`${name}: ${micros.toFixed(1)} µs per call\n`);
  }
} finally {
  await issuer.close();
}
