// Optional authentication in the protect core itself: no token answers at once, with no promise
// and no new object, on the direct path; a token that is there is checked as on any route.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';

import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { fromRoot } from '../support/paths.mjs';

const require = createRequire(import.meta.url);
const { authenticate, createProtector } = require(fromRoot('dist', 'protect', 'core.js'));

let issuer;
let protector;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  protector = createProtector({ tenantDomain: issuer.url, audience: issuer.audience });
});

after(async () => {
  await issuer?.close();
});

const request = (authorization) => ({ request: {}, authorization });

test('an optional route without a token answers synchronously, with one shared frozen object', () => {
  const first = authenticate(protector, request(undefined), { optional: true });
  const again = authenticate(protector, request('Basic dXNlcjpwYXNz'), { optional: true, scopes: ['x'] });
  assert.equal(typeof first.then, 'undefined', 'no promise');
  assert.deepEqual(first, {});
  assert.equal(again, first, 'no allocation per request');
  assert.ok(Object.isFrozen(first));
  assert.equal(authenticate(protector, request(undefined), { optional: false }).response.status, 401);
  assert.equal(authenticate(protector, request(undefined)).response.status, 401);
});

test('an optional route with a token validates it: a cached valid token still answers synchronously', async () => {
  const token = await issuer.mint();
  const first = await authenticate(protector, request(`Bearer ${token}`), { optional: true });
  assert.equal(first.claims.sub, 'test-user');
  const cached = authenticate(protector, request(`Bearer ${token}`), { optional: true });
  assert.equal(typeof cached.then, 'undefined', 'the verified-token cache answers at once');
  assert.equal(cached.claims.sub, 'test-user');
  const expired = await authenticate(protector, request(`Bearer ${await issuer.mint({ claims: { exp: 1 } })}`), { optional: true });
  assert.equal(expired.response.status, 401);
});

test('the full path (resolvers, checks) lets an optional route through without a token too', async () => {
  const withResolver = createProtector({ tenantDomain: issuer.url, audience: issuer.audience, tokenResolver: () => '' });
  assert.deepEqual(await authenticate(withResolver, request(undefined), { optional: true }), {});
  assert.equal((await authenticate(withResolver, request(undefined))).response.status, 401);
});
