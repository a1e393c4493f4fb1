// What each new adapter does in its framework's terms, beyond the shared request vectors: how a
// refusal reaches (or does not reach) the framework's error handling, where claims live, start-up
// errors, and NestJS's module, guard placement and decorators.
import 'reflect-metadata';

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { serve as serveHono } from '@hono/node-server';
import * as honoAdapter from '@monocloud/backend-node-rs/hono';
import * as koaAdapter from '@monocloud/backend-node-rs/koa';
import * as nestAdapter from '@monocloud/backend-node-rs/nestjs';
import * as nodeAdapter from '@monocloud/backend-node-rs/node';
import * as webAdapter from '@monocloud/backend-node-rs/web';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import { Catch, Controller, Get, HttpException, Inject, Module, UseGuards } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Hono } from 'hono';
import Koa from 'koa';

import { withEnv } from '../support/env.mjs';
import { get, listening } from '../support/frameworks.mjs';
import { NO_TOKEN_CHALLENGE } from '../support/challenges.mjs';

const { MonoCloudValidationError, MonoCloudBackendNodeClient } = webAdapter;

let issuer;
let config;
let valid;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  config = { tenantDomain: issuer.url, audience: issuer.audience };
  valid = await issuer.mint();
});

after(async () => {
  await issuer?.close();
});

describe('start-up', () => {
  test('every new adapter builds its client at once: no configuration throws', async () => {
    await withEnv({}, () => {
      for (const adapter of [webAdapter, honoAdapter, koaAdapter, nodeAdapter]) {
        assert.throws(() => adapter.protectApi(), (error) => error instanceof MonoCloudValidationError && error.message === '"tenantDomain" is required');
        assert.throws(() => adapter.protectApi({ ...config, tokenResolver: 'cookie' }), { message: '"tokenResolver" must be of type function' });
      }
      assert.throws(() => nestAdapter.MonoCloudModule.forRoot(), MonoCloudValidationError);
    });
  });

  test('a given client is used as it is', async () => {
    const client = new MonoCloudBackendNodeClient(config);
    const { protect } = webAdapter.protectApi(client);
    client.validateAccessToken = async () => ({ sub: 'override' });
    const passed = await protect(new Request('http://127.0.0.1/x', { headers: { authorization: 'Bearer anything' } }));
    assert.deepEqual(passed, { claims: { sub: 'override' } });
  });
});

describe('web', () => {
  test('protect() resolves to the refusal Response or to the claims', async () => {
    const { protect } = webAdapter.protectApi(config);
    const refused = await protect(new Request('http://127.0.0.1/x'));
    assert.ok(refused instanceof Response);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), NO_TOKEN_CHALLENGE);
    assert.equal(await refused.text(), '{"message":"unauthorized"}');
    const passed = await protect(new Request('http://127.0.0.1/x', { headers: { authorization: `Bearer ${valid}` } }));
    assert.equal(passed.claims.sub, 'test-user');
    assert.deepEqual(await protect(new Request('http://127.0.0.1/x'), { optional: true }), { claims: undefined });
  });

  test('withProtectApi() hands the handler the request, the context and the claims', async () => {
    const { withProtectApi } = webAdapter.protectApi(config);
    const calls = [];
    const GET = withProtectApi((request, context, claims) => {
      calls.push({ url: request.url, context, sub: claims.sub });
      return Response.json({ ok: true });
    }, { scopes: ['read:things'] });
    const context = { params: Promise.resolve({ id: '7' }) };
    const res = await GET(new Request('http://127.0.0.1/items/7', { headers: { authorization: `Bearer ${valid}` } }), context);
    assert.equal(res.status, 200);
    assert.deepEqual(calls, [{ url: 'http://127.0.0.1/items/7', context, sub: 'test-user' }]);
    assert.equal((await GET(new Request('http://127.0.0.1/items/7'), context)).status, 401);
    assert.equal(calls.length, 1, 'the handler does not run for a refused request');
  });
});

