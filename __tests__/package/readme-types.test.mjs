// The README's Express and Fastify programs, extracted from README.md as they are printed (every
// ```ts block that imports ./express or ./fastify and builds an app), compiled by strict tsc
// against Express 4 and 5 and Fastify 4 and 5 under every module resolution a user may have:
// node10 (`"module": "commonjs"`, NestJS's default), node16 and nodenext (as ESM and as
// CommonJS) and bundler. The package is reached through node_modules in a generated project,
// as a user's project reaches it; `paths` points `express` and `fastify` at one major.
// Then are-the-types-wrong reads a packed tarball (offline) and must find nothing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT } from '../support/paths.mjs';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const attw = join(ROOT, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
const real = (file) => realpathSync(join(ROOT, file));

/** The README's complete Express and Fastify programs, in order, with the heading above each. */
function readmePrograms() {
  const programs = [];
  const fence = /^```ts\n([\s\S]*?)^```$/gm;
  for (let match = fence.exec(README); match; match = fence.exec(README)) {
    const code = match[1];
    const adapter = /from '@monocloud\/backend-node-rs\/(express|fastify)'/.exec(code)?.[1];
    if (!adapter || !/^const app = /m.test(code)) continue;
    const before = README.slice(0, match.index).replace(/^```[\s\S]*?^```$/gm, '');
    const heading = before.match(/^#+ .*$/gm).at(-1);
    programs.push({ adapter, code, heading });
  }
  return programs;
}

// Beside the README's programs: one name from every subpath, so each subpath's types resolve in
// each mode too (its own framework's types included).
const EVERY_SUBPATH = {
  adapter: 'subpaths',
  code: `import { MonoCloudBackendNodeClient, type AccessTokenClaims } from '@monocloud/backend-node-rs';
import { protectApi as forExpress, type AuthenticatedExpressRequest } from '@monocloud/backend-node-rs/express';
import { protectApi as forFastify, type AuthenticatedFastifyRequest } from '@monocloud/backend-node-rs/fastify';
import { protectApi as forWeb } from '@monocloud/backend-node-rs/web';
import { protectApi as forHono, type ProtectEnv } from '@monocloud/backend-node-rs/hono';
import { protectApi as forKoa, type ProtectState } from '@monocloud/backend-node-rs/koa';
import { protectApi as forNode } from '@monocloud/backend-node-rs/node';
import { MonoCloudGuard } from '@monocloud/backend-node-rs/nestjs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import { isUserInGroup } from '@monocloud/backend-node-rs/utils';
import * as internal from '@monocloud/backend-node-rs/internal';
import { ManagementClient } from '@monocloud/backend-node-rs/intelliauth';
import { requireSession } from '@monocloud/backend-node-rs/intelliauth/express';

export const used = [MonoCloudBackendNodeClient, forExpress, forFastify, forWeb, forHono, forKoa, forNode, MonoCloudGuard, createTestIssuer, isUserInGroup, internal, ManagementClient, requireSession];
export type Used = [AccessTokenClaims, AuthenticatedExpressRequest, AuthenticatedFastifyRequest, ProtectEnv, ProtectState];
`,
};

const majors = {
  4: { express: 'node_modules/@types/express4/index.d.ts', fastify: 'node_modules/fastify4/fastify.d.ts' },
  5: { express: 'node_modules/@types/express/index.d.ts', fastify: 'node_modules/fastify/fastify.d.ts' },
};

// Each mode with the file extensions its programs are written as (.mts is ESM, .cts CommonJS).
const modes = {
  node10: { compilerOptions: { module: 'CommonJS', moduleResolution: 'Node10' }, extensions: ['.ts'] },
  node16: { compilerOptions: { module: 'Node16', moduleResolution: 'Node16' }, extensions: ['.mts', '.cts'] },
  nodenext: { compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' }, extensions: ['.mts', '.cts'] },
  bundler: { compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler' }, extensions: ['.ts'] },
};

let dir;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backend-node-rs-readme-types-'));
  // The package as a dependency of the generated projects, so node10 finds it in node_modules
  // (it has no self-reference through "exports").
  await mkdir(join(dir, 'node_modules', '@monocloud'), { recursive: true });
  await symlink(ROOT, join(dir, 'node_modules', '@monocloud', 'backend-node-rs'), 'dir');
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Generous: on a loaded machine one tsc run can take a minute; alone it takes a few seconds.
function run(args, timeout = 180_000) {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: dir, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Runs `jobs` (functions returning promises) at most `limit` at a time. */
async function pooled(jobs, limit) {
  const results = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) {
        const index = next++;
        results[index] = await jobs[index]();
      }
    }),
  );
  return results;
}

