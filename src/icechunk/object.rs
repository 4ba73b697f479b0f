//! icechunk's `Storage` over the source's own `object_store` client, read-only.
//!
//! icechunk ships object-store backends of its own, but each builds a second client with its own
//! credentials model, retry policy and connection pool. Reading through the client the source already
//! has means one set of `storageOptions`, one connection pool, one `maxConcurrency` cap and one request
//! counter for the walk, the snapshot and the chunk reads alike.

use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use ::icechunk::Storage;
use ::icechunk::storage::{
    DeleteObjectsResult, ETag, Generation, GetModifiedResult, ListInfo, StorageContext,
    StorageError, StorageErrorKind, StorageInfo, StorageResult, VersionInfo, VersionedUpdateResult,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A read-only icechunk storage rooted at the repository's prefix of an object store. An object
/// fetched ahead (the `repo` file, read while probing the source) is served once from memory.
pub struct ObjectStoreStorage {
    store: Arc<dyn ObjectStore>,
    description: String,
    prefetched: Mutex<Option<(String, Bytes)>>,
}

impl ObjectStoreStorage {
    /// Wraps `store` (already rooted at the repository); `description` names it in messages.
    #[must_use]
    pub fn new(store: Arc<dyn ObjectStore>, description: String) -> Self {
        Self {
            store,
            description,
            prefetched: Mutex::new(None),
        }
    }

    /// Hands over the bytes of `path`, already fetched, for the next unconditional read of it.
    pub fn prefetch(&self, path: &str, bytes: Bytes) {
        let mut slot = self
            .prefetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *slot = Some((path.to_owned(), bytes));
    }

    fn take_prefetched(&self, path: &str) -> Option<Bytes> {
        let mut slot = self
            .prefetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match slot.take() {
            Some((p, bytes)) if p == path => Some(bytes),
            other => {
                *slot = other;
                None
            }
        }
    }
}

impl fmt::Debug for ObjectStoreStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreStorage")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ObjectStoreStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

// icechunk serialises storages into configs; this one only lives in memory, so it never round-trips.
impl Serialize for ObjectStoreStorage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ObjectStoreStorage {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "rustytree's object-store storage cannot be deserialised",
        ))
    }
}

impl icechunk_storage::sealed::Sealed for ObjectStoreStorage {}

fn path(key: &str) -> StorageResult<Path> {
    Path::parse(key).map_err(|e| {
        StorageError::capture(StorageErrorKind::Other(format!(
            "icechunk key {key:?} is not a valid object path: {e}"
        )))
    })
}

fn store_error(e: object_store::Error) -> StorageError {
    match e {
        object_store::Error::NotFound { .. } => {
            StorageError::capture(StorageErrorKind::ObjectNotFound)
        }
        // icechunk's errors travel as strings from here on; the tag keeps "permission denied" a kind.
        other if crate::source::object::is_refusal(&other) => StorageError::capture(
            StorageErrorKind::Other(format!("{}{other}", crate::error::PERMISSION_DENIED_TAG)),
        ),
        other => StorageError::capture(StorageErrorKind::ObjectStore(Box::new(other))),
    }
}

