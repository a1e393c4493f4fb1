// DPoP (RFC 9449) against real peers: oidc-provider issues DPoP-bound access tokens (JWT, and
// opaque ones whose introspection answer carries cnf.jkt) to client-credentials requests whose
// proofs the `dpop` package makes; the same package makes the resource requests' proofs, which
// real Express and Fastify apps check.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudTokenError } from '@monocloud/backend-node-rs';
import * as DPoP from 'dpop';

import { frameworks, get, serve } from '../support/frameworks.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';

const AUDIENCE = 'https://api.example.com';
const ALGS = 'algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA"';
let provider;
let holder;
let thief;

before(async () => {
  provider = await startOidcProvider({ audience: AUDIENCE, algs: ['RS256', 'ES256'] });
  holder = await DPoP.generateKeyPair('ES256');
  thief = await DPoP.generateKeyPair('ES256');
});

after(async () => {
  await provider?.close();
});

/** A DPoP-bound token from the provider's token endpoint, bound to `keyPair`. */
async function boundToken(keyPair, { format = 'jwt', alg = 'RS256' } = {}) {
  const proof = await DPoP.generateProof(keyPair, `${provider.issuer}/token`, 'POST');
  return provider.token({ alg, format, dpop: proof });
}

/** GET `url` with the DPoP scheme and a fresh proof by `keyPair` (or the given `proof`). */
async function dpopGet(url, token, { keyPair = holder, proof, nonce, headers = {} } = {}) {
  const htu = url.split('?')[0];
  const value = proof ?? (await DPoP.generateProof(keyPair, htu, 'GET', nonce, token));
  return get(url, { authorization: `DPoP ${token}`, dpop: value, ...headers });
}

function protectOptions(extra = {}) {
  return {
    tenantDomain: provider.issuer,
    audience: AUDIENCE,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
    clientAuthMethod: 'client_secret_basic',
    ...extra,
  };
}

function refused(res, status, challenge, message = 'unauthorized') {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.headers['www-authenticate'], challenge);
  assert.deepEqual(res.body, { message });
}

describe('oidc-provider issues DPoP-bound tokens', () => {
  test('JWT access tokens carry cnf.jkt and the DPoP token type', async () => {
    const token = await boundToken(holder);
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.equal(payload.cnf.jkt, await DPoP.calculateThumbprint(holder.publicKey));
  });
});

