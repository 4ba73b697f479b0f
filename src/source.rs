//! Source resolution: a user's source string becomes a store handle the rest of the crate reads from.
//!
//! Today: local directories, given as a path or a `file://` URL, read by [`local::LocalStore`].
//! Object stores will be wrapped in `LimitStore` (`object_store`'s cap on concurrent requests, the
//! user's `maxConcurrency`) around [`instrument::InstrumentedStore`] (request counts, read-only); icechunk
//! repositories are opened by [`crate::icechunk`].

pub mod instrument;
pub mod local;
pub mod object;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::limit::LimitStore;
use zarrs::storage::AsyncReadableListableStorage;

use crate::error::{Result, RtError};

/// A resolved source: the store and a printable description (no credentials).
#[derive(Clone)]
pub struct Source {
    /// The store, rooted at the hierarchy's root.
    pub store: AsyncReadableListableStorage,
    /// Where the store lives, for messages (`/data/radar.zarr`).
    pub description: String,
    /// What has been asked of the store so far.
    pub stats: Arc<instrument::RequestStats>,
    /// Whether the store can list keys (a plain HTTP server cannot).
    pub listable: bool,
}

/// Where a source string points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An existing local directory (canonicalised).
    Local(PathBuf),
    /// An `http://` or `https://` base URL (without a trailing `/`).
    Http(url::Url),
}

/// Classifies a source string (`/path/to/store.zarr`, `./rel.zarr`, `file:///abs/store.zarr`,
/// `https://host/store.zarr`): a local directory, or an HTTP(S) base URL.
///
/// # Errors
/// `ERR_INVALID_SOURCE` for an empty string, a malformed URL or a scheme this build does not read;
/// `ERR_NOT_FOUND` when a local directory does not exist.
pub fn locate(source: &str) -> Result<Location> {
    if let Some((scheme, _)) = source.split_once("://")
        && (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
    {
        let mut url = url::Url::parse(source)
            .map_err(|e| RtError::InvalidSource(format!("malformed URL: {e}")))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(RtError::InvalidSource(
                "an http(s) source needs a host".into(),
            ));
        }
        // object_store joins keys onto the base with '/', so the base must not end with one.
        let trimmed = url.path().trim_end_matches('/').to_owned();
        url.set_path(&trimmed);
        return Ok(Location::Http(url));
    }
    local_directory(source).map(Location::Local)
}

/// A URL for messages: no user name, password, query or fragment (they may hold credentials).
#[must_use]
pub fn redacted(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// A read-only store over an HTTP(S) server. Plain HTTP is allowed because the user asked for an
/// `http://` URL; such a server cannot list, so it needs consolidated metadata.
///
/// # Errors
/// `ERR_INVALID_SOURCE` when the client cannot be built for the URL.
pub fn open_http(url: &url::Url, max_concurrency: usize) -> Result<Source> {
    let store = http_store(url)?;
    let mut source = wrap_object_store(store, redacted(url), max_concurrency);
    source.listable = false;
    Ok(source)
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// The existing local directory a source string names, canonicalised.
///
/// # Errors
/// As [`locate`].
pub fn local_directory(source: &str) -> Result<PathBuf> {
    let path = local_path(source)?;
    let meta = std::fs::metadata(&path).map_err(|_| {
        RtError::NotFound(format!(
            "no such directory: {:?}",
            path.display().to_string()
        ))
    })?;
    if !meta.is_dir() {
        return Err(RtError::NotFound(format!(
            "{:?} is not a directory (a Zarr store is a directory holding zarr.json)",
            path.display().to_string()
        )));
    }
    path.canonicalize()
        .map_err(|e| crate::error::storage_error(&path.display().to_string(), &e))
}

/// A plain Zarr store over a local directory.
///
/// # Errors
/// None today; the signature leaves room for stores that can fail to open.
pub fn open_directory(path: &Path, max_concurrency: usize) -> Result<Source> {
    let stats = Arc::new(instrument::RequestStats::default());
    let store = local::LocalStore::new(path.to_path_buf(), Arc::clone(&stats), max_concurrency);
    Ok(Source {
        store: Arc::new(store),
        description: path.display().to_string(),
        stats,
        listable: true,
    })
}

/// One HTTP client per base URL for the life of the process: building a client and opening its first
/// connection cost more than a whole consolidated open, and later opens reuse its kept-alive connections.
fn http_store(url: &url::Url) -> Result<Arc<dyn ObjectStore>> {
    static CLIENTS: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, Arc<dyn ObjectStore>>>,
    > = std::sync::LazyLock::new(Default::default);
    let mut clients = CLIENTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(store) = clients.get(url.as_str()) {
        return Ok(Arc::clone(store));
    }
    let store: Arc<dyn ObjectStore> = Arc::new(
        object_store::http::HttpBuilder::new()
            .with_url(url.as_str())
            .with_client_options(object_store::ClientOptions::new().with_allow_http(true))
            .build()
            .map_err(|e| RtError::InvalidSource(format!("{}: {e}", redacted(url))))?,
    );
    // A long-lived process opening many distinct URLs should not keep every client forever.
    if clients.len() >= 64 {
        clients.clear();
    }
    clients.insert(url.as_str().to_owned(), Arc::clone(&store));
    Ok(store)
}

/// Puts the request cap and the counters around a raw object store (for object-storage sources).
#[must_use]
pub fn wrap_object_store(
    inner: Arc<dyn ObjectStore>,
    description: String,
    max_concurrency: usize,
) -> Source {
    let stats = Arc::new(instrument::RequestStats::default());
    let counted = instrument::InstrumentedStore::new(inner, Arc::clone(&stats));
    let limited = LimitStore::new(counted, max_concurrency.max(1));
    Source {
        store: Arc::new(object::ObjectStoreAdapter::new(Arc::new(limited))),
        description,
        stats,
        listable: true,
    }
}

/// Turns a path or `file://` URL into a filesystem path.
fn local_path(source: &str) -> Result<PathBuf> {
    if source.trim().is_empty() {
        return Err(RtError::InvalidSource(
            "the source is an empty string".into(),
        ));
    }
    if let Some((scheme, _)) = source.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "file" {
            let url = url::Url::parse(source).map_err(|e| {
                RtError::InvalidSource(format!("malformed file URL {source:?}: {e}"))
            })?;
            return url.to_file_path().map_err(|()| {
                RtError::InvalidSource(format!("file URL {source:?} has no local path"))
            });
        }
        let known = ["s3", "gs", "gcs", "az", "abfs", "abfss", "azure"];
        let reason = if known.contains(&scheme.as_str()) {
            "object storage is not supported by this build yet"
        } else {
            "unknown scheme"
        };
        return Err(RtError::InvalidSource(format!(
            "{scheme}:// source: {reason}"
        )));
    }
    Ok(Path::new(source).to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_and_paths_resolve_to_paths() {
        assert_eq!(
            local_path("file:///tmp/a%20b.zarr").unwrap(),
            PathBuf::from("/tmp/a b.zarr")
        );
        assert_eq!(
            local_path("rel/x.zarr").unwrap(),
            PathBuf::from("rel/x.zarr")
        );
    }

    #[test]
    fn bad_sources_have_codes() {
        assert_eq!(local_path("").unwrap_err().code(), "ERR_INVALID_SOURCE");
        assert_eq!(
            local_path("ftp://x/y").unwrap_err().code(),
            "ERR_INVALID_SOURCE"
        );
        assert_eq!(
            locate("/definitely/not/here.zarr").unwrap_err().code(),
            "ERR_NOT_FOUND"
        );
    }
}
