// Seed 004 (IntelliAuth's Node quickstart) on this package: its programs, with only the import
// specifiers changed, run against oidc-provider (tokens whose audience is the seed's
// `api.banking.cymmetri.com`, not a URI) and a local stand-in for the management API; then
// requireSession's revocation check and ManagementClient's construction-time grant in-process.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import express from 'express';
import ts from 'typescript';

import { MonoCloudOPError, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import { ManagementApiError, ManagementClient } from '@monocloud/backend-node-rs/intelliauth';
import { requireSession } from '@monocloud/backend-node-rs/intelliauth/express';

import { killChildren, startNode } from '../support/child.mjs';
import { basicAuthorization } from '../support/oauth-http.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';
import { fromRoot } from '../support/paths.mjs';
import { rejectsWith } from '../support/rejects.mjs';

const SEED_AUDIENCE = 'api.banking.cymmetri.com';
// oidc-provider takes only URIs as resource indicators; this one's tokens carry the seed's audience.
const BANKING_INDICATOR = 'https://banking.example/api';
const TOKEN_PATH = '/token';

let op;
let management; // the stand-in management API
let managementUrl;
const managementCalls = [];

const tokenRequests = () => op.requests.filter((r) => r.method === 'POST' && r.path === TOKEN_PATH).length;

async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${server.address().port}`;
}

async function close(server) {
  if (!server?.listening) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** What oidc-provider's introspection endpoint says about `token`. */
async function introspect(token) {
  const response = await fetch(`${op.issuer}/token/introspection`, {
    method: 'POST',
    headers: { authorization: basicAuthorization(op.clientId, op.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  return response.json();
}

/** The seed's TypeScript program as JavaScript, beside the package so its imports resolve. */
async function transpiled(name) {
  const source = await readFile(fromRoot('examples', 'intelliauth', `${name}.mts`), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const dir = fromRoot('target', 'intelliauth-seed');
  await mkdir(dir, { recursive: true });
  const file = `${dir}/${name}.mjs`;
  await writeFile(file, outputText);
  return file;
}

async function startSeed(name) {
  const program = startNode(['--import', fromRoot('__tests__', 'support', 'loopback-listen.mjs'), await transpiled(name)], {
    env: {
      PATH: process.env.PATH,
      INTELLIAUTH_TENANT_URL: op.issuer,
      INTELLIAUTH_M2M_CLIENT_ID: op.clientId,
      INTELLIAUTH_M2M_CLIENT_SECRET: op.clientSecret,
      INTELLIAUTH_MANAGEMENT_API_BASE: `${managementUrl}/api/v1`,
    },
  });
  const [, url] = await program.waitFor((output) => /listening on (http:\/\/\S+)/.exec(output), { timeoutMs: 20_000, what: name });
  return { url, program };
}

const call = (url, token) => fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});

before(async () => {
  op = await startOidcProvider({
    audience: BANKING_INDICATOR,
    algs: ['RS256'],
    audienceOf: (indicator) => (indicator === BANKING_INDICATOR ? SEED_AUDIENCE : indicator),
  });
  management = createServer((req, res) => {
    managementCalls.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    res.setHeader('content-type', 'application/json');
    const user = /^\/api\/v1\/users\/([^/?]+)$/.exec(req.url);
    if (user) {
      res.end(JSON.stringify({ id: decodeURIComponent(user[1]), email: 'ada@example.com' }));
    } else if (req.url.startsWith('/api/v1/applications')) {
      res.end(JSON.stringify({ data: [{ id: 'app_1' }], limit: new URL(req.url, 'http://x').searchParams.get('limit') }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: 'not_found' }));
    }
  });
  managementUrl = await listen(management);
});

after(async () => {
  killChildren();
  await Promise.all([op?.close(), close(management)]);
});

describe("seed 004's programs, with only the import specifiers changed", () => {
  test('app-wide requireSession and the management client', { timeout: 60_000 }, async () => {
    // The test's own tokens first, so that the program's are counted alone.
    const token = await op.token({ resource: BANKING_INDICATOR });
    const otherAudience = await op.token({ resource: 'https://elsewhere.example' });
    const grantsBefore = tokenRequests();
    const { url } = await startSeed('seed-004');

    assert.equal((await call(`${url}/me`)).status, 401);
    const refused = await call(`${url}/me`, 'not-a-token');
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate'), /^Bearer/);
    // A token for another audience is refused too.
    assert.equal((await call(`${url}/me`, otherAudience)).status, 401);

    const me = await call(`${url}/me`, token);
    assert.equal(me.status, 200);
    assert.deepEqual(await me.json(), { sub: op.clientId });

    // The management calls at the program's end reached the stand-in with one M2M token.
    for (let i = 0; i < 100 && managementCalls.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(managementCalls.map((c) => `${c.method} ${c.url}`), [
      'GET /api/v1/users/usr_01HZX...',
      'GET /api/v1/applications?limit=50',
    ]);
    const [first, second] = managementCalls;
    assert.equal(first.authorization, second.authorization);
    const introspected = await introspect(first.authorization.replace(/^Bearer /, ''));
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, op.clientId);
    assert.equal(tokenRequests() - grantsBefore, 1, 'one client-credentials grant for both calls');
  });

  test('requireSession per route', { timeout: 60_000 }, async () => {
    const { url } = await startSeed('seed-004-per-route');
    const open = await call(`${url}/public`);
    assert.equal(open.status, 200);
    assert.equal(await open.text(), 'open to anyone');
    assert.equal((await call(`${url}/private`)).status, 401);
    const ok = await call(`${url}/private`, await op.token({ resource: BANKING_INDICATOR }));
    assert.equal(ok.status, 200);
    const { user } = await ok.json();
    assert.equal(user.sub, op.clientId);
    assert.equal(user.aud, SEED_AUDIENCE);
  });
});

describe('requireSession', () => {
  async function app(options) {
    const server = createServer(
      express()
        .use(requireSession({ tenantUrl: op.issuer, audience: SEED_AUDIENCE, ...options }))
        .get('/me', (req, res) => res.json(req.user)),
    );
    return { server, url: await listen(server) };
  }

  test('checkRevocation introspects every token: a revoked token is refused at once', async () => {
    const { server, url } = await app({ checkRevocation: true, clientId: op.clientId, clientSecret: op.clientSecret });
    try {
      const token = await op.token({ resource: BANKING_INDICATOR, format: 'opaque' });
      const introspections = () => op.requests.filter((r) => r.path === '/token/introspection').length;
      const before = introspections();
      assert.equal((await call(`${url}/me`, token)).status, 200);
      assert.equal((await call(`${url}/me`, token)).status, 200);
      assert.equal(introspections() - before, 2, 'no introspection answer is cached');
      await op.revoke(token);
      assert.equal((await call(`${url}/me`, token)).status, 401);
    } finally {
      await close(server);
    }
  });

  test('an opaque token without introspection configured is 401', async () => {
    const { server, url } = await app({});
    try {
      const token = await op.token({ resource: BANKING_INDICATOR, format: 'opaque' });
      assert.equal((await call(`${url}/me`, token)).status, 401);
    } finally {
      await close(server);
    }
  });

  test('a tenant that cannot be reached is 503, not 401', async () => {
    const probe = createServer();
    const dead = await listen(probe);
    await close(probe);
    const server = createServer(
      express()
        .use(requireSession({ tenantUrl: dead, audience: SEED_AUDIENCE }))
        .get('/me', (req, res) => res.json(req.user)),
    );
    const url = await listen(server);
    try {
      const response = await call(`${url}/me`, await op.token({ resource: BANKING_INDICATOR }));
      assert.equal(response.status, 503);
      assert.ok(response.headers.get('retry-after'));
      assert.equal((await response.json()).error, 'temporarily_unavailable');
    } finally {
      await close(server);
    }
  });

  test('the audience is any non-empty string; a bad configuration throws at once', () => {
    assert.throws(() => requireSession({ tenantUrl: op.issuer, audience: '' }), MonoCloudValidationError);
    assert.throws(() => requireSession({ tenantUrl: op.issuer }), MonoCloudValidationError);
    assert.throws(() => requireSession({ tenantUrl: op.issuer, audience: 'x', checkRevocation: true }), /clientId/);
    assert.equal(typeof requireSession({ tenantUrl: 'tenant.example', audience: 'plain words' }), 'function');
  });
});

describe('ManagementClient', () => {
  const options = () => ({
    tenantUrl: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret,
    managementApiBase: `${managementUrl}/api/v1/`,
  });

  test('the grant runs at construction; the first call waits for it', async () => {
    const before = tokenRequests();
    const mgmt = new ManagementClient(options());
    for (let i = 0; i < 100 && tokenRequests() === before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(tokenRequests() - before, 1, 'asked before any call');
    assert.deepEqual(await mgmt.users.get('usr 1'), { id: 'usr 1', email: 'ada@example.com' });
    assert.equal(managementCalls.at(-1).url, '/api/v1/users/usr%201');
    const response = await mgmt.fetch('/applications?limit=2');
    assert.deepEqual(await response.json(), { data: [{ id: 'app_1' }], limit: '2' });
    assert.equal(tokenRequests() - before, 1, 'the token is cached');
    await rejectsWith(mgmt.fetch('nothing-here').then(() => mgmt.users.get('')), MonoCloudValidationError);
    await rejectsWith(mgmt.fetch('https://elsewhere.example/steal'), MonoCloudValidationError);
    const missing = await rejectsWith(
      (async () => {
        const client = new ManagementClient({ ...options(), managementApiBase: `${managementUrl}/nowhere` });
        return client.users.get('u');
      })(),
      ManagementApiError,
    );
    assert.equal(missing.status, 404);
  });

  test('a failed grant surfaces on the first call and is retried on the next', async () => {
    let refuse = 1;
    op.provider.use(async (ctx, next) => {
      if (ctx.path === TOKEN_PATH && refuse > 0) {
        refuse -= 1;
        ctx.status = 401;
        ctx.body = { error: 'invalid_client', error_description: 'client authentication failed' };
        return;
      }
      await next();
    });
    const mgmt = new ManagementClient(options());
    const error = await rejectsWith(mgmt.users.get('u1'), MonoCloudOPError);
    assert.equal(error.error, 'invalid_client');
    assert.deepEqual(await mgmt.users.get('u1'), { id: 'u1', email: 'ada@example.com' });
  });

  test('managementApiBase is required, and must be a URL', () => {
    const { managementApiBase: _, ...rest } = options();
    const saved = process.env.INTELLIAUTH_MANAGEMENT_API_BASE;
    delete process.env.INTELLIAUTH_MANAGEMENT_API_BASE;
    try {
      assert.throws(() => new ManagementClient(rest), /managementApiBase/);
      assert.throws(() => new ManagementClient({ ...rest, managementApiBase: 'not a url' }), /managementApiBase/);
    } finally {
      if (saved !== undefined) process.env.INTELLIAUTH_MANAGEMENT_API_BASE = saved;
    }
  });
});
