// A fleet sharing one real redis-server (and valkey-server where installed): instances in
// separate Node processes share introspection answers and revocations; faults of the store
// (stopped, slowed, restarted) follow the documented rules and never make a request hang.
// Every scenario runs with `store` as a URL and, on redis-server, as the user's own connected
// client (node-redis v6 and v4, ioredis), driven through the JavaScript face.
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  MonoCloudBackendNodeClient,
  MonoCloudHttpError,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from '@monocloud/backend-node-rs';
import { createDpopProof, createTestIssuer, generateDpopKey } from '@monocloud/backend-node-rs/testing';

import { makeTestCertificates } from '../support/certificates.mjs';
import { withEnv } from '../support/env.mjs';
import { startInstance, stopFleet, until } from '../support/fleet.mjs';
import { redisBinaries, startRedis } from '../support/redis-server.mjs';
import { STORE_CLIENT_KINDS } from '../support/store-clients.mjs';
import { sendJson, startScriptedIssuer } from '../support/scripted-issuer.mjs';

const STORE_TIMEOUT_MS = 50;

/** The store's framing of a key's parts: each one's length as 8 big-endian bytes, then its bytes. */
function framed(parts) {
  return Buffer.concat(
    parts.flatMap((part) => {
      const bytes = Buffer.from(part);
      const length = Buffer.alloc(8);
      length.writeBigUInt64BE(BigInt(bytes.length));
      return [length, bytes];
    }),
  );
}

after(stopFleet);

const BINARIES = redisBinaries();
// CI installs redis-server (.ci/run); elsewhere these tests say why they did not run.
const NO_SERVER = BINARIES.length === 0 && 'redis-server is not installed (apt-get install redis-server)';
if (NO_SERVER) test('a fleet on a shared store', { skip: NO_SERVER }, () => {});

// `store` as a URL on every server binary; as each library's client object on the first.
const SETUPS = [
  ...BINARIES.map((binary) => ({ binary, kind: undefined })),
  ...(BINARIES.length ? STORE_CLIENT_KINDS.map((kind) => ({ binary: BINARIES[0], kind })) : []),
];

