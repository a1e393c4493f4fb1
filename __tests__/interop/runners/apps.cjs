// The user's API, as a small project would write it: an Express app and a Fastify app, each
// protected by protectApi() with its own client, pointed at the test issuer.
const { request } = require('node:http');

const express = require('express');
const Fastify = require('fastify');
const { protectApi: protectExpress } = require('@monocloud/backend-node-rs/express');
const { protectApi: protectFastify } = require('@monocloud/backend-node-rs/fastify');

/** GET /me with a token; node:http, not fetch: its timers are Node's own, so fake timers cannot stall it. */
function status(port, token) {
  return new Promise((resolve, reject) => {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    request({ host: '127.0.0.1', port, path: '/me', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    })
      .on('error', reject)
      .end();
  });
}

/** Both apps, and a function per framework giving the status of GET /me with a token. */
async function startApps(clientOptions) {
  const app = express();
  app.get('/me', protectExpress(clientOptions)(), (req, res) => res.json({ sub: req.claims.sub }));
  const server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });

  // Listening, not inject(): light-my-request needs require(esm), which Jest lacks on Node 20.
  const fastify = Fastify();
  fastify.get('/me', { onRequest: protectFastify(clientOptions)() }, async (req) => ({ sub: req.claims.sub }));
  await fastify.listen({ port: 0, host: '127.0.0.1' });

  return {
    express: (token) => status(server.address().port, token),
    fastify: (token) => status(fastify.server.address().port, token),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await fastify.close();
    },
  };
}

module.exports = { startApps };