for (const framework of frameworks) {
  describe(`DPoP through ${framework.name}`, () => {
    let app;
    before(async () => {
      const { protectApi } = framework.adapter;
      app = await serve(framework, { '/api': [protectApi(protectOptions())()] });
    });
    after(async () => {
      await app?.close();
    });

    test('a bound JWT with its proof passes; stolen, it is refused as Bearer, with another key or a reused proof', async () => {
      const token = await boundToken(holder);
      const proof = await DPoP.generateProof(holder, `${app.url}/api`, 'GET', undefined, token);
      const ok = await dpopGet(`${app.url}/api`, token, { proof });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.claims.cnf.jkt, await DPoP.calculateThumbprint(holder.publicKey));

      refused(await get(`${app.url}/api`, { authorization: `Bearer ${token}` }), 401, `Bearer error="invalid_token", DPoP ${ALGS}`);
      refused(await dpopGet(`${app.url}/api`, token, { keyPair: thief }), 401, `DPoP error="invalid_token", ${ALGS}`);
      refused(await dpopGet(`${app.url}/api`, token, { proof }), 401, `DPoP error="invalid_dpop_proof", ${ALGS}`);
      // A fresh proof still works: the token was verified once and is served from the cache,
      // whose hits check the proof again.
      assert.equal((await dpopGet(`${app.url}/api?x=1`, token)).status, 200);
    });

    test('a bound opaque token is checked by introspection: cnf.jkt and token_type DPoP', async () => {
      const token = await boundToken(holder, { format: 'opaque' });
      const ok = await dpopGet(`${app.url}/api`, token);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.claims.token_type, 'DPoP');
      refused(await get(`${app.url}/api`, { authorization: `Bearer ${token}` }), 401, `Bearer error="invalid_token", DPoP ${ALGS}`);
      refused(await dpopGet(`${app.url}/api`, token, { keyPair: thief }), 401, `DPoP error="invalid_token", ${ALGS}`);
    });

    test('a negative case per proof check', async () => {
      const token = await boundToken(holder);
      const url = `${app.url}/api`;
      const invalidProof = `DPoP error="invalid_dpop_proof", ${ALGS}`;
      const cases = [
        ['htm', await DPoP.generateProof(holder, url, 'POST', undefined, token)],
        ['htu', await DPoP.generateProof(holder, `${app.url}/other`, 'GET', undefined, token)],
        ['ath', await DPoP.generateProof(holder, url, 'GET', undefined, 'another-token')],
        ['no ath', await DPoP.generateProof(holder, url, 'GET')],
        ['iat', await resign(await DPoP.generateProof(holder, url, 'GET', undefined, token), {}, { iat: Math.floor(Date.now() / 1000) - 600 })],
        ['typ', await resign(await DPoP.generateProof(holder, url, 'GET', undefined, token), { typ: 'JWT' })],
        ['jti', await resign(await DPoP.generateProof(holder, url, 'GET', undefined, token), {}, { jti: '' })],
        ['private jwk', await resign(await DPoP.generateProof(holder, url, 'GET', undefined, token), { jwk: await privateJwk(holder) })],
        ['signature', tamper(await DPoP.generateProof(holder, url, 'GET', undefined, token), {}, { jti: 'changed' })],
        ['not a JWS', 'not-a-proof'],
      ];
      for (const [check, proof] of cases) {
        const res = await dpopGet(url, token, { proof });
        assert.equal(res.status, 401, `${check}: ${JSON.stringify(res.body)}`);
        assert.equal(res.headers['www-authenticate'], invalidProof, check);
      }
    });

    test('malformed requests are 400 invalid_request', async () => {
      const token = await boundToken(holder);
      const url = `${app.url}/api`;
      const proof = await DPoP.generateProof(holder, url, 'GET', undefined, token);
      const dpopBad = `DPoP error="invalid_request", ${ALGS}`;
      refused(await get(url, { authorization: `DPoP ${token}` }), 400, dpopBad, 'bad request');
      refused(await get(url, { authorization: `DPoP ${token}`, dpop: [proof, proof] }), 400, dpopBad, 'bad request');
      refused(await get(url, { authorization: `Bearer ${token}`, dpop: proof }), 400, 'Bearer error="invalid_request"', 'bad request');
    });

    test('htu comes from trusted sources only: a forged X-Forwarded-Host from an untrusted peer is ignored', async () => {
      const token = await boundToken(holder);
      // A proof for another server, replayed here with that server's name in X-Forwarded-Host.
      const elsewhere = await DPoP.generateProof(holder, 'https://other.example.com/api', 'GET', undefined, token);
      const res = await dpopGet(`${app.url}/api`, token, {
        proof: elsewhere,
        headers: { 'x-forwarded-host': 'other.example.com', 'x-forwarded-proto': 'https' },
      });
      refused(res, 401, `DPoP error="invalid_dpop_proof", ${ALGS}`);
    });
  });
}

/** A proof with header and payload members changed, signed again with the holder's key. */
async function resign(proof, header = {}, payload = {}) {
  const [h, p] = tamper(proof, header, payload).split('.');
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, holder.privateKey, Buffer.from(`${h}.${p}`));
  return `${h}.${p}.${Buffer.from(signature).toString('base64url')}`;
}

/** The holder's key as a JWK with its private member, which a proof must never carry. */
async function privateJwk() {
  const { d } = await crypto.subtle.exportKey('jwk', holder.privateKey).catch(() => ({ d: 'AAAA' }));
  return { ...(await crypto.subtle.exportKey('jwk', holder.publicKey)), d };
}

/** A proof with header and payload members changed, its signature left as it was. */
function tamper(proof, header = {}, payload = {}) {
  const [h, p, s] = proof.split('.');
  const merge = (part, extra) =>
    Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(part, 'base64url').toString()), ...extra })).toString('base64url');
  return `${merge(h, header)}.${merge(p, payload)}.${s}`;
}