test('the README has the Express and Fastify quickstarts and guides as TypeScript', () => {
  const programs = readmePrograms();
  const where = programs.map((p) => `${p.adapter}: ${p.heading}`);
  for (const expected of ['express: ### Express', 'fastify: ### Fastify', 'express: ## Express', 'fastify: ## Fastify']) {
    assert.ok(where.includes(expected), `${expected} in ${where.join('; ')}`);
  }
  // The quickstarts read the claims without a cast: that is what the module augmentation is for.
  assert.ok(programs.some((p) => p.adapter === 'express' && /req\.claims\.sub/.test(p.code)));
  assert.ok(programs.some((p) => p.adapter === 'fastify' && /request\.claims\.sub/.test(p.code)));
});

test('every README program compiles under strict tsc: Express 4/5, Fastify 4/5, node10/node16/nodenext/bundler', { timeout: 600_000 }, async () => {
  const programs = readmePrograms();
  const jobs = [];
  for (const [major, types] of Object.entries(majors)) {
    for (const [mode, { compilerOptions, extensions }] of Object.entries(modes)) {
      jobs.push(async () => {
        const project = join(dir, `v${major}-${mode}`);
        await mkdir(project, { recursive: true });
        const files = [];
        for (const [index, program] of [...programs, EVERY_SUBPATH].entries()) {
          for (const extension of extensions) {
            const file = join(project, `readme-${index}-${program.adapter}${extension}`);
            await writeFile(file, program.code);
            files.push(file);
          }
        }
        await writeFile(
          join(project, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              ...compilerOptions,
              strict: true,
              noEmit: true,
              target: 'ES2022',
              lib: ['ES2022', 'DOM'],
              esModuleInterop: true,
              skipLibCheck: true,
              // Only these majors: nothing from the repository's own node_modules/@types.
              types: [],
              typeRoots: [],
              paths: { express: [real(types.express)], fastify: [real(types.fastify)] },
            },
            files: [real('node_modules/@types/node/index.d.ts'), ...files],
          }),
        );
        const result = await run([tsc, '-p', join(project, 'tsconfig.json')]);
        return { name: `Express ${major} + Fastify ${major}, ${mode}`, ...result };
      });
    }
  }
  const results = await pooled(jobs, Math.max(1, Math.min(4, availableParallelism())));
  const failed = results.filter((result) => result.code !== 0);
  assert.deepEqual(failed.map((f) => `${f.name}:\n${f.output}`), []);
  assert.equal(results.length, 8);
});

test('are-the-types-wrong finds no problem in any resolution mode (node10, node16 CJS and ESM, bundler)', { timeout: 120_000 }, async () => {
  const pack = await new Promise((resolve) => {
    execFile('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ error, stdout, stderr }),
    );
  });
  assert.equal(pack.error, null, pack.stderr);
  const tarball = join(dir, JSON.parse(pack.stdout)[0].filename);
  const { output } = await run([attw, '--format', 'json', tarball]);
  const report = JSON.parse(output);
  const entrypoints = Object.keys(report.analysis.entrypoints).sort();
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.deepEqual(entrypoints, Object.keys(manifest.exports).sort());
  // node10 reads `typesVersions`, not `exports`: every subpath needs its mapping.
  const mapped = Object.keys(manifest.typesVersions['*']).map((subpath) => `./${subpath}`);
  assert.deepEqual(mapped.sort(), entrypoints.filter((e) => e !== '.' && e !== './package.json'));
  for (const entrypoint of entrypoints) {
    const kinds = Object.keys(report.analysis.entrypoints[entrypoint].resolutions).sort();
    assert.deepEqual(kinds, ['bundler', 'node10', 'node16-cjs', 'node16-esm'], entrypoint);
  }
  assert.deepEqual(Object.values(report.problems ?? {}).flat(), []);
});
