// The attack suite's fixtures (security/attacks.test.mjs): two issuers, the keys a hostile
// key set holds, token-making helpers, and the table of tokens every client and adapter must
// refuse. The table is data, so the same rows run through the client and through real apps.
//
// Two issuers: the project's test issuer (`issuer`, real keys for RS256/PS256/ES256/ES384/
// ES512/EdDSA) and a hostile one, the scripted issuer of scripted-issuer.mjs serving a key set
// we shape (1024-bit RSA, a private key, a symmetric key, a point off the curve ...).
import assert from 'node:assert/strict';
import { createHash, randomBytes, sign as nodeSign } from 'node:crypto';

import { MonoCloudBackendNodeClient, MonoCloudTokenError } from '@monocloud/backend-node-rs';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { now } from './clock.mjs';
import { b64url, jws, keyPair, pemOf } from './forge.mjs';
import { rejectsWith } from './rejects.mjs';
import { startScriptedIssuer } from './scripted-issuer.mjs';

export const AUDIENCE = 'https://api.example.com';
export const BAD_ALG = 'unsupported JWS "alg" identifier';
export const NO_KEY =
  'error when selecting a JWT verification key, multiple applicable keys found, a "kid" JWT Header Parameter is required';
export const SIG_FAILED = 'JWT signature verification failed';
export const BAD_SIG_ENCODING = 'JWT signature is not valid base64url';
export const CRIT = 'Unexpected JWT "crit" header parameter';
export const BAD_PAYLOAD = 'Failed to parse JWT Payload';
export const BAD_HEADER = 'Failed to parse JWT Header';
export const TOO_LARGE = 'Access token is larger than 16 KiB';
/** The curve order of P-256. */
export const P256_N = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');

/** The project's test issuer, the hostile one (scripted), and clients of both: set by startAttackFixtures(). */
export let issuer;
export let hostile;
export let client;
export let hostileClient;
export let introspecting;
export const keys = {};
export const events = [];
/** Every hostile token used, for the final check that no event repeated one. */
export const usedTokens = new Set();

/** Starts both issuers and makes the clients; a test file calls it in before(). */
export async function startAttackFixtures() {
  issuer = await createTestIssuer({ algs: ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] });

  for (const [name, alg, options] of [
    ['good', 'ES256'],
    ['rsaRs', 'RS256'],
    ['rsaPs', 'PS256'],
    ['rsaAny', 'RS256'],
    ['rsa1024', 'RS256', { modulusLength: 1024 }],
    ['rsa2047', 'RS256', { modulusLength: 2047 }],
    ['rsaPrivate', 'RS256'],
    ['ed', 'EdDSA'],
    ['unicode', 'ES256'],
    ['attacker', 'ES256'],
  ]) {
    keys[name] = keyPair(alg, options);
  }
  const offCurve = { ...keys.good.jwk, y: b64url(Buffer.from(keys.good.jwk.y, 'base64url').map((b, i) => (i === 31 ? b ^ 1 : b))) };
  const jwks = {
    keys: [
      { ...keys.good.jwk, kid: 'good-es256', alg: 'ES256', use: 'sig' },
      { ...keys.rsaRs.jwk, kid: 'rsa-rs256', alg: 'RS256', use: 'sig' },
      { ...keys.rsaPs.jwk, kid: 'rsa-ps256', alg: 'PS256', use: 'sig' },
      // No alg: serves RS* and PS* alike, as a JWK without "alg" does everywhere.
      { ...keys.rsaAny.jwk, kid: 'rsa-any' },
      { ...keys.rsa1024.jwk, kid: 'rsa-1024' },
      { ...keys.rsa2047.jwk, kid: 'rsa-2047' },
      { ...keys.rsaPrivate.privateKey.export({ format: 'jwk' }), kid: 'rsa-private' },
      { kty: 'oct', k: b64url('a shared secret the issuer should never publish'), kid: 'oct', alg: 'HS256' },
      { ...offCurve, kid: 'ec-off-curve', alg: 'ES256' },
      { ...keys.ed.jwk, x: b64url(Buffer.from(keys.ed.jwk.x, 'base64url').subarray(1)), kid: 'okp-short' },
      { ...keys.unicode.jwk, kid: 'ключ-🔑', alg: 'ES256' },
      // e = 1: a "signature" is then the padded hash itself, forgeable by anyone.
      { kty: 'RSA', n: keys.rsaAny.jwk.n, e: 'AQ', kid: 'rsa-e1' },
      // 16384 bits: past what anyone verifies (a cost attack).
      { kty: 'RSA', n: b64url(Buffer.concat([Buffer.from([0xc5]), randomBytes(2047)])), e: 'AQAB', kid: 'rsa-16384' },
    ],
  };
  hostile = await startScriptedIssuer({ jwks });

  const onEvent = (event) => events.push(JSON.stringify(event));
  client = new MonoCloudBackendNodeClient({ tenantDomain: issuer.url, audience: AUDIENCE, onEvent });
  hostileClient = new MonoCloudBackendNodeClient({ tenantDomain: hostile.url, audience: AUDIENCE, onEvent });
  introspecting = new MonoCloudBackendNodeClient({
    tenantDomain: issuer.url,
    audience: AUDIENCE,
    clientId: 'test-client',
    clientSecret: 'test-secret',
    onEvent,
  });
}

