//! `storageOptions`: the user's settings for an object store (region, endpoint, credentials, timeouts,
//! retries), checked against the scheme they are used with and turned into `object_store` builders.
//!
//! Names are camelCase as in the rest of the JS API (`accessKeyId`, `allowHttp`); `object_store`'s own
//! `snake_case` configuration keys (`aws_request_payer`, `google_service_account`) are accepted too, for
//! users coming from obstore or fsspec. Anything else is rejected by name, so a misspelt credential is
//! an error rather than a silent anonymous request. Values never appear in messages; values that may be
//! secret are remembered so that error messages can be scrubbed of them.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use object_store::aws::AmazonS3ConfigKey;
use object_store::azure::AzureConfigKey;
use object_store::gcp::GoogleConfigKey;
use object_store::{BackoffConfig, ClientConfigKey, RetryConfig};

use crate::error::{Result, RtError};

/// The kinds of object store a source can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http://` / `https://`: read-only, cannot list.
    Http,
    /// `s3://` (and S3-compatible services through `endpoint`).
    S3,
    /// `gs://` / `gcs://`.
    Gcs,
    /// `az://`, `azure://`, `abfs://`, `abfss://`.
    Azure,
}

impl Scheme {
    /// The scheme as users write it, for messages.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Http => "http(s)",
            Self::S3 => "s3",
            Self::Gcs => "gs",
            Self::Azure => "az",
        }
    }
}

/// Which schemes a documented option applies to, and the `object_store` key it becomes there.
struct Known {
    name: &'static str,
    s3: Option<&'static str>,
    gcs: Option<&'static str>,
    azure: Option<&'static str>,
    http: Option<&'static str>,
    secret: bool,
}

const fn key(
    name: &'static str,
    s3: Option<&'static str>,
    gcs: Option<&'static str>,
    azure: Option<&'static str>,
    http: Option<&'static str>,
    secret: bool,
) -> Known {
    Known {
        name,
        s3,
        gcs,
        azure,
        http,
        secret,
    }
}

/// Marks an option handled by rustytree itself rather than passed to a builder as a config key.
const OWN: &str = "";

/// Every camelCase option rustytree documents.
const KNOWN: &[Known] = &[
    key("region", Some("aws_region"), None, None, None, false),
    key(
        "endpoint",
        Some("aws_endpoint"),
        Some("google_base_url"),
        Some("azure_storage_endpoint"),
        None,
        false,
    ),
    key(
        "anonymous",
        Some("aws_skip_signature"),
        Some("google_skip_signature"),
        Some("azure_skip_signature"),
        Some(OWN),
        false,
    ),
    key(
        "allowHttp",
        Some("allow_http"),
        Some("allow_http"),
        Some("allow_http"),
        Some("allow_http"),
        false,
    ),
    key(
        "allowInvalidCertificates",
        Some("allow_invalid_certificates"),
        Some("allow_invalid_certificates"),
        Some("allow_invalid_certificates"),
        Some("allow_invalid_certificates"),
        false,
    ),
    key(
        "accessKeyId",
        Some("aws_access_key_id"),
        None,
        None,
        None,
        false,
    ),
    key(
        "secretAccessKey",
        Some("aws_secret_access_key"),
        None,
        None,
        None,
        true,
    ),
    key(
        "sessionToken",
        Some("aws_session_token"),
        None,
        None,
        None,
        true,
    ),
    key(
        "virtualHostedStyle",
        Some("aws_virtual_hosted_style_request"),
        None,
        None,
        None,
        false,
    ),
    key(
        "requestPayer",
        Some("aws_request_payer"),
        None,
        None,
        None,
        false,
    ),
    key(
        "serviceAccountKey",
        None,
        Some("google_service_account_key"),
        None,
        None,
        true,
    ),
    key(
        "serviceAccountPath",
        None,
        Some("google_service_account"),
        None,
        None,
        false,
    ),
    key(
        "applicationCredentials",
        None,
        Some("google_application_credentials"),
        None,
        None,
        false,
    ),
    key(
        "bearerToken",
        None,
        Some("google_bearer_token"),
        Some("azure_storage_token"),
        None,
        true,
    ),
    key(
        "accountName",
        None,
        None,
        Some("azure_storage_account_name"),
        None,
        false,
    ),
    key(
        "accountKey",
        None,
        None,
        Some("azure_storage_account_key"),
        None,
        true,
    ),
    key(
        "sasToken",
        None,
        None,
        Some("azure_storage_sas_token"),
        None,
        true,
    ),
    key(
        "useEmulator",
        None,
        None,
        Some("azure_storage_use_emulator"),
        None,
        false,
    ),
    key(
        "clientId",
        None,
        None,
        Some("azure_storage_client_id"),
        None,
        false,
    ),
    key(
        "clientSecret",
        None,
        None,
        Some("azure_storage_client_secret"),
        None,
        true,
    ),
    key(
        "tenantId",
        None,
        None,
        Some("azure_storage_tenant_id"),
        None,
        false,
    ),
    key(
        "timeout",
        Some("timeout"),
        Some("timeout"),
        Some("timeout"),
        Some("timeout"),
        false,
    ),
    key(
        "connectTimeout",
        Some("connect_timeout"),
        Some("connect_timeout"),
        Some("connect_timeout"),
        Some("connect_timeout"),
        false,
    ),
    key(
        "maxRetries",
        Some(OWN),
        Some(OWN),
        Some(OWN),
        Some(OWN),
        false,
    ),
    key(
        "retryTimeout",
        Some(OWN),
        Some(OWN),
        Some(OWN),
        Some(OWN),
        false,
    ),
    key(
        "initialBackoff",
        Some(OWN),
        Some(OWN),
        Some(OWN),
        Some(OWN),
        false,
    ),
    key(
        "maxBackoff",
        Some(OWN),
        Some(OWN),
        Some(OWN),
        Some(OWN),
        false,
    ),
];

