// Node child processes for tests (the demo, the examples, scripts that must run in a fresh
// process): each one is bounded in time, its output kept for the failure message, and any still
// running when its file ends is killed by killChildren().
import { spawn } from 'node:child_process';

const running = new Set();

/** Kills every child still running; a file that starts children calls it in after(). */
export function killChildren() {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Starts `node ...args` with exactly `env`. The handle gives the output so far (`output()`, both
 * streams as they came; `stdout()`, `stderr()` apart), `exited` (resolves with { code, signal }
 * once the process and its streams are closed), waitFor() and stop().
 */
export function startNode(args, { env = process.env } = {}) {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const text = { output: '', stdout: '', stderr: '' };
  const watchers = new Set();
  for (const stream of ['stdout', 'stderr']) {
    child[stream].on('data', (chunk) => {
      text[stream] += chunk;
      text.output += chunk;
      for (const watch of watchers) watch();
    });
  }
  const exited = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    exited,
    output: () => text.output,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    /**
     * Resolves with what `test(output)` returns once that is truthy; rejects if the process ends
     * first or after `timeoutMs`, with the output in the message.
     */
    waitFor(test, { timeoutMs, what = 'the child process' }) {
      return new Promise((resolve, reject) => {
        let timer;
        const finish = (settle, value) => {
          clearTimeout(timer);
          watchers.delete(check);
          settle(value);
        };
        const check = () => {
          const found = test(text.output);
          if (found) finish(resolve, found);
        };
        timer = setTimeout(() => finish(reject, new Error(`${what} did not get there in ${timeoutMs} ms:\n${text.output}`)), timeoutMs);
        watchers.add(check);
        check();
        exited.then(({ code, signal }) => {
          if (watchers.has(check)) finish(reject, new Error(`${what} ended (${signal ?? code}) first:\n${text.output}`));
        });
      });
    },
    /** Resolves with { code, signal } once it ends; rejects after `timeoutMs` (it is left running for killChildren()). */
    endsWithin(timeoutMs, what = 'the child process') {
      let timer;
      return Promise.race([
        exited.finally(() => clearTimeout(timer)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${what} did not finish in ${timeoutMs} ms:\n${text.output}`)), timeoutMs);
        }),
      ]);
    },
    /** Sends `signal` and resolves once it has ended. */
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * Runs `node ...args` to its end and resolves with { code, signal, killed, stdout, stderr,
 * lingeredMs }; a process still running after `timeoutMs` is killed (`killed: true`).
 * `lingeredMs` is how long it lived after its stdout first satisfied `mark` (undefined if never).
 */
export async function runNode(args, { env = process.env, timeoutMs = 20_000, mark } = {}) {
  const run = startNode(args, { env });
  let markedAt;
  if (mark) {
    run.waitFor(() => mark(run.stdout()), { timeoutMs }).then(
      () => {
        markedAt = performance.now();
      },
      () => {},
    );
  }
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    run.child.kill('SIGKILL');
  }, timeoutMs);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  const lingeredMs = markedAt === undefined ? undefined : performance.now() - markedAt;
  return { code, signal, killed, stdout: run.stdout(), stderr: run.stderr(), lingeredMs };
}
