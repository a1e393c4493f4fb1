// Opaque tokens by RFC 7662 introspection: every answer the endpoint can give, the cache
// adapter contract, the built-in cache, and user callbacks (fetcher, resolvers).
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';

import {
  MonoCloudBackendNodeClient,
  MonoCloudHttpError,
  MonoCloudOPError,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from '@monocloud/backend-node-rs';

import { now } from '../support/clock.mjs';
import { withEnv } from '../support/env.mjs';
import { rejectsWith } from '../support/rejects.mjs';
import { AUDIENCE, issuer, scripted, scriptedClientOptions, useClientIssuers } from '../support/client-issuers.mjs';
import { answer, json } from '../support/scripted-issuer.mjs';

useClientIssuers();

const introspecting = (extra = {}) =>
  new MonoCloudBackendNodeClient({
    tenantDomain: issuer.url,
    audience: issuer.audience,
    clientId: 'test-client',
    clientSecret: 'test-secret',
    ...extra,
  });

const scriptedClient = (extra = {}) => new MonoCloudBackendNodeClient(scriptedClientOptions({ introspectionCacheDuration: 0, ...extra }));

/** The introspection endpoint answers `status` with `body` (JSON, or text as given) from now on. */
const script = ({ status, body, headers }) =>
  scripted.on('introspect', answer(status, typeof body === 'string' ? body : JSON.stringify(body), headers));

const activeAnswer = (claims = {}) => ({
  status: 200,
  body: { active: true, iss: scripted.url, sub: 'u', aud: AUDIENCE, exp: now() + 300, scope: 'read', ...claims },
});

describe('introspection against the test issuer', () => {
  for (const clientAuthMethod of ['client_secret_basic', 'client_secret_post']) {
    test(`${clientAuthMethod}: an opaque token validates, with scopes and groups`, async () => {
      const client = introspecting({ clientAuthMethod });
      const token = issuer.mintOpaque({ scope: 'read:things write:things', groups: ['staff'] });
      const claims = await client.validateAccessToken(token, { scopes: ['write:things'], groups: ['staff'] });
      assert.equal(claims.sub, 'test-user');
      assert.equal(claims.active, undefined, 'active is not a claim');
      await rejectsWith(client.validateAccessToken(token, { scopes: ['admin'] }), MonoCloudTokenError, (e) => assert.equal(e.code, 'insufficient_scope'));
      await rejectsWith(client.validateAccessToken(token, { groups: ['admins'] }), MonoCloudTokenError, (e) => assert.equal(e.code, 'insufficient_groups'));
    });
  }

  test('revoked and unknown tokens are inactive_token', async () => {
    const client = introspecting({ introspectionCacheDuration: 0 });
    const token = issuer.mintOpaque();
    await client.validateAccessToken(token);
    issuer.revoke(token);
    await rejectsWith(
      client.validateAccessToken(token),
      MonoCloudTokenError, (e) => {
        assert.equal(e.code, 'inactive_token');
        assert.equal(e.message, 'Token is not active. The introspection endpoint returned active=false');
      },
    );
    await rejectsWith(client.validateAccessToken('never-issued'), MonoCloudTokenError, (e) => assert.equal(e.code, 'inactive_token'));
  });

  test('introspectJwtTokens sends JWTs to the endpoint too', async () => {
    const client = introspecting({ introspectJwtTokens: true });
    const claims = await client.validateAccessToken(await issuer.mint());
    assert.equal(claims.sub, 'test-user');
    assert.equal(issuer.requests.introspection, 1);
    assert.equal(issuer.requests.jwks, 0);
  });

  test('a wrong secret is the issuer refusing the client', async () => {
    const client = introspecting({ clientSecret: 'wrong' });
    await rejectsWith(
      client.validateAccessToken(issuer.mintOpaque()),
      MonoCloudOPError, (e) => {
        assert.equal(e.error, 'invalid_client');
        assert.equal(e.message, 'invalid_client');
        assert.equal(e.raw.status, 401);
      },
    );
  });

  test('introspectAccessToken checks what the call asks for', async () => {
    const client = introspecting();
    const token = issuer.mintOpaque({ cnf: { 'x5t#S256': 'abc' } });
    await client.introspectAccessToken(token);
    await rejectsWith(client.introspectAccessToken(token, { validateCertificateBinding: 'required' }), MonoCloudTokenError, (e) => assert.equal(e.message, 'Client certificate is not present'));
    await rejectsWith(client.introspectAccessToken(token, { scopes: ['admin'] }), MonoCloudTokenError, (e) => assert.equal(e.code, 'insufficient_scope'));
  });
});

describe('configuration errors', () => {
  test('opaque tokens without a client id', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
    await rejectsWith(client.validateAccessToken('opaque'), MonoCloudValidationError, (e) => assert.equal(e.message, 'Token introspection is not configured'));
    await rejectsWith(client.introspectAccessToken('opaque'), MonoCloudValidationError, (e) => assert.equal(e.message, 'The clientId option must be configured to introspect access tokens'));
  });

  test('an issuer without an introspection endpoint', async () => {
    const client = introspecting({ metadataResolver: () => ({ issuer: issuer.url }) });
    await rejectsWith(
      client.validateAccessToken('opaque'),
      MonoCloudValidationError, (e) => assert.equal(e.message, 'introspection_endpoint endpoint is required but not available in the issuer metadata'),
    );
  });

  test('mTLS methods need the alias, and trust stores their own', async () => {
    const metadata = { issuer: issuer.url, introspection_endpoint: `${issuer.url}/introspect` };
    const mtls = introspecting({ clientAuthMethod: 'tls_client_auth', metadataResolver: () => metadata });
    await rejectsWith(mtls.validateAccessToken('opaque'), MonoCloudValidationError, (e) => assert.equal(e.message, 'mTLS introspection_endpoint is required but not available in the issuer metadata'));
    const store = introspecting({ clientAuthMethod: 'spiffe_x509', trustStoreId: 'store-1', metadataResolver: () => metadata });
    await rejectsWith(
      store.validateAccessToken('opaque'),
      MonoCloudValidationError, (e) => assert.equal(e.message, "mTLS introspection_endpoint is required but not available for trust store 'store-1' in the issuer metadata"),
    );
  });

  test('client authentication that cannot work is a configuration error', async () => {
    const client = introspecting({ clientAuthMethod: 'client_secret_jwt', clientSecret: undefined });
    await rejectsWith(client.validateAccessToken('opaque'), MonoCloudValidationError, (e) => assert.match(e.message, /^Invalid Client Authentication Method/));
  });
});