describe('Hono', () => {
  test('a refusal is the response: app.onError and later handlers never see it', async () => {
    const protect = honoAdapter.protectApi(config);
    const app = new Hono();
    const errors = [];
    let handled = 0;
    app.onError((error, c) => {
      errors.push(error);
      return c.text('error', 599);
    });
    app.use('/api/*', protect());
    app.get('/api/me', (c) => {
      handled += 1;
      return c.json({ sub: c.var.claims.sub, same: c.get('claims') === c.var.claims });
    });
    const server = await listening(serveHono({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }));
    try {
      const refused = await get(`${server.url}/api/me`);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers['www-authenticate'], NO_TOKEN_CHALLENGE);
      assert.deepEqual(refused.body, { message: 'unauthorized' });
      assert.equal(handled, 0);
      const ok = await get(`${server.url}/api/me`, { authorization: `Bearer ${valid}` });
      assert.deepEqual(ok.body, { sub: 'test-user', same: true });
      assert.deepEqual(errors, []);
    } finally {
      await server.close();
    }
  });
});

describe('Hono off Node', () => {
  test('without a Node request in c.env (Bun, Deno, workers, app.request) the web Request is read alike', async () => {
    const protect = honoAdapter.protectApi(config);
    const app = new Hono();
    app.get('/x', protect({ scopes: ['read:things'] }), (c) => c.json({ sub: c.var.claims.sub }));
    app.get('/maybe', protect({ optional: true }), (c) => c.json({ claims: c.var.claims }));
    const none = await app.request('/x');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), NO_TOKEN_CHALLENGE);
    assert.equal(await none.text(), '{"message":"unauthorized"}');
    assert.deepEqual(await (await app.request('/x', { headers: { authorization: `Bearer ${valid}` } })).json(), { sub: 'test-user' });
    const duplicated = new Headers();
    duplicated.append('authorization', 'Bearer not-a-jwt.at.all');
    duplicated.append('authorization', `Bearer ${valid}`);
    const refused = await app.request('/x', { headers: duplicated });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer error="invalid_token"', 'the first value, as Node reads it');
    assert.equal(await (await app.request('/maybe')).text(), '{}');
  });
});

describe('Koa', () => {
  test('a refusal is set on ctx: no error event, no downstream middleware, claims in ctx.state', async () => {
    const protect = koaAdapter.protectApi(config);
    const app = new Koa();
    const errors = [];
    let handled = 0;
    app.on('error', (error) => errors.push(error));
    app.use(protect({ scopes: ['read:things'] }));
    app.use((ctx) => {
      handled += 1;
      ctx.body = { sub: ctx.state.claims.sub };
    });
    const server = await listening(app.listen(0, '127.0.0.1'));
    try {
      const refused = await get(`${server.url}/`, { authorization: 'Bearer not-a-jwt.at.all' });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers['www-authenticate'], 'Bearer error="invalid_token"');
      assert.equal(refused.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(handled, 0);
      assert.deepEqual((await get(`${server.url}/`, { authorization: `Bearer ${valid}` })).body, { sub: 'test-user' });
      assert.deepEqual(errors, []);
    } finally {
      await server.close();
    }
  });
});

