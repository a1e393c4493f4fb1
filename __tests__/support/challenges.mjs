// The challenges a default client (DPoP `allowed`) writes, byte for byte.

/** The proof algorithms a default client accepts, as its DPoP challenges name them. */
export const DPOP_ALGS = 'algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA"';

/** A request without any token: both schemes are offered while DPoP is allowed. */
export const NO_TOKEN_CHALLENGE = `Bearer, DPoP ${DPOP_ALGS}`;