for (const { binary, kind } of SETUPS) {
  describe(`a fleet on ${binary}${kind ? ` through a ${kind} client object` : ''}`, () => {
    const instance = (clientOptions) => startInstance(clientOptions, { env: kind ? { FLEET_STORE_CLIENT: kind } : {} });
    let issuer;
    let redis;
    let a;
    let b;
    const options = () => ({
      ...issuer.clientOptions,
      store: redis.url,
      storePrefix: 'fleet-test:',
      storeTimeout: STORE_TIMEOUT_MS,
      introspectionCacheDuration: 60,
    });

    before(async () => {
      issuer = await createTestIssuer();
      redis = await startRedis({ binary });
      [a, b] = await Promise.all([instance(options()), instance(options())]);
    });

    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await redis?.close();
      await issuer?.close();
    });

    test('an introspection answer fetched by one instance serves the other; no key holds the token', async () => {
      const token = issuer.mintOpaque({ sub: 'opaque-user', scope: 'read:things' });
      issuer.resetCounters();
      const first = await a.validate(token);
      assert.equal(first.ok, true, JSON.stringify(first));
      assert.equal((await a.validate(token)).ok, true);
      assert.equal(issuer.requests.introspection, 1);
      const other = await b.validate(token);
      assert.equal(other.ok, true, JSON.stringify(other));
      assert.equal(other.sub, 'opaque-user');
      assert.equal(issuer.requests.introspection, 1, 'the second instance did not ask the issuer');
      const keys = await redis.command(['KEYS', '*']);
      assert.ok(keys.some((key) => key.startsWith('fleet-test:introspection:')), JSON.stringify(keys));
      for (const key of keys) assert.ok(!key.includes(token), 'a key holds the token');
      // The entry's name is keyed with the client's credential, which every instance has and a
      // reader of the store does not: its plain hash names nothing there.
      const issuerSpellings = [issuer.url, `${issuer.url}/`];
      const names = (hashOf) => issuerSpellings.map((iss) => `fleet-test:introspection:${hashOf(framed([iss, token]))}`);
      const plain = names((bytes) => createHash('sha256').update(bytes).digest('base64url'));
      const namingKey = createHash('sha256')
        .update(Buffer.concat([Buffer.from('monocloud shared store key names\0'), Buffer.from(issuer.clientOptions.clientSecret)]))
        .digest();
      const keyed = names((bytes) => createHmac('sha256', namingKey).update(bytes).digest('base64url'));
      assert.ok(!keys.some((key) => plain.includes(key)), 'an entry is named by the plain hash of the token');
      assert.ok(keys.some((key) => keyed.includes(key)), JSON.stringify(keys));
      const ttl = await redis.command(['PTTL', keys.find((key) => key.startsWith('fleet-test:introspection:'))]);
      assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
    });

    test('an inactive answer is shared briefly (at most 10 s) and refuses the token on the other instance', async () => {
      const token = issuer.mintOpaque({ sub: 'inactive' });
      issuer.revoke(token);
      issuer.resetCounters();
      assert.equal((await a.validate(token)).code, 'inactive_token');
      assert.equal((await b.validate(token)).code, 'inactive_token');
      assert.equal(issuer.requests.introspection, 1);
      const keys = await redis.command(['KEYS', 'fleet-test:introspection:*']);
      const ttls = await Promise.all(keys.map((key) => redis.command(['PTTL', key])));
      assert.ok(ttls.some((ttl) => ttl > 0 && ttl <= 10_000), `ttls ${ttls}`);
    });

    test('a revoked opaque token is refused by the other instance within a second', async () => {
      const token = issuer.mintOpaque({ sub: 'to-revoke' });
      assert.equal((await b.validate(token)).ok, true);
      assert.equal((await a.call('revoke', { revocation: { token } })).shared, true);
      const refused = await until(async () => {
        const answer = await b.validate(token);
        return !answer.ok && answer;
      }, { withinMs: 1_000 });
      assert.ok(refused.value, 'still accepted after a second');
      assert.equal(refused.value.code, 'inactive_token');
      assert.match(refused.value.message, /revoked/);
      assert.ok(refused.ms < 1_000, `${refused.ms} ms`);
      const { revoked } = await b.call('events');
      assert.deepEqual(revoked, [{ by: 'token', origin: 'fleet' }]);
    });

    test('a revoked JWT is refused by the other instance within a second, from its verified-token cache too', async () => {
      const jwt = await issuer.mint({ claims: { sub: 'jwt-user' } });
      const other = await issuer.mint({ claims: { sub: 'jwt-user-2' } });
      for (let i = 0; i < 3; i += 1) assert.equal((await b.validate(jwt)).ok, true);
      assert.equal((await a.call('revoke', { revocation: { token: jwt } })).shared, true);
      const refused = await until(async () => !(await b.validate(jwt)).ok, { withinMs: 1_000 });
      assert.equal(refused.value, true, 'still accepted after a second');
      assert.equal((await a.validate(jwt)).ok, false, 'the revoking instance refuses at once');
      assert.equal((await b.validate(other)).ok, true, 'other tokens are not affected');
    });

    test('revoking a jti or a subject reaches the fleet; a subject\'s later tokens are accepted', async () => {
      const byJti = await issuer.mint({ claims: { sub: 'jti-user', jti: 'jti-42' } });
      const bySub = await issuer.mint({ claims: { sub: 'carol' } });
      assert.equal((await b.validate(byJti)).ok, true);
      assert.equal((await b.validate(bySub)).ok, true);
      await a.call('revoke', { revocation: { jti: 'jti-42' } });
      await a.call('revoke', { revocation: { sub: 'carol' } });
      assert.equal((await until(async () => !(await b.validate(byJti)).ok, { withinMs: 1_000 })).value, true);
      assert.equal((await until(async () => !(await b.validate(bySub)).ok, { withinMs: 1_000 })).value, true);
      // iat has a one-second granularity: a token issued after the revocation's second is new.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const later = await issuer.mint({ claims: { sub: 'carol' } });
      assert.equal((await b.validate(later)).ok, true);
    });

    test('a DPoP proof accepted by one instance is refused as a replay by the other', async () => {
      const key = generateDpopKey();
      const token = await issuer.mint({ claims: { sub: 'dpop-user' }, dpopKey: key });
      const url = 'https://api.example.com/things';
      const request = (proof) => ({ method: 'GET', url, headers: { authorization: `DPoP ${token}`, dpop: proof } });
      const proof = createDpopProof({ key, method: 'GET', url, accessToken: token });
      const first = await a.call('validateRequest', { request: request(proof) });
      assert.equal(first.ok, true, JSON.stringify(first));
      const replayed = await b.call('validateRequest', { request: request(proof) });
      assert.equal(replayed.ok, false);
      assert.equal(replayed.code, 'invalid_dpop_proof');
      assert.match(replayed.message, /used before/);
      const fresh = await b.call('validateRequest', { request: request(createDpopProof({ key, method: 'GET', url, accessToken: token })) });
      assert.equal(fresh.ok, true, JSON.stringify(fresh));
      const keys = await redis.command(['KEYS', 'fleet-test:dpop:*']);
      assert.equal(keys.length, 2);
      const ttl = await redis.command(['PTTL', keys[0]]);
      assert.ok(ttl > 0 && ttl <= 330_000, `ttl ${ttl}`);
    });

    test('mid-rotation of the client secret, a proof used on one instance is still a replay on the other', async () => {
      // Introspection entries are named under the credential; a proof's reservation must not be.
      const rotated = await instance({ ...options(), clientSecret: 'the-next-client-secret-after-rotation' });
      try {
        const key = generateDpopKey();
        const token = await issuer.mint({ claims: { sub: 'rotation' }, dpopKey: key });
        const url = 'https://api.example.com/things';
        const request = { method: 'GET', url, headers: { authorization: `DPoP ${token}`, dpop: createDpopProof({ key, method: 'GET', url, accessToken: token }) } };
        assert.equal((await a.call('validateRequest', { request })).ok, true);
        const replayed = await rotated.call('validateRequest', { request });
        assert.equal(replayed.code, 'invalid_dpop_proof', JSON.stringify(replayed));
      } finally {
        await rotated.stop();
      }
    });

    test('an instance started after a revocation refuses the token (it reads what was revoked)', async () => {
      const jwt = await issuer.mint({ claims: { sub: 'late' } });
      await a.call('revoke', { revocation: { token: jwt } });
      const c = await instance(options());
      try {
        const refused = await until(async () => !(await c.validate(jwt)).ok, { withinMs: 1_000 });
        assert.equal(refused.value, true);
      } finally {
        await c.stop();
      }
    });

    if (kind) {
      test('the client stays the user\'s: still open after use, and closing it lets the process exit', async () => {
        const script = `
          import { MonoCloudBackendNodeClient } from '@monocloud/backend-node-rs';
          import { connectStoreClient } from './__tests__/support/store-clients.mjs';
          const { client: store, close } = await connectStoreClient(process.env.KIND, process.env.URL);
          const client = new MonoCloudBackendNodeClient({ ...JSON.parse(process.env.OPTIONS), store });
          const claims = await client.validateAccessToken(process.env.TOKEN);
          // Long enough for the revocation listener to have subscribed on its own connection.
          await new Promise((resolve) => setTimeout(resolve, 700));
          const open = store.isReady ?? store.status === 'ready';
          process.stdout.write(JSON.stringify({ sub: claims.sub, open }));
          await close();
        `;
        const { spawn } = await import('node:child_process');
        const { fromRoot } = await import('../support/paths.mjs');
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
          cwd: fromRoot(),
          env: { ...process.env, KIND: kind, URL: redis.url, OPTIONS: JSON.stringify(options()), TOKEN: issuer.mintOpaque({ sub: 'owner' }) },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk) => (out += chunk));
        child.stderr.on('data', (chunk) => (err += chunk));
        const started = performance.now();
        const code = await new Promise((resolve) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve('still running after 8 s');
          }, 8_000);
          child.once('exit', (exitCode) => {
            clearTimeout(timer);
            resolve(exitCode);
          });
        });
        assert.equal(code, 0, `${err}`);
        assert.deepEqual(JSON.parse(out), { sub: 'owner', open: true });
        assert.ok(performance.now() - started < 8_000);
      });
    }

    test('the store stopped: introspection asks the issuer, revocations known here still hold, nothing waits', async () => {
      const revokedBefore = issuer.mintOpaque({ sub: 'revoked-before' });
      await a.call('revoke', { revocation: { token: revokedBefore } });
      await until(async () => !(await b.validate(revokedBefore)).ok, { withinMs: 1_000 });
      await b.call('events');
      await redis.stop();
      try {
        const token = issuer.mintOpaque({ sub: 'while-down' });
        issuer.resetCounters();
        const first = await b.validate(token);
        assert.equal(first.ok, true, JSON.stringify(first));
        assert.ok(first.ms < 1_000, `${first.ms} ms`);
        const second = await b.validate(token);
        assert.equal(second.ok, true);
        assert.equal(issuer.requests.introspection, 2, 'without the store every answer comes from the issuer');
        assert.equal((await b.validate(revokedBefore)).ok, false, 'a revocation this instance knows still holds');
        const revokedWhileDown = await issuer.mint({ claims: { sub: 'revoked-while-down' } });
        const answer = await b.call('revoke', { revocation: { token: revokedWhileDown } });
        assert.equal(answer.shared, false, 'the fleet could not be told');
        assert.equal((await b.validate(revokedWhileDown)).ok, false, 'refused here all the same');
        const { events } = await b.call('events');
        const operations = new Set(events.filter((e) => e.type === 'store_error').map((e) => e.operation));
        for (const operation of ['introspection_get', 'revoke', 'revocations']) {
          assert.ok(operations.has(operation), `no store_error for ${operation}: ${JSON.stringify(events)}`);
        }
        for (const event of events) assert.ok(!JSON.stringify(event).includes(token), 'an event holds the token');
      } finally {
        await redis.start();
      }
    });

    test('the store slowed (DEBUG SLEEP): requests are bounded by the store timeout and answered by the issuer', async () => {
      const token = issuer.mintOpaque({ sub: 'while-slow' });
      issuer.resetCounters();
      const busy = redis.slow(1.5);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const answers = await Promise.all([a.validate(token), b.validate(token)]);
      for (const answer of answers) {
        assert.equal(answer.ok, true, JSON.stringify(answer));
        assert.ok(answer.ms < 600, `waited ${answer.ms} ms`);
      }
      assert.equal(issuer.requests.introspection, 2, 'each asked the issuer');
      await busy;
    });

    test('the store restarted: sharing and revocations resume by themselves', async () => {
      await redis.stop();
      await redis.start();
      const token = issuer.mintOpaque({ sub: 'after-restart' });
      // The connection comes back on its own; the first calls after a restart may miss.
      const shared = await until(async () => {
        issuer.resetCounters();
        const fresh = issuer.mintOpaque({ sub: 'probe' });
        await a.validate(fresh);
        await b.validate(fresh);
        return issuer.requests.introspection === 1;
      }, { withinMs: 5_000, everyMs: 100 });
      assert.equal(shared.value, true, 'answers are shared again');
      assert.equal((await b.validate(token)).ok, true);
      const listening = await until(async () => {
        const jwt = await issuer.mint({ claims: { sub: 'after-restart-jwt' } });
        await b.validate(jwt);
        await a.call('revoke', { revocation: { token: jwt } });
        return (await until(async () => !(await b.validate(jwt)).ok, { withinMs: 1_000 })).value;
      }, { withinMs: 6_000, everyMs: 100 });
      assert.equal(listening.value, true, 'revocations reach the other instance again');
    });
  });
}

