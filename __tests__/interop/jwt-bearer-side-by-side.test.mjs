// `@monocloud/backend-node-rs/jwt-bearer` beside the real express-oauth2-jwt-bearer, on the same
// local issuer and the same Express app shape: each request of the table must reach the error
// handler with the same class, status, code and WWW-Authenticate, or pass with the same
// req.auth shape. The deliberate differences are named where they are normalised away.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';

import express from 'express';
import { SignJWT } from 'jose';
import * as original from 'express-oauth2-jwt-bearer';

import * as ours from '@monocloud/backend-node-rs/jwt-bearer';
import { createDpopProof, createTestIssuer, generateDpopKey } from '@monocloud/backend-node-rs/testing';

const LIBRARIES = { original, ours };

// Deliberate difference: the DPoP challenge does not advertise ES256K, which no key here verifies.
const normaliseChallenge = (value) => value?.replace(' ES256K', '');

let issuer;
const servers = [];

async function serve(app) {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}`;
}

/** One app per library with the same routes; the error handler reports what reached it. */
async function appFor(lib, authOptions) {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(express.json());
  const check = lib.auth(authOptions);
  const report = (req, res) => res.json({ auth: req.auth ?? null });
  app.all('/any', check, report);
  app.get('/scopes', check, lib.requiredScopes('read:things write:things'), report);
  app.get('/any-scope', check, lib.scopeIncludesAny(['admin', 'read:things']), report);
  app.get('/equals', check, lib.claimEquals('org_id', 'org_123'), report);
  app.get('/includes', check, lib.claimIncludes('roles', 'editor', 'viewer'), report);
  app.get('/check', check, lib.claimCheck((claims) => claims.verified === true, 'Not verified'), report);
  app.use((err, req, res, _next) => {
    // express-oauth2-jwt-bearer 1.10 does not export InvalidProofError: compare by name, and
    // check that every refusal is an UnauthorizedError of its own library.
    const className = err instanceof lib.UnauthorizedError ? err.name : `not an UnauthorizedError: ${err?.name}`;
    res
      .status(err.status ?? 500)
      .set(err.headers ?? {})
      .json({ className, code: err.code ?? null, status: err.status, statusCode: err.statusCode, message: err.message });
  });
  return serve(app);
}

async function call(base, { path = '/any', method = 'GET', headers = {}, body, query } = {}) {
  const url = new URL(path, base);
  for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = new URLSearchParams(body).toString();
    init.headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const response = await fetch(url, init);
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.json(), url: url.href };
}

/** The req.auth shape: keys of each part (values differ only by what the token holds). */
function shape(auth) {
  if (!auth) return auth;
  return { keys: Object.keys(auth).sort(), header: Object.keys(auth.header).sort(), payload: Object.keys(auth.payload).sort(), token: typeof auth.token };
}

async function bothAnswer(options, request) {
  const answers = {};
  for (const [name, lib] of Object.entries(LIBRARIES)) {
    const base = await appFor(lib, options);
    const resolved = typeof request === 'function' ? await request(base) : request;
    answers[name] = await call(base, resolved);
  }
  return answers;
}

function assertSame({ original: theirs, ours: mine }, label) {
  assert.equal(mine.status, theirs.status, `${label}: status`);
  assert.equal(normaliseChallenge(mine.challenge), normaliseChallenge(theirs.challenge), `${label}: WWW-Authenticate`);
  if (theirs.body.auth !== undefined) {
    assert.deepEqual(shape(mine.body.auth), shape(theirs.body.auth), `${label}: req.auth shape`);
    if (theirs.body.auth) assert.equal(mine.body.auth.token, theirs.body.auth.token);
  } else {
    assert.equal(mine.body.className, theirs.body.className, `${label}: error class`);
    assert.equal(mine.body.code, theirs.body.code, `${label}: code`);
    assert.equal(mine.body.statusCode, theirs.body.statusCode, `${label}: statusCode`);
    assert.ok(mine.body.className && !mine.body.className.startsWith('not'), `${label}: ${mine.body.className}`);
  }
  if (process.env.SHOW_ANSWERS) console.log(label, JSON.stringify({ theirs, mine }));
}

before(async () => {
  issuer = await createTestIssuer({ algs: ['RS256', 'ES256'] });
});

after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await issuer?.close();
});

describe('the same answers as express-oauth2-jwt-bearer', () => {
  const base = () => ({ issuerBaseURL: issuer.url, audience: issuer.audience });
  const mint = (options) => issuer.mint(options);

  const table = [
    ['no token', () => ({})],
    ['a header token', async () => ({ headers: { authorization: `Bearer ${await mint()}` } })],
    ['a query token', async () => ({ query: { access_token: await mint() } })],
    ['a body token', async () => ({ method: 'POST', body: { access_token: await mint() } })],
    [
      'two locations',
      async () => {
        const token = await mint();
        return { headers: { authorization: `Bearer ${token}` }, query: { access_token: token } };
      },
    ],
    ['an unknown scheme', () => ({ headers: { authorization: 'Basic abc' } })],
    ['a header in three parts', () => ({ headers: { authorization: 'Bearer a b' } })],
    ['expired', async () => ({ headers: { authorization: `Bearer ${await mint({ expiresIn: -60 })}` } })],
    ['wrong audience', async () => ({ headers: { authorization: `Bearer ${await mint({ claims: { aud: 'https://other.example' } })}` } })],
    ['wrong issuer', async () => ({ headers: { authorization: `Bearer ${await mint({ claims: { iss: 'https://evil.example' } })}` } })],
    ['a query token that is expired', async () => ({ query: { access_token: await mint({ expiresIn: -60 }) } })],
    ['missing scope', async () => ({ path: '/scopes', headers: { authorization: `Bearer ${await mint()}` } })],
    ['all scopes', async () => ({ path: '/scopes', headers: { authorization: `Bearer ${await mint({ claims: { scope: 'write:things read:things' } })}` } })],
    ['no scope claim', async () => ({ path: '/scopes', headers: { authorization: `Bearer ${await mint({ omit: ['scope'] })}` } })],
    ['scopeIncludesAny passes', async () => ({ path: '/any-scope', headers: { authorization: `Bearer ${await mint()}` } })],
    ['scopeIncludesAny refuses', async () => ({ path: '/any-scope', headers: { authorization: `Bearer ${await mint({ claims: { scope: 'x' } })}` } })],
    ['claimEquals passes', async () => ({ path: '/equals', headers: { authorization: `Bearer ${await mint({ claims: { org_id: 'org_123' } })}` } })],
    ['claimEquals refuses', async () => ({ path: '/equals', headers: { authorization: `Bearer ${await mint({ claims: { org_id: 'org_9' } })}` } })],
    ['claimEquals missing claim', async () => ({ path: '/equals', headers: { authorization: `Bearer ${await mint()}` } })],
    ['claimIncludes passes', async () => ({ path: '/includes', headers: { authorization: `Bearer ${await mint({ claims: { roles: ['viewer', 'editor'] } })}` } })],
    ['claimIncludes refuses', async () => ({ path: '/includes', headers: { authorization: `Bearer ${await mint({ claims: { roles: ['viewer'] } })}` } })],
    ['claimCheck passes', async () => ({ path: '/check', headers: { authorization: `Bearer ${await mint({ claims: { verified: true } })}` } })],
    ['claimCheck refuses', async () => ({ path: '/check', headers: { authorization: `Bearer ${await mint()}` } })],
    ['a DPoP header without a token', () => ({ headers: { dpop: 'x' } })],
  ];

  for (const [label, request] of table) {
    test(label, async () => {
      const prepared = await request();
      assertSame(await bothAnswer(base(), prepared), label);
    });
  }

  test('authRequired: false lets a request without a valid token through, without req.auth', async () => {
    for (const prepared of [{}, { headers: { authorization: `Bearer ${await mint({ expiresIn: -60 })}` } }]) {
      const answers = await bothAnswer({ ...base(), authRequired: false }, prepared);
      assertSame(answers, 'authRequired false');
      assert.equal(answers.ours.status, 200);
    }
  });

  test('DPoP disabled: the plain Bearer challenge, and a DPoP scheme is a bad request', async () => {
    const options = { ...base(), dpop: { enabled: false } };
    assertSame(await bothAnswer(options, {}), 'dpop disabled, no token');
    assertSame(await bothAnswer(options, { headers: { authorization: `DPoP ${await mint()}` } }), 'dpop disabled, DPoP scheme');
  });

  test('DPoP allowed: a bound token with its proof passes; as Bearer it is refused', async () => {
    const key = generateDpopKey('ES256');
    const token = await mint({ dpopKey: key });
    const withProof = (target) => ({
      headers: { authorization: `DPoP ${token}`, dpop: createDpopProof({ key, method: 'GET', url: `${target}/any`, accessToken: token }) },
    });
    assertSame(await bothAnswer(base(), withProof), 'dpop allowed, proof');
    assertSame(await bothAnswer(base(), { headers: { authorization: `Bearer ${token}` } }), 'dpop allowed, bound token as Bearer');
    const wrongUrl = (target) => ({
      headers: { authorization: `DPoP ${token}`, dpop: createDpopProof({ key, method: 'GET', url: `${target}/elsewhere`, accessToken: token }) },
    });
    const answers = await bothAnswer(base(), wrongUrl);
    // Both answer 400 invalid_dpop_proof; the descriptions name the failed check in each library's words.
    assert.equal(answers.ours.status, 400);
    assert.equal(answers.ours.body.className, answers.original.body.className);
    assert.equal(answers.ours.body.code, 'invalid_dpop_proof');
    assert.equal(answers.original.body.code, 'invalid_dpop_proof');
  });

  test('DPoP required: Bearer is a bad request, DPoP with its proof passes', async () => {
    const options = { ...base(), dpop: { required: true } };
    assertSame(await bothAnswer(options, {}), 'dpop required, no token');
    assertSame(await bothAnswer(options, { headers: { authorization: `Bearer ${await mint()}` } }), 'dpop required, Bearer');
    const key = generateDpopKey('ES256');
    const token = await mint({ dpopKey: key });
    const withProof = (target) => ({
      headers: { authorization: `DPoP ${token}`, dpop: createDpopProof({ key, method: 'GET', url: `${target}/any`, accessToken: token }) },
    });
    const answers = await bothAnswer(options, withProof);
    assertSame(answers, 'dpop required, proof');
    assert.equal(answers.ours.status, 200);
  });

  test('audience as a list: any one matches', async () => {
    const options = { ...base(), audience: ['https://first.example', issuer.audience] };
    const answers = await bothAnswer(options, { headers: { authorization: `Bearer ${await mint()}` } });
    assertSame(answers, 'audience list');
    assert.equal(answers.ours.status, 200);
    assertSame(
      await bothAnswer(options, { headers: { authorization: `Bearer ${await mint({ claims: { aud: 'https://third.example' } })}` } }),
      'audience list, none matches',
    );
  });

  test('issuer and jwksUri without discovery', async () => {
    const options = { issuer: issuer.url, jwksUri: `${issuer.url}/.well-known/jwks.json`, audience: issuer.audience };
    const jwks = await fetch(`${issuer.url}/.well-known/openid-configuration`).then((r) => r.json());
    options.jwksUri = jwks.jwks_uri;
    const answers = await bothAnswer(options, { headers: { authorization: `Bearer ${await mint()}` } });
    assertSame(answers, 'issuer + jwksUri');
    assert.equal(answers.ours.status, 200);
  });

  test('strict and maxTokenAge, and custom validators', async () => {
    const options = { ...base(), strict: true };
    assertSame(await bothAnswer(options, { headers: { authorization: `Bearer ${await mint()}` } }), 'strict, typ JWT');
    const aged = { ...base(), maxTokenAge: 10 };
    const old = await mint({ claims: { iat: Math.floor(Date.now() / 1000) - 100 } });
    assertSame(await bothAnswer(aged, { headers: { authorization: `Bearer ${old}` } }), 'maxTokenAge');
    const custom = { ...base(), validators: { sub: 'someone-else', tenant: (value) => value === 't1' } };
    assertSame(await bothAnswer(custom, { headers: { authorization: `Bearer ${await mint()}` } }), 'custom validator refuses');
    const passes = { ...base(), validators: { tenant: async (value) => value === 't1' } };
    assertSame(await bothAnswer(passes, { headers: { authorization: `Bearer ${await mint({ claims: { tenant: 't1' } })}` } }), 'custom validator passes');
  });
});

describe('HS256 with a secret (the pinned symmetric mode)', () => {
  const SECRET = 'a-shared-secret-of-enough-length-for-hs256';
  const options = () => ({ issuer: issuer.url, secret: SECRET, tokenSigningAlg: 'HS256', audience: issuer.audience });
  const hs = (claims = {}, { alg = 'HS256', secret = SECRET, expiresIn = 300 } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: issuer.url, aud: issuer.audience, sub: 'svc', iat: now, exp: now + expiresIn, ...claims })
      .setProtectedHeader({ alg, typ: 'JWT' })
      .sign(new TextEncoder().encode(secret));
  };

  test('a token signed with the secret passes; no key set or metadata is fetched', async () => {
    issuer.resetCounters();
    const answers = await bothAnswer(options(), { headers: { authorization: `Bearer ${await hs()}` } });
    assertSame(answers, 'HS256');
    assert.equal(answers.ours.status, 200);
    assert.deepEqual(issuer.requests, { discovery: 0, jwks: 0, introspection: 0, revocation: 0, token: 0 });
  });

  test('another secret, an expired token, a wrong audience: the same refusals', async () => {
    assertSame(await bothAnswer(options(), { headers: { authorization: `Bearer ${await hs({}, { secret: 'another-secret-of-enough-length-000' })}` } }), 'HS256 wrong secret');
    assertSame(await bothAnswer(options(), { headers: { authorization: `Bearer ${await hs({}, { expiresIn: -60 })}` } }), 'HS256 expired');
    assertSame(await bothAnswer(options(), { headers: { authorization: `Bearer ${await hs({ aud: 'https://x.example' })}` } }), 'HS256 audience');
  });

  test('a public-key token, or another HMAC algorithm, is refused in this mode without any fetch', async () => {
    issuer.resetCounters();
    for (const token of [await issuer.mint(), await hs({}, { alg: 'HS384' })]) {
      const answers = await bothAnswer(options(), { headers: { authorization: `Bearer ${token}` } });
      // Deliberate difference: the description names the check in our words ("unsupported JWS
      // "alg" identifier") where that library repeats jose's or its validator's.
      for (const side of ['original', 'ours']) {
        assert.equal(answers[side].status, 401);
        assert.equal(answers[side].body.className, 'InvalidTokenError');
        assert.equal(answers[side].body.code, 'invalid_token');
      }
    }
    assert.deepEqual(issuer.requests, { discovery: 0, jwks: 0, introspection: 0, revocation: 0, token: 0 });
  });

  test('the secret is not accepted for a public-key algorithm, and HMAC tokens are refused elsewhere', async () => {
    assert.throws(() => ours.auth({ ...options(), tokenSigningAlg: 'RS256' }), /HS256, HS384, HS512/);
    const answers = await bothAnswer(
      { issuerBaseURL: issuer.url, audience: issuer.audience },
      { headers: { authorization: `Bearer ${await hs()}` } },
    );
    assert.equal(answers.ours.status, 401);
    assert.equal(answers.original.status, 401);
    assert.equal(answers.ours.body.code, 'invalid_token');
  });
});

describe('start-up', () => {
  test("that library's option conflicts are configuration errors here too", () => {
    const cases = [
      {},
      { issuerBaseURL: 'https://a.example' },
      { issuerBaseURL: 'https://a.example', audience: 'x', mcd: { issuers: ['https://a.example'] } },
      { issuer: 'https://a.example', jwksUri: 'https://a.example/jwks', secret: 's', tokenSigningAlg: 'HS256', audience: 'x' },
      { issuerBaseURL: 'https://a.example', audience: 'x', tokenSigningAlg: 'HS256' },
      { issuerBaseURL: 'https://a.example', audience: 'x', dpop: { enabled: false, required: true } },
      { issuerBaseURL: 'https://a.example', audience: 'x', dpop: { iatOffset: -1 } },
    ];
    for (const options of cases) {
      let theirs;
      try {
        original.auth(options);
      } catch (error) {
        theirs = error;
      }
      assert.ok(theirs, JSON.stringify(options));
      assert.throws(() => ours.auth(options), (error) => error.code === 'ERR_ASSERTION' && error.message === theirs.message, JSON.stringify(options));
    }
  });

  test('an agent is accepted with one warning that names the replacements', async () => {
    const warnings = [];
    const listener = (warning) => warnings.push(warning);
    process.on('warning', listener);
    try {
      ours.auth({ issuerBaseURL: issuer.url, audience: 'x', agent: {} });
      ours.auth({ issuerBaseURL: issuer.url, audience: 'x', agent: {} });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    const ours_ = warnings.filter((w) => w.code === 'MONOCLOUD_JWT_BEARER_AGENT');
    assert.equal(ours_.length, 1);
    assert.match(ours_[0].message, /HTTPS_PROXY/);
    assert.match(ours_[0].message, /NODE_EXTRA_CA_CERTS/);
  });

  test('environment fallbacks: ISSUER_BASE_URL and AUDIENCE', async () => {
    const saved = { ISSUER_BASE_URL: process.env.ISSUER_BASE_URL, AUDIENCE: process.env.AUDIENCE };
    process.env.ISSUER_BASE_URL = issuer.url;
    process.env.AUDIENCE = issuer.audience;
    try {
      const answers = await bothAnswer({}, { headers: { authorization: `Bearer ${await issuer.mint()}` } });
      assertSame(answers, 'env');
      assert.equal(answers.ours.status, 200);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });

  test('the error classes carry that library’s fields and challenges', () => {
    for (const [name, args] of [
      ['UnauthorizedError', []],
      ['InvalidRequestError', ['bad "thing"']],
      ['InvalidRequestError', ['', false]],
      ['InvalidTokenError', ['expired']],
      ['InsufficientScopeError', [['a', 'b']]],
      ['InvalidProofError', ['nope']],
    ]) {
      const theirs = name === 'InvalidProofError' ? undefined : new original[name](...args);
      const mine = new ours[name](...args);
      assert.ok(mine instanceof ours.UnauthorizedError && mine instanceof Error);
      assert.equal(mine.name, name);
      if (theirs) {
        for (const field of ['status', 'statusCode', 'code', 'message']) assert.equal(mine[field], theirs[field], `${name}.${field}`);
        assert.deepEqual(mine.headers, theirs.headers, `${name}.headers`);
      }
    }
    assert.deepEqual(new ours.InvalidProofError('nope').headers, {
      'WWW-Authenticate': 'Bearer realm="api", error="invalid_dpop_proof", error_description="nope"',
    });
    assert.equal(new ours.InvalidProofError().status, 400);
  });
});

describe('mcd: several issuers', () => {
  let second;
  let third;
  let stranger; // counts every request made to it
  let strangerHits = 0;

  before(async () => {
    second = await createTestIssuer({ algs: ['ES256'] });
    third = await createTestIssuer();
    const { createServer } = await import('node:http');
    stranger = createServer((req, res) => {
      strangerHits += 1;
      res.end('{}');
    });
    stranger.listen(0, '127.0.0.1');
    await once(stranger, 'listening');
  });

  after(async () => {
    await second?.close();
    await third?.close();
    stranger?.close();
  });

  const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });

  test('tokens from each listed issuer pass; a third is refused with no request made to it', async () => {
    const options = { mcd: { issuers: [issuer.url, { issuer: second.url }] }, audience: issuer.audience };
    third.resetCounters();
    for (const token of [await issuer.mint(), await second.mint()]) {
      const answers = await bothAnswer(options, bearer(token));
      assertSame(answers, 'listed issuer');
      assert.equal(answers.ours.status, 200);
    }
    const refused = await bothAnswer(options, bearer(await third.mint()));
    assertSame(refused, 'unlisted issuer');
    assert.equal(refused.ours.body.message, 'Token issuer is not allowed');
    assert.deepEqual(third.requests, { discovery: 0, jwks: 0, introspection: 0, revocation: 0, token: 0 });
  });

  test('a resolver decides per request; a flood of random issuers makes no network calls', async () => {
    const resolverCalls = [];
    const options = {
      audience: issuer.audience,
      mcd: {
        issuers: (context) => {
          resolverCalls.push(context.url.pathname);
          return context.headers['x-tenant'] === 'two' ? [second.url] : [issuer.url];
        },
      },
    };
    const lib = ours;
    const base = await appFor(lib, options);
    assert.equal((await call(base, { headers: { authorization: `Bearer ${await second.mint()}`, 'x-tenant': 'two' } })).status, 200);
    assert.equal((await call(base, { headers: { authorization: `Bearer ${await second.mint()}` } })).status, 401);
    assert.ok(resolverCalls.length >= 2);

    const flood = await appFor(ours, { audience: issuer.audience, mcd: { issuers: [issuer.url] } });
    const strangerUrl = `http://127.0.0.1:${stranger.address().port}`;
    for (let i = 0; i < 200; i += 1) {
      const token = await issuer.mint({ claims: { iss: `${strangerUrl}/tenant-${i}` } });
      const answer = await call(flood, bearer(token));
      assert.equal(answer.status, 401);
      assert.equal(answer.body.message, 'Token issuer is not allowed');
    }
    assert.equal(strangerHits, 0);
  });

  test('a listed issuer that is down refuses its own tokens while the other keeps serving', async () => {
    // `down` is listed, then closed before any of its tokens arrives: its discovery fails.
    const down = await createTestIssuer();
    const options = { mcd: { issuers: [issuer.url, down.url] }, audience: issuer.audience };
    const fromDown = await down.mint({ claims: { aud: issuer.audience } });
    await down.close();
    const apps = { original: await appFor(original, options), ours: await appFor(ours, options) };
    const both = async (request) => ({
      original: await call(apps.original, request),
      ours: await call(apps.ours, request),
    });
    const refused = await both(bearer(fromDown));
    assertSame(refused, 'issuer down');
    assert.equal(refused.ours.status, 401);
    const served = await both(bearer(await issuer.mint()));
    assertSame(served, 'the other issuer');
    assert.equal(served.ours.status, 200);
    // Once more, after the failure: the failed discovery left nothing behind for the other.
    assert.equal((await both(bearer(fromDown))).ours.status, 401);
    assert.equal((await both(bearer(await issuer.mint()))).ours.status, 200);
  });

  test("mcd's configuration errors", () => {
    for (const mcd of [
      { issuers: [{ issuer: 'https://a.example', secret: 's' }] },
      { issuers: [{ issuer: 'https://a.example', secret: 's', alg: 'RS256' }] },
      { issuers: [{ issuer: 'https://a.example', alg: 'HS256' }] },
    ]) {
      let theirs;
      try {
        original.auth({ mcd, audience: 'x' });
      } catch (error) {
        theirs = error;
      }
      assert.ok(theirs);
      assert.throws(() => ours.auth({ mcd, audience: 'x' }), { message: theirs.message });
    }
  });
});

