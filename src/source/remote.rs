//! Object-storage sources: `s3://`, `gs://`, `az://` / `abfs://` and `http(s)://` URLs become one
//! `object_store` client each, configured from `storageOptions`, the standard environment variables and
//! (for S3) the shared AWS credentials and config files.
//!
//! Clients are kept per (URL root, options) for the life of the process: building one and opening its
//! first TLS connection cost more than a whole consolidated open, and later opens of the same bucket
//! reuse its kept-alive connections.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::http::HttpBuilder;
use object_store::prefix::PrefixStore;
use object_store::{ClientConfigKey, ClientOptions};

use super::options::{Scheme, StorageOptions};
use super::transport::GuardedConnector;
use crate::error::{Result, RtError};

/// A remote source: which service, the bucket (container) and the prefix of the hierarchy in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteLocation {
    /// The kind of service.
    pub scheme: Scheme,
    /// The URL as given, trailing `/` removed (for HTTP, the base URL keys are joined to).
    pub url: url::Url,
    /// Bucket or container (empty for HTTP).
    pub bucket: String,
    /// Key prefix inside the bucket, without leading or trailing `/` (empty for HTTP and bucket roots).
    pub prefix: String,
}

impl RemoteLocation {
    /// The location for messages: no user info, query or fragment.
    #[must_use]
    pub fn describe(&self) -> String {
        super::redacted(&self.url).trim_end_matches('/').to_owned()
    }
}

/// Parses `source` when it names a remote scheme; `None` for anything else (local paths, `file://`).
///
/// # Errors
/// `ERR_INVALID_SOURCE` for a malformed URL or one without a bucket/host.
#[must_use]
pub fn parse(source: &str) -> Option<Result<RemoteLocation>> {
    let (scheme_str, _) = source.split_once("://")?;
    let scheme = match scheme_str.to_ascii_lowercase().as_str() {
        "http" | "https" => Scheme::Http,
        "s3" | "s3a" => Scheme::S3,
        "gs" | "gcs" => Scheme::Gcs,
        "az" | "azure" | "abfs" | "abfss" | "adl" => Scheme::Azure,
        _ => return None,
    };
    Some(parse_url(scheme, source))
}

