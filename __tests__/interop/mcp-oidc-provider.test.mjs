// The whole MCP authorization flow between real peers, nothing scripted: oidc-provider as the
// authorization server (client credentials, resource indicators, JWT access tokens for the MCP
// resource, RFC 8414 metadata), an MCP server from the MCP TypeScript SDK over Streamable HTTP
// protected by this package (once behind the SDK's requireBearerAuth with our verifier, once
// behind our own protectApi on Fastify), and the SDK's client with its client-credentials
// provider. The client starts with nothing but the server's URL and its own credentials:
// 401 → protected resource metadata → authorization server metadata → token for the resource →
// the tool call. Every hop is recorded on the client's side and counted on the servers'.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient } from '@monocloud/backend-node-rs';
import * as expressAdapter from '@monocloud/backend-node-rs/express';
import * as fastifyAdapter from '@monocloud/backend-node-rs/fastify';
import { mcpTokenVerifier } from '@monocloud/backend-node-rs/mcp';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';
import Fastify from 'fastify';

import { DPOP_ALGS } from '../support/challenges.mjs';
import { listening } from '../support/frameworks.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';

const REQUIRED_SCOPE = 'tools:call';
const METADATA_PATH = '/.well-known/oauth-protected-resource/mcp';
const INVALID = 'The access token is missing, invalid, expired or revoked';
const TEST_TIMEOUT = { timeout: 30_000 };

let op;

before(async () => {
  op = await startOidcProvider({ resourceScope: 'tools:list tools:call' });
});

after(() => op?.close());

/** An MCP server with one tool that tells who called it, from the claims `claimsOf` finds. */
function mcpServerWith(claimsOf) {
  const server = new McpServer({ name: 'things', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who called' }, async (extra) => {
    const claims = claimsOf(extra);
    return { content: [{ type: 'text', text: `${claims.client_id} ${claims.scope} ${claims.aud}` }] };
  });
  return server;
}

/** Hands one request to a fresh stateless MCP server, and closes both when the answer ends. */
async function answerMcp(claimsOf, req, res, body) {
  const server = mcpServerWith(claimsOf);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

/**
 * A loopback server whose every request is counted by path before the app sees it, so the
 * tests know what reached the metadata endpoint. The resource is only known once it listens.
 */
async function countingServer() {
  const server = createServer();
  const started = await listening(server.listen(0, '127.0.0.1'));
  const seen = [];
  server.on('request', (req) => seen.push(`${req.method} ${req.url.split('?')[0]}`));
  return { server, started, seen, resource: `${started.url}/mcp` };
}

const variants = {
  // The README's first way: the SDK's middleware, our verifier, our metadata for Express.
  'requireBearerAuth + mcpTokenVerifier (Express)': async () => {
    const { server, started, seen, resource } = await countingServer();
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: op.issuer,
      audience: resource,
      protectedResource: { resource, scopesSupported: [REQUIRED_SCOPE] },
    });
    const metadataUrl = client.getProtectedResourceMetadataUrl();
    const app = express();
    app.use(express.json());
    app.use(expressAdapter.protectedResourceMetadata(client));
    app.post(
      '/mcp',
      requireBearerAuth({ verifier: mcpTokenVerifier(client), requiredScopes: [REQUIRED_SCOPE], resourceMetadataUrl: metadataUrl }),
      (req, res) => answerMcp((extra) => extra.authInfo.extra, req, res, req.body),
    );
    // Stateless: no server-to-client stream (the client accepts 405 as "none").
    app.get('/mcp', (req, res) => res.status(405).set('allow', 'POST').end());
    server.on('request', app);
    const rm = `resource_metadata="${metadataUrl}"`;
    return {
      resource,
      metadataUrl,
      seen,
      close: started.close,
      challenges: {
        none: `Bearer error="invalid_token", error_description="Missing Authorization header", scope="${REQUIRED_SCOPE}", ${rm}`,
        invalid: `Bearer error="invalid_token", error_description="${INVALID}", scope="${REQUIRED_SCOPE}", ${rm}`,
        scope: `Bearer error="insufficient_scope", error_description="Insufficient scope", scope="${REQUIRED_SCOPE}", ${rm}`,
      },
    };
  },
  // The README's second way: our own protectApi in front of the MCP route (Fastify).
  'protectApi in front of the route (Fastify)': async () => {
    const { server, started, seen, resource } = await countingServer();
    const options = { tenantDomain: op.issuer, audience: resource, protectedResource: { resource, scopesSupported: [REQUIRED_SCOPE] } };
    const fastify = Fastify({
      serverFactory: (handler) => {
        server.on('request', handler);
        return server;
      },
    });
    await fastify.register(fastifyAdapter.protectedResourceMetadata(options));
    const protect = fastifyAdapter.protectApi(options);
    fastify.post('/mcp', { preHandler: protect({ scopes: [REQUIRED_SCOPE] }) }, async (request, reply) => {
      reply.hijack();
      await answerMcp(() => request.claims, request.raw, reply.raw, request.body);
    });
    fastify.get('/mcp', async (request, reply) => reply.code(405).header('allow', 'POST').send());
    await fastify.ready();
    const metadataUrl = new MonoCloudBackendNodeClient(options).getProtectedResourceMetadataUrl();
    const rm = `resource_metadata="${metadataUrl}"`;
    return {
      resource,
      metadataUrl,
      seen,
      close: async () => {
        await fastify.close();
        await started.close();
      },
      challenges: {
        none: `Bearer ${rm}, DPoP ${rm}, ${DPOP_ALGS}`,
        invalid: `Bearer error="invalid_token", error_description="${INVALID}", ${rm}`,
        scope: `Bearer error="insufficient_scope", error_description="The access token does not grant what this resource requires", scope="${REQUIRED_SCOPE}", ${rm}`,
      },
    };
  },
};

