// DPoP end to end: Express 5 with our protectApi() (DPoP on by default, replay checks on) and
// with express-oauth2-jwt-bearer (`dpop: { enabled: true }`, no replay checks), each request an
// RS256 DPoP-bound token with a fresh ES256 proof. Variants alternate within every round; each
// run gets a fresh server process (so a fresh replay store) and an unrecorded warm-up.
//
//   node bench/dpop.mjs
//
// Environment (all optional): BENCH_ROUNDS (3), BENCH_E2E_DURATION (10 s), BENCH_E2E_WARMUP (1 s),
// BENCH_E2E_CONNECTIONS (64), BENCH_DPOP_PROOFS (proofs made up front, enough for every run).
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createDpopProof, createTestIssuer, generateDpopKey } from '@monocloud/backend-node-rs/testing';
import autocannon from 'autocannon';

import { envNumber, fmtInt, fmtX, log, median, sleep, startServer, stopServer, table, writeReport } from './common.mjs';

const ROUNDS = Math.max(1, Math.floor(envNumber('BENCH_ROUNDS', 3)));
const DURATION = Math.max(1, envNumber('BENCH_E2E_DURATION', 10));
const WARMUP = envNumber('BENCH_E2E_WARMUP', 1);
const CONNECTIONS = Math.max(1, Math.floor(envNumber('BENCH_E2E_CONNECTIONS', 64)));
const PROOFS = Math.max(1000, Math.floor(envNumber('BENCH_DPOP_PROOFS', 200_000)));
const PORT = 40_000 + (process.pid % 20_000);
const URL_PATH = '/api/data';
// The baseline gets the same headers with no auth: what the framework and the load generator
// allow on this machine.
const VARIANTS = ['none', 'monocloud', 'auth0-dpop'];
const LABEL = {
  none: 'none (baseline, same headers)',
  monocloud: 'monocloud-rs protectApi() (default config: DPoP allowed, replay store on)',
  'auth0-dpop': 'express-oauth2-jwt-bearer auth({ dpop: { enabled: true } })',
};

async function statusOf(url, headers) {
  const response = await fetch(url, { headers });
  await response.arrayBuffer();
  return response.status;
}

async function main() {
  log(`dpop: ${ROUNDS} rounds × ${DURATION} s, ${CONNECTIONS} connections, warm-up ${WARMUP} s, ${fmtInt(PROOFS)} proofs`);
  const issuer = await createTestIssuer({ algs: ['RS256'] });
  const fixturePath = join(tmpdir(), `monocloud-bench-dpop-${process.pid}.json`);
  const runs = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  const checks = {};
  try {
    const key = generateDpopKey('ES256');
    const token = await issuer.mint({ alg: 'RS256', dpopKey: key, expiresIn: 3600 });
    const url = `http://127.0.0.1:${PORT}${URL_PATH}`;
    const started = performance.now();
    const authorization = `DPoP ${token}`;
    const proofs = [];
    for (let i = 0; i < PROOFS; i++) proofs.push(createDpopProof({ key, method: 'GET', url, accessToken: token }));
    log(`  made ${fmtInt(PROOFS)} ES256 proofs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    writeFileSync(fixturePath, JSON.stringify({ issuer: issuer.url, audience: issuer.audience }));

    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 0 ? [...VARIANTS].reverse() : VARIANTS;
      for (const auth of order) {
        let child;
        try {
          ({ child } = await startServer('express', { BENCH_FIXTURE: fixturePath, BENCH_AUTH: auth, BENCH_PORT: String(PORT) }));
          // Proofs are single-use for us: each server process starts from the first proof.
          let next = 0;
          const proof = () => proofs[next++ % proofs.length];
          const check = {
            fresh: await statusOf(url, { authorization, dpop: proof() }),
            'token as Bearer': await statusOf(url, { authorization: `Bearer ${token}` }),
            'other key': await statusOf(url, {
              authorization,
              dpop: createDpopProof({ key: generateDpopKey(), method: 'GET', url, accessToken: token }),
            }),
          };
          checks[auth] ??= check;
          const load = (duration) =>
            autocannon({
              url,
              connections: CONNECTIONS,
              duration,
              requests: [{ setupRequest: (request) => ({ ...request, headers: { authorization, dpop: proof() } }) }],
            });
          if (WARMUP > 0) await load(WARMUP);
          const r = await load(DURATION);
          if (next > proofs.length) throw new Error('ran out of proofs: raise BENCH_DPOP_PROOFS');
          runs[auth].push({ reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts });
          log(`  ${auth}: ${fmtInt(r.requests.average)} req/s, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}, checks ${JSON.stringify(check)}`);
        } catch (error) {
          log(`  ${auth}: run failed: ${error.message}`);
          runs[auth].push({ failed: error.message });
        } finally {
          if (child) await stopServer(child);
        }
        await sleep(300);
      }
    }
  } finally {
    rmSync(fixturePath, { force: true });
    await issuer.close();
  }

  const med = (auth, field) => median(runs[auth].filter((r) => !r.failed).map((r) => r[field]));
  const ratio = med('monocloud', 'reqPerSec') / med('auth0-dpop', 'reqPerSec');
  const lines = [
    `## DPoP end to end — Express 5, autocannon -c ${CONNECTIONS} -d ${DURATION}, ${ROUNDS} alternating rounds, RS256 token, ES256 proofs`,
    '',
    'Every request carries the same DPoP-bound token and a proof never sent before (the harness made them up front), ' +
      'so our replay store reserves a new key on every request. The server and the load generator share the 2 cores.',
    '',
    table(
      ['auth', '>req/s (median)', '>p50 ms', '>p99 ms', '>non-2xx', '>errors'],
      VARIANTS.map((auth) => [
        LABEL[auth],
        fmtInt(med(auth, 'reqPerSec')),
        fmtInt(med(auth, 'p50')),
        fmtInt(med(auth, 'p99')),
        fmtInt(runs[auth].reduce((s, r) => s + (r.non2xx ?? 0), 0)),
        fmtInt(runs[auth].reduce((s, r) => s + (r.errors ?? 0), 0)),
      ]),
    ),
    '',
    `protectApi ÷ express-oauth2-jwt-bearer: **${fmtX(ratio)}** (target ≥ 3×); protectApi at ${fmtX(med('monocloud', 'reqPerSec') / med('none', 'reqPerSec'))} of the baseline. Checks (HTTP status): ${JSON.stringify(checks)}.`,
    '',
  ];
  const markdown = lines.join('\n');
  process.stdout.write(`${markdown}\n`);
  writeReport({ part: 'dpop', markdown, targets: [{ name: 'DPoP req/s vs express-oauth2-jwt-bearer', wanted: '≥ 3×', measured: fmtX(ratio), pass: ratio >= 3 }], data: { runs, checks } });
}

await main();
