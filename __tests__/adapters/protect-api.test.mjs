// protectApi() on real Express 4/5 and Fastify 4/5 apps: every row of the error → HTTP mapping
// (status, JSON body, WWW-Authenticate, content type), every bearer-parsing rule, the
// resolvers, and what reaches the route (next exactly once, claims only on success).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  MonoCloudBackendNodeClient,
  MonoCloudHttpError,
  MonoCloudOPError,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { now } from '../support/clock.mjs';
import { frameworks, get, majorOf, serve } from '../support/frameworks.mjs';
import { deadUrl as freshDeadUrl } from '../support/scripted-issuer.mjs';
import { NO_TOKEN_CHALLENGE } from '../support/challenges.mjs';

const JSON_TYPE = 'application/json; charset=utf-8';

let issuer;
let deadUrl;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  deadUrl = await freshDeadUrl();
});

after(async () => {
  await issuer?.close();
});

const raw = (status, statusText = '') => ({ status, statusText, headers: {}, body: '' });

/** A client whose validation always throws `error`, recording its calls. */
class ThrowingClient extends MonoCloudBackendNodeClient {
  constructor(error) {
    super({ tenantDomain: issuer.url, audience: issuer.audience });
    this.error = error;
    this.calls = [];
  }

  async validateAccessToken(token, options) {
    this.calls.push([token, options]);
    throw this.error;
  }
}

/** A real client that records what it was asked. */
class SpyClient extends MonoCloudBackendNodeClient {
  calls = [];

  async validateAccessToken(token, options) {
    this.calls.push([token, options]);
    return super.validateAccessToken(token, options);
  }
}

function assertRefusal(res, status, message, challenge) {
  assert.equal(res.status, status, `status (body ${JSON.stringify(res.body)})`);
  assert.deepEqual(res.body, { message });
  assert.equal(res.headers['content-type'], JSON_TYPE);
  assert.equal(res.headers['www-authenticate'], challenge);
}

const unauthorized = (res) => assertRefusal(res, 401, 'unauthorized', NO_TOKEN_CHALLENGE);
const invalidToken = (res) => assertRefusal(res, 401, 'unauthorized', 'Bearer error="invalid_token"');
const forbidden = (res) => assertRefusal(res, 403, 'forbidden', 'Bearer error="insufficient_scope"');
const unavailable = (res) => assertRefusal(res, 503, 'service unavailable', undefined);
const serverError = (res) => assertRefusal(res, 500, 'internal server error', undefined);

