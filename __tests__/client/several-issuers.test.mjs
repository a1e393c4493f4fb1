// One client trusting several issuers (`issuers`): a real oidc-provider, the test issuer and a
// scripted issuer that can fail, all on 127.0.0.1. The token's `iss` picks the issuer before
// anything is fetched; each issuer keeps its own discovery, keys and cached tokens.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';

import express from 'express';

import { MonoCloudBackendNodeClient, MonoCloudHttpError, MonoCloudTokenError, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import { protectApi } from '@monocloud/backend-node-rs/express';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { withEnv } from '../support/env.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';
import { answer, startScriptedIssuer } from '../support/scripted-issuer.mjs';

const AUDIENCE = 'https://api.example.com';

let provider; // a real authorization server
let tested; // the package's test issuer: counts its requests, rotates its keys
let signer; // signs for `scripted`, which serves its keys
let scripted; // can be made to fail
let stranger; // never listed: must never be asked anything

before(async () => {
  provider = await startOidcProvider({ audience: AUDIENCE, algs: ['RS256', 'ES256'] });
  tested = await createTestIssuer({ audience: AUDIENCE, algs: ['ES256'] });
  signer = await createTestIssuer({ audience: AUDIENCE, algs: ['RS256'] });
  scripted = await startScriptedIssuer({ jwks: () => signer.jwks });
  stranger = await createTestIssuer({ audience: AUDIENCE });
});

after(async () => {
  await provider?.close();
  await tested?.close();
  await signer?.close();
  await scripted?.close();
  await stranger?.close();
});

const listed = () => [provider.issuer, tested.url, scripted.url];
const client = (options = {}) => new MonoCloudBackendNodeClient({ issuers: listed(), audience: AUDIENCE, ...options });
const fromScripted = (claims = {}) => signer.mint({ claims: { iss: scripted.url, ...claims } });
const strangerAsked = () => Object.values(stranger.requests).reduce((a, b) => a + b, 0);

test("each listed issuer's tokens pass on its own keys", async () => {
  const c = client();
  assert.equal((await c.validateAccessToken(await provider.token({ alg: 'ES256' }))).iss, provider.issuer);
  assert.equal((await c.validateAccessToken(await tested.mint())).iss, tested.url);
  assert.equal((await c.validateAccessToken(await fromScripted())).iss, scripted.url);
  // The token may spell its issuer with a trailing slash; the check is on its own spelling.
  assert.equal((await c.validateAccessToken(await tested.mint({ claims: { iss: `${tested.url}/` } }))).iss, `${tested.url}/`);
  // One issuer's key cannot sign for another: it is looked up in the named issuer's set.
  await assert.rejects(c.validateAccessToken(await signer.mint({ claims: { iss: tested.url } })), MonoCloudTokenError);
});

test('an unlisted issuer is refused with no request to anyone, however many tokens name one', async () => {
  const c = client();
  await c.validateAccessToken(await tested.mint()); // warm
  stranger.resetCounters();
  tested.resetCounters();
  scripted.clearCounts();
  const providerRequests = provider.requests.length;
  const tokens = [await stranger.mint()];
  for (let i = 0; i < 50; i += 1) tokens.push(await stranger.mint({ claims: { iss: `${stranger.url}/tenant-${i}` } }));
  tokens.push(await stranger.mint({ claims: { iss: undefined } }));
  for (const token of tokens) {
    await assert.rejects(c.validateAccessToken(token), (error) => error instanceof MonoCloudTokenError && error.message === 'Invalid Issuer');
  }
  assert.equal(strangerAsked(), 0);
  assert.equal(tested.requests.discovery + tested.requests.jwks, 0);
  assert.equal(scripted.requests.length, 0);
  assert.equal(provider.requests.length, providerRequests);
});

test("a key rotation at one issuer leaves the other's cached tokens valid", async () => {
  const events = [];
  const c = client({ onEvent: (event) => events.push(event) });
  const fromTested = await tested.mint();
  const fromOther = await fromScripted();
  await c.validateAccessToken(fromTested);
  await c.validateAccessToken(fromOther);
  // Events are delivered after the calls they describe: wait (bounded) for `count` of them.
  const hits = async (count) => {
    const counted = () => events.filter((e) => e.type === 'cache_hit' && e.cache === 'token').length;
    for (let i = 0; i < 100 && counted() < count; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 20));
    return counted();
  };
  const before = await hits(0);
  await c.validateAccessToken(fromTested);
  await c.validateAccessToken(fromOther);
  assert.equal(await hits(before + 2), before + 2, 'both served from the verified-token cache');

  // The tested issuer rotates (dropping its old key): its new token names an unknown kid, so
  // its key set is fetched again, and that set's generation retires only its own entries.
  tested.rotateKeys();
  tested.resetCounters();
  scripted.clearCounts();
  await c.validateAccessToken(await tested.mint());
  assert.equal(tested.requests.jwks, 1);
  await assert.rejects(c.validateAccessToken(fromTested), MonoCloudTokenError, 'its old key is gone');
  const beforeOther = await hits(0);
  assert.equal((await c.validateAccessToken(fromOther)).iss, scripted.url);
  assert.equal(await hits(beforeOther + 1), beforeOther + 1, "the other issuer's token is still a cache hit");
  assert.equal(scripted.requests.length, 0, 'and its issuer was not asked anything');
});

