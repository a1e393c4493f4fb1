// A child process for security/lifecycle.test.mjs: `node lifecycle-child.mjs <scenario> [json]`.
// It does its work, prints `work-done <json>` and then simply returns: it never calls
// process.exit, so the process ends only when nothing keeps its event loop alive.
import { Worker } from 'node:worker_threads';

import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { loadTestAddon } from './native.mjs';
import { blackHole } from './raw-http.mjs';

const [scenario, argument] = process.argv.slice(2);
const options = argument ? JSON.parse(argument) : {};
const WORKER = new URL('./lifecycle-worker.mjs', import.meta.url);

function done(result = {}) {
  process.stdout.write(`work-done ${JSON.stringify(result)}\n`);
}

/** Runs a worker to its end; resolves with its message and exit code. */
function runWorker(workerData) {
  const worker = new Worker(WORKER, { workerData });
  let message;
  worker.on('message', (m) => {
    message = m;
  });
  return new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('exit', (code) => resolve({ message, code }));
  });
}

const { MonoCloudBackendNodeClient, MonoCloudHttpError } =
  scenario === 'runtime-after-last-env' ? {} : await import('@monocloud/backend-node-rs');

switch (scenario) {
  case 'everything': {
    // JWTs, introspection with the built-in cache, onEvent, a fetcher; then the issuer is closed
    // and nothing else is done.
    const issuer = await createTestIssuer({ algs: ['ES256', 'RS256'] });
    const events = [];
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: issuer.url,
      audience: issuer.audience,
      clientId: 'test-client',
      clientSecret: 'test-secret',
      // The built-in introspection cache is opt-in; this scenario uses it.
      introspectionCacheMaxEntries: 100,
      onEvent: (event) => events.push(event.type),
      fetcher: (url, init) => fetch(url, init),
    });
    for (const alg of ['ES256', 'RS256']) await client.validateAccessToken(await issuer.mint({ alg }));
    const cached = await client.validateAccessToken(await issuer.mint());
    await client.validateAccessToken(await issuer.mint()).catch(() => {});
    const opaque = issuer.mintOpaque();
    await client.validateAccessToken(opaque);
    await client.validateAccessToken(opaque);
    await client.validateAccessToken('bad.token.here').catch(() => {});
    await client.introspectAccessToken(opaque);
    await client.getJwks(true);
    await issuer.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    done({ events: [...new Set(events)].sort(), sub: cached.sub });
    break;
  }
  case 'idle-client': {
    // Every callback configured, nothing validated.
    new MonoCloudBackendNodeClient({
      tenantDomain: 'http://127.0.0.1:9',
      audience: 'https://api.example.com',
      clientId: 'id',
      onEvent: () => {},
      fetcher: (url, init) => fetch(url, init),
      metadataResolver: async () => ({}),
      jwksResolver: async () => ({ keys: [] }),
      cache: { get: async () => undefined, set: async () => {}, delete: async () => {} },
    });
    done();
    break;
  }
  case 'workers': {
    const issuer = await createTestIssuer({ algs: ['ES256'] });
    const tokens = await Promise.all([issuer.mint(), issuer.mint()]);
    const data = { mode: 'validate', rounds: 2, issuer: issuer.url, audience: issuer.audience, tokens };
    const results = await Promise.all([runWorker(data), runWorker(data)]);
    await new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience }).validateAccessToken(tokens[0]);
    await issuer.close();
    done({ codes: results.map((r) => r.code), validated: results.map((r) => r.message?.validated) });
    break;
  }
  case 'timeout': {
    // A server that accepts connections and never answers: the validation ends with the
    // response timeout, and then the process can end.
    const hole = await blackHole();
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: hole.url,
      audience: 'https://api.example.com',
      responseTimeout: 1000,
    });
    let error;
    try {
      await client.validateAccessToken('eyJhbGciOiJFUzI1NiJ9.e30.c2ln');
    } catch (e) {
      error = e;
    }
    await hole.close();
    done({ error: error?.name, http: error instanceof MonoCloudHttpError });
    break;
  }
  case 'construct': {
    // Builds a client from the options given (and MONOCLOUD_BACKEND_* from the environment).
    let outcome;
    try {
      new MonoCloudBackendNodeClient({ tenantDomain: 'http://127.0.0.1:9', audience: 'https://api.example.com', ...options });
      outcome = 'constructed';
    } catch (error) {
      outcome = error?.name ?? String(error);
    }
    done({ outcome });
    break;
  }
  case 'panic-sync': {
    // The test-only hook (see security/lifecycle.test.mjs): a panic in a synchronous native call.
    const native = loadTestAddon();
    let result = { caught: false };
    try {
      native.__testPanicSync('test panic');
    } catch (error) {
      result = { caught: true, message: error.message };
    }
    done(result);
    break;
  }
  case 'runtime-after-last-env': {
    // The main thread never loads the addon: each worker is the only environment using it while
    // it runs, so the shared runtime is shut down when the first one ends.
    const issuer = await createTestIssuer({ algs: ['ES256'] });
    const data = { mode: 'load', issuer: issuer.url, audience: issuer.audience, tokens: [await issuer.mint()] };
    const first = await runWorker(data);
    const second = await runWorker(data);
    await issuer.close();
    done({ first: first.message, second: second.message, codes: [first.code, second.code] });
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
