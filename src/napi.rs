//! The Node-API surface: the only module that imports `napi`.

use napi_derive::napi;

/// Version of the native addon, for diagnostics.
#[napi]
#[must_use]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
