// The store's client, measured on its hot path: the `redis` crate (store: URL) against a Node
// client driven through the JavaScript face (store: a node-redis or ioredis client object),
// in process, against a local redis-server started here.
//   - shared introspection hit: `validateAccessToken` of one opaque token whose answer is in
//     the store (one GET per call);
//   - DPoP replay check: `validateRequest` with a fresh ES256 proof each time (one SET NX PX),
//     proofs made beforehand so that signing does not count.
// Each at 1 and 64 calls in flight; rounds alternate the order of the clients (the machine is
// shared and noisy) and the table shows medians over rounds. For reference, the Node clients'
// own GET / SET NX PX called directly (no validation, no crossing into Rust).
// The Rust clients alone (`redis` crate against `fred`) are compared by a separate throwaway
// program, see README "Running a fleet".
//   BENCH_STORE_ROUNDS  rounds (default 5)
//   BENCH_STORE_CALLS   calls per measured run (default 4000)
import { createRequire } from 'node:module';

import { MonoCloudBackendNodeClient } from '@monocloud/backend-node-rs';
import { createDpopProof, createTestIssuer, generateDpopKey } from '@monocloud/backend-node-rs/testing';

import { startRedis } from '../__tests__/support/redis-server.mjs';
import { connectStoreClient } from '../__tests__/support/store-clients.mjs';
import { envNumber, fmtFixed, fmtInt, log, median, percentile, table, writeReport } from './common.mjs';

const require = createRequire(import.meta.url);
const ROUNDS = envNumber('BENCH_STORE_ROUNDS', 5);
const CALLS = envNumber('BENCH_STORE_CALLS', 4_000);
const INFLIGHT = [1, 64];
const FORMS = ['url', 'node-redis', 'ioredis'];
const LABELS = {
  url: '`redis` crate (store: URL)',
  'node-redis': `node-redis ${require('redis/package.json').version} object (through JS)`,
  ioredis: `ioredis ${require('ioredis/package.json').version} object (through JS)`,
  'node-redis-direct': 'node-redis called directly (reference)',
  'ioredis-direct': 'ioredis called directly (reference)',
};

/** Runs `call(i)` CALLS times with `inflight` at once; latency samples (µs) and calls a second. */
async function measure(call, inflight, calls = CALLS) {
  const samples = new Float64Array(calls);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < calls) {
        const i = next++;
        const t = performance.now();
        await call(i);
        samples[i] = (performance.now() - t) * 1000;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), rate: calls / seconds };
}

async function main() {
  log(`store clients: ${ROUNDS} rounds × ${CALLS} calls, in flight ${INFLIGHT.join(' and ')}`);
  const issuer = await createTestIssuer();
  const redis = await startRedis();
  const connected = {
    'node-redis': await connectStoreClient('node-redis', redis.url),
    ioredis: await connectStoreClient('ioredis', redis.url),
  };
  const storeOf = (form) => (form === 'url' ? redis.url : connected[form].client);
  const key = generateDpopKey();
  const bound = await issuer.mint({ dpopKey: key, expiresIn: 3600 });
  const opaque = issuer.mintOpaque({ sub: 'bench' }, { expiresIn: 3600 });
  const url = 'https://api.example.com/things';
  const clients = Object.fromEntries(
    FORMS.map((form) => [
      form,
      new MonoCloudBackendNodeClient({ ...issuer.clientOptions, store: storeOf(form), storeTimeout: 1_000, introspectionCacheDuration: 3600 }),
    ]),
  );
  const results = {};
  const keep = (name, result) => (results[name] ??= []).push(result);
  const errors = { count: 0 };
  const counted = (promise) => promise.catch(() => (errors.count += 1));
  try {
    for (const form of FORMS) await clients[form].validateAccessToken(opaque);
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 ? [...FORMS].reverse() : FORMS;
      for (const inflight of INFLIGHT) {
        for (const form of order) {
          const client = clients[form];
          await measure(() => counted(client.validateAccessToken(opaque)), inflight, CALLS / 10);
          keep(`hit/${inflight}/${form}`, await measure(() => counted(client.validateAccessToken(opaque)), inflight));
          const proofs = Array.from({ length: CALLS }, () => createDpopProof({ key, method: 'GET', url, accessToken: bound }));
          const request = (proof) => ({ method: 'GET', url, headers: { authorization: `DPoP ${bound}`, dpop: proof } });
          keep(`dpop/${inflight}/${form}`, await measure((i) => counted(client.validateRequest(request(proofs[i]))), inflight));
        }
        for (const form of ['node-redis', 'ioredis']) {
          const direct = connected[form].client;
          const hitKey = (await redis.command(['KEYS', 'monocloud:introspection:*']))[0];
          const get = form === 'ioredis' ? () => direct.get(hitKey) : () => direct.get(hitKey);
          keep(`hit/${inflight}/${form}-direct`, await measure(get, inflight));
          const set =
            form === 'ioredis'
              ? (i) => direct.set(`bench:${round}:${inflight}:io:${i}`, '1', 'PX', 330_000, 'NX')
              : (i) => direct.set(`bench:${round}:${inflight}:nr:${i}`, '1', { NX: true, PX: 330_000 });
          keep(`dpop/${inflight}/${form}-direct`, await measure(set, inflight));
        }
      }
      log(`  round ${round + 1}/${ROUNDS} done`);
    }
  } finally {
    for (const { close } of Object.values(connected)) await close();
    await redis.close();
    await issuer.close();
  }
  const rows = [];
  for (const op of ['hit', 'dpop']) {
    for (const inflight of INFLIGHT) {
      for (const form of [...FORMS, 'node-redis-direct', 'ioredis-direct']) {
        const runs = results[`${op}/${inflight}/${form}`];
        rows.push([
          op === 'hit' ? 'introspection hit (GET)' : 'DPoP replay (SET NX PX)',
          String(inflight),
          LABELS[form],
          fmtFixed(median(runs.map((r) => r.p50)), 0),
          fmtFixed(median(runs.map((r) => r.p99)), 0),
          fmtInt(median(runs.map((r) => r.rate))),
        ]);
      }
    }
  }
  const markdown = [
    `## Store clients — in process, ${ROUNDS} alternating rounds × ${fmtInt(CALLS)} calls, medians`,
    '',
    table(['operation', 'in flight', 'client', 'p50 µs', 'p99 µs', 'calls/s'], rows),
    '',
    `Failed calls: ${errors.count}. Rows through validation include the whole check (and for DPoP the proof's signature).`,
  ].join('\n');
  process.stdout.write(`${markdown}\n`);
  writeReport({ part: 'store-clients', markdown, targets: [], data: results });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
