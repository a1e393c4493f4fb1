// Mistakes a new user makes are loud: a factory used as the middleware still protects, route
// options are checked where the route is defined, bad arguments are typed errors that name
// them (never the binding's conversion text), unknown option names get one warning, and
// Express can hand refusals to the error middleware users already wrote.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudOidcBackendClient, MonoCloudRefusalError, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import * as expressAdapter from '@monocloud/backend-node-rs/express';
import * as fastifyAdapter from '@monocloud/backend-node-rs/fastify';
import * as honoAdapter from '@monocloud/backend-node-rs/hono';
import * as koaAdapter from '@monocloud/backend-node-rs/koa';
import * as nestAdapter from '@monocloud/backend-node-rs/nestjs';
import * as nodeAdapter from '@monocloud/backend-node-rs/node';
import * as webAdapter from '@monocloud/backend-node-rs/web';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { withEnv } from '../support/env.mjs';
import { frameworks, get, listening } from '../support/frameworks.mjs';
import { fromRoot } from '../support/paths.mjs';
import { NO_TOKEN_CHALLENGE } from '../support/challenges.mjs';

const require = createRequire(import.meta.url);

let issuer;
const warnings = [];
const onWarning = (warning) => warnings.push(warning);

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  process.on('warning', onWarning);
});

after(async () => {
  process.off('warning', onWarning);
  await issuer?.close();
});

const env = () => ({ MONOCLOUD_BACKEND_TENANT_DOMAIN: issuer.url, MONOCLOUD_BACKEND_AUDIENCE: issuer.audience });
const options = () => ({ tenantDomain: issuer.url, audience: issuer.audience });
// process.emitWarning delivers on the next tick.
const settled = () => new Promise((resolve) => setImmediate(resolve));
const warningsWith = (code) => warnings.filter((warning) => warning.code === code);

