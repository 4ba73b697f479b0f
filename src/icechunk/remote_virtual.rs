//! Virtual chunks in authorised S3, GCS and HTTP(S) containers, fetched through the sources' own HTTP client
//! ([`crate::source::transport`]: redirects kept on the origin, no `Referer`, bodies bounded by what
//! arrives). icechunk's own clients for them followed a redirect to another origin with the container's
//! credentials (an S3 session token, an HTTP container's stored headers) and a `Referer`, and aborted the
//! process on an answer announcing 2^62 bytes.
//!
//! Everything else is icechunk 2.3.1's choice for the container, so a chunk reads the same as before:
//! which container a location falls in (the longest matching prefix of the containers icechunk accepts),
//! the object key (the location's path, percent-decoded), the credentials (S3: the user's keys, unsigned
//! for `anonymous`, else the environment's; GCS: unsigned, icechunk's choice for a container authorised
//! without credentials; HTTP: none, plus the container's stored headers), the container's stored client
//! options, the reference's `ETag` or modification time as precondition, the split of a large chunk into
//! parallel ranged requests, and the retries of the storage settings. Azure containers icechunk reads only
//! with Azure credentials, which `virtualChunkContainers` does not take: they are refused without a request
//! (as icechunk refuses them), here, so no future client can leak. Local-file containers stay with icechunk.

use std::collections::HashMap;
use std::ops::Range;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ::icechunk::ObjectStoreConfig;
use ::icechunk::config::{Credentials, HttpConfig, S3Credentials, S3Options};
use ::icechunk::format::manifest::{Checksum, VirtualChunkRef};
use ::icechunk::storage::Settings;
use ::icechunk::virtual_chunks::VirtualChunkContainer;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::{
    BackoffConfig, ClientConfigKey, ClientOptions, GetOptions, ObjectStore, RetryConfig,
};
use zarrs::storage::StorageError;

use crate::source::body::join_pieces;
use crate::source::transport::GuardedConnector;

/// Clients kept per open before the cache starts over (one per container and bucket or host).
const MAX_CLIENTS: usize = 64;

/// A virtual chunk to fetch here: its reference, its location as an absolute URL, and its container.
pub struct RemoteChunk {
    /// The manifest's reference (offset, length, checksum).
    pub reference: VirtualChunkRef,
    url: String,
    container: VirtualChunkContainer,
    credentials: Option<Credentials>,
}

/// The fetches of one opened repository's remote virtual chunks, and their clients.
pub struct RemoteVirtualChunks {
    /// URL prefixes (ending in `/`) of the containers the user authorised, with their credentials.
    authorised: Vec<(String, Option<Credentials>)>,
    settings: Settings,
    clients: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

fn with_slash(prefix: &str) -> String {
    if prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    }
}

impl RemoteVirtualChunks {
    /// `authorised` maps the URL prefixes of the authorised containers to their credentials;
    /// `settings` are the storage settings icechunk hands its virtual chunk fetchers (retries, request
    /// splitting).
    #[must_use]
    pub fn new(authorised: Vec<(String, Option<Credentials>)>, settings: Settings) -> Self {
        Self {
            authorised: authorised
                .into_iter()
                .map(|(prefix, credentials)| (with_slash(&prefix), credentials))
                .collect(),
            settings,
            clients: Mutex::default(),
        }
    }

