// MonoCloudBackendNodeClient against the project's own test issuer: every way a JWT can be
// wrong gets the contract's class, code and message.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  MonoCloudAuthBaseError,
  MonoCloudBackendNodeClient,
  MonoCloudHttpError,
  MonoCloudOidcBackendClient,
  MonoCloudOPError,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { now } from '../support/clock.mjs';
import { b64url } from '../support/forge.mjs';
import { rejectsWith } from '../support/rejects.mjs';


let issuer;
let other;
let client;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256', 'RS256', 'PS256', 'ES384', 'ES512', 'EdDSA'] });
  other = await createTestIssuer({ algs: ['ES256'] });
  client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
});

after(async () => {
  await issuer?.close();
  await other?.close();
});

describe('valid tokens', () => {
  for (const alg of ['ES256', 'RS256', 'PS256', 'ES384', 'ES512', 'EdDSA']) {
    test(`${alg} validates and returns every claim`, async () => {
      const token = await issuer.mint({ alg, claims: { custom: { nested: [1, 'two'] } } });
      const claims = await client.validateAccessToken(token);
      assert.equal(claims.iss, issuer.url);
      assert.equal(claims.sub, 'test-user');
      assert.deepEqual(claims.custom, { nested: [1, 'two'] });
      assert.equal(Object.getPrototypeOf(claims), Object.prototype, 'claims are a plain object');
    });
  }

  test('typ JWT and at+jwt are both accepted', async () => {
    await client.validateAccessToken(await issuer.mint({ header: { typ: 'JWT' } }));
    await client.validateAccessToken(await issuer.mint({ header: { typ: 'at+jwt' } }));
  });

  test('non-ASCII claims come back as UTF-8', async () => {
    const token = await issuer.mint({ claims: { name: 'Zoë Ångström', city: '東京', emoji: '🔐' } });
    const claims = await client.validateAccessToken(token);
    assert.equal(claims.name, 'Zoë Ångström');
    assert.equal(claims.city, '東京');
    assert.equal(claims.emoji, '🔐');
  });

  test('an audience array containing ours is accepted', async () => {
    await client.validateAccessToken(await issuer.mint({ claims: { aud: ['https://other', issuer.audience] } }));
  });

  test('a token within the clock tolerance of exp is accepted', async () => {
    await client.validateAccessToken(await issuer.mint({ claims: { exp: now() - 30 } }));
  });
});

