// Memory benchmark: resident set size before and after validating a million distinct JWTs, and
// a million distinct opaque tokens by introspection, on one client with bounded caches (the
// introspection one asked for). Each phase runs in its own child process started with
// --expose-gc, so that the numbers are not mixed with each other or with the harness.
//
//   node bench/memory.mjs            (or: npm run bench:memory)
//
// Environment (all optional): BENCH_MEMORY_TOKENS (1000000 per phase), BENCH_MEMORY_MAX_SECONDS
// (160: time bound of each phase's validation loop; the report says how many tokens were done),
// BENCH_MEMORY_ALG (EdDSA, or ES256: minting a million RS256 tokens in Node takes too long).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { envNumber, fmtInt, fmtMiB, log, sleep, table, targetLine, writeReport } from './common.mjs';

const TOKENS = Math.max(1, Math.floor(envNumber('BENCH_MEMORY_TOKENS', 1_000_000)));
const MAX_SECONDS = envNumber('BENCH_MEMORY_MAX_SECONDS', 160);
const ALG = process.env.BENCH_MEMORY_ALG === 'ES256' ? 'ES256' : 'EdDSA';
const CONCURRENCY = 64;
const WARMUP = 1000;
// Twice the default cache size (10000): past this point both built-in caches are full, so the
// checkpoint separates what the bounded cache holds from what would be a leak.
const CACHE_FULL = 20_000;
// Checked in decimal megabytes, the stricter reading: 20 MB for a million JWTs (the second
// performance round), 50 MB for a million introspected tokens (the first round's bound).
const MB_LIMIT = { jwt: 20, opaque: 50 };

// ---------------------------------------------------------------------------------------------
// Inside a phase process

async function settle() {
  // Several passes: V8 frees in stages (weak callbacks, then the objects they released), and
  // native clients finalize only after their JS wrappers are gone.
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await sleep(50);
  }
  return process.memoryUsage();
}

/**
 * Runs `validate(i)` for i in [from, to) with 64 in flight, stopping early at the deadline.
 * Returns the index reached.
 */
