// The MCP TypeScript SDK in front of this package: an MCP server (Streamable HTTP) behind the
// SDK's requireBearerAuth with our verifier, the protected resource metadata beside it, and an
// SDK client calling a tool with a token the test issuer minted for this resource. A token for
// another resource, or none, is refused with the SDK's 401.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient } from '@monocloud/backend-node-rs';
import { protectedResourceMetadata } from '@monocloud/backend-node-rs/express';
import { mcpTokenVerifier } from '@monocloud/backend-node-rs/mcp';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';

import { listening } from '../support/frameworks.mjs';

let issuer;
let app;
let resource;
let client;

async function tokenFor(target) {
  const res = await fetch(`${issuer.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('test-client:test-secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: target, scope: 'tools:call' }),
  });
  return (await res.json()).access_token;
}

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  const server = createServer();
  const started = await listening(server.listen(0, '127.0.0.1'));
  resource = `${started.url}/mcp`;
  client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: resource, protectedResource: { resource, scopesSupported: ['tools:call'] } });

  const web = express();
  web.use(express.json());
  web.use(protectedResourceMetadata(client));
  web.post(
    '/mcp',
    requireBearerAuth({ verifier: mcpTokenVerifier(client), requiredScopes: ['tools:call'], resourceMetadataUrl: client.getProtectedResourceMetadataUrl() }),
    async (req, res) => {
      const mcp = new McpServer({ name: 'things', version: '1.0.0' });
      mcp.tool('whoami', 'Who called', async (extra) => ({
        content: [{ type: 'text', text: `${extra.authInfo?.clientId} ${extra.authInfo?.scopes.join(',')} ${extra.authInfo?.resource}` }],
      }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        transport.close();
        mcp.close();
      });
      await mcp.connect(transport);
      await transport.handleRequest(req, res, req.body);
    },
  );
  server.on('request', web);
  app = started;
});

after(async () => {
  await app?.close();
  await issuer?.close();
});

describe('MCP SDK with mcpTokenVerifier', () => {
  test('the metadata names the issuer; a token for this resource calls a tool', async () => {
    const metadata = await (await fetch(client.getProtectedResourceMetadataUrl())).json();
    assert.equal(metadata.resource, resource);
    assert.deepEqual(metadata.authorization_servers, [issuer.url]);

    const token = await tokenFor(resource);
    const mcpClient = new Client({ name: 'test', version: '1.0.0' });
    await mcpClient.connect(new StreamableHTTPClientTransport(new URL(resource), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    try {
      const result = await mcpClient.callTool({ name: 'whoami', arguments: {} });
      assert.equal(result.content[0].text, `test-client tools:call ${resource}`);
    } finally {
      await mcpClient.close();
    }
  });

  test('a token for another resource, a bad token and no token are the SDK 401 pointing at the metadata', async () => {
    const post = (headers) =>
      fetch(resource, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    for (const headers of [{ authorization: `Bearer ${await tokenFor('https://other.example.com/mcp')}` }, { authorization: 'Bearer x.y.z' }, {}]) {
      const res = await post(headers);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate'), new RegExp(`resource_metadata="${client.getProtectedResourceMetadataUrl().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
    }
  });
});

describe('both module systems', () => {
  test("each entry throws the SDK's classes of its own module system", async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const cjsErrors = require('@modelcontextprotocol/sdk/server/auth/errors.js');
    const esmErrors = await import('@modelcontextprotocol/sdk/server/auth/errors.js');
    const cjsVerifier = require('@monocloud/backend-node-rs/mcp').mcpTokenVerifier(client);
    const esmVerifier = mcpTokenVerifier(client);
    await assert.rejects(cjsVerifier.verifyAccessToken('x.y.z'), (e) => e instanceof cjsErrors.InvalidTokenError);
    await assert.rejects(esmVerifier.verifyAccessToken('x.y.z'), (e) => e instanceof esmErrors.InvalidTokenError);
    const scoped = mcpTokenVerifier(client, { scopes: ['admin'] });
    await assert.rejects(scoped.verifyAccessToken(await tokenFor(resource)), (e) => e instanceof esmErrors.InsufficientScopeError);
    const info = await esmVerifier.verifyAccessToken(await tokenFor(resource));
    assert.equal(info.clientId, 'test-client');
    assert.deepEqual(info.scopes, ['tools:call']);
    assert.equal(typeof info.expiresAt, 'number');
    assert.equal(info.resource.href, resource);
    assert.equal(info.extra.aud, resource);
  });
});
