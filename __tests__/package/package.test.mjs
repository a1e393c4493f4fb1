// The package as users get it: `npm pack` the main package and this machine's platform package,
// install both tarballs into a fresh project with no Rust toolchain on PATH, and run an ESM, a
// CJS and a tsc-compiled TypeScript program from there against the test issuer. publint and
// @arethetypeswrong/cli check the tarball's shape. Reuses the binary that `npm run build` (run by
// `npm install`) left at the repository root; nothing is compiled here.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { NATIVE_LOADER, NATIVE_TYPES } from '../support/native.mjs';
import { ROOT } from '../support/paths.mjs';

const BIN = join(ROOT, 'node_modules', '.bin');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const { binaryName, targets } = manifest.napi;

/** napi-rs's name for this host (`linux-x64-gnu`, ...), or undefined where we ship no binary. */
function hostPlatform() {
  if (process.platform !== 'linux') return undefined;
  const libc = process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl';
  return `linux-${process.arch}-${libc}`;
}

const PLATFORM = hostPlatform();
const BINARY = PLATFORM && join(ROOT, `${binaryName}.${PLATFORM}.node`);
const skip = PLATFORM && existsSync(join(ROOT, 'npm', PLATFORM))
  ? false
  : `no platform package for ${process.platform}-${process.arch} in npm/`;

/** Runs a command; resolves with its output, rejects with the output in the message. */
function run(command, args, { cwd, env, timeout = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, timeout, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${[command, ...args].join(' ')} failed (${error.code ?? error.signal}):\n${stdout}\n${stderr}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** How to start npm: the CLI that runs this test when there is one, else `npm` on PATH. */
function npmCommand() {
  const cli = process.env.npm_execpath;
  return cli && /\.c?js$/.test(cli) ? [process.execPath, [cli]] : ['npm', []];
}

function npm(args, options) {
  const [command, prefix] = npmCommand();
  return run(command, [...prefix, ...args], options);
}

/**
 * An environment with no Rust toolchain: PATH without any directory holding cargo, rustc or
 * rustup, and none of the npm_* variables of the `npm test` around us (npm_config_* would steer
 * the inner npm, e.g. its prefix, back at this repository).
 */
function noRustEnv() {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|CARGO|RUSTUP|RUSTC|MONOCLOUD_BACKEND_)/i.test(name)) continue;
    env[name] = value;
  }
  const hasRust = (dir) => ['cargo', 'rustc', 'rustup'].some((tool) => existsSync(join(dir, tool)));
  // Node's own directory first, so `node` on PATH is this node (node itself is always started by
  // its absolute path here, so a toolchain sharing that directory would not need it).
  const dirs = [dirname(process.execPath), ...(process.env.PATH ?? '').split(delimiter)];
  env.PATH = [...new Set(dirs)].filter((dir) => dir && !hasRust(dir)).join(delimiter);
  // Keep the registry this machine is configured with, if it came through the environment.
  for (const name of ['npm_config_registry', 'NPM_CONFIG_REGISTRY']) {
    if (process.env[name]) env[name] = process.env[name];
  }
  return env;
}

// The three programs a user would write. Each starts the test issuer, an app protected by
// protectApi(), asks for a route it may read (200), one without a token (401) and one needing a
// scope its token lacks (403), and prints the statuses as one JSON line.
const ESM_EXPRESS = `
import express from 'express';
import * as root from '@monocloud/backend-node-rs';
import { protectApi, MonoCloudTokenError } from '@monocloud/backend-node-rs/express';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

const issuer = await createTestIssuer();
const protect = protectApi({ tenantDomain: issuer.url, audience: issuer.audience });
const app = express();
app.get('/read', protect({ scopes: ['read:things'] }), (req, res) => res.json({ sub: req.claims.sub }));
app.get('/admin', protect({ scopes: ['admin'] }), (req, res) => res.json({ ok: true }));
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = 'http://127.0.0.1:' + server.address().port;
const token = await issuer.mint({ claims: { scope: 'read:things' } });
const get = (path, auth) => fetch(base + path, { headers: auth ? { authorization: 'Bearer ' + auth } : {} });
const ok = await get('/read', token);
const result = {
  ok: ok.status, sub: (await ok.json()).sub,
  none: (await get('/read')).status,
  forbidden: (await get('/admin', token)).status,
  sameClass: root.MonoCloudTokenError === MonoCloudTokenError,
};
server.closeAllConnections();
server.close();
await issuer.close();
console.log(JSON.stringify(result));
`;

