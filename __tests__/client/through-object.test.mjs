// validateAccessToken through the object (contract §5): a subclass, an instance override or a
// spy of validateJwtAccessToken or introspectAccessToken decides what validateAccessToken
// returns, called with the original's arguments, with the introspection cache around it and the
// claim checks after it; a plain client keeps its one native call.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import sinon from 'sinon';

import { MonoCloudBackendNodeClient, MonoCloudTokenError, MonoCloudValidationError } from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { now } from '../support/clock.mjs';
import { rejectsWith } from '../support/rejects.mjs';

let issuer;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
});

after(async () => {
  await issuer?.close();
});

const options = (extra = {}) => ({ ...issuer.clientOptions, ...extra });
const introspected = (extra = {}) => ({ iss: issuer.url, aud: issuer.audience, sub: 'from-the-override', scope: 'read:things', ...extra });

/** A cache adapter that records its calls. */
function recordingCache() {
  const entries = new Map();
  const calls = [];
  return {
    calls,
    entries,
    async get(key) {
      calls.push(['get', key]);
      return entries.get(key);
    },
    async set(key, value, expiresAt) {
      calls.push(['set', key, value, expiresAt]);
      entries.set(key, value);
    },
    async delete() {},
  };
}

describe('validateJwtAccessToken replaced', () => {
  test('by a subclass: its answer is the answer, called with the four keys of the original', async () => {
    const calls = [];
    class Subclass extends MonoCloudBackendNodeClient {
      async validateJwtAccessToken(...args) {
        calls.push(args);
        return { sub: 'from-the-subclass' };
      }
    }
    const client = new Subclass(options({ validateCertificateBinding: 'required' }));
    const token = await issuer.mint();
    const claims = await client.validateAccessToken(token, { scopes: ['a'], groups: ['g'], clientCertificate: 'CERT' });
    assert.deepEqual(claims, { sub: 'from-the-subclass' });
    assert.equal(calls.length, 1);
    assert.equal(calls[0].length, 2);
    assert.equal(calls[0][0], token);
    assert.deepEqual(Object.keys(calls[0][1]), ['scopes', 'groups', 'validateCertificateBinding', 'clientCertificate']);
    assert.deepEqual(calls[0][1], { scopes: ['a'], groups: ['g'], validateCertificateBinding: 'required', clientCertificate: 'CERT' });
  });

  test('on the instance (as vi.spyOn does): its answer is the answer, and it can call the original', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    const original = client.validateJwtAccessToken;
    const seen = [];
    client.validateJwtAccessToken = async function (token, callOptions) {
      seen.push(callOptions);
      const claims = await original.call(this, token, callOptions);
      return { ...claims, spied: true };
    };
    const claims = await client.validateAccessToken(await issuer.mint({ claims: { sub: 'alice' } }));
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.spied, true);
    assert.deepEqual(seen, [{ scopes: undefined, groups: undefined, validateCertificateBinding: 'when_present', clientCertificate: undefined }]);
  });

  test('its rejection is the rejection, unchanged', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    const thrown = new Error('from the override');
    client.validateJwtAccessToken = async () => {
      throw thrown;
    };
    await assert.rejects(client.validateAccessToken(await issuer.mint()), (error) => error === thrown);
  });

  test('an opaque token still goes to introspection, not to the override', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    let called = false;
    client.validateJwtAccessToken = async () => {
      called = true;
      return {};
    };
    client.introspectAccessToken = async () => introspected();
    assert.equal((await client.validateAccessToken('opaque')).sub, 'from-the-override');
    assert.equal(called, false);
  });

  test('a blank token is refused before any method is called', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    client.validateJwtAccessToken = async () => assert.fail('called');
    await rejectsWith(client.validateAccessToken('  '), MonoCloudValidationError, {
      message: 'Access token must be a valid non-empty string',
    });
    await rejectsWith(client.validateAccessToken(42), MonoCloudValidationError);
  });
});