/** A real app whose only guard is `guard`, installed the way users write it by mistake. */
async function appWith(framework, install) {
  if (framework.kind === 'express') {
    const app = require(framework.module)();
    install(app);
    app.get('/x', (req, res) => res.json({ sub: req.claims?.sub ?? null }));
    return listening(app.listen(0, '127.0.0.1'));
  }
  const app = require(framework.module)();
  install(app);
  app.get('/x', async (request) => ({ sub: request.claims?.sub ?? null }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

const useFactory = (framework, guard) => (app) =>
  framework.kind === 'express' ? app.use(guard) : app.addHook('onRequest', guard);

async function statuses(app) {
  const none = await get(`${app.url}/x`);
  const good = await get(`${app.url}/x`, { authorization: `Bearer ${await issuer.mint()}` });
  const bad = await get(`${app.url}/x`, { authorization: 'Bearer a.b.c' });
  return { none, good, bad };
}

describe('the factory used as the middleware (item 1: it never hangs)', () => {
  // First: the client protectApi builds for itself, from the environment, is kept once built.
  for (const name of ['Express 5', 'Fastify 5']) {
    test(`${name}: protectApi itself as the middleware without any configuration answers 500 and says why`, async () => {
      const framework = frameworks.find((f) => f.name === name);
      const app = await withEnv({}, () => appWith(framework, useFactory(framework, framework.adapter.protectApi)));
      try {
        const none = await withEnv({}, () => get(`${app.url}/x`));
        assert.equal(none.status, 500);
        assert.deepEqual(none.body, { message: 'internal server error' });
      } finally {
        await app.close();
      }
      await settled();
      assert.ok(warningsWith('MONOCLOUD_PROTECT_FACTORY_MISUSE').some((w) => /Building a client from the environment failed: MonoCloudValidationError: "tenantDomain" is required/.test(w.message)));
    });
  }

  for (const framework of frameworks) {
    test(`${framework.name}: app.use(protect) / addHook(protect) protects as protect() would`, async () => {
      const protect = framework.adapter.protectApi(options());
      const app = await appWith(framework, useFactory(framework, protect));
      try {
        const { none, good, bad } = await statuses(app);
        assert.equal(none.status, 401);
        assert.equal(none.headers['www-authenticate'], NO_TOKEN_CHALLENGE);
        assert.deepEqual(none.body, { message: 'unauthorized' });
        assert.equal(good.status, 200);
        assert.deepEqual(good.body, { sub: 'test-user' });
        assert.equal(bad.status, 401);
        assert.equal(bad.headers['www-authenticate'], 'Bearer error="invalid_token"');
      } finally {
        await app.close();
      }
      await settled();
      const misuse = warningsWith('MONOCLOUD_PROTECT_FACTORY_MISUSE').filter((w) => w.message.includes('not `app.use(protect)`') || w.message.includes("addHook('onRequest', protect())"));
      assert.ok(misuse.length >= 1, 'a warning says how to call the factory');
    });

    test(`${framework.name}: protectApi itself as the middleware protects with a client from the environment`, async () => {
      const app = await withEnv(env(), () => appWith(framework, useFactory(framework, framework.adapter.protectApi)));
      try {
        const { none, good } = await withEnv(env(), () => statuses(app));
        assert.equal(none.status, 401);
        assert.equal(good.status, 200);
        assert.deepEqual(good.body, { sub: 'test-user' });
      } finally {
        await app.close();
      }
    });
  }

  test('Koa: app.use(protect) and app.use(protectApi) protect as protect() would', async () => {
    const Koa = require('koa');
    for (const guard of [koaAdapter.protectApi(options()), koaAdapter.protectApi]) {
      const app = new Koa();
      app.use(guard);
      app.use((ctx) => {
        ctx.body = { sub: ctx.state.claims.sub };
      });
      const server = await withEnv(env(), () => listening(app.listen(0, '127.0.0.1')));
      try {
        const { none, good, bad } = await withEnv(env(), () => statuses(server));
        assert.deepEqual([none.status, none.headers['www-authenticate']], [401, NO_TOKEN_CHALLENGE]);
        assert.deepEqual([good.status, good.body], [200, { sub: 'test-user' }]);
        assert.equal(bad.status, 401);
      } finally {
        await server.close();
      }
    }
  });

  test('Hono: app.use(protect) and app.use(protectApi) protect as protect() would', async () => {
    const { Hono } = await import('hono');
    for (const guard of [honoAdapter.protectApi(options()), honoAdapter.protectApi]) {
      const app = new Hono();
      app.use(guard);
      app.get('/x', (c) => c.json({ sub: c.var.claims.sub }));
      await withEnv(env(), async () => {
        const none = await app.request('http://127.0.0.1/x');
        assert.deepEqual([none.status, none.headers.get('www-authenticate')], [401, NO_TOKEN_CHALLENGE]);
        const good = await app.request('http://127.0.0.1/x', { headers: { authorization: `Bearer ${await issuer.mint()}` } });
        assert.deepEqual([good.status, await good.json()], [200, { sub: 'test-user' }]);
      });
    }
  });

  test('each misuse is reported once, with a code, however many requests it sees', async () => {
    await settled();
    const misuse = warningsWith('MONOCLOUD_PROTECT_FACTORY_MISUSE');
    const messages = misuse.map((warning) => warning.message);
    assert.equal(new Set(messages).size, messages.length, 'no message twice');
    assert.ok(messages.some((message) => /app\.use\(protect\(\)\)/.test(message)));
    assert.ok(messages.some((message) => /onRequest/.test(message)));
  });
});

describe('route options are checked when the route is defined (item 2)', () => {
  const cases = [
    [{ scope: ['admin'] }, /unknown option "scope" \(did you mean "scopes"\?\); route options are \{ scopes\?: string\[\]/],
    [{ Scopes: ['admin'] }, /unknown option "Scopes" \(did you mean "scopes"\?\)/],
    [{ group: ['admins'] }, /unknown option "group" \(did you mean "groups"\?\)/],
    [{ scopes: 'admin' }, /option "scopes" must be string\[\] \(an array of strings\), got a string/],
    [{ scopes: [1] }, /option "scopes" must be string\[\] \(an array of strings\), got an array with a non-string item/],
    [{ groups: { admin: true } }, /option "groups" must be string\[\]/],
    [{ checks: [() => true] }, /option "checks" must be ClaimCheck\[\]/],
    [{ checks: expressAdapter.requiredScopes('a') }, /option "checks" must be ClaimCheck\[\]/],
    [{ optional: 'yes' }, /option "optional" must be a boolean, got a string/],
    ['admin', /options must be an object/],
  ];

  const definers = {
    'Express protect(options)': () => expressAdapter.protectApi(options()),
    'Fastify protect(options)': () => fastifyAdapter.protectApi(options()),
    'Hono protect(options)': () => honoAdapter.protectApi(options()),
    'Koa protect(options)': () => koaAdapter.protectApi(options()),
  };
  for (const [name, make] of Object.entries(definers)) {
    test(`${name} throws a TypeError naming the option and its shape`, () => {
      const protect = make();
      for (const [given, message] of cases) {
        assert.throws(() => protect(given), (error) => error instanceof TypeError && message.test(error.message), JSON.stringify(given));
      }
      // Good options still define a route.
      assert.equal(typeof protect({ scopes: ['a'], groups: ['g'], checks: [expressAdapter.requiredScopes('a')], optional: false }), 'function');
      assert.equal(typeof protect(), 'function');
    });
  }

  test('web withProtectApi throws at definition, web protect and node protectRequest reject per call', async () => {
    const { protect, withProtectApi } = webAdapter.protectApi(options());
    const protectRequest = nodeAdapter.protectApi(options());
    for (const [given, message] of cases) {
      assert.throws(() => withProtectApi(async () => new Response('x'), given), (e) => e instanceof TypeError && message.test(e.message));
      await assert.rejects(protect(new Request('http://127.0.0.1/x'), given), (e) => e instanceof TypeError && message.test(e.message));
      await assert.rejects(protectRequest({ headers: {}, method: 'GET', url: '/x' }, {}, given), (e) => e instanceof TypeError && message.test(e.message));
    }
  });

  test('NestJS @Protected(options) throws when the decorator is made', () => {
    assert.throws(() => nestAdapter.Protected({ scope: ['a'] }), (e) => e instanceof TypeError && /@Protected\(options\): unknown option "scope"/.test(e.message));
    assert.throws(() => nestAdapter.Protected({ scopes: 'a' }), (e) => e instanceof TypeError && /"scopes" must be string\[\]/.test(e.message));
  });
});

describe('client arguments are typed errors, never the binding\'s text (item 2)', () => {
  const napiText = /Failed to (get|convert)|napi|rust type/i;

  test('validateAccessToken, validateJwtAccessToken and introspectAccessToken name the bad option', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    const token = await issuer.mint();
    const calls = [
      [() => client.validateAccessToken(token, { scopes: 'admin' }), /validateAccessToken\(token, options\): options\.scopes must be string\[\]/],
      [() => client.validateAccessToken(token, { scopes: [1] }), /options\.scopes must be string\[\] \(an array of strings\), got an array with a non-string item/],
      [() => client.validateAccessToken(token, { groups: {} }), /options\.groups must be string\[\]/],
      [() => client.validateAccessToken(token, { clientCertificate: 5 }), /options\.clientCertificate must be a string, got a number/],
      [() => client.validateAccessToken(token, 'admin'), /options must be an object/],
      [() => client.validateJwtAccessToken(token, { scopes: 'a' }), /validateJwtAccessToken\(token, options\): options\.scopes/],
      [() => client.validateJwtAccessToken(token, { validateCertificateBinding: 5 }), /options\.validateCertificateBinding must be one of/],
      [() => client.introspectAccessToken('opaque', { groups: 'a' }), /introspectAccessToken\(token, options\): options\.groups/],
      [() => client.getMetadata('yes'), /getMetadata\(forceRefresh\): forceRefresh must be a boolean, got a string/],
      [() => client.getJwks(1), /getJwks\(forceRefresh\): forceRefresh must be a boolean, got a number/],
    ];
    for (const [call, message] of calls) {
      await assert.rejects(call(), (error) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, napiText);
        return true;
      });
    }
    // The setters keep the class their other refusals have.
    assert.throws(() => client.setClockSkew('x'), (e) => e instanceof MonoCloudValidationError && /setClockSkew\(clockSkew\): clockSkew must be a finite number, got a string/.test(e.message));
    assert.throws(() => client.setClockTolerance(undefined), (e) => e instanceof MonoCloudValidationError && /clockTolerance must be a finite number, got undefined/.test(e.message));
    assert.throws(() => client.setClockTolerance(Number.NaN), (e) => e instanceof MonoCloudValidationError && /got NaN/.test(e.message));
    // Good arguments still work.
    assert.equal((await client.validateAccessToken(token, { scopes: ['read:things'], groups: null })).sub, 'test-user');
  });

  test('a route with bad options answered through a replaced client method gets the same checks', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    client.introspectAccessToken = async () => ({});
    await assert.rejects(client.validateAccessToken('opaque', { scopes: 'a' }), (e) => e instanceof TypeError && /options\.scopes/.test(e.message));
  });
});

