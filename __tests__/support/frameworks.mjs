// Real Express 4/5 and Fastify 4/5 apps on 127.0.0.1 for the adapter tests, plus a plain
// node:http client that can send what fetch cannot (duplicate or odd Authorization headers).
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';

import * as expressAdapter from '@monocloud/backend-node-rs/express';
import * as fastifyAdapter from '@monocloud/backend-node-rs/fastify';

const require = createRequire(import.meta.url);

export const frameworks = [
  { name: 'Express 4', kind: 'express', adapter: expressAdapter, module: 'express4' },
  { name: 'Express 5', kind: 'express', adapter: expressAdapter, module: 'express' },
  { name: 'Fastify 4', kind: 'fastify', adapter: fastifyAdapter, module: 'fastify4' },
  { name: 'Fastify 5', kind: 'fastify', adapter: fastifyAdapter, module: 'fastify' },
];

/** The installed major version of a framework alias, to be sure the alias is what it says. */
export function majorOf(framework) {
  return Number(require(`${framework.module}/package.json`).version.split('.')[0]);
}

/**
 * Serves `routes` ({ path: guards[] }) with a handler that answers 200 `{ claims }`.
 * `before` hooks run ahead of every guard (to tamper with headers). Every finished request is
 * logged as { path, handled, claims, nextCalls } (nextCalls: Express only, the arguments of
 * each `next` the guards called).
 */
export async function serve(framework, routes, { before } = {}) {
  const log = [];
  const app = framework.kind === 'express' ? serveExpress(framework, routes, before, log) : await serveFastify(framework, routes, before, log);
  const started = await app.listen();
  return {
    url: started.url,
    log,
    close: started.close,
    /** The log entry of the request that finished last (waiting briefly for 'finish'). */
    async last(count) {
      for (let i = 0; i < 100 && log.length < count; i += 1) await new Promise((r) => setTimeout(r, 2));
      return log[count - 1];
    },
  };
}

function serveExpress(framework, routes, before, log) {
  const express = require(framework.module);
  const app = express();
  app.use((req, res, next) => {
    req.testLog = { path: req.path, handled: false, nextCalls: [] };
    res.on('finish', () => log.push({ ...req.testLog, claims: req.claims }));
    next();
  });
  if (before) app.use(before);
  for (const [path, guards] of Object.entries(routes)) {
    const spied = guards.map((guard) => (req, res, next) =>
      guard(req, res, (...args) => {
        req.testLog.nextCalls.push(args);
        next(...args);
      }),
    );
    app.get(path, ...spied, (req, res) => {
      req.testLog.handled = true;
      res.json({ claims: req.claims });
    });
  }
  // Anything reaching Express's error handler would show up as a 500 with this body.
  app.use((err, req, res, next) => {
    res.status(599).json({ leaked: String(err) });
  });
  return {
    listen: () => listening(app.listen(0, '127.0.0.1')),
  };
}

/** A node:http server on 127.0.0.1 once it listens: its URL and a close that drops keep-alives. */
export async function listening(server) {
  if (!server.listening) await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serveFastify(framework, routes, before, log) {
  const fastify = require(framework.module);
  const app = fastify();
  app.addHook('onRequest', async (request) => {
    request.testLog = { path: request.url.split('?')[0], handled: false };
  });
  if (before) app.addHook('onRequest', before);
  // An async onSend hook (compression, signing...) delays the end of every response: a refusing
  // hook must still keep the route from running.
  app.addHook('onSend', async (request, reply, payload) => {
    await new Promise((resolve) => setImmediate(resolve));
    return payload;
  });
  app.addHook('onResponse', async (request) => {
    log.push({ ...request.testLog, claims: request.claims });
  });
  for (const [path, guards] of Object.entries(routes)) {
    app.get(path, { onRequest: guards }, async (request) => {
      request.testLog.handled = true;
      return { claims: request.claims };
    });
  }
  return {
    async listen() {
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      return { url, close: () => app.close() };
    },
  };
}

/** GET with exactly the given headers; an array value sends the header once per element. */
export function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode, headers: res.headers, body, text });
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** GETs `url` with `token` as its Bearer (no Authorization without one) and reads the JSON answer. */
export async function callWithBearer(url, token) {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), challenge: res.headers.get('www-authenticate'), body: await res.json() };
}