    /// Whether no container is authorised (then every virtual chunk is icechunk's to refuse).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.authorised.is_empty()
    }

    /// The chunk `reference` when it lies in an authorised container that is fetched here, found among
    /// `containers` (the repository's) as icechunk finds it.
    pub fn route<'a>(
        &self,
        reference: VirtualChunkRef,
        containers: impl Iterator<Item = &'a VirtualChunkContainer>,
    ) -> Option<RemoteChunk> {
        // Only the containers icechunk's resolver accepts, prefixes ending in `/`.
        let containers: Vec<VirtualChunkContainer> = containers
            .filter_map(|c| {
                let prefix = with_slash(c.url_prefix());
                match c.name() {
                    Some(name) => {
                        VirtualChunkContainer::new_named(name.to_owned(), prefix, c.store.clone())
                    }
                    None => VirtualChunkContainer::new(prefix, c.store.clone()),
                }
                .ok()
            })
            .collect();
        let url = match reference.location.parse_vcc() {
            Some((name, key)) => {
                let container = containers.iter().find(|c| c.name() == Some(name))?;
                format!("{}{key}", container.url_prefix())
            }
            None => reference.location.url().to_owned(),
        };
        // Matched as icechunk matches: the parsed (normalised) URL, percent-decoded; longest prefix.
        let parsed = url::Url::parse(&url).ok()?;
        let matched = percent_encoding::percent_decode_str(parsed.as_str())
            .decode_utf8()
            .ok()?;
        let container = containers
            .into_iter()
            .filter(|c| matched.starts_with(c.url_prefix()))
            .max_by_key(|c| c.url_prefix().len())?;
        if matches!(container.store, ObjectStoreConfig::LocalFileSystem(_)) {
            return None;
        }
        let credentials = self
            .authorised
            .iter()
            .find(|(prefix, _)| prefix == container.url_prefix())
            .map(|(_, credentials)| credentials.clone())?;
        Some(RemoteChunk {
            reference,
            url,
            container,
            credentials,
        })
    }

    /// `range` of `chunk` (relative to the chunk, already clamped to it).
    ///
    /// # Errors
    /// The store's errors, a refusal (401/403, an Azure container), a modified object, or an answer of
    /// another length than asked.
    pub async fn fetch(
        &self,
        chunk: &RemoteChunk,
        range: Range<u64>,
    ) -> Result<Bytes, StorageError> {
        let failed = |what: &dyn std::fmt::Display| {
            StorageError::Other(format!("virtual chunk {}: {what}", chunk.url))
        };
        let offset = chunk.reference.offset;
        let range = offset.saturating_add(range.start)..offset.saturating_add(range.end);
        let (client, key) = self.client(chunk).map_err(|e| match e {
            Unreadable::Refused(what) => StorageError::Other(format!(
                "{}virtual chunk {}: {what}",
                crate::error::PERMISSION_DENIED_TAG,
                chunk.url
            )),
            Unreadable::Invalid(what) => failed(&what),
        })?;
        let concurrency = self.settings.concurrency();
        let parts = ::icechunk::storage::split_in_multiple_requests(
            &range,
            concurrency.ideal_concurrent_request_size().get(),
            concurrency.max_concurrent_requests_for_object().get(),
        );
        let limit = usize::from(concurrency.max_concurrent_requests_for_object().get());
        let pieces: Vec<Bytes> = futures::stream::iter(parts)
            .map(|part| fetch_part(&*client, &key, part, chunk.reference.checksum.as_ref()))
            .buffered(limit)
            .try_collect()
            .await
            .map_err(|e| match e {
                object_store::Error::Precondition { .. } => {
                    failed(&"the object was modified after the repository referenced it")
                }
                e if crate::source::object::is_refusal(&e) => StorageError::Other(format!(
                    "{}virtual chunk {}: {e}",
                    crate::error::PERMISSION_DENIED_TAG,
                    chunk.url
                )),
                e => failed(&e),
            })?;
        join(pieces, range.end - range.start).map_err(|what| failed(&what))
    }

    /// The client for `chunk`'s container and bucket (or host), and the chunk's object key.
    fn client(
        &self,
        chunk: &RemoteChunk,
    ) -> Result<(Arc<dyn ObjectStore>, object_store::path::Path), Unreadable> {
        let parsed = url::Url::parse(&chunk.url).map_err(|e| Unreadable::Invalid(e.to_string()))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| Unreadable::Invalid("no bucket or host in the URL".to_owned()))?;
        let host = percent_encoding::percent_decode_str(host)
            .decode_utf8()
            .map_err(|e| Unreadable::Invalid(e.to_string()))?
            .into_owned();
        let authority = match parsed.port() {
            Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
            None => format!("{}://{host}", parsed.scheme()),
        };
        let key = object_key(&chunk.url)?;
        let cache_key = format!("{}\n{authority}", chunk.container.url_prefix());
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&cache_key) {
            return Ok((Arc::clone(client), key));
        }
        let retry = self.retry();
        let built = match &chunk.container.store {
            ObjectStoreConfig::S3(options)
            | ObjectStoreConfig::S3Compatible(options)
            | ObjectStoreConfig::Tigris(options) => {
                s3_client(&host, options, chunk.credentials.as_ref(), retry)
            }
            ObjectStoreConfig::Gcs(config) => {
                gcs_client(&host, config, chunk.credentials.as_ref(), retry)
            }
            ObjectStoreConfig::Http(config) => http_client(&authority, config, retry),
            ObjectStoreConfig::Azure(_) => {
                return Err(Unreadable::Refused(format!(
                    "the Azure container {} is read only with Azure credentials, which \
                     virtualChunkContainers does not take",
                    chunk.container.url_prefix()
                )));
            }
            other => {
                return Err(Unreadable::Invalid(format!(
                    "a container of kind {other:?} is not read"
                )));
            }
        }?;
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(cache_key, Arc::clone(&built));
        Ok((built, key))
    }

    /// icechunk's retries for virtual chunk fetchers, from the storage settings.
    fn retry(&self) -> RetryConfig {
        let retries = self.settings.retries();
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(u64::from(retries.initial_backoff_ms())),
                max_backoff: Duration::from_millis(u64::from(retries.max_backoff_ms())),
                base: 2.,
            },
            max_retries: usize::from(retries.max_tries().get() - 1),
            retry_timeout: Duration::from_mins(5),
        }
    }
}

