// DPoP-bound outbound tokens (RFC 9449, client side) against real peers: oidc-provider, which
// requires a server nonce at its token endpoint, issues tokens bound to the token client's key;
// this package's own protectApi, with DPoP required and server nonces, is the API the token
// client's fetch() calls. A replayed proof and a proof by another key are refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { MonoCloudHttpError, MonoCloudTokenClient, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import * as DPoP from 'dpop';

import { privateJwk } from '../support/forge.mjs';
import { frameworks, serve } from '../support/frameworks.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';

const AUDIENCE = 'https://api.example.com';
const OTHER_API = 'https://other.example.com';
const NONCE_SECRET = 'a-secret-shared-by-the-whole-fleet-0123456789';

let op;
let app;

/** Token requests the issuer received. */
const tokenRequests = () => op.requests.filter((r) => r.method === 'POST' && r.path === '/token').length;

function jwtPayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/** RFC 7638 thumbprint of an EC key, computed here independently of the package. */
function ecThumbprint({ crv, kty, x, y }) {
  return createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
}

function tokenClient(options = {}) {
  return new MonoCloudTokenClient({
    tenantDomain: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret,
    clientAuthMethod: 'client_secret_basic',
    dpop: true,
    ...options,
  });
}

/** Runs `fn` with the global fetch recording each call's URL and headers (the token client's calls go through it). */
async function recordingFetches(fn) {
  const calls = [];
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    calls.push({ url: String(input instanceof Request ? input.url : input), headers: new Headers(init?.headers) });
    const response = await original(input, init);
    calls.at(-1).status = response.status;
    return response;
  };
  try {
    return { result: await fn(), calls };
  } finally {
    globalThis.fetch = original;
  }
}

before(async () => {
  op = await startOidcProvider({ audience: AUDIENCE, algs: ['RS256', 'ES256'], dpopNonce: true });
  const { protectApi } = frameworks[0].adapter;
  app = await serve(frameworks[0], {
    '/api': [protectApi({ tenantDomain: op.issuer, audience: AUDIENCE, dpop: { mode: 'required', nonceSecret: NONCE_SECRET } })()],
  });
});

after(async () => {
  await app?.close();
  await op?.close();
});

