// The hot path's shortcuts keep the slow path's answers: claims of a repeated token come from a
// parsed-claims memo as deep copies, protectApi reads the Authorization header in Rust, and
// validations settle through one completion channel per client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudTokenError } from '@monocloud/backend-node-rs';
import { protectApi } from '@monocloud/backend-node-rs/fastify';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import Fastify from 'fastify';

import { runNode } from '../support/child.mjs';
import { fromRoot } from '../support/paths.mjs';
import { NO_TOKEN_CHALLENGE } from '../support/challenges.mjs';

let issuer;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
});

after(async () => {
  await issuer?.close();
});

/** Runs node with `args` and extra environment to its end (killed after 20 s). */
async function runNodeWith(args, env = {}) {
  const run = await runNode(args, { env: { ...process.env, ...env } });
  assert.ok(!run.killed, `the child did not exit within 20 s; stdout ${run.stdout} stderr ${run.stderr}`);
  return { code: run.code, out: run.stdout, err: run.stderr };
}

const newClient = () => new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });

describe('claims of a repeated token', () => {
  const claims = {
    nested: { list: [1, { deep: 'x' }], empty: {} },
    roles: ['a', 'b'],
    ['__proto__']: { polluted: true },
    '10': 'integer-like key',
    unicode: 'żółw ✓',
  };

  test('are a fresh deep copy equal to JSON.parse of the payload, every time', async () => {
    const client = newClient();
    const token = await issuer.mint({ claims: JSON.parse(JSON.stringify(claims)) });
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    const first = await client.validateAccessToken(token);
    for (let i = 0; i < 5; i += 1) {
      const again = await client.validateAccessToken(token);
      assert.notEqual(again, first);
      assert.deepEqual(again, payload);
      assert.deepEqual(Object.keys(again), Object.keys(payload));
      // Mutating one answer, however deep, never shows in the next.
      again.nested.list[1].deep = 'changed';
      again.nested.empty.added = 1;
      again.roles.push('c');
      again.sub = 'someone else';
    }
    const last = await client.validateAccessToken(token);
    assert.deepEqual(last, payload);
  });

  test('keep a "__proto__" claim an own property and leave the prototype alone', async () => {
    const client = newClient();
    const token = await issuer.mint({ claims: JSON.parse('{"__proto__":{"polluted":true}}') });
    for (let i = 0; i < 3; i += 1) {
      const answer = await client.validateAccessToken(token);
      assert.equal(Object.getPrototypeOf(answer), Object.prototype);
      assert.ok(Object.hasOwn(answer, '__proto__'));
      assert.deepEqual(answer['__proto__'], { polluted: true });
      assert.equal(answer.polluted, undefined);
      assert.equal({}.polluted, undefined);
    }
  });

  test('stay right past the memo bound (1,500 distinct tokens, each validated three times)', async () => {
    const client = newClient();
    const tokens = [];
    for (let i = 0; i < 1500; i += 1) tokens.push(await issuer.mint({ claims: { n: i, tags: [i] } }));
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < tokens.length; i += 1) {
        const answer = await client.validateAccessToken(tokens[i]);
        assert.equal(answer.n, i);
        assert.deepEqual(answer.tags, [i]);
      }
    }
  });

  test('a repeated token that stops being acceptable is refused, not served from the memo', async () => {
    const client = newClient();
    const token = await issuer.mint({ claims: { scope: 'read' } });
    assert.equal((await client.validateAccessToken(token)).scope, 'read');
    assert.equal((await client.validateAccessToken(token, { scopes: ['read'] })).scope, 'read');
    await assert.rejects(client.validateAccessToken(token, { scopes: ['write'] }), MonoCloudTokenError);
    assert.equal((await client.validateAccessToken(token)).scope, 'read');
  });
});

/**
 * The contract's rule for a bearer token, written out independently of the package (which reads
 * it in Rust only): the value trimmed, split on runs of whitespace into exactly a scheme and a
 * token, the scheme `bearer` in any case.
 */
function contractBearerToken(header) {
  const parts = header.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0]?.toLowerCase() !== 'bearer') return undefined;
  return parts[1];
}

