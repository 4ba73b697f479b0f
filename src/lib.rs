//! rustytree: Zarr v3 hierarchies as xarray-style `DataTrees` for Node.js.
//!
//! Every module but [`napi`] is plain Rust and testable with `cargo test`; `napi` is the only
//! module that talks to Node.

pub mod cf;
pub mod codecs;
pub mod dtype;
pub mod error;
pub mod hierarchy;
pub mod icechunk;
pub mod json;
pub mod napi;
pub mod read;
pub mod source;
pub mod tree;
pub mod typed;