describe('unknown option names get one warning naming the closest known one (item 7)', () => {
  test('client constructors: the key, the closest option, a code; construction succeeds', async () => {
    const client = new MonoCloudBackendNodeClient({ ...options(), audiense: 'x', issuerBaseURL: 'https://x' });
    new MonoCloudBackendNodeClient({ ...options(), audiense: 'x' });
    new MonoCloudOidcBackendClient(issuer.url, issuer.audience, { clockTolerence: 5 });
    assert.equal((await client.validateAccessToken(await issuer.mint())).sub, 'test-user');
    await settled();
    const unknown = warningsWith('MONOCLOUD_UNKNOWN_OPTION').map((w) => w.message);
    assert.deepEqual(unknown.filter((m) => m.includes('"audiense"')), [
      'new MonoCloudBackendNodeClient(): unknown option "audiense" is ignored. Did you mean "audience"?',
    ]);
    assert.ok(unknown.includes('new MonoCloudBackendNodeClient(): unknown option "issuerBaseURL" is ignored. Did you mean "tenantDomain"?'));
    assert.ok(unknown.includes('new MonoCloudOidcBackendClient(): unknown option "clockTolerence" is ignored. Did you mean "clockTolerance"?'));
  });

  test('groupOptions that is not an object is accepted as the original does, with one warning', async () => {
    const client = new MonoCloudBackendNodeClient({ ...options(), groupOptions: 5 });
    new MonoCloudBackendNodeClient({ ...options(), groupOptions: 5 });
    new MonoCloudBackendNodeClient({ ...options(), groupOptions: { matchAll: true } });
    assert.equal((await client.validateAccessToken(await issuer.mint())).sub, 'test-user');
    await settled();
    const ignored = warningsWith('MONOCLOUD_UNKNOWN_OPTION').map((w) => w.message).filter((m) => m.includes('"groupOptions"'));
    assert.deepEqual(ignored, [
      'new MonoCloudBackendNodeClient(): option "groupOptions" must be { groupsClaim?: string, matchAll?: boolean }, not number; it is ignored.',
    ]);
  });

  test('every option of the options table (src/core/config/options.rs) is known: no warning', async () => {
    const table = readFileSync(fromRoot('src', 'core', 'config', 'options.rs'), 'utf8');
    const names = [...new Set([...table.matchAll(/^\s*row\("([A-Za-z.]+)"/gm)].map((m) => m[1].split('.')[0]))];
    assert.ok(names.length > 20 && names.includes('groupOptions') && names.includes('onEvent'), names.join());
    const given = Object.fromEntries(names.map((name) => [name, undefined]));
    new MonoCloudBackendNodeClient({ ...given, ...options() });
    expressAdapter.protectApi({ ...given, ...options(), tokenResolver: undefined, certificateResolver: undefined, passErrorsToNext: false });
    await settled();
    const unknown = warningsWith('MONOCLOUD_UNKNOWN_OPTION').map((w) => w.message);
    for (const name of names) assert.ok(!unknown.some((m) => m.includes(`unknown option "${name}"`)), name);
  });

  test('protectApi options: resolvers and adapter options are known, a typo is named once', async () => {
    for (const adapter of [expressAdapter, fastifyAdapter, honoAdapter, koaAdapter, webAdapter, nodeAdapter]) {
      adapter.protectApi({ ...options(), tokenResolvr: () => undefined, tenantURL: 'x' });
    }
    expressAdapter.protectApi({ ...options(), passErrorsToNext: true, tokenResolver: () => undefined });
    fastifyAdapter.protectApi({ ...options(), passErrorsToNext: true });
    expressAdapter.protectApi(new MonoCloudBackendNodeClient(options()), { clockTolerance: 5 });
    await settled();
    const unknown = warningsWith('MONOCLOUD_UNKNOWN_OPTION').map((w) => w.message);
    assert.deepEqual(unknown.filter((m) => m.includes('tokenResolvr')), ['protectApi(): unknown option "tokenResolvr" is ignored. Did you mean "tokenResolver"?']);
    assert.deepEqual(unknown.filter((m) => m.includes('tenantURL')), ['protectApi(): unknown option "tenantURL" is ignored. Did you mean "tenantDomain"?']);
    assert.ok(unknown.includes('protectApi() with a client: unknown option "clockTolerance" is ignored. It is a client option: give it to the client you pass.'));
    // Express knows passErrorsToNext; Fastify does not take it and says so.
    assert.equal(unknown.filter((m) => m.includes('"passErrorsToNext"')).length, 1);
    assert.equal(unknown.filter((m) => m.startsWith('new MonoCloudBackendNodeClient()') && /tokenResolvr|tenantURL/.test(m)).length, 0, 'not again by the client');
  });
});

describe('Express passErrorsToNext: refusals reach the error middleware (item 5)', () => {
  for (const framework of frameworks.filter((f) => f.kind === 'express')) {
    test(`${framework.name}: a seed-style error handler (custom JSON, console.error) runs with status, headers and body`, async () => {
      const express = require(framework.module);
      const protect = expressAdapter.protectApi({ ...options(), passErrorsToNext: true });
      const app = express();
      const seen = [];
      const logged = [];
      app.get('/api/private', protect(), (req, res) => res.json({ user: req.claims.sub }));
      app.get('/api/admin', protect({ scopes: ['admin'] }), (req, res) => res.json({ user: req.claims.sub }));
      // The error middleware of a typical Express guide.
      app.use((err, req, res, next) => {
        seen.push(err);
        logged.push(err.stack);
        const status = err.status || 500;
        const message = err.message || 'Internal Server Error';
        res.status(status).json({ error: err.code || 'unauthorized', message: status === 401 ? 'Authentication required' : message });
      });
      const server = await listening(app.listen(0, '127.0.0.1'));
      try {
        const none = await get(`${server.url}/api/private`);
        assert.equal(none.status, 401);
        assert.deepEqual(none.body, { error: 'unauthorized', message: 'Authentication required' });
        const [noToken] = seen;
        assert.ok(noToken instanceof MonoCloudRefusalError);
        assert.deepEqual([noToken.status, noToken.statusCode, noToken.headers, noToken.body, noToken.code], [401, 401, { 'WWW-Authenticate': NO_TOKEN_CHALLENGE }, { message: 'unauthorized' }, undefined]);

        const scopeless = await get(`${server.url}/api/admin`, { authorization: `Bearer ${await issuer.mint()}` });
        assert.equal(scopeless.status, 403);
        assert.deepEqual(scopeless.body, { error: 'insufficient_scope', message: 'forbidden' });
        const forbidden = seen[1];
        assert.deepEqual(forbidden.headers, { 'WWW-Authenticate': 'Bearer error="insufficient_scope"' });
        assert.equal(forbidden.cause?.code, 'insufficient_scope', 'the validation error is the cause');

        const bad = await get(`${server.url}/api/private`, { authorization: 'Bearer a.b.c' });
        assert.equal(bad.status, 401);
        assert.deepEqual(seen[2].headers, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });

        const good = await get(`${server.url}/api/private`, { authorization: `Bearer ${await issuer.mint()}` });
        assert.deepEqual([good.status, good.body], [200, { user: 'test-user' }]);
        assert.equal(seen.length, 3);
        assert.ok(logged.every((stack) => stack.startsWith('MonoCloudRefusalError: ')));
      } finally {
        await server.close();
      }
    });

    test(`${framework.name}: with Express's own error handler the status and WWW-Authenticate still go out`, async () => {
      const express = require(framework.module);
      const protect = expressAdapter.protectApi({ ...options(), passErrorsToNext: true });
      const app = express();
      app.set('env', 'test'); // Express's handler logs nothing in 'test'
      app.get('/x', protect(), (req, res) => res.json({}));
      const server = await listening(app.listen(0, '127.0.0.1'));
      try {
        const none = await get(`${server.url}/x`);
        assert.equal(none.status, 401);
        assert.equal(none.headers['www-authenticate'], NO_TOKEN_CHALLENGE);
      } finally {
        await server.close();
      }
    });
  }

  test('passErrorsToNext must be a boolean; the default answers by itself', async () => {
    assert.throws(() => expressAdapter.protectApi({ ...options(), passErrorsToNext: 'yes' }), (e) => e instanceof TypeError && /passErrorsToNext/.test(e.message));
    const client = new MonoCloudBackendNodeClient(options());
    const protect = expressAdapter.protectApi(client, { passErrorsToNext: true });
    const calls = [];
    const res = { headersSent: false, set() { return this; }, status() { calls.push('status'); return this; }, json() { calls.push('json'); } };
    await protect()({ headers: {}, method: 'GET', protocol: 'http', get: () => 'h', originalUrl: '/' }, res, (err) => calls.push(err));
    assert.equal(calls.length, 1);
    assert.ok(calls[0] instanceof MonoCloudRefusalError);
  });
});