describe('protectApi reads the Authorization header in Rust as the contract reads it', () => {
  let app;
  let token;

  before(async () => {
    token = await issuer.mint();
    app = Fastify();
    const protect = protectApi({ tenantDomain: issuer.url, audience: issuer.audience });
    app.get('/api', { onRequest: protect() }, async (request) => ({ sub: request.claims.sub }));
    await app.ready();
  });

  after(async () => {
    await app?.close();
  });

  const headers = (t) => [
    `Bearer ${t}`,
    `bearer ${t}`,
    `BEARER\t${t}`,
    `  Bearer   ${t}  `,
    `\u00a0Bearer\u3000${t}\u2028`,
    `\ufeffBearer\u2003${t}\ufeff`,
    `Bearer ${t}\u0085`,
    `Bearer\u0085${t}`,
    `Bearer ${t} extra`,
    `Bearer ${t}\u200b`,
    `Bearer`,
    `Bearer `,
    `Bearer${t}`,
    `Basic ${t}`,
    `B\u0130arer ${t}`,
    `Bear\u00e9r ${t}`,
    `Bearer ${t.slice(0, 20)}\u00e9${t.slice(20)}`,
    `Bearer ${t.slice(0, 20)}\ud800${t.slice(20)}`,
  ];

  test('for every header, the same verdict: token (200 or 401 invalid_token) or no token (401 Bearer)', async () => {
    for (const header of headers(token)) {
      const expected = contractBearerToken(header);
      const res = await app.inject({ method: 'GET', url: '/api', headers: { authorization: header } });
      const label = JSON.stringify(header.slice(0, 12));
      if (expected === undefined) {
        assert.equal(res.statusCode, 401, label);
        assert.equal(res.headers['www-authenticate'], NO_TOKEN_CHALLENGE, label);
      } else if (expected === token) {
        assert.equal(res.statusCode, 200, label);
      } else {
        assert.equal(res.statusCode, 401, label);
        assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"', label);
      }
    }
  });

  test('an oversized header is refused and the next request is served', async () => {
    const huge = `Bearer ${'a'.repeat(20 * 1024)}`;
    const res = await app.inject({ method: 'GET', url: '/api', headers: { authorization: huge } });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
    const ok = await app.inject({ method: 'GET', url: '/api', headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.statusCode, 200);
  });
});

describe('completions', () => {
  test('a thousand validations in flight on a cold client all settle with their own answers', async () => {
    const client = newClient();
    const tokens = [];
    for (let i = 0; i < 200; i += 1) tokens.push(await issuer.mint({ claims: { n: i } }));
    const bad = `${tokens[0].slice(0, -4)}AAAA`;
    const answers = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) => client.validateAccessToken(i % 10 === 9 ? bad : tokens[i % 200])),
    );
    answers.forEach((answer, i) => {
      if (i % 10 === 9) {
        assert.equal(answer.status, 'rejected');
        assert.ok(answer.reason instanceof MonoCloudTokenError);
      } else {
        assert.equal(answer.status, 'fulfilled');
        assert.equal(answer.value.n, i % 200);
      }
    });
  });

  test('answers are not held back behind work that waits (slow introspection after JWTs)', async () => {
    // Finished results may wait for queued work to finish first; queued work that goes off to
    // wait must release them. One tokio worker (in a child) makes the order deterministic: the
    // last JWTs finish while the slow introspections are still queued behind them.
    // 37: not a multiple of the batch, so the last results are waiting when the JWTs run out.
    const jwts = [];
    for (let i = 0; i < 37; i += 1) jwts.push(await issuer.mint({ claims: { n: i } }));
    const opaque = Array.from({ length: 8 }, () => issuer.mintOpaque());
    const script = `
      const { MonoCloudBackendNodeClient } = require(${JSON.stringify(fromRoot('dist', 'index.js'))});
      const { jwts, opaque, url, audience } = JSON.parse(process.env.FIXTURE);
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      const client = new MonoCloudBackendNodeClient({
        tenantDomain: url, audience, clientId: 'test-client', clientSecret: 'test-secret',
        fetcher: async (u, init) => { if (String(u).includes('introspect')) await sleep(2000); return fetch(u, init); },
      });
      client.getJwks().then(async () => {
        const started = performance.now();
        const fast = jwts.map((t) => client.validateAccessToken(t).then((c) => ({ n: c.n, ms: performance.now() - started })));
        const slow = opaque.map((t) => client.validateAccessToken(t));
        const answers = await Promise.all(fast);
        const slowAnswers = await Promise.all(slow);
        console.log(JSON.stringify({ ns: answers.map((a) => a.n), latest: Math.max(...answers.map((a) => a.ms)), slow: slowAnswers.map((a) => a.aud) }));
      });
    `;
    const run = await runNodeWith(['-e', script], {
      MONOCLOUD_BACKEND_WORKER_THREADS: '1',
      FIXTURE: JSON.stringify({ jwts, opaque, url: issuer.url, audience: issuer.audience }),
    });
    assert.equal(run.code, 0, run.err);
    const result = JSON.parse(run.out);
    assert.deepEqual(result.ns, jwts.map((_, i) => i));
    assert.ok(result.latest < 1500, `the JWTs took ${result.latest.toFixed(0)} ms: held back behind the 2 s introspections`);
    assert.deepEqual(result.slow, opaque.map(() => issuer.audience));
  });

  test('a client nobody holds still settles what it started, and the process then exits on its own', async () => {
    // A child with --expose-gc: the client goes out of reach and is collected mid-flight.
    const token = await issuer.mint();
    const script = `
      const { MonoCloudBackendNodeClient } = require(${JSON.stringify(fromRoot('dist', 'index.js'))});
      const pending = [];
      (() => {
        const client = new MonoCloudBackendNodeClient({ tenantDomain: ${JSON.stringify(issuer.url)}, audience: ${JSON.stringify(issuer.audience)} });
        for (let i = 0; i < 50; i += 1) pending.push(client.validateAccessToken(${JSON.stringify(token)}));
      })();
      for (let i = 0; i < 5; i += 1) globalThis.gc();
      Promise.all(pending).then((all) => { console.log(JSON.stringify({ settled: all.length, aud: all[0].aud })); });
    `;
    const run = await runNodeWith(['--expose-gc', '-e', script]);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(JSON.parse(run.out), { settled: 50, aud: issuer.audience });
  });
});