export async function stopAttackFixtures() {
  await hostile?.close();
  await issuer?.close();
}

// ---------------------------------------------------------------------------------------------
// Helpers

export const hostileClaims = (extra = {}) => ({ iss: hostile.url, sub: 'attacker', aud: AUDIENCE, exp: now() + 300, ...extra });
export const issuerClaims = (extra = {}) => ({ iss: issuer.url, sub: 'attacker', aud: AUDIENCE, exp: now() + 300, ...extra });

/** A token from the hostile issuer, signed by `key` (a keys[] entry) as `signAs`. */
export function hostileToken({ header, payload = hostileClaims(), key = keys.good, signAs, signingInput }) {
  return jws({ header, payload, key: key.privateKey, signAs, signingInput });
}

export const goodHostileToken = () => hostileToken({ header: { alg: 'ES256', kid: 'good-es256' } });

/** A token with `header` over a valid token's payload and signature (only the header differs). */
export async function reheadered(header, alg = 'RS256') {
  const [, payload, sig] = (await issuer.mint({ alg })).split('.');
  return `${b64url(header)}.${payload}.${sig}`;
}

export function withSignature(token, bytes) {
  const [h, p] = token.split('.');
  return `${h}.${p}.${typeof bytes === 'string' ? bytes : b64url(bytes)}`;
}

export function signatureOf(token) {
  return Buffer.from(token.split('.')[2], 'base64url');
}

export function flipped(bytes, index, mask = 0x01) {
  const copy = Buffer.from(bytes);
  copy[index] ^= mask;
  return copy;
}

/** The same base64url text with the unused low bits of its last character set: equal bytes to a lenient decoder. */
export function strayBitsTwin(segment) {
  if (segment.length % 4 === 0) return undefined;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(segment.at(-1));
  return segment.slice(0, -1) + alphabet[last ^ 1];
}

export function replaceCharAt(text, index) {
  const i = index < 0 ? text.length + index : index;
  const c = text[i] === 'A' ? 'B' : 'A';
  return text.slice(0, i) + c + text.slice(i + 1);
}

/** No text may repeat the token, or any piece of it of 16 characters or more. */
export function assertNoLeak(token, texts) {
  const pieces = [token, ...token.split(/[.\s]+/).filter((piece) => piece.length >= 16)];
  for (const text of texts) {
    for (const piece of pieces) {
      assert.ok(!String(text).includes(piece), `a message or body repeats part of the token: ${String(text).slice(0, 200)}`);
    }
  }
}

/** `promise` rejects with a MonoCloudTokenError of `code` (and `message`, a string or a list of allowed ones), and no leak. */
export async function refused(promise, token, { message, code = 'invalid_token' } = {}) {
  usedTokens.add(token);
  const error = await rejectsWith(promise, MonoCloudTokenError, message === undefined ? { code } : { code, message });
  assertNoLeak(token, [error.message, error.stack, JSON.stringify(error)]);
  return error;
}

/** The client still serves a good token. */
export async function servesGood(target) {
  const token = target === 'hostile' ? goodHostileToken() : await issuer.mint({ alg: 'ES256' });
  const claims = await (target === 'hostile' ? hostileClient : client).validateAccessToken(token);
  assert.equal(claims.aud, AUDIENCE);
}

// ---------------------------------------------------------------------------------------------
// The table of refused tokens: [section, name, target ('issuer' | 'hostile'), make, message]

export const table = [];
const refuse = (section, name, target, make, message) => table.push({ section, name, target, make, message });

