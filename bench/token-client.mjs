// The outbound token client against oidc-provider on 127.0.0.1: cached getAccessToken calls per
// second, 100 concurrent cold callers (token requests at the issuer, wall time), and the slowest
// call while 4-second tokens are refreshed in the background for 6 seconds.
//
//   node bench/token-client.mjs
import { MonoCloudTokenClient } from '@monocloud/backend-node-rs';

import { startOidcProvider } from '../__tests__/support/oidc-provider.mjs';

const AUDIENCE = 'https://api.example.com';
const tokenRequests = (op) => op.requests.filter((r) => r.method === 'POST' && r.path === '/token').length;
const client = (op) =>
  new MonoCloudTokenClient({ tenantDomain: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret, clientAuthMethod: 'client_secret_basic' });

const op = await startOidcProvider({ audience: AUDIENCE, algs: ['RS256'] });
const shortOp = await startOidcProvider({ audience: AUDIENCE, algs: ['RS256'], clientCredentialsTtl: 4 });
try {
  const tokens = client(op);
  const began = performance.now();
  await Promise.all(Array.from({ length: 100 }, () => tokens.getAccessToken({ resource: AUDIENCE })));
  console.log(`100 concurrent cold callers: ${tokenRequests(op)} token request(s), ${(performance.now() - began).toFixed(1)} ms`);

  const calls = 200_000;
  const start = performance.now();
  for (let i = 0; i < calls; i++) await tokens.getAccessToken({ resource: AUDIENCE });
  const seconds = (performance.now() - start) / 1000;
  console.log(`cached getAccessToken: ${Math.round(calls / seconds)} calls/s sequential (${((seconds / calls) * 1e6).toFixed(2)} µs each)`);

  const refreshing = client(shortOp);
  await refreshing.getAccessToken({ resource: AUDIENCE });
  const before = tokenRequests(shortOp);
  const latencies = [];
  const until = Date.now() + 6_000;
  while (Date.now() < until) {
    const t = performance.now();
    await refreshing.getAccessToken({ resource: AUDIENCE });
    latencies.push(performance.now() - t);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  latencies.sort((a, b) => a - b);
  const p = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(3);
  console.log(
    `during background refresh (4 s tokens, 6 s, ${latencies.length} calls): ${tokenRequests(shortOp) - before} refreshes, ` +
      `p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${latencies.at(-1).toFixed(3)} ms`,
  );
} finally {
  await Promise.all([op.close(), shortOp.close()]);
}