/// Options given in milliseconds; `object_store` wants durations.
const DURATIONS_MS: &[&str] = &[
    "timeout",
    "connectTimeout",
    "retryTimeout",
    "initialBackoff",
    "maxBackoff",
];

/// Options that are booleans.
const BOOLEANS: &[&str] = &[
    "anonymous",
    "allowHttp",
    "allowInvalidCertificates",
    "virtualHostedStyle",
    "requestPayer",
    "useEmulator",
];

/// Words in a pass-through key that mark its value as secret.
const SECRET_WORDS: &[&str] = &["secret", "key", "token", "password", "sas", "credential"];

/// Validated options for one scheme: `object_store` config keys with their values, retry settings, and
/// the values to keep out of messages.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct StorageOptions {
    /// `object_store` configuration (key as `object_store` spells it → value), in a stable order so that
    /// equal options share one client.
    config: BTreeMap<String, String>,
    /// Retry settings (`maxRetries`, `retryTimeout`, `initialBackoff`, `maxBackoff`), in ms and counts.
    retry: BTreeMap<&'static str, u64>,
    /// Whether requests go unsigned.
    pub anonymous: bool,
    /// Values to scrub from messages.
    secrets: Vec<String>,
}

// Never print values: they may be credentials.
impl std::fmt::Debug for StorageOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageOptions")
            .field("keys", &self.config.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn invalid(msg: String) -> RtError {
    RtError::InvalidArgument(msg)
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(invalid(format!("storageOptions.{name} must be a boolean"))),
    }
}

fn parse_count(name: &str, value: &str) -> Result<u64> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0 && *v < 1e15)
        .map(|v| v as u64)
        .ok_or_else(|| {
            invalid(format!(
                "storageOptions.{name} must be a non-negative whole number"
            ))
        })
}

/// The canonical spelling of `key` when it is one of `object_store`'s configuration keys for `scheme`
/// (aliases such as `access_key_id` become `aws_access_key_id`).
fn backend_key(scheme: Scheme, key: &str) -> Option<String> {
    let lower = key.to_ascii_lowercase();
    match scheme {
        Scheme::S3 => AmazonS3ConfigKey::from_str(&lower)
            .ok()
            .map(|k| k.as_ref().to_owned()),
        Scheme::Gcs => GoogleConfigKey::from_str(&lower)
            .ok()
            .map(|k| k.as_ref().to_owned()),
        Scheme::Azure => AzureConfigKey::from_str(&lower)
            .ok()
            .map(|k| k.as_ref().to_owned()),
        Scheme::Http => ClientConfigKey::from_str(&lower)
            .ok()
            .map(|k| k.as_ref().to_owned()),
    }
}

