//! icechunk repositories: detection, version selection (branch, tag, snapshot, as-of), and the whole
//! hierarchy straight from the snapshot, with no per-node metadata requests.
//!
//! Format V2 repositories open in two sequential requests: the `repo` file (branches, tags, snapshot
//! list and config in one object) and the snapshot (every node's `zarr.json`). This goes below icechunk's
//! `Repository`, whose open and session creation read the repo file twice and probe for format V1 files.
//! Format V1 repositories (icechunk-python 1.x) go through `Repository`, which reads their refs.

pub mod adapter;
pub mod object;
pub mod remote_virtual;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use ::icechunk::asset_manager::AssetManager;
use ::icechunk::config::{Credentials, S3Credentials, S3StaticCredentials};
use ::icechunk::format::format_constants::SpecVersionBin;
use ::icechunk::format::repo_info::RepoInfo;
use ::icechunk::format::{Path as NodePath, SnapshotId};
use ::icechunk::repository::VersionInfo;
use ::icechunk::session::Session;
use ::icechunk::virtual_chunks::VirtualChunkResolver;
use ::icechunk::{ObjectStoreConfig, Repository, RepositoryConfig, Storage, Store};
use zarrs::storage::AsyncReadableListableStorage;

use crate::error::{Result, RtError};

/// Which version of the repository to open. At most one of `branch`/`tag`/`snapshot_id`; `as_of` goes
/// with a branch (default `main`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionSelector {
    /// Branch name (default `main`).
    pub branch: Option<String>,
    /// Tag name.
    pub tag: Option<String>,
    /// Snapshot id (base32, as icechunk prints it).
    pub snapshot_id: Option<String>,
    /// RFC 3339 timestamp: the branch's state at that time.
    pub as_of: Option<String>,
}

impl VersionSelector {
    /// Whether any selector was given.
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.branch.is_some()
            || self.tag.is_some()
            || self.snapshot_id.is_some()
            || self.as_of.is_some()
    }

    fn validate(&self) -> Result<()> {
        let pinned = [
            self.tag.is_some(),
            self.snapshot_id.is_some(),
            self.branch.is_some() || self.as_of.is_some(),
        ];
        if pinned.iter().filter(|x| **x).count() > 1 {
            return Err(RtError::InvalidArgument(
                "give at most one of branch (with or without asOf), tag and snapshotId".into(),
            ));
        }
        Ok(())
    }
}

/// What the user configured for reading a repository, beyond the version.
#[derive(Debug, Clone, Default)]
pub struct ReaderSettings {
    /// Virtual chunk containers the user authorises, by URL prefix.
    pub virtual_access: Vec<VirtualAccess>,
    /// icechunk's caches (snapshot nodes, chunk references, chunk bytes, ...); `None`: icechunk's defaults.
    pub caching: Option<::icechunk::config::CachingConfig>,
}

/// One authorised virtual chunk container.
#[derive(Clone)]
pub struct VirtualAccess {
    /// The container's URL prefix (`s3://bucket/`, `file:///data/`).
    pub prefix: String,
    /// Unsigned requests (S3 containers).
    pub anonymous: bool,
    /// Static S3 keys: access key id, secret, session token.
    pub keys: Option<(String, String, Option<String>)>,
    /// Where to reach an S3 container instead of its stored settings.
    pub store: Option<StoreOverrides>,
}

/// Settings of an S3 virtual chunk container that replace the stored ones.
#[derive(Debug, Clone, Default)]
pub struct StoreOverrides {
    /// Endpoint URL (an S3-compatible service).
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Allow `http://` endpoints.
    pub allow_http: Option<bool>,
}

// Keys are secrets: never print them.
impl std::fmt::Debug for VirtualAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualAccess")
            .field("prefix", &self.prefix)
            .field("anonymous", &self.anonymous)
            .field("keys", &self.keys.as_ref().map(|_| "***"))
            .field("store", &self.store)
            .finish()
    }
}

impl VirtualAccess {
    /// Access by URL prefix with the container's own settings (or the environment's credentials).
    #[must_use]
    pub fn prefix(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            anonymous: false,
            keys: None,
            store: None,
        }
    }
}

/// An opened repository version.
pub struct OpenedRepository {
    /// zarrs view of the session, for chunk reads.
    pub store: AsyncReadableListableStorage,
    /// Every node's path and `zarr.json` bytes.
    pub documents: Vec<(String, bytes::Bytes)>,
    /// The snapshot that was opened.
    pub snapshot_id: String,
    /// The repository's format version (1 or 2).
    pub spec_version: u8,
}