async function drive(validate, from, to, deadline, onProgress) {
  let next = from;
  let failures = 0;
  let firstFailure = null;
  async function worker() {
    while (next < to && performance.now() < deadline) {
      const i = next++;
      try {
        await validate(i);
      } catch (error) {
        failures += 1;
        firstFailure ??= `${error?.constructor?.name}: ${error?.message}`;
      }
      if (i % 100_000 === 0 && i > from) onProgress?.(i);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { reached: Math.min(next, to), failures, firstFailure };
}

async function phaseJwt() {
  const { MonoCloudBackendNodeClient } = await import('@monocloud/backend-node-rs');
  const minter = await startMinter();
  try {
    // The default configuration: tokenCacheMaxEntries 10000.
    const client = new MonoCloudBackendNodeClient({ tenantDomain: minter.url, audience: minter.audience });
    await client.getJwks();
    const validate = async () => client.validateAccessToken(await minter.next());
    return await measure('jwt', validate);
  } finally {
    minter.close();
  }
}

/**
 * The issuer runs in a child process that mints tokens on request and streams them over a pipe,
 * so that signing a million tokens does not count in the RSS of the process being measured
 * (it used to: about 28 MiB of V8 heap). Tokens arrive in batches, a few thousand at a time.
 */
async function startMinter() {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--mint'], {
    env: process.env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const ready = [];
  const waiting = [];
  let outstanding = 0; // asked for, not yet received
  let info;
  const gotInfo = new Promise((resolve) => (info = resolve));
  lines.on('line', (line) => {
    if (line.startsWith('{')) return info(JSON.parse(line));
    outstanding -= 1;
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else ready.push(line);
  });
  const LOW = 2000;
  const BATCH = 4000;
  const { url, audience } = await gotInfo;
  return {
    url,
    audience,
    next() {
      if (ready.length + outstanding - waiting.length < LOW) {
        child.stdin.write(`${BATCH}\n`);
        outstanding += BATCH;
      }
      const token = ready.shift();
      if (token !== undefined) return Promise.resolve(token);
      return new Promise((resolve) => waiting.push(resolve));
    },
    close() {
      child.stdin.end();
      child.kill();
    },
  };
}

/** The minting child: an issuer that prints its URL, then N tokens for every N read on stdin. */
async function mintChild() {
  const { createTestIssuer } = await import('@monocloud/backend-node-rs/testing');
  const issuer = await createTestIssuer({ algs: [ALG] });
  process.stdout.write(`${JSON.stringify({ url: issuer.url, audience: issuer.audience })}\n`);
  const requests = createInterface({ input: process.stdin });
  for await (const line of requests) {
    const count = Number(line);
    let batch = '';
    for (let i = 0; i < count; i++) batch += `${await issuer.mint({ alg: ALG, expiresIn: 3600 })}\n`;
    if (!process.stdout.write(batch)) await once(process.stdout, 'drain');
  }
  await issuer.close();
}

async function phaseOpaque() {
  const { MonoCloudBackendNodeClient } = await import('@monocloud/backend-node-rs');
  const tenant = 'https://issuer.bench.invalid';
  const audience = 'https://api.example.com';
  const metadata = JSON.stringify({
    issuer: tenant,
    jwks_uri: `${tenant}/jwks`,
    introspection_endpoint: `${tenant}/introspect`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
  });
  let introspections = 0;
  // No network: the fetcher answers like an issuer would. Every call still goes JS → Rust →
  // fetcher callback → Rust (response parsing, claim checks, built-in introspection cache).
  const fetcher = async (url) => {
    if (url.endsWith('/introspect')) {
      introspections += 1;
      const iat = Math.floor(Date.now() / 1000);
      const body = JSON.stringify({
        active: true,
        iss: tenant,
        sub: `user-${introspections}`,
        aud: audience,
        iat,
        exp: iat + 3600,
        scope: 'read:things',
        client_id: 'test-client',
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    }
    if (url.endsWith('/.well-known/openid-configuration')) {
      return new Response(metadata, { status: 200, headers: { 'content-type': 'application/json' } });
    }
    return new Response('{"error":"not_found"}', { status: 404, headers: { 'content-type': 'application/json' } });
  };
  // The built-in introspection cache (opt-in) at 10000 entries, the default duration (300 s).
  const client = new MonoCloudBackendNodeClient({
    tenantDomain: tenant,
    audience,
    clientId: 'test-client',
    clientSecret: 'test-secret',
    introspectionCacheMaxEntries: 10_000,
    fetcher,
  });
  await client.getMetadata();
  // Distinct, opaque (no dots), about as long as a real one: a random prefix and a counter.
  const prefix = `op${Math.random().toString(36).slice(2, 12)}`;
  const validate = (i) => client.validateAccessToken(`${prefix}${String(i).padStart(32, '0')}`);
  const result = await measure('opaque', validate);
  result.introspections = introspections;
  return result;
}

async function measure(phase, validate) {
  const started = performance.now();
  const deadline = started + MAX_SECONDS * 1000;
  const start = await settle();
  let at = await drive(validate, 0, Math.min(WARMUP, TOKENS), Infinity);
  const afterWarmup = await settle();
  at = await drive(validate, at.reached, Math.min(CACHE_FULL, TOKENS), deadline);
  const cacheFull = await settle();
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 250);
  const loopStart = performance.now();
  const last = await drive(validate, at.reached, TOKENS, deadline, (i) => {
    log(`  ${phase}: ${fmtInt(i)} tokens, rss ${fmtMiB(process.memoryUsage.rss())} MiB, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  });
  const loopSeconds = (performance.now() - loopStart) / 1000;
  clearInterval(sampler);
  const end = await settle();
  return {
    phase,
    tokens: last.reached,
    failures: at.failures + last.failures,
    firstFailure: at.firstFailure ?? last.firstFailure,
    timedOut: last.reached < TOKENS,
    seconds: (performance.now() - started) / 1000,
    ratePerSecond: (last.reached - at.reached) / loopSeconds,
    start,
    afterWarmup,
    cacheFull,
    end,
    peakRss,
  };
}

// ---------------------------------------------------------------------------------------------
// The harness: one child per phase, then the table

async function runPhase(phase) {
  // stdout carries the result line; stderr (progress) goes straight to ours.
  const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--phase', phase], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    stdout += chunk;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), (MAX_SECONDS + 120) * 1000);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  const line = stdout.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    return { phase, failed: `no result (exit ${code}: ${line?.slice(0, 200)})` };
  }
}

async function main() {
  if (process.argv.includes('--mint')) return mintChild();
  const phaseArg = process.argv.indexOf('--phase');
  if (phaseArg !== -1) {
    const phase = process.argv[phaseArg + 1];
    if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
    const result = phase === 'jwt' ? await phaseJwt() : await phaseOpaque();
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }

  log(`memory: ${fmtInt(TOKENS)} tokens per phase, ${MAX_SECONDS} s bound per phase, JWT alg ${ALG}`);
  const results = [];
  for (const phase of ['jwt', 'opaque']) {
    log(`phase ${phase}`);
    const r = await runPhase(phase);
    results.push(r);
    if (r.failed) log(`  ${phase} failed: ${r.failed}`);
    else log(`  ${phase}: ${fmtInt(r.tokens)} tokens in ${r.seconds.toFixed(0)} s, rss ${fmtMiB(r.afterWarmup.rss)} → ${fmtMiB(r.end.rss)} MiB`);
  }

  const label = {
    jwt: `${ALG} JWTs, each distinct, validated once (default config: tokenCacheMaxEntries 10000)`,
    opaque: 'opaque tokens, each distinct, introspected once (default config: introspectionCacheMaxEntries 10000, 300 s); the `fetcher` option returns a synthesized `Response` (no network)',
  };
  const lines = [];
  lines.push(`## 3. Memory — RSS before and after ${fmtInt(TOKENS)} distinct tokens (one client, default caches)`);
  lines.push('');
  lines.push(
    `Each phase is a separate \`node --expose-gc\` process; 64 validations in flight; RSS is read after ${4} rounds of \`gc()\`. ` +
      `"before" = after ${fmtInt(WARMUP)} warm-up validations; "cache full" = after ${fmtInt(CACHE_FULL)} (twice the default cache size); ` +
      `growth = after − before, so it includes the bounded caches filling up. JWTs are ${ALG} (minting a million RS256 tokens in Node ` +
      'is too slow), minted just in time by the test issuer in a child process and streamed over a pipe, so signing does not count in the measured RSS. MiB = 2^20 bytes. "V8 heap" = growth of `heapTotal` (the JS heap V8 ' +
      'reserves, used or not: it grows with the allocation rate; the opaque phase\'s fetcher `Response` objects land there), "heap used" = growth of `heapUsed` ' +
      '(live JS objects after gc()), "native" = the rest of RSS (the addon, its caches, malloc).',
  );
  lines.push('');
  lines.push(table(
    ['phase', '>tokens', '>seconds', '>validations/s', '>RSS start MiB', '>RSS before MiB', '>RSS cache full MiB', '>RSS after MiB', '>growth MiB', '>of which V8 heap MiB', '>heap used MiB', '>of which native MiB', '>peak RSS MiB', '>failures'],
    results.map((r) =>
      r.failed
        ? [label[r.phase], 'failed', r.failed, '', '', '', '', '', '', '', '', '', '', '']
        : [
            label[r.phase],
            `${fmtInt(r.tokens)}${r.timedOut ? ' (time bound hit)' : ''}`,
            r.seconds.toFixed(0),
            fmtInt(r.ratePerSecond),
            fmtMiB(r.start.rss),
            fmtMiB(r.afterWarmup.rss),
            fmtMiB(r.cacheFull.rss),
            fmtMiB(r.end.rss),
            fmtMiB(r.end.rss - r.afterWarmup.rss),
            fmtMiB(r.end.heapTotal - r.afterWarmup.heapTotal),
            fmtMiB(r.end.heapUsed - r.afterWarmup.heapUsed),
            fmtMiB(r.end.rss - r.end.heapTotal - (r.afterWarmup.rss - r.afterWarmup.heapTotal)),
            fmtMiB(r.peakRss),
            `${fmtInt(r.failures)}${r.firstFailure ? ` (${r.firstFailure})` : ''}`,
          ],
    ),
  ));
  const opaque = results.find((r) => r.phase === 'opaque' && !r.failed);
  if (opaque) {
    lines.push('');
    lines.push(`Introspection requests answered by the fetcher during the opaque phase: ${fmtInt(opaque.introspections)} (one per distinct token: the cache could not hit).`);
  }
  lines.push('');

  const targets = results.map((r) => {
    const growth = r.failed ? NaN : (r.end.rss - r.afterWarmup.rss) / 1048576;
    return {
      name: r.phase === 'jwt'
        ? `RSS growth after ${fmtInt(r.tokens ?? TOKENS)} distinct ${ALG} JWTs`
        : `RSS growth after ${fmtInt(r.tokens ?? TOKENS)} distinct introspected opaque tokens (same bound, "bounded caches must hold")`,
      wanted: `≤ ${MB_LIMIT[r.phase]} MB (${MB_LIMIT[r.phase]}×10^6 bytes)`,
      measured: r.failed ? r.failed : `${growth.toFixed(1)} MiB = ${((growth * 1048576) / 1e6).toFixed(1)} MB${r.timedOut ? ` (only ${fmtInt(r.tokens)} tokens within the time bound)` : ''}`,
      // Over the bound is a miss however far it got; under it only counts once all tokens ran.
      pass: r.failed ? null : growth * 1048576 > MB_LIMIT[r.phase] * 1e6 ? false : r.timedOut ? null : true,
    };
  });
  lines.push('### Memory targets');
  lines.push('');
  for (const t of targets) lines.push(`- ${targetLine(t)}`);
  lines.push('');

  const markdown = lines.join('\n');
  process.stdout.write(`${markdown}\n`);
  writeReport({ part: 'memory', markdown, targets, data: results });
}

await main();
