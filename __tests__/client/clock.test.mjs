// One clock: JavaScript's Date.now() (DECISION 30). The original reads Date.now() for every
// wall-clock decision, so fake timers in users' tests (jest/vitest useFakeTimers, sinon) move
// its verdicts; ours must move the same way, including for tokens and answers we cache. Each
// test replaces Date.now and restores it in `finally`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudTokenError } from '@monocloud/backend-node-rs';

import { rejectsWith } from '../support/rejects.mjs';
import { AUDIENCE, issuer, scripted, scriptedClientOptions, useClientIssuers } from '../support/client-issuers.mjs';
import { json } from '../support/scripted-issuer.mjs';

const EXPIRED = 'Unexpected "exp" (expiration time) claim value, timestamp is <= now()';
const realNow = Date.now;

/** Runs `fn` with Date.now() answering `clock.ms`, which `fn` may move. */
async function withClock(startMs, fn) {
  const clock = { ms: startMs };
  Date.now = () => clock.ms;
  try {
    return await fn(clock);
  } finally {
    Date.now = realNow;
  }
}

const jwtPayload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

useClientIssuers();

describe('JWTs follow Date.now()', () => {
  test('a cached token expires when Date.now() passes exp + clockTolerance, and is valid again when moved back', async () => {
    const events = [];
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: issuer.url,
      audience: issuer.audience,
      onEvent: (e) => events.push(e),
    });
    const token = await issuer.mint({ expiresIn: 120 });
    const { exp } = jwtPayload(token);
    await client.validateAccessToken(token);
    await withClock(realNow(), async (clock) => {
      assert.equal((await client.validateAccessToken(token)).exp, exp, 'served while current');
      // The default clockTolerance is 60 s: the last accepted second, then the first refused.
      clock.ms = (exp + 59) * 1000 + 999;
      assert.equal((await client.validateAccessToken(token)).exp, exp);
      clock.ms = (exp + 60) * 1000;
      await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, { code: 'invalid_token', message: EXPIRED });
      clock.ms = exp * 1000 - 60_000;
      assert.equal((await client.validateAccessToken(token)).exp, exp, 'valid again once the clock moves back');
    });
    // Events are delivered asynchronously.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const hits = events.filter((e) => e.type === 'cache_hit' && e.cache === 'token').length;
    assert.ok(hits >= 3, `served from the verified-token cache (${hits} hits)`);
    assert.equal(issuer.requests.jwks, 1, 'the key set was fetched once: its duration is measured on the same clock');
  });

  test('nbf and the first validation follow Date.now() too', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, clockTolerance: 0 });
    const token = await issuer.mint({ expiresIn: 600, claims: { nbf: Math.floor(realNow() / 1000) + 300 } });
    await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, { code: 'invalid_token' });
    await withClock(realNow() + 400_000, async () => {
      assert.equal(typeof (await client.validateAccessToken(token)).exp, 'number');
    });
    const { exp } = jwtPayload(token);
    await withClock((exp + 1) * 1000, async () => {
      await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, { message: EXPIRED });
      await rejectsWith(client.validateJwtAccessToken(token), MonoCloudTokenError, { message: EXPIRED });
    });
  });

  test('the metadata and key-set durations are measured on Date.now()', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
    await withClock(realNow(), async (clock) => {
      await client.getMetadata();
      await client.getJwks();
      clock.ms += 299_000;
      await client.getMetadata();
      await client.getJwks();
      assert.deepEqual([issuer.requests.discovery, issuer.requests.jwks], [1, 1]);
      clock.ms += 2_000;
      await client.getMetadata();
      await client.getJwks();
      assert.deepEqual([issuer.requests.discovery, issuer.requests.jwks], [2, 2], 'fetched again after 300 s of Date.now()');
    });
  });
});