for (const framework of frameworks) {
  describe(`${framework.name} protectApi`, () => {
    const { protectApi, requiredScopes, claimEquals, claimIncludes, claimCheck } = framework.adapter;
    const isExpress = framework.kind === 'express';
    let app;
    let requests = 0;
    const errorClients = {};
    let spy;
    let certSpy;

    before(async () => {
      assert.equal(majorOf(framework), Number(framework.name.at(-1)));
      const tenant = { tenantDomain: issuer.url, audience: issuer.audience };
      const protect = protectApi({ ...tenant, clientId: 'test-client', clientSecret: 'test-secret' });

      const errors = {
        'http-none': new MonoCloudHttpError('fetch failed'),
        'http-500': new MonoCloudHttpError('boom', raw(500, 'Internal Server Error')),
        'http-502': new MonoCloudHttpError('bad gateway', raw(502)),
        'http-429': new MonoCloudHttpError('slow down', raw(429)),
        'http-404': new MonoCloudHttpError('not found', raw(404)),
        'http-201': new MonoCloudHttpError('created?', raw(201)),
        'op-invalid-client': new MonoCloudOPError('invalid_client'),
        validation: new MonoCloudValidationError('Token introspection is not configured'),
        'token-invalid': new MonoCloudTokenError('Invalid Issuer', 'invalid_token'),
        'token-inactive': new MonoCloudTokenError('whatever', 'inactive_token'),
        'token-scope': new MonoCloudTokenError('a message that says nothing', 'insufficient_scope'),
        'token-groups': new MonoCloudTokenError('Token is missing required scopes', 'insufficient_groups'),
        error: new Error('unexpected'),
        'type-error': new TypeError('x.split is not a function'),
        'dom-exception': new DOMException('The string is not valid base64', 'InvalidCharacterError'),
      };
      const routes = {
        '/open': [protect()],
        '/scoped': [protect({ scopes: ['admin'] })],
        '/grouped': [protect({ groups: ['admins'] })],
        '/no-introspection': [protectApi(tenant)()],
        '/bad-secret': [protectApi({ ...tenant, clientId: 'test-client', clientSecret: 'wrong' })()],
        '/issuer-down': [protectApi({ tenantDomain: deadUrl, audience: issuer.audience })()],
        '/no-discovery': [protectApi({ tenantDomain: `${issuer.url}/missing`, audience: issuer.audience })()],
      };
      for (const [name, error] of Object.entries(errors)) {
        errorClients[name] = new ThrowingClient(error);
        routes[`/throws/${name}`] = [protectApi(errorClients[name])()];
      }

      spy = new SpyClient(tenant);
      routes['/spy'] = [protectApi(spy)({ scopes: ['read:things'], groups: [] })];
      routes['/spy-plain'] = [protectApi(spy)()];

      const fromHeader = (name) => async (req) => req.headers[name];
      routes['/resolver'] = [protectApi({ ...tenant, tokenResolver: fromHeader('x-token') })()];
      routes['/resolver-null'] = [protectApi({ ...tenant, tokenResolver: async () => null })()];
      routes['/resolver-sync'] = [protectApi({ ...tenant, tokenResolver: (req) => req.headers['x-token'] })()];
      routes['/resolver-rejects'] = [
        protectApi({
          ...tenant,
          tokenResolver: async () => {
            throw new Error('cookie store down');
          },
        })(),
      ];
      routes['/resolver-number'] = [protectApi({ ...tenant, tokenResolver: async () => 42 })()];

      certSpy = new SpyClient(tenant);
      routes['/cert'] = [protectApi(certSpy, { certificateResolver: fromHeader('x-client-cert') })()];
      routes['/cert-and-token'] = [
        protectApi(certSpy, { certificateResolver: fromHeader('x-client-cert'), tokenResolver: fromHeader('x-token') })(),
      ];
      routes['/cert-throws'] = [
        protectApi({
          ...tenant,
          certificateResolver: async () => {
            throw new Error('no TLS socket');
          },
        })(),
      ];

      routes['/checks'] = [
        protect({
          checks: [requiredScopes('read:things'), claimEquals('tenant', 'acme'), claimIncludes('roles', 'editor')],
        }),
      ];
      routes['/checks-scope-array'] = [protect({ checks: [requiredScopes(['read:things', 'write:things'])] })];
      routes['/checks-custom'] = [
        protect({ checks: [claimCheck(async (claims) => claims.email_verified === true)] }),
      ];
      if (isExpress) {
        routes['/chain'] = [protect(), requiredScopes('read:things write:things'), claimIncludes('roles', 'editor', 'viewer')];
        routes['/chain-equals'] = [protect(), claimEquals('tenant', 'acme')];
        routes['/chain-custom'] = [protect(), claimCheck((claims) => claims.sub === 'test-user')];
        routes['/check-without-protect'] = [requiredScopes('read:things')];
      }

      // Lets one test hand the adapters a non-string Authorization header.
      const tamper = isExpress
        ? (req, res, next) => {
            if (req.headers['x-tamper']) req.headers.authorization = ['Bearer a', 'Bearer b'];
            next();
          }
        : async (request) => {
            if (request.headers['x-tamper']) request.headers.authorization = ['Bearer a', 'Bearer b'];
          };
      app = await serve(framework, routes, { before: tamper });
    });

    after(async () => {
      await app?.close();
    });

    /** Requests `path` and returns the response plus what reached the route. */
    async function call(path, headers = {}) {
      const res = await get(`${app.url}${path}`, headers);
      requests += 1;
      const seen = await app.last(requests);
      assert.ok(seen, 'the request was logged');
      assert.notEqual(res.status, 599, `an error reached Express's error handler: ${JSON.stringify(res.body)}`);
      return { res, seen };
    }

    /** The request was refused: the route did not run, next was never called, no claims. */
    function assertStopped(seen) {
      assert.equal(seen.handled, false);
      assert.equal(seen.claims, undefined);
      if (isExpress) assert.deepEqual(seen.nextCalls, []);
    }

    /** The request passed: next() exactly once per guard, with no argument, claims set. */
    function assertPassed(res, seen, guards = 1) {
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(seen.handled, true);
      assert.equal(seen.claims?.iss, issuer.url);
      assert.deepEqual(res.body.claims, seen.claims);
      if (isExpress) assert.deepEqual(seen.nextCalls, Array.from({ length: guards }, () => []));
    }

    const bearer = async (options) => ({ authorization: `Bearer ${await issuer.mint(options)}` });

    describe('mapping table', () => {
      test('no token: 401 unauthorized, WWW-Authenticate: Bearer', async () => {
        const { res, seen } = await call('/open');
        unauthorized(res);
        assertStopped(seen);
      });

      test('a valid token passes with its claims', async () => {
        const { res, seen } = await call('/open', await bearer({ claims: { custom: 'x' } }));
        assertPassed(res, seen);
        assert.equal(seen.claims.custom, 'x');
      });

      test('invalid_token (expired, real): 401 invalid_token', async () => {
        const { res, seen } = await call('/open', await bearer({ claims: { exp: now() - 600 } }));
        invalidToken(res);
        assertStopped(seen);
      });

      test('invalid_token (garbage, real): 401 invalid_token', async () => {
        const { res, seen } = await call('/open', { authorization: 'Bearer a.b.c' });
        invalidToken(res);
        assertStopped(seen);
      });

      test('inactive_token (revoked opaque token, real): 401 invalid_token', async () => {
        const token = issuer.mintOpaque();
        issuer.revoke(token);
        const { res, seen } = await call('/open', { authorization: `Bearer ${token}` });
        invalidToken(res);
        assertStopped(seen);
      });

      test('an active opaque token passes through introspection', async () => {
        const { res, seen } = await call('/open', { authorization: `Bearer ${issuer.mintOpaque()}` });
        assertPassed(res, seen);
      });

      test('insufficient_scope (real): 403 forbidden', async () => {
        const { res, seen } = await call('/scoped', await bearer());
        forbidden(res);
        assertStopped(seen);
      });

      test('insufficient_groups (real): 403 with error="insufficient_scope"', async () => {
        const { res, seen } = await call('/grouped', await bearer({ claims: { groups: ['staff'] } }));
        forbidden(res);
        assertStopped(seen);
      });

      test('scopes and groups that are present pass', async () => {
        assertPassed(...Object.values(await call('/scoped', await bearer({ claims: { scope: 'read admin' } }))));
        assertPassed(...Object.values(await call('/grouped', await bearer({ claims: { groups: ['staff', { name: 'admins' }] } }))));
      });

      test('issuer unreachable (real MonoCloudHttpError without status): 503, no challenge', async () => {
        const { res, seen } = await call('/issuer-down', await bearer());
        unavailable(res);
        assertStopped(seen);
      });

      test('discovery answering 404 (real MonoCloudHttpError 404): 500', async () => {
        const { res, seen } = await call('/no-discovery', await bearer());
        serverError(res);
        assertStopped(seen);
      });

      // DECISIONS 29: any caller can send an opaque string; it is a bad token, not a server error.
      test('a non-JWT token on a JWT-only API (no clientId): 401 invalid_token', async () => {
        for (const token of [issuer.mintOpaque(), 'garbage', 'a.b', 'a.b.c.d.e']) {
          const { res, seen } = await call('/no-introspection', { authorization: `Bearer ${token}` });
          invalidToken(res);
          assertStopped(seen);
        }
      });

      test('introspection refusing our credentials (real MonoCloudOPError invalid_client): 500', async () => {
        const { res, seen } = await call('/bad-secret', { authorization: `Bearer ${issuer.mintOpaque()}` });
        serverError(res);
        assertStopped(seen);
      });

      const rows = [
        ['http-none', unavailable],
        ['http-500', unavailable],
        ['http-502', unavailable],
        ['http-429', unavailable],
        ['http-404', serverError],
        ['http-201', serverError],
        ['op-invalid-client', serverError],
        ['validation', serverError],
        ['token-invalid', invalidToken],
        ['token-inactive', invalidToken],
        ['token-scope', forbidden],
        ['token-groups', forbidden],
        ['error', invalidToken],
        ['type-error', invalidToken],
        ['dom-exception', invalidToken],
      ];
      for (const [name, expectation] of rows) {
        test(`thrown ${name}: ${expectation.name}`, async () => {
          const { res, seen } = await call(`/throws/${name}`, { authorization: 'Bearer some-token' });
          expectation(res);
          assertStopped(seen);
          assert.deepEqual(errorClients[name].calls.at(-1), [
            'some-token',
            { clientCertificate: undefined, groups: undefined, scopes: undefined },
          ]);
        });
      }
    });

    describe('bearer extraction', () => {
      let token;
      before(async () => {
        token = await issuer.mint();
      });

      const passes = [
        ['Bearer <token>', (t) => `Bearer ${t}`],
        ['lower-case scheme', (t) => `bearer ${t}`],
        ['upper-case scheme', (t) => `BEARER ${t}`],
        ['surrounding whitespace', (t) => `   Bearer ${t}   `],
        ['a tab separator', (t) => `Bearer\t${t}`],
        ['several spaces', (t) => `Bearer     ${t}`],
      ];
      for (const [name, header] of passes) {
        test(`${name} is accepted`, async () => {
          const { res, seen } = await call('/open', { authorization: header(token) });
          assertPassed(res, seen);
        });
      }

      const noToken = [
        ['an empty header', () => ''],
        ['another scheme', (t) => `Basic ${t}`],
        ['the scheme alone', () => 'Bearer'],
        ['the scheme and spaces', () => 'Bearer    '],
        ['an extra part', (t) => `Bearer ${t} extra`],
        ['no scheme', (t) => t],
      ];
      for (const [name, header] of noToken) {
        test(`${name} is no token: 401 Bearer`, async () => {
          const { res, seen } = await call('/open', { authorization: header(token) });
          unauthorized(res);
          assertStopped(seen);
        });
      }

      test('of duplicate Authorization headers only the first counts', async () => {
        assertPassed(...Object.values(await call('/open', { authorization: [`Bearer ${token}`, 'Bearer nope'] })));
        const { res, seen } = await call('/open', { authorization: ['Basic abc', `Bearer ${token}`] });
        unauthorized(res);
        assertStopped(seen);
      });

      test('a non-string Authorization value: 401 invalid_token', async () => {
        const { res, seen } = await call('/open', { 'x-tamper': '1' });
        invalidToken(res);
        assertStopped(seen);
      });
    });

    describe('resolvers and client', () => {
      test('the token resolver comes first', async () => {
        const { res, seen } = await call('/resolver', { 'x-token': await issuer.mint(), authorization: 'Bearer a.b.c' });
        assertPassed(res, seen);
      });

      test('undefined from the resolver falls back to the header', async () => {
        assertPassed(...Object.values(await call('/resolver', await bearer())));
      });

      test('null from the resolver falls back to the header', async () => {
        assertPassed(...Object.values(await call('/resolver-null', await bearer())));
      });

      test('a synchronous resolver works', async () => {
        assertPassed(...Object.values(await call('/resolver-sync', { 'x-token': await issuer.mint() })));
      });

      test("the resolver's token is trimmed", async () => {
        assertPassed(...Object.values(await call('/resolver', { 'x-token': `  ${await issuer.mint()}  ` })));
      });

      test('an empty string from the resolver does not fall back: 401 Bearer', async () => {
        const { res, seen } = await call('/resolver', { 'x-token': '', ...(await bearer()) });
        unauthorized(res);
        assertStopped(seen);
      });

      test('a whitespace-only resolved token is no token, and validation is not called', async () => {
        const before = certSpy.calls.length;
        const { res, seen } = await call('/cert-and-token', { 'x-token': '    ', ...(await bearer()) });
        unauthorized(res);
        assertStopped(seen);
        assert.equal(certSpy.calls.length, before);
      });

      test('a rejecting resolver: 401 invalid_token', async () => {
        const { res, seen } = await call('/resolver-rejects', await bearer());
        invalidToken(res);
        assertStopped(seen);
      });

      test('a resolver resolving to a non-string: 401 invalid_token', async () => {
        const { res, seen } = await call('/resolver-number', await bearer());
        invalidToken(res);
        assertStopped(seen);
      });

      test('the given client is used, with the route scopes and groups', async () => {
        const token = await issuer.mint();
        assertPassed(...Object.values(await call('/spy', { authorization: `Bearer ${token}` })));
        assert.deepEqual(spy.calls.at(-1), [token, { clientCertificate: undefined, groups: [], scopes: ['read:things'] }]);
        assertPassed(...Object.values(await call('/spy-plain', { authorization: `Bearer ${token}` })));
        assert.deepEqual(spy.calls.at(-1), [token, { clientCertificate: undefined, groups: undefined, scopes: undefined }]);
      });

      test("the certificate resolver's value is passed on, and binding is enforced with it", async () => {
        const certificate = randomBytes(48).toString('base64');
        const thumbprint = createHash('sha256').update(Buffer.from(certificate, 'base64')).digest('base64url');
        const token = await issuer.mint({ claims: { cnf: { 'x5t#S256': thumbprint } } });

        assertPassed(...Object.values(await call('/cert', { authorization: `Bearer ${token}`, 'x-client-cert': certificate })));
        assert.deepEqual(certSpy.calls.at(-1), [token, { clientCertificate: certificate, groups: undefined, scopes: undefined }]);

        const other = randomBytes(48).toString('base64');
        const wrong = await call('/cert', { authorization: `Bearer ${token}`, 'x-client-cert': other });
        invalidToken(wrong.res);
        assertStopped(wrong.seen);

        const missing = await call('/cert', { authorization: `Bearer ${token}` });
        invalidToken(missing.res);
        assertStopped(missing.seen);
        assert.deepEqual(certSpy.calls.at(-1)[1], { clientCertificate: undefined, groups: undefined, scopes: undefined });
      });

      test('a throwing certificate resolver: 401 invalid_token, even without a token', async () => {
        for (const headers of [{}, await bearer()]) {
          const { res, seen } = await call('/cert-throws', headers);
          invalidToken(res);
          assertStopped(seen);
        }
      });
    });

    describe('claim checks as options', () => {
      test('all checks passing', async () => {
        const { res, seen } = await call('/checks', await bearer({ claims: { tenant: 'acme', roles: ['editor', 'viewer'] } }));
        assertPassed(res, seen);
      });

      test('a missing scope: 403 insufficient_scope', async () => {
        const { res, seen } = await call('/checks', await bearer({ claims: { scope: 'other', tenant: 'acme', roles: ['editor'] } }));
        forbidden(res);
        assertStopped(seen);
      });

      test('a wrong claim value: 401 invalid_token', async () => {
        const { res, seen } = await call('/checks', await bearer({ claims: { tenant: 'evil', roles: ['editor'] } }));
        invalidToken(res);
        assertStopped(seen);
      });

      test('a claim that does not include the value: 401 invalid_token', async () => {
        const { res, seen } = await call('/checks', await bearer({ claims: { tenant: 'acme', roles: 'viewer' } }));
        invalidToken(res);
        assertStopped(seen);
      });

      test('a space-separated string claim can include the value', async () => {
        assertPassed(...Object.values(await call('/checks', await bearer({ claims: { tenant: 'acme', roles: 'viewer editor' } }))));
      });

      test('scopes as an array claim, and as an array argument', async () => {
        assertPassed(...Object.values(await call('/checks-scope-array', await bearer({ claims: { scope: ['write:things', 'read:things'] } }))));
        assertPassed(...Object.values(await call('/checks-scope-array', await bearer({ claims: { scope: 'write:things  read:things' } }))));
        forbidden((await call('/checks-scope-array', await bearer({ claims: { scope: ['read:things'] } }))).res);
      });

      test('a custom check', async () => {
        assertPassed(...Object.values(await call('/checks-custom', await bearer({ claims: { email_verified: true } }))));
        invalidToken((await call('/checks-custom', await bearer({ claims: { email_verified: 'true' } }))).res);
      });
    });

    if (isExpress) {
      describe('claim checks as middleware after protect()', () => {
        test('passing: next() once per middleware', async () => {
          const { res, seen } = await call('/chain', await bearer({ claims: { scope: 'read:things write:things', roles: ['viewer', 'editor'] } }));
          assertPassed(res, seen, 3);
        });

        test('a missing scope: 403, and the route does not run', async () => {
          const { res, seen } = await call('/chain', await bearer({ claims: { roles: ['viewer', 'editor'] } }));
          forbidden(res);
          assert.equal(seen.handled, false);
          assert.deepEqual(seen.nextCalls, [[]], 'only protect() called next');
        });

        test('a claim check failing: 401 invalid_token', async () => {
          const { res, seen } = await call('/chain-equals', await bearer({ claims: { tenant: 'ACME' } }));
          invalidToken(res);
          assert.equal(seen.handled, false);
          assert.deepEqual(seen.nextCalls, [[]]);
          assertPassed(...Object.values(await call('/chain-equals', await bearer({ claims: { tenant: 'acme' } }))), 2);
          assertPassed(...Object.values(await call('/chain-custom', await bearer())), 2);
        });

        test('without protect() before it: 401 Bearer', async () => {
          const { res, seen } = await call('/check-without-protect', await bearer());
          // A claim check alone knows no client, so no DPoP settings: the plain challenge.
          assertRefusal(res, 401, 'unauthorized', 'Bearer');
          assertStopped(seen);
        });
      });
    }
  });
}
