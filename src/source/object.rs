//! zarrs' async storage traits over an `object_store` store.
//!
//! Two reasons not to use `zarrs_object_store`: it turns keys into paths with `Path::from`, which
//! percent-encodes characters such as `[`, `]`, `%` or `#` inside names, so a key like `temp[K]/c/0` is
//! requested as `temp%5BK%5D/c/0` and the read silently returns fill values; and it asks for the object's
//! size (a HEAD) before every ranged read. Here keys are taken verbatim (`Path::parse`), ranged reads
//! are single requests with offset or suffix ranges, and the object size each ranged answer reports
//! (`Content-Range: bytes a-b/TOTAL`) is remembered ([`KnownSizes`]), so the size question a partial shard
//! read asks after fetching the index is answered without a HEAD.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    AsyncListableStorageTraits, AsyncMaybeBytesIterator, AsyncReadableStorageTraits, MaybeBytes,
    StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix,
};

use super::sizes::KnownSizes;

/// The adapter.
#[derive(Debug)]
pub struct ObjectStoreAdapter {
    store: Arc<dyn ObjectStore>,
    forbidden_is_missing: bool,
    /// Whether this reader may list the store, learnt (once) from the first refused chunk read.
    may_list: tokio::sync::OnceCell<bool>,
    suffix_ranges: bool,
    /// Object sizes reported by ranged answers (and by the HEADs that emulate suffix ranges): the size
    /// `size_key` gives without a request, and the one a suffix range is emulated with. Every answer
    /// refreshes its key's entry; a reader's view is one open, whose objects do not change underneath.
    sizes: KnownSizes<Path>,
}

impl ObjectStoreAdapter {
    /// Wraps `store`; a 401/403 answer is an error.
    #[must_use]
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            forbidden_is_missing: false,
            may_list: tokio::sync::OnceCell::new(),
            suffix_ranges: true,
            sizes: KnownSizes::default(),
        }
    }

    /// For services that cannot answer `bytes=-N` (Azure Blob): a suffix range becomes a HEAD for the
    /// size (once per object) and a bounded range.
    #[must_use]
    pub fn without_suffix_ranges(mut self) -> Self {
        self.suffix_ranges = false;
        self
    }

    /// Wraps `store` for chunk reads. S3 (and GCS) answer `403 AccessDenied` instead of 404 for a
    /// missing key when the reader may not list the bucket, and a missing chunk is normal (it reads as
    /// the fill value). So on a refused chunk read the adapter asks once whether it may list: if it may,
    /// the service would have said 404 for a missing key, and the 403 is a real denial (an expired
    /// token, a policy on a prefix), reported as such; if it may not, the 403 means "missing".
    #[must_use]
    pub fn for_chunks(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            forbidden_is_missing: true,
            ..Self::new(store)
        }
    }
}

/// Whether `e` is S3's answer for a key the reader may not see (missing without list permission),
/// as opposed to a refused signature or unknown key id.
fn is_access_denied(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::PermissionDenied { .. })
        && e.to_string().contains("<Code>AccessDenied</Code>")
}

fn path(key: &str) -> Result<Path, StorageError> {
    Path::parse(key)
        .map_err(|e| StorageError::Other(format!("key {key:?} is not a valid object path: {e}")))
}

fn storage_error(e: &object_store::Error) -> StorageError {
    if is_refusal(e) {
        StorageError::Other(format!("{}{e}", crate::error::PERMISSION_DENIED_TAG))
    } else {
        StorageError::Other(e.to_string())
    }
}

/// Whether the store refused the request (401/403). Listings report refusals as generic errors
/// carrying the HTTP status, so the status text is checked too.
pub(crate) fn is_refusal(e: &object_store::Error) -> bool {
    match e {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => true,
        other => {
            let text = other.to_string();
            text.contains("403 Forbidden") || text.contains("401 Unauthorized")
        }
    }
}

/// Extra attempts at a listing whose response body failed (see `list_dir`).
const LIST_BODY_RETRIES: u32 = 3;

/// Whether a listing failed while reading or parsing its response body, after the request succeeded.
fn is_list_body_error(e: &object_store::Error) -> bool {
    let text = e.to_string();
    text.contains("Error getting list response body") || text.contains("Invalid list response")
}