const CJS_FASTIFY = `
const Fastify = require('fastify');
const { protectApi, MonoCloudTokenError } = require('@monocloud/backend-node-rs/fastify');
const { createTestIssuer } = require('@monocloud/backend-node-rs/testing');

async function main() {
  const issuer = await createTestIssuer({ algs: ['ES256'] });
  // Configured the way deployments are: environment variables.
  process.env.MONOCLOUD_BACKEND_TENANT_DOMAIN = issuer.url;
  process.env.MONOCLOUD_BACKEND_AUDIENCE = issuer.audience;
  const protect = protectApi();
  const app = Fastify();
  app.get('/read', { onRequest: protect({ scopes: ['read:things'] }) }, async (request) => ({ sub: request.claims.sub }));
  app.get('/admin', { onRequest: protect({ scopes: ['admin'] }) }, async () => ({ ok: true }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const token = await issuer.mint({ claims: { scope: 'read:things' } });
  const get = (path, auth) => fetch(base + path, { headers: auth ? { authorization: 'Bearer ' + auth } : {} });
  const ok = await get('/read', token);
  // ESM and CJS must hand out the same classes, or instanceof fails across them.
  const esm = await import('@monocloud/backend-node-rs');
  const result = {
    ok: ok.status, sub: (await ok.json()).sub,
    none: (await get('/read')).status,
    forbidden: (await get('/admin', token)).status,
    sameClass: esm.MonoCloudTokenError === MonoCloudTokenError,
  };
  await app.close();
  await issuer.close();
  console.log(JSON.stringify(result));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

const TS_EXPRESS = `
import express, { type Response } from 'express';
import { MonoCloudBackendNodeClient, type AccessTokenClaims } from '@monocloud/backend-node-rs';
import {
  protectApi,
  requiredScopes,
  MonoCloudTokenError,
  type AuthenticatedExpressRequest,
} from '@monocloud/backend-node-rs/express';
import { createTestIssuer, type TestIssuer } from '@monocloud/backend-node-rs/testing';

interface MyClaims extends AccessTokenClaims {
  tenant: string;
}

const issuer: TestIssuer = await createTestIssuer();
const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
const protect = protectApi<MyClaims>(client);
const app = express();
app.get('/read', protect(), requiredScopes('read:things'), (req, res: Response) => {
  const { claims } = req as AuthenticatedExpressRequest<MyClaims>;
  const tenant: string = claims.tenant;
  res.json({ sub: claims.sub, tenant });
});
app.get('/admin', protect({ scopes: ['admin'] }), (_req, res: Response) => {
  res.json({ ok: true });
});
const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', () => resolve()));
const address = server.address();
if (address === null || typeof address === 'string') throw new Error('no port');
const base = \`http://127.0.0.1:\${address.port}\`;
const token = await issuer.mint({ claims: { scope: 'read:things', tenant: 'acme' } });
const get = (path: string, auth?: string): Promise<globalThis.Response> =>
  fetch(base + path, { headers: auth ? { authorization: \`Bearer \${auth}\` } : {} });
const ok = await get('/read', token);
const body = (await ok.json()) as { sub: string; tenant: string };
let code: string | undefined;
try {
  await client.validateAccessToken(token, { scopes: ['admin'] });
} catch (error) {
  if (error instanceof MonoCloudTokenError) code = error.code;
}
const result = {
  ok: ok.status,
  sub: body.sub,
  tenant: body.tenant,
  none: (await get('/read')).status,
  forbidden: (await get('/admin', token)).status,
  code,
};
server.closeAllConnections();
server.close();
await issuer.close();
console.log(JSON.stringify(result));
`;

// Only type-checked: the CommonJS side of the declarations (the "require" types condition).
const TS_CJS_TYPES = `
import type { FastifyRequest } from 'fastify';
import { protectApi, type AuthenticatedFastifyRequest } from '@monocloud/backend-node-rs/fastify';
import { isUserInGroup } from '@monocloud/backend-node-rs/utils';

export const hook = protectApi({ tenantDomain: 'https://t.example.com', audience: 'https://api' })({ scopes: ['a'] });
export function claimsOf(request: FastifyRequest): string {
  return (request as AuthenticatedFastifyRequest).claims.sub;
}
export const inGroup: boolean = isUserInGroup({ roles: ['g'] }, ['g'], 'roles', true);
`;

