// `npm start` and `npm run demo` (examples/demo.mjs) run as child processes, as a newcomer runs
// them: no tenant configured, so the demo starts the embedded test issuer.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { killChildren, startNode } from '../support/child.mjs';
import { fromRoot } from '../support/paths.mjs';

const DEMO = fromRoot('examples', 'demo.mjs');
after(killChildren);

/** The parent's environment without any MONOCLOUD_BACKEND_* variable, plus `vars`. */
function cleanEnv(vars = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('MONOCLOUD_BACKEND_') && name !== 'ACCESS_TOKEN') env[name] = value;
  }
  return { ...env, ...vars };
}

/**
 * Runs the demo; `ready` resolves once `until(output)` holds, or once it has ended when there is
 * no `until`. It rejects after `timeout` ms so a hung demo fails the test instead of stalling the run.
 */
function run(args, { env = cleanEnv(), until, timeout = 30_000 } = {}) {
  const demo = startNode([DEMO, ...args], { env });
  const ready = until ? demo.waitFor(until, { timeoutMs: timeout, what: 'the demo' }) : demo.endsWithin(timeout, 'the demo');
  return { child: demo.child, exited: demo.exited, ready, output: demo.output };
}

describe('npm run demo (the tour)', () => {
  test('plays every request, prints each answer and exits 0', async () => {
    const demo = run(['--tour']);
    await demo.ready;
    const { code } = await demo.exited;
    const output = demo.output();
    assert.equal(code, 0, output);
    const statuses = [...output.matchAll(/→ (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 403, 401, 200, 401], output);
    assert.match(output, /WWW-Authenticate: Bearer error="insufficient_scope"/);
    assert.match(output, /\{"message":"forbidden"\}/);
    assert.match(output, /"user":"demo-user"/);
    assert.match(output, /Every answer was the expected one\./);
    assert.doesNotMatch(output, /✗/);
  });
});

describe('npm start (serves until Ctrl-C)', () => {
  test('prints curl commands that get the statuses they promise, then stops on SIGINT', async () => {
    const demo = run([], { env: cleanEnv({ PORT: '0' }), until: (out) => out.includes('Serving until Ctrl-C.') });
    await demo.ready;
    const output = demo.output();
    assert.match(output, /embedded test issuer; no tenant needed/);

    // Each command follows a "# <status>: <what>" line. Replay them exactly as printed.
    const commands = [...output.matchAll(/# (\d{3}): .*\n\s*curl -i (\S+)(?: -H "Authorization: Bearer ([^"]+)")?/g)];
    assert.ok(commands.length >= 3, output);
    const seen = new Set();
    for (const [, expected, url, token] of commands) {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/api\//);
      const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      await response.arrayBuffer();
      assert.equal(response.status, Number(expected), `${url} ${token ? 'with' : 'without'} a token`);
      seen.add(response.status);
    }
    assert.deepEqual([...seen].sort(), [200, 401, 403]);

    demo.child.kill('SIGINT');
    const { code } = await demo.exited;
    assert.equal(code, 0, demo.output());
    assert.match(demo.output(), /Stopping\./);
  });

  test('a configuration mistake stops it at start-up with the reason', async () => {
    const env = cleanEnv({ PORT: '0', MONOCLOUD_BACKEND_TENANT_DOMAIN: 'https://tenant.example.com' });
    const demo = run([], { env });
    await demo.ready;
    const { code } = await demo.exited;
    assert.equal(code, 1);
    assert.match(demo.output(), /Configuration error: "audience" is required/);
  });
});
