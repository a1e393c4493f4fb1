// The outbound token client against a real authorization server (oidc-provider on 127.0.0.1):
// its client_credentials grant with each client authentication method both support (mutual
// TLS included), resource indicators, caching, refresh ahead of expiry, single flight, an
// overloaded token endpoint, invalid_client, a shared cache, and fetch()'s one retry on a 401.
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import {
  MonoCloudBackendNodeClient,
  MonoCloudHttpError,
  MonoCloudOPError,
  MonoCloudTokenClient,
  MonoCloudValidationError,
} from '@monocloud/backend-node-rs';

import { CLIENT_SUBJECT_DN, makeTestCertificates } from '../support/certificates.mjs';
import { privateJwk } from '../support/forge.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';
import { sendJson, startScriptedIssuer } from '../support/scripted-issuer.mjs';
import { rejectsWith } from '../support/rejects.mjs';

const AUDIENCE = 'https://api.example.com';
const OTHER_API = 'https://other.example.com';
const TOKEN_PATH = '/token';

const pkJwk = privateJwk('ES256', { kid: 'pk-es256' });
const { d: _d, ...pkPublic } = pkJwk;
const postSecret = randomBytes(24).toString('base64url');
const jwtSecret = randomBytes(32).toString('base64url');

let op; // http issuer, 300 s tokens
let shortOp; // http issuer, 4 s tokens
let tlsOp; // https issuer with mTLS
let certs;
let savedExtraCa;

/** Token requests the issuer received. */
const tokenRequests = (issuer) => issuer.requests.filter((r) => r.method === 'POST' && r.path === TOKEN_PATH).length;

function jwtPayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/** A token client for `issuer`'s built-in client_secret_basic client, plus `options`. */
function basicClient(issuer, options = {}) {
  return new MonoCloudTokenClient({
    tenantDomain: issuer.issuer,
    clientId: issuer.clientId,
    clientSecret: issuer.clientSecret,
    clientAuthMethod: 'client_secret_basic',
    ...options,
  });
}

before(async () => {
  certs = makeTestCertificates();
  savedExtraCa = process.env.NODE_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = certs.ca.certPath;
  op = await startOidcProvider({
    audience: AUDIENCE,
    algs: ['RS256', 'ES256'],
    clients: [
      { client_id: 'post-client', client_secret: postSecret, token_endpoint_auth_method: 'client_secret_post' },
      {
        client_id: 'jwt-client',
        client_secret: jwtSecret,
        token_endpoint_auth_method: 'client_secret_jwt',
        token_endpoint_auth_signing_alg: 'HS256',
      },
      {
        client_id: 'pk-client',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [pkPublic] },
      },
    ],
  });
  shortOp = await startOidcProvider({ audience: AUDIENCE, algs: ['RS256'], clientCredentialsTtl: 4 });
  const selfSigned = new X509Certificate(certs.selfSignedClient.cert);
  tlsOp = await startOidcProvider({
    audience: AUDIENCE,
    algs: ['RS256'],
    tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, trustStores: ['store-a'] },
    clients: [
      { client_id: 'tls-dn', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: CLIENT_SUBJECT_DN },
      {
        client_id: 'tls-self',
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: { keys: [{ ...selfSigned.publicKey.export({ format: 'jwk' }), x5c: [selfSigned.raw.toString('base64')] }] },
      },
    ],
  });
});