for (const kind of [undefined, 'node-redis', 'ioredis']) describe(`outbound tokens shared through the store${kind ? ` (a ${kind} client object)` : ''}`, { skip: NO_SERVER }, () => {
  const env = kind ? { FLEET_STORE_CLIENT: kind } : {};
  let redis;
  let tokenIssuer;
  let issued = 0;
  const fleet = [];

  before(async () => {
    redis = await startRedis();
    tokenIssuer = await startScriptedIssuer({
      metadata: (url) => ({ token_endpoint: `${url}/token` }),
      routes: {
        token: {
          path: '/token',
          // Slow enough that every instance asks while the first request is out.
          handler: (_req, res, ctx) => {
            issued += 1;
            const token = `m2m-${issued}`;
            ctx.later(300, () => sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 300 }));
          },
        },
      },
    });
    const tokenOptions = {
      tenantDomain: tokenIssuer.url,
      clientId: 'worker',
      clientSecret: 'worker-secret',
      store: redis.url,
      storePrefix: 'm2m-test:',
      // Ten Node processes starting on a small machine: a generous bound, so that this test
      // is about the lock, not about the store's timeout (the fault tests cover that).
      storeTimeout: 1_000,
    };
    const backend = { tenantDomain: tokenIssuer.url, audience: 'https://api.example.com' };
    fleet.push(...(await Promise.all(Array.from({ length: 10 }, () => startInstance(backend, { tokenOptions, env })))));
  });

  after(async () => {
    await Promise.all(fleet.map((instance) => instance.stop()));
    await redis?.close();
    await tokenIssuer?.close();
  });

  test('ten processes asking at once get one token from the issuer', async () => {
    // Each instance connects in the background as it starts; give the ten (on a small machine)
    // a moment to be connected, as a fleet is before its first outbound call.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const answers = await Promise.all(fleet.map((instance) => instance.call('getAccessToken', {}, { timeoutMs: 10_000 })));
    const tokens = new Set(answers.map((answer) => answer.token?.accessToken ?? JSON.stringify(answer)));
    const heard = async () => JSON.stringify(await Promise.all(fleet.map(async (instance) => (await instance.call('tokenEvents')).events)));
    assert.deepEqual([...tokens], ['m2m-1'], await heard());
    assert.equal(tokenIssuer.counts.token, 1, 'one request reached the issuer');
    const keys = await redis.command(['KEYS', 'm2m-test:*']);
    assert.equal(keys.length, 1, JSON.stringify(keys));
    assert.ok(!keys[0].includes('m2m-1') && !keys[0].includes('worker'));
  });

  test('with the store stopped, each process still gets a token from the issuer, without hanging', async () => {
    await redis.stop();
    try {
      const fresh = await startInstance(
        { tenantDomain: tokenIssuer.url, audience: 'https://api.example.com' },
        { env, tokenOptions: { tenantDomain: tokenIssuer.url, clientId: 'worker', clientSecret: 'worker-secret', store: redis.url, storePrefix: 'm2m-test:' } },
      );
      const started = performance.now();
      const answer = await fresh.call('getAccessToken', {}, { timeoutMs: 5_000 });
      assert.match(answer.token?.accessToken ?? JSON.stringify(answer), /^m2m-/);
      assert.ok(performance.now() - started < 2_000, `${performance.now() - started} ms`);
      await fresh.stop();
    } finally {
      await redis.start();
    }
  });
});