// DECISION 31, seed 001: a symmetric JWK as client_secret_jwt's secret picks the assertion's
// algorithm with its `alg` and names itself with its `kid`.
describe('client_secret_jwt with a symmetric JWK', () => {
  const key = randomBytes(48);
  const jwk = { kty: 'oct', k: key.toString('base64url'), alg: 'HS384', kid: 'key-7' };
  const jwtClient = (clientSecret) => scriptedClient({ clientAuthMethod: 'client_secret_jwt', clientSecret });

  for (const [form, secret] of [['an object', jwk], ['JSON text', JSON.stringify(jwk)]]) {
    test(`as ${form}: the assertion is ${jwk.alg}, names its kid and verifies with its key`, async () => {
      script(activeAnswer());
      await jwtClient(secret).validateAccessToken('opaque');
      const [request] = scripted.requests.filter((r) => r.route === 'introspect');
      const assertion = new URLSearchParams(request.body).get('client_assertion');
      const [header, payload, signature] = assertion.split('.');
      assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url')), { alg: 'HS384', kid: 'key-7' });
      assert.equal(JSON.parse(Buffer.from(payload, 'base64url')).iss, 'api');
      assert.equal(createHmac('sha384', key).update(`${header}.${payload}`).digest('base64url'), signature);
    });
  }

  test('a bad key or alg is a MonoCloudValidationError at construction, without the key', () => {
    for (const bad of [
      { ...jwk, alg: 'RS256' },
      { ...jwk, alg: undefined },
      { ...jwk, k: 'not base64url!' },
      { ...jwk, alg: 'HS512' }, // 48 bytes are too short for HS512 (RFC 7518 §3.2)
      { kty: 'RSA', n: 'x', e: 'AQAB' },
    ]) {
      assert.throws(() => jwtClient(bad), (e) => {
        assert.ok(e instanceof MonoCloudValidationError, `${e}`);
        assert.match(e.message, /clientSecret/);
        assert.ok(!e.message.includes(jwk.k), 'the key is not in the message');
        return true;
      });
    }
  });

  test('other methods keep the original rule: a JWK secret is not a string', () => {
    assert.throws(() => scriptedClient({ clientAuthMethod: 'client_secret_post', clientSecret: jwk }), (e) =>
      e instanceof MonoCloudValidationError && e.message === '"clientSecret" must be a string');
  });
});