// 1. alg "none" in any casing, with and without a signature.
for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
  refuse('alg none', `${alg}, no signature`, 'issuer', async () => `${b64url({ alg, typ: 'at+jwt' })}.${b64url(issuerClaims())}.`, BAD_ALG);
  refuse('alg none', `${alg}, with a valid token's signature`, 'issuer', () => reheadered({ alg, typ: 'at+jwt', kid: 'rs256-1' }), BAD_ALG);
  refuse('alg none', `${alg}, no kid, garbage signature`, 'issuer', async () => `${b64url({ alg })}.${b64url(issuerClaims())}.${b64url(randomBytes(32))}`, BAD_ALG);
}
for (const [name, alg] of [
  ['missing', undefined],
  ['null', null],
  ['empty', ''],
  ['an array', ['RS256']],
  ['an object', { RS256: true }],
  ['a number', 256],
  ['lower case', 'rs256'],
  ['with a trailing space', 'RS256 '],
  ['with a NUL', 'RS256\u0000'],
  ['with a zero-width space', 'RS256\u200b'],
  ['a Cyrillic look-alike', 'R\u0405256'],
  ['ES256K', 'ES256K'],
  ['Ed25519 (not the JOSE name)', 'Ed25519'],
]) {
  refuse('alg', `alg ${name}`, 'issuer', () => reheadered({ alg, typ: 'at+jwt', kid: 'rs256-1' }), BAD_ALG);
}

// 2. HMAC signed with the public key as the secret (the classic RS256 → HS256 confusion).
const hmacSecrets = {
  'the PEM (SPKI) text': () => pemOf(keys.rsaRs.jwk),
  'the PEM (PKCS#1) text': () => pemOf(keys.rsaRs.jwk, 'pkcs1'),
  'the PEM text without its final newline': () => pemOf(keys.rsaRs.jwk).trimEnd(),
  'the JWK JSON text as published': () => JSON.stringify(hostile.jwks.keys[1]),
  'the whole JWKS text': () => JSON.stringify(hostile.jwks),
  'the raw modulus': () => Buffer.from(keys.rsaRs.jwk.n, 'base64url'),
};
for (const [secretName, secret] of Object.entries(hmacSecrets)) {
  for (const alg of ['HS256', 'HS384', 'HS512']) {
    refuse('HMAC with the public key', `${alg} over ${secretName}`, 'hostile', () => hostileToken({ header: { alg, kid: 'rsa-rs256' }, key: { privateKey: secret() } }), BAD_ALG);
  }
}
refuse('HMAC with the public key', 'HS256 with no kid over the PEM text', 'hostile', () => hostileToken({ header: { alg: 'HS256' }, key: { privateKey: pemOf(keys.rsaRs.jwk) } }), BAD_ALG);
refuse('HMAC with the public key', 'HS256 with the symmetric key the JWKS published', 'hostile', () => hostileToken({ header: { alg: 'HS256', kid: 'oct' }, key: { privateKey: Buffer.from(hostile.jwks.keys[7].k, 'base64url') } }), BAD_ALG);
refuse('HMAC with the public key', "HS256 over the test issuer's RS256 key (PEM)", 'issuer', async () => {
  const jwk = issuer.jwks.keys.find((k) => k.kid === 'rs256-1');
  return jws({ header: { alg: 'HS256', kid: 'rs256-1' }, payload: issuerClaims(), key: pemOf(jwk) });
}, BAD_ALG);
refuse('HMAC with the public key', "HS256 over the test issuer's RS256 key (JWK text)", 'issuer', async () => {
  const jwk = issuer.jwks.keys.find((k) => k.kid === 'rs256-1');
  return jws({ header: { alg: 'HS256', kid: 'rs256-1' }, payload: issuerClaims(), key: JSON.stringify(jwk) });
}, BAD_ALG);

