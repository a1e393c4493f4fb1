// Token introspection (RFC 7662) against a real, certified authorization server (oidc-provider
// on 127.0.0.1): every client authentication method both it and the addon support, including
// real mutual TLS (RFC 8705) with certificates made here, and certificate-bound access tokens.
import assert from 'node:assert/strict';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  MonoCloudBackendNodeClient,
  MonoCloudHttpError,
  MonoCloudOPError,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from '@monocloud/backend-node-rs';

import { CLIENT_SAN_DNS, CLIENT_SUBJECT_DN, makeTestCertificates } from '../support/certificates.mjs';
import { withEnv } from '../support/env.mjs';
import { privateJwk } from '../support/forge.mjs';
import { formEncode } from '../support/oauth-http.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';
import { rejectsWith } from '../support/rejects.mjs';

const AUDIENCE = 'https://api.example.com';
const BOTH_SCOPES = 'read:things write:things';
const INTROSPECTION = '/token/introspection';

// Every asymmetric alg the addon signs client assertions with. oidc-provider's default list
// lacks the 384/512 variants, so the provider is configured with all of them.
const PRIVATE_KEY_JWT_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const CLIENT_AUTH_ALGS = ['HS256', 'HS384', 'HS512', ...PRIVATE_KEY_JWT_ALGS];

// Ids and secrets with characters RFC 6749 §2.3.1 form-encoding changes. oidc-provider only
// registers VSCHAR (printable ASCII) ids and secrets, so the non-ASCII case is separate.
const ODD_CLIENT_ID = 'client:with space';
const ODD_SECRET = '+%&: sec/ret=?~#';
const NON_ASCII_SECRET = 'é+%&:';

/** The public half of a private JWK, as a client registers it. */
function publicJwk({ d, p, q, dp, dq, qi, ...rest }) {
  return rest;
}

/** RFC 8705 §3.1: base64url SHA-256 of the certificate's DER. */
function thumbprint(pem) {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');
}

function jwtPayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

function introspections(op) {
  return op.requests.filter((r) => r.method === 'POST' && r.path === INTROSPECTION);
}

// ---------------------------------------------------------------------------------------------
// Shared fixtures: an http issuer for the secret- and JWT-based methods, an https one for mTLS.

const pkJwtKeys = Object.fromEntries(PRIVATE_KEY_JWT_ALGS.map((alg) => [alg, privateJwk(alg, { kid: `pk-${alg.toLowerCase()}` })]));
const clientSecretJwtSecret = randomBytes(32).toString('base64url');
// HS384/HS512 clients for symmetric JWKs (DECISION 31): oidc-provider uses the secret's bytes
// as the HMAC key, so the JWK's `k` is those bytes, base64url.
const HMAC_ALGS = ['HS384', 'HS512'];
const hmacSecrets = Object.fromEntries(HMAC_ALGS.map((alg) => [alg, randomBytes(64).toString('base64url')]));
/** The symmetric JWK of a client_secret_jwt client's secret. oidc-provider's keys for it have
 * no `kid`, and it matches a header `kid` against them, so these JWKs carry none (the unit and
 * client tests show the `kid` in the header). */
const octJwk = (secret, alg) => ({ kty: 'oct', k: Buffer.from(secret).toString('base64url'), alg });
const postSecret = randomBytes(24).toString('base64url');

let op; // http://127.0.0.1 issuer
let tlsOp; // https://127.0.0.1 issuer with mTLS
let certs;
let savedExtraCa;
// What the last introspection request to `op` carried in its Authorization header.
let lastIntrospectionAuthorization;

