// The test issuer of the ./testing subpath (createTestIssuer) checked with jose, an independent
// verifier, so that a test failing against it points at the guard and not at its fixture.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';

import { MonoCloudBackendNodeClient, MonoCloudTokenError } from '@monocloud/backend-node-rs';
import { certificateThumbprint, createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { basicAuthorization, getJson, remoteJwks } from '../support/oauth-http.mjs';

const AUDIENCE = 'https://api.example.com';
const ALL_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

describe('test issuer', () => {
  let issuer;

  before(async () => {
    issuer = await createTestIssuer({ algs: ALL_ALGS });
  });
  after(() => issuer?.close());

  it('publishes discovery metadata', async () => {
    const discovery = await getJson(`${issuer.url}/.well-known/openid-configuration`);
    assert.match(issuer.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(discovery, {
      issuer: issuer.url,
      jwks_uri: `${issuer.url}/jwks`,
      token_endpoint: `${issuer.url}/token`,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      introspection_endpoint: `${issuer.url}/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint: `${issuer.url}/revoke`,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    });
  });

  it('hands out client options and environment variables that point at it', () => {
    assert.deepEqual(issuer.clientOptions, {
      tenantDomain: issuer.url, audience: AUDIENCE, clientId: 'test-client', clientSecret: 'test-secret',
    });
    assert.deepEqual(issuer.env, {
      MONOCLOUD_BACKEND_TENANT_DOMAIN: issuer.url,
      MONOCLOUD_BACKEND_AUDIENCE: AUDIENCE,
      MONOCLOUD_BACKEND_CLIENT_ID: 'test-client',
      MONOCLOUD_BACKEND_CLIENT_SECRET: 'test-secret',
    });
    // Copies: a caller changing them cannot change the issuer.
    issuer.clientOptions.audience = 'x';
    assert.equal(issuer.clientOptions.audience, AUDIENCE);
  });

  it('publishes public keys only', async () => {
    const { keys } = await getJson(`${issuer.url}/jwks`);
    assert.deepEqual(keys, issuer.jwks.keys);
    assert.deepEqual(keys.map((k) => k.kid), ALL_ALGS.map((alg) => `${alg.toLowerCase()}-1`));
    for (const key of keys) {
      assert.equal(key.use, 'sig');
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key[secret], undefined);
    }
  });

  for (const alg of ALL_ALGS) {
    it(`mints ${alg} tokens that jose verifies`, async () => {
      const { jwks } = await remoteJwks(issuer.url);
      const token = await issuer.mint({ alg, claims: { scope: 'read:things write:things' } });
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer: issuer.url,
        audience: AUDIENCE,
        algorithms: [alg],
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      });
      assert.equal(protectedHeader.kid, `${alg.toLowerCase()}-1`);
      assert.equal(payload.sub, 'test-user');
      assert.equal(payload.client_id, 'test-client');
      assert.equal(payload.scope, 'read:things write:things');
      assert.equal(payload.exp - payload.iat, 300);
    });
  }

  it('applies mint options', async () => {
    const token = await issuer.mint({ omit: ['exp', 'jti'], claims: { sub: 'alice' }, header: { typ: 'JWT' } });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(issuer.jwks));
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(payload.sub, 'alice');
    assert.equal('exp' in payload, false);
    assert.equal('jti' in payload, false);

    const expired = await issuer.mint({ expiresIn: -60 });
    await assert.rejects(jwtVerify(expired, createLocalJWKSet(issuer.jwks)), joseErrors.JWTExpired);
  });

  it('signs raw payload text exactly as given', async () => {
    const text = '{"sub":"a","sub":"b"}';
    const token = await issuer.signRaw({ alg: 'ES256', kid: 'es256-1' }, text);
    assert.equal(Buffer.from(token.split('.')[1], 'base64url').toString(), text);
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', kid: 'es256-1' });
    await jwtVerify(token, createLocalJWKSet(issuer.jwks), { algorithms: ['ES256'] });
  });

  it('counts requests per endpoint', async () => {
    issuer.resetCounters();
    await getJson(`${issuer.url}/jwks`);
    await getJson(`${issuer.url}/.well-known/openid-configuration`);
    await getJson(`${issuer.url}/jwks`);
    assert.deepEqual(issuer.requests, { discovery: 1, jwks: 2, introspection: 0, revocation: 0, token: 0 });
    issuer.resetCounters();
    assert.deepEqual(issuer.requests, { discovery: 0, jwks: 0, introspection: 0, revocation: 0, token: 0 });
  });

  it('answers 404 elsewhere', async () => {
    assert.equal((await fetch(`${issuer.url}/nope`)).status, 404);
    assert.equal((await fetch(`${issuer.url}/jwks`, { method: 'POST' })).status, 404);
  });
});

describe('test issuer key rotation', () => {
  let issuer;

  before(async () => {
    issuer = await createTestIssuer({ algs: ['RS256', 'ES256'] });
  });
  after(() => issuer?.close());

  it('signs with a new kid and drops the old keys by default', async () => {
    const old = await issuer.mint();
    issuer.rotateKeys();
    assert.deepEqual(issuer.jwks.keys.map((k) => k.kid), ['rs256-2', 'es256-2']);
    const fresh = await issuer.mint();
    assert.equal(decodeProtectedHeader(fresh).kid, 'rs256-2');

    const { jwks } = await remoteJwks(issuer.url);
    await jwtVerify(fresh, jwks, { issuer: issuer.url, audience: AUDIENCE });
    await assert.rejects(jwtVerify(old, jwks), joseErrors.JWKSNoMatchingKey);
  });

  it('keeps publishing old keys with keep: true', async () => {
    issuer.rotateKeys({ keep: true });
    assert.deepEqual(issuer.jwks.keys.map((k) => k.kid), ['rs256-3', 'es256-3', 'rs256-2', 'es256-2']);
    assert.equal(decodeProtectedHeader(await issuer.mint({ alg: 'ES256' })).kid, 'es256-3');
  });
});

describe('test issuer introspection', () => {
  let issuer;

  before(async () => {
    issuer = await createTestIssuer({
      clients: [
        { clientId: 'test-client', clientSecret: 'test-secret' },
        { clientId: 'odd id:é', clientSecret: 'p@ss:w+rd %' },
      ],
    });
  });
  after(() => issuer?.close());

  async function introspect(token, { auth = 'basic', id = 'test-client', secret = 'test-secret' } = {}) {
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' });
    const headers = {};
    if (auth === 'basic') headers.authorization = basicAuthorization(id, secret);
    if (auth === 'post') {
      body.set('client_id', id);
      body.set('client_secret', secret);
    }
    const response = await fetch(`${issuer.url}/introspect`, { method: 'POST', headers, body });
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    return { status: response.status, body: await response.json() };
  }

  it('reports opaque tokens active with their claims, by basic and post auth', async () => {
    const token = issuer.mintOpaque({ scope: 'read:things', tenant: 't1' });
    for (const auth of ['basic', 'post']) {
      const { status, body } = await introspect(token, { auth });
      assert.equal(status, 200);
      assert.equal(body.active, true);
      assert.equal(body.iss, issuer.url);
      assert.equal(body.aud, AUDIENCE);
      assert.equal(body.sub, 'test-user');
      assert.equal(body.tenant, 't1');
    }
  });

  it('decodes form-encoded basic credentials', async () => {
    const token = issuer.mintOpaque();
    const { status, body } = await introspect(token, { id: 'odd id:é', secret: 'p@ss:w+rd %' });
    assert.equal(status, 200);
    assert.equal(body.active, true);
  });

  it('reports its own JWTs active with their claims', async () => {
    const token = await issuer.mint({ alg: 'EdDSA', claims: { scope: 'write:things' } });
    const { body } = await introspect(token, { auth: 'post' });
    assert.equal(body.active, true);
    assert.equal(body.scope, 'write:things');
    assert.equal(body.iss, issuer.url);
  });

  it('reports unknown, forged, expired and revoked tokens inactive', async () => {
    const jwt = await issuer.mint();
    const [header, payload] = jwt.split('.');
    const forged = `${header}.${payload}.${Buffer.from('nope').toString('base64url')}`;
    const expired = issuer.mintOpaque({}, { expiresIn: -1 });
    const opaque = issuer.mintOpaque();
    issuer.revoke(jwt);
    issuer.revoke(opaque);
    for (const token of ['unknown', forged, expired, jwt, opaque]) {
      assert.deepEqual(await introspect(token), { status: 200, body: { active: false } }, token);
    }
  });

  it('rejects bad client authentication with 401 invalid_client', async () => {
    const token = issuer.mintOpaque();
    const attempts = [
      { auth: 'basic', secret: 'wrong' },
      { auth: 'post', secret: 'wrong' },
      { auth: 'basic', id: 'nobody' },
      { auth: 'none' },
    ];
    for (const attempt of attempts) {
      assert.deepEqual(await introspect(token, attempt), { status: 401, body: { error: 'invalid_client' } }, attempt.auth);
    }
  });
});

describe('test issuer certificate-bound tokens', () => {
  const der = randomBytes(400);
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  const expected = createHash('sha256').update(der).digest('base64url');
  let issuer;
  let client;

  before(async () => {
    issuer = await createTestIssuer({ algs: ['ES256'] });
    client = new MonoCloudBackendNodeClient(issuer.clientOptions);
  });
  after(() => issuer?.close());

  it('computes the x5t#S256 thumbprint from PEM, base64 DER and bytes alike', () => {
    assert.equal(certificateThumbprint(pem), expected);
    assert.equal(certificateThumbprint(der.toString('base64')), expected);
    assert.equal(certificateThumbprint(der), expected);
    assert.equal(certificateThumbprint(`text before\n${pem}text after`), expected);
    assert.throws(() => certificateThumbprint(''), TypeError);
    assert.throws(() => certificateThumbprint('not base64!'), TypeError);
  });

  it('binds JWTs and opaque tokens with boundTo; an explicit cnf wins', async () => {
    const jwt = await issuer.mint({ boundTo: pem });
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
    assert.deepEqual(payload.cnf, { 'x5t#S256': expected });
    const explicit = await issuer.mint({ boundTo: pem, claims: { cnf: { jkt: 'k' } } });
    assert.deepEqual(JSON.parse(Buffer.from(explicit.split('.')[1], 'base64url').toString()).cnf, { jkt: 'k' });

    // The SDK agrees: the bound token passes with its certificate and fails without it.
    assert.equal((await client.validateAccessToken(jwt, { clientCertificate: pem })).sub, 'test-user');
    await assert.rejects(client.validateAccessToken(jwt), (e) => e instanceof MonoCloudTokenError && e.code === 'invalid_token');
    const other = randomBytes(400).toString('base64');
    await assert.rejects(client.validateAccessToken(jwt, { clientCertificate: other }), MonoCloudTokenError);

    const opaque = issuer.mintOpaque({ scope: 'read:things' }, { boundTo: der });
    const claims = await client.validateAccessToken(opaque, { clientCertificate: pem });
    assert.deepEqual(claims.cnf, { 'x5t#S256': expected });
    await assert.rejects(client.validateAccessToken(opaque, { clientCertificate: other }), MonoCloudTokenError);
  });
});

describe('test issuer revocation endpoint', () => {
  let issuer;

  before(async () => {
    issuer = await createTestIssuer({ algs: ['RS256'] });
  });
  after(() => issuer?.close());

  async function post(path, params, authorization = basicAuthorization('test-client', 'test-secret')) {
    const headers = authorization ? { authorization } : {};
    const response = await fetch(`${issuer.url}${path}`, { method: 'POST', headers, body: new URLSearchParams(params) });
    return { status: response.status, text: await response.text() };
  }

  it('revokes JWTs and opaque tokens for authenticated clients (RFC 7009)', async () => {
    issuer.resetCounters();
    for (const token of [await issuer.mint(), issuer.mintOpaque()]) {
      assert.equal(JSON.parse((await post('/introspect', { token })).text).active, true);
      assert.deepEqual(await post('/revoke', { token, token_type_hint: 'access_token' }), { status: 200, text: '' });
      assert.deepEqual(JSON.parse((await post('/introspect', { token })).text), { active: false });
    }
    // Unknown tokens are "revoked" too, without telling the caller anything.
    assert.deepEqual(await post('/revoke', { token: 'never-issued' }), { status: 200, text: '' });
    assert.equal(issuer.requests.revocation, 3);
  });

  it('refuses unauthenticated clients and requests without a token', async () => {
    const token = issuer.mintOpaque();
    assert.equal((await post('/revoke', { token }, null)).status, 401);
    assert.equal((await post('/revoke', { token }, basicAuthorization('test-client', 'wrong'))).status, 401);
    assert.equal((await post('/revoke', {})).status, 400);
    assert.equal(JSON.parse((await post('/introspect', { token })).text).active, true);
  });
});
