// How protectApi() gets its client (options over env, built once at start-up), what the
// subpaths export in ESM and CommonJS, and the claim-check helpers on their own.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';

import * as root from '@monocloud/backend-node-rs';
import * as expressAdapter from '@monocloud/backend-node-rs/express';
import * as fastifyAdapter from '@monocloud/backend-node-rs/fastify';
import * as honoAdapter from '@monocloud/backend-node-rs/hono';
import * as koaAdapter from '@monocloud/backend-node-rs/koa';
import * as nestAdapter from '@monocloud/backend-node-rs/nestjs';
import * as nodeAdapter from '@monocloud/backend-node-rs/node';
import * as webAdapter from '@monocloud/backend-node-rs/web';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { now } from '../support/clock.mjs';
import { withEnv } from '../support/env.mjs';
import { frameworks, get, serve } from '../support/frameworks.mjs';
import { fromRoot } from '../support/paths.mjs';
import { NO_TOKEN_CHALLENGE } from '../support/challenges.mjs';

const require = createRequire(import.meta.url);
const { MonoCloudTokenError, MonoCloudValidationError } = root;

let issuer;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
});

after(async () => {
  await issuer?.close();
});

const env = () => ({ MONOCLOUD_BACKEND_TENANT_DOMAIN: issuer.url, MONOCLOUD_BACKEND_AUDIENCE: issuer.audience });

for (const framework of frameworks) {
  describe(`${framework.name}: where the client comes from`, () => {
    const { protectApi } = framework.adapter;

    async function statusWith(protect, token) {
      const app = await serve(framework, { '/x': [protect()] });
      try {
        const res = await get(`${app.url}/x`, token ? { authorization: `Bearer ${token}` } : {});
        return res.status;
      } finally {
        await app.close();
      }
    }

    test('protectApi() builds its client from the environment', async () => {
      const protect = await withEnv(env(), () => protectApi());
      assert.equal(await statusWith(protect, await issuer.mint()), 200);
    });

    test('protectApi() without configuration throws at start-up', async () => {
      await withEnv({}, () => {
        assert.throws(() => protectApi(), (error) => error instanceof MonoCloudValidationError && error.message === '"tenantDomain" is required');
        assert.throws(() => protectApi({ tokenResolver: async () => undefined }), MonoCloudValidationError);
      });
    });

    test('client options given to protectApi() win over the environment', async () => {
      const protect = await withEnv({ ...env(), MONOCLOUD_BACKEND_AUDIENCE: 'https://wrong.example.com' }, () =>
        protectApi({ audience: issuer.audience }),
      );
      assert.equal(await statusWith(protect, await issuer.mint()), 200);

      const strict = await withEnv(env(), () => protectApi({ clockTolerance: 0 }));
      const expired = await issuer.mint({ claims: { exp: now() - 30 } });
      assert.equal(await statusWith(strict, expired), 401);
      assert.equal(await statusWith(await withEnv(env(), () => protectApi()), expired), 200, 'default tolerance 60 s');
    });

    test('invalid client options throw at start-up', async () => {
      await withEnv(env(), () => {
        assert.throws(
          () => protectApi({ responseTimeout: 10 }),
          (error) => error instanceof MonoCloudValidationError && error.message === '"responseTimeout" must be greater than or equal to 1000',
        );
      });
    });

    test('resolvers that are not functions throw at start-up', async () => {
      await withEnv(env(), () => {
        assert.throws(() => protectApi({ tokenResolver: 'cookie' }), { message: '"tokenResolver" must be of type function' });
        const client = new root.MonoCloudBackendNodeClient();
        assert.throws(() => protectApi(client, { certificateResolver: {} }), { message: '"certificateResolver" must be of type function' });
      });
    });

    test('a given client is used as it is, overrides included', async () => {
      const client = new root.MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
      const seen = [];
      client.validateAccessToken = async (token, options) => {
        seen.push(token);
        return { iss: issuer.url, sub: 'override', aud: issuer.audience, exp: 0, iat: 0, options };
      };
      assert.equal(await statusWith(protectApi(client), 'anything'), 200);
      assert.deepEqual(seen, ['anything']);
    });
  });
}

