// Where a server's CPU goes, per request and per thread: one framework and auth variant under
// autocannon load, the server's threads read from /proc before and after (Linux only). Says
// whether the event loop, our verification threads, V8's helper threads or the load generator
// limits a row of bench/e2e.mjs or bench/dpop.mjs, which only report req/s.
//
//   node bench/cpu.mjs <framework> <auth> [single|pool|dpop] [seconds]
//   e.g. node bench/cpu.mjs express monocloud single 5
//
// <framework> and <auth> are those of bench/servers (BENCH_AUTH); `dpop` sends a DPoP-bound
// token with a fresh ES256 proof per request (Express only: it needs the fixed port).
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createDpopProof, createTestIssuer, generateDpopKey } from '@monocloud/backend-node-rs/testing';
import autocannon from 'autocannon';

import { startServer, stopServer } from './common.mjs';

const [framework, auth, mode = 'single', seconds = '5'] = process.argv.slice(2);
if (!framework || !auth || !['single', 'pool', 'dpop'].includes(mode)) {
  console.error('usage: node bench/cpu.mjs <framework> <auth> [single|pool|dpop] [seconds]');
  process.exit(2);
}
const CONNECTIONS = 64;
const TICKS_PER_SECOND = 100; // USER_HZ, the unit of /proc/<pid>/task/<tid>/stat times
const PORT = 40_000 + (process.pid % 20_000);

const issuer = await createTestIssuer({ algs: ['RS256'] });
const fixture = join(tmpdir(), `monocloud-bench-cpu-${process.pid}.json`);
writeFileSync(fixture, JSON.stringify({ issuer: issuer.url, audience: issuer.audience }));

/** The headers of the next request; for one token, fixed headers (as bench/e2e.mjs sends them). */
let headersFor;
let fixedHeaders;
if (mode === 'dpop') {
  const key = await generateDpopKey('ES256');
  const token = await issuer.mint({ alg: 'RS256', expiresIn: 3600, dpopKey: key });
  const url = `http://127.0.0.1:${PORT}/api/data`;
  const proofs = Array.from({ length: 150_000 }, () => createDpopProof({ key, method: 'GET', url, accessToken: token }));
  let next = 0;
  headersFor = () => ({ authorization: `DPoP ${token}`, dpop: proofs[next++ % proofs.length] });
} else if (mode === 'pool') {
  const pool = [];
  for (let i = 0; i < 10_000; i++) pool.push({ authorization: `Bearer ${await issuer.mint({ alg: 'RS256', expiresIn: 3600 })}` });
  let next = 0;
  headersFor = () => pool[next++ % pool.length];
} else {
  fixedHeaders = { authorization: `Bearer ${await issuer.mint({ alg: 'RS256', expiresIn: 3600 })}` };
}

const { child, port } = await startServer(framework, { BENCH_FIXTURE: fixture, BENCH_AUTH: auth, BENCH_PORT: String(PORT) });
if (mode === 'dpop' && port !== PORT) throw new Error(`bench/servers/${framework}.mjs ignores BENCH_PORT: proofs name the URL`);

/** CPU ticks per thread of the server, by thread name (the main thread apart). */
function threadTicks() {
  const ticks = {};
  for (const tid of readdirSync(`/proc/${child.pid}/task`)) {
    try {
      const name = tid === String(child.pid) ? 'event loop' : readFileSync(`/proc/${child.pid}/task/${tid}/comm`, 'utf8').trim();
      // utime and stime are fields 14 and 15; the name in parentheses may hold spaces.
      const fields = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks[name] = (ticks[name] ?? 0) + Number(fields[11]) + Number(fields[12]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ticks;
}

const load = (duration) =>
  autocannon({
    url: `http://127.0.0.1:${port}/api/data`,
    connections: CONNECTIONS,
    duration,
    ...(fixedHeaders
      ? { headers: fixedHeaders }
      : { requests: [{ setupRequest: (request) => ({ ...request, headers: headersFor() }) }] }),
  });

try {
  await load(2); // warm-up, unrecorded
  const before = threadTicks();
  const ownBefore = process.cpuUsage();
  const result = await load(Number(seconds));
  const after = threadTicks();
  const own = process.cpuUsage(ownBefore);
  const requests = result.requests.total;
  const usPerRequest = (ticks) => (ticks * 1e6) / TICKS_PER_SECOND / requests;
  const threads = Object.keys(after)
    .map((name) => [name, usPerRequest(after[name] - (before[name] ?? 0))])
    .filter(([, us]) => us >= 0.05)
    .sort((a, b) => b[1] - a[1]);
  const server = threads.reduce((sum, [, us]) => sum + us, 0);
  console.log(
    `${framework} ${auth} ${mode}: ${Math.round(result.requests.average)} req/s (${result['2xx']} 2xx, ${result.non2xx} other); ` +
      `server ${server.toFixed(1)} µs/req [${threads.map(([name, us]) => `${name} ${us.toFixed(1)}`).join(', ')}]; ` +
      `load generator ${((own.user + own.system) / requests).toFixed(1)} µs/req`,
  );
} finally {
  await stopServer(child);
  await issuer.close?.();
  rmSync(fixture, { force: true });
}