// Code written for @monocloud/backend-node, unchanged, against the aliased install.
const ALIAS = `
import { MonoCloudBackendNodeClient } from '@monocloud/backend-node';
import { protectApi } from '@monocloud/backend-node/express';
import { createTestIssuer } from '@monocloud/backend-node/testing';

const issuer = await createTestIssuer();
const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
const claims = await client.validateAccessToken(await issuer.mint({ claims: { sub: 'migrated' } }));
await issuer.close();
console.log(JSON.stringify({ sub: claims.sub, protectApi: typeof protectApi }));
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022', 'DOM'],
    module: 'Node16',
    moduleResolution: 'Node16',
    strict: true,
    // Our declarations are checked too, as a consumer's compiler sees them.
    skipLibCheck: false,
    types: ['node'],
    outDir: 'out',
  },
  files: ['app.mts', 'types.cts'],
};

describe('the packed package', { skip }, () => {
  let work;
  let app;
  let env;
  /** The packed tarballs' paths and file lists. */
  const tarballs = {};

  before(async () => {
    assert.ok(
      existsSync(BINARY) && existsSync(join(ROOT, 'dist', 'index.js')),
      `${BINARY} or dist/ is missing: run \`npm run build\` (npm install does) first`,
    );
    work = await mkdtemp(join(tmpdir(), 'backend-node-rs-package-'));
    const packDir = join(work, 'tarballs');
    app = join(work, 'app');
    await mkdir(packDir);
    await mkdir(app);

    // With its scripts, as `npm publish` packs: prepack takes `prepare` out, so nothing is rebuilt.
    const [packed] = JSON.parse((await npm(['pack', '--json', '--pack-destination', packDir], { cwd: ROOT })).stdout);
    tarballs.main = join(packDir, packed.filename);
    tarballs.files = packed.files.map((f) => f.path);

    // The platform package is staged outside the repository so no binary lands in npm/.
    const stage = join(work, 'stage', PLATFORM);
    await mkdir(stage, { recursive: true });
    for (const file of readdirSync(join(ROOT, 'npm', PLATFORM))) {
      await copyFile(join(ROOT, 'npm', PLATFORM, file), join(stage, file));
    }
    await copyFile(BINARY, join(stage, `${binaryName}.${PLATFORM}.node`));
    const [platformPacked] = JSON.parse((await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: stage })).stdout);
    tarballs.platform = join(packDir, platformPacked.filename);
    tarballs.platformFiles = platformPacked.files.map((f) => f.path);

    env = noRustEnv();
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // --ignore-scripts makes these file tarballs install as the registry's would: the manifest's
    // only lifecycle script is `prepare`, which npm runs for git and file sources but never for
    // registry packages (a test below checks there is no install script).
    await npm([
      'install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts',
      tarballs.main, tarballs.platform,
      // The migration path of the README: this package installed under the original's name.
      `@monocloud/backend-node@file:${tarballs.main}`,
      'express@5', 'fastify@5', `typescript@${manifest.devDependencies.typescript}`, '@types/express@5', '@types/node@20',
    ], { cwd: app, env, timeout: 300_000 });

    await writeFile(join(app, 'esm-express.mjs'), ESM_EXPRESS);
    await writeFile(join(app, 'cjs-fastify.cjs'), CJS_FASTIFY);
    await writeFile(join(app, 'app.mts'), TS_EXPRESS);
    await writeFile(join(app, 'types.cts'), TS_CJS_TYPES);
    await writeFile(join(app, 'alias.mjs'), ALIAS);
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  }, { timeout: 360_000 });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the main tarball ships the loader, types and compiled JS, and no binary or sources', () => {
    const { files } = tarballs;
    for (const file of ['package.json', 'README.md', NATIVE_LOADER, NATIVE_TYPES, 'dist/index.js', 'dist/index.mjs',
      'dist/index.d.ts', 'dist/index.d.mts', 'dist/express/index.mjs', 'dist/fastify/index.js', 'dist/testing/index.mjs',
      'dist/utils/index.js', 'dist/internal/index.mjs',
      ...['web', 'hono', 'koa', 'node', 'nestjs'].flatMap((name) => ['js', 'mjs', 'd.ts', 'd.mts'].map((ext) => `dist/${name}/index.${ext}`)),
      'dist/protect/web.js', 'dist/protect/incoming.js']) {
      assert.ok(files.includes(file), `${file} is missing from the tarball`);
    }
    const unexpected = files.filter((f) => /\.node$|^(src|ts|__tests__|examples|bench|fuzz|npm|target)\/|^Cargo\./.test(f));
    assert.deepEqual(unexpected, []);
  });

  test('the platform tarball holds the binary and its manifest only', () => {
    assert.deepEqual([...tarballs.platformFiles].sort(), ['README.md', `${binaryName}.${PLATFORM}.node`, 'package.json']);
  });

  test('the published manifest runs nothing at install time', async () => {
    const { stdout } = await run('tar', ['-xOf', tarballs.main, 'package/package.json']);
    const scripts = JSON.parse(stdout).scripts ?? {};
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(scripts[hook], undefined, hook);
  });

  test('every napi target has a platform package wired as an optional dependency of the same version', () => {
    assert.ok(targets.length > 0);
    const dirs = readdirSync(join(ROOT, 'npm'));
    for (const dir of dirs) {
      const platform = JSON.parse(readFileSync(join(ROOT, 'npm', dir, 'package.json'), 'utf8'));
      assert.equal(platform.name, `${manifest.name}-${dir}`);
      assert.equal(platform.version, manifest.version, `${dir} version`);
      assert.equal(platform.main, `${binaryName}.${dir}.node`);
      assert.deepEqual(platform.files, [platform.main]);
      assert.equal(manifest.optionalDependencies?.[platform.name], manifest.version, `optionalDependencies ${platform.name}`);
    }
    assert.equal(dirs.length, targets.length, `npm/ has ${dirs.join(', ')}; napi.targets has ${targets.join(', ')}`);
    assert.equal(Object.keys(manifest.optionalDependencies).length, targets.length);
  });

  test('publint finds nothing, in strict mode', async () => {
    for (const tarball of [tarballs.main, tarballs.platform]) {
      const { stdout, stderr } = await run(join(BIN, 'publint'), ['run', '--strict', tarball], { cwd: ROOT });
      assert.match(stdout + stderr, /All good!/, stdout + stderr);
    }
  });

  test('are-the-types-wrong: every entry point resolves cleanly for node10, node16 (CJS and ESM) and bundlers', async () => {
    // node10 resolution ignores `exports`: `typesVersions` maps the subpaths for it.
    const { stdout } = await run(join(BIN, 'attw'), ['--format', 'json', tarballs.main], { cwd: ROOT });
    const report = JSON.parse(stdout);
    const entrypoints = Object.keys(report.analysis.entrypoints);
    assert.deepEqual(entrypoints.sort(), [
      '.', './express', './fastify', './hono', './intelliauth', './intelliauth/express', './internal', './jwt-bearer', './koa', './mcp', './nestjs', './node',
      './package.json', './testing', './utils', './web',
    ]);
    // `problems` groups the findings by kind.
    assert.deepEqual(Object.values(report.problems ?? {}).flat(), []);
  });

  test('installed without a Rust toolchain, the binary comes from the platform package', () => {
    for (const tool of ['cargo', 'rustc']) {
      const probe = spawnSync(tool, ['--version'], { env });
      assert.equal(probe.error?.code, 'ENOENT', `${tool} is reachable in the test environment`);
    }
    const installed = join(app, 'node_modules', '@monocloud');
    assert.deepEqual(readdirSync(join(installed, 'backend-node-rs')).filter((f) => f.endsWith('.node')), []);
    assert.ok(existsSync(join(installed, `backend-node-rs-${PLATFORM}`, `${binaryName}.${PLATFORM}.node`)));
  });

  /** Runs one of the programs in the temporary project and returns its JSON line. */
  async function program(file) {
    const { stdout } = await run(process.execPath, [file], { cwd: app, env, timeout: 60_000 });
    return JSON.parse(stdout.trim().split('\n').at(-1));
  }

  test('ESM + Express: 200, 401, 403', async () => {
    assert.deepEqual(await program('esm-express.mjs'), { ok: 200, sub: 'test-user', none: 401, forbidden: 403, sameClass: true });
  });

  test('CommonJS + Fastify: 200, 401, 403', async () => {
    assert.deepEqual(await program('cjs-fastify.cjs'), { ok: 200, sub: 'test-user', none: 401, forbidden: 403, sameClass: true });
  });

  test('installed under the original name (npm install @monocloud/backend-node@npm:...), old imports work', async () => {
    assert.deepEqual(await program('alias.mjs'), { sub: 'migrated', protectApi: 'function' });
  });

  test('TypeScript, compiled by tsc with types resolved through the exports map: 200, 401, 403', async () => {
    await run(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app, env });
    const emitted = await readFile(join(app, 'out', 'types.cjs'), 'utf8');
    assert.match(emitted, /require\("@monocloud\/backend-node-rs\/fastify"\)/);
    assert.deepEqual(await program(join('out', 'app.mjs')), {
      ok: 200, sub: 'test-user', tenant: 'acme', none: 401, forbidden: 403, code: 'insufficient_scope',
    });
  });
});