describe('the token endpoint', () => {
  test('issues a token bound to the generated key, through one nonce round trip; the nonce is then reused', async () => {
    const client = tokenClient();
    const before = tokenRequests();
    const token = await client.getAccessToken({ resource: AUDIENCE });
    assert.equal(token.tokenType, 'DPoP');
    assert.match(client.dpopThumbprint, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(jwtPayload(token.accessToken).cnf.jkt, client.dpopThumbprint);
    // oidc-provider asked for a nonce (400 use_dpop_nonce), the client answered once.
    assert.equal(tokenRequests() - before, 2);
    // Another token from the same issuer: the remembered nonce saves the round trip.
    const other = await client.getAccessToken({ resource: OTHER_API });
    assert.equal(tokenRequests() - before, 3);
    assert.equal(jwtPayload(other.accessToken).cnf.jkt, client.dpopThumbprint);
    // Cached: no new request.
    assert.equal((await client.getAccessToken({ resource: AUDIENCE })).accessToken, token.accessToken);
    assert.equal(tokenRequests() - before, 3);
  });

  test('binds to a given private JWK: cnf.jkt is its thumbprint', async () => {
    const key = privateJwk('ES256', { kid: 'dpop-key' });
    const client = tokenClient({ dpop: { key } });
    assert.equal(client.dpopThumbprint, ecThumbprint(key));
    const token = await client.getAccessToken({ resource: AUDIENCE });
    assert.equal(jwtPayload(token.accessToken).cnf.jkt, ecThumbprint(key));
    // As JSON text too (as from an environment variable or a secret store).
    assert.equal(tokenClient({ dpop: { key: JSON.stringify(key) } }).dpopThumbprint, ecThumbprint(key));
  });

  test('a Bearer answer when DPoP was asked for is a MonoCloudHttpError, without the token', async () => {
    // A fetcher that drops the proof: the issuer then answers with a Bearer token.
    const fetcher = (url, init) => {
      const headers = new Headers(init?.headers);
      headers.delete('dpop');
      return fetch(url, { ...init, headers });
    };
    const client = tokenClient({ fetcher });
    await assert.rejects(client.getAccessToken({ resource: AUDIENCE }), (error) => {
      assert.ok(error instanceof MonoCloudHttpError, String(error));
      assert.match(error.message, /Bearer token although DPoP was asked for/);
      assert.doesNotMatch(JSON.stringify(error.response ?? {}), /access_token/);
      return true;
    });
  });

  test('a Bearer and a DPoP client sharing a cache never take each other\'s tokens', async () => {
    const entries = new Map();
    const cache = {
      get: async (key) => entries.get(key),
      set: async (key, value) => void entries.set(key, value),
      delete: async (key) => void entries.delete(key),
    };
    const bearer = tokenClient({ dpop: false, cache });
    const bound = tokenClient({ cache });
    assert.equal(bearer.dpopThumbprint, undefined);
    assert.equal((await bearer.getAccessToken({ resource: AUDIENCE })).tokenType, 'Bearer');
    const token = await bound.getAccessToken({ resource: AUDIENCE });
    assert.equal(token.tokenType, 'DPoP');
    assert.equal(entries.size, 2);
    // A second DPoP client (another key) does not take the first one's bound token either.
    const otherKey = tokenClient({ cache });
    assert.notEqual((await otherKey.getAccessToken({ resource: AUDIENCE })).accessToken, token.accessToken);
    assert.equal(entries.size, 3);
  });

  test('a bad dpop option is a MonoCloudValidationError that shows no key material', () => {
    assert.throws(() => tokenClient({ dpop: 'yes' }), (error) => error instanceof MonoCloudValidationError && /"dpop" must be a boolean or an object/.test(error.message));
    const key = privateJwk('ES256');
    for (const broken of [{ ...key, alg: 'HS256' }, { ...key, d: 'AAAA' }, { ...key, crv: 'P-384' }]) {
      assert.throws(() => tokenClient({ dpop: { key: broken } }), (error) => {
        assert.ok(error instanceof MonoCloudValidationError, String(error));
        assert.match(error.message, /dpop\.key/);
        assert.ok(!error.message.includes(key.d) && !error.message.includes(key.x), error.message);
        return true;
      });
    }
  });
});

describe('the API (protectApi with DPoP required and server nonces)', () => {
  test('fetch() sends DPoP with a proof bound to the token, answers the nonce challenge once, then reuses the nonce', async () => {
    const client = tokenClient();
    const first = await recordingFetches(() => client.fetch(`${app.url}/api?page=1#top`, undefined, { resource: AUDIENCE }));
    assert.equal(first.result.status, 200);
    const { claims } = await first.result.json();
    assert.equal(claims.cnf.jkt, client.dpopThumbprint);
    assert.deepEqual(first.calls.map((c) => c.status), [401, 200]);
    const [challenged, retried] = first.calls;
    assert.match(challenged.headers.get('authorization'), /^DPoP /);
    const proof = jwtPayload(retried.headers.get('dpop'));
    assert.equal(proof.htm, 'GET');
    assert.equal(proof.htu, `${app.url}/api`, 'no query, no fragment');
    const token = retried.headers.get('authorization').slice('DPoP '.length);
    assert.equal(proof.ath, createHash('sha256').update(token).digest('base64url'));
    assert.ok(proof.nonce && !jwtPayload(challenged.headers.get('dpop')).nonce);
    assert.notEqual(proof.jti, jwtPayload(challenged.headers.get('dpop')).jti);

    // The nonce is remembered for the origin: the next call goes through at once.
    const second = await recordingFetches(() => client.fetch(`${app.url}/api`, { method: 'GET' }, { resource: AUDIENCE }));
    assert.deepEqual(second.calls.map((c) => c.status), [200]);

    // The same proof again: a replay, refused.
    const replay = await fetch(`${app.url}/api`, {
      headers: { authorization: retried.headers.get('authorization'), dpop: retried.headers.get('dpop') },
    });
    assert.equal(replay.status, 401);
    assert.match(replay.headers.get('www-authenticate'), /invalid_dpop_proof/);

    // The token with a proof by another key (carrying a valid nonce): refused.
    const thief = await DPoP.generateKeyPair('ES256');
    const nonce = replay.headers.get('dpop-nonce') ?? proof.nonce;
    const stolen = await fetch(`${app.url}/api`, {
      headers: { authorization: `DPoP ${token}`, dpop: await DPoP.generateProof(thief, `${app.url}/api`, 'GET', nonce, token) },
    });
    assert.equal(stolen.status, 401);
    assert.match(stolen.headers.get('www-authenticate'), /error="invalid_token"/);
  });

  test('getAuthorizationHeaders() gives the headers for another HTTP client; rememberDpopNonce() keeps its nonce', async () => {
    const client = tokenClient();
    const url = `${app.url}/api`;
    const firstHeaders = await client.getAuthorizationHeaders('GET', url, { resource: AUDIENCE });
    assert.match(firstHeaders.authorization, /^DPoP /);
    const challenged = await fetch(url, { headers: firstHeaders });
    assert.equal(challenged.status, 401);
    assert.match(challenged.headers.get('www-authenticate'), /use_dpop_nonce/);
    client.rememberDpopNonce(url, challenged.headers.get('dpop-nonce'));
    const ok = await fetch(url, { headers: await client.getAuthorizationHeaders('GET', url, { resource: AUDIENCE }) });
    assert.equal(ok.status, 200);
    // A proof is for one method and URL only.
    const wrongMethod = await client.getAuthorizationHeaders('POST', url, { resource: AUDIENCE });
    assert.equal((await fetch(url, { headers: wrongMethod })).status, 401);
  });

  test('a Bearer token client is refused by the DPoP-only API and fetch() does not loop', async () => {
    const client = tokenClient({ dpop: false });
    const { result, calls } = await recordingFetches(() => client.fetch(`${app.url}/api`, undefined, { resource: AUDIENCE }));
    assert.equal(result.status, 401);
    assert.ok(calls.length <= 2, `${calls.length} calls`);
  });
});

describe('a hand-made API', () => {
  /** Serves `answer(req, index)` ({ status, headers }) on 127.0.0.1, recording every request's headers. */
  async function api(answer) {
    const seen = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      const { status, headers = {} } = answer(req, seen.length - 1);
      res.writeHead(status, headers).end(status === 200 ? '{"ok":true}' : '{}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      url: `http://127.0.0.1:${server.address().port}`,
      seen,
      close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
    };
  }

  test('an API that asks for a nonce every time gets exactly one retry', async () => {
    let n = 0;
    const server = await api(() => ({
      status: 401,
      headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': `nonce-${(n += 1)}` },
    }));
    try {
      const response = await tokenClient().fetch(`${server.url}/x`, { method: 'POST', body: 'a=1' }, { resource: AUDIENCE });
      assert.equal(response.status, 401);
      assert.equal(server.seen.length, 2);
      assert.equal(jwtPayload(server.seen[1].dpop).nonce, 'nonce-1');
      assert.equal(jwtPayload(server.seen[1].dpop).htm, 'POST');
    } finally {
      await server.close();
    }
  });

  test('invalid_token: one retry with a new token and a proof for it', async () => {
    const server = await api((_req, index) => (index === 0 ? { status: 401, headers: { 'www-authenticate': 'DPoP error="invalid_token"' } } : { status: 200 }));
    try {
      const client = tokenClient();
      const response = await client.fetch(`${server.url}/x`, undefined, { resource: AUDIENCE });
      assert.equal(response.status, 200);
      assert.equal(server.seen.length, 2);
      const [first, second] = server.seen.map((headers) => headers.authorization.slice('DPoP '.length));
      assert.notEqual(first, second, 'a new token');
      assert.equal(jwtPayload(server.seen[1].dpop).ath, createHash('sha256').update(second).digest('base64url'));
      assert.equal(jwtPayload(second).cnf.jkt, client.dpopThumbprint);
    } finally {
      await server.close();
    }
  });
});