before(async () => {
  certs = makeTestCertificates();
  // The addon reads NODE_EXTRA_CA_CERTS when a client is constructed; Node itself only reads
  // it at startup, so setting it here changes nothing else in this process.
  savedExtraCa = process.env.NODE_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = certs.ca.certPath;

  op = await startOidcProvider({
    audience: AUDIENCE,
    // RS256 too: oidc-provider validates every client's id_token_signed_response_alg (default
    // RS256) against its keys, even for clients that never get an ID token.
    algs: ['RS256', 'ES256'],
    clientAuthSigningAlgValues: CLIENT_AUTH_ALGS,
    clients: [
      { client_id: 'post-client', client_secret: postSecret, token_endpoint_auth_method: 'client_secret_post' },
      {
        client_id: 'jwt-client',
        client_secret: clientSecretJwtSecret,
        token_endpoint_auth_method: 'client_secret_jwt',
        token_endpoint_auth_signing_alg: 'HS256',
      },
      ...HMAC_ALGS.map((alg) => ({
        client_id: `jwt-${alg}`,
        client_secret: hmacSecrets[alg],
        token_endpoint_auth_method: 'client_secret_jwt',
        // Pinned, so a passing test proves the assertion really was signed with `alg`.
        token_endpoint_auth_signing_alg: alg,
      })),
      ...PRIVATE_KEY_JWT_ALGS.map((alg) => ({
        client_id: `pk-${alg}`,
        token_endpoint_auth_method: 'private_key_jwt',
        // Pinned, so a passing test proves the assertion really was signed with `alg`.
        token_endpoint_auth_signing_alg: alg,
        jwks: { keys: [publicJwk(pkJwtKeys[alg])] },
      })),
      { client_id: ODD_CLIENT_ID, client_secret: ODD_SECRET, token_endpoint_auth_method: 'client_secret_basic' },
    ],
  });
  op.provider.use(async (ctx, next) => {
    if (ctx.path === INTROSPECTION) lastIntrospectionAuthorization = ctx.get('authorization');
    await next();
  });

  const selfSigned = new X509Certificate(certs.selfSignedClient.cert);
  tlsOp = await startOidcProvider({
    audience: AUDIENCE,
    algs: ['RS256', 'ES256'], // RS256 as above
    tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, trustStores: ['store-a'] },
    clients: [
      { client_id: 'tls-dn', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: CLIENT_SUBJECT_DN },
      { client_id: 'tls-san', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: CLIENT_SAN_DNS },
      {
        client_id: 'tls-self',
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        // oidc-provider matches the presented certificate against x5c[0] of the registered keys.
        jwks: { keys: [{ ...selfSigned.publicKey.export({ format: 'jwk' }), x5c: [selfSigned.raw.toString('base64')] }] },
      },
      {
        client_id: 'tls-bound',
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: CLIENT_SUBJECT_DN,
        tls_client_certificate_bound_access_tokens: true,
      },
    ],
  });
});

