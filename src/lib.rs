//! rustytree: Zarr v3 hierarchies as xarray-style DataTrees for Node.js.
//!
//! Every module but [`napi`] is plain Rust and testable with `cargo test`; `napi` is the only
//! module that talks to Node.

pub mod napi;
