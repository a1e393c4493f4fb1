//! The outbound side: access tokens this package obtains for its user to call other APIs, with
//! the client-credentials grant (RFC 6749 §4.4). It reuses the core's configuration rows,
//! discovery, HTTP client and client authentication; nothing here validates incoming tokens.

// Options: the shared rows, over the same environment, plus the token client's own.
pub mod config;

// The DPoP key, its proofs and the nonces servers gave.
pub mod dpop;

// One token request and its answer.
pub mod grant;

// Cached tokens, shared requests, background refresh, retries and the shared cache.
pub mod token_client;
