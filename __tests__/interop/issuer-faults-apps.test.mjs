// A misbehaving issuer, seen by real Express and Fastify apps: every fault gets the documented
// status and body, and once the issuer behaves again the next request succeeds.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import express from 'express';
import Fastify from 'fastify';

import { protectApi as protectExpress } from '@monocloud/backend-node-rs/express';
import { protectApi as protectFastify } from '@monocloud/backend-node-rs/fastify';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

/** Serves discovery and the test issuer's keys, or misbehaves as `state.fault` says. */
async function startFaultyIssuer(keys) {
  const state = { fault: 'none' };
  const sockets = new Set();
  const server = createServer((req, res) => {
    const fault = state.fault;
    const json = (body) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    switch (fault) {
      case 'none':
        break;
      case '500':
      case '404':
      case '429':
        res.writeHead(Number(fault)).end('{}');
        return;
      case 'redirect':
        res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
        return;
      case 'malformed':
        res.setHeader('content-type', 'application/json');
        res.end('{"issuer": ');
        return;
      case 'huge':
        res.setHeader('content-type', 'application/json');
        res.end(`{"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`);
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'slow':
        // Never answers; the client's responseTimeout ends the wait.
        return;
      case 'no-jwks-uri':
        if (req.url.startsWith('/.well-known')) return json({ issuer: url });
        break;
    }
    if (req.url.startsWith('/.well-known/openid-configuration')) return json({ issuer: url, jwks_uri: `${url}/jwks` });
    if (req.url === '/jwks') return json(keys());
    res.writeHead(404).end();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    state,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

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
  faulty = await startFaultyIssuer(() => issuer.jwks);

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
  faulty?.close();
  await issuer?.close();
});

async function call(app, token) {
  const response = await fetch(`${app.url}/api`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json(), challenge: response.headers.get('www-authenticate') };
}

for (const index of [0, 1]) {
  describe(`issuer faults through ${index === 0 ? 'Express 5' : 'Fastify 5'}`, () => {
    for (const [fault, [status, body]] of FAULTS) {
      test(`${fault}: ${status}, then 200 once the issuer recovers`, async () => {
        const app = apps[index];
        const token = await issuer.mint({ claims: { iss: faulty.url } });
        faulty.state.fault = fault;
        try {
          const started = Date.now();
          const refused = await call(app, token);
          assert.equal(refused.status, status);
          assert.deepEqual(refused.body, body);
          assert.equal(refused.challenge, null, 'no Bearer challenge when the issuer is at fault');
          assert.ok(Date.now() - started < 3000, 'answered within the response timeout');
        } finally {
          faulty.state.fault = 'none';
        }
        const served = await call(app, token);
        assert.equal(served.status, 200);
        assert.deepEqual(served.body, { sub: 'test-user' });
      });
    }
  });
}