test('an issuer that is down fails its own tokens (503) while the others keep serving', async () => {
  const app = express();
  app.get('/api', protectApi({ issuers: listed(), audience: AUDIENCE, staleIfErrorDuration: 0, responseTimeout: 1000, warnings: false })(), (req, res) =>
    res.json({ iss: req.claims.iss }),
  );
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${server.address().port}/api`;
  const call = async (token) => {
    const response = await fetch(base, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: await response.json() };
  };
  try {
    scripted.on('*', answer(500, '{}'));
    const down = await call(await fromScripted());
    assert.equal(down.status, 503);
    assert.deepEqual(await call(await tested.mint()), { status: 200, body: { iss: tested.url } });
    assert.deepEqual(await call(await provider.token()), { status: 200, body: { iss: provider.issuer } });
    assert.equal((await call(await stranger.mint())).status, 401);
    scripted.heal();
    assert.deepEqual(await call(await fromScripted()), { status: 200, body: { iss: scripted.url } });
  } finally {
    scripted.heal();
    server.close();
    server.closeAllConnections();
  }
  // The client's own answer for the same fault.
  scripted.on('*', answer(500, '{}'));
  try {
    await assert.rejects(client({ staleIfErrorDuration: 0 }).validateAccessToken(await fromScripted()), MonoCloudHttpError);
  } finally {
    scripted.heal();
  }
});

test('resolvers are given the issuer they are asked for', async () => {
  const asked = [];
  const c = client({
    jwksResolver: (issuer) => {
      asked.push(issuer);
      return issuer === tested.url ? tested.jwks : signer.jwks;
    },
  });
  await c.validateAccessToken(await tested.mint());
  await c.validateAccessToken(await fromScripted());
  assert.deepEqual(asked, [tested.url, scripted.url]);
});

test('configuration: the environment form, and the options that name one issuer', async () => {
  await withEnv({ MONOCLOUD_BACKEND_ISSUERS: ` ${tested.url}  ${scripted.url} `, MONOCLOUD_BACKEND_AUDIENCE: AUDIENCE }, async () => {
    const c = new MonoCloudBackendNodeClient();
    assert.equal((await c.validateAccessToken(await fromScripted())).iss, scripted.url);
    // getMetadata() describes the first listed issuer.
    assert.equal((await c.getMetadata()).issuer, tested.url);
  });
  const refused = (options, pattern) =>
    assert.throws(() => client(options), (error) => error instanceof MonoCloudValidationError && pattern.test(error.message));
  refused({ tenantDomain: tested.url }, /tenantDomain/);
  refused({ clientId: 'api' }, /validates JWTs only/);
  refused({ introspectJwtTokens: true }, /validates JWTs only/);
  refused({ issuer: `${tested.url}/` }, /"issuer"/);
  refused({ hmacSecret: 'a-secret-of-enough-length-0123456789', hmacAlg: 'HS256' }, /"hmacSecret"/);
  refused({ issuers: [] }, /at least one/);
  refused({ issuers: ['http://issuer.example.com'] }, /https/);
  // Code wins over the environment: a tenant there (the token client's, say) neither breaks
  // nor widens a list given in code, and its client id is not used for introspection.
  await withEnv({ MONOCLOUD_BACKEND_TENANT_DOMAIN: provider.issuer, MONOCLOUD_BACKEND_CLIENT_ID: 'outbound' }, async () => {
    const c = new MonoCloudBackendNodeClient({ issuers: [tested.url], audience: AUDIENCE });
    assert.equal((await c.validateAccessToken(await tested.mint())).iss, tested.url);
    await assert.rejects(c.validateAccessToken(await provider.token()), (error) => error instanceof MonoCloudTokenError && error.message === 'Invalid Issuer');
  });
  // Both in the environment are the conflict.
  await withEnv({ MONOCLOUD_BACKEND_TENANT_DOMAIN: tested.url, MONOCLOUD_BACKEND_ISSUERS: scripted.url, MONOCLOUD_BACKEND_AUDIENCE: AUDIENCE }, () =>
    assert.throws(() => new MonoCloudBackendNodeClient(), MonoCloudValidationError),
  );
});