describe('what the endpoint answers', () => {
  test('the request: form body in order, headers', async () => {
    script(activeAnswer());
    await scriptedClient().validateAccessToken('tok en+1');
    const [request] = scripted.requests.filter((r) => r.route === 'introspect');
    assert.equal(request.body, 'token=tok+en%2B1&token_type_hint=access_token&client_id=api&client_secret=secret');
    assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(request.headers.accept, 'application/json');
  });

  const cases = [
    [{ status: 400, body: { error: 'invalid_request', error_description: 'No token' } }, MonoCloudOPError, (e) => {
      assert.equal(e.error, 'invalid_request');
      assert.equal(e.errorDescription, 'No token');
      assert.equal(e.raw.status, 400);
      assert.equal(e.raw.headers['content-type'], 'application/json');
      assert.match(e.raw.body, /invalid_request/);
    }],
    [{ status: 400, body: {} }, MonoCloudOPError, (e) => assert.deepEqual([e.error, e.errorDescription], ['introspection_failed', 'Token introspection failed'])],
    [{ status: 400, body: '' }, MonoCloudOPError, (e) => assert.equal(e.error, 'introspection_failed')],
    [{ status: 401, body: '' }, MonoCloudOPError, (e) => assert.equal(e.error, 'invalid_client')],
    [{ status: 401, body: '<html>nope</html>', headers: { 'content-type': 'text/html' } }, MonoCloudOPError, (e) => assert.equal(e.error, 'invalid_client')],
    [{ status: 401, body: { type: 'about:blank', title: 'Unauthorized' } }, MonoCloudOPError, (e) => assert.equal(e.error, 'invalid_client')],
    [{ status: 401, body: { error: 'unauthorized_client' } }, MonoCloudOPError, (e) => assert.equal(e.error, 'unauthorized_client')],
    [{ status: 500, body: 'boom' }, MonoCloudHttpError, (e) => {
      assert.equal(e.message, 'Error while performing token introspection. Unexpected status code: 500');
      assert.equal(e.status, 500);
      assert.equal(e.statusText, 'Internal Server Error');
    }],
    [{ status: 404, body: '' }, MonoCloudHttpError, (e) => assert.deepEqual([e.status, e.statusText], [404, 'Not Found'])],
    [{ status: 200, body: 'not json' }, MonoCloudHttpError, (e) => assert.match(e.message, /^Failed to parse response body as JSON : /)],
    [{ status: 200, body: 'null' }, MonoCloudHttpError, () => {}],
  ];
  for (const [answer, Class, check] of cases) {
    test(`${answer.status} ${typeof answer.body === 'string' ? JSON.stringify(answer.body) : JSON.stringify(answer.body)}`, async () => {
      script(answer);
      await rejectsWith(scriptedClient().validateAccessToken('opaque'), Class, check);
    });
  }

  /** What the original says of a body that is not JSON: this engine's own JSON.parse error. */
  const v8Message = (text) => {
    try {
      JSON.parse(text);
    } catch (error) {
      return `Failed to parse response body as JSON : ${error.message}`;
    }
    assert.fail(`${JSON.stringify(text)} is JSON`);
  };

  for (const body of ['{', '{a', '', '[1,', 'not json', '{"active":true,}', '\uFEFF{a']) {
    test(`200 ${JSON.stringify(body)}: the message is JSON.parse's own, as the original's`, async () => {
      script({ status: 200, body });
      // fetch's text() drops a leading byte-order mark before the original parses.
      const expected = v8Message(body.replace(/^\uFEFF/, ''));
      await rejectsWith(scriptedClient().validateAccessToken('opaque'), MonoCloudHttpError, (e) => {
        assert.equal(e.message, expected);
        assert.equal(e.raw.status, 200);
      });
    });
  }

  test('a discovery document that is not JSON has JSON.parse\'s message too', async () => {
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: scripted.url,
      audience: AUDIENCE,
      fetcher: async () => new Response('{a', { status: 200, headers: { 'content-type': 'application/json' } }),
    });
    await rejectsWith(client.getMetadata(), MonoCloudHttpError, (e) => assert.equal(e.message, v8Message('{a')));
  });

  // The original reads `active` off whatever JSON came back: a non-object has none.
  for (const body of ['[]', '[{"active":true}]', '"active"', '5', 'true']) {
    test(`200 ${body}: an answer that is not an object is inactive_token, as the original`, async () => {
      script({ status: 200, body });
      await rejectsWith(scriptedClient().validateAccessToken('opaque'), MonoCloudTokenError, (e) => {
        assert.equal(e.code, 'inactive_token');
        assert.equal(e.message, 'Token is not active. The introspection endpoint returned active=false');
      });
    });
  }

  for (const active of [false, undefined, 'true', 'false', 1, 0, null]) {
    test(`active: ${JSON.stringify(active)} is inactive_token`, async () => {
      script(activeAnswer({ active }));
      await rejectsWith(scriptedClient().validateAccessToken('opaque'), MonoCloudTokenError, (e) => assert.equal(e.code, 'inactive_token'));
    });
  }

  test('claims are checked: issuer, audience, expiry; exp may be absent', async () => {
    const check = async (claims, message) => {
      script(activeAnswer(claims));
      if (message === undefined) return scriptedClient().validateAccessToken('opaque');
      await rejectsWith(scriptedClient().validateAccessToken('opaque'), MonoCloudTokenError, (e) => assert.equal(e.message, message));
    };
    await check({ iss: 'https://other' }, 'Invalid Issuer');
    await check({ aud: 'https://other' }, 'Invalid audience claim');
    await check({ exp: now() - 120 }, 'Unexpected "exp" (expiration time) claim value, timestamp is <= now()');
    await check({ nbf: now() + 120 }, 'Unexpected "nbf" (not before) claim value, timestamp is > now()');
    await check({ sub: 123 }, 'Invalid subject');
    await check({ exp: undefined });
  });
});

