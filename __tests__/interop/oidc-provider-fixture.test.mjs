// The oidc-provider fixture (support/oidc-provider.mjs) checked with jose, an independent
// verifier, so that an interop test failing against it points at the guard and not at the fixture.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { jwtVerify } from 'jose';

import { basicAuthorization, remoteJwks } from '../support/oauth-http.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';

const AUDIENCE = 'https://api.example.com';

describe('oidc-provider support server', () => {
  let op;
  let jwks;

  before(async () => {
    op = await startOidcProvider({ audience: AUDIENCE, algs: ['RS256', 'ES256'] });
    ({ jwks } = await remoteJwks(op.issuer));
  });
  after(() => op?.close());

  it('serves an http loopback issuer', () => {
    assert.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  for (const alg of ['RS256', 'ES256']) {
    it(`issues ${alg} JWT access tokens via client_credentials`, async () => {
      const token = await op.token({ alg });
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer: op.issuer,
        audience: AUDIENCE,
        algorithms: [alg],
        typ: 'at+jwt',
      });
      assert.equal(protectedHeader.alg, alg);
      assert.equal(protectedHeader.kid, `${alg.toLowerCase()}-1`);
      assert.equal(payload.aud, AUDIENCE);
      assert.equal(payload.scope, 'read:things');
      assert.equal(payload.client_id, op.clientId);
    });
  }

  it('grants only the scopes the resource server knows', async () => {
    const token = await op.token({ scope: 'read:things write:things admin' });
    const { payload } = await jwtVerify(token, jwks, { issuer: op.issuer, audience: AUDIENCE });
    assert.equal(payload.scope, 'read:things write:things');
  });

  it('issues tokens for another resource with that resource as aud', async () => {
    const token = await op.token({ resource: 'https://other.example.com' });
    const { payload } = await jwtVerify(token, jwks, { issuer: op.issuer });
    assert.equal(payload.aud, 'https://other.example.com');
  });

  it('introspects and revokes opaque tokens', async () => {
    const { discovery } = await remoteJwks(op.issuer);
    const token = await op.token({ format: 'opaque' });
    assert.equal(token.split('.').length, 1);
    const introspect = async () => {
      const response = await fetch(discovery.introspection_endpoint, {
        method: 'POST',
        headers: { authorization: basicAuthorization(op.clientId, op.clientSecret) },
        body: new URLSearchParams({ token }),
      });
      assert.equal(response.status, 200);
      return response.json();
    };
    const active = await introspect();
    assert.equal(active.active, true);
    assert.equal(active.aud, AUDIENCE);
    assert.equal(active.scope, 'read:things');

    const revocation = await fetch(discovery.revocation_endpoint, {
      method: 'POST',
      body: new URLSearchParams({ token, client_id: op.clientId, client_secret: op.clientSecret }),
    });
    assert.equal(revocation.status, 200);
    assert.deepEqual(await introspect(), { active: false });
  });
});
