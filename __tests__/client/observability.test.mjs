// onEvent reports rejections, cache use and issuer trouble without ever carrying a token; when
// the issuer fails, the last good key set keeps serving for staleIfErrorDuration.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { MonoCloudBackendNodeClient, MonoCloudHttpError, MonoCloudTokenError } from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { answer, startScriptedIssuer } from '../support/scripted-issuer.mjs';

let issuer;
let proxy;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  // The test issuer's documents under an origin of ours, so that a test can take it down.
  proxy = await startScriptedIssuer({ jwks: () => issuer.jwks });
});

after(async () => {
  await issuer?.close();
  await proxy?.close();
});

const flush = () => sleep(50);

describe('onEvent', () => {
  test('reports fetches, cache use and rejections, never the token', async () => {
    const events = [];
    const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, onEvent: (e) => events.push(e) });
    const token = await issuer.mint({ claims: { scope: 'read' } });
    await client.validateAccessToken(token);
    await client.validateAccessToken(token);
    await assert.rejects(client.validateAccessToken(token, { scopes: ['write'] }));
    await assert.rejects(client.validateAccessToken(`${token.slice(0, -4)}AAAA`));
    await flush();
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 4), ['metadata_fetched', 'jwks_fetched', 'cache_miss', 'cache_hit']);
    assert.deepEqual(events[2], { type: 'cache_miss', cache: 'token' });
    assert.deepEqual(events[1], { type: 'jwks_fetched', keys: 1 });
    const rejections = events.filter((e) => e.type === 'token_rejected');
    assert.deepEqual(rejections[0], { type: 'token_rejected', error: 'MonoCloudTokenError', code: 'insufficient_scope', message: 'Token is missing required scopes' });
    assert.deepEqual(rejections[1], { type: 'token_rejected', error: 'MonoCloudTokenError', code: 'invalid_token', message: 'JWT signature verification failed' });
    const text = JSON.stringify(events);
    assert.ok(!text.includes(token.split('.')[1]) && !text.includes(token.split('.')[2]), 'no part of a token is reported');
  });

  test('introspection cache use and issuer errors', async () => {
    const events = [];
    const client = new MonoCloudBackendNodeClient({
      tenantDomain: issuer.url,
      audience: issuer.audience,
      clientId: 'test-client',
      clientSecret: 'wrong',
      // The built-in introspection cache is opt-in; its use is what this test reports.
      introspectionCacheMaxEntries: 100,
      onEvent: (e) => events.push(e),
    });
    await assert.rejects(client.validateAccessToken(issuer.mintOpaque()));
    await flush();
    assert.ok(events.some((e) => e.type === 'cache_miss' && e.cache === 'introspection'));
    const failure = events.find((e) => e.type === 'issuer_error');
    assert.deepEqual(failure, { type: 'issuer_error', resource: 'introspection', error: 'MonoCloudOPError', message: 'invalid_client', status: 401 });
    assert.ok(!JSON.stringify(events).includes('wrong'), 'no secret is reported');
  });

  test('a hook that throws does not disturb validation', async () => {
    const warnings = [];
    const onWarning = (w) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, onEvent: () => { throw new Error('metrics down'); } });
      const claims = await client.validateAccessToken(await issuer.mint());
      assert.equal(claims.sub, 'test-user');
      await flush();
      assert.ok(warnings.some((w) => w.includes('metrics down')));
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('stale-if-error', () => {
  const client = (extra) =>
    new MonoCloudBackendNodeClient({ tenantDomain: proxy.url, audience: issuer.audience, jwksCacheDuration: 1, metadataCacheDuration: 1, ...extra });
  const token = () => issuer.mint({ claims: { iss: proxy.url } });

  test('the last good key set keeps serving while the issuer is down, and says so', async () => {
    const events = [];
    const resilient = client({ staleIfErrorDuration: 60, onEvent: (e) => events.push(e) });
    await resilient.validateAccessToken(await token());
    proxy.on('*', answer(503, ''));
    try {
      await sleep(1100);
      proxy.clearCounts();
      for (let i = 0; i < 5; i++) await resilient.validateAccessToken(await token());
      assert.ok(proxy.requests.length <= 2, `the dead issuer was asked ${proxy.requests.length} times`);
      await flush();
      assert.ok(events.some((e) => e.type === 'issuer_error' && e.status === 503));
      const stale = events.find((e) => e.type === 'stale_served');
      assert.equal(stale.resource, 'metadata');
      assert.ok(stale.staleForSeconds >= 0 && stale.staleForSeconds < 5);
    } finally {
      proxy.heal();
    }
  });

  test('with staleIfErrorDuration 0 an outage fails validation', async () => {
    const strict = client({ staleIfErrorDuration: 0 });
    await strict.validateAccessToken(await token());
    proxy.on('*', answer(503, ''));
    try {
      await sleep(1100);
      await assert.rejects(strict.validateAccessToken(await token()), (e) => e instanceof MonoCloudHttpError && e.status === 503);
    } finally {
      proxy.heal();
    }
    await strict.validateAccessToken(await token());
  });

  test('a forged token is still refused while serving stale keys', async () => {
    const resilient = client({ staleIfErrorDuration: 60 });
    await resilient.validateAccessToken(await token());
    proxy.on('*', answer(503, ''));
    try {
      await sleep(1100);
      const forged = `${(await token()).slice(0, -4)}AAAA`;
      await assert.rejects(resilient.validateAccessToken(forged), (e) => e instanceof MonoCloudTokenError);
    } finally {
      proxy.heal();
    }
  });
});
