// The addon over a process's life: in worker threads (several at once, terminated mid-flight),
// several clients side by side, processes that end on their own when their work is done, and
// what a panic in Rust does to Node.
//
// How napi-rs 3 (napi 3.16) handles panics, which the last section relies on:
// - async (`#[napi] async fn`, `env.spawn_future`): the future runs as a tokio task; tokio catches
//   the panic and napi rejects the promise with a plain Error (code `GenericFailure`, message the
//   panic text when it is a `&str` literal, else "Panic in async function"). Node carries on.
// - sync (`#[napi] fn`, constructors, the synchronous part of `validateAccessToken`): no
//   `catch_unwind` unless the function is marked `#[napi(catch_unwind)]`; the panic reaches the
//   `extern "C"` trampoline and Rust aborts the process (SIGABRT, exit 134). With
//   `#[napi(catch_unwind)]` (it compiles on constructors and methods too) the panic is thrown as
//   an Error with the panic text.
// All of this was checked against a scratch napi 3.16 addon built with our features. It relies on
// `panic = "unwind"` (the release profile's default): `panic = "abort"` would abort on both paths.
// Panics used to be reachable through extreme durations (fixed in 8675135, regression tests
// below); the panic tests proper use entry points compiled only into the test addon.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import {
  MonoCloudBackendNodeClient,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { runNode } from '../support/child.mjs';
import { now } from '../support/clock.mjs';
import { loadNative, loadTestAddon, NATIVE_TYPES } from '../support/native.mjs';
import { fromRoot } from '../support/paths.mjs';
import { blackHole } from '../support/raw-http.mjs';

const WORKER = new URL('../support/lifecycle-worker.mjs', import.meta.url);
const CHILD = fileURLToPath(new URL('../support/lifecycle-child.mjs', import.meta.url));

let issuer;
let other;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256', 'RS256'] });
  other = await createTestIssuer({ algs: ['EdDSA'] });
});

after(async () => {
  await issuer?.close();
  await other?.close();
});

/** Settles within `ms` or fails: nothing here may hang. */
function within(ms, promise, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    }),
  ]);
}

function startWorker(workerData) {
  const worker = new Worker(WORKER, { workerData });
  const messages = [];
  worker.on('message', (m) => messages.push(m));
  const exited = new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('exit', (code) => resolve(code));
  });
  return { worker, messages, exited };
}

/**
 * Runs lifecycle-child.mjs with `scenario` and resolves with its exit code, signal, output, the
 * result it printed, and how long it lived after printing `work-done`. Killed after `timeoutMs`.
 */
async function runChild(scenario, { argument, env = {}, timeoutMs = 20_000 } = {}) {
  const args = [CHILD, scenario, ...(argument ? [JSON.stringify(argument)] : [])];
  const run = await runNode(args, { env: { ...process.env, ...env }, timeoutMs, mark: (stdout) => stdout.includes('work-done') });
  const line = run.stdout.split('\n').find((l) => l.startsWith('work-done '));
  return { ...run, result: line ? JSON.parse(line.slice('work-done '.length)) : undefined };
}

function assertEndedOnItsOwn(run, lingerLimitMs = 3000) {
  assert.ok(!run.killed, `the process had to be killed; stderr: ${run.stderr.slice(0, 500)}`);
  assert.equal(run.signal, null, `ended by ${run.signal}; stderr: ${run.stderr.slice(0, 500)}`);
  assert.equal(run.code, 0, `exit code ${run.code}; stderr: ${run.stderr.slice(0, 500)}`);
  assert.ok(run.result, 'the work was done');
  assert.ok(run.lingeredMs < lingerLimitMs, `the process lived ${Math.round(run.lingeredMs)} ms after its work was done`);
}

// ---------------------------------------------------------------------------------------------

