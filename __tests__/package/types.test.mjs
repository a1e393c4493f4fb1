// The public types against both majors of each framework: the fixtures in __tests__/package/types/
// (the guides' programs as written, claim checks, custom claims, and what must not compile)
// go through `tsc --noEmit` once per framework major, with `express` / `fastify` mapped to the
// npm-aliased older major where needed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { ROOT } from '../support/paths.mjs';

const fixtures = fileURLToPath(new URL('./types/', import.meta.url));
const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
// Real paths: TypeScript follows links when it resolves a `/// <reference>`, so a linked
// node_modules (a git worktree sharing another checkout's) named through the link would give it
// two copies of @types/node.
const fromModules = (file) => realpathSync(join(ROOT, file));

// Seed 004's programs as written (IntelliAuth's quickstart, Express 4 or 5), and the types of
// the intelliauth subpaths; in the Express compiles rather than their own, to keep the number of
// compilers running at once down.
const intelliauth = ['intelliauth.mts', '../../../examples/intelliauth/seed-004.mts', '../../../examples/intelliauth/seed-004-per-route.mts'];

const targets = [
  {
    name: 'Express 4 (@types/express 4)',
    files: ['express.mts', 'express.cts', ...intelliauth],
    paths: { express: ['node_modules/@types/express4/index.d.ts'] },
  },
  { name: 'Express 5 (@types/express 5)', files: ['express.mts', 'express.cts', ...intelliauth], paths: {} },
  { name: 'Fastify 4', files: ['fastify.mts'], paths: { fastify: ['node_modules/fastify4/fastify.d.ts'] } },
  { name: 'Fastify 5', files: ['fastify.mts'], paths: {} },
  { name: 'web-standard (Next.js route handlers)', files: ['web.mts'], paths: {} },
  { name: 'Hono 4', files: ['hono.mts'], paths: {} },
  { name: 'Koa (@types/koa)', files: ['koa.mts'], paths: {} },
  { name: 'node:http', files: ['node.mts'], paths: {} },
  // Only the application needs decorator options; the package is compiled without them.
  { name: 'NestJS', files: ['nestjs.mts'], paths: {}, options: { experimentalDecorators: true, emitDecoratorMetadata: true } },
];

let dir;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backend-node-rs-types-'));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function compile(project) {
  return new Promise((resolve) => {
    // Room for a loaded machine: ten compilers at once on two busy cores can pass a minute.
    execFile(process.execPath, [tsc, '-p', project], { timeout: 240_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

test('the public types compile against every supported framework major', { timeout: 400_000 }, async () => {
  const runs = targets.map(async (target, index) => {
    const paths = Object.fromEntries(Object.entries(target.paths).map(([name, files]) => [name, files.map(fromModules)]));
    const project = join(dir, `tsconfig.${index}.json`);
    await writeFile(
      project,
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          lib: ['ES2022'],
          module: 'Node16',
          moduleResolution: 'Node16',
          esModuleInterop: true,
          skipLibCheck: false,
          // No type roots: a `/// <reference types>` inside @types/express 4 must find its own
          // nested dependencies, not the Express 5 ones at the top of node_modules.
          types: [],
          typeRoots: [],
          paths,
          ...target.options,
        },
        files: [fromModules('node_modules/@types/node/index.d.ts'), ...target.files.map((file) => join(fixtures, file))],
      }),
    );
    return { target, result: await compile(project) };
  });
  for (const { target, result } of await Promise.all(runs)) {
    assert.equal(result.code, 0, `${target.name}:\n${result.output}`);
  }
});
