// Shared helpers for the benchmarks: statistics, table rendering, the OpenSSL limit, machine
// facts and the JSON hand-off to bench/run.mjs. Nothing here asserts: a benchmark reports.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(BENCH_DIR, '..');

/** A positive number from the environment, or the default (bad values fall back silently). */
export function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

export function envList(name, fallback) {
  const raw = process.env[name];
  if (!raw || raw.trim() === '') return fallback;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function median(values) {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** Nearest-rank percentile of a (possibly typed) array of samples; sorts a copy. */
export function percentile(samples, p) {
  if (samples.length === 0) return NaN;
  const xs = Float64Array.from(samples).sort();
  const rank = Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1));
  return xs[rank];
}

// ---------------------------------------------------------------------------------------------
// Formatting

export const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
export const fmtFixed = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
export const fmtPct = (v) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a');
export const fmtX = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');
export const fmtMiB = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)}` : 'n/a');

/** A GitHub-flavoured markdown table; columns whose header starts with '>' are right-aligned. */
export function table(headers, rows) {
  const names = headers.map((h) => h.replace(/^>/, ''));
  const align = headers.map((h) => (h.startsWith('>') ? '---:' : '---'));
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(names), line(align), ...rows.map((r) => line(r.map((c) => String(c))))].join('\n');
}

/** One line per target, the way every part prints them: name, wanted, measured, PASS/MISS. */
export function targetLine(t) {
  const verdict = t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'MISS';
  return `[${verdict}] ${t.name}: wanted ${t.wanted}; measured ${t.measured}`;
}

export function targetsTable(targets) {
  return table(
    ['target', 'wanted', 'measured', 'result'],
    targets.map((t) => [t.name, t.wanted, t.measured, t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'MISS']),
  );
}

// ---------------------------------------------------------------------------------------------
// The physical limit: OpenSSL's own verify/s for the same algorithm

export const OPENSSL_TEST = { RS256: 'rsa2048', ES256: 'ecdsap256', EdDSA: 'ed25519' };

/**
 * Runs `openssl speed -seconds N [-multi M] <test>` and returns verify/s. The verify/s column is
 * the last number on the line that names the algorithm (RSA, ECDSA and EdDSA share that shape).
 */
export async function opensslVerifyPerSecond(alg, { seconds = 2, multi = 1 } = {}) {
  const test = OPENSSL_TEST[alg];
  const args = ['speed', '-seconds', String(seconds)];
  if (multi > 1) args.push('-multi', String(multi));
  args.push(test);
  try {
    const { stdout } = await run('openssl', args, { timeout: (seconds * 4 + 30) * 1000, maxBuffer: 1 << 20 });
    const pattern = { rsa2048: /^\s*rsa\s+2048 bits.*$/m, ecdsap256: /^.*ecdsa \(nistp256\).*$/m, ed25519: /^.*EdDSA \(Ed25519\).*$/m }[test];
    const line = stdout.match(pattern)?.[0];
    const numbers = line?.trim().split(/\s+/).map(Number).filter((n) => Number.isFinite(n));
    return numbers?.length ? numbers[numbers.length - 1] : NaN;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Machine and versions, for the header of every report

export async function machineInfo() {
  const cpu = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model;
    } catch {
      return os.cpus()[0]?.model ?? 'unknown';
    }
  })();
  const opensslCli = await run('openssl', ['version']).then((r) => r.stdout.trim(), () => 'not found');
  const git = await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).then((r) => r.stdout.trim(), () => 'unknown');
  const dirty = await run('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']).then(
    (r) => (r.stdout.trim() ? ' (uncommitted changes)' : ''),
    () => '',
  );
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu,
    node: process.version,
    opensslCli,
    opensslNode: process.versions.openssl,
    kernel: `${os.type()} ${os.release()}`,
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    date: new Date().toISOString(),
    loadavg: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    git: `${git}${dirty}`,
    addon: addonInfo(),
  };
}

/** Which native binary was measured: another engineer may rebuild it between runs. */
export function addonInfo() {
  const file = join(ROOT, 'backend-node-rs.linux-x64-gnu.node');
  try {
    const bytes = readFileSync(file);
    const { mtime, size } = statSync(file);
    return `backend-node-rs.linux-x64-gnu.node sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)} ${(size / 1e6).toFixed(1)} MB built ${mtime.toISOString()}`;
  } catch {
    return 'backend-node-rs.linux-x64-gnu.node not found';
  }
}

export function packageVersions(names) {
  const out = {};
  for (const name of names) {
    try {
      out[name] = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      out[name] = 'not installed';
    }
  }
  out['@monocloud/backend-node-rs'] = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The servers under load: bench/servers/<name>.mjs, one process per run

/**
 * Starts `bench/servers/<name>.mjs` with `env` added to this process's environment and resolves
 * to `{ child, port }` once it prints `{"ready":true,"port":N}`. `nodeArgs` go before the script
 * (Node refuses `--cpu-prof` in NODE_OPTIONS).
 */
export function startServer(name, env, { nodeArgs = [] } = {}) {
  const label = `${name} (${Object.values(env).filter((v) => !String(v).includes('/')).join(', ')})`;
  const child = spawn(process.execPath, [...nodeArgs, join(BENCH_DIR, 'servers', `${name}.mjs`)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not start within 20 s`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code} before it was ready`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const message = JSON.parse(line);
        if (message.ready) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve({ child, port: message.port });
        }
      } catch {
        // not ours
      }
    });
  });
}

/** Stops a server from `startServer`: SIGTERM, then SIGKILL after 5 s. */
export async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Hand-off to bench/run.mjs: each part writes { markdown, targets, data } to $BENCH_JSON.

export function writeReport(report) {
  const file = process.env.BENCH_JSON;
  if (file) writeFileSync(file, JSON.stringify(report, null, 2));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function log(...args) {
  // Progress goes to stderr so that stdout holds only the tables.
  process.stderr.write(`${args.join(' ')}\n`);
}
