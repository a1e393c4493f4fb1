// Packaging: what `npm pack` runs and publishes, the release flow's `npm run artifacts`, the
// platform lists kept in agreement, and the bundling the README documents (esbuild with the
// package kept external).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { ROOT, fromRoot } from '../support/paths.mjs';

const manifestText = () => readFileSync(fromRoot('package.json'), 'utf8');
const manifest = JSON.parse(manifestText());
const README = readFileSync(fromRoot('README.md'), 'utf8');
const BIN = fromRoot('node_modules', '.bin');

// napi's names for the Rust targets this package may list.
const SUFFIXES = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
  'x86_64-pc-windows-msvc': 'win32-x64-msvc',
};

let dir;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backend-node-rs-packaging-'));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function run(command, args, options = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    execFile(command, args, { timeout: 120_000, maxBuffer: 32 * 1024 * 1024, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? error.signal ?? 1) : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}

test('npm pack runs its scripts, builds nothing, and publishes a manifest without prepare', { timeout: 120_000 }, async () => {
  const before = manifestText();
  assert.equal(JSON.parse(before).scripts.prepare, 'npm run build', 'the clone still builds on npm install');
  const packed = await run('npm', ['pack', '--json', '--foreground-scripts', '--pack-destination', dir], { cwd: ROOT });
  assert.equal(packed.code, 0, packed.stderr);
  const output = packed.stdout + packed.stderr;
  assert.doesNotMatch(output, /napi build|cargo|Compiling /, 'packing does not rebuild the addon');
  assert.match(output, /pack-manifest\.mjs strip/, 'prepack ran');
  // The JSON report follows the scripts' output on stdout.
  const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[\n')));
  const tarball = join(dir, report[0].filename);
  const published = JSON.parse((await run('tar', ['-xOf', tarball, 'package/package.json'])).stdout);
  for (const name of ['prepare', 'prepack', 'postpack']) assert.equal(published.scripts[name], undefined, name);
  for (const hook of ['preinstall', 'install', 'postinstall']) assert.equal(published.scripts[hook], undefined, hook);
  assert.equal(manifestText(), before, 'package.json is restored byte for byte');
  assert.ok(!existsSync(fromRoot('.package.json.prepack')));

  const dry = await run('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(manifestText(), before);
});

test('npm publish: the registry gets the stripped manifest too, and postpublish puts the file back', async () => {
  // npm publish packs (prepack, postpack), then reads package.json again for the registry, then
  // runs postpublish: the steps are run here as npm runs them, in a copy.
  const copy = join(dir, 'publish');
  await mkdir(copy);
  await copyFile(fromRoot('package.json'), join(copy, 'package.json'));
  const original = readFileSync(join(copy, 'package.json'), 'utf8');
  const step = async (name, command) => {
    const env = { ...process.env, npm_package_json: join(copy, 'package.json'), npm_command: command };
    const result = await run(process.execPath, [fromRoot('scripts', 'pack-manifest.mjs'), name], { cwd: copy, env });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8'));
  };
  assert.equal((await step('strip', 'publish')).scripts.prepare, undefined);
  const forRegistry = await step('restore-after-pack', 'publish');
  assert.equal(forRegistry.scripts.prepare, undefined, 'what npm publish sends to the registry');
  assert.equal(forRegistry.scripts.postpublish, 'node scripts/pack-manifest.mjs restore');
  await step('restore', 'publish');
  assert.equal(readFileSync(join(copy, 'package.json'), 'utf8'), original);
  // A pack or publish that died half-way is mended by the next step.
  await step('strip', 'pack');
  await step('strip', 'pack');
  await step('restore-after-pack', 'pack');
  assert.equal(readFileSync(join(copy, 'package.json'), 'utf8'), original);
  assert.ok(!existsSync(join(copy, '.package.json.prepack')));
});

// What npm matches a platform package on, per napi platform name.
function platformFields(suffix) {
  const [os, cpu, abi] = suffix.split('-');
  const libc = os === 'linux' ? { libc: [abi === 'musl' ? 'musl' : 'glibc'] } : {};
  return { os: [os], cpu: [cpu], ...libc };
}

/**
 * Which binaries the loader tries, in order, on each simulated platform: a child process
 * overrides `process.platform`/`process.arch` and the C library the loader reads from
 * /usr/bin/ldd, and records every addon or platform package the loader asks for (refusing
 * them all, so nothing loads).
 */
async function loaderAttempts(suffixes) {
  const code = `
const fs = require('fs');
const Module = require('module');
const readFileSync = fs.readFileSync;
const load = Module._load;
const results = {};
for (const suffix of ${JSON.stringify(suffixes)}) {
  const [platform, arch, abi] = suffix.split('-');
  Object.defineProperty(process, 'platform', { value: platform, configurable: true });
  Object.defineProperty(process, 'arch', { value: arch, configurable: true });
  fs.readFileSync = (file, ...rest) =>
    file === '/usr/bin/ldd' ? (abi === 'musl' ? 'musl libc (x86_64)' : 'ldd (GNU libc) 2.36') : readFileSync(file, ...rest);
  const attempts = [];
  Module._load = function (request, ...rest) {
    if (request.includes('backend-node-rs')) {
      attempts.push(request);
      throw new Error('refused by the test');
    }
    return load.call(this, request, ...rest);
  };
  delete require.cache[${JSON.stringify(fromRoot('binding.cjs'))}];
  try { require(${JSON.stringify(fromRoot('binding.cjs'))}); } catch {}
  Module._load = load;
  results[suffix] = attempts;
}
console.log(JSON.stringify(results));
`;
  const env = { ...process.env };
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH;
  const result = await run(process.execPath, ['-e', code], { env });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

test('napi.targets, optionalDependencies, npm/* manifests and the loader agree on every target', async () => {
  const { binaryName, targets } = manifest.napi;
  const suffixes = targets.map((target) => {
    assert.ok(SUFFIXES[target], `unknown target ${target}`);
    return SUFFIXES[target];
  });
  const packages = suffixes.map((suffix) => `${manifest.name}-${suffix}`);
  assert.deepEqual(Object.keys(manifest.optionalDependencies ?? {}).sort(), [...packages].sort());
  assert.deepEqual(readdirSync(fromRoot('npm')).sort(), [...suffixes].sort());
  for (const [index, suffix] of suffixes.entries()) {
    assert.equal(manifest.optionalDependencies[packages[index]], manifest.version);
    const platform = JSON.parse(readFileSync(fromRoot('npm', suffix, 'package.json'), 'utf8'));
    assert.equal(platform.name, packages[index]);
    assert.equal(platform.version, manifest.version);
    assert.equal(platform.main, `${binaryName}.${suffix}.node`);
    assert.deepEqual(platform.files, [platform.main]);
    assert.deepEqual({ os: platform.os, cpu: platform.cpu, libc: platform.libc }, { libc: undefined, ...platformFields(suffix) }, suffix);
    assert.deepEqual(platform.engines, manifest.engines, suffix);
    assert.equal(platform.license, manifest.license, suffix);
    assert.equal(platform.type, 'commonjs', `${suffix}: publint's strict mode asks for the type`);
  }
  // The README's platform table has a row for each, and no other package.
  const table = README.slice(README.indexOf('## Supported platforms'), README.indexOf('## Benchmarks'));
  const rows = [...table.matchAll(/`@monocloud\/backend-node-rs-([a-z0-9-]+)`/g)].map((match) => match[1]);
  assert.deepEqual([...new Set(rows)].sort(), [...suffixes].sort());
  // `npm install` builds the binary of the machine it runs on (the others come from
  // `npm run build:platforms`, which `npm run check:platforms` checks before a release).
  const host = `${process.platform}-${process.arch}-gnu`;
  assert.ok(suffixes.includes(host), `the tests run on a listed target, not ${host}`);
  assert.ok(existsSync(fromRoot(`${binaryName}.${host}.node`)), `${host} is listed but not built`);

  // On each listed platform the loader tries the local build first, then that platform's
  // package, and on none of them another target's. (On macOS it first tries a universal binary,
  // which this package does not build.)
  const attempts = await loaderAttempts(suffixes);
  for (const [index, suffix] of suffixes.entries()) {
    const tried = attempts[suffix].filter((request) => !request.includes('darwin-universal'));
    assert.deepEqual(tried.slice(0, 2), [`./${binaryName}.${suffix}.node`, packages[index]], suffix);
    for (const other of suffixes.filter((name) => name !== suffix)) {
      assert.ok(!tried.some((request) => request.endsWith(`-${other}`) || request.endsWith(`.${other}.node`)), `${suffix} tries ${other}`);
    }
  }
});

test('npm run artifacts puts each built binary into its platform package and names the ones not built', { timeout: 60_000 }, async () => {
  // Here only this machine's binary is built (the others come from `npm run build:platforms`).
  const copy = join(dir, 'artifacts');
  await mkdir(copy);
  await copyFile(fromRoot('package.json'), join(copy, 'package.json'));
  await cp(fromRoot('npm'), join(copy, 'npm'), { recursive: true });
  const { binaryName, targets } = manifest.napi;
  const host = `${process.platform}-${process.arch}-gnu`;
  const binary = `${binaryName}.${host}.node`;
  await copyFile(fromRoot(binary), join(copy, binary));
  await cp(fromRoot('scripts'), join(copy, 'scripts'), { recursive: true });
  // As after `npm test`: a debug test addon of the same name under target/ must not confuse it.
  await mkdir(join(copy, 'target', 'test-addon'), { recursive: true });
  for (const target of targets) await writeFile(join(copy, 'target', 'test-addon', `${binaryName}.${SUFFIXES[target]}.node`), 'debug build');
  const result = await run('npm', ['run', 'artifacts'], { cwd: copy, env: { ...process.env, PATH: `${BIN}:${process.env.PATH}` } });
  const placed = join(copy, 'npm', host, binary);
  assert.ok(readFileSync(placed).equals(readFileSync(fromRoot(binary))), `${host}: the release build`);
  const missing = targets.map((target) => SUFFIXES[target]).filter((suffix) => suffix !== host);
  if (missing.length === 0) {
    assert.equal(result.code, 0, result.stdout + result.stderr);
    return;
  }
  assert.notEqual(result.code, 0, 'a release with a binary missing stops');
  for (const suffix of missing) {
    assert.ok(result.stderr.includes(`${binaryName}.${suffix}.node`), `${suffix} named in: ${result.stderr}`);
    assert.ok(!existsSync(join(copy, 'npm', suffix, `${binaryName}.${suffix}.node`)), suffix);
  }
});

test('the README documents bundling, Docker and serverless', () => {
  for (const heading of ['## Bundlers, Docker and serverless', '### esbuild', '### webpack', '### Vite', '### Docker', '### Serverless']) {
    assert.ok(README.includes(`\n${heading}\n`), heading);
  }
  assert.match(README, /--external:@monocloud\/backend-node-rs/);
});

test('esbuild --bundle with the package external: the bundle runs and protects', { timeout: 120_000 }, async () => {
  const issuer = await createTestIssuer({ algs: ['ES256'] });
  try {
    const app = join(dir, 'bundled');
    await mkdir(join(app, 'node_modules', '@monocloud'), { recursive: true });
    // Where a deployment installs it: node_modules beside the bundle.
    await symlink(ROOT, join(app, 'node_modules', '@monocloud', 'backend-node-rs'), 'dir');
    const entry = join(app, 'server.mjs');
    await writeFile(
      entry,
      `import express from ${JSON.stringify(fromRoot('node_modules', 'express', 'index.js'))};
import { protectApi } from '@monocloud/backend-node-rs/express';
const app = express();
const protect = protectApi();
app.get('/x', protect(), (req, res) => res.json({ sub: req.claims.sub }));
const server = app.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port + '/x';
  const none = await fetch(url);
  const ok = await fetch(url, { headers: { authorization: 'Bearer ' + process.env.TOKEN } });
  console.log(JSON.stringify({ none: none.status, ok: ok.status, body: await ok.json() }));
  server.close();
});
`,
    );
    // Without the external, esbuild stops at the native addon.
    const inlined = await run(join(BIN, 'esbuild'), [entry, '--bundle', '--platform=node', `--outfile=${join(app, 'inlined.cjs')}`], { cwd: app });
    assert.notEqual(inlined.code, 0);
    assert.match(inlined.stderr, /\.node/);

    const bundled = await run(
      join(BIN, 'esbuild'),
      [entry, '--bundle', '--platform=node', '--format=cjs', '--external:@monocloud/backend-node-rs', `--outfile=${join(app, 'server.cjs')}`],
      { cwd: app },
    );
    assert.equal(bundled.code, 0, bundled.stderr);
    const code = readFileSync(join(app, 'server.cjs'), 'utf8');
    assert.match(code, /require\("@monocloud\/backend-node-rs\/express"\)/, 'the package stays a require');
    assert.match(code, /function createApplication/, 'express is bundled in');

    const env = { ...process.env, MONOCLOUD_BACKEND_TENANT_DOMAIN: issuer.url, MONOCLOUD_BACKEND_AUDIENCE: issuer.audience, TOKEN: await issuer.mint() };
    const started = await run(process.execPath, [join(app, 'server.cjs')], { cwd: app, env, timeout: 60_000 });
    assert.equal(started.code, 0, started.stderr);
    assert.deepEqual(JSON.parse(started.stdout.trim().split('\n').at(-1)), { none: 401, ok: 200, body: { sub: 'test-user' } });
  } finally {
    await issuer.close();
  }
});

test('Vite SSR with everything bundled but the package (ssr.noExternal + ssr.external): the build loads', { timeout: 120_000 }, async () => {
  const app = join(dir, 'vite');
  await mkdir(join(app, 'node_modules', '@monocloud'), { recursive: true });
  await symlink(ROOT, join(app, 'node_modules', '@monocloud', 'backend-node-rs'), 'dir');
  await writeFile(
    join(app, 'server.mjs'),
    `import { protectApi } from '@monocloud/backend-node-rs/express';
import { MonoCloudBackendNodeClient } from '@monocloud/backend-node-rs';
console.log(JSON.stringify([typeof protectApi, typeof MonoCloudBackendNodeClient]));
`,
  );
  const config = (external) =>
    `export default { logLevel: 'error', ssr: { noExternal: true${external ? ", external: ['@monocloud/backend-node-rs']" : ''} }, ` +
    `build: { ssr: 'server.mjs', outDir: 'out', emptyOutDir: true } };\n`;
  const vite = fromRoot('node_modules', 'vite', 'bin', 'vite.js');

  await writeFile(join(app, 'vite.config.mjs'), config(false));
  const inlined = await run(process.execPath, [vite, 'build', '--config', 'vite.config.mjs'], { cwd: app });
  assert.notEqual(inlined.code, 0, 'without the external the build stops at the native addon');

  await writeFile(join(app, 'vite.config.mjs'), config(true));
  const built = await run(process.execPath, [vite, 'build', '--config', 'vite.config.mjs'], { cwd: app });
  assert.equal(built.code, 0, built.stdout + built.stderr);
  const out = readdirSync(join(app, 'out')).find((file) => /\.m?js$/.test(file));
  const started = await run(process.execPath, [join(app, 'out', out)], { cwd: app });
  assert.equal(started.code, 0, started.stderr);
  assert.deepEqual(JSON.parse(started.stdout.trim()), ['function', 'function']);
});