describe('a store over TLS (rediss://)', { skip: NO_SERVER }, () => {
  let certificates;
  let redis;
  let issuer;
  const instances = [];

  before(async () => {
    certificates = makeTestCertificates();
    const { certPath, keyPath } = certificates.server;
    redis = await startRedis({ tls: { certPath, keyPath, ca: certificates.ca.cert } });
    issuer = await createTestIssuer();
  });

  after(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await redis?.close();
    await issuer?.close();
    certificates?.remove();
  });

  test('instances that trust the server share answers over TLS; one that does not asks the issuer', async () => {
    assert.match(redis.url, /^rediss:\/\//);
    const options = { ...issuer.clientOptions, store: redis.url, storeTimeout: 1_000 };
    // The CA is trusted the way the system's roots are read (SSL_CERT_FILE), as a deployment would.
    const trusting = { env: { SSL_CERT_FILE: certificates.ca.certPath } };
    const [a, b] = await Promise.all([startInstance(options, trusting), startInstance(options, trusting)]);
    const stranger = await startInstance({ ...options, storeTimeout: 200 });
    instances.push(a, b, stranger);
    const token = issuer.mintOpaque({ sub: 'over-tls' });
    issuer.resetCounters();
    assert.equal((await a.validate(token)).ok, true);
    assert.equal((await b.validate(token)).ok, true);
    assert.equal(issuer.requests.introspection, 1, 'the second instance read the answer over TLS');
    const answer = await stranger.validate(token);
    assert.equal(answer.ok, true, 'an untrusted store is a miss, never a refusal');
    assert.equal(issuer.requests.introspection, 2);
    const { events } = await stranger.call('events');
    assert.ok(events.some((e) => e.type === 'store_error'), JSON.stringify(events));
  });
});

