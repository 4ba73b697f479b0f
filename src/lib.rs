//! rustytree: Zarr v3 hierarchies as xarray-style `DataTrees` for Node.js.
//!
//! Every module but [`napi`] is plain Rust and testable with `cargo test`; `napi` is the only
//! module that talks to Node.

pub mod allocator;
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
pub mod sys;
pub mod tasks;
pub mod tree;
pub mod typed;

/// Every allocation of the addon goes through mimalloc, but for large buffers (see [`allocator`]): the open
/// allocates and frees many small objects on several threads at once (JSON values, zarrs metadata), where
/// glibc malloc's arena locks and consolidation were the largest single cost. Buffers handed to JS are freed
/// by their Rust finalizer, so they return to the same allocator.
#[global_allocator]
static ALLOCATOR: allocator::AddonAllocator = allocator::AddonAllocator;
