// How the client copes with an authorization server that misbehaves while it fetches the
// discovery document and the key set: status codes, bodies, redirects, slowness, size,
// broken connections, and the caching / single-flight / unknown-kid rules around them.
//
// What upstream (@monocloud/backend-node) does is kept where it says; where it says nothing,
// the project bounds it (timeouts, body sizes, caching), and the bound is asserted.
//
// The scripted issuer of support/scripted-issuer.mjs ("faulty") serves
// /.well-known/openid-configuration and /jwks; each path's behaviour is switched per test. Its
// key set is proxied live from a real createTestIssuer(), which mints the tokens (with `iss`
// set to the faulty issuer's url, since the client expects `iss` to equal its tenantDomain).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import {
  MonoCloudBackendNodeClient,
  MonoCloudHttpError,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { rejectsWith } from '../support/rejects.mjs';
import {
  DISCOVERY_PATH,
  MIB,
  answer,
  deadUrl as freshDeadUrl,
  delayed,
  firstThen,
  hugeDeclared,
  hugeStreamed,
  json,
  paddedJson,
  redirect,
  resetConnection,
  resetMidBody,
  startScriptedIssuer,
  trickle,
} from '../support/scripted-issuer.mjs';

const TIMEOUT_MS = 1000;
const NO_UNIQUE_KEY =
  'error when selecting a JWT verification key, multiple applicable keys found, a "kid" JWT Header Parameter is required';

// ---------------------------------------------------------------------------------------------
// Assertions

/** A transport-level failure: an HttpError without a response. */
function noResponse(error) {
  assert.equal(error.status, undefined);
  assert.equal(error.statusText, undefined);
  assert.equal(error.raw, undefined);
}

async function timed(fn) {
  const start = performance.now();
  try {
    return { value: await fn(), elapsed: performance.now() - start };
  } catch (error) {
    return { error, elapsed: performance.now() - start };
  }
}

function settled(outcome) {
  if (outcome.error) return Promise.reject(outcome.error);
  return Promise.resolve(outcome.value);
}

/** `call` fails at the transport (no answer, and not by a timeout) well within responseTimeout. */
async function failsFast(call) {
  const outcome = await timed(call);
  await rejectsWith(settled(outcome), MonoCloudHttpError, (err) => {
    noResponse(err);
    assert.doesNotMatch(err.message, /timed out/);
  });
  assert.ok(outcome.elapsed < 900, `took ${outcome.elapsed.toFixed(0)} ms`);
}

/** `call` times out fetching `url` after responseTimeout (and, when `early` is checked, not before). */
async function timesOut(call, url, { early = true } = {}) {
  const outcome = await timed(call);
  await rejectsWith(settled(outcome), MonoCloudHttpError, (err) => {
    assert.equal(err.message, `Request to ${url} timed out after 1000ms`);
    noResponse(err);
  });
  if (early) assert.ok(outcome.elapsed >= 900, `settled too early: ${outcome.elapsed.toFixed(0)} ms`);
  assert.ok(outcome.elapsed < 1500, `settled after ${outcome.elapsed.toFixed(0)} ms`);
}

// ---------------------------------------------------------------------------------------------

