// Step-up authentication (RFC 9470) through every adapter: the route's `acrValues` and `maxAge`
// cross with the request, and a token that falls short is answered 401
// `insufficient_user_authentication` with what the route asks for, the same bytes everywhere.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudTokenError, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { now } from '../support/clock.mjs';
import { adapters } from '../support/every-framework.mjs';
import { get } from '../support/frameworks.mjs';
import { rejectsWith } from '../support/rejects.mjs';

const ROUTES = {
  '/mfa': { acrValues: ['urn:example:mfa', 'phr'] },
  '/recent': { maxAge: 300 },
  '/both': { acrValues: ['phr'], maxAge: 60, scopes: ['read:things'] },
  '/plain': undefined,
};
const MFA_CHALLENGE = 'Bearer error="insufficient_user_authentication", acr_values="urn:example:mfa phr"';
const RECENT_CHALLENGE = 'Bearer error="insufficient_user_authentication", max_age="300"';
const BOTH_CHALLENGE = 'Bearer error="insufficient_user_authentication", acr_values="phr", max_age="60"';

let issuer;
let tokens;

before(async () => {
  issuer = await createTestIssuer();
  tokens = {
    mfaRecent: await issuer.mint({ claims: { acr: 'phr', auth_time: now() - 10 } }),
    passwordRecent: await issuer.mint({ claims: { acr: 'pwd', auth_time: now() - 10 } }),
    mfaOld: await issuer.mint({ claims: { acr: 'urn:example:mfa', auth_time: now() - 3600 } }),
    silent: await issuer.mint(),
  };
});

after(() => issuer?.close());

for (const adapter of adapters) {
  describe(`${adapter.name}: step-up`, () => {
    let app;
    before(async () => {
      app = await adapter.serve({ tenantDomain: issuer.url, audience: issuer.audience }, ROUTES);
    });
    after(async () => {
      await app?.close();
    });

    const call = (path, token) => get(`${app.url}${path}`, { authorization: `Bearer ${token}` });
    const refused = async (path, token, challenge) => {
      // Twice: the second time the token is answered from the verified-token cache.
      for (let i = 0; i < 2; i++) {
        const answer = await call(path, token);
        assert.equal(answer.status, 401, `${path}: ${answer.text}`);
        assert.equal(answer.headers['www-authenticate'], challenge);
        assert.equal(answer.text, '{"message":"unauthorized"}');
      }
    };

    test('a token that meets the route passes, before and after it is cached', async () => {
      for (let i = 0; i < 2; i++) {
        for (const path of ['/mfa', '/recent', '/both', '/plain']) {
          const answer = await call(path, tokens.mfaRecent);
          assert.equal(answer.status, 200, `${path}: ${answer.text}`);
        }
      }
      assert.equal((await call('/plain', tokens.silent)).status, 200);
    });

    test('acr and auth_time that fall short get the step-up challenge', async () => {
      await refused('/mfa', tokens.passwordRecent, MFA_CHALLENGE);
      await refused('/mfa', tokens.silent, MFA_CHALLENGE);
      assert.equal((await call('/mfa', tokens.mfaOld)).status, 200);
      await refused('/recent', tokens.mfaOld, RECENT_CHALLENGE);
      await refused('/recent', tokens.silent, RECENT_CHALLENGE);
      await refused('/both', tokens.passwordRecent, BOTH_CHALLENGE);
      await refused('/both', tokens.mfaOld, BOTH_CHALLENGE);
    });

    test('missing scopes are still 403 first', async () => {
      const token = await issuer.mint({ claims: { scope: 'other', acr: 'pwd' } });
      const answer = await call('/both', token);
      assert.equal(answer.status, 403);
      assert.equal(answer.headers['www-authenticate'], 'Bearer error="insufficient_scope"');
    });
  });
}

describe('validateAccessToken and validateRequest', () => {
  test('take acrValues and maxAge; the error code is insufficient_user_authentication', async () => {
    const client = new MonoCloudBackendNodeClient(issuer.clientOptions);
    const claims = await client.validateAccessToken(tokens.mfaRecent, { acrValues: ['phr'], maxAge: 60 });
    assert.equal(claims.acr, 'phr');
    await rejectsWith(client.validateAccessToken(tokens.passwordRecent, { acrValues: ['phr'] }), MonoCloudTokenError, (e) =>
      assert.equal(e.code, 'insufficient_user_authentication'),
    );
    await rejectsWith(client.validateAccessToken(tokens.mfaOld, { maxAge: 60 }), MonoCloudTokenError, (e) =>
      assert.equal(e.code, 'insufficient_user_authentication'),
    );
    const opaque = issuer.mintOpaque({ acr: 'phr', auth_time: now() - 5 });
    assert.equal((await client.validateAccessToken(opaque, { acrValues: ['phr'], maxAge: 60 })).acr, 'phr');
    const opaqueOld = issuer.mintOpaque({ acr: 'phr', auth_time: now() - 500 });
    await rejectsWith(client.validateAccessToken(opaqueOld, { maxAge: 60 }), MonoCloudTokenError, (e) =>
      assert.equal(e.code, 'insufficient_user_authentication'),
    );
    await rejectsWith(
      client.validateRequest(
        { method: 'GET', url: 'https://api.example.com/x', headers: { authorization: `Bearer ${tokens.passwordRecent}` } },
        { acrValues: ['phr'], maxAge: 60 },
      ),
      MonoCloudTokenError,
      (e) => {
        assert.equal(e.status, 401);
        assert.deepEqual(e.headers, { 'WWW-Authenticate': 'Bearer error="insufficient_user_authentication", acr_values="phr", max_age="60"' });
      },
    );
  });

  test('misconfigured step-up options are a MonoCloudValidationError, never a pass', async () => {
    const client = new MonoCloudBackendNodeClient(issuer.clientOptions);
    for (const options of [{ acrValues: 'phr' }, { acrValues: [1] }, { acrValues: [''] }, { maxAge: -1 }, { maxAge: Number.NaN }, { maxAge: '60' }]) {
      await rejectsWith(client.validateAccessToken(tokens.mfaRecent, options), MonoCloudValidationError);
    }
  });
});
