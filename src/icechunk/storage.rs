//! A read-only decorator on icechunk's `Storage` that counts requests into the source's
//! [`RequestStats`], the same counters the plain-Zarr path uses, and refuses writes.

use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use ::icechunk::Storage;
use ::icechunk::storage::{
    DeleteObjectsResult, GetModifiedResult, ListInfo, Settings, StorageContext, StorageError,
    StorageInfo, StorageResult, VersionInfo, VersionedUpdateResult,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::source::instrument::{RequestKind, RequestStats};

/// Counts every request to the wrapped storage (icechunk's local-filesystem storage); writes are refused.
#[derive(Debug)]
pub struct CountingStorage {
    inner: Arc<dyn Storage + Send + Sync>,
    stats: Arc<RequestStats>,
}

impl CountingStorage {
    /// Wraps `inner`.
    #[must_use]
    pub fn new(inner: Arc<dyn Storage + Send + Sync>, stats: Arc<RequestStats>) -> Self {
        Self { inner, stats }
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

use super::object::read_only;

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
        let _guard = self.stats.begin(RequestKind::Get);
        self.inner.get_object_conditional(ctx, path, previous).await
    }
}
