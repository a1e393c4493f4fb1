// Protected resource metadata (RFC 9728): the document at its well-known path on Express,
// Fastify, web handlers, node:http, Hono, Koa and NestJS on both platforms (GET, HEAD, the CORS
// preflight, 405 otherwise; other paths reach the app's next handler), its URL,
// `resource_metadata` in every challenge, and the resource's own audience check (DECISION 34).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudTokenError, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import * as expressAdapter from '@monocloud/backend-node-rs/express';
import * as fastifyAdapter from '@monocloud/backend-node-rs/fastify';
import * as honoAdapter from '@monocloud/backend-node-rs/hono';
import * as koaAdapter from '@monocloud/backend-node-rs/koa';
import * as nestAdapter from '@monocloud/backend-node-rs/nestjs';
import * as nodeAdapter from '@monocloud/backend-node-rs/node';
import * as webAdapter from '@monocloud/backend-node-rs/web';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import { serve as serveHono } from '@hono/node-server';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import Koa2 from 'koa2';

import { DPOP_ALGS } from '../support/challenges.mjs';
import { listening } from '../support/frameworks.mjs';
import { rejectsWith } from '../support/rejects.mjs';

const RESOURCE = 'https://api.example.com/mcp';
const METADATA_PATH = '/.well-known/oauth-protected-resource/mcp';
const METADATA_URL = `https://api.example.com${METADATA_PATH}`;
const RM = `resource_metadata="${METADATA_URL}"`;

let issuer;
let options;
let document;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  options = {
    ...issuer.clientOptions,
    protectedResource: { resource: RESOURCE, scopesSupported: ['read:things', 'write:things'], resourceName: 'Things' },
  };
  document = JSON.stringify({
    resource: RESOURCE,
    authorization_servers: [issuer.url],
    scopes_supported: ['read:things', 'write:things'],
    bearer_methods_supported: ['header'],
    resource_name: 'Things',
    dpop_signing_alg_values_supported: ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA'],
    dpop_bound_access_tokens_required: false,
  });
});

after(() => issuer?.close());

async function send(url, method) {
  const res = await fetch(url, { method });
  return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
}

const servers = {
  Express: async () => {
    const app = express();
    app.use(expressAdapter.protectedResourceMetadata(options));
    app.use((req, res) => res.status(404).json({ message: 'next' }));
    return listening(createServer(app).listen(0, '127.0.0.1'));
  },
  Fastify: async () => {
    const app = Fastify();
    await app.register(fastifyAdapter.protectedResourceMetadata(new MonoCloudBackendNodeClient(options)));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `http://127.0.0.1:${app.server.address().port}`, close: () => app.close() };
  },
  web: async () => {
    const handler = webAdapter.protectedResourceMetadata(options);
    return listening(
      createServer(async (req, res) => {
        const response = handler(new Request(`http://127.0.0.1${req.url}`, { method: req.method }));
        if (!response) {
          res.writeHead(404).end('next');
          return;
        }
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(Buffer.from(await response.arrayBuffer()));
      }).listen(0, '127.0.0.1'),
    );
  },
  'node:http': async () => {
    const serve = nodeAdapter.protectedResourceMetadata(options);
    return listening(
      createServer((req, res) => {
        if (!serve(req, res)) res.writeHead(404).end('next');
      }).listen(0, '127.0.0.1'),
    );
  },
};

/** A Nest app whose module has the client, serving the metadata with that very client. */
async function nestServer(adapter) {
  class NextController {
    next() {
      return { message: 'next' };
    }
  }
  Get('mcp')(NextController.prototype, 'next', Object.getOwnPropertyDescriptor(NextController.prototype, 'next'));
  Controller()(NextController);
  class AppModule {}
  Module({ imports: [nestAdapter.MonoCloudModule.forRoot(options)], controllers: [NextController] })(AppModule);
  const app = await NestFactory.create(AppModule, adapter, { logger: false });
  // A global prefix moves controllers, not this middleware: the document stays at the root.
  app.setGlobalPrefix('api');
  app.use(nestAdapter.protectedResourceMetadata(app.get(MonoCloudBackendNodeClient)));
  await app.listen(0, '127.0.0.1');
  return { url: `http://127.0.0.1:${app.getHttpServer().address().port}`, close: () => app.close(), controllerPath: '/api/mcp' };
}

function koaServer(KoaClass) {
  return async () => {
    const app = new KoaClass();
    app.use(koaAdapter.protectedResourceMetadata(options));
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = 'next';
    });
    return listening(app.listen(0, '127.0.0.1'));
  };
}

Object.assign(servers, {
  Hono: async () => {
    const app = new Hono();
    app.use(honoAdapter.protectedResourceMetadata(options));
    app.all('*', (c) => c.text('next', 404));
    return listening(serveHono({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }));
  },
  'Koa 3': koaServer(Koa),
  'Koa 2': koaServer(Koa2),
  'NestJS (Express)': () => nestServer(new ExpressAdapter()),
  'NestJS (Fastify)': () => nestServer(new FastifyAdapter()),
});