describe('node:http', () => {
  test('a request someone else already answered is left alone, and protectRequest resolves to undefined', async () => {
    const protectRequest = nodeAdapter.protectApi(config);
    const outcomes = [];
    const server = createServer(async (req, res) => {
      res.writeHead(418).end('teapot');
      outcomes.push(await protectRequest(req, res));
    });
    server.listen(0, '127.0.0.1');
    const app = await listening(server);
    try {
      const res = await get(`${app.url}/`);
      assert.equal(res.status, 418);
      assert.equal(res.text, 'teapot');
      for (let i = 0; i < 100 && outcomes.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.deepEqual(outcomes, [undefined]);
    } finally {
      await app.close();
    }
  });
});

describe('NestJS', () => {
  const { MonoCloudModule, MonoCloudGuard, Protected, Public, Claims } = nestAdapter;

  function method(target, name, handler, ...decorators) {
    target.prototype[name] = handler;
    const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
    for (const decorate of decorators) decorate(target.prototype, name, descriptor);
  }

  /** Controllers decorated by calls, as `@Controller`, `@UseGuards`, `@Protected` would. */
  function controllers() {
    // Guarded per controller, with a controller-wide requirement one route overrides.
    class GuardedController {}
    method(GuardedController, 'me', (sub) => ({ sub }), Get('me'));
    Claims('sub')(GuardedController.prototype, 'me', 0);
    method(GuardedController, 'open', () => ({ open: true }), Get('open'), Public());
    method(GuardedController, 'admin', () => ({ admin: true }), Get('admin'), Protected({ scopes: ['admin'] }));
    method(GuardedController, 'maybe', (claims) => ({ anonymous: claims === undefined }), Get('maybe'), Protected({ optional: true }));
    Claims()(GuardedController.prototype, 'maybe', 0);
    Controller('guarded')(GuardedController);
    UseGuards(MonoCloudGuard)(GuardedController);
    Protected({ scopes: ['read:things'] })(GuardedController);

    // No guard at all: not protected.
    class OpenController {}
    method(OpenController, 'hello', () => ({ hello: true }), Get('hello'));
    Controller('open')(OpenController);

    // The client is injectable.
    class ClientController {
      constructor(client) {
        this.client = client;
      }
    }
    method(ClientController, 'check', function check() {
      return { isClient: this.client instanceof MonoCloudBackendNodeClient };
    }, Get('check'));
    Controller('client')(ClientController);
    Inject(MonoCloudBackendNodeClient)(ClientController, undefined, 0);
    return [GuardedController, OpenController, ClientController];
  }

  for (const platform of ['express', 'fastify']) {
    describe(`on the ${platform} platform`, () => {
      let app;
      let url;
      const filtered = [];

      before(async () => {
        class SettingsModule {}
        Module({ providers: [{ provide: 'SETTINGS', useValue: config }], exports: ['SETTINGS'] })(SettingsModule);

        // An application filter sees the refusal as an HttpException and may render it itself;
        // this one only records it and hands it back to Nest's default rendering.
        class RecordingFilter {
          catch(exception, host) {
            filtered.push({ status: exception.getStatus(), body: exception.getResponse() });
            const reply = host.switchToHttp().getResponse();
            if (platform === 'express') reply.status(exception.getStatus()).json(exception.getResponse());
            else reply.code(exception.getStatus()).send(exception.getResponse());
          }
        }
        Catch(HttpException)(RecordingFilter);

        class AppModule {}
        Module({
          imports: [MonoCloudModule.forRootAsync({ imports: [SettingsModule], inject: ['SETTINGS'], useFactory: async (settings) => settings })],
          controllers: controllers(),
          providers: [{ provide: APP_FILTER, useClass: RecordingFilter }],
        })(AppModule);
        app = await NestFactory.create(AppModule, platform === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
        await app.listen(0, '127.0.0.1');
        url = `http://127.0.0.1:${app.getHttpServer().address().port}`;
      });

      after(async () => {
        await app?.close();
      });

      test('@UseGuards on a controller protects its routes with its @Protected options', async () => {
        const none = await get(`${url}/guarded/me`);
        assert.equal(none.status, 401);
        assert.equal(none.headers['www-authenticate'], NO_TOKEN_CHALLENGE);
        assert.equal(none.text, '{"message":"unauthorized"}');
        const me = await get(`${url}/guarded/me`, { authorization: `Bearer ${valid}` });
        assert.deepEqual(me.body, { sub: 'test-user' }, '@Claims("sub")');
        const noScope = await get(`${url}/guarded/me`, { authorization: `Bearer ${await issuer.mint({ claims: { scope: 'other' } })}` });
        assert.equal(noScope.status, 403, 'the controller-wide scope');
      });

      test('a route @Protected overrides the controller, @Public opens it, optional passes anonymously', async () => {
        assert.equal((await get(`${url}/guarded/admin`, { authorization: `Bearer ${valid}` })).status, 403);
        const admin = await get(`${url}/guarded/admin`, { authorization: `Bearer ${await issuer.mint({ claims: { scope: 'admin' } })}` });
        assert.equal(admin.status, 200, 'the route asks for admin only, not read:things');
        assert.deepEqual((await get(`${url}/guarded/open`)).body, { open: true });
        assert.deepEqual((await get(`${url}/guarded/maybe`)).body, { anonymous: true });
        assert.deepEqual((await get(`${url}/guarded/maybe`, { authorization: `Bearer ${valid}` })).body, { anonymous: false });
        assert.equal((await get(`${url}/guarded/maybe`, { authorization: 'Bearer not-a-jwt.at.all' })).status, 401);
      });

      test('an unguarded controller is open, and the client is injectable', async () => {
        assert.deepEqual((await get(`${url}/open/hello`)).body, { hello: true });
        assert.deepEqual((await get(`${url}/client/check`)).body, { isClient: true });
      });

      test('application exception filters see the refusal as an HttpException', async () => {
        filtered.length = 0;
        const res = await get(`${url}/guarded/me`, { authorization: 'Bearer not-a-jwt.at.all' });
        assert.equal(res.status, 401);
        assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
        assert.deepEqual(filtered, [{ status: 401, body: { message: 'unauthorized' } }]);
      });
    });
  }
});