after(async () => {
  await Promise.all([op?.close(), tlsOp?.close()]);
  certs?.remove();
  if (savedExtraCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
  else process.env.NODE_EXTRA_CA_CERTS = savedExtraCa;
});

// ---------------------------------------------------------------------------------------------

describe('introspection: client authentication methods', () => {
  // Options are functions: the built-in client's secret exists only once `before()` has run.
  const cases = [
    ['client_secret_basic', () => ({ clientId: op.clientId, clientSecret: op.clientSecret, clientAuthMethod: 'client_secret_basic' })],
    ['client_secret_post', () => ({ clientId: 'post-client', clientSecret: postSecret, clientAuthMethod: 'client_secret_post' })],
    ['client_secret_jwt', () => ({ clientId: 'jwt-client', clientSecret: clientSecretJwtSecret, clientAuthMethod: 'client_secret_jwt' })],
    ['client_secret_jwt HS256, oct JWK', () => ({
      clientId: 'jwt-client', clientSecret: octJwk(clientSecretJwtSecret, 'HS256'), clientAuthMethod: 'client_secret_jwt',
    })],
    ...HMAC_ALGS.map((alg) => [`client_secret_jwt ${alg}, oct JWK`, () => ({
      clientId: `jwt-${alg}`, clientSecret: octJwk(hmacSecrets[alg], alg), clientAuthMethod: 'client_secret_jwt',
    })]),
    ['client_secret_jwt HS512, oct JWK as JSON text', () => ({
      clientId: 'jwt-HS512', clientSecret: JSON.stringify(octJwk(hmacSecrets.HS512, 'HS512')), clientAuthMethod: 'client_secret_jwt',
    })],
    ...PRIVATE_KEY_JWT_ALGS.map((alg) => [
      `private_key_jwt ${alg}`, () => ({ clientId: `pk-${alg}`, clientSecret: pkJwtKeys[alg], clientAuthMethod: 'private_key_jwt' }),
    ]),
    // The JWK may also come as its JSON text (as it would from an environment variable).
    ['private_key_jwt ES256, JWK as JSON text', () => ({
      clientId: 'pk-ES256', clientSecret: JSON.stringify(pkJwtKeys.ES256), clientAuthMethod: 'private_key_jwt',
    })],
  ];

  for (const [name, options] of cases) {
    test(`${name}: an opaque token validates with its claims`, async () => {
      const client = new MonoCloudBackendNodeClient({ tenantDomain: op.issuer, audience: AUDIENCE, ...options() });
      const token = await op.token({ format: 'opaque', scope: BOTH_SCOPES });
      const before = introspections(op).length;
      // oidc-provider authenticates introspection callers with the client's registered
      // token_endpoint_auth_method and refuses other mechanisms, except that it takes basic and
      // post for one another: so where the secret travelled is checked too.
      const claims = await client.validateAccessToken(token, { scopes: ['read:things'] });
      assert.equal(introspections(op).length, before + 1);
      if (name === 'client_secret_basic') assert.match(lastIntrospectionAuthorization, /^Basic /);
      else assert.equal(lastIntrospectionAuthorization, '');
      assert.equal(claims.iss, op.issuer);
      assert.equal(claims.aud, AUDIENCE);
      assert.equal(claims.scope, BOTH_SCOPES);
      // The token's client, not the introspecting one.
      assert.equal(claims.client_id, op.clientId);
      assert.equal(typeof claims.exp, 'number');
      assert.equal('active' in claims, false);
    });
  }

  test('introspectAccessToken returns the claims and checks scopes', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'post-client', clientSecret: postSecret });
    const token = await op.token({ format: 'opaque', scope: 'read:things' });
    const claims = await client.introspectAccessToken(token, { scopes: ['read:things'] });
    assert.equal(claims.client_id, op.clientId);
    assert.equal(claims.scope, 'read:things');
    await rejectsWith(client.introspectAccessToken(token, { scopes: ['write:things'] }), MonoCloudTokenError, { code: 'insufficient_scope' });
  });

  test('client_secret_basic form-encodes id and secret (RFC 6749 §2.3.1)', async () => {
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: op.issuer, audience: AUDIENCE, clientId: ODD_CLIENT_ID, clientSecret: ODD_SECRET, clientAuthMethod: 'client_secret_basic',
    });
    const claims = await client.validateAccessToken(await op.token({ format: 'opaque' }));
    assert.equal(claims.client_id, op.clientId);
    assert.equal(
      Buffer.from(lastIntrospectionAuthorization.slice('Basic '.length), 'base64').toString('utf8'),
      `${formEncode(ODD_CLIENT_ID)}:${formEncode(ODD_SECRET)}`,
    );
  });

  test('a non-ASCII secret is sent as form-encoded UTF-8; oidc-provider refuses non-VSCHAR secrets', async () => {
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: op.issuer, audience: AUDIENCE, clientId: ODD_CLIENT_ID, clientSecret: NON_ASCII_SECRET, clientAuthMethod: 'client_secret_basic',
    });
    await rejectsWith(client.validateAccessToken(await op.token({ format: 'opaque' })), MonoCloudOPError, { error: 'invalid_request', 'raw.status': 400 });
    assert.equal(
      Buffer.from(lastIntrospectionAuthorization.slice('Basic '.length), 'base64').toString('utf8'),
      'client%3Awith+space:%C3%A9%2B%25%26%3A',
    );
  });

  test('a wrong client secret is invalid_client (401)', async () => {
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: op.issuer, audience: AUDIENCE, clientId: op.clientId, clientSecret: 'not-the-secret', clientAuthMethod: 'client_secret_basic',
    });
    await rejectsWith(client.validateAccessToken(await op.token({ format: 'opaque' })), MonoCloudOPError, {
      error: 'invalid_client', message: 'invalid_client', 'raw.status': 401,
    });
  });

  test('client_secret_jwt with an oct JWK from MONOCLOUD_BACKEND_CLIENT_SECRET', async () => {
    const client = await withEnv({
      MONOCLOUD_BACKEND_TENANT_DOMAIN: op.issuer,
      MONOCLOUD_BACKEND_AUDIENCE: AUDIENCE,
      MONOCLOUD_BACKEND_CLIENT_ID: 'jwt-HS384',
      MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD: 'client_secret_jwt',
      MONOCLOUD_BACKEND_CLIENT_SECRET: JSON.stringify(octJwk(hmacSecrets.HS384, 'HS384')),
    }, () => new MonoCloudBackendNodeClient());
    const claims = await client.validateAccessToken(await op.token({ format: 'opaque' }));
    assert.equal(claims.iss, op.issuer);
  });

  test('an oct JWK signing with another alg than the client registered is invalid_client (401)', async () => {
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'jwt-HS512', clientSecret: octJwk(hmacSecrets.HS512, 'HS384'), clientAuthMethod: 'client_secret_jwt',
    });
    await rejectsWith(client.validateAccessToken(await op.token({ format: 'opaque' })), MonoCloudOPError, { error: 'invalid_client', 'raw.status': 401 });
  });

  test('a wrong client_secret_jwt secret is invalid_client (401)', async () => {
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'jwt-client', clientSecret: randomBytes(32).toString('base64url'), clientAuthMethod: 'client_secret_jwt',
    });
    await rejectsWith(client.validateAccessToken(await op.token({ format: 'opaque' })), MonoCloudOPError, { error: 'invalid_client', 'raw.status': 401 });
  });

  test('a private_key_jwt assertion signed with an unregistered key is invalid_client (401)', async () => {
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'pk-ES256', clientSecret: privateJwk('ES256', { kid: 'pk-es256' }), clientAuthMethod: 'private_key_jwt',
    });
    await rejectsWith(client.validateAccessToken(await op.token({ format: 'opaque' })), MonoCloudOPError, { error: 'invalid_client', 'raw.status': 401 });
  });

  test('a revoked token is inactive_token', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'post-client', clientSecret: postSecret });
    const token = await op.token({ format: 'opaque' });
    await op.revoke(token);
    await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, { code: 'inactive_token' });
  });

  test('a token oidc-provider never issued is inactive_token', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'post-client', clientSecret: postSecret });
    await rejectsWith(client.validateAccessToken(randomBytes(32).toString('base64url')), MonoCloudTokenError, {
      code: 'inactive_token', message: 'Token is not active. The introspection endpoint returned active=false',
    });
  });

  test('an active token for another resource is refused for its audience', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'post-client', clientSecret: postSecret });
    const token = await op.token({ format: 'opaque', resource: 'https://other-api.example.com' });
    await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, { code: 'invalid_token', message: 'Invalid audience claim' });
  });

  test('with the defaults, a token the provider revokes is refused at once (no introspection cache)', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'post-client', clientSecret: postSecret });
    const token = await op.token({ format: 'opaque' });
    const before = introspections(op).length;
    assert.equal((await client.validateAccessToken(token)).iss, op.issuer);
    await op.revoke(token);
    await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, {
      code: 'inactive_token', message: 'Token is not active. The introspection endpoint returned active=false',
    });
    assert.equal(introspections(op).length, before + 2, 'both validations asked the provider');
  });

  // The built-in cache is opt-in (revised DECISION 20): this test asks for it.
  test('results are cached when asked for: the second validation makes no request', async () => {
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'post-client', clientSecret: postSecret, introspectionCacheMaxEntries: 100,
    });
    const token = await op.token({ format: 'opaque', scope: BOTH_SCOPES });
    const before = introspections(op).length;
    await client.validateAccessToken(token, { scopes: ['read:things'] });
    // A cache hit still re-checks scopes (and would refuse a scope the token lacks).
    const claims = await client.validateAccessToken(token, { scopes: ['write:things'] });
    assert.equal(claims.scope, BOTH_SCOPES);
    await rejectsWith(client.validateAccessToken(token, { scopes: ['admin'] }), MonoCloudTokenError, { code: 'insufficient_scope' });
    assert.equal(introspections(op).length, before + 1);
  });

  test('introspectionCacheDuration: 0 asks every time, and sees a revocation at once', async () => {
    const client = new MonoCloudBackendNodeClient({
      // The built-in cache asked for, so that duration 0 is what turns it off.
      tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'post-client', clientSecret: postSecret, introspectionCacheDuration: 0, introspectionCacheMaxEntries: 100,
    });
    const token = await op.token({ format: 'opaque' });
    const before = introspections(op).length;
    await client.validateAccessToken(token);
    await client.validateAccessToken(token);
    assert.equal(introspections(op).length, before + 2);
    await op.revoke(token);
    await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, { code: 'inactive_token' });
  });

  test('introspectJwtTokens: oidc-provider refuses to introspect JWTs (400 unsupported_token_type)', async () => {
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'post-client', clientSecret: postSecret, introspectJwtTokens: true,
    });
    const jwt = await op.token({ format: 'jwt' });
    await rejectsWith(client.validateAccessToken(jwt), MonoCloudOPError, { error: 'unsupported_token_type', 'raw.status': 400 });
  });
});