// 3. alg / key type mismatch.
refuse('alg/key mismatch', 'RS256 header naming the EC key, signed by an RSA key', 'hostile', () => hostileToken({ header: { alg: 'RS256', kid: 'good-es256' }, key: keys.rsaAny }), NO_KEY);
refuse('alg/key mismatch', 'RS256 header naming the EC key, signed ES256 by that key', 'hostile', () => hostileToken({ header: { alg: 'RS256', kid: 'good-es256' }, signAs: 'ES256' }), NO_KEY);
refuse('alg/key mismatch', 'ES256 header naming an RSA key, signed RS256 by it', 'hostile', () => hostileToken({ header: { alg: 'ES256', kid: 'rsa-any' }, key: keys.rsaAny, signAs: 'RS256' }), NO_KEY);
refuse('alg/key mismatch', 'ES384 header naming the P-256 key', 'hostile', () => hostileToken({ header: { alg: 'ES384', kid: 'good-es256' }, signAs: 'ES256' }), NO_KEY);
refuse('alg/key mismatch', 'EdDSA header naming the P-256 key', 'hostile', () => hostileToken({ header: { alg: 'EdDSA', kid: 'good-es256' }, signAs: 'ES256' }), NO_KEY);
refuse('alg/key mismatch', 'PS256 header, key declares RS256 (valid PSS signature by that key)', 'hostile', () => hostileToken({ header: { alg: 'PS256', kid: 'rsa-rs256' }, key: keys.rsaRs }), NO_KEY);
refuse('alg/key mismatch', 'RS256 header, key declares PS256 (valid PKCS#1 signature by that key)', 'hostile', () => hostileToken({ header: { alg: 'RS256', kid: 'rsa-ps256' }, key: keys.rsaPs }), NO_KEY);
refuse('alg/key mismatch', 'RS384 header, key declares RS256', 'hostile', () => hostileToken({ header: { alg: 'RS384', kid: 'rsa-rs256' }, key: keys.rsaRs }), NO_KEY);
refuse('alg/key mismatch', 'RS256 header over a PSS signature (alg-less key)', 'hostile', () => hostileToken({ header: { alg: 'RS256', kid: 'rsa-any' }, key: keys.rsaAny, signAs: 'PS256' }), SIG_FAILED);
refuse('alg/key mismatch', 'PS256 header over a PKCS#1 signature (alg-less key)', 'hostile', () => hostileToken({ header: { alg: 'PS256', kid: 'rsa-any' }, key: keys.rsaAny, signAs: 'RS256' }), SIG_FAILED);
refuse('alg/key mismatch', 'RS256 without a kid: several RSA keys fit', 'hostile', () => hostileToken({ header: { alg: 'RS256' }, key: keys.rsaAny }), NO_KEY);
refuse('alg/key mismatch', 'EdDSA header naming an RSA key, signed by an Ed25519 key', 'issuer', () => reheadered({ alg: 'EdDSA', kid: 'rs256-1' }), NO_KEY);
for (const [name, kid] of [['a number', 1], ['null', null], ['an object', { kid: 'good-es256' }], ['an array', ['good-es256']], ['the kid with a trailing space', 'good-es256 ']]) {
  refuse('alg/key mismatch', `kid is ${name}`, 'hostile', () => hostileToken({ header: { alg: 'ES256', kid } }), NO_KEY);
}