/** A fetch that records every request the MCP client makes: where, what it sent, the answer. */
function recordingFetch(hops) {
  return async (input, init = {}) => {
    const response = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = init.body instanceof URLSearchParams ? Object.fromEntries(init.body) : undefined;
    hops.push({
      hop: `${init.method ?? 'GET'} ${url.origin === op.issuer ? 'op' : 'mcp'}${url.pathname} ${response.status}`,
      form: body,
      authorization: new Headers(init.headers).get('authorization'),
      challenge: response.headers.get('www-authenticate'),
    });
    return response;
  };
}

/** The hops that make up the authorization flow (the stream probe `GET /mcp` runs beside them). */
function flow(hops) {
  return hops.filter((h) => !h.hop.startsWith('GET mcp/mcp '));
}

function provider(scope) {
  return new ClientCredentialsProvider({ clientId: op.clientId, clientSecret: op.clientSecret, expectedIssuer: op.issuer, scope });
}

async function connect(resource, authProvider, hops) {
  const mcp = new Client({ name: 'e2e', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider, fetch: recordingFetch(hops) }));
  return mcp;
}

function post(resource, token) {
  return fetch(resource, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
}

function tokenRequests() {
  return op.requests.filter((r) => r.method === 'POST' && r.path === '/token').length;
}

function decoded(jwt) {
  const [header, payload] = jwt.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
  return { header, payload };
}

for (const [name, start] of Object.entries(variants)) {
  describe(`MCP with oidc-provider: ${name}`, () => {
    let mcpServer;
    before(async () => {
      mcpServer = await start();
    });
    after(() => mcpServer?.close());

    test('from a 401 alone: metadata, authorization server metadata, a token for the resource, the tool call', TEST_TIMEOUT, async () => {
      const { resource, metadataUrl, seen, challenges } = mcpServer;
      seen.length = 0;
      const tokensBefore = tokenRequests();
      const opRequestsBefore = op.requests.length;
      const hops = [];
      const authProvider = provider(REQUIRED_SCOPE);
      const mcp = await connect(resource, authProvider, hops);
      try {
        const result = await mcp.callTool({ name: 'whoami', arguments: {} }, undefined, { timeout: 10_000 });
        assert.equal(result.content[0].text, `${op.clientId} ${REQUIRED_SCOPE} ${resource}`);
      } finally {
        await mcp.close();
      }

      const steps = flow(hops);
      assert.deepEqual(
        steps.map((h) => h.hop),
        [
          'POST mcp/mcp 401',
          `GET mcp${METADATA_PATH} 200`,
          'GET op/.well-known/oauth-authorization-server 200',
          'POST op/token 200',
          'POST mcp/mcp 200', // initialize
          'POST mcp/mcp 202', // notifications/initialized
          'POST mcp/mcp 200', // tools/call
        ],
      );
      // Hop 1: no credentials, and the challenge that points to the metadata.
      assert.equal(steps[0].authorization, null);
      assert.equal(steps[0].challenge, challenges.none);
      assert.equal(new URL(metadataUrl).pathname, METADATA_PATH);
      // Hop 4: client credentials for exactly the resource the metadata named (RFC 8707).
      assert.deepEqual(steps[3].form, { grant_type: 'client_credentials', scope: REQUIRED_SCOPE, resource });
      assert.match(steps[3].authorization, /^Basic /);
      // The token oidc-provider issued: a JWT access token whose audience is the MCP resource.
      const { access_token: accessToken } = authProvider.tokens();
      const { header, payload } = decoded(accessToken);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(payload.aud, resource);
      assert.equal(payload.iss, op.issuer);
      for (const step of steps.slice(4)) assert.equal(step.authorization, `Bearer ${accessToken}`);

      // The servers' own counts agree: one metadata fetch, one discovery, one token request.
      assert.equal(seen.filter((s) => s === `GET ${METADATA_PATH}`).length, 1);
      const opSeen = op.requests.slice(opRequestsBefore).map((r) => `${r.method} ${r.path}`);
      // (The resource server's own client reads openid-configuration and the JWKS: the MCP
      // client's hops above show it used RFC 8414 metadata only.)
      assert.equal(opSeen.filter((s) => s === 'GET /.well-known/oauth-authorization-server').length, 1);
      assert.equal(tokenRequests() - tokensBefore, 1);
    });

    test('a token issued for another resource is refused with 401, and the client recovers through discovery', TEST_TIMEOUT, async () => {
      const { resource, challenges } = mcpServer;
      const foreign = await op.token({ resource: new URL('/other', resource).href, scope: REQUIRED_SCOPE });
      assert.equal(decoded(foreign).payload.aud, new URL('/other', resource).href);
      const refused = await post(resource, foreign);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), challenges.invalid);
      await refused.body?.cancel();

      // A client holding that token is refused on its first call, then fetches its own.
      const authProvider = provider(REQUIRED_SCOPE);
      authProvider.saveTokens({ access_token: foreign, token_type: 'Bearer', issuer: op.issuer });
      const hops = [];
      const mcp = await connect(resource, authProvider, hops);
      try {
        const steps = flow(hops);
        assert.equal(steps[0].hop, 'POST mcp/mcp 401');
        assert.equal(steps[0].authorization, `Bearer ${foreign}`);
        assert.equal(steps[0].challenge, challenges.invalid);
        assert.deepEqual(
          steps.slice(1, 4).map((h) => h.hop.replace(/ \d+$/, '')),
          [`GET mcp${METADATA_PATH}`, 'GET op/.well-known/oauth-authorization-server', 'POST op/token'],
        );
        assert.notEqual(authProvider.tokens().access_token, foreign);
        assert.equal(decoded(authProvider.tokens().access_token).payload.aud, resource);
      } finally {
        await mcp.close();
      }
    });

    test('a token without the required scope gets 403 insufficient_scope naming the scope', TEST_TIMEOUT, async () => {
      const { resource, challenges } = mcpServer;
      const narrow = await op.token({ resource, scope: 'tools:list' });
      const refused = await post(resource, narrow);
      assert.equal(refused.status, 403);
      assert.equal(refused.headers.get('www-authenticate'), challenges.scope);
      await refused.body?.cancel();
      // No token at all: the challenge without an error code (protectApi) or the SDK's.
      const bare = await post(resource, undefined);
      assert.equal(bare.status, 401);
      assert.equal(bare.headers.get('www-authenticate'), challenges.none);
      await bare.body?.cancel();

      // A client-credentials client configured with too narrow a scope: it reads the 403, tries
      // once more (the SDK's client-credentials provider always asks for its configured scope)
      // and gives up with the 403 instead of looping.
      const tokensBefore = tokenRequests();
      const hops = [];
      await assert.rejects(connect(resource, provider('tools:list'), hops), (error) => {
        assert.equal(error.code, 403);
        return true;
      });
      const refusals = flow(hops).filter((h) => h.hop === 'POST mcp/mcp 403');
      assert.equal(refusals.length, 2);
      for (const refusal of refusals) assert.equal(refusal.challenge, challenges.scope);
      assert.equal(tokenRequests() - tokensBefore, 2);
    });
  });
}
