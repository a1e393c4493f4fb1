// DPoP (RFC 9449) for tests: a client's key pair, its RFC 7638 thumbprint, and proofs over a
// request, so that a test can act as a DPoP client against a protected API.
import { createHash, randomUUID } from 'node:crypto';

import { generateSigningKey, signCompact, type SigningKey, type TestIssuerAlg } from './keys.js';

/** A DPoP client's key pair; `thumbprint` is what a bound token's `cnf.jkt` names. */
export interface DpopKey {
  readonly alg: TestIssuerAlg;
  /** The public JWK a proof carries in its header. */
  readonly publicJwk: Record<string, unknown>;
  /** RFC 7638 SHA-256 thumbprint of the public key, base64url. */
  readonly thumbprint: string;
  /** @internal */
  readonly signingKey: SigningKey;
}

/** Options for {@link createDpopProof}. */
export interface DpopProofOptions {
  key: DpopKey;
  /** The request's method (`htm`). */
  method: string;
  /** The request's URL; its query and fragment are left out of `htu`. */
  url: string;
  /** The access token the proof goes with (its hash becomes `ath`). */
  accessToken?: string;
  /** The server's `DPoP-Nonce`, when it asked for one. */
  nonce?: string;
  /** Seconds since the epoch. Default now. */
  iat?: number;
  /** Default a random UUID. */
  jti?: string;
}

const REQUIRED_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
};

/** The RFC 7638 SHA-256 thumbprint of a public JWK. */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const members = REQUIRED_MEMBERS[String(jwk.kty)];
  if (!members) throw new TypeError(`No thumbprint for key type ${String(jwk.kty)}`);
  const canonical = `{${members.map((name) => `${JSON.stringify(name)}:${JSON.stringify(jwk[name])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A fresh DPoP key pair for `alg` (default ES256). */
export function generateDpopKey(alg: TestIssuerAlg = 'ES256'): DpopKey {
  const signingKey = generateSigningKey(alg, 'dpop');
  const { kid: _kid, alg: _alg, use: _use, ...publicJwk } = signingKey.publicJwk;
  return { alg, publicJwk, thumbprint: jwkThumbprint(publicJwk), signingKey };
}

/** A DPoP proof JWT for one request, signed with `key`. */
export function createDpopProof(options: DpopProofOptions): string {
  const { key, method, url, accessToken, nonce } = options;
  const parsed = new URL(url);
  const claims: Record<string, unknown> = {
    jti: options.jti ?? randomUUID(),
    htm: method,
    htu: `${parsed.origin}${parsed.pathname}`,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
  };
  if (accessToken !== undefined) claims.ath = createHash('sha256').update(accessToken).digest('base64url');
  if (nonce !== undefined) claims.nonce = nonce;
  const header = { typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk };
  return signCompact(key.signingKey, header, JSON.stringify(claims));
}