describe('Fastify inject', () => {
  test('the hook answers injected requests the same way', async () => {
    const fastify = require('fastify');
    const app = fastify();
    const protect = fastifyAdapter.protectApi({ tenantDomain: issuer.url, audience: issuer.audience });
    app.get('/x', { onRequest: protect({ scopes: ['admin'] }) }, async (request) => ({ sub: request.claims.sub }));
    try {
      const none = await app.inject({ method: 'GET', url: '/x' });
      assert.equal(none.statusCode, 401);
      assert.equal(none.headers['www-authenticate'], NO_TOKEN_CHALLENGE);
      assert.deepEqual(none.json(), { message: 'unauthorized' });
      const weak = await app.inject({ method: 'GET', url: '/x', headers: { authorization: `Bearer ${await issuer.mint()}` } });
      assert.equal(weak.statusCode, 403);
      assert.equal(weak.headers['www-authenticate'], 'Bearer error="insufficient_scope"');
      const ok = await app.inject({
        method: 'GET',
        url: '/x',
        headers: { authorization: `Bearer ${await issuer.mint({ claims: { scope: 'admin' } })}` },
      });
      assert.equal(ok.statusCode, 200);
      assert.deepEqual(ok.json(), { sub: 'test-user' });
    } finally {
      await app.close();
    }
  });
});

describe('subpath exports', () => {
  const runtime = [
    'MonoCloudAuthBaseError',
    'MonoCloudBackendNodeClient',
    'MonoCloudHttpError',
    'MonoCloudOPError',
    'MonoCloudOidcBackendClient',
    'MonoCloudRefusalError',
    // The outbound token client is a root value too, so every adapter has it.
    'MonoCloudTokenClient',
    'MonoCloudTokenError',
    'MonoCloudValidationError',
  ];
  const adapterOnly = ['claimCheck', 'claimEquals', 'claimIncludes', 'protectApi', 'requiredScopes'];

  test('express and fastify export the root values plus protectApi and the claim checks', () => {
    for (const adapter of [expressAdapter, fastifyAdapter]) {
      const names = Object.keys(adapter).filter((name) => name !== '__esModule' && name !== 'default');
      // Each serves the protected resource metadata its framework's way.
      assert.deepEqual(names.sort(), [...runtime, ...adapterOnly, 'protectedResourceMetadata'].sort());
      for (const name of runtime) assert.equal(adapter[name], root[name], `${name} is the root's`);
    }
    assert.equal(root.protectApi, undefined, 'the root has no protectApi');
  });

  test('web, hono, koa and node export the same as express, nestjs its module, guard and decorators', () => {
    const names = (adapter) => Object.keys(adapter).filter((name) => name !== '__esModule' && name !== 'default').sort();
    for (const adapter of [webAdapter, honoAdapter, koaAdapter, nodeAdapter]) {
      assert.deepEqual(names(adapter), [...runtime, ...adapterOnly, 'protectedResourceMetadata'].sort());
      for (const name of [...runtime, ...adapterOnly]) {
        if (name !== 'protectApi') assert.equal(adapter[name], expressAdapter[name], name);
      }
    }
    const nestOnly = ['Claims', 'MONOCLOUD_PROTECTOR', 'MonoCloudGuard', 'MonoCloudModule', 'Protected', 'Public', 'protectedResourceMetadata'];
    assert.deepEqual(names(nestAdapter), [...runtime, ...adapterOnly.filter((name) => name !== 'protectApi'), ...nestOnly].sort());
  });

  test('CommonJS and ESM share one class identity', () => {
    for (const subpath of ['', '/express', '/fastify', '/web', '/hono', '/koa', '/node', '/nestjs']) {
      const cjs = require(`@monocloud/backend-node-rs${subpath}`);
      for (const name of runtime) assert.equal(cjs[name], root[name], `${subpath || '.'} ${name}`);
    }
    assert.equal(require('@monocloud/backend-node-rs/express').protectApi, expressAdapter.protectApi);
    assert.equal(require('@monocloud/backend-node-rs/fastify').protectApi, fastifyAdapter.protectApi);
    for (const [subpath, adapter] of Object.entries({ web: webAdapter, hono: honoAdapter, koa: koaAdapter, node: nodeAdapter })) {
      assert.equal(require(`@monocloud/backend-node-rs/${subpath}`).protectApi, adapter.protectApi, subpath);
    }
    assert.equal(require('@monocloud/backend-node-rs/nestjs').MonoCloudGuard, nestAdapter.MonoCloudGuard);
    const error = new (require('@monocloud/backend-node-rs/fastify').MonoCloudTokenError)('x');
    assert.ok(error instanceof expressAdapter.MonoCloudTokenError);
  });

  test('the adapters load without express or fastify installed at runtime', () => {
    // They only import types from the frameworks: the compiled files must not require them.
    const fs = require('node:fs');
    for (const file of ['express/index.js', 'express/respond.js', 'fastify/index.js', 'protect/core.js', 'claim-checks.js']) {
      const source = fs.readFileSync(fromRoot('dist', file), 'utf8');
      assert.doesNotMatch(source, /require\("(express|fastify)"\)/, file);
    }
  });

  test('the new adapters require no framework at runtime, nestjs only @nestjs/common', () => {
    const fs = require('node:fs');
    const files = ['web/index.js', 'hono/index.js', 'koa/index.js', 'node/index.js', 'nestjs/index.js', 'protect/incoming.js', 'protect/web.js'];
    for (const file of files) {
      const source = fs.readFileSync(fromRoot('dist', file), 'utf8');
      const required = [...source.matchAll(/require\(["']([^"']+)["']\)/g)].map((match) => match[1]).filter((name) => !name.startsWith('.'));
      assert.deepEqual(required, file === 'nestjs/index.js' ? ['@nestjs/common'] : [], file);
    }
  });
});