// ---------------------------------------------------------------------------------------------

describe('introspection over mutual TLS', () => {
  const mtlsClient = (options) => new MonoCloudBackendNodeClient({ tenantDomain: tlsOp.issuer, audience: AUDIENCE, ...options });

  /** Validates a fresh opaque token and returns the claims and the requests it caused. */
  async function validateFresh(client) {
    const token = await tlsOp.token({ format: 'opaque', scope: BOTH_SCOPES });
    const start = tlsOp.requests.length;
    const claims = await client.validateAccessToken(token, { scopes: ['read:things'] });
    return { claims, requests: tlsOp.requests.slice(start) };
  }

  function assertClaims(claims) {
    assert.equal(claims.iss, tlsOp.issuer);
    assert.equal(claims.aud, AUDIENCE);
    assert.equal(claims.scope, BOTH_SCOPES);
    assert.equal(claims.client_id, tlsOp.clientId);
  }

  test('tls_client_auth (subject DN), PEM text: the certificate goes only to the mTLS alias', async () => {
    const client = mtlsClient({
      clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth', tlsClientCertificate: certs.client.cert, tlsClientKey: certs.client.key,
    });
    const { claims, requests } = await validateFresh(client);
    assertClaims(claims);
    const discovery = requests.find((r) => r.path === '/.well-known/openid-configuration');
    const introspection = requests.find((r) => r.path === INTROSPECTION);
    assert.equal(discovery?.certificate, false);
    assert.equal(introspection?.certificate, true);
    assert.equal(introspection.store, undefined);
  });

  test('tls_client_auth (SAN dNSName), file paths', async () => {
    const client = mtlsClient({
      clientId: 'tls-san', clientAuthMethod: 'tls_client_auth', tlsClientCertificate: certs.client.certPath, tlsClientKey: certs.client.keyPath,
    });
    assertClaims((await validateFresh(client)).claims);
  });

  for (const form of ['PEM text', 'file paths']) {
    test(`self_signed_tls_client_auth, ${form}`, async () => {
      const { cert, key, certPath, keyPath } = certs.selfSignedClient;
      const client = mtlsClient({
        clientId: 'tls-self',
        clientAuthMethod: 'self_signed_tls_client_auth',
        tlsClientCertificate: form === 'PEM text' ? cert : certPath,
        tlsClientKey: form === 'PEM text' ? key : keyPath,
      });
      assertClaims((await validateFresh(client)).claims);
    });
  }

  test('trustStoreId picks mtls_additional_endpoint_aliases[id]', async () => {
    const client = mtlsClient({
      clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth', trustStoreId: 'store-a', tlsClientCertificate: certs.client.cert, tlsClientKey: certs.client.key,
    });
    const { claims, requests } = await validateFresh(client);
    assertClaims(claims);
    const introspection = requests.find((r) => r.path === INTROSPECTION);
    assert.equal(introspection?.store, 'store-a');
    assert.equal(introspection.certificate, true);
  });

  test('a trust store the issuer does not advertise is a MonoCloudValidationError, before any request', async () => {
    const client = mtlsClient({
      clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth', trustStoreId: 'store-b', tlsClientCertificate: certs.client.cert, tlsClientKey: certs.client.key,
    });
    const token = await tlsOp.token({ format: 'opaque' });
    const before = introspections(tlsOp).length;
    await rejectsWith(client.validateAccessToken(token), MonoCloudValidationError, {
      message: "mTLS introspection_endpoint is required but not available for trust store 'store-b' in the issuer metadata",
    });
    assert.equal(introspections(tlsOp).length, before);
  });

  test('without a client certificate the mTLS alias answers invalid_client (401)', async () => {
    const client = mtlsClient({ clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth' });
    const token = await tlsOp.token({ format: 'opaque' });
    await rejectsWith(client.validateAccessToken(token), MonoCloudOPError, { error: 'invalid_client', 'raw.status': 401 });
    assert.equal(introspections(tlsOp).at(-1).certificate, false);
  });

  test('tls_client_auth with a certificate the CA did not issue is invalid_client (401)', async () => {
    const client = mtlsClient({
      clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth', tlsClientCertificate: certs.stranger.cert, tlsClientKey: certs.stranger.key,
    });
    await rejectsWith(client.validateAccessToken(await tlsOp.token({ format: 'opaque' })), MonoCloudOPError, { error: 'invalid_client', 'raw.status': 401 });
  });

  test('self_signed_tls_client_auth with an unregistered certificate is invalid_client (401)', async () => {
    const client = mtlsClient({
      clientId: 'tls-self', clientAuthMethod: 'self_signed_tls_client_auth', tlsClientCertificate: certs.client.cert, tlsClientKey: certs.client.key,
    });
    await rejectsWith(client.validateAccessToken(await tlsOp.token({ format: 'opaque' })), MonoCloudOPError, { error: 'invalid_client', 'raw.status': 401 });
  });

  test('a secret-based client on the https issuer uses the plain endpoint and presents no certificate', async () => {
    const client = mtlsClient({
      clientId: tlsOp.clientId, clientSecret: tlsOp.clientSecret, clientAuthMethod: 'client_secret_basic',
      // Configured but irrelevant: only the mTLS aliases get the certificate.
      tlsClientCertificate: certs.client.cert, tlsClientKey: certs.client.key,
    });
    const { claims, requests } = await validateFresh(client);
    assertClaims(claims);
    assert.ok(requests.length >= 2);
    assert.ok(requests.every((r) => r.certificate === false), JSON.stringify(requests));
  });

  test('concurrent mTLS introspections all succeed', async () => {
    const client = mtlsClient({
      clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth', tlsClientCertificate: certs.client.cert, tlsClientKey: certs.client.key,
    });
    const tokens = await Promise.all(Array.from({ length: 10 }, () => tlsOp.token({ format: 'opaque', scope: BOTH_SCOPES })));
    const all = await Promise.all(tokens.map((token) => client.validateAccessToken(token, { scopes: ['write:things'] })));
    all.forEach(assertClaims);
  });

  test('a certificate followed by its CA chain is accepted', async () => {
    const client = mtlsClient({
      clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth', tlsClientCertificate: certs.client.cert + certs.ca.cert, tlsClientKey: certs.client.key,
    });
    assertClaims((await validateFresh(client)).claims);
  });

  test('a key that does not match the certificate is refused at construction, without echoing it', () => {
    assert.throws(
      () => mtlsClient({ clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth', tlsClientCertificate: certs.client.cert, tlsClientKey: certs.stranger.key }),
      (error) => {
        assert.ok(error instanceof MonoCloudValidationError, `${error?.name}: ${error?.message}`);
        assert.doesNotMatch(error.message, /PRIVATE KEY|BEGIN/);
        return true;
      },
    );
  });

  test('mTLS settings from the environment alone', async () => {
    const env = {
      MONOCLOUD_BACKEND_TENANT_DOMAIN: tlsOp.issuer,
      MONOCLOUD_BACKEND_AUDIENCE: AUDIENCE,
      MONOCLOUD_BACKEND_CLIENT_ID: 'tls-self',
      MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD: 'self_signed_tls_client_auth',
      MONOCLOUD_BACKEND_TLS_CLIENT_CERTIFICATE: certs.selfSignedClient.certPath,
      MONOCLOUD_BACKEND_TLS_CLIENT_KEY: certs.selfSignedClient.keyPath,
    };
    const client = await withEnv(env, () => new MonoCloudBackendNodeClient());
    assertClaims((await validateFresh(client)).claims);
  });

  test('trustStoreId is ignored by methods that do not use mTLS', async () => {
    const client = mtlsClient({ clientId: tlsOp.clientId, clientSecret: tlsOp.clientSecret, clientAuthMethod: 'client_secret_basic', trustStoreId: 'store-b' });
    const { claims, requests } = await validateFresh(client);
    assertClaims(claims);
    assert.equal(requests.find((r) => r.path === INTROSPECTION)?.store, undefined);
  });

  test('an issuer without mtls_endpoint_aliases is a MonoCloudValidationError for mTLS methods', async () => {
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: op.issuer, audience: AUDIENCE, clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth',
      tlsClientCertificate: certs.client.cert, tlsClientKey: certs.client.key,
    });
    await rejectsWith(client.validateAccessToken(await op.token({ format: 'opaque' })), MonoCloudValidationError, {
      message: 'mTLS introspection_endpoint is required but not available in the issuer metadata',
    });
  });

  test('NODE_EXTRA_CA_CERTS is read at construction: without it the test CA is not trusted', async () => {
    delete process.env.NODE_EXTRA_CA_CERTS;
    let client;
    try {
      client = mtlsClient({ clientId: tlsOp.clientId, clientSecret: tlsOp.clientSecret, clientAuthMethod: 'client_secret_basic' });
    } finally {
      process.env.NODE_EXTRA_CA_CERTS = certs.ca.certPath;
    }
    await rejectsWith(client.validateAccessToken(await tlsOp.token({ format: 'opaque' })), MonoCloudHttpError, { 'raw.status': undefined });
    // The TLS handshake failed on trust, not on anything else (rustls names it UnknownIssuer).
    await assert.rejects(client.validateAccessToken(await tlsOp.token({ format: 'opaque' })), /certificate/i);
  });
});

// ---------------------------------------------------------------------------------------------

describe('certificate-bound access tokens (RFC 8705 §3)', () => {
  let boundJwt;
  let boundOpaque;
  const auth = () => ({ clientId: 'tls-bound', cert: certs.client.cert, key: certs.client.key });
  const jwtClient = (options = {}) => new MonoCloudBackendNodeClient({ tenantDomain: tlsOp.issuer, audience: AUDIENCE, ...options });

  before(async () => {
    // client_credentials over mTLS by a client registered for bound tokens: oidc-provider binds
    // the token to the certificate presented on that TLS connection.
    boundJwt = await tlsOp.token({ alg: 'ES256', format: 'jwt', auth: auth() });
    boundOpaque = await tlsOp.token({ format: 'opaque', auth: auth() });
  });

  test('the JWT carries cnf.x5t#S256 of the client certificate', () => {
    const payload = jwtPayload(boundJwt);
    assert.deepEqual(payload.cnf, { 'x5t#S256': thumbprint(certs.client.cert) });
    assert.equal(payload.client_id, 'tls-bound');
  });

  test('the right certificate validates', async () => {
    const claims = await jwtClient().validateAccessToken(boundJwt, { scopes: ['read:things'], clientCertificate: certs.client.cert });
    assert.equal(claims.client_id, 'tls-bound');
    assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprint(certs.client.cert) });
  });

  test('another certificate is refused', async () => {
    await rejectsWith(jwtClient().validateAccessToken(boundJwt, { clientCertificate: certs.stranger.cert }), MonoCloudTokenError, {
      code: 'invalid_token',
      message: 'The certificate hash in the access token does not match the presented client certificate (certificate binding validation failed)',
    });
  });

  test('no certificate is refused', async () => {
    await rejectsWith(jwtClient().validateAccessToken(boundJwt), MonoCloudTokenError, {
      code: 'invalid_token', message: 'Client certificate is not present',
    });
  });

  test('one client: binding is re-checked on every validation of the same JWT', async () => {
    // The client keeps verified JWT claims in its token cache; a remembered token must still be
    // refused for the wrong certificate or none.
    const client = jwtClient();
    await client.validateAccessToken(boundJwt, { clientCertificate: certs.client.cert });
    await rejectsWith(client.validateAccessToken(boundJwt, { clientCertificate: certs.stranger.cert }), MonoCloudTokenError, {
      message: 'The certificate hash in the access token does not match the presented client certificate (certificate binding validation failed)',
    });
    await rejectsWith(client.validateAccessToken(boundJwt), MonoCloudTokenError, { message: 'Client certificate is not present' });
    const claims = await client.validateAccessToken(boundJwt, { clientCertificate: certs.client.cert });
    assert.equal(claims.client_id, 'tls-bound');
  });

  test("validateCertificateBinding: 'dangerously_ignore' accepts it without a certificate", async () => {
    const claims = await jwtClient({ validateCertificateBinding: 'dangerously_ignore' }).validateAccessToken(boundJwt);
    assert.equal(claims.client_id, 'tls-bound');
  });

  test("validateCertificateBinding: 'required' refuses an unbound token", async () => {
    const unbound = await tlsOp.token({ alg: 'ES256', format: 'jwt' });
    await rejectsWith(jwtClient({ validateCertificateBinding: 'required' }).validateAccessToken(unbound, { clientCertificate: certs.client.cert }), MonoCloudTokenError, {
      message: "Access token does not contain a 'cnf' (confirmation) claim for certificate binding",
    });
  });

  test('an introspected bound token is checked against the presented certificate too', async () => {
    const client = jwtClient({
      clientId: 'tls-dn', clientAuthMethod: 'tls_client_auth', tlsClientCertificate: certs.client.cert, tlsClientKey: certs.client.key,
    });
    const claims = await client.validateAccessToken(boundOpaque, { clientCertificate: certs.client.cert });
    assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprint(certs.client.cert) });
    // The cached answer is re-checked on every hit.
    await rejectsWith(client.validateAccessToken(boundOpaque, { clientCertificate: certs.stranger.cert }), MonoCloudTokenError, {
      message: 'The certificate hash in the access token does not match the presented client certificate (certificate binding validation failed)',
    });
    await rejectsWith(client.validateAccessToken(boundOpaque), MonoCloudTokenError, { message: 'Client certificate is not present' });
  });
});