describe('discovery', () => {
  let asOnly; // serves only RFC 8414 metadata, naming the test issuer's key set
  let broken; // serves no metadata at all
  let asOnlyUrl;
  let brokenUrl;
  const hits = { oidc: 0, oauth: 0, broken: 0 };

  before(async () => {
    const { createServer } = await import('node:http');
    const jwksUri = (await fetch(`${issuer.url}/.well-known/openid-configuration`).then((r) => r.json())).jwks_uri;
    asOnly = createServer((req, res) => {
      if (req.url === '/.well-known/oauth-authorization-server') {
        hits.oauth += 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: asOnlyUrl, jwks_uri: jwksUri }));
        return;
      }
      if (req.url === '/.well-known/openid-configuration') hits.oidc += 1;
      res.statusCode = 404;
      res.end();
    });
    asOnly.listen(0, '127.0.0.1');
    await once(asOnly, 'listening');
    asOnlyUrl = `http://127.0.0.1:${asOnly.address().port}`;
    broken = createServer((req, res) => {
      hits.broken += 1;
      res.statusCode = 500;
      res.end();
    });
    broken.listen(0, '127.0.0.1');
    await once(broken, 'listening');
    brokenUrl = `http://127.0.0.1:${broken.address().port}`;
  });

  after(() => {
    asOnly?.close();
    broken?.close();
  });

  test('OpenID metadata first, then OAuth 2.0 authorization server metadata', async () => {
    const token = await issuer.mint({ claims: { iss: asOnlyUrl } });
    const answers = await bothAnswer({ issuerBaseURL: asOnlyUrl, audience: issuer.audience }, { headers: { authorization: `Bearer ${token}` } });
    assertSame(answers, 'RFC 8414 metadata');
    assert.equal(answers.ours.status, 200);
    assert.ok(hits.oidc >= 2 && hits.oauth >= 2, JSON.stringify(hits));
  });

  test('an issuer without metadata: 401 invalid_token, and the next request tries again', async () => {
    const options = { issuerBaseURL: brokenUrl, audience: issuer.audience };
    const answers = await bothAnswer(options, { headers: { authorization: `Bearer ${await issuer.mint()}` } });
    assertSame(answers, 'no metadata');
    assert.equal(answers.ours.body.message, 'Failed to fetch authorization server metadata');
    const base = await appFor(ours, options);
    const before = hits.broken;
    await call(base, { headers: { authorization: `Bearer ${await issuer.mint()}` } });
    await call(base, { headers: { authorization: `Bearer ${await issuer.mint()}` } });
    assert.equal(hits.broken - before, 4, 'two forms of metadata, tried again on the second request');
  });

  test('an invalid Host header is a 400 before the token is looked at', async () => {
    const { request } = await import('node:http');
    for (const lib of [original, ours]) {
      const base = new URL(await appFor(lib, { issuerBaseURL: issuer.url, audience: issuer.audience }));
      const answer = await new Promise((resolve, reject) => {
        const req = request({ host: base.hostname, port: base.port, path: '/any', headers: { host: 'bad host/x' } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode, challenge: res.headers['www-authenticate'] });
        });
        req.on('error', reject);
        req.end();
      });
      assert.deepEqual(answer, { status: 400, challenge: 'Bearer realm="api", error="invalid_request", error_description="Invalid Host header"' });
    }
  });
});