describe('revoke without a store', () => {
  let issuer;
  before(async () => {
    issuer = await createTestIssuer();
  });
  after(() => issuer?.close());

  test('refuses the token on this instance (JWT from the verified cache, opaque from the built-in cache), tells onRevoked', async () => {
    const revoked = [];
    const client = new MonoCloudBackendNodeClient({
      ...issuer.clientOptions,
      introspectionCacheMaxEntries: 100,
      onRevoked: (revocation) => revoked.push(revocation),
    });
    const jwt = await issuer.mint();
    const opaque = issuer.mintOpaque();
    await client.validateAccessToken(jwt);
    await client.validateAccessToken(opaque);
    assert.deepEqual(await client.revoke({ token: jwt }), { shared: false });
    assert.deepEqual(await client.revoke({ token: opaque }), { shared: false });
    await assert.rejects(client.validateAccessToken(jwt), (e) => e instanceof MonoCloudTokenError && /revoked/.test(e.message));
    await assert.rejects(client.validateAccessToken(opaque), (e) => e instanceof MonoCloudTokenError && e.code === 'inactive_token');
    assert.deepEqual(revoked, [
      { by: 'token', origin: 'local' },
      { by: 'token', origin: 'local' },
    ]);
    assert.equal((await client.validateAccessToken(await issuer.mint())).sub, 'test-user');
    // The methods the original has refuse it too.
    await assert.rejects(client.validateJwtAccessToken(jwt), /revoked/);
    await assert.rejects(client.introspectAccessToken(opaque), /revoked/);
  });

  test('bad revocations are validation errors, and never echo the token', async () => {
    const client = new MonoCloudBackendNodeClient({ ...issuer.clientOptions });
    for (const bad of [undefined, {}, { token: '' }, { token: 1 }, { token: 'a', sub: 'b' }, { jti: 'x', expiresAt: 'soon' }]) {
      await assert.rejects(client.revoke(bad), (e) => e instanceof MonoCloudValidationError && !e.message.includes('secret-value'));
    }
  });

  test('a store option that is not a redis URL is refused at construction; an unreachable one is not', () => {
    assert.throws(
      () => new MonoCloudBackendNodeClient({ ...issuer.clientOptions, store: 'http://127.0.0.1:6379' }),
      (e) => e instanceof MonoCloudValidationError && /redis:\/\//.test(e.message),
    );
    assert.doesNotThrow(() => new MonoCloudBackendNodeClient({ ...issuer.clientOptions, store: 'redis://127.0.0.1:1' }));
  });

  test('a store object that is no client we can drive is refused at construction, naming what is taken', async () => {
    const { MonoCloudTokenClient } = await import('@monocloud/backend-node-rs');
    const { createClient, createCluster } = await import('redis');
    const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
    const strangers = [{}, [], { get() {}, set() {} }, new Map(), cluster];
    for (const store of strangers) {
      for (const make of [
        () => new MonoCloudBackendNodeClient({ ...issuer.clientOptions, store }),
        () => new MonoCloudTokenClient({ tenantDomain: issuer.clientOptions.tenantDomain, clientId: 'c', clientSecret: 's', store }),
      ]) {
        assert.throws(make, (e) => e instanceof MonoCloudValidationError && /redis:\/\//.test(e.message) && /node-redis/.test(e.message) && /ioredis/.test(e.message));
      }
    }
    // A client not connected (yet) is taken: like a URL whose server is down, it is a store
    // that fails each call until it connects.
    const events = [];
    const idle = createClient({ url: 'redis://127.0.0.1:1' });
    // A generous bound: the call fails at once (not connected) rather than waiting it out.
    const client = new MonoCloudBackendNodeClient({ ...issuer.clientOptions, store: idle, storeTimeout: 2_000, introspectionCacheDuration: 60, onEvent: (e) => events.push(e) });
    const started = performance.now();
    assert.equal((await client.validateAccessToken(issuer.mintOpaque({ sub: 'idle' }))).sub, 'idle');
    assert.ok(performance.now() - started < 1_000);
    assert.ok(events.some((e) => e.type === 'store_error' && e.operation === 'introspection_get' && /not connected/.test(e.message)), JSON.stringify(events));
  });

  test('a DPoP proof the store cannot reserve: 503 by default, passes with onStoreError allow', async () => {
    const key = generateDpopKey();
    const token = await issuer.mint({ dpopKey: key });
    const url = 'https://api.example.com/things';
    const request = () => ({
      method: 'GET',
      url,
      headers: { authorization: `DPoP ${token}`, dpop: createDpopProof({ key, method: 'GET', url, accessToken: token }) },
    });
    const events = [];
    const unreachable = { ...issuer.clientOptions, store: 'redis://127.0.0.1:1', storeTimeout: 30, onEvent: (e) => events.push(e) };
    const rejecting = new MonoCloudBackendNodeClient(unreachable);
    const started = performance.now();
    await assert.rejects(rejecting.validateRequest(request()), (e) => e instanceof MonoCloudHttpError && /replay store/.test(e.message));
    assert.ok(performance.now() - started < 1_000);
    assert.ok(events.some((e) => e.type === 'store_error' && e.operation === 'dpop_reserve'), JSON.stringify(events));
    const allowing = new MonoCloudBackendNodeClient({ ...unreachable, dpop: { onStoreError: 'allow' } });
    assert.equal((await allowing.validateRequest(request())).sub, 'test-user');
    assert.throws(
      () => new MonoCloudBackendNodeClient({ ...issuer.clientOptions, dpop: { onStoreError: 'ignore' } }),
      (e) => e instanceof MonoCloudValidationError && /onStoreError/.test(e.message),
    );
  });

  test('the store options are read from MONOCLOUD_BACKEND_REDIS_*, and checked', async () => {
    const { tenantDomain, audience } = issuer.clientOptions;
    await withEnv({ MONOCLOUD_BACKEND_REDIS_URL: 'memcached://127.0.0.1:1' }, () => {
      assert.throws(() => new MonoCloudBackendNodeClient({ tenantDomain, audience }), MonoCloudValidationError);
    });
    await withEnv({ MONOCLOUD_BACKEND_REDIS_URL: 'redis://127.0.0.1:1', MONOCLOUD_BACKEND_REDIS_TIMEOUT: '0' }, () => {
      assert.throws(() => new MonoCloudBackendNodeClient({ tenantDomain, audience }), (e) => e instanceof MonoCloudValidationError && /storeTimeout/.test(e.message));
    });
    // An unreachable store costs a request no more than its timeout, and the token is still judged.
    await withEnv({ MONOCLOUD_BACKEND_REDIS_URL: 'redis://127.0.0.1:1', MONOCLOUD_BACKEND_REDIS_TIMEOUT: '30', MONOCLOUD_BACKEND_REDIS_PREFIX: 'x:' }, async () => {
      const client = new MonoCloudBackendNodeClient({ ...issuer.clientOptions });
      const started = performance.now();
      assert.equal((await client.validateAccessToken(issuer.mintOpaque({ sub: 'u' }))).sub, 'u');
      assert.ok(performance.now() - started < 1_000);
    });
  });
});
