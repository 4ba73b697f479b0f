//! zarrs' async storage traits over a read-only icechunk `Store`, so chunk reads of icechunk arrays
//! run through the same zarrs pipeline as plain Zarr. Chunk keys map one to one (`a/b/c/0/1`); byte
//! ranges pass through, so sharded arrays still read only the inner chunks they need.
//!
//! Virtual chunks in the remote containers the user authorised are fetched by
//! [`super::remote_virtual`], through the sources' own client; local-file virtual chunks and those of
//! containers not authorised go to icechunk, which reads or refuses them.

use std::sync::Arc;

use ::icechunk::Store;
use ::icechunk::format::manifest::ChunkPayload;
use ::icechunk::format::{ByteRange as IcRange, ChunkIndices, Path as NodePath};
use ::icechunk::store::{ListDirItem, StoreError, StoreErrorKind};
use futures::{StreamExt, TryStreamExt, stream};
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    AsyncListableStorageTraits, AsyncMaybeBytesIterator, AsyncReadableStorageTraits, MaybeBytes,
    StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix,
};

use super::remote_virtual::{RemoteChunk, RemoteVirtualChunks};

/// A read-only zarrs store over one icechunk session.
#[derive(Clone)]
pub struct IcechunkStore {
    store: Store,
    remote: Arc<RemoteVirtualChunks>,
}

impl IcechunkStore {
    /// Wraps an icechunk store (built from a read-only session); `remote` fetches the virtual chunks of
    /// the authorised remote containers.
    #[must_use]
    pub fn new(store: Store, remote: RemoteVirtualChunks) -> Self {
        Self {
            store,
            remote: Arc::new(remote),
        }
    }

    /// The virtual chunk behind `key` when it lies in an authorised remote container.
    async fn remote_chunk(&self, key: &StoreKey) -> Option<RemoteChunk> {
        if self.remote.is_empty() {
            return None;
        }
        let (path, coords) = chunk_key(key.as_str())?;
        let session = self.store.session();
        let session = session.read().await;
        let Ok(Some(ChunkPayload::Virtual(reference))) =
            session.get_chunk_ref(&path, &coords).await
        else {
            return None;
        };
        self.remote
            .route(reference, session.config().virtual_chunk_containers())
    }

    /// `range` of a remote virtual chunk (its whole length for `None`).
    async fn fetch_remote(
        &self,
        chunk: &RemoteChunk,
        range: Option<ByteRange>,
    ) -> Result<bytes::Bytes, StorageError> {
        let length = chunk.reference.length;
        let range = match range {
            None => 0..length,
            Some(r) => {
                let start = r.start(length).min(length);
                start..r.end(length).clamp(start, length)
            }
        };
        self.remote.fetch(chunk, range).await
    }
}

/// `key` as an array path and chunk coordinates (`a/b/c/0/1`: `/a/b`, `[0, 1]`), for the default chunk
/// key encoding, the one icechunk stores.
fn chunk_key(key: &str) -> Option<(NodePath, ChunkIndices)> {
    let (path, coords) = if let Some(coords) = key.strip_prefix("c/") {
        ("", coords)
    } else {
        key.rsplit_once("/c/")?
    };
    let coords = coords
        .split('/')
        .map(|c| c.parse::<u32>().ok())
        .collect::<Option<Vec<_>>>()?;
    let path = NodePath::try_from(format!("/{path}").as_str()).ok()?;
    Some((path, ChunkIndices(coords)))
}

fn is_not_found(e: &StoreError) -> bool {
    matches!(e.kind(), StoreErrorKind::NotFound(_))
}

fn storage_error(e: &StoreError) -> StorageError {
    let text = super::describe(e);
    // A virtual chunk in a container the reader has not authorised: a refusal, not an I/O failure.
    if text.contains("authorize the virtual chunk container") {
        StorageError::Other(format!("{}{text}", crate::error::PERMISSION_DENIED_TAG))
    } else {
        StorageError::Other(text)
    }
}

fn to_icechunk(range: ByteRange) -> IcRange {
    match range {
        ByteRange::FromStart(offset, None) => IcRange::From(offset),
        ByteRange::FromStart(offset, Some(len)) => IcRange::Bounded(offset..offset + len),
        ByteRange::Suffix(len) => IcRange::Last(len),
    }
}