/** An IIntrospectionCache recording every call, with a Map behind it. */
class RecordingCache {
  #entries = new Map();
  calls = [];
  failGet = undefined;
  failSet = undefined;
  async get(key) {
    this.calls.push(['get', key]);
    if (this.failGet) throw this.failGet;
    return this.#entries.get(key)?.claims;
  }
  async set(key, claims, expiresAt) {
    this.calls.push(['set', key, claims, expiresAt]);
    if (this.failSet) throw this.failSet;
    this.#entries.set(key, { claims, expiresAt });
  }
  async delete(key) {
    this.#entries.delete(key);
  }
  put(key, claims) {
    this.#entries.set(key, { claims });
  }
}

describe('the cache adapter (IIntrospectionCache)', () => {
  const cached = (cache, extra = {}) => scriptedClient({ cache, introspectionCacheDuration: 300, ...extra });

  test('a miss introspects and stores the claims until min(exp, now + duration)', async () => {
    const cache = new RecordingCache();
    const exp = now() + 100;
    script(activeAnswer({ exp }));
    await cached(cache).validateAccessToken('tok');
    const [, set] = cache.calls;
    assert.deepEqual(cache.calls[0], ['get', 'tok']);
    assert.equal(set[0], 'set');
    assert.equal(set[1], 'tok');
    assert.equal(set[2].active, undefined);
    assert.equal(set[2].sub, 'u');
    assert.equal(set[3], exp);
    cache.calls = [];
    script(activeAnswer({ exp: now() + 100_000 }));
    await cached(cache).validateAccessToken('long-lived');
    assert.ok(Math.abs(cache.calls[1][3] - (now() + 300)) <= 1, 'capped at the duration');
    cache.calls = [];
    script(activeAnswer({ exp: undefined }));
    await cached(cache, { introspectionCacheDuration: 10 }).validateAccessToken('no-exp');
    assert.ok(Math.abs(cache.calls[1][3] - (now() + 10)) <= 1);
  });

  test('a hit skips the network and is checked again', async () => {
    const cache = new RecordingCache();
    cache.put('tok', { iss: scripted.url, aud: AUDIENCE, sub: 'cached', scope: 'read', exp: now() + 60 });
    const claims = await cached(cache).validateAccessToken('tok', { scopes: ['read'] });
    assert.equal(claims.sub, 'cached');
    assert.equal(scripted.counts.introspect, 0);
    await rejectsWith(cached(cache).validateAccessToken('tok', { scopes: ['write'] }), MonoCloudTokenError, (e) => assert.equal(e.code, 'insufficient_scope'));
    cache.put('bad-aud', { iss: scripted.url, aud: 'https://other', exp: now() + 60 });
    await rejectsWith(cached(cache).validateAccessToken('bad-aud'), MonoCloudTokenError, (e) => assert.equal(e.message, 'Invalid audience claim'));
    cache.put('bound', { iss: scripted.url, aud: AUDIENCE, cnf: { 'x5t#S256': 'x' } });
    await rejectsWith(cached(cache).validateAccessToken('bound'), MonoCloudTokenError, (e) => assert.equal(e.message, 'Client certificate is not present'));
  });

  test('an expired entry is a miss', async () => {
    const cache = new RecordingCache();
    cache.put('tok', { iss: scripted.url, aud: AUDIENCE, exp: now() - 120 });
    script(activeAnswer({ sub: 'fresh' }));
    assert.equal((await cached(cache).validateAccessToken('tok')).sub, 'fresh');
    assert.equal(scripted.counts.introspect, 1);
  });

  test('inactive answers are cached as negative entries and replayed', async () => {
    const cache = new RecordingCache();
    script({ status: 200, body: { active: false } });
    await rejectsWith(cached(cache).validateAccessToken('dead'), MonoCloudTokenError, (e) => assert.equal(e.code, 'inactive_token'));
    const set = cache.calls.find(([name]) => name === 'set');
    assert.deepEqual(set[2], { active: false, exp: set[3] });
    assert.ok(Math.abs(set[3] - (now() + 300)) <= 1);
    await rejectsWith(
      cached(cache).validateAccessToken('dead'),
      MonoCloudTokenError, (e) => {
        assert.equal(e.code, 'inactive_token');
        assert.equal(e.message, 'Token is not active. A cached introspection result reported active=false');
      },
    );
    assert.equal(scripted.counts.introspect, 1);
    cache.put('stale-negative', { active: false, exp: now() - 1 });
    script(activeAnswer());
    await cached(cache).validateAccessToken('stale-negative');
  });

  test('failures other than inactive are not cached', async () => {
    const cache = new RecordingCache();
    for (const answer of [{ status: 500, body: '' }, activeAnswer({ iss: 'https://other' }), { status: 401, body: {} }]) {
      script(answer);
      await assert.rejects(cached(cache).validateAccessToken('tok'));
    }
    assert.equal(cache.calls.filter(([name]) => name === 'set').length, 0);
  });

  test('a token refused for its scopes is still cached; a later request is served from it', async () => {
    const cache = new RecordingCache();
    script(activeAnswer({ scope: 'read' }));
    await assert.rejects(cached(cache).validateAccessToken('tok', { scopes: ['write'] }));
    await cached(cache).validateAccessToken('tok', { scopes: ['read'] });
    assert.equal(scripted.counts.introspect, 1);
  });

  test('adapter errors reach the caller unchanged', async () => {
    const cache = new RecordingCache();
    const failure = new Error('redis is down');
    cache.failGet = failure;
    await assert.rejects(cached(cache).validateAccessToken('tok'), (e) => e === failure);
    assert.equal(scripted.counts.introspect, 0, 'no introspection when the cache failed');
    cache.failGet = undefined;
    cache.failSet = failure;
    script(activeAnswer());
    await assert.rejects(cached(cache).validateAccessToken('tok'), (e) => e === failure);
  });

  test('duration 0 never touches the adapter; JWTs never do', async () => {
    const cache = new RecordingCache();
    script(activeAnswer());
    await cached(cache, { introspectionCacheDuration: 0 }).validateAccessToken('tok');
    await assert.rejects(cached(cache).validateAccessToken('a.b.c'));
    assert.deepEqual(cache.calls, []);
  });
});

