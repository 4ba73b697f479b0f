//! Source resolution: a user's source string becomes a store handle the rest of the crate reads from.
//!
//! Local directories, given as a path or a `file://` URL, are read by [`local::LocalStore`]. Remote
//! sources ([`remote`]: S3, GCS, Azure, HTTP) are `object_store` clients configured by [`options`],
//! wrapped in `LimitStore` (the cap on concurrent requests, the user's `maxConcurrency`) around
//! [`instrument::InstrumentedStore`] (request counts, read-only). icechunk repositories are opened by
//! [`crate::icechunk`] over the same wrapped store.

pub mod body;
pub mod instrument;
pub mod local;
pub mod object;
pub mod options;
pub mod remote;
pub mod sizes;
pub mod transport;

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
    /// Values (credentials) that must not appear in messages.
    pub secrets: Vec<String>,
    /// The raw object store under the counters, for icechunk (`None` for local directories).
    pub object_store: Option<Arc<dyn ObjectStore>>,
    /// The store chunk reads go through (see [`object::ObjectStoreAdapter::for_chunks`]).
    pub chunk_store: AsyncReadableListableStorage,
}

/// Where a source string points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An existing local directory (canonicalised).
    Local(PathBuf),
    /// An object store or HTTP(S) server.
    Remote(remote::RemoteLocation),
}

/// Classifies a source string: a local directory (`/path/to/store.zarr`, `./rel.zarr`,
/// `file:///abs/store.zarr`) or a remote location (`s3://bucket/prefix`, `gs://…`, `az://…`,
/// `abfs://…`, `https://host/store.zarr`).
///
/// # Errors
/// `ERR_INVALID_SOURCE` for an empty string, a malformed URL or an unknown scheme; `ERR_NOT_FOUND` when
/// a local directory does not exist.
pub fn locate(source: &str) -> Result<Location> {
    if let Some(remote) = remote::parse(source) {
        return remote.map(Location::Remote);
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

/// A read-only source over an object store or HTTP(S) server, configured by `storage_options`. A plain
/// HTTP server cannot list, so such a source needs consolidated metadata.
///
/// # Errors
/// As [`remote::open_store`].
pub fn open_remote(
    location: &remote::RemoteLocation,
    storage_options: &[(String, String)],
    max_concurrency: usize,
) -> Result<Source> {
    let (store, secrets) = remote::open_store(location, storage_options)?;
    let suffix_ranges = location.scheme != options::Scheme::Azure;
    let mut source = wrap_object_store(store, location.describe(), max_concurrency, suffix_ranges);
    source.listable = location.scheme != options::Scheme::Http;
    source.secrets = secrets;
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
    let store: AsyncReadableListableStorage = Arc::new(local::LocalStore::new(
        path.to_path_buf(),
        Arc::clone(&stats),
        max_concurrency,
    ));
    Ok(Source {
        chunk_store: Arc::clone(&store),
        store,
        description: path.display().to_string(),
        stats,
        listable: true,
        secrets: Vec::new(),
        object_store: None,
    })
}

/// A local directory read through `object_store`'s filesystem store, for icechunk repositories (which are
/// read through an object store wherever they live).
///
/// # Errors
/// `ERR_STORAGE` when the directory cannot be opened.
pub fn open_directory_objects(path: &Path, max_concurrency: usize) -> Result<Source> {
    let fs = object_store::local::LocalFileSystem::new_with_prefix(path)
        .map_err(|e| crate::error::storage_error(&path.display().to_string(), &e))?;
    Ok(wrap_object_store(
        Arc::new(fs),
        path.display().to_string(),
        max_concurrency,
        true,
    ))
}

/// Puts the request cap and the counters around a raw object store (for object-storage sources).
/// `suffix_ranges` says whether the service answers `bytes=-N` (Azure Blob does not).
#[must_use]
pub fn wrap_object_store(
    inner: Arc<dyn ObjectStore>,
    description: String,
    max_concurrency: usize,
    suffix_ranges: bool,
) -> Source {
    let stats = Arc::new(instrument::RequestStats::default());
    let counted = instrument::InstrumentedStore::new(inner, Arc::clone(&stats));
    let limited: Arc<dyn ObjectStore> = Arc::new(LimitStore::new(counted, max_concurrency.max(1)));
    let adapter = |a: object::ObjectStoreAdapter| {
        if suffix_ranges {
            a
        } else {
            a.without_suffix_ranges()
        }
    };
    Source {
        store: Arc::new(adapter(object::ObjectStoreAdapter::new(Arc::clone(
            &limited,
        )))),
        chunk_store: Arc::new(adapter(object::ObjectStoreAdapter::for_chunks(Arc::clone(
            &limited,
        )))),
        description,
        stats,
        listable: true,
        secrets: Vec::new(),
        object_store: Some(limited),
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
        return Err(RtError::InvalidSource(format!(
            "{scheme}:// source: unknown scheme (rustytree reads local paths, file://, http(s)://, \
             s3://, gs://, az:// and abfs://)"
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
