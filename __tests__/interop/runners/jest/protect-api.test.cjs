// A user's Jest suite, in Jest's default `node` environment: protectApi() on Express and Fastify
// with tokens from the test issuer, the clock moved with Jest's and sinon's fake timers, and the
// client's methods spied on.
const sinon = require('sinon');
const { MonoCloudBackendNodeClient, MonoCloudValidationError } = require('@monocloud/backend-node-rs');
const { createTestIssuer } = require('@monocloud/backend-node-rs/testing');

const { startApps } = require('../apps.cjs');

// Servers need their own ticks: fake the clock and the timers, not nextTick or setImmediate.
const FAKE = { doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] };
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
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe.each(['express', 'fastify'])('%s', (framework) => {
  test('the first request with a valid token is 200', async () => {
    expect(await apps[framework](await issuer.mint())).toBe(200);
  });

  test('an expired token is 401', async () => {
    const token = await issuer.mint({ claims: { exp: Math.floor(Date.now() / 1000) - 3600 } });
    expect(await apps[framework](token)).toBe(401);
  });

  test('jest.useFakeTimers: past the token exp 401, back 200', async () => {
    const token = await issuer.mint({ expiresIn: 300 });
    const now = Date.now();
    jest.useFakeTimers({ ...FAKE, now: now + LATER_MS });
    expect(await apps[framework](token)).toBe(401);
    jest.setSystemTime(now);
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
  test('jest.spyOn(client, "validateJwtAccessToken") decides what validateAccessToken returns', async () => {
    const client = new MonoCloudBackendNodeClient(issuer.clientOptions);
    const spy = jest.spyOn(client, 'validateJwtAccessToken').mockResolvedValue({ sub: 'from-the-spy' });
    const token = await issuer.mint();
    await expect(client.validateAccessToken(token, { scopes: ['read:things'] })).resolves.toEqual({ sub: 'from-the-spy' });
    expect(spy).toHaveBeenCalledWith(token, {
      scopes: ['read:things'],
      groups: undefined,
      validateCertificateBinding: 'when_present',
      clientCertificate: undefined,
    });
  });

  test('jest.spyOn(client, "introspectAccessToken") decides what validateAccessToken returns', async () => {
    const client = new MonoCloudBackendNodeClient(issuer.clientOptions);
    const claims = { iss: issuer.url, aud: issuer.audience, sub: 'introspected-by-the-spy', scope: 'read:things' };
    const spy = jest.spyOn(client, 'introspectAccessToken').mockResolvedValue(claims);
    await expect(client.validateAccessToken('an-opaque-token', { scopes: ['read:things'] })).resolves.toBe(claims);
    expect(spy).toHaveBeenCalledWith('an-opaque-token');
  });
});