describe('the built-in cache', () => {
  test('is off by default: every validation asks, so a revocation shows at once', async () => {
    const client = introspecting();
    const token = issuer.mintOpaque();
    await client.validateAccessToken(token);
    await client.validateAccessToken(token);
    assert.equal(issuer.requests.introspection, 2);
    issuer.revoke(token);
    await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, (e) => assert.equal(e.code, 'inactive_token'));
  });

  test('introspectionCacheMaxEntries: 0 is accepted and means no cache, from options or the environment', async () => {
    const client = introspecting({ introspectionCacheMaxEntries: 0 });
    const token = issuer.mintOpaque();
    await client.validateAccessToken(token);
    await client.validateAccessToken(token);
    assert.equal(issuer.requests.introspection, 2);
    await withEnv({ MONOCLOUD_BACKEND_INTROSPECTION_CACHE_MAX_ENTRIES: '50' }, async () => {
      const fromEnv = introspecting();
      const cachedToken = issuer.mintOpaque();
      await fromEnv.validateAccessToken(cachedToken);
      await fromEnv.validateAccessToken(cachedToken);
    });
    assert.equal(issuer.requests.introspection, 3, 'the environment opted in');
    assert.throws(() => introspecting({ introspectionCacheMaxEntries: -1 }), (e) =>
      e instanceof MonoCloudValidationError && e.message === '"introspectionCacheMaxEntries" must be greater than or equal to 0');
  });

  // The built-in cache is opt-in (revised DECISION 20): this test asks for it.
  test('when asked for, answers repeats without the network', async () => {
    const client = introspecting({ introspectionCacheMaxEntries: 1000 });
    const token = issuer.mintOpaque();
    await client.validateAccessToken(token);
    await client.validateAccessToken(token);
    assert.equal(issuer.requests.introspection, 1);
    issuer.revoke(token);
    await client.validateAccessToken(token);
    const negative = issuer.mintOpaque();
    issuer.revoke(negative);
    for (let i = 0; i < 2; i++) await assert.rejects(client.validateAccessToken(negative));
    assert.equal(issuer.requests.introspection, 2);
  });

  test('holds at most introspectionCacheMaxEntries entries', async () => {
    const client = introspecting({ introspectionCacheMaxEntries: 5 });
    const tokens = Array.from({ length: 40 }, () => issuer.mintOpaque());
    for (const token of tokens) await client.validateAccessToken(token);
    issuer.resetCounters();
    for (const token of tokens) await client.validateAccessToken(token);
    assert.ok(issuer.requests.introspection >= 30, `only ${issuer.requests.introspection} of 40 were asked again`);
  });

  // Asked for, so that duration 0 is what turns it off.
  test('is off with introspectionCacheDuration 0', async () => {
    const client = introspecting({ introspectionCacheDuration: 0, introspectionCacheMaxEntries: 1000 });
    const token = issuer.mintOpaque();
    await client.validateAccessToken(token);
    await client.validateAccessToken(token);
    assert.equal(issuer.requests.introspection, 2);
  });
});

