// The programs in examples/ (MonoCloud's Express and Fastify guides with only the import
// specifier changed) run as child processes against the test issuer, configured the way the
// guides configure them: MONOCLOUD_BACKEND_* environment variables.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { killChildren, startNode } from '../support/child.mjs';
import { callWithBearer } from '../support/frameworks.mjs';
import { fromRoot } from '../support/paths.mjs';
import { NO_TOKEN_CHALLENGE } from '../support/challenges.mjs';

const examples = `${fromRoot('examples')}/`;
const JSON_TYPE = 'application/json; charset=utf-8';

let issuer;

before(async () => {
  issuer = await createTestIssuer({ algs: ['RS256'] });
});

after(async () => {
  killChildren();
  await issuer?.close();
});

/** Starts an example on an ephemeral port and resolves to its base URL once it listens. */
async function start(file, vars) {
  const env = { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', ...vars };
  const app = startNode([`${examples}${file}`], { env });
  const [, url] = await app.waitFor((output) => /Server running on (http:\/\/\S+)/.exec(output), { timeoutMs: 15_000, what: file });
  return { url, stop: () => app.stop() };
}

const call = (base, path, token) => callWithBearer(`${base}${path}`, token);

const tenantEnv = () => ({ MONOCLOUD_BACKEND_TENANT_DOMAIN: issuer.url, MONOCLOUD_BACKEND_AUDIENCE: issuer.audience });

describe('examples', () => {
  test('express-quickstart.mjs: app-wide protect()', async () => {
    const app = await start('express-quickstart.mjs', tenantEnv());
    try {
      const none = await call(app.url, '/api/protected');
      assert.deepEqual(none, { status: 401, type: JSON_TYPE, challenge: NO_TOKEN_CHALLENGE, body: { message: 'unauthorized' } });

      const ok = await call(app.url, '/api/protected', await issuer.mint());
      assert.equal(ok.status, 200);
      assert.equal(ok.body.message, 'Protected endpoint');
      assert.equal(ok.body.claims.sub, 'test-user');

      const bad = await call(app.url, '/api/protected', 'not-a-jwt.at.all');
      assert.deepEqual(bad, { status: 401, type: JSON_TYPE, challenge: 'Bearer error="invalid_token"', body: { message: 'unauthorized' } });

      // App-wide: unknown routes are protected too.
      assert.equal((await call(app.url, '/anything')).status, 401);
    } finally {
      await app.stop();
    }
  });

  test('express-routes.mjs: public, protected, scope and group routes', async () => {
    const app = await start('express-routes.mjs', tenantEnv());
    try {
      assert.deepEqual(await call(app.url, '/api/public'), { status: 200, type: JSON_TYPE, challenge: null, body: { message: 'Public data' } });
      assert.equal((await call(app.url, '/api/protected')).status, 401);
      assert.equal((await call(app.url, '/api/protected', await issuer.mint())).status, 200);

      const weak = await call(app.url, '/api/admin', await issuer.mint({ claims: { scope: 'read' } }));
      assert.deepEqual(weak, { status: 403, type: JSON_TYPE, challenge: 'Bearer error="insufficient_scope"', body: { message: 'forbidden' } });
      const writer = await call(app.url, '/api/admin', await issuer.mint({ claims: { scope: 'read write' } }));
      assert.equal(writer.status, 200);
      assert.equal(writer.body.claims.scope, 'read write');

      assert.equal((await call(app.url, '/api/team', await issuer.mint({ claims: { groups: ['sales'] } }))).status, 403);
      const engineer = await call(app.url, '/api/team', await issuer.mint({ claims: { groups: ['engineering'] } }));
      assert.equal(engineer.status, 200);
      assert.equal(engineer.body.message, 'team access granted');
    } finally {
      await app.stop();
    }
  });

  test('express-claim-checks.mjs: claim checks as middleware and as options', async () => {
    const app = await start('express-claim-checks.mjs', tenantEnv());
    try {
      const both = await issuer.mint({ claims: { scope: 'read:messages write:messages' } });
      assert.equal((await call(app.url, '/api/messages', both)).status, 200);
      assert.equal((await call(app.url, '/api/messages', await issuer.mint({ claims: { scope: 'read:messages' } }))).status, 403);

      const editor = await issuer.mint({ claims: { tenant: 'acme', roles: ['editor'] } });
      assert.equal((await call(app.url, '/api/acme/articles', editor)).status, 200);
      const outsider = await call(app.url, '/api/acme/articles', await issuer.mint({ claims: { tenant: 'other', roles: ['editor'] } }));
      assert.equal(outsider.status, 401);
      assert.equal(outsider.challenge, 'Bearer error="invalid_token"');

      const verified = await issuer.mint({ claims: { scope: 'read:reports', email_verified: true } });
      assert.equal((await call(app.url, '/api/reports', verified)).status, 200);
      assert.equal((await call(app.url, '/api/reports', await issuer.mint({ claims: { scope: 'read:reports' } }))).status, 401);
    } finally {
      await app.stop();
    }
  });

  test('fastify-introspection.mjs: onRequest hook, every token introspected', async () => {
    const app = await start('fastify-introspection.mjs', {
      ...tenantEnv(),
      MONOCLOUD_BACKEND_CLIENT_ID: 'test-client',
      MONOCLOUD_BACKEND_CLIENT_SECRET: 'test-secret',
      MONOCLOUD_BACKEND_INTROSPECT_JWT_TOKENS: 'true',
    });
    try {
      assert.deepEqual(await call(app.url, '/api/data'), { status: 401, type: JSON_TYPE, challenge: NO_TOKEN_CHALLENGE, body: { message: 'unauthorized' } });

      issuer.resetCounters();
      const jwt = await issuer.mint({ claims: { scope: 'read' } });
      const ok = await call(app.url, '/api/data', jwt);
      assert.equal(ok.status, 200);
      assert.equal(ok.body.claims.scope, 'read');
      assert.equal(ok.body.claims.active, undefined);
      assert.equal(issuer.requests.introspection, 1, 'the JWT was introspected');

      const opaque = issuer.mintOpaque({ sub: 'opaque-user' });
      assert.equal((await call(app.url, '/api/data', opaque)).body.claims.sub, 'opaque-user');

      // Not seen before, so not in the client's introspection cache: the issuer says inactive.
      const revoked = issuer.mintOpaque();
      issuer.revoke(revoked);
      const refused = await call(app.url, '/api/data', revoked);
      assert.deepEqual(refused, { status: 401, type: JSON_TYPE, challenge: 'Bearer error="invalid_token"', body: { message: 'unauthorized' } });
    } finally {
      await app.stop();
    }
  });

  // The same four routes in every other framework's example: public, protected, a scope, and an
  // optional route that greets anonymous callers.
  const sameRoutes = [
    ['web-fetch.mjs', {}],
    ['hono.mjs', {}],
    ['koa.mjs', {}],
    ['node-http.mjs', {}],
    ['nestjs.mjs', {}],
    ['nestjs.mjs', { PLATFORM: 'fastify' }],
  ];
  for (const [file, vars] of sameRoutes) {
    test(`${file}${vars.PLATFORM ? ` (${vars.PLATFORM})` : ''}: public, protected, scope and optional routes`, async () => {
      const app = await start(file, { ...tenantEnv(), ...vars });
      const answer = ({ status, challenge, body }) => ({ status, challenge, body });
      try {
        assert.deepEqual(answer(await call(app.url, '/api/public')), { status: 200, challenge: null, body: { message: 'Public data' } });
        assert.deepEqual(answer(await call(app.url, '/api/protected')), { status: 401, challenge: NO_TOKEN_CHALLENGE, body: { message: 'unauthorized' } });
        const ok = await call(app.url, '/api/protected', await issuer.mint());
        assert.equal(ok.status, 200);
        assert.equal(ok.body.message, 'Protected endpoint');
        assert.equal(ok.body.claims.sub, 'test-user');
        assert.deepEqual(answer(await call(app.url, '/api/protected', 'not-a-jwt.at.all')), {
          status: 401,
          challenge: 'Bearer error="invalid_token"',
          body: { message: 'unauthorized' },
        });

        const weak = await call(app.url, '/api/admin', await issuer.mint({ claims: { scope: 'read' } }));
        assert.deepEqual(answer(weak), { status: 403, challenge: 'Bearer error="insufficient_scope"', body: { message: 'forbidden' } });
        assert.equal((await call(app.url, '/api/admin', await issuer.mint({ claims: { scope: 'read write' } }))).body.claims.scope, 'read write');

        assert.deepEqual((await call(app.url, '/api/greeting')).body, { message: 'Hello guest' });
        assert.deepEqual((await call(app.url, '/api/greeting', await issuer.mint())).body, { message: 'Hello test-user' });
        assert.equal((await call(app.url, '/api/greeting', 'not-a-jwt.at.all')).status, 401);
      } finally {
        await app.stop();
      }
    });
  }

  // The MCP servers of the README: the resource (this server's /mcp) names the port, so the port
  // is chosen before the server starts.
  for (const file of ['mcp-express.mjs', 'mcp-fastify.mjs']) {
    test(`${file}: a 401 points to the metadata; the SDK's client calls a tool with a token for the resource`, async () => {
      const port = await freePort();
      const resource = `http://127.0.0.1:${port}/mcp`;
      const app = await start(file, { ...tenantEnv(), PORT: String(port), MCP_RESOURCE: resource });
      const post = (token) =>
        fetch(resource, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
        });
      try {
        const refused = await post();
        assert.equal(refused.status, 401);
        const metadataUrl = `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`;
        assert.ok(refused.headers.get('www-authenticate').includes(`resource_metadata="${metadataUrl}"`), refused.headers.get('www-authenticate'));
        const metadata = await (await fetch(metadataUrl)).json();
        assert.equal(metadata.resource, resource);
        assert.deepEqual(metadata.scopes_supported, ['tools:call']);
        assert.ok(metadata.authorization_servers.some((server) => server.startsWith(issuer.url)), JSON.stringify(metadata));

        const mint = (claims) => issuer.mint({ claims: { aud: resource, client_id: 'agent', ...claims } });
        assert.equal((await post(await mint({ scope: 'read' }))).status, 403);
        assert.equal((await post(await mint({ scope: 'tools:call', aud: 'https://other.example.com/mcp' }))).status, 401);

        const token = await mint({ scope: 'tools:call' });
        const mcp = new Client({ name: 'example-test', version: '1.0.0' });
        await mcp.connect(new StreamableHTTPClientTransport(new URL(resource), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
        try {
          const answer = await mcp.callTool({ name: 'whoami', arguments: {} });
          assert.deepEqual(answer.content, [{ type: 'text', text: 'agent (tools:call)' }]);
        } finally {
          await mcp.close();
        }
      } finally {
        await app.stop();
      }
    });
  }
});

/** A loopback port nothing listens on now. */
async function freePort() {
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
