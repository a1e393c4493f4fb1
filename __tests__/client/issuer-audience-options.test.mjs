// The client options beyond the original's single tenant and audience: `audiences` (any one
// matches), `issuer` (the exact `iss`, e.g. with a trailing slash) and the pinned symmetric
// mode (`hmacSecret` + `hmacAlg`).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudTokenError, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import { SignJWT } from 'jose';

let issuer;

before(async () => {
  issuer = await createTestIssuer();
});

after(async () => {
  await issuer?.close();
});

const client = (options) => new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, ...options });

test('audiences: a token for any listed audience passes, others are refused', async () => {
  const c = client({ audiences: ['https://second.example'] });
  assert.equal((await c.validateAccessToken(await issuer.mint())).sub, 'test-user');
  assert.equal((await c.validateAccessToken(await issuer.mint({ claims: { aud: ['x', 'https://second.example'] } }))).sub, 'test-user');
  await assert.rejects(c.validateAccessToken(await issuer.mint({ claims: { aud: 'https://third.example' } })), MonoCloudTokenError);
  // Without the option, the original's single audience.
  await assert.rejects(client().validateAccessToken(await issuer.mint({ claims: { aud: 'https://second.example' } })), MonoCloudTokenError);
  assert.throws(() => client({ audiences: 'https://second.example' }), MonoCloudValidationError);
});

test('issuer: the exact iss expected, while discovery keeps the tenant URL', async () => {
  const withSlash = `${issuer.url}/`;
  const c = client({ issuer: withSlash });
  assert.equal((await c.validateAccessToken(await issuer.mint({ claims: { iss: withSlash } }))).iss, withSlash);
  await assert.rejects(c.validateAccessToken(await issuer.mint()), MonoCloudTokenError);
  // The original's rule: one trailing slash dropped from the tenant URL, so this one is refused.
  await assert.rejects(client().validateAccessToken(await issuer.mint({ claims: { iss: withSlash } })), MonoCloudTokenError);
});

test('hmacSecret + hmacAlg: HS256 tokens with the secret pass, with no request to the issuer', async () => {
  const secret = 'a-shared-secret-with-enough-bytes-0123456789';
  const now = Math.floor(Date.now() / 1000);
  const sign = (alg, key = secret) =>
    new SignJWT({ iss: issuer.url, aud: issuer.audience, sub: 'svc', exp: now + 60 })
      .setProtectedHeader({ alg })
      .sign(new TextEncoder().encode(key));
  issuer.resetCounters();
  const c = client({ hmacSecret: secret, hmacAlg: 'HS256' });
  assert.equal((await c.validateAccessToken(await sign('HS256'))).sub, 'svc');
  await assert.rejects(c.validateAccessToken(await sign('HS256', 'another-secret-with-enough-bytes-0000')), MonoCloudTokenError);
  await assert.rejects(c.validateAccessToken(await sign('HS512')), MonoCloudTokenError);
  await assert.rejects(c.validateAccessToken(await issuer.mint()), MonoCloudTokenError);
  assert.equal(issuer.requests.discovery + issuer.requests.jwks, 0);
  // HMAC is never accepted outside the pinned mode.
  await assert.rejects(client().validateAccessToken(await sign('HS256')), MonoCloudTokenError);
  assert.throws(() => client({ hmacSecret: secret }), /hmacAlg/);
  assert.throws(() => client({ hmacSecret: secret, hmacAlg: 'RS256' }), /HS256, HS384, HS512/);
});
