// Seed 003 (Auth0's guide for express-oauth2-jwt-bearer): its complete example program, with only
// the import specifier changed (examples/jwt-bearer/seed-003-server.cjs), runs against a local
// issuer behind https (the program builds `https://${AUTH0_DOMAIN}`), and answers every route
// as the same program on the real express-oauth2-jwt-bearer does.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { after, before, describe, test } from 'node:test';

import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { makeTestCertificates } from '../support/certificates.mjs';
import { killChildren, startNode } from '../support/child.mjs';
import { fromRoot } from '../support/paths.mjs';

const AUDIENCE = 'https://api.example.com';

let issuer;
let proxy;
let certificates;
const programs = {};

/** TLS in front of the test issuer, so that the seed's `https://` issuer URL is reachable. */
async function startTlsProxy(target) {
  const upstream = new URL(target);
  const server = createHttpsServer({ cert: certificates.server.cert, key: certificates.server.key }, (req, res) => {
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** The seed program with the given specifier, beside the package so that both resolve. */
async function programWith(specifier, name) {
  const source = await readFile(fromRoot('examples', 'jwt-bearer', 'seed-003-server.cjs'), 'utf8');
  const dir = fromRoot('target', 'jwt-bearer-seed');
  await mkdir(dir, { recursive: true });
  const file = `${dir}/${name}.cjs`;
  await writeFile(file, source.replace("require('@monocloud/backend-node-rs/jwt-bearer')", `require('${specifier}')`));
  return file;
}

async function start(file, what) {
  const program = startNode(['--import', fromRoot('__tests__', 'support', 'loopback-listen.mjs'), file], {
    env: {
      PATH: process.env.PATH,
      AUTH0_DOMAIN: `127.0.0.1:${proxy.address().port}`,
      AUTH0_AUDIENCE: AUDIENCE,
      // The program's issuer is served with a certificate of the test CA.
      NODE_EXTRA_CA_CERTS: certificates.ca.certPath,
    },
  });
  const [, url] = await program.waitFor((output) => /listening on (http:\/\/\S+)/.exec(output), { timeoutMs: 20_000, what });
  return { url, program };
}

async function get(url, token) {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.json() };
}

before(async () => {
  certificates = makeTestCertificates();
  issuer = await createTestIssuer({ audience: AUDIENCE, algs: ['RS256'] });
  proxy = await startTlsProxy(issuer.url);
  // The issuer's discovery names its own (http) URL as `issuer` and `jwks_uri`; both libraries
  // take the `iss` to expect from there, so the minted tokens carry it.
  programs.ours = await start(fromRoot('examples', 'jwt-bearer', 'seed-003-server.cjs'), 'the seed on this package');
  programs.original = await start(await programWith('express-oauth2-jwt-bearer', 'seed-003-original'), 'the seed on the original');
});

after(async () => {
  killChildren();
  proxy?.closeAllConnections();
  proxy?.close();
  await issuer?.close();
});

describe('seed 003, the complete example, with one import changed', () => {
  const routes = async () => [
    ['public', '/api/public'],
    ['health', '/health'],
    ['private without a token', '/api/private'],
    ['private with a token', '/api/private', await issuer.mint()],
    ['private with an expired token', '/api/private', await issuer.mint({ expiresIn: -60 })],
    ['private with another audience', '/api/private', await issuer.mint({ claims: { aud: 'https://other.example' } })],
    ['messages without read:messages', '/api/messages', await issuer.mint()],
    ['messages with read:messages', '/api/messages', await issuer.mint({ claims: { scope: 'read:messages' } })],
    ['admin with the scope but not the role', '/api/admin', await issuer.mint({ claims: { scope: 'admin:access', role: 'user' } })],
    ['admin with the scope and the role', '/api/admin', await issuer.mint({ claims: { scope: 'admin:access', role: 'admin' } })],
  ];

  test('every route answers as on express-oauth2-jwt-bearer', async () => {
    for (const [label, path, token] of await routes()) {
      const mine = await get(`${programs.ours.url}${path}`, token);
      const theirs = await get(`${programs.original.url}${path}`, token);
      assert.equal(mine.status, theirs.status, `${label}: status`);
      assert.deepEqual(mine.body, theirs.body, `${label}: body`);
      // Deliberate difference: our DPoP challenge leaves out ES256K, which no key here verifies.
      assert.equal(mine.challenge, theirs.challenge?.replace(' ES256K', '') ?? null, `${label}: WWW-Authenticate`);
    }
  });

  test("the guide's checkpoints: public 200, private without a token 401 from the seed's error handler", async () => {
    assert.equal((await get(`${programs.ours.url}/api/public`)).status, 200);
    const refused = await get(`${programs.ours.url}/api/private`);
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.body, { error: 'unauthorized', message: 'Authentication required' });
    assert.match(refused.challenge, /^Bearer realm="api"/);
    const granted = await get(`${programs.ours.url}/api/private`, await issuer.mint({ claims: { sub: 'auth0|abc123' } }));
    assert.deepEqual(granted.body, { message: 'Private endpoint', user: 'auth0|abc123' });
    const scope = await get(`${programs.ours.url}/api/messages`, await issuer.mint());
    assert.deepEqual({ status: scope.status, body: scope.body }, {
      status: 403,
      body: { error: 'insufficient_scope', message: 'Missing required permissions' },
    });
  });
});
