//! JSON Web Key Sets (RFC 7517) in two parts: the local set (a document's keys, decoded once
//! and selected per token) and the remote set (the issuer's, fetched and kept, numbered by
//! fetch, and fetched again when a token names a key it lacks).

pub mod local;
pub mod remote;

pub use local::{Key, KeySet, Selection};
pub use remote::RemoteKeySet;
