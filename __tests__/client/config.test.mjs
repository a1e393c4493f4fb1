// Configuration through the JavaScript face: options over MONOCLOUD_BACKEND_* env over defaults,
// with upstream's MonoCloudValidationError messages, thrown synchronously.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudOidcBackendClient, MonoCloudValidationError } from '@monocloud/backend-node-rs';

const base = { tenantDomain: 'https://tenant.example.com', audience: 'https://api.example.com' };
const saved = { ...process.env };

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
});

function throwsValidation(make, message) {
  assert.throws(make, (error) => {
    assert.ok(error instanceof MonoCloudValidationError, `got ${error}`);
    assert.equal(error.message, message);
    return true;
  });
}

describe('construction', () => {
  test('without any configuration it throws', () => {
    throwsValidation(() => new MonoCloudBackendNodeClient(), '"tenantDomain" is required');
    throwsValidation(() => new MonoCloudBackendNodeClient({ tenantDomain: base.tenantDomain }), '"audience" is required');
  });

  test('upstream messages for bad options', () => {
    const cases = [
      [{ tenantDomain: 'example.com', audience: base.audience }, '"tenantDomain" must be a valid uri'],
      [{ ...base, audience: 'api' }, '"audience" must be a valid uri'],
      [{ ...base, clientId: '' }, '"clientId" is not allowed to be empty'],
      [{ ...base, clientAuthMethod: 'magic' }, '"clientAuthMethod" must be one of [client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, tls_client_auth, self_signed_tls_client_auth, spiffe_jwt, spiffe_x509]'],
      [{ ...base, clientAuthMethod: 'private_key_jwt', clientSecret: 'plain' }, "clientSecret must be a valid JWK when clientAuthMethod is 'private_key_jwt'"],
      [{ ...base, clientSecret: { kty: 'oct', k: 'AA' } }, '"clientSecret" must be a string'],
      [{ ...base, clockSkew: -1 }, '"clockSkew" must be greater than or equal to 0'],
      [{ ...base, clockSkew: Number.NaN }, '"clockSkew" must be a number'],
      [{ ...base, responseTimeout: 999 }, '"responseTimeout" must be greater than or equal to 1000'],
      [{ ...base, introspectJwtTokens: 'yes' }, '"introspectJwtTokens" must be a boolean'],
      [{ ...base, validateCertificateBinding: true }, '"validateCertificateBinding" must be one of [when_present, required, dangerously_ignore]'],
      [{ ...base, cache: {} }, '"cache.set" is required'],
      [{ ...base, cache: { get: () => {}, set: 'x', delete: () => {} } }, '"cache.set" must be of type function'],
      [{ ...base, fetcher: 'fetch' }, '"fetcher" must be of type function'],
      [{ ...base, metadataResolver: {} }, '"metadataResolver" must be of type function'],
      [{ ...base, groupOptions: { groupsClaim: 5 } }, '"groupOptions.groupsClaim" must be a string'],
      [{ ...base, groupOptions: { matchAll: 'yes' } }, '"groupOptions.matchAll" must be a boolean'],
      [{ tenantDomain: 'http://tenant.example.com', audience: base.audience }, '"tenantDomain" must use https; plain http is allowed only for loopback hosts (localhost, 127.0.0.0/8, [::1])'],
    ];
    for (const [options, message] of cases) throwsValidation(() => new MonoCloudBackendNodeClient(options), message);
  });

  test('environment variables configure the client', () => {
    process.env.MONOCLOUD_BACKEND_TENANT_DOMAIN = base.tenantDomain;
    process.env.MONOCLOUD_BACKEND_AUDIENCE = base.audience;
    assert.ok(new MonoCloudBackendNodeClient());
    process.env.MONOCLOUD_BACKEND_RESPONSE_TIMEOUT = '500';
    throwsValidation(() => new MonoCloudBackendNodeClient(), '"responseTimeout" must be greater than or equal to 1000');
    // Options win over the environment.
    assert.ok(new MonoCloudBackendNodeClient({ responseTimeout: 3000 }));
    process.env.MONOCLOUD_BACKEND_RESPONSE_TIMEOUT = 'abc';
    assert.ok(new MonoCloudBackendNodeClient(), 'unparseable numbers fall back to the default');
    process.env.MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD = '';
    throwsValidation(() => new MonoCloudBackendNodeClient(), '"clientAuthMethod" must be one of [client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, tls_client_auth, self_signed_tls_client_auth, spiffe_jwt, spiffe_x509]');
  });

  test('a JWK in MONOCLOUD_BACKEND_CLIENT_SECRET is a private_key_jwt key', () => {
    process.env.MONOCLOUD_BACKEND_CLIENT_SECRET = '{"kty":"EC","x":"MQNq8N-UrdeHP6SwaVVRRxx2YIdPrBxsuxQLa6hpxLA","y":"lmTiw00UclrS0NOR0qPR7luYhrpAFkudWrV_WBuFpuE","crv":"P-256","d":"p-yv1l-uOV9YCkAIsmKDJdpez91Nyjg8R9w6QRMM86w","alg":"ES256"}';
    process.env.MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD = 'private_key_jwt';
    assert.ok(new MonoCloudBackendNodeClient(base));
    process.env.MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD = 'client_secret_post';
    throwsValidation(() => new MonoCloudBackendNodeClient(base), '"clientSecret" must be a string');
  });

  test('a class-instance cache with fields and #private members is accepted as given', () => {
    class MapCache {
      #store = new Map();
      hits = 0;
      async get(key) { this.hits += 1; return this.#store.get(key); }
      async set(key, value) { this.#store.set(key, value); }
      async delete(key) { this.#store.delete(key); }
    }
    assert.ok(new MonoCloudBackendNodeClient({ ...base, cache: new MapCache() }));
  });

  test('unknown options are ignored; functions are accepted where expected', () => {
    assert.ok(new MonoCloudBackendNodeClient({ ...base, somethingElse: Symbol('x'), fetcher: fetch, jwksResolver: async () => ({ keys: [] }) }));
  });

  test('loopback http tenants are used as given', () => {
    for (const tenantDomain of ['http://127.0.0.1:4000', 'http://localhost:3000/', 'http://[::1]:8080']) {
      assert.ok(new MonoCloudBackendNodeClient({ tenantDomain, audience: base.audience }));
    }
  });

  /** The discovery URL a client asks for, seen by its fetcher. */
  async function discoveryUrl(make) {
    const urls = [];
    const fetcher = async (url) => {
      urls.push(url);
      return new Response(JSON.stringify({ issuer: 'x' }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    await make(fetcher).getMetadata();
    return urls[0];
  }

  // Contract §3.4 and §4: the Node client validates with Joi's uri() before anything else, so a
  // bare domain is refused there; only the positional client, which validates nothing, adds
  // https:// to it. The README says the same.
  test('tenantDomain: the Node client needs a scheme; the OIDC client adds https:// to a bare domain', async () => {
    const bare = 'your-tenant.us.monocloud.com';
    throwsValidation(() => new MonoCloudBackendNodeClient({ tenantDomain: bare, audience: base.audience }), '"tenantDomain" must be a valid uri');
    process.env.MONOCLOUD_BACKEND_TENANT_DOMAIN = bare;
    process.env.MONOCLOUD_BACKEND_AUDIENCE = base.audience;
    throwsValidation(() => new MonoCloudBackendNodeClient(), '"tenantDomain" must be a valid uri');
    delete process.env.MONOCLOUD_BACKEND_TENANT_DOMAIN;
    delete process.env.MONOCLOUD_BACKEND_AUDIENCE;
    const expected = `https://${bare}/.well-known/openid-configuration`;
    assert.equal(await discoveryUrl((fetcher) => new MonoCloudBackendNodeClient({ tenantDomain: `https://${bare}/`, audience: base.audience, fetcher })), expected);
    assert.equal(await discoveryUrl((fetcher) => new MonoCloudOidcBackendClient(bare, base.audience, { fetcher })), expected);
    assert.equal(await discoveryUrl((fetcher) => new MonoCloudOidcBackendClient(`https://${bare}/`, base.audience, { fetcher })), expected);
  });

  test('the OIDC client is positional and ignores the environment', () => {
    process.env.MONOCLOUD_BACKEND_CLOCK_SKEW = '-5';
    assert.ok(new MonoCloudOidcBackendClient('example.com', 'my-api'));
    throwsValidation(() => new MonoCloudOidcBackendClient('example.com', 'my-api', { clockTolerance: -1 }), '"clockTolerance" must be greater than or equal to 0');
  });
});
