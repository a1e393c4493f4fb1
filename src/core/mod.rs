//! Pure Rust: everything a validation needs, with no knowledge of Node. Modules in the order a
//! request meets them, then the helpers beside that path.

pub mod cert_binding; // RFC 8705 certificate-bound tokens
pub mod claims; // standard claims, scopes and groups
pub mod client;
pub mod config; // options, environment and defaults, resolved and validated once
pub mod discovery; // the issuer's metadata document and its endpoints
pub mod introspection; // RFC 7662: the request, the answer, the store and its policy
pub mod jose; // algorithms and strict base64url, shared by keys and tokens
pub mod jwt; // compact JWS access tokens: parse, verify, read the claims
pub mod keys; // JSON Web Key Sets: the local set, and the issuer's remote one
pub mod text; // JavaScript string rules, and reading the bearer token from a header
pub mod verified; // verified JWTs kept, and what a hit is checked for again // the client, and the dispatcher: a JWT or not, then the requirements

pub mod cache; // what every cache shares: per-entry deadlines, token keys
pub mod callbacks; // user callbacks (fetcher, resolvers, cache adapter) as the core sees them
pub mod client_auth; // how the client authenticates to the issuer
pub mod clock; // clock settings and time arithmetic that cannot panic
pub mod error;
pub mod events; // what the client reports to `onEvent`
pub mod http; // talking to the issuer: reqwest or the user's fetcher
pub mod remote; // an issuer document fetched once, shared, served stale on error // the typed failures that cross to JavaScript

#[cfg(test)]
pub mod testkit;