/// Whether `path` holds an icechunk repository (format V2 `repo` file, or format V1 `refs/`).
#[must_use]
pub fn is_repository(path: &Path) -> bool {
    path.join("repo").is_file() || path.join("refs").is_dir()
}

fn ic_error(what: &str, e: &(impl std::error::Error + 'static)) -> RtError {
    crate::error::classify_storage(format!("icechunk: {what}: {}", describe(e)))
}

/// An icechunk error as one line: its message and those of its sources, without the span traces
/// icechunk appends ("context: ..."), which name source files rather than the problem.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        let text = text
            .split("\n\ncontext:")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// A read-only icechunk storage over a source's object store (already rooted at the repository, counted
/// and capped).
#[must_use]
pub fn storage_over(
    store: Arc<dyn object_store::ObjectStore>,
    description: String,
) -> Arc<object::ObjectStoreStorage> {
    Arc::new(object::ObjectStoreStorage::new(store, description))
}

/// Opens the repository behind `storage` at the selected version. `v2` says whether its `repo` file
/// exists (format V2); it may already have been handed to the storage with
/// [`object::ObjectStoreStorage::prefetch`].
///
/// # Errors
/// `ERR_NOT_FOUND` for a missing repository, branch, tag or snapshot; `ERR_INVALID_ARGUMENT` for
/// conflicting selectors, a malformed snapshot id or date; `ERR_STORAGE` or `ERR_PERMISSION_DENIED`
/// for storage and format errors.
pub async fn open(
    storage: Arc<object::ObjectStoreStorage>,
    v2: bool,
    selector: &VersionSelector,
    max_concurrency: usize,
    settings: &ReaderSettings,
) -> Result<OpenedRepository> {
    selector.validate()?;
    let as_of = parse_as_of(selector)?;
    open_session(storage, v2, selector, as_of, max_concurrency, settings).await
}

fn not_s3(prefix: &str) -> RtError {
    RtError::InvalidArgument(format!(
        "virtualChunkContainers: {prefix:?} is not an S3 container: credentials, anonymous, endpoint, \
         region and allowHttp apply to S3 containers only (others need none, or use the environment)"
    ))
}

/// Applies the user's endpoint, region, `allowHttp` and signing choice (keys or `anonymous`) to S3 virtual
/// chunk containers (an S3-compatible service, or a mirror of the data, in place of the stored location).
///
/// # Errors
/// `ERR_INVALID_ARGUMENT` when such settings are given for a container that is not S3.
fn override_containers(config: &mut RepositoryConfig, access: &[VirtualAccess]) -> Result<()> {
    let mut changed = Vec::new();
    for container in config.virtual_chunk_containers() {
        let Some(a) = access.iter().find(|a| {
            (a.store.is_some() || a.keys.is_some() || a.anonymous)
                && a.prefix.trim_end_matches('/') == container.url_prefix().trim_end_matches('/')
        }) else {
            continue;
        };
        let overrides = a.store.clone().unwrap_or_default();
        let mut container = container.clone();
        match &mut container.store {
            ObjectStoreConfig::S3(opts)
            | ObjectStoreConfig::S3Compatible(opts)
            | ObjectStoreConfig::Tigris(opts) => {
                if let Some(endpoint) = &overrides.endpoint {
                    opts.endpoint_url = Some(endpoint.clone());
                }
                if let Some(region) = &overrides.region {
                    opts.region = Some(region.clone());
                }
                if let Some(allow) = overrides.allow_http {
                    opts.allow_http = allow;
                }
                // Credentials given for the container mean signed requests; `anonymous` unsigned ones.
                if a.keys.is_some() {
                    opts.anonymous = false;
                } else if a.anonymous {
                    opts.anonymous = true;
                }
            }
            _ => {
                return Err(not_s3(container.url_prefix()));
            }
        }
        changed.push(container);
    }
    for container in changed {
        config
            .set_virtual_chunk_container(container)
            .map_err(|e| RtError::InvalidArgument(format!("virtualChunkContainers: {e}")))?;
    }
    Ok(())
}

/// icechunk's authorisation map for the virtual chunk containers the user named (by URL prefix):
/// local-file and HTTP containers get icechunk's explicit "no credentials needed" markers, object stores
/// `None` (the container's `anonymous` setting, or credentials from the environment).
///
/// # Errors
/// `ERR_INVALID_ARGUMENT` for a prefix that names none of the repository's containers.
fn authorisations(
    config: &RepositoryConfig,
    authorized: &[VirtualAccess],
) -> Result<HashMap<String, Option<Credentials>>> {
    let with_slash = |p: &str| {
        if p.ends_with('/') {
            p.to_owned()
        } else {
            format!("{p}/")
        }
    };
    let mut map = HashMap::new();
    for access in authorized {
        let prefix = with_slash(&access.prefix);
        let Some(container) = config
            .virtual_chunk_containers()
            .find(|c| with_slash(c.url_prefix()) == prefix)
        else {
            let known: Vec<String> = config
                .virtual_chunk_containers()
                .map(|c| c.url_prefix().to_owned())
                .collect();
            return Err(RtError::InvalidArgument(format!(
                "virtualChunkContainers: the repository has no container {prefix:?} (it has: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        };
        let is_s3 = matches!(
            container.store,
            ObjectStoreConfig::S3(_)
                | ObjectStoreConfig::S3Compatible(_)
                | ObjectStoreConfig::Tigris(_)
        );
        if (access.anonymous || access.keys.is_some() || access.store.is_some()) && !is_s3 {
            return Err(not_s3(&prefix));
        }
        let credentials = match (&container.store, &access.keys) {
            (ObjectStoreConfig::LocalFileSystem(_), _) => Some(Credentials::LocalFileSystemAccess),
            (ObjectStoreConfig::Http(_), _) => Some(Credentials::HttpAccess),
            (_, Some((id, secret, token))) => Some(Credentials::S3(S3Credentials::Static(
                S3StaticCredentials {
                    access_key_id: id.clone(),
                    secret_access_key: secret.clone(),
                    session_token: token.clone(),
                    expires_after: None,
                },
            ))),
            _ if access.anonymous => Some(Credentials::S3(S3Credentials::Anonymous)),
            _ => None,
        };
        map.insert(prefix, credentials);
    }
    Ok(map)
}

fn parse_as_of(selector: &VersionSelector) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    selector
        .as_of
        .as_deref()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    RtError::InvalidArgument(format!("asOf {s:?} is not an RFC 3339 date: {e}"))
                })
        })
        .transpose()
}

