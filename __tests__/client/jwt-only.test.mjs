// DECISIONS 29: on a JWT-only API (no clientId, so no introspection) a token that is not a JWT
// is a bad token through protectApi (401 invalid_token), not a 500 any caller could trigger;
// validateAccessToken keeps the original's MonoCloudValidationError; the onEvent hook hears a
// configuration hint instead of a rejection.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import { protectApi as webProtectApi } from '@monocloud/backend-node-rs/web';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { frameworks, get, serve } from '../support/frameworks.mjs';

const NOT_JWTS = ['garbage', 'a.b', 'a.b.c.d.e', 'x'.repeat(200)];
const HINT = 'introspection_not_configured';

let issuer;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
});

after(async () => {
  await issuer?.close();
});

const jwtOnly = (extra = {}) => ({ tenantDomain: issuer.url, audience: issuer.audience, ...extra });

/** Events cross from Rust without waiting: give them a moment to arrive. */
async function arrived(events, count) {
  for (let i = 0; i < 100 && events.length < count; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 20));
}

async function assertHint(events, tokens) {
  await arrived(events, tokens.length);
  const hints = events.filter((event) => event.type === 'configuration_hint');
  assert.equal(hints.length, tokens.length, JSON.stringify(events));
  for (const hint of hints) {
    assert.equal(hint.code, HINT);
    assert.match(hint.message, /clientId/);
    for (const token of tokens) assert.ok(!JSON.stringify(hint).includes(token));
  }
  assert.equal(events.filter((event) => event.type === 'token_rejected').length, 0, 'a hint, not a rejection');
}

describe('validateAccessToken on a JWT-only client', () => {
  test('rejects a non-JWT token with the original MonoCloudValidationError, and the hook hears a configuration hint', async () => {
    const events = [];
    const client = new MonoCloudBackendNodeClient(jwtOnly({ onEvent: (event) => events.push(event) }));
    for (const token of NOT_JWTS) {
      await assert.rejects(client.validateAccessToken(token), (error) => {
        assert.ok(error instanceof MonoCloudValidationError, `${error}`);
        assert.equal(error.message, 'Token introspection is not configured');
        return true;
      });
    }
    await assertHint(events, NOT_JWTS);
  });

  test('through a subclass that replaces introspectAccessToken, the same error and hint', async () => {
    const events = [];
    class Replaced extends MonoCloudBackendNodeClient {
      async introspectAccessToken() {
        throw new Error('not called without a client id');
      }
    }
    const client = new Replaced(jwtOnly({ onEvent: (event) => events.push(event) }));
    await assert.rejects(client.validateAccessToken('garbage'), MonoCloudValidationError);
    await assertHint(events, ['garbage']);
  });

  test('introspectJwtTokens without a clientId refuses JWTs as a configuration error, without a hint', async () => {
    const events = [];
    const client = new MonoCloudBackendNodeClient(jwtOnly({ introspectJwtTokens: true, onEvent: (event) => events.push(event) }));
    await assert.rejects(client.validateAccessToken(await issuer.mint()), (error) => {
      assert.ok(error instanceof MonoCloudValidationError);
      assert.equal(error.message, 'Token introspection is not configured');
      return true;
    });
    await arrived(events, 1);
    assert.deepEqual(events.map((event) => [event.type, event.error]), [['token_rejected', 'MonoCloudValidationError']]);
  });

  test('a JWT is still validated', async () => {
    const client = new MonoCloudBackendNodeClient(jwtOnly());
    assert.equal((await client.validateAccessToken(await issuer.mint())).iss, issuer.url);
  });
});

for (const framework of frameworks.filter((f) => f.name === 'Express 4' || f.name === 'Fastify 5')) {
  describe(`${framework.name}: protectApi on a JWT-only API`, () => {
    const { protectApi } = framework.adapter;
    const events = [];
    let app;

    before(async () => {
      app = await serve(framework, {
        '/api': [protectApi(jwtOnly({ onEvent: (event) => events.push(event) }))()],
        // The full path (resolvers, checks) goes through validateAccessToken.
        '/resolved': [protectApi(jwtOnly({ tokenResolver: (req) => req.headers['x-token'] }))()],
        '/introspect-jwts': [protectApi(jwtOnly({ introspectJwtTokens: true, warnings: false }))()],
      });
    });

    after(async () => {
      await app?.close();
    });

    test('Bearer garbage and other non-JWT tokens: 401 invalid_token, and the hook hears a hint', async () => {
      for (const token of NOT_JWTS) {
        const res = await get(`${app.url}/api`, { authorization: `Bearer ${token}` });
        assert.equal(res.status, 401);
        assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
        assert.deepEqual(res.body, { message: 'unauthorized' });
      }
      await assertHint(events, NOT_JWTS);
    });

    test('through a token resolver too: 401 invalid_token', async () => {
      const res = await get(`${app.url}/resolved`, { 'x-token': 'garbage' });
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
    });

    test('a JWT on a client with introspectJwtTokens but no clientId: 500, every JWT fails (the configuration is wrong)', async () => {
      const res = await get(`${app.url}/introspect-jwts`, { authorization: `Bearer ${await issuer.mint()}` });
      assert.equal(res.status, 500);
    });

    test('a valid JWT passes', async () => {
      const res = await get(`${app.url}/api`, { authorization: `Bearer ${await issuer.mint()}` });
      assert.equal(res.status, 200);
    });
  });
}

test('the web adapter answers 401 invalid_token as well', async () => {
  const { protect } = webProtectApi(jwtOnly());
  const response = await protect(new Request('http://api.example.com/x', { headers: { authorization: 'Bearer garbage' } }));
  assert.ok(response instanceof Response, 'refused');
  assert.equal(response.status, 401);
  assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
});
