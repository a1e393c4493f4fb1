// A user's Vitest suite: protectApi() on Express and Fastify with tokens from the test issuer,
// the clock moved with Vitest's and sinon's fake timers, and the client's methods spied on.
import { createRequire } from 'node:module';

import { MonoCloudBackendNodeClient, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import sinon from 'sinon';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';

const { startApps } = createRequire(import.meta.url)('../apps.cjs');

// Past a 300 s token's exp plus the default 60 s clock tolerance.
const LATER_MS = 10 * 60 * 1000;

let issuer;
let apps;

beforeAll(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  apps = await startApps(issuer.clientOptions);
});

afterAll(async () => {
  await apps?.close();
  await issuer?.close();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe.each(['express', 'fastify'])('%s', (framework) => {
  test('the first request with a valid token is 200', async () => {
    expect(await apps[framework](await issuer.mint())).toBe(200);
  });

  test('an expired token is 401', async () => {
    const token = await issuer.mint({ claims: { exp: Math.floor(Date.now() / 1000) - 3600 } });
    expect(await apps[framework](token)).toBe(401);
  });

  test('vi.useFakeTimers: past the token exp 401, back 200', async () => {
    const token = await issuer.mint({ expiresIn: 300 });
    const now = Date.now();
    // Servers need their own ticks: fake the clock only.
    vi.useFakeTimers({ toFake: ['Date'], now: now + LATER_MS });
    expect(await apps[framework](token)).toBe(401);
    vi.setSystemTime(now);
    expect(await apps[framework](token)).toBe(200);
  });

  test('sinon fake timers: past the token exp 401, back 200', async () => {
    const token = await issuer.mint({ expiresIn: 300 });
    const now = Date.now();
    const clock = sinon.useFakeTimers({ now: now + LATER_MS, toFake: ['Date'] });
    try {
      expect(await apps[framework](token)).toBe(401);
      clock.setSystemTime(now);
      expect(await apps[framework](token)).toBe(200);
    } finally {
      clock.restore();
    }
  });
});

test('a misconfigured client throws MonoCloudValidationError with the original message', () => {
  const construct = () => new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, clockSkew: -1 });
  expect(construct).toThrow(MonoCloudValidationError);
  expect(construct).toThrow(/^"clockSkew" must be greater than or equal to 0$/);
});

describe('spying on the client', () => {
  test('vi.spyOn(client, "validateJwtAccessToken") decides what validateAccessToken returns', async () => {
    const client = new MonoCloudBackendNodeClient(issuer.clientOptions);
    const spy = vi.spyOn(client, 'validateJwtAccessToken').mockResolvedValue({ sub: 'from-the-spy' });
    const token = await issuer.mint();
    await expect(client.validateAccessToken(token, { scopes: ['read:things'] })).resolves.toEqual({ sub: 'from-the-spy' });
    expect(spy).toHaveBeenCalledWith(token, {
      scopes: ['read:things'],
      groups: undefined,
      validateCertificateBinding: 'when_present',
      clientCertificate: undefined,
    });
  });

  test('vi.spyOn(client, "introspectAccessToken") decides what validateAccessToken returns', async () => {
    const client = new MonoCloudBackendNodeClient(issuer.clientOptions);
    const claims = { iss: issuer.url, aud: issuer.audience, sub: 'introspected-by-the-spy', scope: 'read:things' };
    const spy = vi.spyOn(client, 'introspectAccessToken').mockResolvedValue(claims);
    await expect(client.validateAccessToken('an-opaque-token', { scopes: ['read:things'] })).resolves.toBe(claims);
    expect(spy).toHaveBeenCalledWith('an-opaque-token');
  });
});
