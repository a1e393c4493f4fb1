#!/usr/bin/env node
// Writes the fuzzers' seed inputs, small and few: `node fuzz/seeds/generate.mjs`.
//
//   seeds/jwks.json              public keys, one per algorithm (compiled into the targets)
//   seeds/tokens.json            one validly signed token per algorithm for those keys
//   seeds/<target>/<name>        starting inputs per target
//
// The private keys are thrown away. Re-running replaces every file (and the targets, which
// include jwks.json and tokens.json, are rebuilt by the next `cargo fuzz run`).
import { constants, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const ISSUER = 'https://tenant.example.com';
const AUDIENCE = 'https://api.example.com';
const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function pair(alg, modulusLength = 2048) {
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519');
  if (alg.startsWith('ES')) return generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg] });
  return generateKeyPairSync('rsa', { modulusLength });
}

function signWith(alg, privateKey, input) {
  const digest = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  const options = alg.startsWith('PS')
    ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 }
    : alg.startsWith('ES')
      ? { dsaEncoding: 'ieee-p1363' }
      : {};
  return sign(digest, Buffer.from(input), { key: privateKey, ...options }).toString('base64url');
}

function compact(alg, privateKey, header, payload) {
  const input = `${b64url(header)}.${typeof payload === 'string' ? b64url(payload) : b64url(payload)}`;
  return `${input}.${signWith(alg, privateKey, input)}`;
}

const now = 1_700_000_000;
const claims = { iss: ISSUER, sub: 'user', aud: AUDIENCE, iat: now, exp: now + 300, scope: 'read write', groups: ['a', { id: 'b' }] };

