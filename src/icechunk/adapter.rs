//! zarrs' async storage traits over a read-only icechunk `Store`, so chunk reads of icechunk arrays
//! run through the same zarrs pipeline as plain Zarr. Chunk keys map one to one (`a/b/c/0/1`); byte
//! ranges pass through, so sharded arrays still read only the inner chunks they need.
//!
//! Virtual chunks in the S3 containers the user authorised are fetched here, through a client built
//! like the sources' own ([`crate::source::transport`]: redirects kept on the origin, bodies bounded):
//! icechunk's own client for them followed a redirect to another origin with the session token and a
//! `Referer`. Other virtual chunks (local files, other schemes, containers not authorised) go to
//! icechunk as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use ::icechunk::config::{Credentials, S3Credentials};
use ::icechunk::format::manifest::{Checksum, ChunkPayload, VirtualChunkRef};
use ::icechunk::format::{ByteRange as IcRange, ChunkIndices, Path as NodePath};
use ::icechunk::store::{ListDirItem, StoreError, StoreErrorKind};
use ::icechunk::{ObjectStoreConfig, Store};
use futures::{StreamExt, TryStreamExt, stream};
use object_store::{GetOptions, ObjectStore};
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    AsyncListableStorageTraits, AsyncMaybeBytesIterator, AsyncReadableStorageTraits, MaybeBytes,
    StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix,
};

/// A read-only zarrs store over one icechunk session.
#[derive(Clone)]
pub struct IcechunkStore {
    store: Store,
    virtual_s3: Arc<VirtualS3>,
}

impl IcechunkStore {
    /// Wraps an icechunk store (built from a read-only session); `authorised` maps the URL prefixes of
    /// the virtual chunk containers the user authorised to their credentials.
    #[must_use]
    pub fn new(store: Store, authorised: Vec<(String, Option<Credentials>)>) -> Self {
        Self {
            store,
            virtual_s3: Arc::new(VirtualS3 {
                authorised,
                clients: Mutex::default(),
            }),
        }
    }

    /// The virtual chunk behind `key` when it lies in an authorised S3 container, with that container's
    /// settings and credentials.
    async fn virtual_s3_chunk(&self, key: &StoreKey) -> Option<(VirtualChunkRef, S3Container)> {
        if self.virtual_s3.authorised.is_empty() {
            return None;
        }
        let (path, coords) = chunk_key(key.as_str())?;
        let session = self.store.session();
        let session = session.read().await;
        let Ok(Some(ChunkPayload::Virtual(chunk))) = session.get_chunk_ref(&path, &coords).await
        else {
            return None;
        };
        let url = expand_location(&chunk, session.config().virtual_chunk_containers())?;
        let container = session
            .config()
            .virtual_chunk_containers()
            .find(|c| url.starts_with(c.url_prefix()))?;
        let (ObjectStoreConfig::S3(options)
        | ObjectStoreConfig::S3Compatible(options)
        | ObjectStoreConfig::Tigris(options)) = &container.store
        else {
            return None;
        };
        let credentials = self
            .virtual_s3
            .authorised
            .iter()
            .find(|(prefix, _)| {
                prefix.trim_end_matches('/') == container.url_prefix().trim_end_matches('/')
            })
            .map(|(_, credentials)| credentials.clone())?;
        Some((
            chunk,
            S3Container {
                url,
                options: options.clone(),
                credentials,
            },
        ))
    }