impl StorageOptions {
    /// Checks `entries` (as JavaScript gave them, values already strings) against `scheme`.
    ///
    /// # Errors
    /// `ERR_INVALID_ARGUMENT` naming the first unknown or misapplied key or malformed value (never the
    /// value itself).
    pub fn parse(scheme: Scheme, entries: &[(String, String)]) -> Result<Self> {
        let mut options = Self::default();
        for (name, value) in entries {
            if let Some(known) = KNOWN.iter().find(|k| k.name == name) {
                options.add_known(scheme, known, value)?;
            } else if let Some(canonical) = backend_key(scheme, name) {
                if SECRET_WORDS.iter().any(|w| canonical.contains(w)) {
                    options.remember_secret(value);
                }
                if canonical.ends_with("skip_signature") {
                    options.anonymous = parse_bool(name, value)?;
                }
                options.config.insert(canonical, value.clone());
            } else {
                let names: Vec<&str> = KNOWN
                    .iter()
                    .filter(|k| k.for_scheme(scheme).is_some())
                    .map(|k| k.name)
                    .collect();
                return Err(invalid(format!(
                    "unknown storageOptions key {name:?} for {}:// sources (known: {})",
                    scheme.label(),
                    names.join(", ")
                )));
            }
        }
        options.check_credentials(scheme)?;
        Ok(options)
    }

    fn add_known(&mut self, scheme: Scheme, known: &Known, value: &str) -> Result<()> {
        let name = known.name;
        let Some(target) = known.for_scheme(scheme) else {
            return Err(invalid(format!(
                "storageOptions.{name} does not apply to {}:// sources",
                scheme.label()
            )));
        };
        if known.secret {
            self.remember_secret(value);
        }
        let value = if BOOLEANS.contains(&name) {
            parse_bool(name, value)?.to_string()
        } else if DURATIONS_MS.contains(&name) {
            format!("{}ms", parse_count(name, value)?)
        } else {
            value.to_owned()
        };
        if name == "anonymous" {
            self.anonymous = value == "true";
        }
        if target == OWN {
            if name != "anonymous" {
                let v = value.trim_end_matches("ms");
                let n = parse_count(name, v)?;
                self.retry.insert(name, n);
            }
        } else {
            self.config.insert(target.to_owned(), value);
        }
        Ok(())
    }

    fn remember_secret(&mut self, value: &str) {
        if !value.is_empty() {
            self.secrets.push(value.to_owned());
        }
    }

    /// Unsigned requests and credentials together are a contradiction worth reporting.
    fn check_credentials(&self, scheme: Scheme) -> Result<()> {
        let credential_keys: &[&str] = match scheme {
            Scheme::S3 => &[
                "aws_access_key_id",
                "aws_secret_access_key",
                "aws_session_token",
            ],
            Scheme::Gcs => &[
                "google_service_account_key",
                "google_service_account",
                "google_bearer_token",
            ],
            Scheme::Azure => &[
                "azure_storage_account_key",
                "azure_storage_sas_token",
                "azure_storage_token",
                "azure_storage_client_secret",
            ],
            Scheme::Http => &[],
        };
        if self.anonymous && credential_keys.iter().any(|k| self.config.contains_key(*k)) {
            return Err(invalid(
                "storageOptions.anonymous cannot be combined with credentials".into(),
            ));
        }
        if scheme == Scheme::S3
            && self.config.contains_key("aws_access_key_id")
                != self.config.contains_key("aws_secret_access_key")
        {
            return Err(invalid(
                "storageOptions.accessKeyId and secretAccessKey must be given together".into(),
            ));
        }
        Ok(())
    }