/// The format of the icechunk repository in directory `path`: `true` for V2 (a `repo` file), `false`
/// for V1 (`refs/`).
///
/// # Errors
/// `ERR_NOT_FOUND` when the directory holds neither.
pub fn local_format(path: &Path) -> Result<bool> {
    if path.join("repo").is_file() {
        return Ok(true);
    }
    if path.join("refs").is_dir() {
        return Ok(false);
    }
    Err(RtError::NotFound(format!(
        "no icechunk repository at {:?}",
        path.display().to_string()
    )))
}

/// Opens a read-only session at the selected version and lists the snapshot's nodes.
async fn open_session(
    storage: Arc<dyn Storage + Send + Sync>,
    v2: bool,
    selector: &VersionSelector,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    max_concurrency: usize,
    reader: &ReaderSettings,
) -> Result<OpenedRepository> {
    let settings = storage
        .default_settings()
        .await
        .map_err(|e| ic_error("storage settings", &e))?;
    let requests = u16::try_from(max_concurrency).unwrap_or(u16::MAX);
    let base = RepositoryConfig {
        max_concurrent_requests: Some(requests),
        caching: reader.caching,
        ..RepositoryConfig::default()
    };
    let (session, spec_version) = if v2 {
        let am = Arc::new(AssetManager::new_with_config(
            Arc::clone(&storage),
            settings.clone(),
            SpecVersionBin::V2,
            base.caching(),
            base.compression().level(),
            base.max_concurrent_requests(),
            base.max_concurrent_decodes(),
        ));
        let (info, _) = am
            .fetch_repo_info()
            .await
            .map_err(|e| ic_error("reading the repo file", &e))?;
        let persisted: Option<RepositoryConfig> = info
            .config()
            .map_err(|e| ic_error("repository config", &e))?;
        // The user's concurrency cap wins over the repository's stored config.
        let mut config = persisted.map_or(base.clone(), |p| p.merge(base.clone()));
        override_containers(&mut config, &reader.virtual_access)?;
        let snapshot = resolve_v2(&info, selector, as_of)?;
        let resolver = Arc::new(VirtualChunkResolver::new(
            config.virtual_chunk_containers().cloned(),
            authorisations(&config, &reader.virtual_access)?,
            settings.clone(),
        ));
        let session = Session::create_readonly_session(
            config,
            settings.clone(),
            storage,
            am,
            resolver,
            snapshot,
        );
        (session, 2)
    } else {
        let repo = Repository::open(storage)
            .config(base)
            .execute()
            .await
            .map_err(|e| ic_error("opening the repository", &e))?;
        let repo = if reader.virtual_access.is_empty() {
            repo
        } else {
            let mut config = repo.config().clone();
            override_containers(&mut config, &reader.virtual_access)?;
            let map = authorisations(&config, &reader.virtual_access)?;
            repo.reopen(Some(config), Some(map))
                .await
                .map_err(|e| ic_error("authorising virtual chunk containers", &e))?
        };
        let version = resolve_v1(&repo, selector, as_of).await?;
        let session = repo.readonly_session(&version).await.map_err(|e| {
            // icechunk says "object not found" for a snapshot file that is not there, and has its own
            // kind for a time before the branch's history; both are ERR_NOT_FOUND, as for V2.
            let text = describe(&e);
            match &version {
                VersionInfo::SnapshotId(id) if text.contains("not found") => {
                    RtError::NotFound(format!("no snapshot \"{id}\" in the repository"))
                }
                VersionInfo::AsOf { branch, at } if text.contains("does not have a snapshot") => {
                    no_snapshot_before(branch, *at)
                }
                _ => ic_error("opening a read-only session", &e),
            }
        })?;
        (session, 1)
    };
    let snapshot_id = session.snapshot_id().to_string();
    let documents = session
        .list_nodes(&NodePath::root())
        .await
        .map_err(|e| ic_error("reading the snapshot", &e))?
        .map(|node| node.map(|n| (n.path.to_string(), n.user_data)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| ic_error("reading the snapshot", &e))?;
    // The authorised containers' credentials and the settings icechunk's resolver has, for the remote
    // virtual chunks fetched through our client.
    let authorised = authorisations(session.config(), &reader.virtual_access)?;
    let remote =
        remote_virtual::RemoteVirtualChunks::new(authorised.into_iter().collect(), settings);
    let store = Store::from_session(Arc::new(tokio::sync::RwLock::new(session))).await;
    Ok(OpenedRepository {
        store: adapter::into_storage(store, remote),
        documents,
        snapshot_id,
        spec_version,
    })
}

fn parse_snapshot_id(s: &str) -> Result<SnapshotId> {
    SnapshotId::try_from(s)
        .map_err(|e| RtError::InvalidArgument(format!("snapshotId {s:?} is malformed: {e}")))
}

fn no_snapshot_before(branch: &str, at: chrono::DateTime<chrono::Utc>) -> RtError {
    RtError::NotFound(format!(
        "branch {branch:?} has no snapshot at or before {}",
        at.to_rfc3339()
    ))
}

fn resolve_v2(
    info: &RepoInfo,
    selector: &VersionSelector,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<SnapshotId> {
    if let Some(tag) = &selector.tag {
        return info
            .resolve_tag(tag)
            .map_err(|_| RtError::NotFound(format!("no tag {tag:?} in the repository")));
    }
    if let Some(id) = &selector.snapshot_id {
        let sid = parse_snapshot_id(id)?;
        info.find_snapshot(&sid)
            .map_err(|_| RtError::NotFound(format!("no snapshot {id:?} in the repository")))?;
        return Ok(sid);
    }
    let branch = selector.branch.as_deref().unwrap_or("main");
    let tip = info
        .resolve_branch(branch)
        .map_err(|_| RtError::NotFound(format!("no branch {branch:?} in the repository")))?;
    let Some(at) = as_of else { return Ok(tip) };
    let ancestry = info
        .ancestry(&tip)
        .map_err(|e| ic_error("walking the branch history", &e))?;
    for snapshot in ancestry {
        let snapshot = snapshot.map_err(|e| ic_error("walking the branch history", &e))?;
        if snapshot.flushed_at <= at {
            return Ok(snapshot.id);
        }
    }
    Err(no_snapshot_before(branch, at))
}

async fn resolve_v1(
    repo: &Repository,
    selector: &VersionSelector,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<VersionInfo> {
    if let Some(tag) = &selector.tag {
        repo.lookup_tag(tag)
            .await
            .map_err(|_| RtError::NotFound(format!("no tag {tag:?} in the repository")))?;
        return Ok(VersionInfo::TagRef(tag.clone()));
    }
    if let Some(id) = &selector.snapshot_id {
        return Ok(VersionInfo::SnapshotId(parse_snapshot_id(id)?));
    }
    let branch = selector.branch.clone().unwrap_or_else(|| "main".to_owned());
    repo.lookup_branch(&branch)
        .await
        .map_err(|_| RtError::NotFound(format!("no branch {branch:?} in the repository")))?;
    Ok(match as_of {
        Some(at) => VersionInfo::AsOf { branch, at },
        None => VersionInfo::BranchTipRef(branch),
    })
}
