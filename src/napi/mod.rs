//! The Node binding: converts between JavaScript values and core types, nothing more.

mod client;
mod input;
mod outcome;
