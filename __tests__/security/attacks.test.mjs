// Hostile tokens and hostile requests: every classic JWT attack, malformed encodings, parser
// bombs and odd Authorization headers, through the client and through real Express and
// Fastify apps (protectApi on 127.0.0.1).
//
// For every refused token: the error is a MonoCloudTokenError with code `invalid_token` (HTTP 401
// with `WWW-Authenticate: Bearer error="invalid_token"` through the adapters), nothing crashes,
// a good token is served right after, and no error message, response or onEvent event repeats
// the token or any long piece of it (its signature, its payload).
//
// Where upstream (@monocloud/backend-node) leaves a behaviour open, the choice pinned here is
// explained where it is asserted. Known bugs are `todo`
// tests whose note starts with BUG: they fail today and pass once fixed.
//
// The two issuers, the hostile key set, the token helpers and the table of refused tokens are
// in support/attack-fixtures.mjs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  MonoCloudBackendNodeClient,
  MonoCloudOidcBackendClient,
  MonoCloudHttpError,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from '@monocloud/backend-node-rs';

import {
  assertNoLeak,
  AUDIENCE,
  BAD_ALG,
  BAD_HEADER,
  BAD_PAYLOAD,
  client,
  events,
  goodHostileToken,
  hostile,
  hostileClaims,
  hostileClient,
  hostileToken,
  introspecting,
  issuer,
  issuerClaims,
  keys,
  P256_N,
  refused,
  servesGood,
  signatureOf,
  startAttackFixtures,
  stopAttackFixtures,
  table,
  TOO_LARGE,
  usedTokens,
  withSignature,
} from '../support/attack-fixtures.mjs';
import { now } from '../support/clock.mjs';
import { b64url } from '../support/forge.mjs';
import { frameworks, get, serve } from '../support/frameworks.mjs';
import { rawGet } from '../support/raw-http.mjs';
import { NO_TOKEN_CHALLENGE } from '../support/challenges.mjs';

before(startAttackFixtures);
after(stopAttackFixtures);

// ---------------------------------------------------------------------------------------------

describe('hostile tokens through the client', () => {
  for (const entry of table) {
    test(`${entry.section}: ${entry.name}`, async () => {
      entry.token ??= await entry.make();
      const target = entry.target === 'hostile' ? hostileClient : client;
      await refused(target.validateAccessToken(entry.token), entry.token, { message: entry.message });
      await servesGood(entry.target);
    });
  }

  test('the jku and x5u URLs were never fetched', () => {
    assert.equal(hostile.counts.other, 0, `fetched: ${hostile.requests.filter((r) => r.route === 'other').map((r) => r.path).join(', ')}`);
  });
});

describe('controls: what is accepted, and why', () => {
  test('a key without "alg" verifies RS256 and PS256 alike (as a JWK without alg does everywhere)', async () => {
    for (const alg of ['RS256', 'PS256']) {
      const claims = await hostileClient.validateAccessToken(hostileToken({ header: { alg, kid: 'rsa-any' }, key: keys.rsaAny }));
      assert.equal(claims.sub, 'attacker');
    }
  });

  test('each declared-alg key verifies its own algorithm', async () => {
    await hostileClient.validateAccessToken(hostileToken({ header: { alg: 'RS256', kid: 'rsa-rs256' }, key: keys.rsaRs }));
    await hostileClient.validateAccessToken(hostileToken({ header: { alg: 'PS256', kid: 'rsa-ps256' }, key: keys.rsaPs }));
  });

  test('b64:false without crit is ignored: the token is checked over the encoded payload, as any other', async () => {
    const token = hostileToken({ header: { alg: 'ES256', kid: 'good-es256', b64: false } });
    assert.equal((await hostileClient.validateAccessToken(token)).sub, 'attacker');
  });

  test('an "enc" member in a signed header is just another header member (the signature covers it)', async () => {
    const token = await issuer.signRaw({ alg: 'ES256', kid: 'es256-1', enc: 'A256GCM' }, issuerClaims());
    assert.equal((await client.validateAccessToken(token)).sub, 'attacker');
  });

  test('a non-ASCII kid selects its key', async () => {
    const token = hostileToken({ header: { alg: 'ES256', kid: 'ключ-🔑' }, key: keys.unicode });
    assert.equal((await hostileClient.validateAccessToken(token)).sub, 'attacker');
  });

  test('the (r, n − s) twin of an ES256 signature verifies, as ECDSA does everywhere, and is its own cache entry', async () => {
    // Not a forgery: only the holder of a signature can make its twin, and the twin carries the
    // same claims. Noted because a token string is not a unique id of a signature.
    const token = goodHostileToken();
    const sig = signatureOf(token);
    const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
    const twin = withSignature(token, Buffer.concat([sig.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]));
    assert.notEqual(twin, token);
    assert.deepEqual(await hostileClient.validateAccessToken(twin), await hostileClient.validateAccessToken(token));
  });
});