fn parse_url(scheme: Scheme, source: &str) -> Result<RemoteLocation> {
    let mut url = url::Url::parse(source)
        .map_err(|e| RtError::InvalidSource(format!("malformed {}:// URL: {e}", scheme.label())))?;
    let Some(host) = url.host_str().filter(|h| !h.is_empty()).map(str::to_owned) else {
        let what = if scheme == Scheme::Http {
            "a host"
        } else {
            "a bucket or container"
        };
        return Err(RtError::InvalidSource(format!(
            "a {}:// source needs {what}",
            scheme.label()
        )));
    };
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    let key_prefix = percent_decode(trimmed.trim_start_matches('/'));
    let (bucket, prefix) = match scheme {
        Scheme::Http => (String::new(), String::new()),
        // abfs://container@account.dfs.core.windows.net/path names the container as the user part.
        Scheme::Azure if !url.username().is_empty() => (url.username().to_owned(), key_prefix),
        _ => (host, key_prefix),
    };
    Ok(RemoteLocation {
        scheme,
        url,
        bucket,
        prefix,
    })
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A client for `location`'s bucket, rooted at its prefix, and the secrets its messages must not show.
///
/// # Errors
/// `ERR_INVALID_ARGUMENT` for bad options; `ERR_INVALID_SOURCE` when the client cannot be built (a
/// missing region or account, say).
pub fn open_store(
    location: &RemoteLocation,
    options: &[(String, String)],
) -> Result<(Arc<dyn ObjectStore>, Vec<String>)> {
    let mut options = StorageOptions::parse(location.scheme, options)?;
    add_environment_secrets(&mut options);
    let cache_key = CacheKey {
        root: match location.scheme {
            Scheme::Http => location.url.to_string(),
            _ => format!("{}://{}", location.scheme.label(), location.bucket),
        },
        options: options.clone(),
    };
    let secrets = options.secrets().to_vec();
    let client = cached_client(cache_key, || build_client(location, &mut options))?;
    let store: Arc<dyn ObjectStore> = if location.prefix.is_empty() {
        client
    } else {
        let prefix = object_store::path::Path::parse(&location.prefix).map_err(|e| {
            RtError::InvalidSource(format!("{}: bad key prefix: {e}", location.describe()))
        })?;
        Arc::new(PrefixStore::new(client, prefix))
    };
    Ok((store, secrets))
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    root: String,
    options: StorageOptions,
}

fn cached_client(
    key: CacheKey,
    build: impl FnOnce() -> Result<Arc<dyn ObjectStore>>,
) -> Result<Arc<dyn ObjectStore>> {
    type Clients = HashMap<CacheKey, Arc<dyn ObjectStore>>;
    static CLIENTS: LazyLock<Mutex<Clients>> = LazyLock::new(Default::default);
    let mut clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(client) = clients.get(&key) {
        return Ok(Arc::clone(client));
    }
    let client = build()?;
    // A long-lived process opening many distinct buckets should not keep every client forever.
    if clients.len() >= 64 {
        clients.clear();
    }
    clients.insert(key, Arc::clone(&client));
    Ok(client)
}

/// Credentials read from the environment must stay out of messages as much as given ones.
fn add_environment_secrets(options: &mut StorageOptions) {
    for value in environment_secrets() {
        options.add_secret(&value);
    }
}

/// Values of the environment variables that hold object-storage credentials (`AWS_SECRET_ACCESS_KEY`,
/// `AZURE_STORAGE_ACCOUNT_KEY`, `GOOGLE_SERVICE_ACCOUNT_KEY`, …).
#[must_use]
pub fn environment_secrets() -> Vec<String> {
    let mut found = Vec::new();
    for (name, value) in std::env::vars() {
        let upper = name.to_ascii_uppercase();
        let ours = ["AWS_", "GOOGLE_", "AZURE_", "AZURITE_"]
            .iter()
            .any(|p| upper.starts_with(p));
        let secret = ["SECRET", "KEY", "TOKEN", "PASSWORD", "SAS"]
            .iter()
            .any(|w| upper.contains(w));
        // Key ids count too (AWS_ACCESS_KEY_ID): a server that reflects the Authorization header puts
        // the id in its error body, and an id is half of a credential.
        if ours && secret && !value.is_empty() {
            found.push(value);
        }
    }
    found
}

fn build_client(
    location: &RemoteLocation,
    options: &mut StorageOptions,
) -> Result<Arc<dyn ObjectStore>> {
    let bad_option = |e: &dyn std::fmt::Display| {
        RtError::InvalidArgument(format!("storageOptions for {}: {e}", location.describe()))
    };
    let cannot_build =
        |e: &dyn std::fmt::Display| RtError::InvalidSource(format!("{}: {e}", location.describe()));
    let retry = options.retry();
    match location.scheme {
        Scheme::Http => {
            let mut builder = HttpBuilder::new()
                .with_url(location.url.as_str())
                // The user wrote an http:// URL: that is consent to plain HTTP.
                .with_client_options(ClientOptions::new().with_allow_http(true))
                .with_http_connector(GuardedConnector)
                .with_retry(retry);
            for (k, v) in options.config() {
                let key = ClientConfigKey::from_str(k).map_err(|e| bad_option(&e))?;
                builder = builder.with_config(key, v);
            }
            Ok(Arc::new(builder.build().map_err(|e| cannot_build(&e))?))
        }
        Scheme::S3 => {
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(&location.bucket)
                .with_http_connector(GuardedConnector)
                .with_retry(retry);
            if !options.anonymous {
                builder = apply_aws_profile(builder, options);
            }
            for (k, v) in options.config() {
                let key = AmazonS3ConfigKey::from_str(k).map_err(|e| bad_option(&e))?;
                builder = builder.with_config(key, v);
            }
            Ok(Arc::new(builder.build().map_err(|e| cannot_build(&e))?))
        }
        Scheme::Gcs => {
            let mut builder = GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(&location.bucket)
                .with_http_connector(GuardedConnector)
                .with_retry(retry);
            for (k, v) in options.config() {
                let key = GoogleConfigKey::from_str(k).map_err(|e| bad_option(&e))?;
                builder = builder.with_config(key, v);
            }
            Ok(Arc::new(builder.build().map_err(|e| cannot_build(&e))?))
        }
        Scheme::Azure => {
            let mut builder = MicrosoftAzureBuilder::from_env()
                .with_http_connector(GuardedConnector)
                .with_retry(retry);
            // abfs://container@account.dfs.core.windows.net carries the account in the host.
            if let Some(account) = location
                .url
                .host_str()
                .filter(|_| !location.url.username().is_empty())
                .and_then(|h| h.split('.').next())
            {
                builder = builder.with_account(account);
            }
            builder = builder.with_container_name(&location.bucket);
            for (k, v) in options.config() {
                let key = AzureConfigKey::from_str(k).map_err(|e| bad_option(&e))?;
                builder = builder.with_config(key, v);
            }
            Ok(Arc::new(builder.build().map_err(|e| cannot_build(&e))?))
        }
    }
}

/// Static keys (and the region) of the shared AWS profile, when neither the options nor the
/// environment give keys: `AWS_PROFILE` (default `default`) in `AWS_SHARED_CREDENTIALS_FILE`
/// (`~/.aws/credentials`) and `AWS_CONFIG_FILE` (`~/.aws/config`). SSO and role chains are not read.
fn apply_aws_profile(builder: AmazonS3Builder, options: &mut StorageOptions) -> AmazonS3Builder {
    let from_env = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
    if from_env || options.has("aws_access_key_id") {
        return builder;
    }
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, name: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    let mut builder = builder;
    if let Some(section) =
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials").and_then(|p| ini_section(&p, &profile))
        && let (Some(id), Some(secret)) = (
            section.get("aws_access_key_id"),
            section.get("aws_secret_access_key"),
        )
    {
        options.add_secret(secret);
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
        if let Some(token) = section.get("aws_session_token") {
            options.add_secret(token);
            builder = builder.with_token(token);
        }
    }
    let config_section = if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    };
    if std::env::var_os("AWS_REGION").is_none()
        && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        && !options.has("aws_region")
        && let Some(region) = file("AWS_CONFIG_FILE", "config")
            .and_then(|p| ini_section(&p, &config_section))
            .and_then(|s| s.get("region").cloned())
    {
        builder = builder.with_region(region);
    }
    builder
}

