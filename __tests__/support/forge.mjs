// Signing helpers that sign any bytes with any key, so an attack test can build tokens the
// project's test issuer refuses to make (unencoded payloads, raw bytes, duplicate header
// members, signatures made with the wrong algorithm), and keys no issuer should publish.
import { constants, createHmac, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';

export const b64url = (value) =>
  (Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))).toString('base64url');

/** A key pair for `alg` (`modulusLength` for RSA), with its public JWK. */
export function keyPair(alg, { modulusLength = 2048 } = {}) {
  let pair;
  if (alg === 'EdDSA') pair = generateKeyPairSync('ed25519');
  else if (alg.startsWith('ES')) pair = generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg] });
  else if (/^(RS|PS)/.test(alg)) pair = generateKeyPairSync('rsa', { modulusLength });
  else throw new TypeError(`unsupported alg ${alg}`);
  return { ...pair, jwk: pair.publicKey.export({ format: 'jwk' }) };
}

/** A private JWK for `alg`, carrying `alg` and the `extra` members (kid, use). */
export function privateJwk(alg, extra = {}) {
  return { ...keyPair(alg).privateKey.export({ format: 'jwk' }), alg, ...extra };
}

/** The signature of `input` (bytes or text) by `privateKey` as `alg` (JOSE form: raw r||s for EC). */
export function signature(alg, privateKey, input) {
  const data = Buffer.isBuffer(input) ? input : Buffer.from(input);
  if (alg.startsWith('HS')) return createHmac(`sha${alg.slice(2)}`, privateKey).update(data).digest();
  const digest = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  const options = alg.startsWith('PS')
    ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 }
    : alg.startsWith('ES')
      ? { dsaEncoding: 'ieee-p1363' }
      : {};
  return sign(digest, data, { key: privateKey, ...options });
}

/**
 * A compact JWS. `header` and `payload` are objects or raw JSON text (or a Buffer of raw bytes
 * for the payload); `signAs` is the algorithm actually used to sign (defaults to header.alg);
 * `signingInput` overrides what is signed (for RFC 7797 unencoded payloads).
 */
export function jws({ header, payload, key, signAs, signingInput }) {
  const encodedHeader = b64url(typeof header === 'string' ? header : JSON.stringify(header));
  const encodedPayload = b64url(payload);
  const input = signingInput ?? `${encodedHeader}.${encodedPayload}`;
  const alg = signAs ?? (typeof header === 'string' ? JSON.parse(header).alg : header.alg);
  return `${encodedHeader}.${encodedPayload}.${signature(alg, key, input).toString('base64url')}`;
}

/** The public key of `jwk` as PEM text (SPKI, or PKCS#1 for RSA with `type: 'pkcs1'`). */
export function pemOf(jwk, type = 'spki') {
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'pem', type });
}