// ---------------------------------------------------------------------------------------------

describe('JWE-shaped tokens in five parts', () => {
  const jwe = () =>
    [{ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'rs256-1' }, randomBytes(256), randomBytes(12), randomBytes(64), randomBytes(16)].map((part) => b64url(part)).join('.');

  test('are not JWTs: without introspection they are a configuration error (as upstream)', async () => {
    const token = jwe();
    await assert.rejects(client.validateAccessToken(token), (error) => {
      assert.ok(error instanceof MonoCloudValidationError);
      assert.equal(error.message, 'Token introspection is not configured');
      assertNoLeak(token, [error.message, error.stack]);
      return true;
    });
    await servesGood('issuer');
  });

  test('validateJwtAccessToken refuses them as invalid_token', async () => {
    const token = jwe();
    await refused(client.validateJwtAccessToken(token), token, { message: 'JWT access token must have a header, payload and signature' });
  });

  test('with introspection, the issuer does not know them: inactive_token', async () => {
    const token = jwe();
    await refused(introspecting.validateAccessToken(token), token, {
      code: 'inactive_token',
      message: 'Token is not active. The introspection endpoint returned active=false',
    });
    assert.equal((await introspecting.validateAccessToken(await issuer.mint())).aud, AUDIENCE);
  });
});

// ---------------------------------------------------------------------------------------------