/// The `key = value` pairs of `[section]` in an INI file, if the file and section exist.
fn ini_section(path: &std::path::Path, section: &str) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut found = None;
    let mut current: Option<HashMap<String, String>> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if let Some(done) = current.take() {
                found = Some(done);
                break;
            }
            if name.trim() == section {
                current = Some(HashMap::new());
            }
            continue;
        }
        if let (Some(map), Some((k, v))) = (current.as_mut(), line.split_once('=')) {
            map.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    found.or(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        let l = parse("s3://bucket/a/b.zarr/").unwrap().unwrap();
        assert_eq!(
            (l.scheme, l.bucket.as_str(), l.prefix.as_str()),
            (Scheme::S3, "bucket", "a/b.zarr")
        );
        let l = parse("gs://b").unwrap().unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("b", ""));
        let l = parse("abfs://data@acct.dfs.core.windows.net/x%20y")
            .unwrap()
            .unwrap();
        assert_eq!(
            (l.scheme, l.bucket.as_str(), l.prefix.as_str()),
            (Scheme::Azure, "data", "x y")
        );
        let l = parse("az://container/p").unwrap().unwrap();
        assert_eq!(l.bucket, "container");
        assert!(parse("/local/path").is_none());
        assert!(parse("file:///x").is_none());
        assert_eq!(
            parse("s3:///nobucket").unwrap().unwrap_err().code(),
            "ERR_INVALID_SOURCE"
        );
    }

    #[test]
    fn ini_sections_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("credentials");
        std::fs::write(
            &p,
            "[default]\naws_access_key_id = A\n[other]\n# note\naws_access_key_id=B\naws_secret_access_key = S\n",
        )
        .unwrap();
        assert_eq!(
            ini_section(&p, "default").unwrap()["aws_access_key_id"],
            "A"
        );
        let other = ini_section(&p, "other").unwrap();
        assert_eq!(other["aws_secret_access_key"], "S");
        assert!(ini_section(&p, "missing").is_none());
    }
}