fn get_range(range: ByteRange) -> GetRange {
    match range {
        ByteRange::FromStart(offset, None) => GetRange::Offset(offset),
        // A corrupt shard index can claim any offset and length; saturate instead of overflowing and
        // let the store refuse the range (found by fuzzing).
        ByteRange::FromStart(offset, Some(len)) => {
            GetRange::Bounded(offset..offset.saturating_add(len))
        }
        ByteRange::Suffix(len) => GetRange::Suffix(len),
    }
}

impl ObjectStoreAdapter {
    /// Every object under `prefix`, recursively.
    async fn list_objects(
        &self,
        prefix: &StorePrefix,
    ) -> Result<Vec<object_store::ObjectMeta>, StorageError> {
        let p = path(prefix.as_str())?;
        self.store
            .list(Some(&p))
            .try_collect()
            .await
            .map_err(|e| storage_error(&e))
    }

    /// `range` as the service can take it: suffix ranges become bounded ones where unsupported.
    /// `None` when the object does not exist.
    async fn supported_range(
        &self,
        location: &Path,
        range: Option<GetRange>,
    ) -> Result<Option<Option<GetRange>>, StorageError> {
        let Some(GetRange::Suffix(len)) = range else {
            return Ok(Some(range));
        };
        if self.suffix_ranges {
            return Ok(Some(range));
        }
        let Some(size) = self.size_of(location).await? else {
            return Ok(None);
        };
        Ok(Some(Some(GetRange::Bounded(
            size.saturating_sub(len)..size,
        ))))
    }

    /// The size of `location`: remembered from an earlier answer, or asked with a HEAD (and remembered).
    /// `None` when the object does not exist.
    async fn size_of(&self, location: &Path) -> Result<Option<u64>, StorageError> {
        if let Some(size) = self.sizes.get(location) {
            return Ok(Some(size));
        }
        match self.store.head(location).await {
            Ok(meta) => {
                self.sizes.remember(location, meta.size);
                Ok(Some(meta.size))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) if self.refusal_means_missing(&e, location).await? => Ok(None),
            Err(e) => Err(storage_error(&e)),
        }
    }

    async fn fetch(
        &self,
        location: &Path,
        range: Option<GetRange>,
    ) -> Result<MaybeBytes, StorageError> {
        let Some(range) = self.supported_range(location, range).await? else {
            return Ok(None);
        };
        let options = GetOptions {
            range,
            ..GetOptions::default()
        };
        let ranged = options.range.is_some();
        match self.store.get_opts(location, options).await {
            Ok(result) => {
                // A ranged answer's `meta.size` is the object's total size, from its Content-Range.
                let size = result.meta.size;
                let body = super::body::collect(result)
                    .await
                    .map_err(|e| storage_error(&e))?;
                if ranged {
                    self.sizes.remember(location, size);
                }
                Ok(Some(body))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) if self.refusal_means_missing(&e, location).await? => Ok(None),
            Err(e) => Err(storage_error(&e)),
        }
    }

    /// Whether a refused read of `location` means the object is missing (see [`Self::for_chunks`]).
    async fn refusal_means_missing(
        &self,
        e: &object_store::Error,
        location: &Path,
    ) -> Result<bool, StorageError> {
        if !self.forbidden_is_missing || !is_access_denied(e) {
            return Ok(false);
        }
        let may_list = self
            .may_list
            .get_or_try_init(|| async {
                // The refused key itself as the prefix: the smallest listing that answers the question.
                match self.store.list(Some(location)).next().await {
                    Some(Err(e)) if is_refusal(&e) => Ok(false),
                    Some(Err(e)) => Err(storage_error(&e)),
                    Some(Ok(_)) | None => Ok(true),
                }
            })
            .await?;
        Ok(!*may_list)
    }
}

#[async_trait::async_trait]
impl AsyncReadableStorageTraits for ObjectStoreAdapter {
    async fn get(&self, key: &StoreKey) -> Result<MaybeBytes, StorageError> {
        self.fetch(&path(key.as_str())?, None).await
    }

    async fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<AsyncMaybeBytesIterator<'a>, StorageError> {
        let location = path(key.as_str())?;
        let ranges: Vec<ByteRange> = byte_ranges.collect();
        // One request per range, all at once (the store's request cap still applies).
        let parts = futures::future::try_join_all(
            ranges
                .into_iter()
                .map(|r| self.fetch(&location, Some(get_range(r)))),
        )
        .await?;
        if parts.iter().any(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(
            stream::iter(parts.into_iter().flatten().map(Ok)).boxed(),
        ))
    }

    async fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.size_of(&path(key.as_str())?).await
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

