// Nothing waits forever on user code: every callback on a request's path (the fetcher and its
// body, the resolvers, the cache adapter, protectApi's token and certificate resolvers) is
// bounded by responseTimeout and ends like an unreachable issuer (MonoCloudHttpError without a
// status, a 503 through protectApi). A hung shared fetch is abandoned, so the next request
// starts afresh. Key material is checked at construction instead of on the first request.
import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudHttpError, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import { protectApi as webProtectApi } from '@monocloud/backend-node-rs/web';

import { makeTestCertificates } from '../support/certificates.mjs';
import { privateJwk } from '../support/forge.mjs';
import { frameworks, get, serve } from '../support/frameworks.mjs';

// The least the Node client accepts; every hang below ends after about this long.
const TIMEOUT_MS = 1000;
// Generous against a loaded machine, far below "forever".
const BOUND_MS = TIMEOUT_MS + 2500;

const never = () => new Promise(() => {});

let issuer;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
});

after(async () => {
  await issuer?.close();
});

/** JWT-only options for the test issuer (no client id: introspection is not involved). */
const jwtOnly = (extra = {}) => ({ tenantDomain: issuer.url, audience: issuer.audience, responseTimeout: TIMEOUT_MS, ...extra });

/** Runs `fn`, returning what it resolved or rejected with and how long it took. */
async function timed(fn) {
  const started = performance.now();
  try {
    return { value: await fn(), ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

function assertTimedOut({ error, ms }, message) {
  assert.ok(error instanceof MonoCloudHttpError, `${error}`);
  assert.equal(error.status, undefined, 'no answer, as with an unreachable issuer');
  assert.match(error.message, message);
  assert.ok(ms >= TIMEOUT_MS - 50, `gave up after ${ms} ms, before the timeout`);
  assert.ok(ms < BOUND_MS, `gave up after ${ms} ms`);
}

describe('a fetcher that never settles', () => {
  test('ignoring its AbortSignal: every waiting request fails after responseTimeout, the next one fetches afresh', async () => {
    let hang = true;
    let calls = 0;
    const fetcher = (url, init) => {
      calls += 1;
      return hang ? never() : fetch(url, init);
    };
    const client = new MonoCloudBackendNodeClient(jwtOnly({ fetcher }));
    const token = await issuer.mint();
    const results = await Promise.all([1, 2, 3].map(() => timed(() => client.validateAccessToken(token))));
    for (const result of results) assertTimedOut(result, /\/\.well-known\/openid-configuration timed out after 1000ms/);
    assert.equal(calls, 1, 'the three requests shared one discovery fetch');

    hang = false;
    const { value, error } = await timed(() => client.validateAccessToken(token));
    assert.equal(error, undefined, `${error}`);
    assert.equal(value.iss, issuer.url);
    assert.equal(calls, 3, 'a fresh discovery and key set fetch, not the hung one');
  });

  test('whose Response.text() never ends: the exchange times out all the same', async () => {
    let hang = true;
    const fetcher = async (url, init) => {
      if (!hang) return fetch(url, init);
      // A body stream that is never closed: text() waits for ever, whatever the signal says.
      return new Response(new ReadableStream({ start() {} }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const client = new MonoCloudBackendNodeClient(jwtOnly({ fetcher }));
    const token = await issuer.mint();
    assertTimedOut(await timed(() => client.validateAccessToken(token)), /timed out after 1000ms/);
    hang = false;
    assert.equal((await client.validateAccessToken(token)).iss, issuer.url);
  });
});

describe('resolvers that never settle', () => {
  for (const name of ['metadataResolver', 'jwksResolver']) {
    test(`${name}: the shared fetch is abandoned after responseTimeout, the next call asks again`, async () => {
      let hang = true;
      let calls = 0;
      const real = {
        metadataResolver: async () => (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json(),
        jwksResolver: async () => issuer.jwks,
      };
      const client = new MonoCloudBackendNodeClient(
        jwtOnly({
          [name]: () => {
            calls += 1;
            return hang ? never() : real[name]();
          },
        }),
      );
      const token = await issuer.mint();
      const results = await Promise.all([1, 2].map(() => timed(() => client.validateAccessToken(token))));
      for (const result of results) assertTimedOut(result, new RegExp(`^${name} did not settle within 1000ms \\(responseTimeout\\)$`));
      assert.equal(calls, 1);
      hang = false;
      assert.equal((await client.validateAccessToken(token)).iss, issuer.url);
      assert.equal(calls, 2);
    });
  }
});

describe('a cache adapter that never settles', () => {
  test('get() and set() hang: the opaque token is introspected and answered in bounded time', async () => {
    const seen = [];
    const cache = {
      get: (key) => (seen.push('get'), never()),
      set: (key) => (seen.push('set'), never()),
      delete: async () => {},
    };
    const client = new MonoCloudBackendNodeClient({ ...issuer.clientOptions, responseTimeout: TIMEOUT_MS, cache });
    const before = issuer.requests.introspection;
    const { value, error, ms } = await timed(() => client.validateAccessToken(issuer.mintOpaque()));
    assert.equal(error, undefined, `${error}`);
    assert.equal(value.iss, issuer.url);
    assert.deepEqual(seen, ['get', 'set']);
    assert.equal(issuer.requests.introspection, before + 1, 'a cache that does not answer is a miss');
    assert.ok(ms < 2 * TIMEOUT_MS + 2500, `answered after ${ms} ms`);
  });

  test('a get() that throws still rejects with what it threw (unchanged behaviour)', async () => {
    const thrown = new Error('cache down');
    const cache = { get: async () => { throw thrown; }, set: async () => {}, delete: async () => {} };
    const client = new MonoCloudBackendNodeClient({ ...issuer.clientOptions, responseTimeout: TIMEOUT_MS, cache });
    await assert.rejects(client.validateAccessToken(issuer.mintOpaque()), (error) => error === thrown);
  });
});

for (const framework of frameworks.filter((f) => f.name === 'Express 5' || f.name === 'Fastify 5')) {
  describe(`${framework.name}: protectApi answers 503 for a hung callback`, () => {
    let app;
    let hangFetch = true;
    let fetchCalls = 0;
    const fetcher = (url, init) => {
      fetchCalls += 1;
      return hangFetch ? never() : fetch(url, init);
    };

    before(async () => {
      const { protectApi } = framework.adapter;
      // No onEvent and warnings on by default: silence the expected warnings of this suite.
      const quiet = { warnings: false };
      app = await serve(framework, {
        '/fetcher': [protectApi(jwtOnly({ fetcher, ...quiet }))()],
        '/token-resolver': [protectApi(jwtOnly({ tokenResolver: never, ...quiet }))()],
        '/certificate-resolver': [protectApi(jwtOnly({ certificateResolver: never, ...quiet }))()],
        '/sync-resolver': [protectApi(jwtOnly({ tokenResolver: (req) => req.headers['x-token'], ...quiet }))()],
        '/claim-check': [protectApi(jwtOnly(quiet))({ checks: [framework.adapter.claimCheck(() => never())] })],
      });
    });

    after(async () => {
      await app?.close();
    });

    async function call(path, headers) {
      return timed(() => get(`${app.url}${path}`, headers));
    }

    test('a fetcher that ignores its signal: 503 after responseTimeout, then 200 once it works again', async () => {
      const authorization = `Bearer ${await issuer.mint()}`;
      const [first, second] = await Promise.all([call('/fetcher', { authorization }), call('/fetcher', { authorization })]);
      for (const { value, ms } of [first, second]) {
        assert.equal(value.status, 503);
        assert.deepEqual(value.body, { message: 'service unavailable' });
        assert.ok(ms >= TIMEOUT_MS - 50 && ms < BOUND_MS, `${ms} ms`);
      }
      hangFetch = false;
      const { value } = await call('/fetcher', { authorization });
      assert.equal(value.status, 200);
      assert.equal(value.body.claims.iss, issuer.url);
      assert.equal(fetchCalls, 3, 'one hung discovery, then a fresh discovery and key set');
    });

    for (const path of ['/token-resolver', '/certificate-resolver', '/claim-check']) {
      test(`${path.slice(1)} that never settles: 503 after responseTimeout`, async () => {
        const { value, ms } = await call(path, { authorization: `Bearer ${await issuer.mint()}` });
        assert.equal(value.status, 503);
        assert.deepEqual(value.body, { message: 'service unavailable' });
        assert.ok(ms >= TIMEOUT_MS - 50 && ms < BOUND_MS, `${ms} ms`);
      });
    }

    test('a resolver that answers synchronously is used at once', async () => {
      const { value, ms } = await call('/sync-resolver', { 'x-token': await issuer.mint() });
      assert.equal(value.status, 200);
      assert.ok(ms < TIMEOUT_MS, `${ms} ms`);
    });
  });
}

test('fake timers installed by a test do not stop the bound', async () => {
  const { protect } = webProtectApi(jwtOnly({ tokenResolver: never, warnings: false }));
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { value, ms } = await timed(() => protect(new Request('http://api.example.com/x')));
    assert.ok(value instanceof Response);
    assert.equal(value.status, 503);
    assert.ok(ms < BOUND_MS, `${ms} ms`);
  } finally {
    mock.timers.reset();
  }
});

describe('key material is checked at construction', () => {
  const introspecting = (clientSecret, clientAuthMethod) =>
    new MonoCloudBackendNodeClient({ ...issuer.clientOptions, clientSecret, clientAuthMethod });

  function assertRefused(make, secretParts) {
    assert.throws(make, (error) => {
      assert.ok(error instanceof MonoCloudValidationError, `${error}`);
      for (const part of secretParts) assert.ok(!error.message.includes(part), 'no key material in the message');
      return true;
    });
  }

  test('a private_key_jwt JWK whose "d" is not base64url throws MonoCloudValidationError', () => {
    const jwk = privateJwk('ES256', { kid: 'k1' });
    assert.ok(introspecting(jwk, 'private_key_jwt'), 'the good key is accepted');
    assertRefused(() => introspecting({ ...jwk, d: `${jwk.d.slice(0, 10)}+/=${jwk.d.slice(13)}` }, 'private_key_jwt'), [jwk.d.slice(0, 10)]);
    assertRefused(() => introspecting(JSON.stringify({ ...jwk, d: '***' }), 'private_key_jwt'), [jwk.x]);
  });

  test('private_key_jwt JWKs that cannot sign (the wrong curve, no alg, a public key) throw; RS, PS and EdDSA keys pass', () => {
    const ec = privateJwk('ES256', { kid: 'k1' });
    const { d, ...publicOnly } = ec;
    assertRefused(() => introspecting({ ...ec, crv: 'P-384' }, 'private_key_jwt'), [d]);
    assertRefused(() => introspecting({ ...ec, alg: undefined }, 'private_key_jwt'), [d]);
    assertRefused(() => introspecting(publicOnly, 'private_key_jwt'), []);
    for (const alg of ['RS256', 'PS384', 'EdDSA']) assert.ok(introspecting(privateJwk(alg, { kid: alg }), 'private_key_jwt'), alg);
  });

  test('an oct JWK for client_secret_jwt whose "k" is not base64url throws', () => {
    assertRefused(() => introspecting({ kty: 'oct', alg: 'HS256', k: 'not base64url!'.repeat(4) }, 'client_secret_jwt'), ['not base64url']);
  });

  test('a TLS client key that is not a key throws', () => {
    const certs = makeTestCertificates();
    const tls = (key) => new MonoCloudBackendNodeClient({ ...jwtOnly(), tlsClientCertificate: certs.client.cert, tlsClientKey: key });
    assert.ok(tls(certs.client.key), 'the good pair is accepted');
    const [head, ...rest] = certs.client.key.trim().split('\n');
    const body = rest.slice(0, -1).join('');
    const corrupted = [head, `${body.slice(0, 8)}AAAAAAAA${body.slice(16)}`.match(/.{1,64}/g).join('\n'), rest.at(-1)].join('\n');
    assertRefused(() => tls(corrupted), [body.slice(20, 40)]);
    assertRefused(() => tls(certs.stranger.key), []);
    certs.remove();
  });
});