pub(super) fn read_only(op: &str) -> StorageError {
    StorageError::capture(StorageErrorKind::Other(format!(
        "rustytree is read-only: {op} refused"
    )))
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, StorageError>> + Send>>;

fn version_of(meta: &object_store::ObjectMeta) -> VersionInfo {
    VersionInfo {
        etag: meta.e_tag.clone().map(ETag),
        generation: meta.version.clone().map(Generation),
    }
}

#[async_trait]
#[typetag::serde(name = "rustytree_object_store")]
impl Storage for ObjectStoreStorage {
    fn storage_info(&self) -> StorageInfo {
        StorageInfo {
            backend_type: "rustytree object_store",
            fields: vec![("location", self.description.clone())],
        }
    }

    async fn can_write(&self) -> StorageResult<bool> {
        Ok(false)
    }

    async fn get_object_range(
        &self,
        _: &StorageContext<'_>,
        key: &str,
        range: Option<&Range<u64>>,
    ) -> StorageResult<(ByteStream, VersionInfo)> {
        if range.is_none()
            && let Some(bytes) = self.take_prefetched(key)
        {
            let stream: ByteStream = Box::pin(futures::stream::once(async move { Ok(bytes) }));
            return Ok((stream, VersionInfo::for_creation()));
        }
        let options = GetOptions {
            range: range.map(|r| GetRange::Bounded(r.clone())),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&path(key)?, options)
            .await
            .map_err(store_error)?;
        let version = version_of(&result.meta);
        let stream: ByteStream =
            Box::pin(crate::source::body::checked_stream(result).map_err(store_error));
        Ok((stream, version))
    }

    async fn put_object(
        &self,
        _: &StorageContext<'_>,
        _: &str,
        _: Bytes,
        _: Option<&str>,
        _: Vec<(String, String)>,
        _: Option<&VersionInfo>,
    ) -> StorageResult<VersionedUpdateResult> {
        Err(read_only("put"))
    }

    async fn copy_object(
        &self,
        _: &StorageContext<'_>,
        _: &str,
        _: &str,
        _: Option<&str>,
        _: &VersionInfo,
    ) -> StorageResult<VersionedUpdateResult> {
        Err(read_only("copy"))
    }

    async fn list_objects<'a>(
        &'a self,
        _: &StorageContext<'_>,
        prefix: &str,
    ) -> StorageResult<BoxStream<'a, StorageResult<ListInfo<String>>>> {
        let root = path(prefix.trim_end_matches('/'))?;
        let listed = self
            .store
            .list(Some(&root))
            .map(move |object| {
                let object = object.map_err(store_error)?;
                let id = object
                    .location
                    .prefix_match(&root)
                    .map(|parts| parts.collect::<Path>().to_string())
                    .ok_or_else(|| {
                        StorageError::capture(StorageErrorKind::Other(format!(
                            "listed {} outside {root}",
                            object.location
                        )))
                    })?;
                Ok(ListInfo {
                    id,
                    created_at: object.last_modified,
                    size_bytes: object.size,
                })
            })
            .boxed();
        Ok(listed)
    }

    async fn delete_batch(
        &self,
        _: &StorageContext<'_>,
        _: &str,
        _: Vec<(String, u64)>,
    ) -> StorageResult<DeleteObjectsResult> {
        Err(read_only("delete"))
    }

    async fn get_object_last_modified(
        &self,
        _: &StorageContext<'_>,
        key: &str,
    ) -> StorageResult<chrono::DateTime<chrono::Utc>> {
        let meta = self.store.head(&path(key)?).await.map_err(store_error)?;
        Ok(meta.last_modified)
    }

    async fn get_object_conditional(
        &self,
        _: &StorageContext<'_>,
        key: &str,
        previous: Option<&VersionInfo>,
    ) -> StorageResult<GetModifiedResult> {
        if previous.is_none()
            && let Some(bytes) = self.take_prefetched(key)
        {
            return Ok(GetModifiedResult::Modified {
                data: Box::pin(std::io::Cursor::new(bytes)),
                new_version: VersionInfo::for_creation(),
            });
        }
        let options = GetOptions {
            if_none_match: previous.and_then(VersionInfo::etag).cloned(),
            ..GetOptions::default()
        };
        match self.store.get_opts(&path(key)?, options).await {
            Ok(result) => {
                let new_version = version_of(&result.meta);
                let bytes = crate::source::body::collect(result)
                    .await
                    .map_err(store_error)?;
                Ok(GetModifiedResult::Modified {
                    data: Box::pin(std::io::Cursor::new(bytes)),
                    new_version,
                })
            }
            Err(object_store::Error::NotModified { .. }) => Ok(GetModifiedResult::OnLatestVersion),
            Err(e) => Err(store_error(e)),
        }
    }
}