#[async_trait::async_trait]
impl AsyncReadableStorageTraits for IcechunkStore {
    async fn get(&self, key: &StoreKey) -> Result<MaybeBytes, StorageError> {
        if let Some(chunk) = self.remote_chunk(key).await {
            return self.fetch_remote(&chunk, None).await.map(Some);
        }
        match self.store.get(key.as_str(), &IcRange::ALL).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(storage_error(&e)),
        }
    }

    async fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<AsyncMaybeBytesIterator<'a>, StorageError> {
        if let Some(chunk) = self.remote_chunk(key).await {
            let ranges: Vec<ByteRange> = byte_ranges.collect();
            let parts = futures::future::try_join_all(
                ranges
                    .into_iter()
                    .map(|r| self.fetch_remote(&chunk, Some(r))),
            )
            .await?;
            return Ok(Some(stream::iter(parts.into_iter().map(Ok)).boxed()));
        }
        let requests: Vec<(String, IcRange)> = byte_ranges
            .map(|r| (key.as_str().to_owned(), to_icechunk(r)))
            .collect();
        let results = self
            .store
            .get_partial_values(requests)
            .await
            .map_err(|e| storage_error(&e))?;
        if results
            .iter()
            .any(|r| matches!(r, Err(e) if is_not_found(e)))
        {
            return Ok(None);
        }
        let bytes: Vec<Result<_, StorageError>> = results
            .into_iter()
            .map(|r| r.map_err(|e| storage_error(&e)))
            .collect();
        Ok(Some(stream::iter(bytes).boxed()))
    }

    async fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        if !self
            .store
            .exists(key.as_str())
            .await
            .map_err(|e| storage_error(&e))?
        {
            return Ok(None);
        }
        self.store
            .getsize(key.as_str())
            .await
            .map(Some)
            .map_err(|e| storage_error(&e))
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

#[async_trait::async_trait]
impl AsyncListableStorageTraits for IcechunkStore {
    async fn list(&self) -> Result<StoreKeys, StorageError> {
        self.list_prefix(&StorePrefix::root()).await
    }

    async fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        let keys: Vec<String> = self
            .store
            .list_prefix(prefix.as_str())
            .await
            .map_err(|e| storage_error(&e))?
            .try_collect()
            .await
            .map_err(|e| storage_error(&e))?;
        let mut keys = keys
            .into_iter()
            .map(StoreKey::new)
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        Ok(keys)
    }

    async fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        let items: Vec<ListDirItem> = self
            .store
            .list_dir_items(prefix.as_str())
            .await
            .map_err(|e| storage_error(&e))?
            .try_collect()
            .await
            .map_err(|e| storage_error(&e))?;
        let mut keys = Vec::new();
        let mut prefixes = Vec::new();
        for item in items {
            match item {
                ListDirItem::Key(k) => keys.push(StoreKey::new(format!("{}{k}", prefix.as_str()))?),
                ListDirItem::Prefix(p) => {
                    prefixes.push(StorePrefix::new(format!("{}{p}/", prefix.as_str()))?);
                }
            }
        }
        keys.sort();
        prefixes.sort();
        Ok(StoreKeysPrefixes::new(keys, prefixes))
    }

    async fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        self.store
            .getsize_prefix(prefix.as_str())
            .await
            .map_err(|e| storage_error(&e))
    }
}

/// Keeps the icechunk store alive for as long as zarrs holds the adapter; `remote` as in
/// [`IcechunkStore::new`].
#[must_use]
pub fn into_storage(store: Store, remote: RemoteVirtualChunks) -> Arc<IcechunkStore> {
    Arc::new(IcechunkStore::new(store, remote))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_split_into_array_path_and_coordinates() {
        let (path, coords) = chunk_key("a/b/c/0/12").unwrap();
        assert_eq!(
            (path.to_string(), coords.0),
            ("/a/b".to_owned(), vec![0, 12])
        );
        let (path, coords) = chunk_key("c/3").unwrap();
        assert_eq!((path.to_string(), coords.0), ("/".to_owned(), vec![3]));
        assert!(chunk_key("a/zarr.json").is_none());
        assert!(chunk_key("a/c/x").is_none());
    }
}
