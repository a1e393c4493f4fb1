// Express middleware that already has its verdict (a token verified before, or a refusal) goes on
// in the event loop's check phase rather than inside the read (see ts/express). What that must
// not change: each request keeps its own async context, a caller that awaits the middleware
// finds it done, an error on the way on reaches Express's error handling, and a test's fake
// timers do not hold a request back.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { after, before, describe, test } from 'node:test';

import { protectApi } from '@monocloud/backend-node-rs/express';
import { auth } from '@monocloud/backend-node-rs/jwt-bearer';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import express from 'express';

import { get, listening } from '../support/frameworks.mjs';

let issuer;
let token;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  token = await issuer.mint();
});

after(async () => {
  await issuer?.close();
});

/** An app whose first middleware opens a context per request, named by the `x-request` header. */
async function appWith(guard) {
  const context = new AsyncLocalStorage();
  const app = express();
  app.use((req, res, next) => context.run({ request: req.get('x-request') }, next));
  app.get('/who', guard, (req, res) => {
    res.json({ request: context.getStore()?.request, sub: req.claims?.sub ?? req.auth?.payload?.sub });
  });
  app.get('/throws', guard, () => {
    throw new Error('handler failed');
  });
  app.use((err, req, res, next) => {
    res.status(err.status ?? 500).json({ error: err.message, request: context.getStore()?.request });
  });
  return listening(app.listen(0, '127.0.0.1'));
}

const guards = {
  'protectApi()': () => protectApi({ tenantDomain: issuer.url, audience: issuer.audience })(),
  'jwt-bearer auth()': () => auth({ issuerBaseURL: issuer.url, audience: issuer.audience }),
};

for (const [name, makeGuard] of Object.entries(guards)) {
  describe(name, () => {
    test('concurrent requests answered from the cache each keep their own AsyncLocalStorage context', async () => {
      const server = await appWith(makeGuard());
      try {
        const headers = (i) => ({ authorization: `Bearer ${token}`, 'x-request': `r${i}` });
        // The first validation fills the cache; the 40 after it are hits, sent together.
        assert.equal((await get(`${server.url}/who`, headers('first'))).status, 200);
        const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => get(`${server.url}/who`, headers(i))));
        answers.forEach((answer, i) => {
          assert.equal(answer.status, 200);
          assert.deepEqual(answer.body, { request: `r${i}`, sub: 'test-user' });
        });
      } finally {
        await server.close();
      }
    });

    test("fake timers installed after load (a stub setImmediate that never fires) do not hold requests back", async () => {
      const server = await appWith(makeGuard());
      const realSetImmediate = globalThis.setImmediate;
      let stubbed = 0;
      try {
        const headers = { authorization: `Bearer ${token}`, 'x-request': 'faked' };
        assert.equal((await get(`${server.url}/who`, headers)).status, 200);
        // As Jest's and Vitest's fake timers do: the global is replaced, and nothing advances it.
        globalThis.setImmediate = () => {
          stubbed++;
          return { ref() {}, unref() {}, hasRef: () => false };
        };
        const cached = await get(`${server.url}/who`, headers);
        assert.equal(cached.status, 200);
        assert.deepEqual(cached.body, { request: 'faked', sub: 'test-user' });
        // The refusal of a request without a token is a verdict at hand too.
        const refused = await get(`${server.url}/who`, { 'x-request': 'none' });
        assert.equal(refused.status, 401);
        assert.equal(stubbed, 0);
      } finally {
        globalThis.setImmediate = realSetImmediate;
        await server.close();
      }
    });

    test('a handler that throws after a cache hit reaches the error middleware, in its context', async () => {
      const server = await appWith(makeGuard());
      try {
        const headers = { authorization: `Bearer ${token}`, 'x-request': 'boom' };
        assert.equal((await get(`${server.url}/who`, headers)).status, 200);
        const answer = await get(`${server.url}/throws`, headers);
        assert.equal(answer.status, 500);
        assert.deepEqual(answer.body, { error: 'handler failed', request: 'boom' });
      } finally {
        await server.close();
      }
    });
  });
}

describe('protectApi() called directly', () => {
  const request = (authorization) => ({
    headers: authorization ? { authorization } : {},
    method: 'GET',
    protocol: 'http',
    get: () => '127.0.0.1',
    originalUrl: '/who',
  });
  const response = () => {
    const res = { statusCode: 200, headers: {}, body: undefined, headersSent: false };
    res.status = (code) => ((res.statusCode = code), res);
    res.set = (name, value) => ((res.headers[name.toLowerCase()] = value), res);
    res.setHeader = (name, value) => ((res.headers[name.toLowerCase()] = value), res);
    res.json = (body) => ((res.body = body), res);
    res.end = (body) => ((res.body = body), res);
    res.send = (body) => ((res.body = body), res);
    return res;
  };

  test('the promise it returns settles after next() ran, for a cached token and for a refusal', async () => {
    const middleware = protectApi({ tenantDomain: issuer.url, audience: issuer.audience })();
    const calls = [];
    // A validation that waits, then the same token from the cache (answered in the check phase).
    for (const round of ['validated', 'cached']) {
      const req = request(`Bearer ${token}`);
      await middleware(req, response(), (error) => calls.push([round, error, req.claims?.sub]));
      assert.deepEqual(calls.at(-1), [round, undefined, 'test-user']);
    }
    const res = response();
    let called = false;
    await middleware(request(undefined), res, () => {
      called = true;
    });
    assert.equal(called, false);
    assert.equal(res.statusCode, 401);
  });
});
