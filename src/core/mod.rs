//! Pure Rust: everything a validation needs, with no knowledge of Node.

pub mod binding;
pub mod bridge;
pub mod cache;
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
pub mod request;
pub mod text;
pub mod verified;

#[cfg(test)]
pub mod testkit;