describe('introspectAccessToken replaced', () => {
  test('by a subclass: called with the token only, its claims are the answer', async () => {
    const calls = [];
    class Subclass extends MonoCloudBackendNodeClient {
      async introspectAccessToken(...args) {
        calls.push(args);
        return introspected({ extra: 1 });
      }
    }
    const client = new Subclass(options());
    const claims = await client.validateAccessToken('opaque-token', { scopes: ['read:things'] });
    assert.deepEqual(claims, introspected({ extra: 1 }));
    assert.deepEqual(calls, [['opaque-token']]);
  });

  test('on the instance: the very object it returns comes back', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    const answer = introspected();
    client.introspectAccessToken = async () => answer;
    assert.equal(await client.validateAccessToken('opaque-token'), answer);
  });

  test('a sinon stub on the instance: its claims are the answer, and restoring it restores ours', async () => {
    const client = new MonoCloudBackendNodeClient(options({ introspectionCacheDuration: 0 }));
    const stub = sinon.stub(client, 'introspectAccessToken').resolves(introspected({ sub: 'stubbed' }));
    try {
      assert.equal((await client.validateAccessToken('opaque-token')).sub, 'stubbed');
      assert.deepEqual(stub.firstCall.args, ['opaque-token']);
    } finally {
      stub.restore();
    }
    const token = await issuer.mint({ claims: { sub: 'real' } });
    assert.equal((await client.validateAccessToken(token)).sub, 'real');
  });

  test('with introspectJwtTokens, a JWT goes to it too', async () => {
    const client = new MonoCloudBackendNodeClient(options({ introspectJwtTokens: true }));
    const tokens = [];
    client.introspectAccessToken = async (token) => {
      tokens.push(token);
      return introspected();
    };
    const token = await issuer.mint();
    await client.validateAccessToken(token);
    assert.deepEqual(tokens, [token]);
  });

  test('its claims are checked after it: scopes, groups, issuer, audience, expiry', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    let answer = introspected({ groups: ['admins'] });
    client.introspectAccessToken = async () => answer;
    await rejectsWith(client.validateAccessToken('t', { scopes: ['write:things'] }), MonoCloudTokenError, { code: 'insufficient_scope' });
    await rejectsWith(client.validateAccessToken('t', { groups: ['users'] }), MonoCloudTokenError, { code: 'insufficient_groups' });
    assert.equal((await client.validateAccessToken('t', { groups: ['admins'] })).sub, 'from-the-override');
    answer = introspected({ iss: 'https://elsewhere.example.com' });
    await rejectsWith(client.validateAccessToken('t'), MonoCloudTokenError, { message: 'Invalid Issuer' });
    answer = introspected({ aud: 'https://other.example.com' });
    await rejectsWith(client.validateAccessToken('t'), MonoCloudTokenError, { message: 'Invalid audience claim' });
    answer = introspected({ exp: now() - 3600 });
    await rejectsWith(client.validateAccessToken('t'), MonoCloudTokenError, { code: 'invalid_token' });
  });

  test("the client's certificate binding applies to its claims", async () => {
    const client = new MonoCloudBackendNodeClient(options({ validateCertificateBinding: 'required' }));
    client.introspectAccessToken = async () => introspected();
    await rejectsWith(client.validateAccessToken('t'), MonoCloudTokenError, { message: 'Client certificate is not present' });
  });

  test('what it throws is rethrown unchanged', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    const thrown = new TypeError('from the override');
    client.introspectAccessToken = async () => {
      throw thrown;
    };
    await assert.rejects(client.validateAccessToken('t'), (error) => error === thrown);
  });

  test('an answer that is not an object is a typed error', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    client.introspectAccessToken = async () => undefined;
    await rejectsWith(client.validateAccessToken('t'), MonoCloudValidationError, { message: /introspectAccessToken/ });
  });

  test('without a client id it is not called: introspection is not configured', async () => {
    const client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
    client.introspectAccessToken = async () => assert.fail('called');
    await rejectsWith(client.validateAccessToken('opaque'), MonoCloudValidationError, { message: 'Token introspection is not configured' });
  });

  test('the cache is read first and written after it, and a hit does not call it', async () => {
    const cache = recordingCache();
    const client = new MonoCloudBackendNodeClient(options({ cache }));
    let calls = 0;
    client.introspectAccessToken = async () => {
      calls += 1;
      return introspected({ exp: now() + 120 });
    };
    // A refusal for scopes still leaves the entry (contract §5.3.8).
    await rejectsWith(client.validateAccessToken('cached-token', { scopes: ['write:things'] }), MonoCloudTokenError, {
      code: 'insufficient_scope',
    });
    assert.deepEqual(
      cache.calls.map(([kind, key]) => [kind, key]),
      [
        ['get', 'cached-token'],
        ['set', 'cached-token'],
      ],
    );
    assert.equal(cache.calls[1][3], cache.calls[1][2].exp);
    const claims = await client.validateAccessToken('cached-token');
    assert.equal(claims.sub, 'from-the-override');
    assert.equal(calls, 1);
  });

  test('an inactive_token error is remembered by the cache and rethrown unchanged', async () => {
    const cache = recordingCache();
    const client = new MonoCloudBackendNodeClient(options({ cache }));
    const thrown = new MonoCloudTokenError('revoked, says the override', 'inactive_token');
    let calls = 0;
    client.introspectAccessToken = async () => {
      calls += 1;
      throw thrown;
    };
    await assert.rejects(client.validateAccessToken('revoked'), (error) => error === thrown);
    const [, , entry] = cache.calls.find(([kind]) => kind === 'set');
    assert.equal(entry.active, false);
    await rejectsWith(client.validateAccessToken('revoked'), MonoCloudTokenError, {
      code: 'inactive_token',
      message: 'Token is not active. A cached introspection result reported active=false',
    });
    assert.equal(calls, 1);
  });
});

describe('a plain client', () => {
  test('validates without its methods being called through the object', async () => {
    const client = new MonoCloudBackendNodeClient(options());
    assert.equal(Object.hasOwn(client, 'validateJwtAccessToken'), false);
    const claims = await client.validateAccessToken(await issuer.mint({ claims: { sub: 'plain' } }));
    assert.equal(claims.sub, 'plain');
  });
});