const keys = ALGS.map((alg) => {
  const { privateKey, publicKey } = pair(alg);
  const kid = `${alg.toLowerCase()}-1`;
  return { alg, kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
});
const jwks = { keys: keys.map((k) => k.jwk) };
const tokens = keys.map((k) => compact(k.alg, k.privateKey, { alg: k.alg, typ: 'at+jwt', kid: k.kid }, claims));

const seeds = {
  jwt_parse: {},
  jwks_parse: {},
  introspection_answer: {},
  config_resolve: {},
  claim_checks: {},
};

// ---- jwt_parse
const es = keys.find((k) => k.alg === 'ES256');
tokens.forEach((token, i) => {
  seeds.jwt_parse[`valid-${ALGS[i]}`] = token;
});
Object.assign(seeds.jwt_parse, {
  'alg-none': `${b64url({ alg: 'none' })}.${b64url(claims)}.`,
  'alg-hs256': (() => {
    const input = `${b64url({ alg: 'HS256', kid: 'rs256-1' })}.${b64url(claims)}`;
    return `${input}.${createHmac('sha256', JSON.stringify(keys[0].jwk)).update(input).digest('base64url')}`;
  })(),
  crit: compact('ES256', es.privateKey, { alg: 'ES256', kid: es.kid, crit: ['b64'], b64: false }, claims),
  'duplicate-aud': compact('ES256', es.privateKey, { alg: 'ES256', kid: es.kid }, `{"iss":"${ISSUER}","aud":"${AUDIENCE}","aud":"x","exp":${now + 300}}`),
  'nested-payload': compact('ES256', es.privateKey, { alg: 'ES256', kid: es.kid }, `{"a":${'['.repeat(200)}${']'.repeat(200)}}`),
  'nested-header': `${b64url(`{"alg":"ES256","x":${'['.repeat(200)}${']'.repeat(200)}}`)}.${b64url(claims)}.AA`,
  unicode: compact('ES256', es.privateKey, { alg: 'ES256', kid: es.kid }, '{"n":"Zoë 東京 🔐 \\ud800 \\u0000"}'),
  jwe: 'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d',
  'kid-object': compact('ES256', es.privateKey, { alg: 'ES256', kid: { x: 1 } }, claims),
  empty: '..',
});

// ---- jwks_parse
const small = pair('RS256', 1024).publicKey.export({ format: 'jwk' });
const oct = { kty: 'oct', k: b64url('secret'), kid: 'hmac' };
Object.assign(seeds.jwks_parse, {
  all: JSON.stringify(jwks),
  'one-each-kty': JSON.stringify({ keys: [keys[0].jwk, keys[6].jwk, keys[9].jwk] }),
  'no-alg-no-kid': JSON.stringify({ keys: keys.map(({ jwk: { alg, kid, use, ...rest } }) => rest) }),
  'rsa-1024': JSON.stringify({ keys: [{ ...small, kid: 'small' }] }),
  'private-and-oct': JSON.stringify({ keys: [{ ...keys[6].privateKey.export({ format: 'jwk' }), kid: 'p' }, oct] }),
  'ec-off-curve': JSON.stringify({ keys: [{ ...keys[6].jwk, y: keys[7].jwk.x.slice(0, 43) }] }),
  'wrong-types': JSON.stringify({ keys: [{ kty: 'RSA', n: 1, e: null }, { kty: 'EC', crv: 'P-256', x: [], y: {} }, 'x', null, { kty: 'OKP', crv: 'Ed448', x: 'AA' }] }),
  'key-ops': JSON.stringify({ keys: [{ ...keys[6].jwk, key_ops: ['sign'] }, { ...keys[6].jwk, key_ops: 'verify', kid: 'k2' }] }),
  'keys-not-array': '{"keys":{}}',
});

// ---- introspection_answer: [status selector, second byte, ...body]
const status = (selector, body) => Buffer.concat([Buffer.from([selector, 0]), Buffer.from(body)]);
Object.assign(seeds.introspection_answer, {
  active: status(0, JSON.stringify({ active: true, ...claims })),
  inactive: status(0, '{"active":false}'),
  'active-string': status(0, '{"active":"true"}'),
  'bom-active': status(0, '\ufeff{"active":true}'),
  'bad-request': status(4, '{"error":"invalid_request","error_description":"bad"}'),
  unauthorized: status(5, '<html>nope</html>'),
  'error-object': status(5, '{"error":{"nested":[1]},"error_description":null}'),
  'server-error': Buffer.concat([Buffer.from([0xf6, 0x01]), Buffer.from('oops')]),
  nested: status(0, `{"active":true,"x":${'['.repeat(300)}${']'.repeat(300)}}`),
});

// ---- config_resolve: structure comes from the bytes; a few shapes to start from
for (let i = 0; i < 6; i += 1) {
  seeds.config_resolve[`bytes-${i}`] = Buffer.from(Array.from({ length: 64 + i * 16 }, (_, j) => (j * 37 + i * 101) % 256));
}

// ---- claim_checks: claims 0xFF wanted 0xFF certificate
const der = Buffer.from('certificate bytes for binding');
const thumb = (await import('node:crypto')).createHash('sha256').update(der).digest('base64url');
const sep = Buffer.from([0xff]);
const claimCase = (value, wanted, certificate) =>
  Buffer.concat([Buffer.from(JSON.stringify(value)), sep, Buffer.from(wanted), ...(certificate === undefined ? [] : [sep, Buffer.from(certificate)])]);
Object.assign(seeds.claim_checks, {
  plain: claimCase(claims, 'read a'),
  bound: claimCase({ ...claims, cnf: { 'x5t#S256': thumb } }, 'read', `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----`),
  'cnf-string': claimCase({ ...claims, cnf: JSON.stringify({ 'x5t#S256': thumb }) }, '', der.toString('base64')),
  'cnf-array': claimCase({ ...claims, cnf: [] }, 'x', '@@@'),
  'odd-types': claimCase({ iss: 1, aud: [null, {}], exp: '1', nbf: null, iat: [], scope: ['read'], groups: 'a', sub: 0 }, 'read b', ''),
});

// ---- write
for (const target of Object.keys(seeds)) rmSync(join(here, target), { recursive: true, force: true });
writeFileSync(join(here, 'jwks.json'), `${JSON.stringify(jwks, null, 1)}\n`);
writeFileSync(join(here, 'tokens.json'), `${JSON.stringify(tokens, null, 1)}\n`);
let count = 0;
for (const [target, files] of Object.entries(seeds)) {
  mkdirSync(join(here, target), { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(here, target, name), content);
    count += 1;
  }
}
console.log(`wrote ${count} seed inputs, jwks.json and tokens.json under ${here}`);