describe('DPoP behind a proxy: dpop.publicUrl', () => {
  for (const framework of frameworks.filter((f) => f.module === 'express' || f.module === 'fastify4')) {
    test(`${framework.name}: the public URL decides htu, whatever Host says`, async () => {
      const { protectApi } = framework.adapter;
      const publicUrl = 'https://api.example.com/v1';
      const app = await serve(framework, { '/api': [protectApi(protectOptions({ dpop: { publicUrl } }))()] });
      try {
        const token = await boundToken(holder);
        const ok = await dpopGet(`${app.url}/api`, token, {
          proof: await DPoP.generateProof(holder, `${publicUrl}/api`, 'GET', undefined, token),
        });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        // A proof for the host the attacker puts in Host is not for this API.
        const forged = await dpopGet(`${app.url}/api`, token, {
          proof: await DPoP.generateProof(holder, 'http://evil.example.com/api', 'GET', undefined, token),
          headers: { host: 'evil.example.com' },
        });
        refused(forged, 401, `DPoP error="invalid_dpop_proof", ${ALGS}`);
      } finally {
        await app.close();
      }
    });
  }
});

describe("DPoP behind a trusted proxy: Express's trust proxy", () => {
  for (const framework of frameworks.filter((f) => f.kind === 'express')) {
    test(`${framework.name}: X-Forwarded-Proto and X-Forwarded-Host count only from a trusted peer`, async () => {
      const { protectApi } = framework.adapter;
      const trusting = await serve(framework, { '/api': [protectApi(protectOptions())()] }, {
        before: (req, res, next) => {
          req.app.set('trust proxy', 'loopback');
          next();
        },
      });
      try {
        const token = await boundToken(holder);
        const proxied = { 'x-forwarded-host': 'api.example.com:8443, inner.example.com', 'x-forwarded-proto': 'https' };
        const publicProof = await DPoP.generateProof(holder, 'https://api.example.com:8443/api', 'GET', undefined, token);
        const ok = await dpopGet(`${trusting.url}/api`, token, { proof: publicProof, headers: proxied });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
      } finally {
        await trusting.close();
      }
    });
  }
});

describe('server nonces and shared replay stores across clients', () => {
  const { protectApi } = frameworks[1].adapter;
  const nonceSecret = 'a-secret-shared-by-the-whole-fleet-0123456789';

  test('401 use_dpop_nonce with a fresh nonce, retried at another instance sharing the secret: 200', async () => {
    const first = await serve(frameworks[1], { '/api': [protectApi(protectOptions({ dpop: { nonceSecret } }))()] });
    const second = await serve(frameworks[1], { '/api': [protectApi(protectOptions({ dpop: { nonceSecret } }))()] });
    const stranger = await serve(frameworks[1], {
      '/api': [protectApi(protectOptions({ dpop: { nonceSecret: 'another-secret-of-enough-length-0123456789' } }))()],
    });
    try {
      const token = await boundToken(holder);
      const challenge = await dpopGet(`${first.url}/api`, token);
      refused(challenge, 401, `DPoP error="use_dpop_nonce", ${ALGS}`);
      const nonce = challenge.headers['dpop-nonce'];
      assert.match(nonce, /^[A-Za-z0-9_-]{20,}$/);
      assert.equal(challenge.headers['cache-control'], 'no-store');
      const retried = await dpopGet(`${second.url}/api`, token, { nonce });
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      const foreign = await dpopGet(`${stranger.url}/api`, token, { nonce });
      assert.equal(foreign.status, 401);
      assert.ok(foreign.headers['dpop-nonce']);
    } finally {
      await Promise.all([first.close(), second.close(), stranger.close()]);
    }
  });

  test('a shared replay store refuses a proof at the second client; a failing store is 503', async () => {
    const reserved = new Map();
    const calls = [];
    const replayStore = {
      reserve(key, expiresAt) {
        calls.push({ key, expiresAt });
        if (reserved.has(key)) return false;
        reserved.set(key, expiresAt);
        return Promise.resolve(true);
      },
    };
    const publicUrl = 'https://api.example.com';
    const dpop = { replayStore, publicUrl };
    const first = await serve(frameworks[1], { '/api': [protectApi(protectOptions({ dpop }))()] });
    const second = await serve(frameworks[1], { '/api': [protectApi(protectOptions({ dpop }))()] });
    try {
      const token = await boundToken(holder);
      const proof = await DPoP.generateProof(holder, `${publicUrl}/api`, 'GET', undefined, token);
      assert.equal((await dpopGet(`${first.url}/api`, token, { proof })).status, 200);
      refused(await dpopGet(`${second.url}/api`, token, { proof }), 401, `DPoP error="invalid_dpop_proof", ${ALGS}`);
      assert.equal(calls.length, 2);
      assert.match(calls[0].key, /^[0-9a-f]{64}$/);
      const payload = JSON.parse(Buffer.from(proof.split('.')[1], 'base64url').toString());
      assert.equal(calls[0].expiresAt, (payload.iat + 330) * 1000);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }

    const failing = await serve(frameworks[1], {
      '/api': [protectApi(protectOptions({ dpop: { publicUrl, replayStore: { reserve: () => Promise.reject(new Error('down')) } } }))()],
    });
    try {
      const token = await boundToken(holder);
      const proof = await DPoP.generateProof(holder, `${publicUrl}/api`, 'GET', undefined, token);
      const res = await dpopGet(`${failing.url}/api`, token, { proof });
      assert.equal(res.status, 503, JSON.stringify(res.body));
    } finally {
      await failing.close();
    }
  });
});

