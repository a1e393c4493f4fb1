// The test issuer as an OAuth authorization server: RFC 8414 metadata and the client
// credentials grant with RFC 8707 resource indicators, so a protected resource can be tested
// end to end without a tenant.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { MonoCloudBackendNodeClient, MonoCloudTokenError } from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { rejectsWith } from '../support/rejects.mjs';

const RESOURCE = 'https://api.example.com/mcp';
let issuer;

before(async () => {
  issuer = await createTestIssuer();
});

after(() => issuer?.close());

const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function token(body, authorization = basic('test-client', 'test-secret')) {
  const res = await fetch(`${issuer.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
    body: new URLSearchParams(body),
  });
  return { status: res.status, cacheControl: res.headers.get('cache-control'), body: await res.json() };
}

test('RFC 8414 metadata names the token endpoint and the grant', async () => {
  const res = await fetch(`${issuer.url}/.well-known/oauth-authorization-server`);
  assert.equal(res.status, 200);
  const metadata = await res.json();
  assert.equal(metadata.issuer, issuer.url);
  assert.equal(metadata.token_endpoint, `${issuer.url}/token`);
  assert.deepEqual(metadata.grant_types_supported, ['client_credentials']);
  const discovery = await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json();
  assert.deepEqual(discovery, metadata);
});

test('client credentials with a resource: the token is for that resource only', async () => {
  const answer = await token({ grant_type: 'client_credentials', resource: RESOURCE, scope: 'read:things write:things' });
  assert.equal(answer.status, 200);
  assert.equal(answer.cacheControl, 'no-store');
  assert.equal(answer.body.token_type, 'Bearer');
  assert.equal(answer.body.expires_in, 300);
  assert.equal(answer.body.scope, 'read:things write:things');
  const resourceClient = new MonoCloudBackendNodeClient({
    tenantDomain: issuer.url,
    audience: RESOURCE,
    protectedResource: { resource: RESOURCE },
  });
  const claims = await resourceClient.validateAccessToken(answer.body.access_token);
  assert.equal(claims.aud, RESOURCE);
  assert.equal(claims.client_id, 'test-client');

  const other = await token({ grant_type: 'client_credentials', resource: 'https://other.example.com/mcp' });
  await rejectsWith(resourceClient.validateAccessToken(other.body.access_token), MonoCloudTokenError, (e) => assert.equal(e.code, 'invalid_token'));

  // Without a resource, the issuer's audience.
  const plain = await token({ grant_type: 'client_credentials' });
  const plainClaims = await new MonoCloudBackendNodeClient(issuer.clientOptions).validateAccessToken(plain.body.access_token);
  assert.equal(plainClaims.aud, issuer.audience);
  assert.equal(issuer.requests.token, 3);
});

test('refusals: client authentication, grant type, resource', async () => {
  assert.equal((await token({ grant_type: 'client_credentials' }, basic('test-client', 'wrong'))).status, 401);
  const grant = await token({ grant_type: 'password' });
  assert.deepEqual([grant.status, grant.body.error], [400, 'unsupported_grant_type']);
  for (const resource of ['not a uri', 'https://api.example.com/mcp#x']) {
    const bad = await token({ grant_type: 'client_credentials', resource });
    assert.deepEqual([bad.status, bad.body.error], [400, 'invalid_target'], resource);
  }
});
