//! zarrs' async storage traits over a read-only icechunk `Store`, so chunk reads of icechunk arrays
//! run through the same zarrs pipeline as plain Zarr. Chunk keys map one to one (`a/b/c/0/1`); byte
//! ranges pass through, so sharded arrays still read only the inner chunks they need.

use std::sync::Arc;

use ::icechunk::Store;
use ::icechunk::format::ByteRange as IcRange;
use ::icechunk::store::{ListDirItem, StoreError, StoreErrorKind};
use futures::{StreamExt, TryStreamExt, stream};
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    AsyncListableStorageTraits, AsyncMaybeBytesIterator, AsyncReadableStorageTraits, MaybeBytes,
    StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix,
};

/// A read-only zarrs store over one icechunk session.
#[derive(Clone)]
pub struct IcechunkStore {
    store: Store,
}

impl IcechunkStore {
    /// Wraps an icechunk store (built from a read-only session).
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self { store }
    }
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

/// Keeps the icechunk store alive for as long as zarrs holds the adapter.
#[must_use]
pub fn into_storage(store: Store) -> Arc<IcechunkStore> {
    Arc::new(IcechunkStore::new(store))
}
