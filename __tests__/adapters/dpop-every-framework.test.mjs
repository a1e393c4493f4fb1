// DPoP through every adapter: each builds the request's URL its own way, and the shared protect
// core carries the proof, the method and that URL to Rust. The same answers everywhere.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createDpopProof, createTestIssuer, generateDpopKey } from '@monocloud/backend-node-rs/testing';

import { adapters } from '../support/every-framework.mjs';
import { get } from '../support/frameworks.mjs';

const ALGS = 'algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA"';
let issuer;
let key;
let token;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  key = generateDpopKey();
  token = await issuer.mint({ dpopKey: key });
});

after(() => issuer?.close());

for (const adapter of adapters) {
  describe(`${adapter.name}: DPoP`, () => {
    let app;
    before(async () => {
      app = await adapter.serve({ tenantDomain: issuer.url, audience: issuer.audience }, { '/plain': undefined });
    });
    after(async () => {
      await app?.close();
    });

    test('a bound token with its proof passes; as Bearer, or with its proof again, it does not', async () => {
      const url = `${app.url}/plain`;
      const proof = createDpopProof({ key, method: 'GET', url: `${url}?q=1`, accessToken: token });
      const ok = await get(`${url}?q=1`, { authorization: `DPoP ${token}`, dpop: proof });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(JSON.parse(ok.text).claims.cnf.jkt, key.thumbprint);

      const replayed = await get(`${url}?q=1`, { authorization: `DPoP ${token}`, dpop: proof });
      assert.equal(replayed.status, 401, replayed.text);
      assert.equal(replayed.headers['www-authenticate'], `DPoP error="invalid_dpop_proof", ${ALGS}`);
      assert.equal(replayed.text, '{"message":"unauthorized"}');

      const bearer = await get(url, { authorization: `Bearer ${token}` });
      assert.equal(bearer.status, 401, bearer.text);
      assert.equal(bearer.headers['www-authenticate'], `Bearer error="invalid_token", DPoP ${ALGS}`);

      const elsewhere = createDpopProof({ key, method: 'GET', url: 'https://other.example.com/plain', accessToken: token });
      const misdirected = await get(url, { authorization: `DPoP ${token}`, dpop: elsewhere });
      assert.equal(misdirected.status, 401, misdirected.text);

      const malformed = await get(url, { authorization: `DPoP ${token}` });
      assert.equal(malformed.status, 400, malformed.text);
      assert.equal(malformed.text, '{"message":"bad request"}');
    });
  });
}
