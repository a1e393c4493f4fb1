//! Pure Rust: everything a validation needs, with no knowledge of Node. The modules in the
//! order a request meets them, then the helpers beside that path. (One blank line between
//! them keeps rustfmt from sorting them by name.)

// The request as it crosses: where its token comes from, and the request around it.
pub mod request;

// JavaScript string rules, and reading the bearer token from an `Authorization` header.
pub mod text;

// Options, environment variables and defaults: one table, resolved and validated once.
pub mod config;

// The issuers a client trusts (one, or a list picked by `iss`), each with its discovery and keys.
pub mod issuers;

// The issuer's metadata document and the endpoints it names.
pub mod discovery;

// JSON Web Key Sets: the local set (decode, select), and the issuer's remote one.
pub mod keys;

// Compact JWS access tokens: parse, verify, read the claims.
pub mod jwt;

// JWTs signed with one shared secret (HS256/384/512), a mode of its own.
pub mod pinned_secret;

// RFC 7662 introspection: the request, the answer, the store and its cache policy.
pub mod introspection;

// Verified JWTs kept, and what a cache hit is checked for again.
pub mod verified;

// Standard claims, scopes and groups; what a call requires.
pub mod claims;

// RFC 8705 certificate-bound tokens.
pub mod cert_binding;

// RFC 9449 DPoP: proofs, key thumbprints, `htu`, server nonces and replay.
pub mod dpop;

// `WWW-Authenticate` challenges, short or complete.
pub mod challenge;

// RFC 9728 protected resource metadata and the resource's own audience.
pub mod resource;

// The client, and the dispatcher: a JWT or not, then the requirements.
pub mod client;

// Talking to the issuer: reqwest, or the user's `fetcher`.
pub mod http;

// An issuer document fetched once, shared by concurrent callers, served stale on error.
pub mod remote;

// What every cache shares: per-entry deadlines and token keys.
pub mod cache;

// How the client authenticates to the issuer (RFC 6749 §2.3, RFC 7523, RFC 8705).
pub mod client_auth;

// Private keys that sign: client assertions' and DPoP proofs'.
pub mod signing;

// JWS algorithms and strict base64url, shared by keys, tokens and client assertions.
pub mod jose;

// User callbacks (fetcher, resolvers, cache adapter) as the core sees them.
pub mod callbacks;

// What the client reports to `onEvent`.
pub mod events;

// Clock settings, and time arithmetic that cannot panic.
pub mod clock;

// The typed failures that cross to JavaScript.
pub mod error;

#[cfg(test)]
pub mod testkit;
