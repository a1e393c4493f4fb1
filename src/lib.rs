pub mod core;
mod napi;