    /// The `object_store` configuration, in a stable order.
    pub fn config(&self) -> impl Iterator<Item = (&str, &str)> {
        self.config.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether a config key was given.
    #[must_use]
    pub fn has(&self, key: &str) -> bool {
        self.config.contains_key(key)
    }

    /// Values to keep out of messages (from the options; credentials read from the environment are
    /// added by the caller).
    #[must_use]
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// Adds a value to scrub from messages (a credential found in the environment or a profile).
    pub fn add_secret(&mut self, value: &str) {
        self.remember_secret(value);
    }

    /// Retry policy: `object_store`'s defaults unless the user set them. Throttling (429/503), 5xx and
    /// dropped connections are retried with exponential backoff.
    #[must_use]
    pub fn retry(&self) -> RetryConfig {
        let mut config = RetryConfig::default();
        if let Some(n) = self.retry.get("maxRetries") {
            config.max_retries = *n as usize;
        }
        if let Some(ms) = self.retry.get("retryTimeout") {
            config.retry_timeout = Duration::from_millis(*ms);
        }
        let mut backoff = BackoffConfig::default();
        if let Some(ms) = self.retry.get("initialBackoff") {
            backoff.init_backoff = Duration::from_millis(*ms);
        }
        if let Some(ms) = self.retry.get("maxBackoff") {
            backoff.max_backoff = Duration::from_millis(*ms);
        }
        config.backoff = backoff;
        config
    }
}

impl Known {
    fn for_scheme(&self, scheme: Scheme) -> Option<&'static str> {
        match scheme {
            Scheme::S3 => self.s3,
            Scheme::Gcs => self.gcs,
            Scheme::Azure => self.azure,
            Scheme::Http => self.http,
        }
    }
}

/// The values in `entries` that may be secret, whatever scheme they are meant for (for scrubbing
/// messages of options that fail validation or are used later).
#[must_use]
pub fn secret_values(entries: &[(String, String)]) -> Vec<String> {
    entries
        .iter()
        .filter(|(name, _)| {
            let lower = name.to_ascii_lowercase();
            KNOWN.iter().any(|k| k.secret && k.name == name)
                || SECRET_WORDS.iter().any(|w| lower.contains(w))
        })
        .map(|(_, value)| value.clone())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Query parameters whose values are credentials, lowercase: Azure SAS signatures, AWS `SigV4`
/// (signature, credential scope, session token), GCS V4 signing, any `token=` (`access_token=`, OAuth),
/// API keys and passwords. A bare `key=` counts only as a query parameter (after `?` or `&`), so that
/// prose such as "key=value" stays. Signed URLs' other parameters (`se=` expiry, `sv=` version,
/// `X-Amz-Date=`) are not secret.
const SIGNED_QUERY_KEYS: &[&str] = &[
    "sig=",
    "x-amz-signature=",
    "x-amz-credential=",
    "x-amz-security-token=",
    "x-goog-signature=",
    "x-goog-credential=",
    "token=",
    "apikey=",
    "api_key=",
    "?key=",
    "&key=",
    "password=",
    "secret=",
];

/// Replaces every secret in `message` with `***`, and strips signed-URL query parameters and the user
/// info of URLs (`https://user:password@host/` becomes `https://***@host/`).
#[must_use]
pub fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = strip_user_info(message);
    for secret in secrets {
        // Very short values would blank out ordinary words; credentials are never that short.
        if secret.len() >= 4 {
            out = out.replace(secret.as_str(), "***");
        }
    }
    for marker in SIGNED_QUERY_KEYS {
        let mut searched = 0;
        // Case-insensitive (`x-amz-signature=` is as secret), on an ASCII-lowercased copy whose byte
        // offsets are those of `out`.
        while let Some(found) = out.to_ascii_lowercase()[searched..].find(marker) {
            let start = searched + found + marker.len();
            let end = out[start..]
                .find(|c: char| c == '&' || c.is_whitespace() || c == '"' || c == ')')
                .map_or(out.len(), |e| start + e);
            out.replace_range(start..end, "***");
            searched = start + 3;
        }
    }
    out
}

