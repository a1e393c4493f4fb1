// A misbehaving issuer, seen by real Express and Fastify apps: every fault gets the documented
// status and body, and once the issuer behaves again the next request succeeds.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';

import express from 'express';
import Fastify from 'fastify';

import { protectApi as protectExpress } from '@monocloud/backend-node-rs/express';
import { protectApi as protectFastify } from '@monocloud/backend-node-rs/fastify';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { callWithBearer } from '../support/frameworks.mjs';
import { answer, json, redirect, resetConnection, silent, startScriptedIssuer } from '../support/scripted-issuer.mjs';

/** Each fault, as the scripted issuer plays it. */
const PLAY = {
  500: (issuer) => issuer.on('*', answer(500, '{}')),
  404: (issuer) => issuer.on('*', answer(404, '{}')),
  429: (issuer) => issuer.on('*', answer(429, '{}')),
  redirect: (issuer) => issuer.on('*', redirect(302, 'http://127.0.0.1:1/elsewhere')),
  malformed: (issuer) => issuer.on('*', answer(200, '{"issuer": ')),
  huge: (issuer) => issuer.on('*', answer(200, `{"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`)),
  reset: (issuer) => issuer.on('*', resetConnection()),
  // Never answers; the client's responseTimeout ends the wait.
  slow: (issuer) => issuer.on('*', silent()),
  'no-jwks-uri': (issuer) => issuer.on('discovery', json(200, { issuer: issuer.url })),
};

// Nothing cached, so every request meets the issuer as it is right now.
const clientOptions = (url, audience) => ({
  tenantDomain: url,
  audience,
  responseTimeout: 1000,
  metadataCacheDuration: 0,
  jwksCacheDuration: 0,
  staleIfErrorDuration: 0,
  tokenCacheMaxEntries: 0,
});

const UNAVAILABLE = [503, { message: 'service unavailable' }];
const SERVER_ERROR = [500, { message: 'internal server error' }];
const FAULTS = [
  ['500', UNAVAILABLE],
  ['429', UNAVAILABLE],
  ['reset', UNAVAILABLE],
  ['slow', UNAVAILABLE],
  ['huge', UNAVAILABLE],
  ['404', SERVER_ERROR],
  ['redirect', SERVER_ERROR],
  ['malformed', SERVER_ERROR],
  ['no-jwks-uri', SERVER_ERROR],
];

let issuer;
let faulty;
const apps = [];

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  faulty = await startScriptedIssuer({ jwks: () => issuer.jwks });

  const app = express();
  app.get('/api', protectExpress(clientOptions(faulty.url, issuer.audience))(), (req, res) => res.json({ sub: req.claims.sub }));
  const expressServer = app.listen(0, '127.0.0.1');
  await once(expressServer, 'listening');
  apps.push({ name: 'Express 5', url: `http://127.0.0.1:${expressServer.address().port}`, close: () => expressServer.close() });

  const fastify = Fastify();
  fastify.get('/api', { onRequest: protectFastify(clientOptions(faulty.url, issuer.audience))() }, async (request) => ({ sub: request.claims.sub }));
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  apps.push({ name: 'Fastify 5', url: `http://127.0.0.1:${fastify.server.address().port}`, close: () => fastify.close() });
});

after(async () => {
  for (const app of apps) await app.close();
  await faulty?.close();
  await issuer?.close();
});

const call = (app, token) => callWithBearer(`${app.url}/api`, token);

for (const index of [0, 1]) {
  describe(`issuer faults through ${index === 0 ? 'Express 5' : 'Fastify 5'}`, () => {
    for (const [fault, [status, body]] of FAULTS) {
      test(`${fault}: ${status}, then 200 once the issuer recovers`, async () => {
        const app = apps[index];
        const token = await issuer.mint({ claims: { iss: faulty.url } });
        PLAY[fault](faulty);
        try {
          const started = Date.now();
          const refused = await call(app, token);
          assert.equal(refused.status, status);
          assert.deepEqual(refused.body, body);
          assert.equal(refused.challenge, null, 'no Bearer challenge when the issuer is at fault');
          assert.ok(Date.now() - started < 3000, 'answered within the response timeout');
        } finally {
          faulty.heal();
        }
        const served = await call(app, token);
        assert.equal(served.status, 200);
        assert.deepEqual(served.body, { sub: 'test-user' });
      });
    }
  });
}
