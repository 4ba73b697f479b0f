//! A read-only decorator on icechunk's `Storage` that counts requests into the source's
//! [`RequestStats`], the same counters the plain-Zarr path uses, and refuses writes.

use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use ::icechunk::Storage;
use ::icechunk::storage::{
    DeleteObjectsResult, GetModifiedResult, ListInfo, Settings, StorageContext, StorageError,
    StorageErrorKind, StorageInfo, StorageResult, VersionInfo, VersionedUpdateResult,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::source::instrument::{RequestKind, RequestStats};

/// Counts every request to the wrapped storage; writes are refused. An object fetched ahead (the `repo`
/// file, read while probing a remote source) is served once from memory instead of being fetched again.
#[derive(Debug)]
pub struct CountingStorage {
    inner: Arc<dyn Storage + Send + Sync>,
    stats: Arc<RequestStats>,
    prefetched: std::sync::Mutex<Option<(String, Bytes)>>,
}

impl CountingStorage {
    /// Wraps `inner`.
    #[must_use]
    pub fn new(inner: Arc<dyn Storage + Send + Sync>, stats: Arc<RequestStats>) -> Self {
        Self {
            inner,
            stats,
            prefetched: std::sync::Mutex::new(None),
        }
    }

    /// Hands over the bytes of `path`, already fetched, for the next unconditional read of it.
    pub fn prefetch(&self, path: &str, bytes: Bytes) {
        let mut slot = self
            .prefetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some((path.to_owned(), bytes));
    }

    fn take_prefetched(&self, path: &str) -> Option<Bytes> {
        let mut slot = self
            .prefetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match slot.take() {
            Some((p, bytes)) if p == path => Some(bytes),
            other => {
                *slot = other;
                None
            }
        }
    }
}

impl fmt::Display for CountingStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

// icechunk serialises storages into configs; this one only lives in memory, so it never round-trips.
impl Serialize for CountingStorage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ().serialize(s)
    }
}

impl<'de> Deserialize<'de> for CountingStorage {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "rustytree's counting storage cannot be deserialised",
        ))
    }
}

impl icechunk_storage::sealed::Sealed for CountingStorage {}

fn read_only(op: &str) -> StorageError {
    StorageError::capture(StorageErrorKind::Other(format!(
        "rustytree is read-only: {op} refused"
    )))
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, StorageError>> + Send>>;

#[async_trait]
#[typetag::serde(name = "rustytree_counting")]
impl Storage for CountingStorage {
    fn storage_info(&self) -> StorageInfo {
        self.inner.storage_info()
    }

    async fn default_settings(&self) -> StorageResult<Settings> {
        self.inner.default_settings().await
    }

    async fn can_write(&self) -> StorageResult<bool> {
        Ok(false)
    }

    async fn get_object_range(
        &self,
        ctx: &StorageContext<'_>,
        path: &str,
        range: Option<&Range<u64>>,
    ) -> StorageResult<(ByteStream, VersionInfo)> {
        let kind = if range.is_some() {
            RequestKind::RangedGet
        } else {
            RequestKind::Get
        };
        let _guard = self.stats.begin(kind);
        if let Some(r) = range {
            self.stats.add_bytes(r.end.saturating_sub(r.start));
        }
        self.inner.get_object_range(ctx, path, range).await
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
        ctx: &StorageContext<'_>,
        prefix: &str,
    ) -> StorageResult<BoxStream<'a, StorageResult<ListInfo<String>>>> {
        let _guard = self.stats.begin(RequestKind::List);
        self.inner.list_objects(ctx, prefix).await
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
        ctx: &StorageContext<'_>,
        path: &str,
    ) -> StorageResult<chrono::DateTime<chrono::Utc>> {
        let _guard = self.stats.begin(RequestKind::Head);
        self.inner.get_object_last_modified(ctx, path).await
    }

    async fn get_object_conditional(
        &self,
        ctx: &StorageContext<'_>,
        path: &str,
        previous: Option<&VersionInfo>,
    ) -> StorageResult<GetModifiedResult> {
        if previous.is_none()
            && let Some(bytes) = self.take_prefetched(path)
        {
            return Ok(GetModifiedResult::Modified {
                data: Box::pin(std::io::Cursor::new(bytes)),
                new_version: VersionInfo::for_creation(),
            });
        }
        let _guard = self.stats.begin(RequestKind::Get);
        self.inner.get_object_conditional(ctx, path, previous).await
    }
}