describe('invalid tokens', () => {
  const cases = [
    ['expired', () => issuer.mint({ claims: { exp: now() - 120 } }), 'Unexpected "exp" (expiration time) claim value, timestamp is <= now()'],
    ['exp of the wrong type', () => issuer.mint({ claims: { exp: String(now() + 100) } }), 'Unexpected "exp" (expiration time) claim type'],
    ['missing exp', () => issuer.mint({ omit: ['exp'] }), 'Missing required "exp" (expiration time) claim'],
    ['not yet valid', () => issuer.mint({ claims: { nbf: now() + 120 } }), 'Unexpected "nbf" (not before) claim value, timestamp is > now()'],
    ['nbf of the wrong type', () => issuer.mint({ claims: { nbf: 'soon' } }), 'Unexpected "nbf" (not before) claim type'],
    ['iat of the wrong type', () => issuer.mint({ claims: { iat: 'today' } }), 'Unexpected "iat" (issued at) claim type'],
    ['wrong issuer', () => issuer.mint({ claims: { iss: 'https://evil.example.com' } }), 'Invalid Issuer'],
    ['issuer with a trailing slash', () => issuer.mint({ claims: { iss: `${issuer.url}/` } }), 'Invalid Issuer'],
    ['wrong audience', () => issuer.mint({ claims: { aud: 'https://other.example.com' } }), 'Invalid audience claim'],
    ['no audience', () => issuer.mint({ omit: ['aud'] }), 'Invalid audience claim'],
    ['numeric subject', () => issuer.mint({ claims: { sub: 123 } }), 'Invalid subject'],
    ['signed by another key with the same kid', () => other.mint({ claims: { iss: issuer.url, aud: issuer.audience } }), 'JWT signature verification failed'],
    [
      'tampered payload',
      async () => {
        const [header, , signature] = (await issuer.mint()).split('.');
        const forged = b64url({ iss: issuer.url, sub: 'admin', aud: issuer.audience, exp: now() + 300 });
        return `${header}.${forged}.${signature}`;
      },
      'JWT signature verification failed',
    ],
    ['alg none', async () => `${b64url({ alg: 'none' })}.${b64url({ iss: issuer.url, aud: issuer.audience, exp: now() + 60 })}.`, 'unsupported JWS "alg" identifier'],
    ['alg NoNe', async () => `${b64url({ alg: 'NoNe' })}.${b64url({ iss: issuer.url })}.`, 'unsupported JWS "alg" identifier'],
    ['alg HS256', async () => `${b64url({ alg: 'HS256' })}.${b64url({ iss: issuer.url })}.AAAA`, 'unsupported JWS "alg" identifier'],
    ['crit header', () => issuer.signRaw({ alg: 'ES256', kid: 'es256-1', crit: ['exp'] }, { iss: issuer.url }), 'Unexpected JWT "crit" header parameter'],
    ['empty crit header', () => issuer.signRaw({ alg: 'ES256', kid: 'es256-1', crit: [] }, { iss: issuer.url }), 'Unexpected JWT "crit" header parameter'],
    ['unknown kid', () => issuer.mint({ header: { kid: 'nope' } }), 'error when selecting a JWT verification key, multiple applicable keys found, a "kid" JWT Header Parameter is required'],
    ['header not base64url', async () => '.payload.signature', 'Failed to parse JWT Header'],
    ['header not an object', async () => `${b64url([1])}.e30.AA`, 'JWT Header must be a top level object'],
    ['padded segment', async () => `${b64url({ alg: 'ES256' })}.e30=.AA`, 'JWT signature verification failed'],
    ['payload not an object', () => issuer.signRaw({ alg: 'ES256', kid: 'es256-1' }, '[]'), 'JWT Payload must be a top level object'],
    ['payload not JSON', () => issuer.signRaw({ alg: 'ES256', kid: 'es256-1' }, '{"iss":'), 'Failed to parse JWT Payload'],
    ['a token over 16 KiB', async () => `${'a'.repeat(17 * 1024)}.b.c`, 'Access token is larger than 16 KiB'],
    ['an opaque token over 16 KiB', async () => 'a'.repeat(17 * 1024), 'Access token is larger than 16 KiB'],
  ];
  for (const [name, make, message] of cases) {
    test(name, async () => {
      await rejectsWith(client.validateAccessToken(await make()), MonoCloudTokenError, { message, code: 'invalid_token' });
    });
  }

  test('validateJwtAccessToken needs three parts', async () => {
    await rejectsWith(client.validateJwtAccessToken('header.payload'), MonoCloudTokenError, { message: 'JWT access token must have a header, payload and signature', code: 'invalid_token' });
  });

  test('an opaque string with two dots takes the JWT path', async () => {
    await rejectsWith(client.validateAccessToken('not.a.jwt'), MonoCloudTokenError, { message: 'Failed to parse JWT Header', code: 'invalid_token' });
  });

  test('blank or non-string tokens are a usage error', async () => {
    for (const token of [null, undefined, '', '   ', '\t\n', 42, {}]) {
      await rejectsWith(client.validateAccessToken(token), MonoCloudValidationError, { message: 'Access token must be a valid non-empty string' });
      await rejectsWith(client.validateJwtAccessToken(token), MonoCloudValidationError, { message: 'Access token must be a valid non-empty string' });
    }
  });

  test('opaque tokens need introspection to be configured', async () => {
    await rejectsWith(client.validateAccessToken('opaque-token'), MonoCloudValidationError, { message: 'Token introspection is not configured' });
    const introspecting = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, introspectJwtTokens: true });
    await rejectsWith(introspecting.validateAccessToken(await issuer.mint()), MonoCloudValidationError, { message: 'Token introspection is not configured' });
  });

  test('a rejected token does not disturb the next request', async () => {
    await assert.rejects(client.validateAccessToken('x.y.z'));
    await client.validateAccessToken(await issuer.mint());
  });
});

describe('scopes and groups', () => {
  test('every requested scope must be granted', async () => {
    const token = await issuer.mint({ claims: { scope: 'read:things write:things' } });
    await client.validateAccessToken(token, { scopes: ['read:things', 'write:things'] });
    await client.validateAccessToken(token, { scopes: [] });
    await rejectsWith(client.validateAccessToken(token, { scopes: ['read:things', 'admin'] }), MonoCloudTokenError, { message: 'Token is missing required scopes', code: 'insufficient_scope' });
    await rejectsWith(client.validateAccessToken(await issuer.mint({ omit: ['scope'] }), { scopes: ['read:things'] }), MonoCloudTokenError, { message: 'Token is missing required scopes', code: 'insufficient_scope' });
  });

  test('any requested group suffices by default; groups may be objects with id or name', async () => {
    const token = await issuer.mint({ claims: { groups: ['staff', { id: 'g-1', name: 'Editors' }] } });
    await client.validateAccessToken(token, { groups: ['nope', 'staff'] });
    await client.validateAccessToken(token, { groups: ['g-1'] });
    await client.validateAccessToken(token, { groups: ['Editors'] });
    await client.validateAccessToken(token, { groups: [] });
    await rejectsWith(client.validateAccessToken(token, { groups: ['admins'] }), MonoCloudTokenError, { message: 'Token is missing required groups', code: 'insufficient_groups' });
  });

  test('groupOptions: a custom claim and matchAll', async () => {
    const strict = new MonoCloudBackendNodeClient({
      tenantDomain: issuer.url,
      audience: issuer.audience,
      groupOptions: { groupsClaim: 'roles', matchAll: true },
    });
    const token = await issuer.mint({ claims: { roles: ['a', 'b'], groups: ['c'] } });
    await strict.validateAccessToken(token, { groups: ['a', 'b'] });
    await rejectsWith(strict.validateAccessToken(token, { groups: ['a', 'c'] }), MonoCloudTokenError, { message: 'Token is missing required groups', code: 'insufficient_groups' });
  });
});

