// Loading the package where no native binary loads: the error names the platform it found (OS,
// CPU, libc), the platforms that have packages, and what to do, instead of napi's advice to
// reinstall. Each case runs in a child process whose platform is simulated before loading.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';

import { killChildren, runNode } from '../support/child.mjs';
import { fromRoot } from '../support/paths.mjs';

after(killChildren);

const pkg = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8'));
const PACKAGED = Object.keys(pkg.optionalDependencies).map((name) => name.slice(`${pkg.name}-`.length));

/** Loads the package in a child with `platform`/`arch` overridden; resolves with what it threw. */
async function loadError({ platform, arch, env = {}, hideBinaries = false } = {}) {
  const overrides = [
    hideBinaries && `require('node:module')._extensions['.node'] = () => { throw new Error('hidden by the test'); };`,
    platform && `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });`,
    arch && `Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} });`,
  ]
    .filter(Boolean)
    .join('\n');
  const code = `${overrides}
try {
  require(${JSON.stringify(fromRoot('dist', 'index.js'))});
  console.log(JSON.stringify({ loaded: true }));
} catch (error) {
  console.log(JSON.stringify({ message: error.message, code: error.code, hasCause: error.cause !== undefined }));
}`;
  const childEnv = { ...process.env, ...env };
  delete childEnv.NAPI_RS_NATIVE_LIBRARY_PATH;
  Object.assign(childEnv, env);
  const { stdout, stderr } = await runNode(['-e', code], { env: childEnv, timeoutMs: 30_000 });
  const line = stdout.trim().split('\n').at(-1);
  assert.ok(line, stderr);
  return JSON.parse(line);
}

describe('a platform without a binary', () => {
  test('another CPU on Linux: names OS, CPU and libc, the packaged platforms, and how to build', async () => {
    const error = await loadError({ arch: 'ppc64' });
    assert.equal(error.code, 'ERR_MONOCLOUD_NATIVE_BINDING');
    assert.equal(error.hasCause, true);
    assert.match(error.message, /OS linux, CPU ppc64, libc (glibc|musl)/);
    for (const name of PACKAGED) assert.ok(error.message.includes(name), `${name} in: ${error.message}`);
    assert.match(error.message, /no prebuilt binary for linux-ppc64-(gnu|musl)/);
    assert.match(error.message, /Rust/);
    assert.match(error.message, /npm run build/);
    assert.doesNotMatch(error.message, /npm has a bug/);
  });

  test('another OS: names it, without a libc', async () => {
    const error = await loadError({ platform: 'aix', arch: 'ppc64' });
    assert.equal(error.code, 'ERR_MONOCLOUD_NATIVE_BINDING');
    assert.match(error.message, /OS aix, CPU ppc64\)/);
    assert.match(error.message, /no prebuilt binary for aix-ppc64/);
  });

  test('a packaged platform whose binary does not load: says to install optional dependencies', async () => {
    // The loader tries the local build, then the platform package: both fail to load.
    const error = await loadError({ hideBinaries: true });
    assert.equal(error.code, 'ERR_MONOCLOUD_NATIVE_BINDING');
    const found = `${process.platform}-${process.arch}-gnu`;
    assert.ok(PACKAGED.includes(found), `the suite runs on a packaged platform, not ${found}`);
    assert.match(error.message, new RegExp(`OS ${process.platform}, CPU ${process.arch}, libc glibc`));
    assert.ok(error.message.includes(`@monocloud/backend-node-rs-${found} did not load`), error.message);
    assert.match(error.message, /optional dependencies/);
    assert.match(error.message, /npm run build/);
    assert.doesNotMatch(error.message, /npm has a bug/);
  });

  test('NAPI_RS_NATIVE_LIBRARY_PATH naming nothing: says so', async () => {
    const error = await loadError({ env: { NAPI_RS_NATIVE_LIBRARY_PATH: fromRoot('target', 'no-such-addon.node') } });
    assert.equal(error.code, 'ERR_MONOCLOUD_NATIVE_BINDING');
    assert.match(error.message, /NAPI_RS_NATIVE_LIBRARY_PATH is set/);
    assert.doesNotMatch(error.message, /no-such-addon/);
  });
});

test('where the binary loads, nothing changes', async () => {
  assert.deepEqual(await loadError(), { loaded: true });
});