describe('issuer faults', () => {
  let issuer;
  let faulty;
  let other;

  before(async () => {
    issuer = await createTestIssuer();
    faulty = await startScriptedIssuer({ jwks: () => issuer.jwks });
    // Another origin, well-behaved, that only counts who reaches it.
    other = await startScriptedIssuer({ jwks: () => issuer.jwks });
  });

  after(async () => {
    await faulty?.close();
    await other?.close();
    await issuer?.close();
  });

  beforeEach(() => {
    faulty.reset();
    other.clearCounts();
  });

  const newClient = (options = {}) =>
    new MonoCloudBackendNodeClient({
      tenantDomain: faulty.url,
      audience: issuer.audience,
      responseTimeout: TIMEOUT_MS,
      ...options,
    });

  const goodToken = (options = {}) =>
    issuer.mint({ alg: 'ES256', ...options, claims: { iss: faulty.url, ...options.claims } });

  /** The issuer behaves again and the same client serves a good token. */
  async function recovers(client) {
    faulty.heal();
    const claims = await client.validateAccessToken(await goodToken());
    assert.equal(claims.iss, faulty.url);
    assert.equal(claims.aud, issuer.audience);
  }

  it('sanity: a well-behaved faulty issuer validates a token with one fetch each', async () => {
    const client = newClient();
    const claims = await client.validateAccessToken(await goodToken());
    assert.equal(claims.iss, faulty.url);
    assert.deepEqual(faulty.counts, { discovery: 1, jwks: 1, other: 0 });
  });

  describe('1. discovery status codes', () => {
    const cases = [
      [404, 'Not Found'],
      [201, 'Created'],
      [500, 'Internal Server Error'],
      [429, 'Too Many Requests'],
      [503, 'Service Unavailable'],
    ];
    for (const [status, statusText] of cases) {
      it(`${status} is a MonoCloudHttpError carrying the answer`, async () => {
        // Even a 201 carrying a perfectly good document is refused.
        const body =
          status === 201
            ? JSON.stringify({ issuer: faulty.url, jwks_uri: `${faulty.url}/jwks` })
            : JSON.stringify({ error: `nope-${status}` });
        faulty.on('discovery', answer(status, body, { 'x-fault': 'yes' }));
        const client = newClient();
        await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
          assert.equal(err.message, `Error while fetching metadata. Unexpected status code: ${status}`);
          assert.equal(err.status, status);
          assert.equal(err.statusText, statusText);
          assert.equal(err.raw.status, status);
          assert.equal(err.raw.statusText, statusText);
          assert.equal(err.raw.body, body);
          assert.equal(err.raw.headers['x-fault'], 'yes');
          assert.equal(err.raw.headers['content-type'], 'application/json');
        });
        assert.equal(faulty.counts.jwks, 0);
        await recovers(client);
      });
    }

    it('getMetadata() reports the same error', async () => {
      faulty.on('discovery', answer(404, 'gone', { 'content-type': 'text/plain' }));
      const client = newClient();
      await rejectsWith(client.getMetadata(), MonoCloudHttpError, (err) => {
        assert.equal(err.message, 'Error while fetching metadata. Unexpected status code: 404');
        assert.equal(err.status, 404);
        assert.equal(err.raw.body, 'gone');
      });
      faulty.heal();
      const metadata = await client.getMetadata();
      assert.equal(metadata.jwks_uri, `${faulty.url}/jwks`);
    });

    it('raw headers: lowercase names, repeated headers comma-joined, set-cookie dropped', async () => {
      faulty.on('discovery', (_req, res) => {
        res.setHeader('X-Multi', ['a', 'b']);
        res.setHeader('Set-Cookie', ['session=secret']);
        res.setHeader('Content-Type', 'text/plain');
        res.writeHead(500);
        res.end('boom');
      });
      const client = newClient();
      await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
        assert.equal(err.status, 500);
        assert.equal(err.raw.headers['x-multi'], 'a, b');
        assert.equal(err.raw.headers['content-type'], 'text/plain');
        assert.equal(err.raw.headers['set-cookie'], undefined);
        assert.ok(!Object.keys(err.raw.headers).some((name) => name !== name.toLowerCase()));
      });
    });

    // TODO(addon): statusText is the canonical reason for the code, not the server's reason
    // phrase. Upstream (fetch) reports Response.statusText, i.e. what the server sent
    // in the raw answer it keeps. src/core/http.rs Response::raw uses
    // reqwest::StatusCode::canonical_reason. Minor; reported, not weakened.
    it('statusText is the reason phrase the server sent', async () => {
      faulty.on('discovery', answer(404, '{}', {}, 'Gone Fishing'));
      const client = newClient();
      await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
        assert.equal(err.status, 404);
        assert.equal(err.statusText, 'Gone Fishing');
      });
    });
  });

  describe('2. JWKS status codes', () => {
    for (const status of [404, 500, 201, 401, 429]) {
      it(`${status} is a MonoCloudHttpError; the good discovery document stays cached`, async () => {
        const body = status === 201 ? JSON.stringify(issuer.jwks) : `{"error":"jwks-${status}"}`;
        faulty.on('jwks', answer(status, body));
        const client = newClient();
        await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
          assert.equal(err.message, `Error while fetching JWKS. Unexpected status code: ${status}`);
          assert.equal(err.status, status);
          assert.equal(err.raw.body, body);
        });
        assert.deepEqual(faulty.counts, { discovery: 1, jwks: 1, other: 0 });
        await recovers(client);
        // The key set is fetched again; the discovery document is not.
        assert.deepEqual(faulty.counts, { discovery: 1, jwks: 2, other: 0 });
      });
    }

    it('getJwks() reports the same error', async () => {
      faulty.on('jwks', answer(502, 'bad gateway', { 'content-type': 'text/plain' }));
      const client = newClient();
      await rejectsWith(client.getJwks(), MonoCloudHttpError, (err) => {
        assert.equal(err.message, 'Error while fetching JWKS. Unexpected status code: 502');
        assert.equal(err.status, 502);
        assert.equal(err.statusText, 'Bad Gateway');
      });
    });
  });

  describe('3. discovery without jwks_uri', () => {
    for (const [label, document] of [
      ['missing', (url) => ({ issuer: url })],
      ['null', (url) => ({ issuer: url, jwks_uri: null })],
    ]) {
      it(`jwks_uri ${label} is a MonoCloudValidationError`, async () => {
        faulty.on('discovery', json(200, document(faulty.url)));
        const client = newClient();
        await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudValidationError, (err) => {
          assert.equal(err.message, 'jwks_uri endpoint is required but not available in the issuer metadata');
        });
        await rejectsWith(client.getJwks(), MonoCloudValidationError);
        assert.equal(faulty.counts.jwks, 0);
        // The document itself was fine, so it is cached: recovery needs a refresh of it.
        faulty.heal();
        await client.getMetadata(true);
        await recovers(client);
      });
    }
  });

  describe('4. discovery bodies that are not a JSON object', () => {
    for (const [label, body] of [
      ['HTML', '<html><body>Sign in</body></html>'],
      ['truncated JSON', '{"issuer":'],
      ['an empty body', ''],
    ]) {
      it(`${label} fails to parse`, async () => {
        faulty.on('discovery', answer(200, body, { 'content-type': 'text/html' }));
        const client = newClient();
        await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
          assert.ok(
            err.message.startsWith('Failed to parse response body as JSON : '),
            `unexpected message: ${err.message}`,
          );
          assert.ok(err.message.length > 'Failed to parse response body as JSON : '.length);
          assert.equal(err.status, 200);
          assert.equal(err.raw.body, body);
        });
        await recovers(client);
      });
    }

    for (const [label, body] of [
      ['a JSON array', JSON.stringify([{ jwks_uri: 'http://127.0.0.1:1/jwks' }])],
      ['a JSON string', '"hello"'],
      ['JSON null', 'null'],
    ]) {
      it(`${label} fails`, async () => {
        faulty.on('discovery', answer(200, body));
        const client = newClient();
        await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
          assert.equal(err.status, 200);
          assert.equal(err.raw.body, body);
        });
        await recovers(client);
      });
    }

    // TODO(addon): upstream reads the body with Response.text() (UTF-8 decode, which strips a
    // leading BOM) before JSON.parse, so a BOM-prefixed document works there. Here serde_json
    // sees the BOM: "Failed to parse response body as JSON : expected value at line 1 column 1".
    it('a discovery document with a UTF-8 BOM is accepted (as upstream)', async () => {
      faulty.on('discovery', (_req, res, ctx) =>
        answer(200, `\ufeff${JSON.stringify({ issuer: ctx.url, jwks_uri: `${ctx.url}/jwks` })}`)(_req, res));
      const client = newClient();
      const claims = await client.validateAccessToken(await goodToken());
      assert.equal(claims.iss, faulty.url);
    });

    it('a JWKS that is not JSON fails to parse', async () => {
      faulty.on('jwks', answer(200, 'not json', { 'content-type': 'text/plain' }));
      const client = newClient();
      await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
        assert.ok(err.message.startsWith('Failed to parse response body as JSON : '), err.message);
        assert.equal(err.status, 200);
      });
      await recovers(client);
    });
  });

  describe('5. JWKS without a keys array', () => {
    for (const [label, body] of [
      ['{}', '{}'],
      ['keys: object', '{"keys":{}}'],
      ['keys: null', '{"keys":null}'],
      ['a bare array of keys', JSON.stringify([{ kty: 'EC' }])],
    ]) {
      it(`${label} is a MonoCloudHttpError`, async () => {
        faulty.on('jwks', answer(200, body));
        const client = newClient();
        await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError);
        await rejectsWith(client.getJwks(), MonoCloudHttpError);
        await recovers(client);
      });
    }
  });

  describe('6. redirects are not followed', () => {
    for (const status of [301, 302, 303, 307, 308]) {
      it(`discovery ${status} to another origin is an error; the other origin is not contacted`, async () => {
        const location = `${other.url}${DISCOVERY_PATH}`;
        faulty.on('discovery', redirect(status, location));
        const client = newClient();
        await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
          assert.equal(err.message, `Error while fetching metadata. Unexpected status code: ${status}`);
          assert.equal(err.status, status);
          assert.equal(err.raw.headers.location, location);
        });
        assert.equal(other.requests.length, 0);
        await recovers(client);
        assert.equal(other.requests.length, 0);
      });
    }

    it('JWKS 302 to another origin (serving a valid key set) is an error', async () => {
      faulty.on('jwks', redirect(302, `${other.url}/jwks`));
      const client = newClient();
      await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
        assert.equal(err.message, 'Error while fetching JWKS. Unexpected status code: 302');
        assert.equal(err.status, 302);
      });
      assert.equal(other.requests.length, 0);
      await recovers(client);
      assert.equal(other.requests.length, 0);
    });

    it('a same-origin redirect is not followed either', async () => {
      faulty.on('jwks', redirect(307, `${faulty.url}/jwks?again`));
      const client = newClient();
      await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
        assert.equal(err.status, 307);
      });
      assert.equal(faulty.counts.jwks, 1);
    });
  });

  describe('7. responseTimeout bounds the whole exchange', () => {
    const discoveryUrl = () => `${faulty.url}${DISCOVERY_PATH}`;

    it('slow discovery headers (3 s) time out after ~1 s', async () => {
      faulty.on('discovery', delayed(3000, (req, res, ctx) => ctx.defaults.discovery(req, res)));
      const client = newClient();
      const token = await goodToken();
      await timesOut(() => client.validateAccessToken(token), discoveryUrl());
      await recovers(client);
    });

    it('slow JWKS headers (3 s) time out after ~1 s, naming the JWKS url', async () => {
      faulty.on('jwks', delayed(3000, (req, res, ctx) => ctx.defaults.jwks(req, res)));
      const client = newClient();
      const token = await goodToken();
      await timesOut(() => client.validateAccessToken(token), `${faulty.url}/jwks`, { early: false });
      await recovers(client);
    });

    it('a trickling discovery body (1 byte / 200 ms for 5 s) times out after ~1 s', async () => {
      // 25 bytes over 5 s: a complete JSON object if the client waited for all of it.
      const body = `{"p":"${'x'.repeat(17)}"}`;
      assert.equal(body.length, 25);
      faulty.on('discovery', trickle(body, 200));
      const client = newClient();
      const token = await goodToken();
      await timesOut(() => client.validateAccessToken(token), discoveryUrl());
      await recovers(client);
    });

    it('a trickling JWKS body times out after ~1 s', async () => {
      faulty.on('jwks', trickle('{"keys":[]}'.padEnd(25, ' '), 200));
      const client = newClient();
      const token = await goodToken();
      await timesOut(() => client.validateAccessToken(token), `${faulty.url}/jwks`, { early: false });
      await recovers(client);
    });

    it('the timeout applies to each request separately (700 ms + 700 ms succeeds)', async () => {
      faulty.on('discovery', delayed(700, (req, res, ctx) => ctx.defaults.discovery(req, res)));
      faulty.on('jwks', delayed(700, (req, res, ctx) => ctx.defaults.jwks(req, res)));
      const client = newClient();
      const token = await goodToken();
      const outcome = await timed(() => client.validateAccessToken(token));
      const claims = await settled(outcome);
      assert.equal(claims.iss, faulty.url);
      assert.ok(outcome.elapsed >= 1300, `${outcome.elapsed.toFixed(0)} ms`);
    });

    it('the timeout message uses the configured value', async () => {
      faulty.on('discovery', delayed(3000, (req, res, ctx) => ctx.defaults.discovery(req, res)));
      const client = newClient({ responseTimeout: 1200 });
      const outcome = await timed(() => client.getMetadata());
      await rejectsWith(settled(outcome), MonoCloudHttpError, (err) => {
        assert.equal(err.message, `Request to ${discoveryUrl()} timed out after 1200ms`);
      });
      assert.ok(outcome.elapsed < 1700, `settled after ${outcome.elapsed.toFixed(0)} ms`);
    });
  });

  describe('8. bodies over 1 MiB', () => {
    it('a declared 2 MiB discovery body is refused promptly, without a status', async () => {
      faulty.on('discovery', hugeDeclared(2 * MIB));
      const client = newClient();
      const token = await goodToken();
      await failsFast(() => client.validateAccessToken(token));
      await recovers(client);
    });

    it('an endless chunked discovery body (no content-length) is cut off promptly', async () => {
      faulty.on('discovery', hugeStreamed());
      const client = newClient();
      const token = await goodToken();
      await failsFast(() => client.validateAccessToken(token));
      await recovers(client);
    });

    it('an endless chunked JWKS body is cut off promptly', async () => {
      faulty.on('jwks', hugeStreamed());
      const client = newClient();
      const token = await goodToken();
      await failsFast(() => client.validateAccessToken(token));
      await recovers(client);
    });

    it('exactly 1 MiB is accepted, 1 MiB + 1 byte is not', async () => {
      faulty.on('jwks', (_req, res) => answer(200, paddedJson(issuer.jwks, MIB))(_req, res));
      const client = newClient({ jwksCacheDuration: 0 });
      const claims = await client.validateAccessToken(await goodToken());
      assert.equal(claims.iss, faulty.url);

      faulty.on('jwks', (_req, res) => answer(200, paddedJson(issuer.jwks, MIB + 1))(_req, res));
      await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, noResponse);
      await recovers(client);
    });
  });

  describe('9. broken connections', () => {
    it('connection refused is a MonoCloudHttpError without a status', async () => {
      const deadUrl = await freshDeadUrl();
      const client = new MonoCloudBackendNodeClient({
        tenantDomain: deadUrl,
        audience: issuer.audience,
        responseTimeout: TIMEOUT_MS,
      });
      const token = await issuer.mint({ alg: 'ES256', claims: { iss: deadUrl } });
      await failsFast(() => client.validateAccessToken(token));
      await rejectsWith(client.getMetadata(), MonoCloudHttpError, noResponse);
    });

    it('a connection reset before the answer is a MonoCloudHttpError without a status', async () => {
      faulty.on('discovery', resetConnection());
      const client = newClient();
      const err = await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, noResponse);
      assert.doesNotMatch(err.message, /timed out/);
      await recovers(client);
    });

    it('a JWKS connection reset is a MonoCloudHttpError without a status', async () => {
      faulty.on('jwks', resetConnection());
      const client = newClient();
      await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, noResponse);
      await recovers(client);
    });

    it('a connection reset in the middle of the body is a MonoCloudHttpError without a status', async () => {
      faulty.on('jwks', resetMidBody());
      const client = newClient();
      const token = await goodToken();
      await failsFast(() => client.validateAccessToken(token));
      await recovers(client);
    });
  });

  describe('10. no poisoned cache', () => {
    it('discovery fails once (500), then the next validation succeeds', async () => {
      faulty.on('discovery', firstThen(1, answer(500, '{"error":"down"}'), (req, res, ctx) => ctx.defaults.discovery(req, res)));
      const client = newClient();
      await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, (err) => {
        assert.equal(err.status, 500);
      });
      const claims = await client.validateAccessToken(await goodToken());
      assert.equal(claims.iss, faulty.url);
      assert.deepEqual(faulty.counts, { discovery: 2, jwks: 1, other: 0 });
    });

    it('JWKS fails once (timeout), then the next validation succeeds', async () => {
      faulty.on('jwks', firstThen(1, delayed(3000, () => {}), (req, res, ctx) => ctx.defaults.jwks(req, res)));
      const client = newClient();
      await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError, noResponse);
      const claims = await client.validateAccessToken(await goodToken());
      assert.equal(claims.iss, faulty.url);
      assert.deepEqual(faulty.counts, { discovery: 1, jwks: 2, other: 0 });
    });

    it('concurrent callers of a failing discovery share one failure, and nothing is cached', async () => {
      faulty.on('discovery', delayed(100, answer(500, '{"error":"down"}')));
      const client = newClient();
      const tokens = await Promise.all(Array.from({ length: 50 }, () => goodToken()));
      const results = await Promise.allSettled(tokens.map((t) => client.validateAccessToken(t)));
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.ok(result.reason instanceof MonoCloudHttpError);
        assert.equal(result.reason.status, 500);
      }
      assert.equal(faulty.counts.discovery, 1);
      await recovers(client);
      assert.equal(faulty.counts.discovery, 2);
    });
  });

  describe('11. single flight', () => {
    it('200 concurrent cold validations make 1 discovery and 1 JWKS request', async () => {
      faulty.on('discovery', delayed(100, (req, res, ctx) => ctx.defaults.discovery(req, res)));
      const client = newClient();
      const tokens = await Promise.all(Array.from({ length: 200 }, () => goodToken()));
      const results = await Promise.allSettled(tokens.map((t) => client.validateAccessToken(t)));
      const failures = results.filter((r) => r.status === 'rejected');
      assert.equal(failures.length, 0, failures.slice(0, 3).map((f) => String(f.reason?.message)).join('; '));
      for (const result of results) assert.equal(result.value.iss, faulty.url);
      assert.deepEqual(faulty.counts, { discovery: 1, jwks: 1, other: 0 });
    });

    it('concurrent lookups after the key set expires make 1 JWKS request', async () => {
      const client = newClient({ jwksCacheDuration: 1 });
      await client.validateAccessToken(await goodToken());
      assert.deepEqual(faulty.counts, { discovery: 1, jwks: 1, other: 0 });
      const tokens = await Promise.all(Array.from({ length: 50 }, () => goodToken()));
      await new Promise((resolve) => setTimeout(resolve, 1100));
      faulty.on('jwks', delayed(100, (req, res, ctx) => ctx.defaults.jwks(req, res)));
      const results = await Promise.all(tokens.map((t) => client.validateAccessToken(t)));
      assert.equal(results.length, 50);
      assert.deepEqual(faulty.counts, { discovery: 1, jwks: 2, other: 0 });
    });

    it('concurrent getMetadata()/getJwks() on a cold client share the fetches', async () => {
      faulty.on('discovery', delayed(100, (req, res, ctx) => ctx.defaults.discovery(req, res)));
      const client = newClient();
      const [metadata, jwks] = await Promise.all([
        Promise.all(Array.from({ length: 20 }, () => client.getMetadata())),
        Promise.all(Array.from({ length: 20 }, () => client.getJwks())),
      ]);
      assert.equal(metadata[19].jwks_uri, `${faulty.url}/jwks`);
      assert.deepEqual(jwks[19], issuer.jwks);
      assert.deepEqual(faulty.counts, { discovery: 1, jwks: 1, other: 0 });
    });
  });

  describe('12. caching', () => {
    it('a second validation does not refetch', async () => {
      const client = newClient();
      await client.validateAccessToken(await goodToken());
      await client.validateAccessToken(await goodToken());
      assert.deepEqual(faulty.counts, { discovery: 1, jwks: 1, other: 0 });
    });

    it('getMetadata(true) and getJwks(true) refetch; plain calls use the cache', async () => {
      const client = newClient();
      await client.validateAccessToken(await goodToken());

      const metadata = await client.getMetadata(true);
      assert.equal(metadata.jwks_uri, `${faulty.url}/jwks`);
      assert.deepEqual(faulty.counts, { discovery: 2, jwks: 1, other: 0 });
      await client.getMetadata();
      assert.deepEqual(faulty.counts, { discovery: 2, jwks: 1, other: 0 });

      const jwks = await client.getJwks(true);
      assert.deepEqual(jwks, issuer.jwks);
      assert.deepEqual(faulty.counts, { discovery: 2, jwks: 2, other: 0 });
      await client.getJwks();
      await client.validateAccessToken(await goodToken());
      assert.deepEqual(faulty.counts, { discovery: 2, jwks: 2, other: 0 });
    });

    it('metadataCacheDuration: 0 and jwksCacheDuration: 0 fetch on every validation', async () => {
      const client = newClient({ metadataCacheDuration: 0, jwksCacheDuration: 0 });
      for (let i = 1; i <= 3; i += 1) {
        await client.validateAccessToken(await goodToken());
        assert.deepEqual(faulty.counts, { discovery: i, jwks: i, other: 0 });
      }
    });

    it('jwksCacheDuration: 0 alone refetches the key set, not the discovery document', async () => {
      const client = newClient({ jwksCacheDuration: 0 });
      for (let i = 1; i <= 3; i += 1) await client.validateAccessToken(await goodToken());
      assert.deepEqual(faulty.counts, { discovery: 1, jwks: 3, other: 0 });
    });

    it('metadataCacheDuration: 0 alone refetches the document whenever it is needed', async () => {
      const client = newClient({ metadataCacheDuration: 0 });
      // A cached key set needs no discovery document (upstream: getJwks only asks for
      // metadata when it fetches).
      for (let i = 0; i < 3; i += 1) await client.validateAccessToken(await goodToken());
      assert.deepEqual(faulty.counts, { discovery: 1, jwks: 1, other: 0 });
      await client.getMetadata();
      await client.getMetadata();
      assert.deepEqual(faulty.counts, { discovery: 3, jwks: 1, other: 0 });
      await client.getJwks(true);
      assert.deepEqual(faulty.counts, { discovery: 4, jwks: 2, other: 0 });
    });

    it('a failed forced refresh throws (the stale value is not served by that call)', async () => {
      const client = newClient();
      await client.getMetadata();
      faulty.on('discovery', answer(500, '{}'));
      await rejectsWith(client.getMetadata(true), MonoCloudHttpError, (err) => assert.equal(err.status, 500));
      faulty.on('jwks', answer(500, '{}'));
      await rejectsWith(client.getJwks(true), MonoCloudHttpError, (err) => assert.equal(err.status, 500));
      await recovers(client);
    });

    // TODO(addon): a failed forced refresh also throws away the value that was cached
    // (Fetched::get invalidates before fetching). Upstream's getJwks/getMetadata only assign
    // the cache after a successful fetch, so a later plain call still gets the unexpired
    // value. Here, after a failed getJwks(true), every validation refetches and fails while
    // the issuer is down.
    it('a failed forced refresh leaves the unexpired cached value for later calls', async () => {
      const client = newClient();
      await client.validateAccessToken(await goodToken());
      faulty.on('jwks', answer(503, '{}'));
      await rejectsWith(client.getJwks(true), MonoCloudHttpError, (err) => assert.equal(err.status, 503));
      assert.deepEqual(await client.getJwks(), issuer.jwks);
      const claims = await client.validateAccessToken(await goodToken());
      assert.equal(claims.iss, faulty.url);
      assert.equal(faulty.counts.jwks, 2);
    });
  });

  describe('13. unknown kid', () => {
    let rotating;
    let rotFaulty;

    before(async () => {
      rotating = await createTestIssuer({ algs: ['ES256'] });
      rotFaulty = await startScriptedIssuer({ jwks: () => rotating.jwks });
    });
    after(async () => {
      await rotFaulty?.close();
      await rotating?.close();
    });
    beforeEach(() => rotFaulty.reset());

    const rotClient = () =>
      new MonoCloudBackendNodeClient({
        tenantDomain: rotFaulty.url,
        audience: rotating.audience,
        responseTimeout: TIMEOUT_MS,
      });
    const rotToken = (options = {}) =>
      rotating.mint({ ...options, claims: { iss: rotFaulty.url, ...options.claims } });

    async function bogusKids(client, count) {
      const tokens = await Promise.all(
        Array.from({ length: count }, (_, i) => rotToken({ header: { kid: `nope-${i}` } })),
      );
      const results = await Promise.allSettled(tokens.map((t) => client.validateAccessToken(t)));
      for (const [i, result] of results.entries()) {
        assert.equal(result.status, 'rejected', `bogus kid #${i} was accepted`);
        assert.ok(
          result.reason instanceof MonoCloudTokenError,
          `bogus kid #${i}: ${result.reason?.constructor?.name}: ${result.reason?.message}`,
        );
        assert.equal(result.reason.code, 'invalid_token');
        assert.equal(result.reason.message, NO_UNIQUE_KEY);
      }
    }

    it('a rotated key is picked up with one refetch; then 1,000 bogus kids cause at most one more', async () => {
      const client = rotClient();
      const oldToken = await rotToken();
      await client.validateAccessToken(oldToken);
      assert.deepEqual(rotFaulty.counts, { discovery: 1, jwks: 1, other: 0 });

      rotating.rotateKeys();
      const newToken = await rotToken();
      const claims = await client.validateAccessToken(newToken);
      assert.equal(claims.iss, rotFaulty.url);
      assert.deepEqual(rotFaulty.counts, { discovery: 1, jwks: 2, other: 0 });

      await bogusKids(client, 1000);
      assert.ok(rotFaulty.counts.jwks <= 3, `JWKS fetched ${rotFaulty.counts.jwks} times`);
      assert.equal(rotFaulty.counts.discovery, 1);

      // The old key is gone from the refreshed set.
      await rejectsWith(client.validateAccessToken(oldToken), MonoCloudTokenError, (err) => {
        assert.equal(err.code, 'invalid_token');
      });
      // And the client still serves good tokens.
      await client.validateAccessToken(await rotToken());
    });

    it('on a fresh cooldown, 1,000 bogus kids cause exactly one refetch', async () => {
      const client = rotClient();
      await client.validateAccessToken(await rotToken());
      assert.deepEqual(rotFaulty.counts, { discovery: 1, jwks: 1, other: 0 });
      await bogusKids(client, 1000);
      assert.deepEqual(rotFaulty.counts, { discovery: 1, jwks: 2, other: 0 });
      await client.validateAccessToken(await rotToken());
      assert.deepEqual(rotFaulty.counts, { discovery: 1, jwks: 2, other: 0 });
    });

    it('the cooldown is per client', async () => {
      const first = rotClient();
      const second = rotClient();
      await first.validateAccessToken(await rotToken());
      await second.validateAccessToken(await rotToken());
      await bogusKids(first, 10);
      await bogusKids(second, 10);
      assert.equal(rotFaulty.counts.jwks, 4);
    });

    // TODO(addon): the unknown-kid refetch drops the cached key set before fetching
    // (src/core/cache.rs Fetched::get with refresh=true invalidates first). If that refetch
    // fails, the client is left with no keys: every good token after it fails (and refetches)
    // until the issuer's JWKS endpoint is back. One made-up kid during a JWKS outage thus
    // takes down validation that the cached key set would have carried (an issuer's failure
    // must never outlast it: the next request is served normally). The bogus token itself currently gets a
    // MonoCloudHttpError 503 rather than invalid_token; only "rejected" is asserted here.
    it('a failed unknown-kid refetch keeps the cached key set', async () => {
      const client = rotClient();
      await client.validateAccessToken(await rotToken());
      rotFaulty.on('jwks', answer(503, '{"error":"down"}'));
      await assert.rejects(client.validateAccessToken(await rotToken({ header: { kid: 'nope' } })));
      // The JWKS endpoint is still down, but the keys we had still verify good tokens.
      const claims = await client.validateAccessToken(await rotToken());
      assert.equal(claims.iss, rotFaulty.url);
    });
  });

  describe('14. health after faults', () => {
    it('one client survives a run of every fault and then validates', async () => {
      const client = newClient({ metadataCacheDuration: 0, jwksCacheDuration: 0 });
      const faults = [
        ['discovery', answer(500, 'x')],
        ['discovery', answer(200, 'not json')],
        ['discovery', redirect(302, `${other.url}${DISCOVERY_PATH}`)],
        ['discovery', resetConnection()],
        ['discovery', hugeStreamed(4 * MIB)],
        ['jwks', answer(404, 'x')],
        ['jwks', answer(200, '[]')],
        ['jwks', resetMidBody()],
        ['jwks', hugeDeclared(2 * MIB)],
      ];
      for (const [which, handler] of faults) {
        faulty.heal();
        faulty.on(which, handler);
        await rejectsWith(client.validateAccessToken(await goodToken()), MonoCloudHttpError);
      }
      assert.equal(other.requests.length, 0);
      await recovers(client);
      // Other clients and the test issuer itself are unaffected.
      const direct = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
      const claims = await direct.validateAccessToken(await issuer.mint({ alg: 'ES256' }));
      assert.equal(claims.iss, issuer.url);
    });
  });
});