after(async () => {
  await Promise.all([op?.close(), shortOp?.close(), tlsOp?.close()]);
  certs?.remove();
  if (savedExtraCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
  else process.env.NODE_EXTRA_CA_CERTS = savedExtraCa;
});

describe('token client: client authentication methods', () => {
  const cases = [
    ['client_secret_basic', () => op, () => ({ clientId: op.clientId, clientSecret: op.clientSecret, clientAuthMethod: 'client_secret_basic' })],
    ['client_secret_post', () => op, () => ({ clientId: 'post-client', clientSecret: postSecret, clientAuthMethod: 'client_secret_post' })],
    ['client_secret_jwt', () => op, () => ({ clientId: 'jwt-client', clientSecret: jwtSecret, clientAuthMethod: 'client_secret_jwt' })],
    ['private_key_jwt', () => op, () => ({ clientId: 'pk-client', clientSecret: pkJwk, clientAuthMethod: 'private_key_jwt' })],
    ['tls_client_auth', () => tlsOp, () => ({
      clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth', tlsClientCertificate: certs.client.cert, tlsClientKey: certs.client.key,
    })],
    ['self_signed_tls_client_auth', () => tlsOp, () => ({
      clientId: 'tls-self',
      clientAuthMethod: 'self_signed_tls_client_auth',
      tlsClientCertificate: certs.selfSignedClient.cert,
      tlsClientKey: certs.selfSignedClient.key,
    })],
    // oidc-provider knows no SPIFFE method, but an X.509-SVID is presented on the mTLS alias like
    // any client certificate, with the client id: the provider checks it as tls_client_auth.
    ['spiffe_x509', () => tlsOp, () => ({
      clientId: 'tls-dn', clientAuthMethod: 'spiffe_x509', tlsClientCertificate: certs.client.cert, tlsClientKey: certs.client.key,
    })],
  ];
  for (const [name, issuerOf, optionsOf] of cases) {
    test(`${name}: a token the API's validator accepts`, async () => {
      const issuer = issuerOf();
      const tokens = new MonoCloudTokenClient({ tenantDomain: issuer.issuer, ...optionsOf() });
      const before = issuer.requests.length;
      const token = await tokens.getAccessToken({ resource: AUDIENCE, scopes: ['read:things'] });
      assert.equal(token.tokenType, 'Bearer');
      assert.equal(token.scope, 'read:things');
      assert.ok(token.expiresAt > Date.now() + 200_000 && token.expiresAt <= Date.now() + 301_000, String(token.expiresAt));
      const validator = new MonoCloudBackendNodeClient({ tenantDomain: issuer.issuer, audience: AUDIENCE });
      const claims = await validator.validateAccessToken(token.accessToken);
      assert.equal(claims.aud, AUDIENCE);
      assert.equal(claims.client_id, optionsOf().clientId);
      const posts = issuer.requests.slice(before).filter((r) => r.path === TOKEN_PATH);
      assert.equal(posts.length, 1);
      // The certificate methods use the mTLS alias and present the certificate.
      if (name.includes('tls') || name.includes('x509')) assert.equal(posts[0].certificate, true);
    });
  }

  // No authorization server here takes a JWT-SVID (oidc-provider has no SPIFFE support), so a
  // scripted token endpoint shows what is sent: the SVID as the client assertion, of its own type.
  test('spiffe_jwt: the JWT-SVID is sent as a client assertion of type jwt-spiffe', async () => {
    const svid = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzcGlmZmU6Ly9leGFtcGxlLm9yZy93b3JrbG9hZCJ9.c2lnbmF0dXJl';
    const issuer = await startScriptedIssuer({
      metadata: (url) => ({ token_endpoint: `${url}/token` }),
      routes: {
        token: { path: '/token', handler: (_req, res) => sendJson(res, 200, { access_token: 'from-svid', token_type: 'Bearer', expires_in: 300 }) },
      },
    });
    try {
      const tokens = new MonoCloudTokenClient({ tenantDomain: issuer.url, clientId: 'spiffe://example.org/workload', clientSecret: svid, clientAuthMethod: 'spiffe_jwt' });
      assert.equal((await tokens.getAccessToken({ resource: AUDIENCE })).accessToken, 'from-svid');
      const post = issuer.requests.find((r) => r.route === 'token');
      assert.equal(post.method, 'POST');
      assert.equal(post.headers.authorization, undefined);
      const form = Object.fromEntries(new URLSearchParams(post.body));
      assert.deepEqual(
        { ...form },
        {
          grant_type: 'client_credentials',
          resource: AUDIENCE,
          client_id: 'spiffe://example.org/workload',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe',
          client_assertion: svid,
        },
      );
    } finally {
      await issuer.close();
    }
  });

  test('an mTLS method uses the trust store\'s alias when trustStoreId is set', async () => {
    const tokens = new MonoCloudTokenClient({
      tenantDomain: tlsOp.issuer,
      clientId: 'tls-dn',
      clientAuthMethod: 'tls_client_auth',
      tlsClientCertificate: certs.client.cert,
      tlsClientKey: certs.client.key,
      trustStoreId: 'store-a',
    });
    await tokens.getAccessToken({ resource: AUDIENCE });
    assert.equal(tlsOp.requests.at(-1).store, 'store-a');
    assert.equal(tlsOp.requests.at(-1).path, TOKEN_PATH);
  });

  test('an mTLS method without a certificate is a configuration error', () => {
    assert.throws(
      () => new MonoCloudTokenClient({ tenantDomain: tlsOp.issuer, clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth' }),
      (error) => error instanceof MonoCloudValidationError && /tlsClientCertificate/.test(error.message),
    );
  });
});

describe('token client: caching and resource indicators', () => {
  test('a cached token is reused; each resource and scope set has its own', async () => {
    const tokens = basicClient(op);
    const start = tokenRequests(op);
    const first = await tokens.getAccessToken({ resource: AUDIENCE, scopes: 'read:things write:things' });
    const again = await tokens.getAccessToken({ resource: [AUDIENCE], scopes: ['write:things', 'read:things'] });
    assert.equal(again.accessToken, first.accessToken);
    assert.equal(tokenRequests(op) - start, 1);
    const other = await tokens.getAccessToken({ resource: OTHER_API, scopes: 'read:things' });
    assert.notEqual(other.accessToken, first.accessToken);
    assert.equal(jwtPayload(other.accessToken).aud, OTHER_API);
    assert.equal(jwtPayload(first.accessToken).aud, AUDIENCE);
    await tokens.getAccessToken({ resource: AUDIENCE, scopes: 'read:things' });
    assert.equal(tokenRequests(op) - start, 3);
  });

  test("expiry follows the caller's clock, Date.now() (fake timers move it)", async (t) => {
    const tokens = basicClient(op);
    const first = await tokens.getAccessToken({ resource: AUDIENCE });
    const start = tokenRequests(op);
    // Date is faked for the whole process (the in-process issuer too); timers and sockets are not.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    t.mock.timers.tick(200_000);
    assert.equal((await tokens.getAccessToken({ resource: AUDIENCE })).accessToken, first.accessToken);
    assert.equal(tokenRequests(op) - start, 0);
    t.mock.timers.tick(101_000);
    const second = await tokens.getAccessToken({ resource: AUDIENCE });
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal(tokenRequests(op) - start, 1);
    assert.ok(second.expiresAt > Date.now() + 290_000, 'counted from the fake clock');
    t.mock.timers.reset();
  });

  test('bad token options are a MonoCloudValidationError', async () => {
    const tokens = basicClient(op);
    await rejectsWith(tokens.getAccessToken({ scopes: 5 }), MonoCloudValidationError);
    await rejectsWith(tokens.getAccessToken({ resource: [AUDIENCE, 1] }), MonoCloudValidationError);
    await rejectsWith(tokens.getAccessToken({ audience: {} }), MonoCloudValidationError);
    await rejectsWith(tokens.getAccessToken('read'), MonoCloudValidationError);
  });

  test('100 concurrent callers make one token request', async () => {
    const tokens = basicClient(op);
    const start = tokenRequests(op);
    const answers = await Promise.all(Array.from({ length: 100 }, () => tokens.getAccessToken({ resource: AUDIENCE })));
    assert.equal(new Set(answers.map((a) => a.accessToken)).size, 1);
    assert.equal(tokenRequests(op) - start, 1);
  });

  test('a token is refreshed ahead of expiry while requests continue: none sees an expired token, none waits', async () => {
    // Each token answer takes 300 ms, so a caller that waited on a refresh would show it.
    let delayTokens = false;
    shortOp.provider.use(async (ctx, next) => {
      if (delayTokens && ctx.path === TOKEN_PATH) await new Promise((resolve) => setTimeout(resolve, 300));
      await next();
    });
    const events = [];
    const tokens = basicClient(shortOp, { onEvent: (event) => events.push(event) });
    const firstToken = await tokens.getAccessToken({ resource: AUDIENCE });
    delayTokens = true;
    const start = tokenRequests(shortOp);
    const seen = new Set();
    let slowest = 0;
    const until = Date.now() + 6_000;
    let calls = 0;
    while (Date.now() < until && calls < 1_000) {
      calls += 1;
      const began = performance.now();
      const token = await tokens.getAccessToken({ resource: AUDIENCE });
      slowest = Math.max(slowest, performance.now() - began);
      assert.ok(jwtPayload(token.accessToken).exp * 1000 > Date.now(), 'an expired token was handed out');
      assert.ok(token.expiresAt > Date.now());
      seen.add(token.accessToken);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // 4 s tokens are due at half their lifetime: about three refreshes in six seconds.
    assert.ok(seen.size >= 3, `tokens seen: ${seen.size}`);
    assert.ok(tokenRequests(shortOp) - start >= 2);
    assert.ok(slowest < 200, `a caller waited ${slowest} ms`);
    // One `token_fetched` for the first token, then a `token_refreshed` per refresh, made in the
    // background while callers went on with the old token; no event carries a token.
    assert.deepEqual(events.filter((e) => e.type === 'token_fetched').map((e) => e.source), ['issuer']);
    const refreshed = events.filter((e) => e.type === 'token_refreshed');
    assert.ok(refreshed.length >= 2, JSON.stringify(events.map((e) => e.type)));
    for (const event of refreshed) {
      assert.equal(event.source, 'issuer');
      assert.equal(event.background, true);
      assert.deepEqual(event.resources, [AUDIENCE]);
      assert.ok(event.expiresAt > firstToken.expiresAt, 'a refresh reports the new expiry');
    }
    const told = JSON.stringify(events);
    for (const token of seen) assert.ok(!told.includes(token), 'an event carries a token');
  });
});

describe('token client: failures', () => {
  test('invalid_client surfaces at once as MonoCloudOPError, without the secret', async () => {
    const events = [];
    const secret = 'not-the-secret-' + randomBytes(8).toString('hex');
    const tokens = basicClient(op, { clientSecret: secret, onEvent: (event) => events.push(event) });
    const start = tokenRequests(op);
    const began = performance.now();
    const error = await rejectsWith(tokens.getAccessToken({ resource: AUDIENCE }), MonoCloudOPError);
    assert.equal(error.error, 'invalid_client');
    assert.ok(performance.now() - began < 2_000);
    assert.equal(tokenRequests(op) - start, 1, 'an OAuth error is not retried');
    const failure = events.find((e) => e.type === 'token_error');
    assert.equal(failure.code, 'invalid_client');
    assert.equal(failure.retrying, false);
    assert.doesNotMatch(JSON.stringify(events) + error.message + String(error.errorDescription), new RegExp(secret));
  });

  test('an issuer answering 503 is retried, and the client recovers', async () => {
    // Tests in this file run one at a time: the next two token requests are this test's.
    let failures = 2;
    op.provider.use(async (ctx, next) => {
      if (ctx.path === TOKEN_PATH && failures > 0) {
        failures -= 1;
        ctx.status = 503;
        ctx.body = { error: 'temporarily_unavailable' };
        return;
      }
      await next();
    });
    const events = [];
    const tokens = basicClient(op, { onEvent: (event) => events.push(event) });
    const start = tokenRequests(op);
    const token = await tokens.getAccessToken({ resource: AUDIENCE });
    assert.equal(jwtPayload(token.accessToken).aud, AUDIENCE);
    assert.equal(failures, 0);
    assert.equal(tokenRequests(op) - start, 3);
    const errors = events.filter((e) => e.type === 'token_error');
    assert.deepEqual(errors.map((e) => [e.status, e.retrying, e.attempt]), [[503, true, 1], [503, true, 2]]);
    assert.deepEqual(events.filter((e) => e.type === 'token_fetched').length, 1);
  });

  test('an unreachable issuer fails after bounded retries with MonoCloudHttpError', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const dead = `http://127.0.0.1:${probe.address().port}`;
    await new Promise((resolve) => probe.close(resolve));
    const tokens = new MonoCloudTokenClient({ tenantDomain: dead, clientId: 'c', clientSecret: 's', retries: 2 });
    const began = performance.now();
    await rejectsWith(tokens.getAccessToken(), MonoCloudHttpError);
    assert.ok(performance.now() - began < 10_000);
  });
});

describe('token client: a fleet and fetch()', () => {
  test('instances sharing a cache ask the issuer once', async () => {
    const store = new Map();
    const cache = {
      async get(key) { return store.get(key)?.value; },
      async set(key, value, expiresAt) { store.set(key, { value, expiresAt }); },
      async delete(key) { store.delete(key); },
    };
    const events = [];
    const fleet = [1, 2, 3].map(() => basicClient(op, { cache, onEvent: (e) => events.push(e) }));
    const start = tokenRequests(op);
    const resource = `https://fleet-${randomBytes(4).toString('hex')}.example.com`;
    const first = await fleet[0].getAccessToken({ resource });
    const others = await Promise.all(fleet.slice(1).map((client) => client.getAccessToken({ resource })));
    assert.deepEqual(others.map((t) => t.accessToken), [first.accessToken, first.accessToken]);
    assert.equal(tokenRequests(op) - start, 1);
    assert.equal(store.size, 1);
    const [[key, entry]] = store.entries();
    assert.doesNotMatch(key, /fleet|client/);
    assert.ok(Math.abs(entry.expiresAt - first.expiresAt / 1000) < 2);
    // Events reach onEvent through the event loop, after the calls they describe: wait for them (bounded).
    const fetched = () => events.filter((e) => e.type === 'token_fetched').map((e) => e.source);
    for (let i = 0; i < 100 && fetched().length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(fetched(), ['issuer', 'shared_cache', 'shared_cache']);
  });

  test('a shared cache that throws is a miss: the issuer still answers', async () => {
    const events = [];
    const cache = {
      async get() { throw new Error('cache down'); },
      async set() { throw new Error('cache down'); },
      async delete() { throw new Error('cache down'); },
    };
    const tokens = basicClient(op, { cache, onEvent: (e) => events.push(e) });
    const token = await tokens.getAccessToken({ resource: AUDIENCE });
    assert.equal(jwtPayload(token.accessToken).aud, AUDIENCE);
    const cacheErrors = events.filter((e) => e.type === 'token_error' && e.during === 'shared_cache');
    assert.equal(cacheErrors.length, 2, 'the failed get and set are reported');
  });

  test('fetch takes a Request, keeping its method, headers and body', async () => {
    const tokens = basicClient(op);
    const seen = [];
    const api = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        seen.push({ method: req.method, authorization: req.headers.authorization, extra: req.headers['x-extra'], body });
        if (seen.length === 1) {
          res.writeHead(401, { 'www-authenticate': 'Bearer realm="api", error="invalid_token"' });
          res.end();
          return;
        }
        res.end('ok');
      });
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    try {
      const request = new Request(`http://127.0.0.1:${api.address().port}/x`, { method: 'PUT', body: 'payload', headers: { 'x-extra': 'kept' } });
      const response = await tokens.fetch(request, undefined, { resource: AUDIENCE });
      assert.equal(await response.text(), 'ok');
      assert.deepEqual(seen.map((s) => [s.method, s.extra, s.body]), [['PUT', 'kept', 'payload'], ['PUT', 'kept', 'payload']]);
      assert.notEqual(seen[0].authorization, seen[1].authorization);
    } finally {
      api.closeAllConnections();
      await new Promise((resolve) => api.close(resolve));
    }
  });

  test('fetch attaches the token, and after a 401 invalid_token retries once with a new one', async () => {
    const tokens = basicClient(op);
    const seen = [];
    let refuseFirst = true;
    const api = createServer((req, res) => {
      seen.push({ authorization: req.headers.authorization, method: req.method });
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        if (refuseFirst) {
          refuseFirst = false;
          res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token", error_description="revoked"' });
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ body }));
      });
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    try {
      const url = `http://127.0.0.1:${api.address().port}/things`;
      const start = tokenRequests(op);
      const response = await tokens.fetch(url, { method: 'POST', body: 'hello', headers: { 'x-extra': '1' } }, { resource: AUDIENCE });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { body: 'hello' });
      assert.equal(seen.length, 2);
      assert.match(seen[0].authorization, /^Bearer /);
      assert.notEqual(seen[1].authorization, seen[0].authorization);
      // The first token may have been cached already; the retry needed exactly one new one.
      assert.ok(tokenRequests(op) - start <= 2);

      // A 401 that does not blame the token is the caller's to handle: no retry.
      refuseFirst = true;
      api.removeAllListeners('request');
      api.on('request', (req, res) => {
        seen.push({ authorization: req.headers.authorization });
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="api"' });
        res.end();
      });
      const before = seen.length;
      const refused = await tokens.fetch(url, undefined, { resource: AUDIENCE });
      assert.equal(refused.status, 401);
      assert.equal(seen.length - before, 1);
    } finally {
      api.closeAllConnections();
      await new Promise((resolve) => api.close(resolve));
    }
  });

  test('options are read over MONOCLOUD_BACKEND_* variables', async () => {
    const saved = { ...process.env };
    try {
      process.env.MONOCLOUD_BACKEND_TENANT_DOMAIN = op.issuer;
      process.env.MONOCLOUD_BACKEND_CLIENT_ID = op.clientId;
      process.env.MONOCLOUD_BACKEND_CLIENT_SECRET = op.clientSecret;
      process.env.MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD = 'client_secret_basic';
      const token = await new MonoCloudTokenClient().getAccessToken({ resource: AUDIENCE });
      assert.equal(jwtPayload(token.accessToken).client_id, op.clientId);
      assert.throws(() => new MonoCloudTokenClient({ refreshSkew: -1 }), MonoCloudValidationError);
      assert.throws(() => new MonoCloudTokenClient({ retries: 11 }), MonoCloudValidationError);
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});