describe('claim checks on their own', () => {
  const { requiredScopes, claimEquals, claimIncludes, claimCheck } = expressAdapter;
  const claims = { iss: 'i', sub: 's', aud: 'a', exp: 0, iat: 0, scope: 'a b', roles: ['x', 1, true], tier: 2, flag: false, none: null };

  async function fails(check, code) {
    await assert.rejects(check.verify(claims), (error) => error instanceof MonoCloudTokenError && error.code === code);
  }

  test('requiredScopes', async () => {
    await requiredScopes('a').verify(claims);
    await requiredScopes('a b').verify(claims);
    await requiredScopes(['b', 'a']).verify(claims);
    await requiredScopes('a', ['b']).verify(claims);
    await fails(requiredScopes('a c'), 'insufficient_scope');
    await fails(requiredScopes('A'), 'insufficient_scope');
    await assert.rejects(requiredScopes('a').verify({ ...claims, scope: undefined }), MonoCloudTokenError);
    await assert.rejects(requiredScopes('a').verify({ ...claims, scope: 42 }), MonoCloudTokenError);
    await requiredScopes('a').verify({ ...claims, scope: ['a'] });
  });

  test('claimEquals compares strictly and needs the claim', async () => {
    await claimEquals('tier', 2).verify(claims);
    await claimEquals('flag', false).verify(claims);
    await claimEquals('none', null).verify(claims);
    await fails(claimEquals('tier', '2'), 'invalid_token');
    await fails(claimEquals('missing', null), 'invalid_token');
    await fails(claimEquals('toString', null), 'invalid_token');
  });

  test('claimIncludes takes arrays and space-separated strings', async () => {
    await claimIncludes('roles', 'x', 1, true).verify(claims);
    await claimIncludes('scope', 'b').verify(claims);
    await fails(claimIncludes('roles', 'x', 'y'), 'invalid_token');
    await fails(claimIncludes('tier', 2), 'invalid_token');
    await fails(claimIncludes('missing', 'x'), 'invalid_token');
  });

  test('claimCheck accepts only true', async () => {
    await claimCheck((c) => c.sub === 's').verify(claims);
    await claimCheck(async () => true).verify(claims);
    await assert.rejects(claimCheck(() => 1, 'needs one').verify(claims), { message: 'needs one', code: 'invalid_token' });
    await assert.rejects(
      claimCheck(() => {
        throw new MonoCloudTokenError('nope', 'insufficient_scope');
      }).verify(claims),
      { code: 'insufficient_scope' },
    );
  });

  test('bad arguments throw when the check is made', () => {
    assert.throws(() => requiredScopes(), TypeError);
    assert.throws(() => requiredScopes('  '), TypeError);
    assert.throws(() => requiredScopes(['a', 5]), TypeError);
    assert.throws(() => claimEquals('', 'x'), TypeError);
    assert.throws(() => claimEquals('x'), TypeError);
    assert.throws(() => claimEquals('x', {}), TypeError);
    assert.throws(() => claimIncludes('x'), TypeError);
    assert.throws(() => claimCheck('x'), TypeError);
  });
});
