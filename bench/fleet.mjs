// The fleet's shared store: what an introspection cache hit costs when it is answered by a
// real redis-server (started here, on a free loopback port) against the built-in in-memory
// cache and against no cache (every request asks the issuer). Express 5, one opaque token,
// autocannon; req/s and p99 latency.
//   BENCH_FLEET_DURATION     seconds per measured run (default 8)
//   BENCH_FLEET_ROUNDS       alternating rounds (default 2)
//   BENCH_FLEET_CONNECTIONS  autocannon connections (default 32)
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import autocannon from 'autocannon';

import { MonoCloudBackendNodeClient } from '@monocloud/backend-node-rs';
import { createDpopProof, createTestIssuer, generateDpopKey } from '@monocloud/backend-node-rs/testing';

import { startRedis } from '../__tests__/support/redis-server.mjs';
import { envNumber, fmtFixed, fmtInt, fmtPct, log, median, percentile, startServer, stopServer, table, writeReport } from './common.mjs';

const DURATION = envNumber('BENCH_FLEET_DURATION', 8);
const ROUNDS = envNumber('BENCH_FLEET_ROUNDS', 2);
const CONNECTIONS = envNumber('BENCH_FLEET_CONNECTIONS', 32);
const SEQUENTIAL = envNumber('BENCH_FLEET_SEQUENTIAL', 5_000);
const VARIANTS = ['none', 'memory', 'shared'];
const LABELS = {
  none: 'no introspection cache (issuer asked every time)',
  memory: 'built-in memory cache hit',
  shared: 'shared store (redis-server) hit',
};

async function load(port, token, duration) {
  return autocannon({
    url: `http://127.0.0.1:${port}/api/data`,
    connections: CONNECTIONS,
    duration,
    headers: { authorization: `Bearer ${token}` },
  });
}

/** One caller, one at a time: what a single cache hit costs, in microseconds. */
async function sequential(issuer, options, token) {
  const client = new MonoCloudBackendNodeClient({ ...issuer.clientOptions, ...options });
  await client.validateAccessToken(token);
  const samples = [];
  for (let i = 0; i < SEQUENTIAL; i += 1) {
    const started = performance.now();
    await client.validateAccessToken(token);
    samples.push((performance.now() - started) * 1000);
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/**
 * The DPoP replay check's cost: one caller validating requests with fresh proofs (made
 * beforehand, so signing does not count) for one bound token, with replay checks off, in memory
 * and in the shared store. Microseconds per request.
 */
async function dpopReplay(issuer, redisUrl) {
  const key = generateDpopKey();
  const token = await issuer.mint({ dpopKey: key });
  const url = 'https://api.example.com/things';
  const variants = {
    off: { dpop: { replayStore: false } },
    memory: {},
    shared: { store: redisUrl },
  };
  const results = {};
  for (const [name, options] of Object.entries(variants)) {
    const client = new MonoCloudBackendNodeClient({ ...issuer.clientOptions, ...options });
    const proofs = Array.from({ length: SEQUENTIAL + 1 }, () => createDpopProof({ key, method: 'GET', url, accessToken: token }));
    const request = (proof) => ({ method: 'GET', url, headers: { authorization: `DPoP ${token}`, dpop: proof } });
    await client.validateRequest(request(proofs[SEQUENTIAL]));
    const samples = [];
    for (let i = 0; i < SEQUENTIAL; i += 1) {
      const started = performance.now();
      await client.validateRequest(request(proofs[i]));
      samples.push((performance.now() - started) * 1000);
    }
    results[name] = { p50: percentile(samples, 50), p99: percentile(samples, 99) };
  }
  return results;
}

async function main() {
  log(`fleet: ${ROUNDS} rounds × ${DURATION} s, ${CONNECTIONS} connections`);
  const issuer = await createTestIssuer();
  const redis = await startRedis();
  const fixturePath = join(tmpdir(), `monocloud-bench-fleet-${process.pid}.json`);
  writeFileSync(fixturePath, JSON.stringify({ ...issuer.clientOptions, store: redis.url }));
  const runs = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  const checks = {};
  try {
    const token = issuer.mintOpaque({ sub: 'bench' }, { expiresIn: 3600 });
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const cache of VARIANTS) {
        const server = await startServer('express-introspection', { BENCH_FIXTURE: fixturePath, BENCH_CACHE: cache });
        try {
          await load(server.port, token, 1);
          issuer.resetCounters();
          const result = await load(server.port, token, DURATION);
          runs[cache].push({
            rps: result.requests.average,
            p99: result.latency.p99,
            errors: result.non2xx + result.errors,
            introspections: issuer.requests.introspection,
          });
          log(`  ${cache}: ${fmtInt(result.requests.average)} req/s, p99 ${result.latency.p99} ms`);
        } finally {
          await stopServer(server.child);
        }
      }
    }
    checks.sharedHitsAskNoIssuer = runs.shared.every((r) => r.introspections === 0);
    checks.sequential = {
      memory: await sequential(issuer, { introspectionCacheMaxEntries: 100 }, token),
      shared: await sequential(issuer, { store: redis.url }, token),
    };
    checks.dpop = await dpopReplay(issuer, redis.url);
  } finally {
    await redis.close();
    await issuer.close();
    rmSync(fixturePath, { force: true });
  }
  const base = median(runs.none.map((r) => r.rps));
  const rows = VARIANTS.map((cache) => {
    const rps = median(runs[cache].map((r) => r.rps));
    return [
      LABELS[cache],
      fmtInt(rps),
      fmtFixed(median(runs[cache].map((r) => r.p99)), 0),
      fmtPct(rps / base),
      fmtInt(median(runs[cache].map((r) => r.introspections))),
      fmtInt(runs[cache].reduce((sum, r) => sum + r.errors, 0)),
    ];
  });
  const lines = [
    `## Fleet — Express 5, one opaque token, autocannon -c ${CONNECTIONS} -d ${DURATION}, ${ROUNDS} rounds, medians`,
    '',
    table(['introspection answered by', 'req/s', 'p99 ms', 'vs no cache', 'introspections in a run', 'non-2xx'], rows),
    '',
    `One caller, ${fmtInt(SEQUENTIAL)} sequential \`validateAccessToken\` calls of the same opaque token, in process: ` +
      `memory hit p50 ${fmtFixed(checks.sequential?.memory.p50)} µs / p99 ${fmtFixed(checks.sequential?.memory.p99)} µs; ` +
      `shared-store hit p50 ${fmtFixed(checks.sequential?.shared.p50)} µs / p99 ${fmtFixed(checks.sequential?.shared.p99)} µs ` +
      '(one GET to redis-server on 127.0.0.1 through the `redis` crate).',
    '',
    `DPoP replay check, one caller, ${fmtInt(SEQUENTIAL)} requests with fresh ES256 proofs for one bound JWT (\`validateRequest\`, in process):`,
    '',
    table(
      ['replay store', 'p50 µs', 'p99 µs', 'added p50 vs off'],
      ['off', 'memory', 'shared'].map((name) => [
        { off: 'none (`replayStore: false`)', memory: 'built-in memory', shared: 'shared store (redis-server, SET NX PX)' }[name],
        fmtFixed(checks.dpop[name].p50),
        fmtFixed(checks.dpop[name].p99),
        fmtFixed(checks.dpop[name].p50 - checks.dpop.off.p50),
      ]),
    ),
  ];
  const markdown = lines.join('\n');
  process.stdout.write(`${markdown}\n`);
  writeReport({ part: 'fleet', markdown, targets: [], data: { runs, checks } });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
