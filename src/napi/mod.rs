//! The Node binding: converts between JavaScript values and core types, nothing more.

mod bridge;
mod client;
mod input;
mod outcome;
