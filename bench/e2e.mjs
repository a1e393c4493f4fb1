// End-to-end benchmark: Express 5, Fastify 5, Hono 4, Koa 3 and NestJS (Express platform) on
// 127.0.0.1, without auth, with our protectApi() (MonoCloudGuard for NestJS) and (Express) with
// express-oauth2-jwt-bearer, loaded by autocannon from this
// process while each server runs in its own child process. Variants alternate within every
// round (A, B, C, then C, B, A, ...); each run gets a fresh server, correctness checks and an
// unrecorded warm-up first. RS256 tokens, as in the baseline.
//
//   node bench/e2e.mjs            (or: npm run bench:e2e)
//
// Environment (all optional): BENCH_ROUNDS (3), BENCH_POOL (10000), BENCH_E2E_DURATION (10 s
// per measured run), BENCH_E2E_WARMUP (1 s), BENCH_E2E_CONNECTIONS (64), BENCH_E2E_ONLY (a comma list
// of `framework` or `framework:auth` to run only those variants, e.g. `fastify:none,fastify:monocloud`),
// BENCH_CPU_PROF (a directory: each server writes a V8 CPU profile there).
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import autocannon from 'autocannon';

import {
  envNumber,
  fmtInt,
  fmtPct,
  log,
  median,
  sleep,
  startServer,
  stopServer,
  table,
  targetLine,
  writeReport,
} from './common.mjs';