    /// `range` of a virtual chunk (its whole length for `None`), through [`VirtualS3`].
    async fn fetch_virtual(
        &self,
        chunk: &VirtualChunkRef,
        container: &S3Container,
        range: Option<ByteRange>,
    ) -> Result<bytes::Bytes, StorageError> {
        let (start, end) = match range {
            None => (0, chunk.length),
            Some(r) => {
                let start = r.start(chunk.length).min(chunk.length);
                (start, r.end(chunk.length).clamp(start, chunk.length))
            }
        };
        let range = chunk.offset.saturating_add(start)..chunk.offset.saturating_add(end);
        self.virtual_s3
            .fetch(container, chunk.checksum.as_ref(), range)
            .await
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

/// A chunk's location as a URL: `vcc://name/key` names its container.
fn expand_location<'a>(
    chunk: &VirtualChunkRef,
    mut containers: impl Iterator<Item = &'a ::icechunk::virtual_chunks::VirtualChunkContainer>,
) -> Option<String> {
    match chunk.location.parse_vcc() {
        Some((name, key)) => containers
            .find(|c| c.name() == Some(name))
            .map(|c| format!("{}{key}", c.url_prefix())),
        None => Some(chunk.location.url().to_owned()),
    }
}

/// Where a virtual chunk lives: its URL and its container's settings and credentials.
struct S3Container {
    url: String,
    options: ::icechunk::config::S3Options,
    credentials: Option<Credentials>,
}

/// Virtual chunk reads from S3 containers, one client per bucket and settings.
struct VirtualS3 {
    authorised: Vec<(String, Option<Credentials>)>,
    clients: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl VirtualS3 {
    async fn fetch(
        &self,
        container: &S3Container,
        checksum: Option<&Checksum>,
        range: std::ops::Range<u64>,
    ) -> Result<bytes::Bytes, StorageError> {
        let failed = |what: &dyn std::fmt::Display| {
            StorageError::Other(format!("virtual chunk {}: {what}", container.url))
        };
        let (bucket, key) = container
            .url
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(|| failed(&"not an s3:// URL with a bucket and a key"))?;
        let client = self.client(bucket, container).map_err(|e| failed(&e))?;
        let mut options = GetOptions {
            range: Some(range.into()),
            ..GetOptions::default()
        };
        match checksum {
            Some(Checksum::LastModified(seconds)) => {
                options.if_unmodified_since =
                    chrono::DateTime::from_timestamp(i64::from(seconds.0), 0);
            }
            Some(Checksum::ETag(etag)) => {
                options.if_match = Some(etag.0.trim_matches('"').to_owned());
            }
            None => {}
        }
        let location = object_store::path::Path::parse(key).map_err(|e| failed(&e))?;
        match client.get_opts(&location, options).await {
            Ok(result) => crate::source::body::collect(result)
                .await
                .map_err(|e| failed(&e)),
            Err(object_store::Error::Precondition { .. }) => Err(failed(
                &"the object was modified after the repository referenced it",
            )),
            Err(e) if crate::source::object::is_refusal(&e) => Err(StorageError::Other(format!(
                "{}virtual chunk {}: {e}",
                crate::error::PERMISSION_DENIED_TAG,
                container.url
            ))),
            Err(e) => Err(failed(&e)),
        }
    }

    fn client(
        &self,
        bucket: &str,
        container: &S3Container,
    ) -> object_store::Result<Arc<dyn ObjectStore>> {
        let options = &container.options;
        let cache_key = format!(
            "{bucket}\n{:?}\n{:?}\n{}\n{}",
            options.endpoint_url, options.region, options.anonymous, options.allow_http
        );
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&cache_key) {
            return Ok(Arc::clone(client));
        }
        // As icechunk builds its S3 client: static keys, unsigned requests, or the environment's.
        let mut builder = match &container.credentials {
            Some(Credentials::S3(S3Credentials::Static(keys))) => {
                let builder = object_store::aws::AmazonS3Builder::new()
                    .with_access_key_id(&keys.access_key_id)
                    .with_secret_access_key(&keys.secret_access_key);
                match &keys.session_token {
                    Some(token) => builder.with_token(token),
                    None => builder,
                }
            }
            Some(Credentials::S3(S3Credentials::Anonymous)) => {
                object_store::aws::AmazonS3Builder::new().with_skip_signature(true)
            }
            _ => object_store::aws::AmazonS3Builder::from_env(),
        };
        if let Some(region) = &options.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &options.endpoint_url {
            builder = builder.with_endpoint(endpoint);
        }
        if options.anonymous {
            builder = builder.with_skip_signature(true);
        }
        let client: Arc<dyn ObjectStore> = Arc::new(
            builder
                .with_allow_http(options.allow_http)
                .with_bucket_name(bucket)
                .with_http_connector(crate::source::transport::GuardedConnector)
                .build()?,
        );
        if clients.len() >= 64 {
            clients.clear();
        }
        clients.insert(cache_key, Arc::clone(&client));
        Ok(client)
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
        if let Some((chunk, container)) = self.virtual_s3_chunk(key).await {
            return self.fetch_virtual(&chunk, &container, None).await.map(Some);
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
        if let Some((chunk, container)) = self.virtual_s3_chunk(key).await {
            let ranges: Vec<ByteRange> = byte_ranges.collect();
            let parts = futures::future::try_join_all(
                ranges
                    .into_iter()
                    .map(|r| self.fetch_virtual(&chunk, &container, Some(r))),
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

/// Keeps the icechunk store alive for as long as zarrs holds the adapter; `authorised` as in
/// [`IcechunkStore::new`].
#[must_use]
pub fn into_storage(
    store: Store,
    authorised: impl IntoIterator<Item = (String, Option<Credentials>)>,
) -> Arc<IcechunkStore> {
    Arc::new(IcechunkStore::new(store, authorised.into_iter().collect()))
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