describe('introspection caching follows Date.now()', () => {
  /** An IIntrospectionCache recording what it is given, with a Map behind it. */
  const recordingCache = () => {
    const entries = new Map();
    const sets = [];
    return {
      sets,
      async get(key) {
        return entries.get(key) ?? null;
      },
      async set(key, claims, expiresAt) {
        sets.push({ key, claims, expiresAt });
        entries.set(key, claims);
      },
      async delete(key) {
        entries.delete(key);
      },
    };
  };
  const clientWith = (cache) =>
    new MonoCloudBackendNodeClient(scriptedClientOptions({ cache }));

  test('the adapter receives expiresAt computed from the moved clock', async () => {
    const cache = recordingCache();
    const client = clientWith(cache);
    // Far from the real time, so an expiresAt from the system clock could not pass.
    const moved = Date.UTC(2040, 0, 1, 12, 0, 0, 750);
    const nowSeconds = Math.floor(moved / 1000);
    await withClock(moved, async () => {
      scripted.on('introspect', json(200, { active: true, iss: scripted.url, aud: AUDIENCE, sub: 'u' }));
      await client.validateAccessToken('no-exp');
      scripted.on('introspect', json(200, { active: true, iss: scripted.url, aud: AUDIENCE, sub: 'u', exp: nowSeconds + 100 }));
      await client.validateAccessToken('short');
      scripted.on('introspect', json(200, { active: false }));
      await rejectsWith(client.validateAccessToken('dead'), MonoCloudTokenError, { code: 'inactive_token' });
    });
    assert.deepEqual(
      cache.sets.map(({ key, expiresAt }) => [key, expiresAt]),
      [['no-exp', nowSeconds + 300], ['short', nowSeconds + 100], ['dead', nowSeconds + 300]],
    );
    assert.deepEqual(cache.sets[2].claims, { active: false, exp: nowSeconds + 300 });
  });

  test('a cached answer expires, and a negative one lapses, on the moved clock', async () => {
    const cache = recordingCache();
    const client = clientWith(cache);
    const start = realNow();
    const exp = Math.floor(start / 1000) + 100;
    scripted.on('introspect', json(200, { active: true, iss: scripted.url, aud: AUDIENCE, sub: 'u', exp }));
    await withClock(start, async (clock) => {
      await client.validateAccessToken('tok');
      await client.validateAccessToken('tok');
      assert.equal(scripted.counts.introspect, 1, 'served from the adapter');
      // Past exp + clockTolerance the entry is a miss: the endpoint is asked, and its answer judged.
      clock.ms = (exp + 61) * 1000;
      await rejectsWith(client.validateAccessToken('tok'), MonoCloudTokenError, { message: EXPIRED });
      assert.equal(scripted.counts.introspect, 2);
    });
    // An inactive answer is replayed until introspectionCacheDuration (300 s) of Date.now() passes.
    scripted.on('introspect', json(200, { active: false }));
    await withClock(start, async (clock) => {
      await rejectsWith(client.validateAccessToken('dead'), MonoCloudTokenError, { code: 'inactive_token' });
      clock.ms += 299_000;
      await rejectsWith(client.validateAccessToken('dead'), MonoCloudTokenError, {
        code: 'inactive_token', message: 'Token is not active. A cached introspection result reported active=false',
      });
      assert.equal(scripted.counts.introspect, 3);
      clock.ms += 2_000;
      await rejectsWith(client.validateAccessToken('dead'), MonoCloudTokenError, {
        code: 'inactive_token', message: 'Token is not active. The introspection endpoint returned active=false',
      });
      assert.equal(scripted.counts.introspect, 4, 'asked again once the negative entry lapsed');
    });
  });

  test('the built-in store, when asked for, expires on the moved clock', async () => {
    const client = new MonoCloudBackendNodeClient(scriptedClientOptions({ introspectionCacheMaxEntries: 10, introspectionCacheDuration: 30 }));
    scripted.on('introspect', json(200, { active: true, iss: scripted.url, aud: AUDIENCE, sub: 'u' }));
    await withClock(realNow(), async (clock) => {
      await client.validateAccessToken('tok');
      clock.ms += 29_000;
      await client.validateAccessToken('tok');
      assert.equal(scripted.counts.introspect, 1);
      clock.ms += 2_000;
      await client.validateAccessToken('tok');
      assert.equal(scripted.counts.introspect, 2, 'asked again after 30 s of Date.now()');
    });
  });
});
