//! Pure Rust: everything a validation needs, with no knowledge of Node.

pub mod cache;
pub mod callbacks;
pub mod cert_binding;
pub mod claims;
pub mod client;
pub mod client_auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod events;
pub mod http;
pub mod introspection;
pub mod jose;
pub mod jwks;
pub mod jwt;
pub mod text;
pub mod verified;

#[cfg(test)]
pub mod testkit;