#[async_trait::async_trait]
impl AsyncListableStorageTraits for ObjectStoreAdapter {
    async fn list(&self) -> Result<StoreKeys, StorageError> {
        self.list_prefix(&StorePrefix::root()).await
    }

    async fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        let metas = self.list_objects(prefix).await?;
        let mut keys = metas
            .into_iter()
            .map(|m| StoreKey::new(m.location.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        Ok(keys)
    }

    async fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        let p = path(prefix.as_str())?;
        // object_store retries a listing request, but not the reading of its body: a connection cut
        // mid-body (or a body that does not parse) would fail a whole walk. Listings are idempotent.
        let mut attempt = 0;
        let listing = loop {
            match self.store.list_with_delimiter(Some(&p)).await {
                Ok(listing) => break listing,
                Err(e) if attempt < LIST_BODY_RETRIES && is_list_body_error(&e) => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                Err(e) => return Err(storage_error(&e)),
            }
        };
        let keys = listing
            .objects
            .iter()
            .map(|m| StoreKey::new(m.location.as_ref()))
            .collect::<Result<_, _>>()?;
        let prefixes = listing
            .common_prefixes
            .iter()
            .map(|c| StorePrefix::new(format!("{}/", c.as_ref())))
            .collect::<Result<_, _>>()?;
        Ok(StoreKeysPrefixes::new(keys, prefixes))
    }

    async fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        Ok(self
            .list_objects(prefix)
            .await?
            .iter()
            .map(|m| m.size)
            .sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::instrument::{InstrumentedStore, RequestStats};
    use object_store::PutPayload;
    use object_store::memory::InMemory;

    /// An adapter over an in-memory store holding a 192-byte object at `a/c/0`, and its counters.
    async fn adapter_over_one_object(
        suffix_ranges: bool,
    ) -> (ObjectStoreAdapter, Arc<RequestStats>, StoreKey) {
        let memory = InMemory::new();
        memory
            .put(&Path::from("a/c/0"), PutPayload::from(vec![7u8; 192]))
            .await
            .unwrap();
        let stats = Arc::new(RequestStats::default());
        let store = Arc::new(InstrumentedStore::new(Arc::new(memory), Arc::clone(&stats)));
        let adapter = ObjectStoreAdapter::new(store);
        let adapter = if suffix_ranges {
            adapter
        } else {
            adapter.without_suffix_ranges()
        };
        (adapter, stats, StoreKey::new("a/c/0").unwrap())
    }

    #[tokio::test]
    async fn the_size_after_a_ranged_read_is_the_one_its_answer_reported() {
        for range in [ByteRange::Suffix(64), ByteRange::FromStart(0, Some(32))] {
            let (adapter, stats, key) = adapter_over_one_object(true).await;
            let part = adapter.get_partial(&key, range).await.unwrap().unwrap();
            assert_eq!(
                part.len(),
                if range == ByteRange::Suffix(64) {
                    64
                } else {
                    32
                }
            );
            assert_eq!(adapter.size_key(&key).await.unwrap(), Some(192));
            let s = stats.snapshot();
            assert_eq!((s.ranged_gets, s.heads, s.gets), (1, 0, 0), "{range:?}");
        }
    }

    #[tokio::test]
    async fn without_a_ranged_read_the_size_is_one_head_then_remembered() {
        let (adapter, stats, key) = adapter_over_one_object(true).await;
        assert_eq!(adapter.size_key(&key).await.unwrap(), Some(192));
        assert_eq!(adapter.size_key(&key).await.unwrap(), Some(192));
        assert_eq!(stats.snapshot().heads, 1);
        let missing = StoreKey::new("a/c/1").unwrap();
        assert_eq!(adapter.size_key(&missing).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_emulated_suffix_range_asks_one_head_for_both_the_range_and_the_size() {
        let (adapter, stats, key) = adapter_over_one_object(false).await;
        for _ in 0..2 {
            let part = adapter
                .get_partial(&key, ByteRange::Suffix(64))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(part.len(), 64);
            assert_eq!(adapter.size_key(&key).await.unwrap(), Some(192));
        }
        let s = stats.snapshot();
        assert_eq!((s.heads, s.ranged_gets), (1, 2));
    }
}
