import {
  constants,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
  type KeyPairKeyObjectResult,
  type SigningOptions,
} from 'node:crypto';

/** A JWS algorithm the test issuer can sign with. */
export type TestIssuerAlg =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

const ALL_ALGS: readonly TestIssuerAlg[] = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA',
];

export interface SigningKey {
  readonly alg: TestIssuerAlg;
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicJwk: Record<string, unknown>;
}

export function isTestIssuerAlg(value: unknown): value is TestIssuerAlg {
  return typeof value === 'string' && (ALL_ALGS as readonly string[]).includes(value);
}

function generatePair(alg: TestIssuerAlg): KeyPairKeyObjectResult {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ES384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'ES512':
      return generateKeyPairSync('ec', { namedCurve: 'P-521' });
    case 'EdDSA':
      return generateKeyPairSync('ed25519');
    default:
      // PS* uses a plain RSA key too: JOSE publishes PSS keys as kty "RSA", and an
      // "rsa-pss" KeyObject would not export to JWK.
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
}

export function generateSigningKey(alg: TestIssuerAlg, kid: string): SigningKey {
  const { privateKey, publicKey } = generatePair(alg);
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, publicJwk };
}

/** The digest name node:crypto wants, or null for EdDSA, whose hash is built in. */
function digestFor(alg: TestIssuerAlg): string | null {
  return alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
}

function signingOptions(alg: TestIssuerAlg): SigningOptions {
  if (alg.startsWith('PS')) {
    // RFC 7518 §3.5: the PSS salt is as long as the hash output.
    return { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 };
  }
  if (alg.startsWith('ES')) {
    // JOSE signatures are raw r||s, not node's default DER.
    return { dsaEncoding: 'ieee-p1363' };
  }
  return {};
}

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

/** Compact JWS over exactly the given header and payload text. */
export function signCompact(key: SigningKey, header: Record<string, unknown>, payload: string): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(payload)}`;
  const signature = sign(digestFor(key.alg), Buffer.from(signingInput), {
    key: key.privateKey,
    ...signingOptions(key.alg),
  });
  return `${signingInput}.${base64url(signature)}`;
}

function parseJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The payload of a compact JWS if one of `keys` verifies it, else undefined.
 * The key must match the header's alg (and kid when given), so a token cannot
 * borrow a key under a different algorithm.
 */
export function verifyCompact(token: string, keys: readonly SigningKey[]): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = parseJsonObject(encodedHeader);
  if (!header || !isTestIssuerAlg(header.alg)) return undefined;
  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`);
  const signature = Buffer.from(encodedSignature, 'base64url');
  const candidates = keys.filter(
    (key) => key.alg === header.alg && (header.kid === undefined || header.kid === key.kid),
  );
  for (const key of candidates) {
    let valid = false;
    try {
      valid = verify(digestFor(key.alg), signingInput, { key: key.publicKey, ...signingOptions(key.alg) }, signature);
    } catch {
      // A malformed signature (e.g. wrong length for ieee-p1363) is simply not valid.
    }
    if (valid) return parseJsonObject(encodedPayload);
  }
  return undefined;
}