// 4. Keys a JWKS should not hold, and signatures that are no signatures.
refuse('bad keys', 'RS256 with a 1024-bit key in the JWKS', 'hostile', () => hostileToken({ header: { alg: 'RS256', kid: 'rsa-1024' }, key: keys.rsa1024 }), 'Unsupported RSASSA-PKCS1-v1_5 modulusLength');
refuse('bad keys', 'PS256 with a 1024-bit key in the JWKS', 'hostile', () => hostileToken({ header: { alg: 'PS256', kid: 'rsa-1024' }, key: keys.rsa1024 }), 'Unsupported RSA-PSS modulusLength');
refuse('bad keys', 'RS256 with a 2047-bit key in the JWKS', 'hostile', () => hostileToken({ header: { alg: 'RS256', kid: 'rsa-2047' }, key: keys.rsa2047 }), 'Unsupported RSASSA-PKCS1-v1_5 modulusLength');
refuse('bad keys', 'a forged signature for an RSA key with e = 1', 'hostile', () => {
  const input = `${b64url({ alg: 'RS256', kid: 'rsa-e1' })}.${b64url(hostileClaims())}`;
  // EMSA-PKCS1-v1_5 of the SHA-256 of the input: with e = 1 this is its own signature.
  const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), createHash('sha256').update(input).digest()]);
  const forged = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(256 - 3 - digestInfo.length, 0xff), Buffer.from([0]), digestInfo]);
  return `${input}.${b64url(forged)}`;
}, [SIG_FAILED, 'The JWT verification key could not be imported']);
refuse('bad keys', 'RS256 with a 16384-bit modulus in the JWKS', 'hostile', () => hostileToken({ header: { alg: 'RS256', kid: 'rsa-16384' }, key: keys.rsaAny }), [SIG_FAILED, 'The JWT verification key could not be imported']);
refuse('bad keys', 'a private key published in the JWKS', 'hostile', () => hostileToken({ header: { alg: 'RS256', kid: 'rsa-private' }, key: keys.rsaPrivate }), 'jwks_uri must only contain public keys');
refuse('bad keys', 'an EC key whose point is off the curve', 'hostile', () => hostileToken({ header: { alg: 'ES256', kid: 'ec-off-curve' } }), 'The JWT verification key could not be imported');
refuse('bad keys', 'an Ed25519 key one byte short', 'hostile', () => hostileToken({ header: { alg: 'EdDSA', kid: 'okp-short' }, key: keys.ed }), 'The JWT verification key could not be imported');
refuse('bad keys', 'an all-zero ES256 signature (CVE-2022-21449)', 'hostile', () => withSignature(goodHostileToken(), Buffer.alloc(64)), SIG_FAILED);
refuse('bad keys', 'an ES256 signature r = s = n', 'hostile', () => {
  const n = Buffer.from(P256_N.toString(16), 'hex');
  return withSignature(goodHostileToken(), Buffer.concat([n, n]));
}, SIG_FAILED);
refuse('bad keys', 'an ES256 signature in DER form', 'hostile', () => {
  const input = `${b64url({ alg: 'ES256', kid: 'good-es256' })}.${b64url(hostileClaims())}`;
  // node's default ECDSA encoding is DER, not JOSE's fixed r || s.
  return `${input}.${b64url(nodeSign('sha256', Buffer.from(input), keys.good.privateKey))}`;
}, SIG_FAILED);
refuse('bad keys', 'an all-zero Ed25519 signature', 'issuer', async () => withSignature(await issuer.mint({ alg: 'EdDSA' }), Buffer.alloc(64)), SIG_FAILED);
refuse('bad keys', 'a key embedded in the header (jwk), signed by it', 'hostile', () => hostileToken({ header: { alg: 'ES256', kid: 'attacker', jwk: keys.attacker.jwk }, key: keys.attacker }), NO_KEY);
refuse('bad keys', "an embedded jwk with the issuer's kid, signed by the embedded key", 'hostile', () => hostileToken({ header: { alg: 'ES256', kid: 'good-es256', jwk: { ...keys.attacker.jwk, kid: 'good-es256' } }, key: keys.attacker }), SIG_FAILED);
refuse('bad keys', 'a jku pointing at a key set we serve', 'hostile', () => hostileToken({ header: { alg: 'ES256', kid: 'attacker', jku: `${hostile.url}/attacker/jwks.json` }, key: keys.attacker }), NO_KEY);
refuse('bad keys', 'an x5u pointing at a certificate we serve', 'hostile', () => hostileToken({ header: { alg: 'ES256', kid: 'attacker', x5u: `${hostile.url}/attacker/cert.pem` }, key: keys.attacker }), NO_KEY);
refuse('bad keys', 'an x5c chain in the header', 'hostile', () => hostileToken({ header: { alg: 'ES256', x5c: [randomBytes(300).toString('base64')], kid: 'attacker' }, key: keys.attacker }), NO_KEY);

// 5. crit, in any form.
for (const [name, crit] of [['["b64"]', ['b64']], ['["x-unknown"]', ['x-unknown']], ['"b64" (a string)', 'b64'], ['null', null], ['{}', {}], ['0', 0]]) {
  refuse('crit', `crit ${name}`, 'issuer', () => issuer.signRaw({ alg: 'ES256', kid: 'es256-1', crit, b64: false }, issuerClaims()), CRIT);
}

// 6. b64: false must not change how the signature is checked (RFC 7797 needs crit, refused above).
refuse('b64', 'b64:false, signed over the raw payload (RFC 7797), no crit', 'hostile', () => {
  const header = { alg: 'ES256', kid: 'good-es256', b64: false };
  const raw = JSON.stringify(hostileClaims());
  return hostileToken({ header, payload: raw, signingInput: `${b64url(header)}.${raw}` });
}, SIG_FAILED);
refuse('b64', 'b64:false, detached payload (empty segment), signed over the raw payload', 'hostile', () => {
  const header = { alg: 'ES256', kid: 'good-es256', b64: false };
  const raw = JSON.stringify(hostileClaims());
  const [h, , s] = hostileToken({ header, payload: raw, signingInput: `${b64url(header)}.${raw}` }).split('.');
  return `${h}..${s}`;
}, SIG_FAILED);
refuse('b64', 'b64:false with crit ["b64"], signed over the raw payload', 'hostile', () => {
  const header = { alg: 'ES256', kid: 'good-es256', b64: false, crit: ['b64'] };
  const raw = JSON.stringify(hostileClaims());
  return hostileToken({ header, payload: raw, signingInput: `${b64url(header)}.${raw}` });
}, CRIT);