describe('duplicate JSON members: the last one wins, in the checks and in the claims returned', () => {
  // serde_json keeps the last of duplicate members, as JSON.parse does; the client checks the
  // parsed payload and hands JavaScript the same text, so the two can never disagree.
  const base = () => `"iss":"${issuer.url}","sub":"s","exp":${now() + 300}`;
  const sign = (payload) => issuer.signRaw({ alg: 'ES256', kid: 'es256-1' }, payload);

  test('two aud, ours last: accepted, and the claims say ours', async () => {
    const token = await sign(`{${base()},"aud":"https://evil.example.com","aud":"${AUDIENCE}"}`);
    const claims = await client.validateAccessToken(token);
    assert.equal(claims.aud, AUDIENCE);
    assert.deepEqual(await client.validateAccessToken(token), claims, 'a cache hit returns the same claims');
  });

  test('two aud, ours first: refused', async () => {
    const token = await sign(`{${base()},"aud":"${AUDIENCE}","aud":"https://evil.example.com"}`);
    await refused(client.validateAccessToken(token), token, { message: 'Invalid audience claim' });
  });

  test('two exp, the past one last: refused', async () => {
    const token = await sign(`{"iss":"${issuer.url}","aud":"${AUDIENCE}","exp":${now() + 300},"exp":${now() - 3600}}`);
    await refused(client.validateAccessToken(token), token, { message: 'Unexpected "exp" (expiration time) claim value, timestamp is <= now()' });
  });

  test('two exp, the future one last: accepted with that exp', async () => {
    const exp = now() + 300;
    const token = await sign(`{"iss":"${issuer.url}","aud":"${AUDIENCE}","exp":${now() - 3600},"exp":${exp}}`);
    assert.equal((await client.validateAccessToken(token)).exp, exp);
  });

  test('two iss, a foreign one last: refused', async () => {
    const token = await sign(`{${base()},"aud":"${AUDIENCE}","iss":"https://evil.example.com"}`);
    await refused(client.validateAccessToken(token), token, { message: 'Invalid Issuer' });
  });

  test('two scope: the last decides the scope check and is what is returned', async () => {
    const token = await sign(`{${base()},"aud":"${AUDIENCE}","scope":"admin","scope":"read"}`);
    await refused(client.validateAccessToken(token, { scopes: ['admin'] }), token, { code: 'insufficient_scope', message: 'Token is missing required scopes' });
    assert.equal((await client.validateAccessToken(token, { scopes: ['read'] })).scope, 'read');
  });

  test('an escaped spelling of a member name is the same member', async () => {
    const token = await sign(`{${base()},"aud":"https://evil.example.com","a\\u0075d":"${AUDIENCE}"}`);
    assert.equal((await client.validateAccessToken(token)).aud, AUDIENCE);
    const reversed = await sign(`{${base()},"a\\u0075d":"${AUDIENCE}","aud":"https://evil.example.com"}`);
    await refused(client.validateAccessToken(reversed), reversed, { message: 'Invalid audience claim' });
  });

  test('in the header too: the last alg and kid count', async () => {
    const last = (header) => hostileToken({ header, signAs: 'ES256' });
    const noneLast = last('{"alg":"ES256","kid":"good-es256","alg":"none"}');
    await refused(hostileClient.validateAccessToken(noneLast), noneLast, { message: BAD_ALG });
    assert.equal((await hostileClient.validateAccessToken(last('{"alg":"none","kid":"good-es256","alg":"ES256"}'))).sub, 'attacker');
    assert.equal((await hostileClient.validateAccessToken(last('{"alg":"ES256","kid":"rsa-1024","kid":"good-es256"}'))).sub, 'attacker');
  });

  test('__proto__ is an ordinary claim, not a prototype', async () => {
    const token = await sign(`{${base()},"aud":"${AUDIENCE}","__proto__":{"admin":true}}`);
    const claims = await client.validateAccessToken(token);
    assert.equal(claims.admin, undefined);
    assert.deepEqual(Object.getOwnPropertyDescriptor(claims, '__proto__').value, { admin: true });
    assert.equal({}.admin, undefined);
  });
});

// ---------------------------------------------------------------------------------------------

