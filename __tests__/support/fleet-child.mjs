// One instance of a fleet, in its own process: a MonoCloudBackendNodeClient (and, when asked,
// a MonoCloudTokenClient) configured from FLEET_OPTIONS / FLEET_TOKEN_OPTIONS (JSON), driven by
// one JSON command a line on stdin and answering one JSON line each on stdout:
//   { id, op: 'validate', token }          → { id, ok, sub?, code?, message?, ms }
//   { id, op: 'validateRequest', request } → { id, ok, sub?, name?, code?, status?, message? }
//   { id, op: 'revoke', revocation }       → { id, shared } or { id, error }
//   { id, op: 'events' }                   → { id, events, revoked }
//   { id, op: 'getAccessToken' }           → { id, token } or { id, error }
//   { id, op: 'tokenEvents' }              → { id, events } (the token client's)
import { createInterface } from 'node:readline';

import { MonoCloudBackendNodeClient, MonoCloudTokenClient } from '@monocloud/backend-node-rs';

import { connectStoreClient } from './store-clients.mjs';

const events = [];
const tokenEvents = [];
const revoked = [];
const options = JSON.parse(process.env.FLEET_OPTIONS ?? '{}');
const tokenOptions = process.env.FLEET_TOKEN_OPTIONS ? JSON.parse(process.env.FLEET_TOKEN_OPTIONS) : undefined;
// FLEET_STORE_CLIENT (node-redis, node-redis-v4, ioredis): `store` is given as a connected
// client of that library, made from the URL, instead of the URL itself.
const kind = process.env.FLEET_STORE_CLIENT;
async function storeFor(url) {
  if (!kind || typeof url !== 'string') return url;
  return (await connectStoreClient(kind, url)).client;
}
const client = new MonoCloudBackendNodeClient({
  ...options,
  store: await storeFor(options.store),
  onEvent: (event) => events.push(event),
  onRevoked: (revocation) => revoked.push(revocation),
});
const tokenClient = tokenOptions
  ? new MonoCloudTokenClient({ ...tokenOptions, store: await storeFor(tokenOptions.store), onEvent: (event) => tokenEvents.push(event) })
  : undefined;

const reply = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function run(command) {
  const { id, op } = command;
  try {
    if (op === 'validate') {
      const started = performance.now();
      try {
        const claims = await client.validateAccessToken(command.token);
        return { id, ok: true, sub: claims.sub, ms: performance.now() - started };
      } catch (error) {
        return { id, ok: false, code: error.code, message: error.message, ms: performance.now() - started };
      }
    }
    if (op === 'validateRequest') {
      try {
        const claims = await client.validateRequest(command.request);
        return { id, ok: true, sub: claims.sub };
      } catch (error) {
        return { id, ok: false, name: error.name, code: error.code, status: error.status, message: error.message };
      }
    }
    if (op === 'revoke') return { id, ...(await client.revoke(command.revocation)) };
    if (op === 'events') return { id, events: events.splice(0), revoked: revoked.splice(0) };
    if (op === 'getAccessToken') return { id, token: await tokenClient.getAccessToken() };
    if (op === 'tokenEvents') return { id, events: tokenEvents.splice(0) };
    return { id, error: `unknown op ${op}` };
  } catch (error) {
    return { id, error: String(error?.message ?? error) };
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  run(JSON.parse(line)).then(reply);
});
reply({ ready: true });