describe('worker_threads', () => {
  test('several workers at once, each with its own client and issuer, and the main thread too', async () => {
    const tokens = await Promise.all(Array.from({ length: 5 }, () => issuer.mint()));
    const workers = Array.from({ length: 4 }, () =>
      startWorker({ mode: 'validate', rounds: 5, issuer: issuer.url, audience: issuer.audience, tokens }),
    );
    const main = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
    const mainJobs = Array.from({ length: 100 }, async (_, i) => {
      const claims = await main.validateAccessToken(await issuer.mint({ alg: i % 2 ? 'RS256' : 'ES256', claims: { i } }));
      assert.equal(claims.i, i);
    });
    await within(30_000, Promise.all(mainJobs), 'the main thread validations');
    const codes = await within(30_000, Promise.all(workers.map((w) => w.exited)), 'the workers');
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const summaries = workers.map((w) => w.messages[0]);
    assert.equal(new Set(summaries.map((s) => s.threadId)).size, 4);
    for (const summary of summaries) {
      assert.deepEqual(
        { ...summary, threadId: 0 },
        { threadId: 0, validated: 15, introspected: true, refused: true, fetches: summary.fetches, introspectionCacheHit: true, shared: 5 },
      );
      assert.ok(summary.fetches >= 3, 'the fetcher carried discovery, JWKS and introspection');
    }
  });

  test('a worker terminated with validations in flight disturbs nothing', async () => {
    const hole = await blackHole();
    try {
      const { worker, messages, exited } = startWorker({ mode: 'pending', url: hole.url });
      await within(10_000, (async () => {
        while (messages.length === 0) await new Promise((r) => setTimeout(r, 5));
      })(), 'the worker start');
      await new Promise((r) => setTimeout(r, 100));
      await worker.terminate();
      assert.equal(await exited, 1);
      // The process, the shared runtime and other clients carry on.
      const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
      assert.equal((await client.validateAccessToken(await issuer.mint())).aud, issuer.audience);
      const again = startWorker({ mode: 'validate', rounds: 1, issuer: issuer.url, audience: issuer.audience, tokens: [await issuer.mint()] });
      assert.equal(await within(20_000, again.exited, 'a new worker'), 0);
      assert.equal(again.messages[0].validated, 3);
    } finally {
      await hole.close();
    }
  });

  test('a worker that calls process.exit with validations in flight disturbs nothing', async () => {
    const hole = await blackHole();
    try {
      const { exited } = startWorker({ mode: 'pending', url: hole.url, exit: true });
      assert.equal(await within(10_000, exited, 'the worker exit'), 0);
      const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
      assert.equal((await client.validateAccessToken(await issuer.mint())).aud, issuer.audience);
    } finally {
      await hole.close();
    }
  });

  test(
    'a worker loading the addon after the last one using it ended gets our runtime again',
    {
      todo:
        'napi-rs shuts the shared tokio runtime down when the last environment using the addon ends, and ' +
        "create_custom_tokio_runtime's runtime can be taken only once: the next environment gets napi's default " +
        'runtime (one worker per core, threads "tokio-rt-worker"), not ours ("monocloud-backend", sized by ' +
        'MONOCLOUD_BACKEND_WORKER_THREADS or 2). Validation still works.',
    },
    async () => {
      const run = await runChild('runtime-after-last-env');
      assertEndedOnItsOwn(run);
      assert.deepEqual(run.result.codes, [0, 0]);
      assert.equal(run.result.first.sub, 'test-user');
      assert.equal(run.result.second.sub, 'test-user', 'validation works in the second worker');
      const ours = (threads) => threads.filter((name) => name.startsWith('monocloud-back')).length;
      assert.ok(ours(run.result.first.threads) > 0, `first worker threads: ${run.result.first.threads}`);
      assert.ok(ours(run.result.second.threads) > 0, `second worker threads: ${run.result.second.threads}`);
    },
  );
});

// ---------------------------------------------------------------------------------------------

describe('the runtime threads', () => {
  // /proc/<pid>/task/<tid>/stat: the 41st field is the scheduling policy (3 = SCHED_BATCH); the
  // fields are counted after the command name, which may itself hold spaces.
  const policyOf = (tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3]);
  };
  const SCHED_OTHER = 0;
  const SCHED_BATCH = 3;

  test('on Linux, our workers run under SCHED_BATCH and nothing else of the process does', { skip: process.platform !== 'linux' }, async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
    // A validation that goes to the workers (a token never seen), so they are certainly running.
    assert.equal((await client.validateAccessToken(await issuer.mint({ alg: 'ES256' }))).sub, 'test-user');
    const threads = readdirSync('/proc/self/task').map((tid) => ({
      name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(),
      policy: policyOf(tid),
    }));
    const ours = threads.filter(({ name }) => name.startsWith('monocloud-back'));
    assert.ok(ours.length > 0, `no runtime threads among ${threads.map(({ name }) => name)}`);
    for (const thread of ours) assert.equal(thread.policy, SCHED_BATCH, JSON.stringify(thread));
    // The main thread's id is the process id: the event loop keeps the default policy.
    assert.equal(policyOf(process.pid), SCHED_OTHER);
  });
});

