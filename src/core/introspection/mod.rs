//! RFC 7662 token introspection, for opaque tokens (and every token with
//! `introspectJwtTokens`): the request, reading the answer, where answers are kept, and when a
//! kept answer serves.

pub mod answer;
pub mod policy;
pub mod request;
pub mod store;

pub use answer::read_answer;
pub use store::{MemoryStore, Store};
