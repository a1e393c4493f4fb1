// Tokens from a real, certified OpenID Provider (oidc-provider on 127.0.0.1) validate through
// the client configured by options and by environment variables alone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudTokenError } from '@monocloud/backend-node-rs';

import { withEnv } from '../support/env.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';

const AUDIENCE = 'https://api.example.com';
let provider;

before(async () => {
  provider = await startOidcProvider({ audience: AUDIENCE, algs: ['RS256', 'ES256', 'PS256', 'EdDSA'] });
});

after(async () => {
  await provider?.close();
});

describe('oidc-provider JWT access tokens', () => {
  for (const alg of ['RS256', 'ES256', 'PS256', 'EdDSA']) {
    test(`${alg} token validates with options`, async () => {
      const client = new MonoCloudBackendNodeClient({ tenantDomain: provider.issuer, audience: AUDIENCE });
      const token = await provider.token({ alg, scope: 'read:things' });
      const claims = await client.validateAccessToken(token, { scopes: ['read:things'] });
      assert.equal(claims.iss, provider.issuer);
      assert.equal(claims.aud, AUDIENCE);
      assert.equal(claims.client_id, provider.clientId);
      assert.equal(claims.scope, 'read:things');
      assert.equal(typeof claims.exp, 'number');
    });
  }

  test('env-only construction', async () => {
    await withEnv({ MONOCLOUD_BACKEND_TENANT_DOMAIN: provider.issuer, MONOCLOUD_BACKEND_AUDIENCE: AUDIENCE }, async () => {
      const client = new MonoCloudBackendNodeClient();
      const claims = await client.validateAccessToken(await provider.token({ alg: 'ES256' }));
      assert.equal(claims.iss, provider.issuer);
    });
  });

  test('a scope the token lacks is insufficient_scope', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: provider.issuer, audience: AUDIENCE });
    const token = await provider.token({ scope: 'read:things' });
    await assert.rejects(client.validateAccessToken(token, { scopes: ['write:things'] }), (e) => e instanceof MonoCloudTokenError && e.code === 'insufficient_scope');
  });

  test('a token for another resource is refused', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: provider.issuer, audience: AUDIENCE });
    const token = await provider.token({ resource: 'https://other-api.example.com' });
    await assert.rejects(client.validateAccessToken(token), (e) => e instanceof MonoCloudTokenError && e.message === 'Invalid audience claim');
  });

  test('a client for another tenant refuses the token', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: 'http://127.0.0.1:1', audience: AUDIENCE });
    const token = await provider.token();
    // The JWKS of the other "tenant" cannot even be fetched: no token is accepted without keys.
    await assert.rejects(client.validateAccessToken(token));
  });
});