describe('dpop.mode', () => {
  const { protectApi } = frameworks[1].adapter;

  test("disabled: the original's answers (a bound token passes as Bearer; the DPoP scheme is no token)", async () => {
    const app = await serve(frameworks[1], { '/api': [protectApi(protectOptions({ dpop: { mode: 'disabled' } }))()] });
    try {
      const token = await boundToken(holder);
      assert.equal((await get(`${app.url}/api`, { authorization: `Bearer ${token}` })).status, 200);
      refused(await get(`${app.url}/api`, { authorization: `DPoP ${token}` }), 401, 'Bearer');
      refused(await dpopGet(`${app.url}/api`, token), 401, 'Bearer');
    } finally {
      await app.close();
    }
  });

  test('required: an unbound Bearer token is refused; algorithms narrow what proofs may use', async () => {
    const app = await serve(frameworks[1], {
      '/api': [protectApi(protectOptions({ dpop: { mode: 'required', algorithms: ['ES256'] } }))()],
    });
    try {
      const unbound = await provider.token({ alg: 'RS256' });
      refused(await get(`${app.url}/api`, { authorization: `Bearer ${unbound}` }), 401, 'DPoP algs="ES256"');
      // No token at all: only DPoP is offered.
      refused(await get(`${app.url}/api`), 401, 'DPoP algs="ES256"');
      const token = await boundToken(holder);
      assert.equal((await dpopGet(`${app.url}/api`, token)).status, 200);
    } finally {
      await app.close();
    }
    const onlyEdDsa = await serve(frameworks[1], {
      '/api': [protectApi(protectOptions({ dpop: { algorithms: ['EdDSA'] } }))()],
    });
    try {
      const token = await boundToken(holder);
      refused(await dpopGet(`${onlyEdDsa.url}/api`, token), 401, 'DPoP error="invalid_dpop_proof", algs="EdDSA"');
    } finally {
      await onlyEdDsa.close();
    }
  });
});

describe('validateRequest: the framework-free form', () => {
  test('headers as a Headers or a plain object; refusals carry their answer', async () => {
    const client = new MonoCloudBackendNodeClient(protectOptions());
    const token = await boundToken(holder);
    const url = 'https://api.example.com/orders?id=1';
    const proof = await DPoP.generateProof(holder, 'https://api.example.com/orders', 'GET', undefined, token);
    const claims = await client.validateRequest({
      method: 'GET',
      url,
      headers: new Headers({ Authorization: `DPoP ${token}`, DPoP: proof }),
    });
    assert.equal(claims.cnf.jkt, await DPoP.calculateThumbprint(holder.publicKey));
    await assert.rejects(
      client.validateRequest({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } }),
      (error) =>
        error instanceof MonoCloudTokenError &&
        error.code === 'invalid_token' &&
        error.status === 401 &&
        error.headers['WWW-Authenticate'] === `Bearer error="invalid_token", DPoP ${ALGS}`,
    );
    await assert.rejects(
      client.validateRequest({ method: 'GET', url, headers: { Authorization: `DPoP ${token}`, DPoP: proof } }),
      (error) => error instanceof MonoCloudTokenError && error.code === 'invalid_dpop_proof' && error.status === 401,
    );
    await assert.rejects(
      client.validateRequest({ method: 'GET', url, headers: {} }),
      (error) => error instanceof MonoCloudTokenError && error.status === 401 && error.headers['WWW-Authenticate'] === `Bearer, DPoP ${ALGS}`,
    );
    // validateAccessToken alone cannot know how the token was sent: the original's answer.
    assert.equal((await client.validateAccessToken(token)).cnf.jkt, claims.cnf.jkt);
  });
});
