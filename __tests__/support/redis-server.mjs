// A real redis-server for the fleet tests: started on 127.0.0.1 with a free port, no
// persistence, in its own temporary directory; stopped (and restarted on the same port) on
// cue. Every wait is bounded. `redisCommand` speaks just enough RESP for the tests' own
// commands (PING, DEBUG SLEEP, KEYS, FLUSHALL), so the tests need no client library.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The server binaries this machine has: redis-server, valkey-server when installed, and the
 * one MONOCLOUD_TEST_VALKEY_SERVER names (a path: Debian 12 ships no Valkey, so .ci/run takes
 * the binary a PyPI wheel carries when it can).
 */
export function redisBinaries() {
  const candidates = new Set(['redis-server', 'valkey-server', process.env.MONOCLOUD_TEST_VALKEY_SERVER].filter(Boolean));
  return [...candidates].filter(
    (binary) => spawnSync(binary, ['--version'], { stdio: 'ignore', timeout: 5_000 }).status === 0,
  );
}

async function freePort() {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Sends one command and resolves with its reply (string, number, array, null), or rejects.
 * `ca` (PEM) speaks TLS, trusting that CA.
 */
export function redisCommand(port, args, { timeoutMs = 2_000, ca } = {}) {
  return new Promise((resolve, reject) => {
    const socket = ca ? connectTls({ port, host: '127.0.0.1', ca }) : connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0]} did not answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error, value) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    socket.on('error', (error) => finish(error));
    socket.on(ca ? 'secureConnect' : 'connect', () => {
      const parts = [`*${args.length}\r\n`];
      for (const arg of args) parts.push(`$${Buffer.byteLength(String(arg))}\r\n${arg}\r\n`);
      socket.write(parts.join(''));
    });
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const parsed = parseReply(buffer, 0);
      if (parsed) finish(parsed.error, parsed.value);
    });
  });
}

/** One RESP2 reply from `offset`, or undefined while incomplete. */
function parseReply(buffer, offset) {
  const end = buffer.indexOf('\r\n', offset);
  if (end < 0) return undefined;
  const line = buffer.toString('utf8', offset + 1, end);
  const next = end + 2;
  switch (String.fromCharCode(buffer[offset])) {
    case '+':
      return { value: line, next };
    case '-':
      return { error: new Error(line), next };
    case ':':
      return { value: Number(line), next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), next: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next };
      const values = [];
      let at = next;
      for (let i = 0; i < count; i += 1) {
        const item = parseReply(buffer, at);
        if (!item) return undefined;
        values.push(item.value);
        at = item.next;
      }
      return { value: values, next: at };
    }
    default:
      return { error: new Error('unreadable reply'), next };
  }
}

/**
 * Starts `binary` (redis-server by default); with `tls` ({ certPath, keyPath, ca }: the server's
 * certificate and key files, the CA's PEM) it listens only for TLS, and `url` is `rediss://`.
 * The handle has `url`, `port`, `command(args)`,
 * `stop()`, `start()` (again, same port and directory), `slow(seconds)` (DEBUG SLEEP, not
 * awaited: the server is busy for that long) and `close()` (stop and remove the directory).
 */
export async function startRedis({ binary = 'redis-server', tls } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'monocloud-redis-'));
  const port = await freePort();
  let child;
  let output = '';

  async function start() {
    child = spawn(
      binary,
      [
        ...(tls
          ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certPath, '--tls-key-file', tls.keyPath, '--tls-auth-clients', 'no']
          : ['--port', String(port)]),
        '--bind', '127.0.0.1',
        '--dir', dir,
        '--save', '',
        '--appendonly', 'no',
        '--daemonize', 'no',
        '--enable-debug-command', 'local',
        '--loglevel', 'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      try {
        if ((await redisCommand(port, ['PING'], { timeoutMs: 500, ca: tls?.ca })) === 'PONG') return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    child.kill('SIGKILL');
    throw new Error(`${binary} did not start on port ${port}:\n${output}`);
  }

  async function stop() {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    binary,
    port,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    command: (args, options) => redisCommand(port, args, { ca: tls?.ca, ...options }),
    /** Busy for `seconds`: every client waits (the command's own reply is not awaited). */
    slow: (seconds) =>
      redisCommand(port, ['DEBUG', 'SLEEP', String(seconds)], { timeoutMs: seconds * 1000 + 2_000, ca: tls?.ca }).catch(() => {}),
    start,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