describe('certificate binding', () => {
  const der = randomBytes(300);
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  const thumbprint = createHash('sha256').update(der).digest('base64url');

  test('when_present (default): a bound token needs the matching certificate', async () => {
    const token = await issuer.mint({ claims: { cnf: { 'x5t#S256': thumbprint } } });
    await client.validateAccessToken(token, { clientCertificate: pem });
    await client.validateAccessToken(token, { clientCertificate: der.toString('base64') });
    await rejectsWith(client.validateAccessToken(token), MonoCloudTokenError, { message: 'Client certificate is not present', code: 'invalid_token' });
    await rejectsWith(
      client.validateAccessToken(token, { clientCertificate: randomBytes(300).toString('base64') }), MonoCloudTokenError, { message: 'The certificate hash in the access token does not match the presented client certificate (certificate binding validation failed)', code: 'invalid_token' });
    await client.validateAccessToken(await issuer.mint({ claims: { cnf: { jkt: 'dpop-key' } } }));
    await client.validateAccessToken(await issuer.mint());
  });

  test('required and dangerously_ignore', async () => {
    const required = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, validateCertificateBinding: 'required' });
    await rejectsWith(
      required.validateAccessToken(await issuer.mint(), { clientCertificate: pem }), MonoCloudTokenError, { message: "Access token does not contain a 'cnf' (confirmation) claim for certificate binding", code: 'invalid_token' });
    const ignoring = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, validateCertificateBinding: 'dangerously_ignore' });
    await ignoring.validateAccessToken(await issuer.mint({ claims: { cnf: { 'x5t#S256': 'mismatch' } } }));
  });
});

describe('clock', () => {
  test('setClockSkew and setClockTolerance apply at runtime', async () => {
    const clocked = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
    const token = await issuer.mint({ claims: { exp: now() + 10 } });
    await clocked.validateAccessToken(token);
    clocked.setClockSkew(1000);
    clocked.setClockTolerance(1);
    await rejectsWith(clocked.validateAccessToken(token), MonoCloudTokenError, { message: 'Unexpected "exp" (expiration time) claim value, timestamp is <= now()', code: 'invalid_token' });
    clocked.setClockSkew(0);
    await clocked.validateAccessToken(token);
  });

  test('clockTolerance 0 rejects a token one second past exp', async () => {
    const strict = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience, clockTolerance: 0 });
    await rejectsWith(strict.validateAccessToken(await issuer.mint({ claims: { exp: now() - 1 } })), MonoCloudTokenError, { message: 'Unexpected "exp" (expiration time) claim value, timestamp is <= now()' });
  });
});