// 7. JWE-shaped headers in three parts.
for (const alg of ['RSA-OAEP', 'RSA-OAEP-256', 'dir', 'A256KW', 'ECDH-ES', 'ECDH-ES+A256KW', 'PBES2-HS256+A128KW']) {
  refuse('JWE-shaped', `alg ${alg} with enc`, 'issuer', async () => `${b64url({ alg, enc: 'A256GCM', kid: 'rs256-1' })}.${b64url(randomBytes(48))}.${b64url(randomBytes(16))}`, BAD_ALG);
}

// 8. Truncated, extended and bit-flipped signatures, and tampered segments, for every algorithm.
for (const alg of ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA']) {
  const mint = () => issuer.mint({ alg });
  const tamper = (name, change, message = SIG_FAILED) =>
    refuse(`tampered ${alg}`, name, 'issuer', async () => change(await mint()), message);
  tamper('first byte of the signature flipped', (t) => withSignature(t, flipped(signatureOf(t), 0)));
  tamper('middle byte of the signature flipped', (t) => withSignature(t, flipped(signatureOf(t), signatureOf(t).length >> 1, 0x80)));
  tamper('last byte of the signature flipped', (t) => withSignature(t, flipped(signatureOf(t), signatureOf(t).length - 1)));
  tamper('last byte of the signature dropped', (t) => withSignature(t, signatureOf(t).subarray(0, -1)));
  tamper('first byte of the signature dropped', (t) => withSignature(t, signatureOf(t).subarray(1)));
  tamper('half the signature', (t) => withSignature(t, signatureOf(t).subarray(0, signatureOf(t).length >> 1)));
  tamper('an empty signature', (t) => withSignature(t, ''));
  tamper('a zero byte appended to the signature', (t) => withSignature(t, Buffer.concat([signatureOf(t), Buffer.alloc(1)])));
  tamper('the signature twice', (t) => withSignature(t, Buffer.concat([signatureOf(t), signatureOf(t)])));
  tamper('the last character of the signature dropped', (t) => t.slice(0, -1), [SIG_FAILED, BAD_SIG_ENCODING]);
  tamper('the signature padded with =', (t) => `${t}${'='.repeat((4 - (t.split('.')[2].length % 4)) % 4 || 4)}`, BAD_SIG_ENCODING);
  tamper('the signature in the standard alphabet', (t) => {
    const s = t.split('.')[2];
    const standard = /[-_]/.test(s) ? s.replaceAll('-', '+').replaceAll('_', '/') : `${s.slice(0, -2)}+/`;
    return withSignature(t, standard);
  }, BAD_SIG_ENCODING);
  tamper('first character of the payload changed', (t) => {
    const [h, p, s] = t.split('.');
    return `${h}.${replaceCharAt(p, 0)}.${s}`;
  });
  tamper('middle character of the payload changed', (t) => {
    const [h, p, s] = t.split('.');
    return `${h}.${replaceCharAt(p, p.length >> 1)}.${s}`;
  });
  tamper('last character of the payload changed', (t) => {
    const [h, p, s] = t.split('.');
    return `${h}.${replaceCharAt(p, -1)}.${s}`;
  }, [SIG_FAILED, BAD_PAYLOAD]);
  tamper('last character of the header changed', (t) => {
    const [h, p, s] = t.split('.');
    return `${replaceCharAt(h, -1)}.${p}.${s}`;
  }, [SIG_FAILED, BAD_HEADER, NO_KEY]);
}
// The unused low bits of a base64url character: a second spelling of the same signature bytes.
for (const alg of ['RS256', 'ES256', 'EdDSA']) {
  refuse(`tampered ${alg}`, 'the signature with its unused low bits set', 'issuer', async () => {
    const token = await issuer.mint({ alg });
    const [h, p, s] = token.split('.');
    const twin = strayBitsTwin(s);
    assert.ok(twin, `${alg} signatures have unused bits`);
    assert.deepEqual(Buffer.from(twin, 'base64url'), Buffer.from(s, 'base64url'), 'a lenient decoder reads the same bytes');
    return `${h}.${p}.${twin}`;
  }, BAD_SIG_ENCODING);
}

