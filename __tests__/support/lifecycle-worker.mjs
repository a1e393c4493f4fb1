// A worker thread for security/lifecycle.test.mjs. `workerData.mode`:
//
//   validate  its own test issuer and client (onEvent, fetcher, introspection with the built-in
//             cache): ES256, EdDSA and PS256 JWTs, an opaque token twice, a bad token; then the
//             tokens of the main thread's issuer with a second client. Posts a summary, closes
//             its issuer and ends on its own.
//   pending   starts validations against a server that never answers and posts 'pending'; the
//             test then terminates the worker (or, with `exit: true`, the worker calls
//             process.exit itself) while they are in flight.
//   load      only loads the addon, validates one token of the main thread's issuer, posts the
//             names of the process's threads, and ends.
import { readdirSync, readFileSync } from 'node:fs';
import { parentPort, threadId, workerData } from 'node:worker_threads';

import { MonoCloudBackendNodeClient, MonoCloudTokenError } from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

const { mode } = workerData;

/** Thread names of this process (Linux), to see which runtime serves the addon. */
export function threadNames() {
  try {
    return readdirSync('/proc/self/task').map((id) => readFileSync(`/proc/self/task/${id}/comm`, 'utf8').trim());
  } catch {
    return [];
  }
}

if (mode === 'validate') {
  // One RSA key only: generating them is what makes a worker slow to start.
  const issuer = await createTestIssuer({ algs: ['ES256', 'EdDSA', 'PS256'] });
  const events = [];
  let fetches = 0;
  const client = new MonoCloudBackendNodeClient({
    tenantDomain: issuer.url,
    audience: issuer.audience,
    clientId: 'test-client',
    clientSecret: 'test-secret',
    // The built-in introspection cache is opt-in; this worker shows it working per thread.
    introspectionCacheMaxEntries: 100,
    onEvent: (event) => events.push(event.type),
    fetcher: (url, init) => {
      fetches += 1;
      return fetch(url, init);
    },
  });
  let validated = 0;
  const jobs = [];
  for (let i = 0; i < workerData.rounds; i += 1) {
    for (const alg of ['ES256', 'EdDSA', 'PS256']) {
      jobs.push(
        issuer.mint({ alg, claims: { worker: threadId, i } }).then(async (token) => {
          const claims = await client.validateAccessToken(token);
          if (claims.worker !== threadId || claims.i !== i) throw new Error('claims of another token');
          validated += 1;
        }),
      );
    }
  }
  await Promise.all(jobs);
  const opaque = issuer.mintOpaque({ worker: threadId });
  const first = await client.validateAccessToken(opaque);
  const second = await client.validateAccessToken(opaque);
  let refused = false;
  try {
    await client.validateAccessToken('not.a.token');
  } catch (error) {
    refused = error instanceof MonoCloudTokenError && error.code === 'invalid_token';
  }
  const shared = new MonoCloudBackendNodeClient({ tenantDomain: workerData.issuer, audience: workerData.audience });
  const sharedClaims = await Promise.all(workerData.tokens.map((token) => shared.validateAccessToken(token)));
  await issuer.close();
  // Events are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 20));
  parentPort.postMessage({
    threadId,
    validated,
    introspected: first.worker === threadId && second.worker === threadId,
    refused,
    fetches,
    introspectionCacheHit: events.includes('cache_hit'),
    shared: sharedClaims.length,
  });
} else if (mode === 'pending') {
  const client = new MonoCloudBackendNodeClient({ tenantDomain: workerData.url, audience: 'https://api.example.com', responseTimeout: 60_000 });
  const pending = Array.from({ length: 20 }, (_, i) =>
    client.validateAccessToken(`eyJhbGciOiJFUzI1NiJ9.eyJpIjo${i}fQ.c2ln`).catch(() => {}),
  );
  parentPort.postMessage('pending');
  if (workerData.exit) {
    setTimeout(() => process.exit(0), 50);
  }
  await Promise.all(pending);
} else if (mode === 'load') {
  const client = new MonoCloudBackendNodeClient({ tenantDomain: workerData.issuer, audience: workerData.audience });
  const claims = await client.validateAccessToken(workerData.tokens[0]);
  parentPort.postMessage({ sub: claims.sub, threads: threadNames() });
}
