// Runs the benchmarks one after another (each in its own process, so one cannot warm or
// pollute another), prints their tables and every target with PASS/MISS, and writes
// bench/RESULTS.md with the machine, the versions and the command.
//
//   npm run bench                      every part; writes bench/RESULTS.md
//   node bench/run.mjs micro e2e       only those parts; prints, does not touch RESULTS.md
//
// Every part takes its BENCH_* environment variables (see the head of each file). Nothing here
// fails the run on a missed target: it is a benchmark, not a test.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';

import { addonInfo, BENCH_DIR, log, machineInfo, packageVersions, table, targetLine, targetsTable } from './common.mjs';

const PARTS = ['micro', 'e2e', 'dpop', 'memory', 'fleet', 'cold', 'store-clients'];
const requested = process.argv.slice(2).filter((a) => PARTS.includes(a));
const parts = requested.length ? requested : PARTS;

function runPart(part) {
  const out = join(tmpdir(), `monocloud-bench-${part}-${process.pid}.json`);
  rmSync(out, { force: true });
  const started = Date.now();
  const child = spawn(process.execPath, [join(BENCH_DIR, `${part}.mjs`)], {
    env: { ...process.env, BENCH_JSON: out },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      const seconds = (Date.now() - started) / 1000;
      try {
        resolve({ ...JSON.parse(readFileSync(out, 'utf8')), seconds });
      } catch {
        resolve({ part, failed: `exited with ${signal ?? code} without a report`, seconds, targets: [], markdown: '' });
      } finally {
        rmSync(out, { force: true });
      }
    });
  });
}

async function main() {
  const machine = await machineInfo();
  const loadBefore = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const versions = packageVersions([
    'jose',
    'fast-jwt',
    'jsonwebtoken',
    'express-oauth2-jwt-bearer',
    'express',
    'fastify',
    'autocannon',
    '@napi-rs/cli',
  ]);
  const overrides = Object.entries(process.env)
    .filter(([name]) => name.startsWith('BENCH_') && name !== 'BENCH_JSON')
    .map(([name, value]) => `${name}=${value}`);
  const command = `${overrides.length ? `${overrides.join(' ')} ` : ''}${process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}` : `node bench/run.mjs${requested.length ? ` ${requested.join(' ')}` : ''}`}`;

  const reports = [];
  for (const part of parts) {
    log(`\n=== ${part} ===`);
    reports.push(await runPart(part));
  }
  const loadAfter = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  // The addon may be rebuilt by someone else while this runs; say so if it was.
  const addonAfter = addonInfo();

  const targets = reports.flatMap((r) => r.targets ?? []);
  const lines = [];
  lines.push('# Benchmark results — @monocloud/backend-node-rs');
  lines.push('');
  lines.push(`Command: \`${command}\` (run from the package root; parts: ${parts.join(', ')}; ${reports.map((r) => `${r.part} ${Math.round(r.seconds)} s`).join(', ')}).`);
  lines.push('');
  lines.push('All figures are medians over interleaved rounds taken in this one run, on a shared, noisy 2-core VM (other builds ran at the same time: see the load averages). Compare ratios, not absolute numbers.');
  lines.push('');
  lines.push('## Machine');
  lines.push('');
  lines.push('```');
  lines.push(`nproc: ${machine.nproc}`);
  lines.push(`model name: ${machine.cpu}`);
  lines.push(`memory: ${machine.memoryGiB} GiB`);
  lines.push(`node: ${machine.node}`);
  lines.push(`openssl (CLI): ${machine.opensslCli}`);
  lines.push(`openssl (node): ${machine.opensslNode}`);
  lines.push(`kernel: ${machine.kernel}`);
  lines.push(`date: ${machine.date}`);
  lines.push(`load average (1/5/15 min) at start: ${loadBefore}; at end: ${loadAfter}`);
  lines.push(`git: ${machine.git}`);
  lines.push(`addon: ${machine.addon}`);
  if (addonAfter !== machine.addon) lines.push(`WARNING: the addon changed during the run; at the end: ${addonAfter}`);
  lines.push('```');
  lines.push('');
  lines.push('## Package versions');
  lines.push('');
  lines.push(table(['package', 'version'], Object.entries(versions).map(([name, version]) => [name, version])));
  lines.push('');
  lines.push('## Targets');
  lines.push('');
  lines.push(targetsTable(targets));
  lines.push('');
  for (const r of reports) {
    if (r.failed) {
      lines.push(`## ${r.part}: failed`);
      lines.push('');
      lines.push(r.failed);
      lines.push('');
    } else {
      lines.push(r.markdown.trimEnd());
      lines.push('');
    }
  }
  const markdown = `${lines.join('\n').trimEnd()}\n`;

  process.stdout.write('\n=== targets ===\n');
  for (const t of targets) process.stdout.write(`${targetLine(t)}\n`);
  if (parts.length === PARTS.length) {
    writeFileSync(join(BENCH_DIR, 'RESULTS.md'), markdown);
    process.stdout.write(`\nwrote ${join(BENCH_DIR, 'RESULTS.md')}\n`);
  } else {
    process.stdout.write('\n(only some parts ran: bench/RESULTS.md left as it was)\n');
  }
}

await main();
