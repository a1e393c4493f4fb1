// Every WWW-Authenticate challenge, byte for byte: the original's short forms by default, and
// the complete RFC 6750 forms with the `challenge` option (realm, a fixed error_description,
// the route's scope on insufficient_scope), through every adapter and with DPoP.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import { createDpopProof, createTestIssuer, generateDpopKey } from '@monocloud/backend-node-rs/testing';

import { now } from '../support/clock.mjs';
import { DPOP_ALGS } from '../support/challenges.mjs';
import { adapters } from '../support/every-framework.mjs';
import { get } from '../support/frameworks.mjs';

const ROUTES = {
  '/plain': undefined,
  '/scoped': { scopes: ['read:things', 'write:things'] },
  '/grouped': { groups: ['admins'] },
  '/mfa': { acrValues: ['phr'], maxAge: 120 },
};

const DESCRIBED = {
  invalid_token: 'error_description="The access token is missing, invalid, expired or revoked"',
  insufficient_scope: 'error_description="The access token does not grant what this resource requires"',
  insufficient_user_authentication: 'error_description="A different or more recent user authentication is required"',
  invalid_request: 'error_description="The request is malformed"',
  invalid_dpop_proof: 'error_description="The DPoP proof is invalid"',
};

// What each case answers, per configuration.
const EXPECTED = {
  short: {
    none: `Bearer, DPoP ${DPOP_ALGS}`,
    invalid: 'Bearer error="invalid_token"',
    scope: 'Bearer error="insufficient_scope"',
    groups: 'Bearer error="insufficient_scope"',
    stepUp: 'Bearer error="insufficient_user_authentication", acr_values="phr", max_age="120"',
    dpopScope: `DPoP error="insufficient_scope", ${DPOP_ALGS}`,
    dpopReplay: `DPoP error="invalid_dpop_proof", ${DPOP_ALGS}`,
    malformed: 'Bearer error="invalid_request"',
  },
  full: {
    none: `Bearer realm="orders", DPoP realm="orders", ${DPOP_ALGS}`,
    invalid: `Bearer realm="orders", error="invalid_token", ${DESCRIBED.invalid_token}`,
    scope: `Bearer realm="orders", error="insufficient_scope", ${DESCRIBED.insufficient_scope}, scope="read:things write:things"`,
    groups: `Bearer realm="orders", error="insufficient_scope", ${DESCRIBED.insufficient_scope}`,
    stepUp: `Bearer realm="orders", error="insufficient_user_authentication", ${DESCRIBED.insufficient_user_authentication}, acr_values="phr", max_age="120"`,
    dpopScope: `DPoP realm="orders", error="insufficient_scope", ${DESCRIBED.insufficient_scope}, scope="read:things write:things", ${DPOP_ALGS}`,
    dpopReplay: `DPoP realm="orders", error="invalid_dpop_proof", ${DESCRIBED.invalid_dpop_proof}, ${DPOP_ALGS}`,
    malformed: `Bearer realm="orders", error="invalid_request", ${DESCRIBED.invalid_request}`,
  },
  bare: {
    none: `Bearer, DPoP ${DPOP_ALGS}`,
    invalid: 'Bearer error="invalid_token"',
    scope: 'Bearer error="insufficient_scope", scope="read:things write:things"',
    groups: 'Bearer error="insufficient_scope"',
    stepUp: 'Bearer error="insufficient_user_authentication", acr_values="phr", max_age="120"',
    dpopScope: `DPoP error="insufficient_scope", scope="read:things write:things", ${DPOP_ALGS}`,
    dpopReplay: `DPoP error="invalid_dpop_proof", ${DPOP_ALGS}`,
    malformed: 'Bearer error="invalid_request"',
  },
};

const CONFIGS = {
  short: {},
  full: { challenge: { realm: 'orders' } },
  bare: { challenge: { describe: false } },
};

let issuer;
let key;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  key = generateDpopKey();
});

after(() => issuer?.close());

for (const adapter of adapters) {
  for (const [name, extra] of Object.entries(CONFIGS)) {
    describe(`${adapter.name}: ${name} challenges`, () => {
      let app;
      before(async () => {
        app = await adapter.serve({ tenantDomain: issuer.url, audience: issuer.audience, ...extra }, ROUTES);
      });
      after(async () => {
        await app?.close();
      });

      test('every refusal', async () => {
        const expected = EXPECTED[name];
        const challenge = async (path, headers, status) => {
          const answer = await get(`${app.url}${path}`, headers);
          assert.equal(answer.status, status, `${path}: ${answer.text}`);
          return answer.headers['www-authenticate'];
        };
        const token = await issuer.mint({ claims: { scope: 'read:things', acr: 'pwd', auth_time: now() } });
        assert.equal(await challenge('/plain', {}, 401), expected.none);
        assert.equal(await challenge('/plain', { authorization: 'Bearer not.a.token' }, 401), expected.invalid);
        assert.equal(await challenge('/scoped', { authorization: `Bearer ${token}` }, 403), expected.scope);
        assert.equal(await challenge('/grouped', { authorization: `Bearer ${token}` }, 403), expected.groups);
        assert.equal(await challenge('/mfa', { authorization: `Bearer ${token}` }, 401), expected.stepUp);
        assert.equal(await challenge('/plain', { authorization: `Bearer ${token}`, dpop: 'x' }, 400), expected.malformed);

        const bound = await issuer.mint({ dpopKey: key, claims: { scope: 'read:things' } });
        const url = `${app.url}/scoped`;
        const proof = createDpopProof({ key, method: 'GET', url, accessToken: bound });
        assert.equal(await challenge('/scoped', { authorization: `DPoP ${bound}`, dpop: proof }, 403), expected.dpopScope);
        const plainUrl = `${app.url}/plain`;
        const once = createDpopProof({ key, method: 'GET', url: plainUrl, accessToken: bound });
        assert.equal((await get(plainUrl, { authorization: `DPoP ${bound}`, dpop: once })).status, 200);
        assert.equal(await challenge('/plain', { authorization: `DPoP ${bound}`, dpop: once }, 401), expected.dpopReplay);
      });
    });
  }
}

describe('the challenge option', () => {
  test('dpop disabled keeps the plain Bearer, or names the realm', async () => {
    const { protectApi } = await import('@monocloud/backend-node-rs/web');
    const short = protectApi({ ...issuer.clientOptions, dpop: { mode: 'disabled' } });
    assert.equal((await short.protect(new Request('http://127.0.0.1/x'))).headers.get('www-authenticate'), 'Bearer');
    const full = protectApi({ ...issuer.clientOptions, dpop: { mode: 'disabled' }, challenge: { realm: 'orders' } });
    assert.equal((await full.protect(new Request('http://127.0.0.1/x'))).headers.get('www-authenticate'), 'Bearer realm="orders"');
  });

  test('is checked at construction', () => {
    for (const challenge of ['orders', 1, { realm: 'a"b' }, { realm: 'a\\b' }, { realm: 'a\nb' }, { realm: '' }, { realm: 7 }, { describe: 'maybe' }]) {
      assert.throws(() => new MonoCloudBackendNodeClient({ ...issuer.clientOptions, challenge }), MonoCloudValidationError, JSON.stringify(challenge));
    }
  });
});