/// `scheme://user:password@host` → `scheme://***@host`, wherever a URL appears in `message`.
fn strip_user_info(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(found) = rest.find("://") {
        let authority_start = found + 3;
        out.push_str(&rest[..authority_start]);
        rest = &rest[authority_start..];
        let authority_end = rest
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | ')' | '>') || c.is_whitespace()
            })
            .unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            out.push_str("***");
            rest = &rest[at..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_strips_user_info_from_urls() {
        assert_eq!(
            scrub(
                "GET http://reader:hunter2@127.0.0.1:9/x.zarr/zarr.json failed; see https://h/a@b",
                &[]
            ),
            "GET http://***@127.0.0.1:9/x.zarr/zarr.json failed; see https://h/a@b"
        );
        assert_eq!(
            scrub("s3://bucket/key, no user", &[]),
            "s3://bucket/key, no user"
        );
        assert_eq!(
            scrub("url \"https://tok@host\"", &[]),
            "url \"https://***@host\""
        );
    }

    fn entries(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn known_keys_map_per_scheme() {
        let o = StorageOptions::parse(
            Scheme::S3,
            &entries(&[
                ("region", "eu-west-1"),
                ("endpoint", "http://127.0.0.1:9000"),
                ("allowHttp", "true"),
                ("timeout", "1500"),
                ("maxRetries", "3"),
            ]),
        )
        .unwrap();
        let config: Vec<_> = o.config().collect();
        assert!(config.contains(&("aws_region", "eu-west-1")));
        assert!(config.contains(&("aws_endpoint", "http://127.0.0.1:9000")));
        assert!(config.contains(&("allow_http", "true")));
        assert!(config.contains(&("timeout", "1500ms")));
        assert_eq!(o.retry().max_retries, 3);
    }

    #[test]
    fn unknown_and_misapplied_keys_are_rejected_without_values() {
        let e = StorageOptions::parse(
            Scheme::S3,
            &entries(&[("secretAccesKey", "hunter2hunter2")]),
        )
        .unwrap_err();
        assert_eq!(e.code(), "ERR_INVALID_ARGUMENT");
        assert!(e.message().contains("secretAccesKey"));
        assert!(!e.message().contains("hunter2"));
        let e =
            StorageOptions::parse(Scheme::Gcs, &entries(&[("accountKey", "zzzz")])).unwrap_err();
        assert!(e.message().contains("does not apply to gs://"));
        let e = StorageOptions::parse(Scheme::S3, &entries(&[("anonymous", "maybe")])).unwrap_err();
        assert!(e.message().contains("boolean"));
    }

    #[test]
    fn object_store_keys_pass_through() {
        let o = StorageOptions::parse(
            Scheme::S3,
            &entries(&[
                ("aws_unsigned_payload", "true"),
                ("AWS_TOKEN", "tok-123456"),
            ]),
        )
        .unwrap();
        assert!(o.has("aws_unsigned_payload"));
        assert_eq!(o.secrets(), ["tok-123456"]);
    }

    #[test]
    fn anonymous_with_credentials_is_a_contradiction() {
        let e = StorageOptions::parse(
            Scheme::S3,
            &entries(&[
                ("anonymous", "true"),
                ("accessKeyId", "AKIA"),
                ("secretAccessKey", "s3cr3t-value"),
            ]),
        )
        .unwrap_err();
        assert_eq!(e.code(), "ERR_INVALID_ARGUMENT");
    }

    #[test]
    fn scrub_removes_secrets_and_signatures() {
        let s = scrub(
            "GET https://a.blob.core.windows.net/c/k?sv=1&sig=abc%2Fdef&se=2 failed: key s3cr3t-value",
            &["s3cr3t-value".to_owned()],
        );
        assert!(!s.contains("abc%2Fdef"));
        assert!(!s.contains("s3cr3t"));
        assert!(s.contains("sig=***&se=2"));
    }

    #[test]
    fn scrub_removes_gcs_signatures_tokens_and_any_case() {
        let s = scrub(
            "GET https://h/o?X-Goog-Signature=g1g1&X-Goog-Credential=sa%40p&access_token=t0t0&x-amz-signature=a1a1&Sig=s1s1&key=k1k1 failed; https://h/?apiKey=k2k2&client_secret=c1c1",
            &[],
        );
        for value in [
            "g1g1", "sa%40p", "t0t0", "a1a1", "s1s1", "k1k1", "k2k2", "c1c1",
        ] {
            assert!(!s.contains(value), "{value} in {s}");
        }
        assert!(s.contains("X-Goog-Signature=***&"));
        assert_eq!(scrub("expects key=value", &[]), "expects key=value");
    }
}