describe('several clients', () => {
  test('clients of different issuers and audiences, concurrently: each accepts exactly its own tokens, twice over', async () => {
    const audiences = ['https://one.example.com', 'https://two.example.com'];
    const clients = [];
    for (const source of [issuer, other]) {
      for (const audience of audiences) {
        clients.push({ source, audience, client: new MonoCloudBackendNodeClient({ tenantDomain: source.url, audience }) });
      }
    }
    const tokens = [];
    for (const source of [issuer, other]) {
      for (const audience of audiences) {
        for (let i = 0; i < 5; i += 1) {
          const alg = source === issuer ? (i % 2 ? 'RS256' : 'ES256') : 'EdDSA';
          tokens.push({ source, audience, token: await source.mint({ alg, claims: { aud: audience, i } }) });
        }
      }
    }
    // The second round is served from each client's verified-token cache: it must not leak
    // a token accepted by one client into another.
    for (let round = 0; round < 2; round += 1) {
      const jobs = [];
      for (const c of clients) {
        for (const t of tokens) {
          const expected = c.source === t.source && c.audience === t.audience;
          jobs.push(
            c.client.validateAccessToken(t.token).then(
              (claims) => {
                assert.ok(expected, `round ${round}: a client accepted a token of another issuer or audience`);
                assert.equal(claims.aud, c.audience);
              },
              (error) => {
                assert.ok(!expected, `round ${round}: a client refused its own token: ${error.message}`);
                assert.ok(error instanceof MonoCloudTokenError, error.message);
                assert.equal(error.code, 'invalid_token');
              },
            ),
          );
        }
      }
      await within(30_000, Promise.all(jobs), 'the validations');
    }
  });

  test('clock settings stay with their client', async () => {
    const a = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
    const b = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
    const token = await issuer.mint({ claims: { exp: now() + 10 } });
    await a.validateAccessToken(token);
    a.setClockSkew(1000);
    a.setClockTolerance(0);
    await assert.rejects(a.validateAccessToken(token), (e) => e instanceof MonoCloudTokenError);
    assert.equal((await b.validateAccessToken(token)).aud, issuer.audience);
  });

  test('a client whose issuer hangs does not hold up another', async () => {
    const hole = await blackHole();
    try {
      const stuck = new MonoCloudBackendNodeClient({ tenantDomain: hole.url, audience: issuer.audience, responseTimeout: 3000 });
      const fine = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
      let stuckSettled = false;
      const waiting = Promise.all(
        Array.from({ length: 20 }, () => stuck.validateAccessToken('eyJhbGciOiJFUzI1NiJ9.e30.c2ln').catch((e) => e)),
      ).finally(() => {
        stuckSettled = true;
      });
      for (let i = 0; i < 20; i += 1) await fine.validateAccessToken(await issuer.mint({ claims: { i } }));
      assert.equal(stuckSettled, false, 'the healthy client finished only after the stuck one gave up');
      for (const outcome of await within(10_000, waiting, 'the stuck validations')) {
        assert.equal(outcome.name, 'MonoCloudHttpError');
      }
    } finally {
      await hole.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('a process that used the client ends on its own', () => {
  test('after JWTs, introspection with the built-in cache, onEvent and a fetcher', async () => {
    const run = await runChild('everything');
    assertEndedOnItsOwn(run);
    assert.equal(run.result.sub, 'test-user');
    for (const type of ['cache_hit', 'cache_miss', 'jwks_fetched', 'metadata_fetched', 'token_rejected']) {
      assert.ok(run.result.events.includes(type), `event ${type} was reported: ${run.result.events}`);
    }
  });

  test('with a client configured with every callback and never used', async () => {
    assertEndedOnItsOwn(await runChild('idle-client'));
  });

  test('after validating in worker threads', async () => {
    const run = await runChild('workers');
    assertEndedOnItsOwn(run);
    assert.deepEqual(run.result.codes, [0, 0]);
    assert.deepEqual(run.result.validated, [6, 6]);
  });

  test('after a validation that ended in a response timeout', async () => {
    const run = await runChild('timeout');
    assertEndedOnItsOwn(run);
    assert.deepEqual(run.result, { error: 'MonoCloudHttpError', http: true });
  });
});

// ---------------------------------------------------------------------------------------------

describe('durations the clock cannot represent (used to panic; fixed in 8675135)', () => {
  // `Duration::from_secs_f64` panics at about 1.8e19 s, `Instant + Duration` overflows near
  // 9.2e18 s, and options refuse only Infinity. In the constructor that was a synchronous panic,
  // which aborted the process (SIGABRT, exit 134); at request time a rejected promise with a plain
  // Error "Panic in async function". Constructions run in a child process, so that a regression
  // fails one test instead of killing this file.
  for (const [name, options, env] of [
    ['jwksCacheDuration: 1e300', { jwksCacheDuration: 1e300 }],
    ['metadataCacheDuration: 1e300', { metadataCacheDuration: 1e300 }],
    ['staleIfErrorDuration: 1e20', { staleIfErrorDuration: 1e20 }],
    ['responseTimeout: 1e300', { responseTimeout: 1e300 }],
    ['MONOCLOUD_BACKEND_JWKS_CACHE_DURATION=100000000000000000000', {}, { MONOCLOUD_BACKEND_JWKS_CACHE_DURATION: '100000000000000000000' }],
  ]) {
    test(`constructing with ${name} does not abort the process`, async () => {
      const run = await runChild('construct', { argument: options, env });
      assertEndedOnItsOwn(run);
      assert.ok(['constructed', 'MonoCloudValidationError'].includes(run.result.outcome), run.result.outcome);
    });
  }

  test('jwksCacheDuration and metadataCacheDuration of 1e19 s: refused at construction, or validation works', async () => {
    let client;
    try {
      client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, jwksCacheDuration: 1e19, metadataCacheDuration: 1e19 });
    } catch (error) {
      assert.ok(error instanceof MonoCloudValidationError, `${error?.name}: ${error?.message}`);
      return;
    }
    for (let i = 0; i < 2; i += 1) {
      assert.equal((await within(5000, client.validateAccessToken(await issuer.mint()), 'a validation')).aud, issuer.audience);
    }
  });

  test('introspectionCacheDuration: 1e300 is refused, or works for answers without exp and for inactive tokens', async () => {
    let client;
    try {
      client = new MonoCloudBackendNodeClient({
        tenantDomain: issuer.url,
        audience: issuer.audience,
        clientId: 'test-client',
        clientSecret: 'test-secret',
        introspectionCacheDuration: 1e300,
        // The built-in introspection cache is opt-in; this test is about its durations.
        introspectionCacheMaxEntries: 100,
      });
    } catch (error) {
      assert.ok(error instanceof MonoCloudValidationError, `${error?.name}: ${error?.message}`);
      return;
    }
    const withoutExp = issuer.mintOpaque({ exp: undefined });
    assert.equal((await client.validateAccessToken(withoutExp)).sub, 'test-user');
    assert.equal((await client.validateAccessToken(withoutExp)).sub, 'test-user', 'and from the cache');
    const revoked = issuer.mintOpaque();
    issuer.revoke(revoked);
    for (let i = 0; i < 2; i += 1) {
      await assert.rejects(client.validateAccessToken(revoked), (e) => e instanceof MonoCloudTokenError && e.code === 'inactive_token');
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('panics in Rust', () => {
  // No input reaches a panic any more (the fuzzers looked for one), so these tests use entry
  // points that panic on purpose (src/napi/test_hooks.rs), compiled only into the test addon
  // (`npm run build:test-addon`, cargo feature `test-hooks`):
  //   __testPanicSync(message)    #[napi(catch_unwind)] fn that panics
  //   __testPanicAsync(message)   #[napi] async fn that panics
  //   __testPanicSpawn(message)   work spawned the way a validation is, that panics
  // The async ones reject with Error(code GenericFailure, the panic text, or "Panic in async
  // function" for a formatted message) and Node carries on; the sync one would abort the process
  // without catch_unwind, which turns the panic into a thrown Error.
  const native = loadTestAddon();
  // The hooks are inert unless armed; the child process inherits this too.
  process.env.MONOCLOUD_BACKEND_TEST_HOOKS = '1';

  test('the test addon has the hooks, and the release binary and its types do not', () => {
    for (const kind of ['Sync', 'Async', 'Spawn']) {
      assert.equal(typeof native[`__testPanic${kind}`], 'function', kind);
      assert.equal(loadNative()[`__testPanic${kind}`], undefined, kind);
    }
    assert.doesNotMatch(readFileSync(fromRoot(NATIVE_TYPES), 'utf8'), /__testPanic/);
  });

  for (const kind of ['Async', 'Spawn']) {
    test(`a panic in ${kind === 'Async' ? 'an async fn' : 'a spawned future'} rejects that call with an Error; the process and clients carry on`, async () => {
      const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
      assert.equal((await client.validateAccessToken(await issuer.mint())).aud, issuer.audience);
      for (let i = 0; i < 3; i += 1) {
        await assert.rejects(within(5000, Promise.resolve().then(() => native[`__testPanic${kind}`]('test panic')), 'the panicking call'), (error) => {
          assert.ok(error instanceof Error);
          // napi-rs passes a literal panic message on, and words a formatted one itself.
          assert.ok(['test panic', 'Panic in async function'].includes(error.message), error.message);
          assert.equal(error.code, 'GenericFailure');
          return true;
        });
        assert.equal((await client.validateAccessToken(await issuer.mint())).aud, issuer.audience);
      }
    });
  }

  test(
    'a panic in a synchronous call is a JavaScript exception, not an abort',
    async () => {
      const run = await runChild('panic-sync');
      assertEndedOnItsOwn(run);
      assert.deepEqual(run.result, { caught: true, message: 'test panic' });
    },
  );
});
