// The one hand-made issuer, for what a real peer (createTestIssuer, oidc-provider in
// oidc-provider.mjs) will not do: misbehave on cue, publish keys no issuer should, answer
// introspection with whatever a test needs. A loopback server with named routes; each route's
// handler is swapped per test, every request is counted and recorded, and close() leaves
// nothing running. The handler factories below are the scripts the tests give it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const MIB = 1024 * 1024;

/** Listens on 127.0.0.1 and resolves with the server's http URL. */
export async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${server.address().port}`;
}

/** Closes `server` and drops its open connections, so no slow answer keeps the test alive. */
export async function closeServer(server) {
  if (!server.listening) return;
  const closed = new Promise((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/** A loopback URL nothing listens on: the port was free a moment ago, so connecting is refused. */
export async function deadUrl() {
  const probe = createServer();
  const url = await listen(probe);
  await closeServer(probe);
  return url;
}

export function sendJson(res, status, value, headers = {}) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Starts the issuer. It serves `discovery` (the issuer and jwks_uri, plus the members of
 * `metadata`, an object or a function of the issuer's URL)
 * and `jwks` (`jwks`: a key set, its raw text, or a function giving either at request time),
 * and each of `routes` ({ name: { path, handler } }). Any other path is the `other` route.
 *
 * Handlers are `(req, res, ctx)`: `ctx.body` is the request body's text, `ctx.url` the
 * issuer's, and `ctx.later`/`ctx.every` schedule work that heal()/reset()/close() cancel.
 * A handler set for the route `*` answers every request in place of the route's own.
 */
export async function startScriptedIssuer({ jwks = { keys: [] }, metadata = {}, routes = {} } = {}) {
  const server = createServer();
  const url = await listen(server);
  const timers = new Set();
  const intervals = new Set();
  const paths = new Map([[DISCOVERY_PATH, 'discovery'], ['/jwks', 'jwks']]);
  const defaults = {
    discovery: (_req, res) => sendJson(res, 200, { issuer: url, jwks_uri: `${url}/jwks`, ...(typeof metadata === 'function' ? metadata(url) : metadata) }),
    jwks: (_req, res) => sendJson(res, 200, typeof issuer.jwks === 'function' ? issuer.jwks() : issuer.jwks),
    other: (_req, res) => sendJson(res, 404, { error: 'not_found' }),
  };
  for (const [name, route] of Object.entries(routes)) {
    paths.set(route.path, name);
    defaults[name] = route.handler;
  }
  const handlers = { ...defaults };
  const counts = Object.fromEntries(Object.keys(defaults).map((name) => [name, 0]));

  const ctx = {
    url,
    defaults,
    later(ms, fn) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timers.add(timer);
    },
    every(ms, fn) {
      const interval = setInterval(() => {
        if (fn() === false) {
          clearInterval(interval);
          intervals.delete(interval);
        }
      }, ms);
      intervals.add(interval);
    },
  };

  server.on('request', (req, res) => {
    // A client that gives up mid-answer must not crash the server.
    req.socket.on('error', () => {});
    res.on('error', () => {});
    const path = new URL(req.url ?? '/', url).pathname;
    const route = paths.get(path) ?? 'other';
    counts[route] += 1;
    const record = { route, method: req.method, path, headers: req.headers, body: undefined };
    issuer.requests.push(record);
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      record.body = body;
      try {
        (handlers['*'] ?? handlers[route])(req, res, { ...ctx, body });
      } catch {
        if (!res.headersSent) sendJson(res, 500, { error: 'handler_failed' });
        else res.destroy();
      }
    });
  });

  function heal() {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    for (const interval of intervals) clearInterval(interval);
    intervals.clear();
    for (const name of Object.keys(handlers)) if (!(name in defaults)) delete handlers[name];
    Object.assign(handlers, defaults);
  }

  function clearCounts() {
    for (const name of Object.keys(counts)) counts[name] = 0;
    issuer.requests.length = 0;
  }

  const issuer = {
    url,
    jwks,
    /** Requests per route name (discovery, jwks, other and the given routes). */
    counts,
    /** Every request, in order: { route, method, path, headers, body }. */
    requests: [],
    /** Sets the handler of a route (or `*` for all of them). */
    on(route, handler) {
      assert.ok(route === '*' || route in defaults, `no route ${route}`);
      handlers[route] = handler;
    },
    /** Well-behaved again (open connections stay as they are). */
    heal,
    /** Counters and the request log zeroed. */
    clearCounts,
    /** Well-behaved, counters zeroed, connections dropped. */
    reset() {
      heal();
      clearCounts();
      server.closeAllConnections();
    },
    async close() {
      heal();
      await closeServer(server);
    },
  };
  return issuer;
}

// ---------------------------------------------------------------------------------------------
// Handler factories

/** Answers `status` with `body` (text), JSON by default; `reason` replaces the status text. */
export const answer = (status, body, headers = {}, reason = undefined) => (_req, res) => {
  const all = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers };
  if (reason === undefined) res.writeHead(status, all);
  else res.writeHead(status, reason, all);
  res.end(body);
};

export const json = (status, value, headers = {}) => answer(status, JSON.stringify(value), headers);

/** Waits `ms` before doing anything, then answers with `handler`. */
export const delayed = (ms, handler) => (req, res, ctx) => {
  ctx.later(ms, () => {
    if (!res.destroyed && !res.writableEnded) handler(req, res, ctx);
  });
};

/** Never answers: only the client's own timeout (or close()) ends the exchange. */
export const silent = () => () => {};

/** Headers at once, then `body` one byte every `every` ms (25 bytes ≈ 5 s). */
export const trickle = (body, every = 200) => (_req, res, ctx) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.flushHeaders();
  let sent = 0;
  ctx.every(every, () => {
    if (res.destroyed) return false;
    res.write(body.slice(sent, sent + 1));
    sent += 1;
    if (sent >= body.length) {
      res.end();
      return false;
    }
    return true;
  });
};

/** A body of `bytes` bytes, declared in content-length, sent in one go. */
export const hugeDeclared = (bytes) => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes });
  res.end(Buffer.alloc(bytes, 0x20));
};

/** A chunked body with no declared length, streamed with backpressure up to `limit` bytes. */
export const hugeStreamed = (limit = 32 * MIB) => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  const pump = () => {
    while (!res.destroyed && sent < limit) {
      sent += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
};

/** A JSON document padded with spaces to exactly `bytes` bytes. */
export function paddedJson(value, bytes) {
  const text = JSON.stringify(value);
  assert.ok(text.length <= bytes);
  return text + ' '.repeat(bytes - text.length);
}

export const redirect = (status, location) => (_req, res) => {
  res.writeHead(status, { location, 'content-length': 0 });
  res.end();
};

/** Drops the connection before any answer. */
export const resetConnection = () => (req) => {
  req.socket.destroy();
};

/** Headers and part of the body, then the connection is dropped. */
export const resetMidBody = () => (_req, res, ctx) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
  res.write('{"keys":[');
  ctx.later(50, () => res.socket?.destroy());
};

/** `fault` for the first `n` requests, then `good`. */
export const firstThen = (n, fault, good) => {
  let calls = 0;
  return (req, res, ctx) => {
    calls += 1;
    (calls <= n ? fault : good)(req, res, ctx);
  };
};

/** A scripted issuer with only an introspection endpoint, answering active until a test sets otherwise. */
export const startIntrospectionIssuer = () =>
  startScriptedIssuer({
    metadata: (url) => ({ introspection_endpoint: `${url}/introspect` }),
    routes: { introspect: { path: '/introspect', handler: json(200, { active: true }) } },
  });
