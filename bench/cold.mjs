// Cold start: what a fresh process pays before its first answer. Each measurement is a new Node
// process that loads the library, builds its verifier for a loopback issuer and validates one
// RS256 token (the first validation fetches what it needs: for monocloud-rs the discovery
// document and the key set, for jose the key set, whose URL it is given). Libraries alternate
// process by process; medians are reported.
//
//   node bench/cold.mjs            (or: npm run bench:cold)
//
// Environment (all optional): BENCH_COLD_RUNS (15 processes per library).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { envNumber, fmtFixed, log, median, table, writeReport } from './common.mjs';

const RUNS = Math.max(1, Math.floor(envNumber('BENCH_COLD_RUNS', 15)));
const run = promisify(execFile);

// The child: times from process start (performance.timeOrigin) to each step.
const CHILD = String.raw`
const started = performance.now();
const { library, issuer, audience, jwksUri, token } = JSON.parse(process.env.BENCH_COLD);
let loaded, constructed, validate;
if (library === 'ours') {
  const { MonoCloudBackendNodeClient } = await import('@monocloud/backend-node-rs');
  loaded = performance.now();
  const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer, audience });
  constructed = performance.now();
  validate = () => client.validateAccessToken(token);
} else {
  const { createRemoteJWKSet, jwtVerify } = await import('jose');
  loaded = performance.now();
  const jwks = createRemoteJWKSet(new URL(jwksUri));
  constructed = performance.now();
  validate = () => jwtVerify(token, jwks, { issuer, audience, algorithms: ['RS256'] });
}
const claims = await validate();
const firstValidation = performance.now();
const second = performance.now();
await validate();
const secondValidation = performance.now() - second;
if (!claims) throw new Error('no claims');
process.stdout.write(JSON.stringify({ started, loaded, constructed, firstValidation, secondValidation }));
`;

const LIBRARIES = [
  { id: 'ours', label: 'monocloud-rs MonoCloudBackendNodeClient' },
  { id: 'jose', label: 'jose createRemoteJWKSet + jwtVerify' },
];

async function main() {
  log(`cold: ${RUNS} processes per library`);
  const issuer = await createTestIssuer({ algs: ['RS256'] });
  const results = Object.fromEntries(LIBRARIES.map((l) => [l.id, []]));
  try {
    const token = await issuer.mint({ alg: 'RS256', expiresIn: 3600 });
    const discovery = await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json();
    const context = { issuer: issuer.url, audience: issuer.audience, jwksUri: discovery.jwks_uri, token };
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 ? [...LIBRARIES].reverse() : LIBRARIES;
      for (const library of order) {
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CHILD], {
          cwd,
          env: { ...process.env, BENCH_COLD: JSON.stringify({ ...context, library: library.id }) },
          timeout: 30_000,
        });
        results[library.id].push(JSON.parse(stdout));
      }
    }
  } finally {
    await issuer.close();
  }

  const step = (id, f) => median(results[id].map(f));
  const rows = LIBRARIES.map((l) => [
    l.label,
    fmtFixed(step(l.id, (r) => r.loaded - r.started), 1),
    fmtFixed(step(l.id, (r) => r.constructed - r.loaded), 2),
    fmtFixed(step(l.id, (r) => r.constructed - r.started), 1),
    fmtFixed(step(l.id, (r) => r.firstValidation - r.constructed), 1),
    fmtFixed(step(l.id, (r) => r.secondValidation), 3),
  ]);
  const lines = [];
  lines.push(`## Cold start — ${RUNS} fresh processes per library, alternating, medians (ms)`);
  lines.push('');
  lines.push(
    'Times from the process\'s own start (after Node itself has booted) to each step, read with `performance.now()` ' +
      'in the child. "first validation" includes fetching from the loopback test issuer what the library needs: ' +
      'monocloud-rs the discovery document and the key set, jose only the key set, whose URL it is given.',
  );
  lines.push('');
  lines.push(table(['library', '>import (ms)', '>construct (ms)', '>start → constructed (ms)', '>first validation (ms)', '>second validation (ms)'], rows));
  lines.push('');
  const targets = [
    {
      name: 'Module load and first construct (process start → constructed), cold',
      wanted: 'measured against jose',
      measured: `${fmtFixed(step('ours', (r) => r.constructed - r.started), 1)} ms vs jose ${fmtFixed(step('jose', (r) => r.constructed - r.started), 1)} ms`,
      pass: null,
    },
    {
      name: 'First validation on a cold client (loopback issuer)',
      wanted: 'measured against jose',
      measured: `${fmtFixed(step('ours', (r) => r.firstValidation - r.constructed), 1)} ms vs jose ${fmtFixed(step('jose', (r) => r.firstValidation - r.constructed), 1)} ms`,
      pass: null,
    },
  ];
  lines.push('### Cold-start figures');
  lines.push('');
  for (const t of targets) lines.push(`- ${t.name}: ${t.measured}`);
  lines.push('');
  const markdown = lines.join('\n');
  process.stdout.write(`${markdown}\n`);
  writeReport({ part: 'cold', markdown, targets, data: results });
}

await main();