/// Why a chunk's container cannot be read.
enum Unreadable {
    /// A refusal (`ERR_PERMISSION_DENIED`).
    Refused(String),
    /// A location or setting that does not work.
    Invalid(String),
}

impl From<object_store::Error> for Unreadable {
    fn from(e: object_store::Error) -> Self {
        Self::Invalid(e.to_string())
    }
}

/// The object key of an absolute location, as icechunk takes it: the path after the authority, without
/// query or fragment, percent-decoded, used verbatim.
fn object_key(url: &str) -> Result<object_store::path::Path, Unreadable> {
    let after_scheme = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .ok_or_else(|| Unreadable::Invalid("not an absolute URL".to_owned()))?;
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|e| Unreadable::Invalid(e.to_string()))?;
    object_store::path::Path::parse(decoded.as_ref())
        .map_err(|e| Unreadable::Invalid(e.to_string()))
}

/// One ranged GET, with the reference's checksum as precondition, its body bounded.
async fn fetch_part(
    client: &dyn ObjectStore,
    key: &object_store::path::Path,
    range: Range<u64>,
    checksum: Option<&Checksum>,
) -> object_store::Result<Bytes> {
    let mut options = GetOptions {
        range: Some(range.into()),
        ..GetOptions::default()
    };
    match checksum {
        Some(Checksum::LastModified(seconds)) => {
            options.if_unmodified_since = chrono::DateTime::from_timestamp(i64::from(seconds.0), 0);
        }
        Some(Checksum::ETag(etag)) => {
            options.if_match = Some(::icechunk::storage::strip_quotes(&etag.0).to_owned());
        }
        None => {}
    }
    crate::source::body::collect(client.get_opts(key, options).await?).await
}

/// The parts of a chunk as one buffer of `expected` bytes.
fn join(pieces: Vec<Bytes>, expected: u64) -> Result<Bytes, String> {
    let total: u64 = pieces.iter().map(|p| p.len() as u64).sum();
    if total != expected {
        return Err(format!("{total} bytes arrived for a range of {expected}"));
    }
    join_pieces(pieces).map_err(|total| format!("cannot allocate {total} bytes for the chunk"))
}