for (const [name, start] of Object.entries(servers)) {
  describe(`${name}: the metadata document`, () => {
    let server;
    before(async () => {
      server = await start();
    });
    after(async () => {
      await server?.close();
    });

    test('GET and HEAD 200 with CORS and caching; OPTIONS preflight; other methods 405', async () => {
      const got = await send(`${server.url}${METADATA_PATH}?x=1`, 'GET');
      assert.equal(got.status, 200);
      assert.equal(got.text, document);
      assert.equal(got.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(got.headers['access-control-allow-origin'], '*');
      assert.equal(got.headers['cache-control'], 'public, max-age=3600');
      assert.equal(got.headers['content-length'], String(Buffer.byteLength(document)));
      const head = await send(`${server.url}${METADATA_PATH}`, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.text, '');
      assert.equal(head.headers['access-control-allow-origin'], '*');
      assert.equal(head.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(head.headers['content-length'], String(Buffer.byteLength(document)));
      assert.equal(head.headers['cache-control'], 'public, max-age=3600');
      const preflight = await send(`${server.url}${METADATA_PATH}`, 'OPTIONS');
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers['access-control-allow-origin'], '*');
      assert.equal(preflight.headers['access-control-allow-methods'], 'GET, HEAD, OPTIONS');
      assert.equal(preflight.headers['access-control-allow-headers'], '*');
      assert.equal(preflight.headers['access-control-max-age'], '86400');
      assert.equal(preflight.text, '');
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const refused = await send(`${server.url}${METADATA_PATH}`, method);
        assert.equal(refused.status, 405, method);
        assert.equal(refused.headers.allow, 'GET, HEAD, OPTIONS');
        assert.equal(refused.headers['content-type'], 'application/json; charset=utf-8');
        assert.deepEqual(JSON.parse(refused.text), { message: 'method not allowed' });
      }
      assert.equal((await send(`${server.url}/.well-known/oauth-protected-resource`, 'GET')).status, 404);
      assert.equal((await send(`${server.url}/mcp`, 'GET')).status, 404);
      if (server.controllerPath) {
        const next = await send(`${server.url}${server.controllerPath}`, 'GET');
        assert.deepEqual([next.status, next.text], [200, '{"message":"next"}']);
      }
    });
  });
}

describe('a protected resource', () => {
  test('its metadata URL; without protectedResource there is none, and serving it throws', () => {
    assert.equal(new MonoCloudBackendNodeClient(options).getProtectedResourceMetadataUrl(), METADATA_URL);
    const plain = new MonoCloudBackendNodeClient(issuer.clientOptions);
    assert.equal(plain.getProtectedResourceMetadataUrl(), undefined);
    assert.throws(() => webAdapter.protectedResourceMetadata(plain), MonoCloudValidationError);
    const root = new MonoCloudBackendNodeClient({ ...issuer.clientOptions, protectedResource: { resource: 'https://api.example.com' } });
    assert.equal(root.getProtectedResourceMetadataUrl(), 'https://api.example.com/.well-known/oauth-protected-resource');
  });

  test('invalid settings throw at construction', () => {
    for (const protectedResource of [
      {},
      { resource: 'http://api.example.com' },
      { resource: 'https://api.example.com/#frag' },
      { resource: RESOURCE, authorizationServers: [] },
      { resource: RESOURCE, bearerMethodsSupported: ['cookie'] },
      { resource: RESOURCE, resourceDocumentation: 'docs' },
      'https://api.example.com',
    ]) {
      assert.throws(() => new MonoCloudBackendNodeClient({ ...issuer.clientOptions, protectedResource }), MonoCloudValidationError, JSON.stringify(protectedResource));
    }
  });

  test("a token's aud must name the resource, after normalisation, besides the audience", async () => {
    const client = new MonoCloudBackendNodeClient(options);
    for (const resource of [RESOURCE, 'HTTPS://API.EXAMPLE.COM:443/mcp']) {
      const token = await issuer.mint({ claims: { aud: [issuer.audience, resource] } });
      assert.equal((await client.validateAccessToken(token)).sub, 'test-user', resource);
    }
    for (const aud of [issuer.audience, [issuer.audience, 'https://api.example.com/other'], [RESOURCE]]) {
      const token = await issuer.mint({ claims: { aud } });
      await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, (e) => assert.equal(e.code, 'invalid_token'));
    }
  });

  test('every challenge points to the metadata, in the complete form', async () => {
    const { protect } = webAdapter.protectApi(options);
    const challenge = async (headers, routeOptions) => {
      const response = await protect(new Request('http://127.0.0.1/mcp', { headers }), routeOptions);
      assert.ok(response instanceof Response);
      return [response.status, response.headers.get('www-authenticate')];
    };
    assert.deepEqual(await challenge({}), [401, `Bearer ${RM}, DPoP ${RM}, ${DPOP_ALGS}`]);
    assert.deepEqual(await challenge({ authorization: 'Bearer x.y.z' }), [
      401,
      `Bearer error="invalid_token", error_description="The access token is missing, invalid, expired or revoked", ${RM}`,
    ]);
    const token = await issuer.mint({ claims: { aud: [issuer.audience, RESOURCE], scope: 'read:things' } });
    assert.deepEqual(await challenge({ authorization: `Bearer ${token}` }, { scopes: ['read:things', 'write:things'] }), [
      403,
      `Bearer error="insufficient_scope", error_description="The access token does not grant what this resource requires", scope="read:things write:things", ${RM}`,
    ]);
    const elsewhere = await issuer.mint({ claims: { aud: issuer.audience } });
    assert.deepEqual(await challenge({ authorization: `Bearer ${elsewhere}` }), [
      401,
      `Bearer error="invalid_token", error_description="The access token is missing, invalid, expired or revoked", ${RM}`,
    ]);
    // Without protectedResource, exactly the short forms.
    const plain = webAdapter.protectApi(issuer.clientOptions);
    const none = await plain.protect(new Request('http://127.0.0.1/mcp'));
    assert.equal(none.headers.get('www-authenticate'), `Bearer, DPoP ${DPOP_ALGS}`);
  });
});
