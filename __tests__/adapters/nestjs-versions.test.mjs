// NestJS 10 and 11, beside the 12 every other adapter test runs on: each major is installed from
// the npm registry into a folder of its own (kept under node_modules/.cache, so only the first
// run downloads it), our package is placed there as an installed copy would be (its published
// files, linked), and an app on the Express and the Fastify platform answers the same requests
// as it does on Nest 12.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'monocloud-nest-versions');
const PUBLISHED = ['package.json', 'dist', 'binding.cjs', 'index.js'];

/** A folder with NestJS `major` installed and our package linked in, as published. */
async function nestFolder(major) {
  const folder = join(CACHE, `nest-${major}`);
  const marker = join(folder, 'installed');
  if (!existsSync(marker)) {
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: `nest-${major}-check`, private: true }));
    const packages = ['common', 'core', 'platform-express', 'platform-fastify'].map((name) => `@nestjs/${name}@^${major}`);
    await run('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--loglevel=error', ...packages, 'reflect-metadata@^0.2', 'rxjs@^7'], {
      cwd: folder,
      timeout: 240_000,
    });
    writeFileSync(marker, '');
  }
  const ours = join(folder, 'node_modules', '@monocloud', 'backend-node-rs');
  rmSync(ours, { recursive: true, force: true });
  mkdirSync(ours, { recursive: true });
  const binaries = readdirSync(ROOT).filter((name) => name.endsWith('.node'));
  for (const name of [...PUBLISHED, ...binaries]) symlinkSync(join(ROOT, name), join(ours, name));
  copyFileSync(join(ROOT, '__tests__', 'support', 'nest-version-app.cjs'), join(folder, 'app.cjs'));
  return folder;
}

describe('NestJS 10 and 11', () => {
  let issuer;
  let tokens;
  before(async () => {
    issuer = await createTestIssuer();
    tokens = {
      reader: await issuer.mint({ claims: { scope: 'read:items', sub: 'reader' } }),
      admin: await issuer.mint({ claims: { scope: 'read:items admin', sub: 'boss' } }),
      expired: await issuer.mint({ claims: { scope: 'read:items' }, expiresIn: -60 }),
    };
  });
  after(() => issuer?.close());

  for (const major of [10, 11]) {
    test(`NestJS ${major}: guard, route and controller options, @Claims and @Public on Express and Fastify`, { timeout: 300_000 }, async () => {
      const folder = await nestFolder(major);
      // Preserved links: our entry then finds @nestjs/* in this folder, as an installed copy would.
      const { stdout } = await run(process.execPath, ['--preserve-symlinks', 'app.cjs'], {
        cwd: folder,
        timeout: 60_000,
        env: { ...process.env, NEST_ISSUER: issuer.url, NEST_AUDIENCE: issuer.audience, NEST_TOKENS: JSON.stringify(tokens) },
      });
      const result = JSON.parse(stdout.trim().split('\n').pop());
      assert.equal(Number(result.nest.split('.')[0]), major, `ran on @nestjs/core ${result.nest}`);
      for (const platform of ['express', 'fastify']) {
        const answers = result[platform];
        const at = (name) => `${platform}, ${name}: ${JSON.stringify(answers[name])}`;
        assert.equal(answers['no token'].status, 401, at('no token'));
        assert.match(answers['no token'].challenge ?? '', /^Bearer/, at('no token'));
        assert.deepEqual(answers.reader, { status: 200, challenge: null, body: { sub: 'reader' } }, at('reader'));
        assert.equal(answers['reader on admin'].status, 403, at('reader on admin'));
        assert.match(answers['reader on admin'].challenge ?? '', /error="insufficient_scope"/, at('reader on admin'));
        assert.deepEqual(answers.admin.body, { sub: 'boss' }, at('admin'));
        assert.equal(answers.expired.status, 401, at('expired'));
        assert.match(answers.expired.challenge ?? '', /error="invalid_token"/, at('expired'));
        assert.deepEqual(answers.public, { status: 200, challenge: null, body: { ok: true } }, at('public'));
      }
    });
  }
});
