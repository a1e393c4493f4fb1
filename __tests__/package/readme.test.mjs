// The README's testing example is run as printed, so the guide cannot drift from the package.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { ROOT, fromRoot } from '../support/paths.mjs';

const README = readFileSync(fromRoot('README.md'), 'utf8');

/** The first ```js block after `heading`. */
function exampleAfter(heading) {
  const start = README.indexOf(heading);
  assert.notEqual(start, -1, `README has no "${heading}"`);
  const match = /```js\n([\s\S]*?)\n```/.exec(README.slice(start));
  assert.ok(match, `no js example after "${heading}"`);
  return match[1];
}

test('"Testing without a tenant": the node:test example passes', async () => {
  const code = exampleAfter('## Testing without a tenant');
  // --eval resolves imports from the working directory, so the package's own name and its
  // devDependencies resolve as they would in a user's project.
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('MONOCLOUD_BACKEND_') || name.startsWith('NODE_TEST')) delete env[name];
  const { code: exitCode, stdout } = await new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '--eval', code], { cwd: ROOT, env, timeout: 60_000 }, (error, out, err) => {
      resolve({ code: error ? (error.code ?? error.signal) : 0, stdout: `${out}\n${err}` });
    });
  });
  assert.equal(exitCode, 0, stdout);
  assert.match(stdout, /# pass 3\n/);
  assert.match(stdout, /# fail 0\n/);
});

test('"DPoP in tests": the node:test example passes', async () => {
  const code = exampleAfter('### DPoP in tests');
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('MONOCLOUD_BACKEND_') || name.startsWith('NODE_TEST')) delete env[name];
  const { code: exitCode, stdout } = await new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '--eval', code], { cwd: ROOT, env, timeout: 60_000 }, (error, out, err) => {
      resolve({ code: error ? (error.code ?? error.signal) : 0, stdout: `${out}\n${err}` });
    });
  });
  assert.equal(exitCode, 0, stdout);
  assert.match(stdout, /# pass 1\n/);
  assert.match(stdout, /# fail 0\n/);
});