describe('callbacks', () => {
  test('resolvers replace the fetches and are cached like them', async () => {
    let metadataCalls = 0;
    let jwksCalls = 0;
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: issuer.url,
      audience: issuer.audience,
      metadataResolver: async () => {
        metadataCalls += 1;
        return { issuer: issuer.url, jwks_uri: 'http://127.0.0.1:1/unused' };
      },
      jwksResolver: () => {
        jwksCalls += 1;
        return issuer.jwks;
      },
    });
    await client.validateAccessToken(await issuer.mint());
    await client.validateAccessToken(await issuer.mint());
    assert.deepEqual([jwksCalls, issuer.requests.jwks, issuer.requests.discovery], [1, 0, 0]);
    assert.equal((await client.getMetadata()).issuer, issuer.url);
    assert.equal(metadataCalls, 1);
  });

  test('what a resolver throws reaches the caller unchanged', async () => {
    const failure = new TypeError('vault sealed');
    const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, jwksResolver: () => { throw failure; } });
    await assert.rejects(client.validateAccessToken(await issuer.mint()), (e) => e === failure);
    const rejecting = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, jwksResolver: () => Promise.reject(failure) });
    await assert.rejects(rejecting.validateAccessToken(await issuer.mint()), (e) => e === failure);
  });

  test('the fetcher gets upstream call shapes and carries every request', async () => {
    const calls = [];
    const fetcher = async (url, init) => {
      calls.push([url, init]);
      return fetch(url, init);
    };
    const client = introspecting({ fetcher, clientAuthMethod: 'client_secret_post' });
    await client.validateAccessToken(await issuer.mint());
    await client.validateAccessToken(issuer.mintOpaque());
    assert.equal(calls.length, 3);
    assert.equal(calls[0][0], `${issuer.url}/.well-known/openid-configuration`);
    assert.deepEqual(Object.keys(calls[0][1]), ['signal']);
    const [introspectUrl, init] = calls[2];
    assert.equal(introspectUrl, `${issuer.url}/introspect`);
    assert.equal(init.method, 'POST');
    assert.match(init.body, /^token=.+&token_type_hint=access_token&client_id=test-client&client_secret=test-secret$/);
    assert.deepEqual(init.headers, { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
    assert.ok(init.signal instanceof AbortSignal);
  });

  test('a failing or slow fetcher is a MonoCloudHttpError', async () => {
    const failing = introspecting({ fetcher: async () => { throw new Error('socket hang up'); } });
    await rejectsWith(failing.validateAccessToken(await issuer.mint()), MonoCloudHttpError, (e) => {
      assert.equal(e.message, 'socket hang up');
      assert.equal(e.status, undefined);
    });
    const slow = introspecting({
      responseTimeout: 1000,
      fetcher: (url, init) => new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new Error('aborted')))),
    });
    const started = Date.now();
    await rejectsWith(slow.validateAccessToken(await issuer.mint()), MonoCloudHttpError, (e) => {
      assert.equal(e.message, `Request to ${issuer.url}/.well-known/openid-configuration timed out after 1000ms`);
    });
    assert.ok(Date.now() - started < 3000);
  });
});