const ROUNDS = Math.max(1, Math.floor(envNumber('BENCH_ROUNDS', 3)));
const POOL = Math.max(1, Math.floor(envNumber('BENCH_POOL', 10000)));
const DURATION = Math.max(1, envNumber('BENCH_E2E_DURATION', 10));
const WARMUP = envNumber('BENCH_E2E_WARMUP', 1);
const CONNECTIONS = Math.max(1, Math.floor(envNumber('BENCH_E2E_CONNECTIONS', 64)));
const TOKEN_LIFETIME = 4 * 3600;
const ONLY = (process.env.BENCH_E2E_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
// Node refuses --cpu-prof in NODE_OPTIONS: BENCH_CPU_PROF (a directory) passes it to each server.
const PROFILE = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
const selected = (v) => ONLY.length === 0 || ONLY.includes(v.framework) || ONLY.includes(`${v.framework}:${v.auth}`);

const AUTH_LABEL = {
  none: 'none (baseline)',
  'noop-hook': 'async onRequest hook that does nothing',
  'noop-middleware': 'a middleware that only calls next()',
  monocloud: 'monocloud-rs protectApi() (default config)',
  'monocloud-nocache': 'monocloud-rs protectApi({ tokenCacheMaxEntries: 0 })',
  auth0: 'express-oauth2-jwt-bearer auth()',
  'jwt-bearer': 'monocloud-rs jwt-bearer auth() (that library\'s API)',
};

// The no-cache variant only says something with the pool (a single token would be a miss once).
const VARIANTS = [
  { framework: 'express', auth: 'none', modes: ['single', 'pool'] },
  // What any middleware costs Express (one more layer to route through): the floor for ours.
  { framework: 'express', auth: 'noop-middleware', modes: ['single'] },
  { framework: 'express', auth: 'monocloud', modes: ['single', 'pool'] },
  { framework: 'express', auth: 'monocloud-nocache', modes: ['pool'] },
  { framework: 'express', auth: 'auth0', modes: ['single', 'pool'] },
  // The same auth() API on our verifier: the one-import migration, against the row above.
  { framework: 'express', auth: 'jwt-bearer', modes: ['single', 'pool'] },
  { framework: 'fastify', auth: 'none', modes: ['single', 'pool'] },
  // What any async guard costs Fastify before doing any work, to read the protectApi row against.
  { framework: 'fastify', auth: 'noop-hook', modes: ['single'] },
  { framework: 'fastify', auth: 'monocloud', modes: ['single', 'pool'] },
  { framework: 'fastify', auth: 'monocloud-nocache', modes: ['pool'] },
  { framework: 'hono', auth: 'none', modes: ['single', 'pool'] },
  // Any middleware turns Hono's one-handler route into a composed, asynchronous one: the floor for ours.
  { framework: 'hono', auth: 'noop-middleware', modes: ['single'] },
  { framework: 'hono', auth: 'monocloud', modes: ['single', 'pool'] },
  { framework: 'koa', auth: 'none', modes: ['single', 'pool'] },
  { framework: 'koa', auth: 'monocloud', modes: ['single', 'pool'] },
  // NestJS on its Express platform.
  { framework: 'nestjs', auth: 'none', modes: ['single', 'pool'] },
  { framework: 'nestjs', auth: 'monocloud', modes: ['single', 'pool'] },
];

/** A token whose signature is wrong: one character in the middle of it changed. */
function tamper(token) {
  const dot = token.lastIndexOf('.');
  const at = dot + Math.floor((token.length - dot) / 2);
  const c = token[at] === 'A' ? 'B' : 'A';
  return token.slice(0, at) + c + token.slice(at + 1);
}

async function statusOf(url, token) {
  const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  try {
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    return `error: ${error.message}`;
  }
}

/** Before any load: valid → 200, tampered → 401, none → 401 (without auth everything is 200). */
async function correctness(url, fixture, auth) {
  const got = {
    valid: await statusOf(url, fixture.single),
    'pool token': await statusOf(url, fixture.pool[fixture.pool.length - 1]),
    tampered: await statusOf(url, tamper(fixture.single)),
    'no token': await statusOf(url, undefined),
  };
  const want = auth === 'none' || auth.startsWith('noop-')
    ? { valid: 200, 'pool token': 200, tampered: 200, 'no token': 200 }
    : { valid: 200, 'pool token': 200, tampered: 401, 'no token': 401 };
  const ok = Object.keys(want).every((k) => got[k] === want[k]);
  return { got, ok };
}

function load(url, { mode, fixture, duration, rotation }) {
  const options = {
    url,
    connections: CONNECTIONS,
    duration,
    headers: { authorization: `Bearer ${fixture.single}` },
  };
  if (mode === 'pool') {
    // One pool token per request, in order; the rotation counter carries over from the
    // warm-up into the measured run of the same server.
    // The header objects are built once, before any load, so that rotating costs the load
    // generator as little as it can, and the same for every variant.
    const { poolHeaders } = fixture;
    options.requests = [
      {
        setupRequest(request) {
          request.headers = poolHeaders[rotation.next++ % poolHeaders.length];
          return request;
        },
      },
    ];
  }
  return autocannon(options);
}

async function main() {
  log(`e2e: ${ROUNDS} rounds × ${DURATION} s, ${CONNECTIONS} connections, warm-up ${WARMUP} s, pool ${POOL}`);
  const issuer = await createTestIssuer({ algs: ['RS256'] });
  const fixturePath = join(tmpdir(), `monocloud-bench-e2e-${process.pid}.json`);
  const runs = {}; // `${framework}|${auth}|${mode}` -> [run]
  const checks = {};
  try {
    const started = performance.now();
    const single = await issuer.mint({ alg: 'RS256', expiresIn: TOKEN_LIFETIME });
    const pool = [];
    for (let i = 0; i < POOL; i++) pool.push(await issuer.mint({ alg: 'RS256', expiresIn: TOKEN_LIFETIME }));
    log(`  minted ${POOL + 1} RS256 tokens in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const fixture = { issuer: issuer.url, audience: issuer.audience, single, pool };
    // Servers read the issuer and audience from here; the harness keeps the tokens.
    writeFileSync(fixturePath, JSON.stringify(fixture));
    fixture.poolHeaders = pool.map((token) => ({ authorization: `Bearer ${token}` }));

    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}/${ROUNDS}`);
      for (const mode of ['single', 'pool']) {
        // Even rounds run the variants in reverse, so no variant always follows the same one.
        const order = round % 2 === 0 ? [...VARIANTS].reverse() : VARIANTS;
        for (const v of order) {
          if (!v.modes.includes(mode) || !selected(v)) continue;
          const key = `${v.framework}|${v.auth}|${mode}`;
          let server;
          try {
            server = await startServer(v.framework, { BENCH_FIXTURE: fixturePath, BENCH_AUTH: v.auth }, { nodeArgs: PROFILE });
            const url = `http://127.0.0.1:${server.port}/api/data`;
            // The checks also make the middleware fetch the issuer's keys before the load.
            const check = await correctness(url, fixture, v.auth);
            (checks[`${v.framework}|${v.auth}`] ??= []).push(check);
            const rotation = { next: 0 };
            if (WARMUP > 0) await load(url, { mode, fixture, duration: WARMUP, rotation });
            const r = await load(url, { mode, fixture, duration: DURATION, rotation });
            const run = {
              reqPerSec: r.requests.average,
              total: r.requests.total,
              p50: r.latency.p50,
              p99: r.latency.p99,
              non2xx: r.non2xx,
              errors: r.errors,
              timeouts: r.timeouts,
              checksOk: check.ok,
              tokensSent: mode === 'pool' ? rotation.next : null,
            };
            (runs[key] ??= []).push(run);
            log(`  ${key}: ${fmtInt(run.reqPerSec)} req/s, p99 ${run.p99} ms, non-2xx ${run.non2xx}, errors ${run.errors}${check.ok ? '' : `, CHECKS FAILED ${JSON.stringify(check.got)}`}`);
          } catch (error) {
            log(`  ${key}: run failed: ${error.message}`);
            (runs[key] ??= []).push({ failed: error.message });
          } finally {
            if (server) await stopServer(server.child);
          }
          await sleep(300);
        }
      }
    }
  } finally {
    rmSync(fixturePath, { force: true });
    await issuer.close();
  }

  // -------------------------------------------------------------------------------------------

  const ok = (key) => (runs[key] ?? []).filter((r) => !r.failed);
  const medOf = (key, field) => median(ok(key).map((r) => r[field]));
  const lines = [];
  lines.push(`## 2. End to end — autocannon -c ${CONNECTIONS} -d ${DURATION}, 127.0.0.1, ${ROUNDS} alternating rounds, RS256`);
  lines.push('');
  lines.push(
    `Each run starts a fresh server process (bench/servers/*.mjs), checks it (valid → 200, tampered → 401, none → 401), ` +
      `warms it with ${WARMUP} s of the same load (not recorded) and then loads it for ${DURATION} s with autocannon's programmatic API ` +
      'in the harness process. "single" = one valid token on every request; "pool" = ' +
      `${fmtInt(POOL)} distinct valid tokens rotated per request with autocannon \`setupRequest\` (the no-auth pool baseline uses the same ` +
      'setupRequest path). "vs no-auth" = median req/s ÷ the median no-auth baseline of the same framework and token mode (the figure the targets use); ' +
      '"per-round pairs" = median over rounds of each run\'s req/s ÷ the same round\'s baseline run. ' +
      'The server and the load generator share the 2 cores.',
  );
  lines.push('');
  const rows = [];
  for (const mode of ['single', 'pool']) {
    for (const v of VARIANTS) {
      if (!v.modes.includes(mode)) continue;
      const key = `${v.framework}|${v.auth}|${mode}`;
      const base = medOf(`${v.framework}|none|${mode}`, 'reqPerSec');
      const rps = medOf(key, 'reqPerSec');
      const list = ok(key);
      const perToken = mode === 'pool' ? median(list.map((r) => r.tokensSent / POOL)) : NaN;
      // Runs of the same round are minutes apart at most: their ratio is less exposed to the
      // load of other processes than the ratio of medians.
      const baseRuns = runs[`${v.framework}|none|${mode}`] ?? [];
      const paired = median((runs[key] ?? []).map((r, i) => (r.failed || !baseRuns[i] || baseRuns[i].failed ? NaN : r.reqPerSec / baseRuns[i].reqPerSec)));
      rows.push([
        v.framework,
        `${v.auth.startsWith('monocloud') || v.auth === 'jwt-bearer' ? '**' : ''}${AUTH_LABEL[v.auth]}${v.auth.startsWith('monocloud') || v.auth === 'jwt-bearer' ? '**' : ''}`,
        mode,
        fmtInt(rps),
        fmtInt(medOf(key, 'p50')),
        fmtInt(medOf(key, 'p99')),
        fmtPct(rps / base),
        fmtPct(paired),
        `${list.length}/${(runs[key] ?? []).length}`,
        fmtInt(list.reduce((s, r) => s + r.non2xx, 0)),
        fmtInt(list.reduce((s, r) => s + r.errors + r.timeouts, 0)),
        mode === 'pool' ? perToken.toFixed(1) : '—',
      ]);
    }
  }
  lines.push(table(
    ['server', 'auth', 'tokens', '>req/s (median)', '>p50 ms', '>p99 ms (median)', '>vs no-auth', '>vs no-auth (per-round pairs)', '>runs', '>non-2xx', '>errors+timeouts', '>uses per pool token'],
    rows,
  ));
  lines.push('');
  lines.push(
    '"uses per pool token" = requests sent in the warm-up and the run ÷ pool size: above 1, the default-config monocloud-rs rows can be ' +
      'served from its verified-claims cache (10,000 entries) from the second pass on; the `tokenCacheMaxEntries: 0` rows cannot.',
  );
  lines.push('');
  lines.push(
    `Per-run req/s: ${Object.entries(runs)
      .map(([key, list]) => `${key.replaceAll('|', '-')}: ${list.map((r) => (r.failed ? 'failed' : fmtInt(r.reqPerSec))).join(' / ')}`)
      .join('; ')}.`,
  );
  lines.push('');
  lines.push(
    `Correctness checks (HTTP status, first run of each server): ${Object.entries(checks)
      .map(([key, list]) => `${key.replace('|', '-')} ${JSON.stringify(list[0].got)}${list.every((c) => c.ok) ? '' : ' **unexpected**'}`)
      .join('; ')}.`,
  );
  lines.push('');

  // Targets read the per-round pairs: a run and its baseline minutes apart share the machine's
  // load far better than two medians over the whole run do.
  const pairedRatio = (framework, auth, mode) => {
    const baseRuns = runs[`${framework}|none|${mode}`] ?? [];
    return median((runs[`${framework}|${auth}|${mode}`] ?? []).map((r, i) =>
      r.failed || !baseRuns[i] || baseRuns[i].failed ? NaN : r.reqPerSec / baseRuns[i].reqPerSec));
  };
  const targets = [];
  const ratioTarget = (framework, mode, wanted, name, extra) => {
    const ratio = pairedRatio(framework, 'monocloud', mode);
    const floor = extra?.floor === undefined ? NaN : pairedRatio(framework, extra.floor, mode);
    const nocache = extra?.nocache ? pairedRatio(framework, 'monocloud-nocache', mode) : NaN;
    const notes = [
      Number.isFinite(floor) ? `${AUTH_LABEL[extra.floor]}: ${fmtPct(floor)}` : '',
      Number.isFinite(nocache) ? `tokenCacheMaxEntries 0: ${fmtPct(nocache)}` : '',
    ].filter(Boolean);
    const met = ratio >= wanted && (!extra?.nocache || !Number.isFinite(nocache) || ratio >= nocache);
    targets.push({
      name: `${name} + protectApi, % of no-auth req/s (${mode === 'single' ? 'single token' : `${fmtInt(POOL)}-token pool`}, per-round pairs)`,
      wanted: `≥ ${wanted * 100}%${extra?.nocache ? ', and not below the no-token-cache variant' : ''}`,
      measured: `${fmtPct(ratio)}${notes.length ? ` (${notes.join('; ')})` : ''}`,
      pass: Number.isFinite(ratio) ? met : null,
    });
  };
  const wants = (framework) => VARIANTS.some((v) => v.framework === framework && v.auth === 'monocloud' && selected(v));
  if (wants('express')) {
    ratioTarget('express', 'single', 0.95, 'Express 5', { floor: 'noop-middleware' });
    ratioTarget('express', 'pool', 0.95, 'Express 5', { nocache: true });
  }
  if (wants('fastify')) {
    ratioTarget('fastify', 'single', 0.9, 'Fastify 5', { floor: 'noop-hook' });
    ratioTarget('fastify', 'pool', 0.95, 'Fastify 5', { nocache: true });
  }
  if (wants('hono')) ratioTarget('hono', 'single', 0.85, 'Hono 4', { floor: 'noop-middleware' });
  for (const [framework, name] of [['koa', 'Koa 3'], ['nestjs', 'NestJS (Express platform)']]) {
    if (wants(framework)) ratioTarget(framework, 'single', 0.85, name);
  }
  for (const mode of ['single', 'pool']) {
    const theirs = runs[`express|auth0|${mode}`] ?? [];
    const ratio = median((runs[`express|jwt-bearer|${mode}`] ?? []).map((r, i) =>
      r.failed || !theirs[i] || theirs[i].failed ? NaN : r.reqPerSec / theirs[i].reqPerSec));
    targets.push({
      name: `Express + jwt-bearer auth() ÷ express-oauth2-jwt-bearer auth(), req/s (${mode === 'single' ? 'single token' : `${fmtInt(POOL)}-token pool`}, per-round pairs)`,
      wanted: '≥ 1.6×',
      measured: Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a',
      pass: Number.isFinite(ratio) ? ratio >= 1.6 : null,
    });
  }
  const info = [];
  for (const framework of ['express', 'fastify', 'hono', 'koa', 'nestjs']) {
    for (const auth of ['monocloud', 'monocloud-nocache']) {
      if (!VARIANTS.some((v) => v.framework === framework && v.auth === auth && selected(v))) continue;
      const ratio = medOf(`${framework}|${auth}|pool`, 'reqPerSec') / medOf(`${framework}|none|pool`, 'reqPerSec');
      info.push(`${framework} ${AUTH_LABEL[auth]} pool: ${fmtPct(ratio)} of no-auth`);
    }
  }
  lines.push('### E2E targets');
  lines.push('');
  for (const t of targets) lines.push(`- ${targetLine(t)}`);
  lines.push(`- (for information, pool mode) ${info.join('; ')}`);
  lines.push('');

  const markdown = lines.join('\n');
  process.stdout.write(`${markdown}\n`);
  writeReport({ part: 'e2e', markdown, targets, data: { runs, checks } });
}

await main();