describe('deep nesting: a clean invalid_token, no stack overflow', () => {
  const nested = (depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const sign = (payload) => issuer.signRaw({ alg: 'ES256', kid: 'es256-1' }, payload);
  const claimsText = (value) => `{"iss":"${issuer.url}","aud":"${AUDIENCE}","exp":${now() + 300},"x":${value}}`;

  test('10,000 nested arrays in a claim: over the size limit, refused before parsing', async () => {
    const token = await sign(claimsText(nested(10_000)));
    await refused(client.validateAccessToken(token), token, { message: TOO_LARGE });
    await servesGood('issuer');
  });

  test('5,000 nested arrays in a claim (within the size limit): refused by the parser', async () => {
    const token = await sign(claimsText(nested(5_000)));
    assert.ok(token.length < 16 * 1024);
    await refused(client.validateAccessToken(token), token, { message: BAD_PAYLOAD });
    await servesGood('issuer');
  });

  test('1,500 nested objects in a claim: refused by the parser', async () => {
    const token = await sign(claimsText(`${'{"a":'.repeat(1_500)}1${'}'.repeat(1_500)}`));
    await refused(client.validateAccessToken(token), token, { message: BAD_PAYLOAD });
  });

  test('nesting the parser allows comes back exactly', async () => {
    const claims = await client.validateAccessToken(await sign(claimsText(nested(120))));
    assert.deepEqual(claims.x, JSON.parse(nested(120)));
  });

  test('5,000 and 10,000 nested arrays in the header', async () => {
    for (const [depth, message] of [[5_000, BAD_HEADER], [10_000, TOO_LARGE]]) {
      const token = `${b64url(`{"alg":"ES256","x":${nested(depth)}}`)}.${b64url(issuerClaims())}.${b64url(randomBytes(64))}`;
      await refused(client.validateAccessToken(token), token, { message });
    }
    await servesGood('issuer');
  });

  test('decodeJwt (no size limit, synchronous) with a payload nested 100,000 deep', () => {
    const token = `e30.${b64url(`{"x":${nested(100_000)}}`)}.c2ln`;
    assert.throws(() => MonoCloudOidcBackendClient.decodeJwt(token), (error) => {
      assert.ok(error instanceof MonoCloudTokenError);
      assert.equal(error.message, 'Could not parse payload. Malformed payload');
      return true;
    });
  });

  test('issuer documents nested 100,000 deep (discovery, JWKS, introspection) are MonoCloudHttpError', async () => {
    const deep = `{"x":${nested(100_000)}}`;
    const documents = { discovery: undefined, jwks: undefined, introspection: undefined };
    const fetcher = async (url) => {
      const path = new URL(url).pathname;
      const which = path.endsWith('openid-configuration') ? 'discovery' : path === '/jwks' ? 'jwks' : 'introspection';
      const fallback = {
        discovery: JSON.stringify({ issuer: issuer.url, jwks_uri: `${issuer.url}/jwks`, introspection_endpoint: `${issuer.url}/introspect` }),
        jwks: JSON.stringify(issuer.jwks),
        introspection: JSON.stringify({ active: false }),
      };
      return new Response(documents[which] ?? fallback[which], { status: 200, headers: { 'content-type': 'application/json' } });
    };
    for (const which of ['discovery', 'jwks', 'introspection']) {
      documents.discovery = documents.jwks = documents.introspection = undefined;
      documents[which] = deep;
      const fresh = new MonoCloudBackendNodeClient({
        tenantDomain: issuer.url,
        audience: AUDIENCE,
        clientId: 'test-client',
        clientSecret: 'test-secret',
        fetcher,
      });
      const token = which === 'introspection' ? 'an-opaque-token' : await issuer.mint();
      await assert.rejects(fresh.validateAccessToken(token), (error) => {
        assert.ok(error instanceof MonoCloudHttpError, `${which}: ${error?.constructor?.name} ${error?.message}`);
        assert.match(error.message, /^Failed to parse response body as JSON/);
        return true;
      });
      documents[which] = undefined;
      if (which !== 'introspection') assert.equal((await fresh.validateAccessToken(await issuer.mint())).aud, AUDIENCE);
    }
  });

  test('a jwks option nested 1,000 deep is refused as a key set', async () => {
    // (Much deeper and JSON.stringify, in JavaScript, runs out of stack first: a RangeError.)
    const base = new MonoCloudOidcBackendClient(issuer.url, AUDIENCE);
    const deep = JSON.parse(`{"keys":[],"x":${nested(1_000)}}`);
    await assert.rejects(base.validateJwtAccessToken(await issuer.mint(), { jwks: deep }), (error) => {
      assert.ok(error instanceof MonoCloudValidationError, `${error?.constructor?.name} ${error?.message}`);
      return true;
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('unicode', () => {
  const sign = (payload, header = { alg: 'ES256', kid: 'es256-1' }) => issuer.signRaw(header, payload);

  test('claims in many scripts come back exactly', async () => {
    const text = {
      latin: 'Zoë Ångström Łódź ß',
      greek: 'Καλημέρα κόσμε',
      cyrillic: 'Съешь же ещё этих мягких французских булок',
      arabic: 'مرحبا بالعالم',
      hebrew: 'שלום עולם',
      devanagari: 'नमस्ते दुनिया',
      thai: 'สวัสดีชาวโลก',
      cjk: '東京都 你好世界 こんにちは',
      hangul: '안녕하세요',
      emoji: '🔐👩🏽‍💻🏳️‍🌈',
      astral: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛',
      combining: 'e\u0301 a\u030a',
      controls: 'nul\u0000 tab\t nl\n ls\u2028 ps\u2029 bom\ufeff',
    };
    const token = await sign(issuerClaims({ text, 'ключ': 'значение', '🔑': ['ä', { 'ü': 'ö' }] }));
    const claims = await client.validateAccessToken(token);
    assert.deepEqual(claims.text, text);
    assert.equal(claims['ключ'], 'значение');
    assert.deepEqual(claims['🔑'], ['ä', { 'ü': 'ö' }]);
  });

  test('escaped forms decode to the same text', async () => {
    const claims = await client.validateAccessToken(
      await sign(`{"iss":"${issuer.url}","aud":"${AUDIENCE}","exp":${now() + 300},"e":"\\u00e9\\u6771\\ud83d\\udd10\\/"}`),
    );
    assert.equal(claims.e, 'é東🔐/');
  });

  for (const [name, value] of [
    ['a lone high surrogate', '"\\ud800"'],
    ['a lone low surrogate', '"\\udc00"'],
    ['two high surrogates', '"\\ud800\\ud800"'],
    ['a low then a high surrogate', '"\\udc00\\ud800"'],
  ]) {
    test(`${name} escaped in a claim is refused (JSON.parse would accept it; the client never hands JavaScript what it did not check)`, async () => {
      const token = await sign(`{"iss":"${issuer.url}","aud":"${AUDIENCE}","exp":${now() + 300},"x":${value}}`);
      await refused(client.validateAccessToken(token), token, { message: BAD_PAYLOAD });
    });
  }

  test('a lone surrogate in a member name is refused too', async () => {
    const token = await sign(`{"iss":"${issuer.url}","aud":"${AUDIENCE}","exp":${now() + 300},"\\ud800":1}`);
    await refused(client.validateAccessToken(token), token, { message: BAD_PAYLOAD });
  });

  for (const [name, bytes] of [
    ['a 0xFF byte', [0xff]],
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
    ['an encoded surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['a truncated sequence (E6 9D)', [0xe6, 0x9d]],
    ['Latin-1 "é" (E9)', [0xe9]],
  ]) {
    test(`invalid UTF-8 in a signed payload (${name}) is refused`, async () => {
      const claims = Buffer.from(JSON.stringify(hostileClaims({ name: 'XX' })));
      const at = claims.indexOf('XX');
      const payload = Buffer.concat([claims.subarray(0, at), Buffer.from(bytes), claims.subarray(at + 2)]);
      const token = hostileToken({ header: { alg: 'ES256', kid: 'good-es256' }, payload });
      await refused(hostileClient.validateAccessToken(token), token, { message: BAD_PAYLOAD });
      await servesGood('hostile');
    });
  }

  test('a byte-order mark before the payload is refused', async () => {
    const token = await sign(`\ufeff${JSON.stringify(issuerClaims())}`);
    await refused(client.validateAccessToken(token), token, { message: BAD_PAYLOAD });
  });

  test('look-alike issuer and audience are refused; no Unicode normalisation', async () => {
    const cases = [
      [issuerClaims({ iss: issuer.url.replace('127', '１２７') }), 'Invalid Issuer'],
      [issuerClaims({ aud: AUDIENCE.replace('a', '\u0430') }), 'Invalid audience claim'],
      [issuerClaims({ aud: `${AUDIENCE}\u200b` }), 'Invalid audience claim'],
    ];
    for (const [claims, message] of cases) {
      const token = await sign(claims);
      await refused(client.validateAccessToken(token), token, { message });
    }
    // The node client wants an ASCII URI as audience; the positional client takes any string.
    const nfc = new MonoCloudOidcBackendClient(issuer.url, 'caf\u00e9');
    const nfd = await sign(issuerClaims({ aud: 'cafe\u0301' }));
    await refused(nfc.validateJwtAccessToken(nfd), nfd, { message: 'Invalid audience claim' });
    assert.equal((await nfc.validateJwtAccessToken(await sign(issuerClaims({ aud: 'caf\u00e9' })))).sub, 'attacker');
  });
});

// ---------------------------------------------------------------------------------------------

describe('whitespace and strict base64url, through the client', () => {
  // The client does not trim, as upstream does not: a token with whitespace around or inside it is a
  // different string, and the adapters' header parsing is tested below.
  const variants = {
    'a leading space': (t) => ` ${t}`,
    'a trailing space': (t) => `${t} `,
    'a leading newline': (t) => `\n${t}`,
    'a trailing newline': (t) => `${t}\n`,
    'a trailing CRLF': (t) => `${t}\r\n`,
    'a leading tab': (t) => `\t${t}`,
    'a no-break space around': (t) => `\u00a0${t}\u00a0`,
    'a byte-order mark in front': (t) => `\ufeff${t}`,
    'a space after the first dot': (t) => t.replace('.', '. '),
    'a newline in the payload': (t) => {
      const [h, p, s] = t.split('.');
      return `${h}.${p.slice(0, 10)}\n${p.slice(10)}.${s}`;
    },
    'a space in the signature': (t) => `${t.slice(0, -10)} ${t.slice(-10)}`,
    'a tab in the header': (t) => `${t.slice(0, 5)}\t${t.slice(5)}`,
    'a zero-width space in the signature': (t) => `${t.slice(0, -10)}\u200b${t.slice(-10)}`,
    'a padded header': (t) => {
      const [h, p, s] = t.split('.');
      return `${h}${'='.repeat((4 - (h.length % 4)) % 4 || 4)}.${p}.${s}`;
    },
    'a header in the standard alphabet': (t) => {
      const [, p, s] = t.split('.');
      return `${Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'es256-1', x: '\u00fb\u00ff\u00fe' })).toString('base64')}.${p}.${s}`;
    },
    'percent-encoded dots': (t) => t.replaceAll('.', '%2E'),
  };
  for (const [name, change] of Object.entries(variants)) {
    test(name, async () => {
      const token = change(await issuer.mint({ alg: 'ES256' }));
      // Percent-encoded dots leave one part: an opaque token, which needs introspection.
      const target = name === 'percent-encoded dots' ? introspecting : client;
      await refused(target.validateAccessToken(token), token, name === 'percent-encoded dots' ? { code: 'inactive_token' } : {});
      await servesGood('issuer');
    });
  }
});

// ---------------------------------------------------------------------------------------------

const http = frameworks.filter((f) => f.name === 'Express 5' || f.name === 'Fastify 5');

for (const framework of http) {
  describe(`hostile tokens through protectApi on ${framework.name}`, () => {
    let app;
    before(async () => {
      const { protectApi } = framework.adapter;
      app = await serve(framework, {
        '/api': [protectApi(client)()],
        '/hostile': [protectApi(hostileClient)()],
        '/intro': [protectApi(introspecting)()],
      });
    });
    after(async () => {
      await app?.close();
    });

    async function refusedOverHttp(path, token) {
      usedTokens.add(token);
      const res = await get(`${app.url}${path}`, { authorization: `Bearer ${token}` });
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
      assert.deepEqual(res.body, { message: 'unauthorized' });
      assertNoLeak(token, [JSON.stringify(res.body), JSON.stringify(res.headers)]);
    }

    async function passesOverHttp(path) {
      const token = path === '/hostile' ? goodHostileToken() : await issuer.mint({ alg: 'ES256' });
      const res = await get(`${app.url}${path}`, { authorization: `Bearer ${token}` });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.claims.aud, AUDIENCE);
    }

    for (const entry of table) {
      test(`${entry.section}: ${entry.name}`, async () => {
        entry.token ??= await entry.make();
        const path = entry.target === 'hostile' ? '/hostile' : '/api';
        await refusedOverHttp(path, entry.token);
        await passesOverHttp(path);
      });
    }

    test('a five-part JWE with introspection configured: 401 invalid_token', async () => {
      const token = [{ alg: 'RSA-OAEP-256', enc: 'A256GCM' }, randomBytes(256), randomBytes(12), randomBytes(64), randomBytes(16)].map((p) => b64url(p)).join('.');
      await refusedOverHttp('/intro', token);
      await passesOverHttp('/intro');
    });

    // DECISIONS 29: not a JWT and no introspection is a bad token, which any caller can send.
    test('a five-part JWE without introspection configured: 401 invalid_token, not a 500', async () => {
      const token = [{ alg: 'dir', enc: 'A256GCM' }, '', randomBytes(12), randomBytes(64), randomBytes(16)].map((p) => b64url(p)).join('.');
      const res = await get(`${app.url}/api`, { authorization: `Bearer ${token}` });
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
      assert.deepEqual(res.body, { message: 'unauthorized' });
      assertNoLeak(token, [JSON.stringify(res.body)]);
      await passesOverHttp('/api');
    });
  });
}

// ---------------------------------------------------------------------------------------------

for (const framework of frameworks) {
  describe(`malformed Authorization headers on ${framework.name}`, () => {
    let app;
    let token;
    before(async () => {
      const { protectApi } = framework.adapter;
      app = await serve(framework, { '/intro': [protectApi(introspecting)()] });
      token = await issuer.mint({ alg: 'ES256' });
    });
    after(async () => {
      await app?.close();
    });

    const noToken = (res) => {
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.headers['www-authenticate'], NO_TOKEN_CHALLENGE);
      assert.deepEqual(res.body, { message: 'unauthorized' });
    };
    const invalid = (res) => {
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
      assert.deepEqual(res.body, { message: 'unauthorized' });
    };
    const passes = (res) => {
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.claims.aud, AUDIENCE);
    };
    const dpopWithoutProof = (res) => {
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.headers['www-authenticate'], /^DPoP error="invalid_request", algs="ES256 /);
      assert.deepEqual(res.body, { message: 'bad request' });
    };

    async function expect(header, outcome) {
      const value = typeof header === 'function' ? header(token) : header;
      const res = await get(`${app.url}/intro`, value === undefined ? {} : { authorization: value });
      outcome(res);
      assertNoLeak(token, [typeof res.body === 'string' ? res.body : JSON.stringify(res.body)]);
      passes(await get(`${app.url}/intro`, { authorization: `Bearer ${token}` }));
    }

    const cases = [
      ['"Bearer" and 1,000 spaces', (t) => `Bearer${' '.repeat(1000)}${t}`, passes],
      ['tabs only as separators', (t) => `Bearer\t\t\t${t}`, passes],
      ['mixed whitespace around', (t) => ` \t Bearer \t ${t} \t `, passes],
      ['a scheme in odd case', (t) => `bEaReR ${t}`, passes],
      ['"Bearer a b"', 'Bearer a b', noToken],
      ['the token twice', (t) => `Bearer ${t} ${t}`, noToken],
      ['"Bearer" and 10 KB of spaces', `Bearer${' '.repeat(10 * 1024)}`, noToken],
      ['"Bearer " with nothing after', 'Bearer ', noToken],
      ['an empty header', '', noToken],
      ['no header at all', undefined, noToken],
      ['Basic credentials', 'Basic dXNlcjpwYXNzd29yZA==', noToken],
      ['Basic with the token', (t) => `Basic ${t}`, noToken],
      // RFC 9449 §7.1: the DPoP scheme needs its proof (the original answered "no token").
      ['DPoP with the token and no proof', (t) => `DPoP ${t}`, dpopWithoutProof],
      ['"Bearer:" with a colon', (t) => `Bearer: ${t}`, noToken],
      ['"Bearer=" glued to the token', (t) => `Bearer=${t}`, noToken],
      ['the token alone', (t) => t, noToken],
      ['a 10 KB opaque token', `Bearer ${'A'.repeat(10 * 1024)}`, invalid],
      ['a 10 KB JWT-shaped token', `Bearer ${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`, invalid],
      ['the token in quotes', (t) => `Bearer "${t}"`, invalid],
      ['a trailing comma', (t) => `Bearer ${t},`, invalid],
      ['two credentials with a comma', (t) => `Bearer ${t},Bearer ${t}`, noToken],
      ['two credentials with a comma and no space', (t) => `Bearer ${t},Bearer`, invalid],
      ['Latin-1 text (sent as bytes 0x80-0xFF)', 'Bearer t\u00f6k\u00e9n.\u00ff\u00fe.\u00e9', invalid],
      ['Latin-1 text inside an otherwise valid token', (t) => `Bearer ${t.slice(0, -4)}\u00e9${t.slice(-3)}`, invalid],
      ['duplicated: a good one first', (t) => [`Bearer ${t}`, 'Bearer x.y.z'], passes],
      ['duplicated: a bad one first', (t) => ['Bearer x.y.z', `Bearer ${t}`], invalid],
      ['duplicated: an empty one first', (t) => ['', `Bearer ${t}`], noToken],
    ];
    for (const [name, header, outcome] of cases) {
      test(name, () => expect(header, outcome));
    }

    // Bytes node:http will not send: the server's HTTP parser or the adapter answers, and the
    // next request is served.
    const raw = [
      ['UTF-8 text in the header', [Buffer.concat([Buffer.from('Authorization: Bearer '), Buffer.from('東京.トークン.署名', 'utf8')])], (res) => invalid(res)],
      ['UTF-8 text inside a valid token', null, (res) => invalid(res)],
      ['a NUL byte in the header', ['Authorization: Bearer ab\u0000cd'], (res) => assert.equal(res.status, 400)],
      ['a vertical tab in the header', ['Authorization: Bearer\u000babc'], (res) => assert.equal(res.status, 400)],
      ['a bare CR in the header', ['Authorization: Bearer a\rb'], (res) => assert.equal(res.status, 400)],
      ['a folded header line (obs-fold)', null, (res) => assert.ok(res.status === 400 || res.status === 401, `status ${res.status}`)],
      ['a 20 KB header (over the HTTP parser limit)', [`Authorization: Bearer ${'a'.repeat(20 * 1024)}`], (res) => assert.equal(res.status, 431)],
    ];
    for (const [name, lines, outcome] of raw) {
      test(`${name} (raw bytes)`, async () => {
        let headerLines = lines;
        if (name.startsWith('UTF-8 text inside')) {
          headerLines = [Buffer.concat([Buffer.from(`Authorization: Bearer ${token.slice(0, -4)}`), Buffer.from('é', 'utf8'), Buffer.from(token.slice(-3))])];
        } else if (name.startsWith('a folded')) {
          headerLines = ['Authorization: Bearer', ` ${token}`];
        }
        const res = await rawGet(app.url, '/intro', headerLines);
        outcome(res);
        assert.ok(!res.text.includes(token.split('.')[2]), 'the response repeats the signature');
        passes(await get(`${app.url}/intro`, { authorization: `Bearer ${token}` }));
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------

describe('hostile settings and options', () => {
  // BUG: claims.rs compares `exp <= now + skew - tolerance` (and nbf likewise) and accepts when
  // the comparison is false; with a NaN anywhere every comparison is false. The constructor
  // refuses NaN, the runtime setters take any f64. Expected: the setter throws for a non-finite
  // value, or the checks fail closed (`!(exp > limit)`).
  for (const [name, set] of [
    ['setClockSkew(NaN)', (c) => c.setClockSkew(Number.NaN)],
    ['setClockTolerance(NaN)', (c) => c.setClockTolerance(Number.NaN)],
    ['setClockSkew(Number(undefined))', (c) => c.setClockSkew(Number(undefined))],
  ]) {
    test(
      `${name} does not turn the expiry and not-before checks off`,
      async () => {
        const fresh = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: AUDIENCE });
        // The setter refuses the value; the checks fail closed anyway, so try both.
        assert.throws(() => set(fresh), (e) => e instanceof MonoCloudValidationError && /must be a finite number/.test(e.message));
        const expired = await issuer.mint({ claims: { exp: now() - 86_400 } });
        await refused(fresh.validateAccessToken(expired), expired, { message: 'Unexpected "exp" (expiration time) claim value, timestamp is <= now()' });
        const early = await issuer.mint({ claims: { nbf: now() + 86_400 } });
        await refused(fresh.validateAccessToken(early), early, { message: 'Unexpected "nbf" (not before) claim value, timestamp is > now()' });
      },
    );
  }

  test(
    'an option holding a large sparse array does not stall construction',
    () => {
      const start = performance.now();
      new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: AUDIENCE, somethingElse: new Array(2_000_000) });
      assert.ok(performance.now() - start < 500, `construction took ${Math.round(performance.now() - start)} ms`);
    },
  );
});

// ---------------------------------------------------------------------------------------------

describe('events', () => {
  test('no onEvent event ever carried a token or a piece of one', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(events.length > 100, `events were reported (${events.length})`);
    assert.ok(usedTokens.size > 100);
    for (const token of usedTokens) assertNoLeak(token, events);
  });
});