describe('issuer documents', () => {
  test('getMetadata and getJwks return the documents and cache them', async () => {
    const fresh = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: issuer.audience });
    issuer.resetCounters();
    const metadata = await fresh.getMetadata();
    assert.equal(metadata.issuer, issuer.url);
    assert.equal(metadata.jwks_uri, `${issuer.url}/jwks`);
    const jwks = await fresh.getJwks();
    assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), issuer.jwks.keys.map((k) => k.kid).sort());
    await fresh.getJwks();
    await fresh.validateAccessToken(await issuer.mint());
    assert.deepEqual([issuer.requests.discovery, issuer.requests.jwks], [1, 1]);
    await fresh.getMetadata(true);
    await fresh.getJwks(true);
    assert.deepEqual([issuer.requests.discovery, issuer.requests.jwks], [2, 2]);
  });

  test('validateJwtAccessToken with a given key set fetches nothing', async () => {
    const fresh = new MonoCloudOidcBackendClient(issuer.url, issuer.audience);
    issuer.resetCounters();
    const claims = await fresh.validateJwtAccessToken(await issuer.mint({ alg: 'EdDSA' }), { jwks: issuer.jwks });
    assert.equal(claims.sub, 'test-user');
    assert.deepEqual([issuer.requests.discovery, issuer.requests.jwks], [0, 0]);
  });

  test('validateJwtAccessToken takes the binding mode per call', async () => {
    const base = new MonoCloudOidcBackendClient(issuer.url, issuer.audience);
    const token = await issuer.mint();
    await base.validateJwtAccessToken(token);
    await rejectsWith(base.validateJwtAccessToken(token, { validateCertificateBinding: 'required' }), MonoCloudTokenError, { message: 'Client certificate is not present' });
  });

  test('a per-call binding mode that is not one of the three is refused, not ignored', async () => {
    const base = new MonoCloudOidcBackendClient(issuer.url, issuer.audience);
    const token = await issuer.mint();
    for (const mode of ['requried', 'REQUIRED', '', true]) {
      for (const call of [
        () => base.validateJwtAccessToken(token, { validateCertificateBinding: mode }),
        () => base.introspectAccessToken(token, { validateCertificateBinding: mode }),
      ]) {
        await assert.rejects(call(), (error) => {
          assert.ok(error instanceof TypeError, `${mode}: ${error}`);
          assert.match(error.message, /options\.validateCertificateBinding must be one of 'when_present', 'required', 'dangerously_ignore'/);
          return true;
        });
      }
    }
    assert.equal((await base.validateJwtAccessToken(token)).sub, 'test-user');
  });

  test('decodeJwt reads a payload without verifying it', () => {
    const token = `${b64url({ alg: 'none' })}.${b64url({ sub: 'Zoë' })}.`;
    assert.deepEqual(MonoCloudOidcBackendClient.decodeJwt(token), { sub: 'Zoë' });
    assert.deepEqual(MonoCloudBackendNodeClient.decodeJwt(token), { sub: 'Zoë' });
    assert.throws(() => MonoCloudOidcBackendClient.decodeJwt('abc'), (e) => e instanceof MonoCloudTokenError && e.message === 'JWT does not contain payload');
    assert.throws(() => MonoCloudOidcBackendClient.decodeJwt(`a.${b64url([])}.c`), (e) => e instanceof MonoCloudTokenError && e.message === 'Payload is not an object');
    assert.throws(() => MonoCloudOidcBackendClient.decodeJwt('a.ew.c'), (e) => e instanceof MonoCloudTokenError && e.message === 'Could not parse payload. Malformed payload');
  });
});

describe('several clients', () => {
  test('clients for different audiences and issuers live side by side', async () => {
    const a = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: 'https://a.example.com' });
    const b = new MonoCloudBackendNodeClient({ tenantDomain: other.url, audience: 'https://b.example.com' });
    const tokenA = await issuer.mint({ claims: { aud: 'https://a.example.com' } });
    const tokenB = await other.mint({ claims: { aud: 'https://b.example.com' } });
    await Promise.all([a.validateAccessToken(tokenA), b.validateAccessToken(tokenB)]);
    // Same kid, another key: the signature fails before the issuer is looked at.
    await rejectsWith(a.validateAccessToken(tokenB), MonoCloudTokenError, { message: 'JWT signature verification failed' });
    await rejectsWith(b.validateAccessToken(tokenA), MonoCloudTokenError, { message: 'JWT signature verification failed' });
  });
});

describe('error classes', () => {
  test('names, fields and upstream constructor signatures', () => {
    const token = new MonoCloudTokenError('bad');
    assert.equal(token.code, 'invalid_token');
    assert.equal(token.name, 'MonoCloudTokenError');
    assert.equal(new MonoCloudTokenError('x', 'insufficient_scope').code, 'insufficient_scope');
    const op = new MonoCloudOPError('invalid_client', 'Client authentication failed');
    assert.equal(op.message, 'invalid_client');
    assert.equal(op.error, 'invalid_client');
    assert.equal(op.errorDescription, 'Client authentication failed');
    const raw = { status: 503, statusText: 'Service Unavailable', headers: {}, body: '' };
    const http = new MonoCloudHttpError('down', raw);
    assert.equal(http.status, 503);
    assert.equal(http.statusText, 'Service Unavailable');
    assert.equal(new MonoCloudHttpError('offline').status, undefined);
    for (const [Class, name] of [
      [MonoCloudAuthBaseError, 'MonoCloudAuthBaseError'],
      [MonoCloudValidationError, 'MonoCloudValidationError'],
      [MonoCloudTokenError, 'MonoCloudTokenError'],
      [MonoCloudHttpError, 'MonoCloudHttpError'],
    ]) {
      const error = new Class('m');
      assert.equal(error.name, name);
      assert.ok(error instanceof Error && error instanceof MonoCloudAuthBaseError);
    }
  });

  test('ESM and CommonJS share one class identity', async () => {
    const { createRequire } = await import('node:module');
    const cjs = createRequire(import.meta.url)('@monocloud/backend-node-rs');
    assert.equal(cjs.MonoCloudTokenError, MonoCloudTokenError);
    assert.equal(cjs.MonoCloudBackendNodeClient, MonoCloudBackendNodeClient);
  });
});
