// The DPoP helpers of the ./testing subpath: bound tokens from the test issuer, keys and proofs
// a test acts as a DPoP client with, checked against the `dpop` package and through protectApi.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as DPoP from 'dpop';

import { MonoCloudBackendNodeClient } from '@monocloud/backend-node-rs';
import { protectApi } from '@monocloud/backend-node-rs/express';
import { createDpopProof, createTestIssuer, generateDpopKey, jwkThumbprint } from '@monocloud/backend-node-rs/testing';

import { frameworks, get, serve } from '../support/frameworks.mjs';

describe('DPoP test helpers', () => {
  let issuer;
  before(async () => {
    issuer = await createTestIssuer();
  });
  after(() => issuer?.close());

  it('thumbprints agree with the dpop package (RFC 7638)', async () => {
    const pair = await DPoP.generateKeyPair('ES256', { extractable: true });
    const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
    assert.equal(jwkThumbprint(jwk), await DPoP.calculateThumbprint(pair.publicKey));
    for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA']) {
      const key = generateDpopKey(alg);
      assert.equal(key.thumbprint, jwkThumbprint(key.publicJwk));
      assert.equal(key.publicJwk.d, undefined);
    }
  });

  it('mint({ dpopKey }) and createDpopProof pass protectApi; the token alone, another key or a reused proof do not', async () => {
    const app = await serve(frameworks[1], { '/orders': [protectApi({ tenantDomain: issuer.url, audience: issuer.audience })()] });
    try {
      const key = generateDpopKey();
      const token = await issuer.mint({ dpopKey: key });
      const url = `${app.url}/orders`;
      const proof = createDpopProof({ key, method: 'GET', url: `${url}?page=1`, accessToken: token });
      const ok = await get(url, { authorization: `DPoP ${token}`, dpop: proof });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.claims.cnf.jkt, key.thumbprint);
      assert.equal((await get(url, { authorization: `DPoP ${token}`, dpop: proof })).status, 401);
      assert.equal((await get(url, { authorization: `Bearer ${token}` })).status, 401);
      const other = createDpopProof({ key: generateDpopKey(), method: 'GET', url, accessToken: token });
      assert.equal((await get(url, { authorization: `DPoP ${token}`, dpop: other })).status, 401);
      const old = createDpopProof({ key, method: 'GET', url, accessToken: token, iat: Math.floor(Date.now() / 1000) - 3600 });
      assert.equal((await get(url, { authorization: `DPoP ${token}`, dpop: old })).status, 401);
      // Bound to a thumbprint given as text.
      const byThumbprint = await issuer.mint({ dpopKey: key.thumbprint });
      const again = createDpopProof({ key, method: 'GET', url, accessToken: byThumbprint, jti: 'fixed-jti' });
      assert.equal((await get(url, { authorization: `DPoP ${byThumbprint}`, dpop: again })).status, 200);
    } finally {
      await app.close();
    }
  });

  it('a token a resolver found needs its proof too; routes with claim checks check proofs', async () => {
    const { requiredScopes } = await import('@monocloud/backend-node-rs/express');
    const client = new MonoCloudBackendNodeClient(issuer.clientOptions);
    const app = await serve(frameworks[1], {
      '/resolved': [protectApi(client, { tokenResolver: (req) => req.headers['x-token'] })()],
      '/checked': [protectApi(client)({ checks: [requiredScopes('read:things')] })],
    });
    try {
      const key = generateDpopKey();
      const token = await issuer.mint({ dpopKey: key });
      const proof = (path) => createDpopProof({ key, method: 'GET', url: `${app.url}${path}`, accessToken: token });
      assert.equal((await get(`${app.url}/resolved`, { 'x-token': token })).status, 401);
      assert.equal((await get(`${app.url}/resolved`, { 'x-token': token, dpop: proof('/resolved') })).status, 200);
      assert.equal((await get(`${app.url}/checked`, { authorization: `Bearer ${token}` })).status, 401);
      const checked = await get(`${app.url}/checked`, { authorization: `DPoP ${token}`, dpop: proof('/checked') });
      assert.equal(checked.status, 200, JSON.stringify(checked.body));
    } finally {
      await app.close();
    }
  });

  it('mintOpaque({ dpopKey }) answers introspection with cnf.jkt and token_type DPoP', async () => {
    const client = new MonoCloudBackendNodeClient(issuer.clientOptions);
    const key = generateDpopKey('EdDSA');
    const token = issuer.mintOpaque({}, { dpopKey: key });
    const url = 'https://api.example.com/orders';
    const claims = await client.validateRequest({
      method: 'POST',
      url,
      headers: { authorization: `DPoP ${token}`, dpop: createDpopProof({ key, method: 'POST', url, accessToken: token }) },
    });
    assert.deepEqual([claims.cnf.jkt, claims.token_type], [key.thumbprint, 'DPoP']);
  });
});