/// As icechunk builds its S3 client: static keys, unsigned requests, or the environment's.
fn s3_client(
    bucket: &str,
    options: &S3Options,
    credentials: Option<&Credentials>,
    retry: RetryConfig,
) -> Result<Arc<dyn ObjectStore>, Unreadable> {
    let mut builder = match credentials {
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
        None | Some(Credentials::S3(S3Credentials::FromEnv)) => {
            object_store::aws::AmazonS3Builder::from_env()
        }
        Some(_) => {
            return Err(Unreadable::Invalid(
                "credentials of another kind than S3".to_owned(),
            ));
        }
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
    Ok(Arc::new(
        builder
            .with_allow_http(options.allow_http)
            .with_bucket_name(bucket)
            .with_retry(retry)
            .with_http_connector(GuardedConnector)
            .build()?,
    ))
}

/// As icechunk builds its GCS client for a container authorised without credentials: unsigned requests,
/// the container's stored options.
fn gcs_client(
    bucket: &str,
    config: &HashMap<String, String>,
    credentials: Option<&Credentials>,
    retry: RetryConfig,
) -> Result<Arc<dyn ObjectStore>, Unreadable> {
    if credentials.is_some() {
        return Err(Unreadable::Invalid(
            "GCS credentials are not supported".to_owned(),
        ));
    }
    let mut builder = object_store::gcp::GoogleCloudStorageBuilder::new()
        .with_skip_signature(true)
        .with_bucket_name(bucket);
    for (key, value) in config {
        if let Ok(key) = object_store::gcp::GoogleConfigKey::from_str(key) {
            builder = builder.with_config(key, value);
        }
    }
    Ok(Arc::new(
        builder
            .with_retry(retry)
            .with_http_connector(GuardedConnector)
            .build()?,
    ))
}

/// As icechunk builds its HTTP client: rooted at the location's scheme, host and port, with the
/// container's stored options and headers; plain HTTP allowed for an `http://` container unless its
/// options say otherwise.
fn http_client(
    root: &str,
    config: &HttpConfig,
    retry: RetryConfig,
) -> Result<Arc<dyn ObjectStore>, Unreadable> {
    let mut options = ClientOptions::new();
    let mut allow_http_set = false;
    for (key, value) in &config.opts {
        if let Ok(key) = ClientConfigKey::from_str(key) {
            allow_http_set |= key == ClientConfigKey::AllowHttp;
            options = options.with_config(key, value);
        }
    }
    if !allow_http_set && root.starts_with("http:") {
        options = options.with_allow_http(true);
    }
    if !config.headers.is_empty() {
        let mut headers = http::HeaderMap::new();
        for (name, value) in &config.headers {
            // Never the value in a message: stored headers are credentials.
            let name = http::HeaderName::from_str(name)
                .map_err(|_| Unreadable::Invalid(format!("invalid stored header name {name:?}")))?;
            let value = http::HeaderValue::from_str(value).map_err(|_| {
                Unreadable::Invalid(format!("invalid value of the stored header {name}"))
            })?;
            headers.insert(name, value);
        }
        options = options.with_default_headers(headers);
    }
    Ok(Arc::new(
        object_store::http::HttpBuilder::new()
            .with_url(root)
            .with_client_options(options)
            .with_retry(retry)
            .with_http_connector(GuardedConnector)
            .build()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_are_the_decoded_path_without_query() {
        let key = |url: &str| object_key(url).ok().map(|k| k.to_string());
        assert_eq!(
            key("s3://bucket/a/my%20file.nc").as_deref(),
            Some("a/my file.nc")
        );
        assert_eq!(
            key("http://host:8080/data/x.bin?sig=1#f").as_deref(),
            Some("data/x.bin")
        );
        assert_eq!(
            key("gs://bucket/a/../b"),
            None,
            "object_store paths have no `..`"
        );
        assert!(key("no-scheme").is_none());
    }

    #[test]
    fn parts_join_to_the_length_asked_or_fail() {
        let parts = vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cd")];
        assert_eq!(join(parts.clone(), 4).unwrap(), Bytes::from_static(b"abcd"));
        assert!(join(parts, 5).unwrap_err().contains("4 bytes arrived"));
    }
}
