// Instances of a fleet as child processes (see fleet-child.mjs): each call is one JSON line
// out and one back, bounded in time; stopFleet() ends every instance still running.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { fromRoot } from './paths.mjs';

const running = new Set();

export function stopFleet() {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Starts one instance with `options` (client options) and resolves once it is ready. */
export async function startInstance(options, { tokenOptions, env = {} } = {}) {
  const child = spawn(process.execPath, [fromRoot('__tests__', 'support', 'fleet-child.mjs')], {
    env: {
      ...process.env,
      ...env,
      FLEET_OPTIONS: JSON.stringify(options),
      ...(tokenOptions ? { FLEET_TOKEN_OPTIONS: JSON.stringify(tokenOptions) } : {}),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const waiting = new Map();
  let ready;
  const readyPromise = new Promise((resolve) => (ready = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (message.ready) ready();
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
  let nextId = 0;
  const timeout = (ms, what) =>
    new Promise((_, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} did not answer in ${ms} ms\n${stderr}`)), ms);
      timer.unref();
    });
  await Promise.race([readyPromise, timeout(10_000, 'the instance')]);
  return {
    pid: child.pid,
    call(op, args = {}, { timeoutMs = 5_000 } = {}) {
      const id = (nextId += 1);
      const answer = new Promise((resolve) => waiting.set(id, resolve));
      child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
      return Promise.race([answer, timeout(timeoutMs, `${op} #${id}`)]);
    },
    validate(token, options) {
      return this.call('validate', { token }, options);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, timeout(5_000, 'stopping the instance')]).catch(() => child.kill('SIGKILL'));
    },
  };
}

/** Calls `attempt` every `everyMs` until it answers truthy or `withinMs` passes; resolves with { value, ms }. */
export async function until(attempt, { withinMs, everyMs = 25 }) {
  const started = performance.now();
  let last;
  for (let i = 0; i < Math.ceil(withinMs / everyMs) + 1; i += 1) {
    last = await attempt();
    if (last) return { value: last, ms: performance.now() - started };
    if (performance.now() - started > withinMs) break;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return { value: last, ms: performance.now() - started };
}
