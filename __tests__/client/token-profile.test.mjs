// Token confusion (RFC 8725 §3.11) and the RFC 9068 profile: a JWT whose `typ` names another
// kind of token, or an introspection answer for another kind of token, is not an access token;
// `requireTokenType` and `maxTokenAge` tighten the profile on request.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudTokenError, MonoCloudValidationError } from '@monocloud/backend-node-rs';

import { now } from '../support/clock.mjs';
import { rejectsWith } from '../support/rejects.mjs';
import { AUDIENCE, issuer, scripted, scriptedClientOptions, useClientIssuers } from '../support/client-issuers.mjs';
import { answer } from '../support/scripted-issuer.mjs';

const UNEXPECTED_TYP = 'Unexpected JWT "typ" header parameter value';

useClientIssuers();

const clientFor = (extra = {}) => new MonoCloudBackendNodeClient({ ...issuer.clientOptions, ...extra });

const invalidToken = (message) => (e) => {
  assert.equal(e.code, 'invalid_token');
  if (message) assert.equal(e.message, message);
};

describe('JWT typ', () => {
  test('absent, JWT and at+jwt pass in any case, with or without application/', async () => {
    const client = clientFor();
    for (const typ of [undefined, 'JWT', 'jwt', 'application/jwt', 'at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) {
      const token = await issuer.mint({ header: { typ } });
      const claims = await client.validateAccessToken(token);
      assert.equal(claims.sub, 'test-user', String(typ));
    }
  });

  test('another kind of token is invalid_token, even when correctly signed for this API', async () => {
    const client = clientFor();
    for (const typ of ['logout+jwt', 'secevent+jwt', 'dpop+jwt', 'id_token+jwt', 'application/logout+jwt', 'at+jwt ', '', 7, ['at+jwt']]) {
      const token = await issuer.mint({ header: { typ } });
      await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, invalidToken(UNEXPECTED_TYP));
    }
  });

  test("requireTokenType: 'at+jwt' refuses generic JWTs (RFC 9068)", async () => {
    const client = clientFor({ requireTokenType: 'at+jwt' });
    assert.equal((await client.validateAccessToken(await issuer.mint())).sub, 'test-user');
    assert.equal((await client.validateAccessToken(await issuer.mint({ header: { typ: 'application/at+jwt' } }))).sub, 'test-user');
    for (const typ of [undefined, 'JWT']) {
      const token = await issuer.mint({ header: { typ } });
      await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, invalidToken(UNEXPECTED_TYP));
    }
    assert.throws(() => clientFor({ requireTokenType: 'JWT' }), MonoCloudValidationError);
  });

  test('maxTokenAge counts from iat, on a repeated token too', async () => {
    const client = clientFor({ maxTokenAge: 600, clockTolerance: 0 });
    const fresh = await issuer.mint({ claims: { iat: now() - 590 } });
    assert.equal((await client.validateAccessToken(fresh)).sub, 'test-user');
    const old = await issuer.mint({ claims: { iat: now() - 700 } });
    await rejectsWith(client.validateAccessToken(old), MonoCloudTokenError, invalidToken('Token is older than the maximum token age'));
    const noIat = await issuer.mint({ omit: ['iat'] });
    await rejectsWith(client.validateAccessToken(noIat), MonoCloudTokenError, invalidToken('Missing required "iat" (issued at) claim'));
    // The verified-token cache does not outlive the age: the fresh token, 20 s on.
    const realNow = Date.now;
    Date.now = () => realNow() + 20_000;
    try {
      await rejectsWith(client.validateAccessToken(fresh), MonoCloudTokenError, invalidToken('Token is older than the maximum token age'));
    } finally {
      Date.now = realNow;
    }
    assert.throws(() => clientFor({ maxTokenAge: -1 }), MonoCloudValidationError);
  });
});

describe('introspection token_type', () => {
  const client = () =>
    new MonoCloudBackendNodeClient(scriptedClientOptions({ introspectionCacheDuration: 0 }));
  const activeAs = (tokenType) =>
    scripted.on(
      'introspect',
      answer(200, JSON.stringify({ active: true, iss: scripted.url, sub: 'u', aud: AUDIENCE, exp: now() + 300, token_type: tokenType })),
    );

  test('access-token types and no type pass', async () => {
    for (const tokenType of [undefined, null, 'Bearer', 'bearer', 'DPoP', 'access_token', 'urn:ietf:params:oauth:token-type:access_token']) {
      activeAs(tokenType);
      assert.equal((await client().validateAccessToken('opaque-token')).sub, 'u', String(tokenType));
    }
  });

  test('a refresh token (or any other kind) is invalid_token', async () => {
    for (const tokenType of ['refresh_token', 'urn:ietf:params:oauth:token-type:refresh_token', 'id_token', 'N_A', 1]) {
      activeAs(tokenType);
      await rejectsWith(
        client().validateAccessToken('opaque-token'),
        MonoCloudTokenError,
        invalidToken('The introspected token is not an access token'),
      );
    }
  });
});
