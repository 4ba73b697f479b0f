//! The Node-API surface: the only module that imports `napi`. Thin: it converts options, spawns the
//! work on napi's tokio runtime, races it against cancellation and turns errors into coded reasons.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock};

use napi::bindgen_prelude::{
    JsValue, PromiseRaw, ToNapiValue, create_custom_tokio_runtime, within_runtime_if_available,
};
use napi::{Env, Status};
use napi_derive::napi;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cf::DecodeOptions;
use crate::error::RtError;
use crate::icechunk::VersionSelector;
use crate::read::{ReadTarget, read_region};
use crate::tree::{self, Engine, OpenOptions};
use crate::typed::TypedData;

mod handover;
mod scrub;

pub use handover::{JsTypedData, NativeHandoverStats, handover_stats};
pub use scrub::scrub_message;

/// Version of the native addon, for diagnostics.
#[napi]
#[must_use]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

fn to_napi(err: &RtError) -> napi::Error {
    let reason = match err {
        // A contained panic: what the panic said (kept by the hook below), for the bug report.
        RtError::Internal(message) if message.contains("panicked") => match take_panic_note() {
            Some(note) => RtError::Internal(format!("{message} ({note})")).to_reason(),
            None => err.to_reason(),
        },
        _ => err.to_reason(),
    };
    napi::Error::new(Status::GenericFailure, reason)
}

/// The message and place of the latest contained panic, waiting for its `ERR_INTERNAL` error.
static PANIC_NOTE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// The longest panic note kept (a panic message can quote a whole buffer).
const MAX_PANIC_NOTE_CHARS: usize = 500;

/// Replaces Rust's default panic hook when Node loads the addon: a library must not write to its host's
/// stderr, and every panic in here is contained (a guarded task's, or a chunk task's) and reported as
/// `ERR_INTERNAL`. The hook prints nothing; it keeps the panic's message and location, scrubbed of
/// credentials, for that error's message. Not installed in `cargo test`, where the default hook shows
/// the failed assertions.
///
/// # Errors
/// None: napi's signature for a module-load hook.
#[napi(module_exports)]
pub fn install_panic_hook(_exports: napi::bindgen_prelude::Object) -> napi::Result<()> {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            let place = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let note: String = crate::source::options::scrub(&format!("{message}{place}"), &[])
                .chars()
                .take(MAX_PANIC_NOTE_CHARS)
                .collect();
            *PANIC_NOTE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(note);
        }));
    });
    Ok(())
}

/// The note the panic hook kept of the latest panic, once.
fn take_panic_note() -> Option<String> {
    PANIC_NOTE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

/// Gives napi a runtime with one worker more than the machine has cores. Local file work runs inline on
/// at most all workers but one (see `source::local`), so this keeps one inline slot a core, as many as
/// napi's default runtime (a worker a core) had, and one worker free for everything else while files
/// stall. Should the runtime not build, napi makes its default one.
#[napi_derive::module_init]
fn install_runtime() {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores + 1)
        .enable_all()
        .build()
    {
        create_custom_tokio_runtime(runtime);
    }
}

/// How long an aborted operation's promise waits for the operation's task to be dropped before it
/// rejects anyway. A task that yields is gone well within this (its requests with it, so nothing is
/// left in flight when the promise rejects); one busy in CPU work or a blocking system call is dropped
/// when it next yields, after the rejection.
const DROP_GRACE: std::time::Duration = std::time::Duration::from_millis(10);

/// The runtime that settles the promises of operations that can be aborted: one thread that only races
/// each operation against its cancel token. An abort then rejects at once even while every worker of
/// napi's runtime is busy (a codec on a huge chunk, a file system that stopped answering).
static SETTLER: LazyLock<std::io::Result<tokio::runtime::Runtime>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("rustytree-settle")
        .enable_time()
        .build()
});

/// Runs `work` on its own task of napi's runtime, so a panic becomes `ERR_INTERNAL` instead of taking
/// Node down, and returns its promise. With a `cancel` token the promise is settled from [`SETTLER`],
/// racing the work against the token.
fn spawn_guarded<T: ToNapiValue + Send + 'static>(
    env: &Env,
    what: String,
    cancel: Option<CancellationToken>,
    work: impl Future<Output = crate::error::Result<T>> + Send + 'static,
) -> napi::Result<PromiseRaw<'_, T>> {
    let work = crate::tasks::counted(work);
    let Some(token) = cancel else {
        return env.spawn_future(async move { guarded(&what, None, tokio::spawn(work)).await });
    };
    let settler = SETTLER.as_ref().map_err(|e| {
        to_napi(&RtError::Internal(format!(
            "starting rustytree's settling thread: {e}"
        )))
    })?;
    let (deferred, promise) = env.create_deferred()?;
    let handle = within_runtime_if_available(|| tokio::spawn(work));
    settler.spawn(async move {
        match guarded(&what, Some(token), handle).await {
            Ok(value) => deferred.resolve(move |_| Ok(value)),
            Err(e) => deferred.reject(e),
        }
    });
    Ok(PromiseRaw::new(env.raw(), promise.raw()))
}

/// Joins the task `handle` (a panic becomes `ERR_INTERNAL`), and aborts it when `cancel` fires, which
/// drops it and with it every request it has in flight.
async fn guarded<T>(
    what: &str,
    cancel: Option<CancellationToken>,
    mut handle: JoinHandle<crate::error::Result<T>>,
) -> napi::Result<T> {
    let joined = match cancel {
        Some(token) => tokio::select! {
            // An abort that fired before the work was seen to finish wins.
            biased;
            () = token.cancelled() => {
                handle.abort();
                // Tasks it spawned are aborted by their JoinSets as it drops.
                let _ = tokio::time::timeout(DROP_GRACE, handle).await;
                return Err(to_napi(&RtError::Aborted(format!("{what} was aborted"))));
            }
            r = &mut handle => r,
        },
        None => handle.await,
    };
    match joined {
        Ok(result) => result.map_err(|e| to_napi(&e)),
        Err(e) if e.is_panic() => Err(to_napi(&RtError::Internal(format!(
            "{what} panicked; this is a bug in rustytree"
        )))),
        Err(_) => Err(to_napi(&RtError::Aborted(format!("{what} was cancelled")))),
    }
}

/// A cancellation handle: the TypeScript layer calls `cancel()` when the user's `AbortSignal` fires.
#[napi]
pub struct CancelToken {
    token: CancellationToken,
}

#[napi]
impl CancelToken {
    /// A fresh, un-cancelled token.
    #[napi(constructor)]
    #[must_use]
    pub fn new() -> Self {
        Self {
            token: CancellationToken::new(),
        }
    }

    /// Cancels every operation this token was passed to.
    #[napi]
    pub fn cancel(&self) {
        self.token.cancel();
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

/// Options of `openTree`, as plain values (the TypeScript layer fills in defaults and validates types).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NativeOpenOptions {
    /// Group to open.
    pub group: Option<String>,
    /// Glob on group paths.
    pub group_filter: Option<String>,
    /// Master CF switch (default true).
    pub decode_cf: Option<bool>,
    /// Masking and scale/offset (default true).
    pub mask_and_scale: Option<bool>,
    /// Datetimes (default true).
    pub decode_times: Option<bool>,
    /// Timedeltas (default: xarray's rule).
    pub decode_timedelta: Option<bool>,
    /// Read index coordinates during the open (default true).
    pub load_coords: Option<bool>,
    /// Cap on concurrent store requests.
    pub max_concurrency: Option<u32>,
    /// Walk descendants (default true); false for openDataset.
    pub descend: Option<bool>,
    /// `"zarr"` or `"icechunk"` to force the format (default: detected).
    pub engine: Option<String>,
    /// icechunk branch (default `main`).
    pub branch: Option<String>,
    /// icechunk tag.
    pub tag: Option<String>,
    /// icechunk snapshot id.
    pub snapshot_id: Option<String>,
    /// icechunk: the branch's state at this RFC 3339 time.
    pub as_of: Option<String>,
    /// Object-store settings (the TypeScript layer turns values into strings).
    pub storage_options: Option<HashMap<String, String>>,
    /// icechunk virtual chunk containers whose chunks may be read.
    pub virtual_chunk_containers: Option<Vec<NativeVirtualAccess>>,
    /// icechunk caches.
    pub icechunk_caching: Option<NativeCaching>,
}

/// One authorised virtual chunk container.
#[napi(object)]
#[derive(Clone, Default)]
pub struct NativeVirtualAccess {
    /// URL prefix of the container.
    pub prefix: String,
    /// Unsigned requests (S3 containers).
    pub anonymous: Option<bool>,
    /// S3 static credentials.
    pub access_key_id: Option<String>,
    /// S3 static credentials.
    pub secret_access_key: Option<String>,
    /// S3 session token.
    pub session_token: Option<String>,
    /// S3 endpoint replacing the stored one.
    pub endpoint: Option<String>,
    /// S3 region replacing the stored one.
    pub region: Option<String>,
    /// Allow an `http://` endpoint.
    pub allow_http: Option<bool>,
}

// Never print credentials.
impl std::fmt::Debug for NativeVirtualAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeVirtualAccess")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// icechunk's cache sizes (entries, or bytes for the `*_bytes` ones).
#[napi(object)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeCaching {
    /// Snapshot nodes kept.
    pub snapshot_nodes: Option<f64>,
    /// Manifest chunk references kept.
    pub chunk_refs: Option<f64>,
    /// Transaction-log changes kept.
    pub transaction_changes: Option<f64>,
    /// Bytes of attributes kept.
    pub attribute_bytes: Option<f64>,
    /// Bytes of chunk data kept.
    pub chunk_bytes: Option<f64>,
}

/// A JavaScript number that is a whole number from 0 to 2^53 (exactly representable), as u64.
fn whole_number(x: f64) -> Option<u64> {
    (x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 9.007_199_254_740_992e15)
        .then_some(x as u64)
}

fn cache_size(name: &str, v: Option<f64>) -> Result<Option<u64>, RtError> {
    v.map(|x| {
        whole_number(x).ok_or_else(|| {
            RtError::InvalidArgument(format!(
                "icechunkCaching.{name} must be a non-negative whole number"
            ))
        })
    })
    .transpose()
}

impl TryFrom<NativeCaching> for ::icechunk::config::CachingConfig {
    type Error = RtError;

    fn try_from(c: NativeCaching) -> Result<Self, RtError> {
        Ok(Self {
            num_snapshot_nodes: cache_size("snapshotNodes", c.snapshot_nodes)?,
            num_chunk_refs: cache_size("chunkRefs", c.chunk_refs)?,
            num_transaction_changes: cache_size("transactionChanges", c.transaction_changes)?,
            num_bytes_attributes: cache_size("attributeBytes", c.attribute_bytes)?,
            num_bytes_chunks: cache_size("chunkBytes", c.chunk_bytes)?,
        })
    }
}

impl TryFrom<NativeVirtualAccess> for crate::icechunk::VirtualAccess {
    type Error = RtError;

    fn try_from(a: NativeVirtualAccess) -> Result<Self, RtError> {
        let keys = match (a.access_key_id, a.secret_access_key) {
            (Some(id), Some(secret)) => Some((id, secret, a.session_token)),
            (None, None) if a.session_token.is_none() => None,
            _ => {
                return Err(RtError::InvalidArgument(format!(
                    "virtualChunkContainers: {:?} needs both accessKeyId and secretAccessKey",
                    a.prefix
                )));
            }
        };
        let anonymous = a.anonymous.unwrap_or(false);
        if anonymous && keys.is_some() {
            return Err(RtError::InvalidArgument(format!(
                "virtualChunkContainers: {:?}: anonymous cannot be combined with credentials",
                a.prefix
            )));
        }
        let overridden = a.endpoint.is_some() || a.region.is_some() || a.allow_http.is_some();
        let store = overridden.then_some(crate::icechunk::StoreOverrides {
            endpoint: a.endpoint,
            region: a.region,
            allow_http: a.allow_http,
        });
        Ok(Self {
            prefix: a.prefix,
            anonymous,
            keys,
            store,
        })
    }
}

impl TryFrom<NativeOpenOptions> for OpenOptions {
    type Error = RtError;

    fn try_from(o: NativeOpenOptions) -> Result<Self, RtError> {
        let d = OpenOptions::default();
        let decode_cf = o.decode_cf.unwrap_or(true);
        let engine = match o.engine.as_deref() {
            None => None,
            Some("zarr") => Some(Engine::Zarr),
            Some("icechunk") => Some(Engine::Icechunk),
            Some(other) => {
                return Err(RtError::InvalidArgument(format!(
                    "engine {other:?} is not one of \"zarr\", \"icechunk\""
                )));
            }
        };
        Ok(Self {
            group: o.group.unwrap_or(d.group),
            group_filter: o.group_filter,
            decode: DecodeOptions {
                decode_cf,
                mask_and_scale: decode_cf && o.mask_and_scale.unwrap_or(true),
                decode_times: decode_cf && o.decode_times.unwrap_or(true),
                decode_timedelta: if decode_cf {
                    o.decode_timedelta
                } else {
                    Some(false)
                },
            },
            load_coords: o.load_coords.unwrap_or(d.load_coords),
            max_concurrency: o.max_concurrency.map(|n| n as usize),
            descend: o.descend.unwrap_or(true),
            engine,
            version: VersionSelector {
                branch: o.branch,
                tag: o.tag,
                snapshot_id: o.snapshot_id,
                as_of: o.as_of,
            },
            storage_options: {
                // Sorted, so that the same options always share one cached client.
                let mut entries: Vec<(String, String)> =
                    o.storage_options.unwrap_or_default().into_iter().collect();
                entries.sort();
                entries
            },
            icechunk: crate::icechunk::ReaderSettings {
                virtual_access: o
                    .virtual_chunk_containers
                    .unwrap_or_default()
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect::<Result<_, _>>()?,
                caching: o.icechunk_caching.map(TryInto::try_into).transpose()?,
            },
        })
    }
}

/// Decoded values of one variable (or a selection of it), flat and C-ordered.
#[napi(object, object_from_js = false)]
pub struct NativeArray {
    /// Store path of the variable.
    pub path: String,
    /// The values.
    #[napi(
        ts_type = "Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array | Float32Array | Float64Array | string[]"
    )]
    pub data: JsTypedData,
}

/// An opened tree: its metadata as JSON, the coordinates read during the open, and readers.
#[napi]
pub struct NativeTree {
    metadata: String,
    coords: std::sync::Mutex<Vec<(String, TypedData)>>,
    targets: Arc<HashMap<String, ReadTarget>>,
    limit: Arc<Semaphore>,
    stats: Arc<crate::source::instrument::RequestStats>,
    secrets: Arc<Vec<String>>,
}

/// Store requests made so far by one opened source (the open and every read since).
#[napi(object)]
#[derive(Debug, Clone, Copy)]
pub struct NativeStats {
    /// Whole-object GETs.
    pub gets: f64,
    /// HEADs.
    pub heads: f64,
    /// Ranged GETs.
    pub ranged_gets: f64,
    /// Listings.
    pub lists: f64,
    /// All requests.
    pub requests: f64,
    /// Bytes returned.
    pub bytes: f64,
    /// Requests in flight now.
    pub in_flight: f64,
    /// Most requests in flight at once.
    pub peak_in_flight: f64,
    /// Sequential waves of requests (a request started while none was in flight).
    pub round_trips: f64,
}

#[napi]
impl NativeTree {
    /// The tree's metadata as a JSON string (nodes, variables, attrs, encodings, warnings).
    #[napi]
    #[must_use]
    pub fn metadata(&self) -> &str {
        // Lent, not cloned: JavaScript copies it into a string of its own anyway, and with large
        // attributes a copy here was one more document-sized buffer at the open's peak.
        &self.metadata
    }

    /// Store requests made so far (the open and every read since).
    ///
    /// ```ts
    /// tree.stats().requests // 1 for a consolidated open without coordinates
    /// ```
    #[napi]
    #[must_use]
    pub fn stats(&self) -> NativeStats {
        let s = self.stats.snapshot();
        NativeStats {
            gets: s.gets as f64,
            heads: s.heads as f64,
            ranged_gets: s.ranged_gets as f64,
            lists: s.lists as f64,
            requests: s.requests() as f64,
            bytes: s.bytes as f64,
            in_flight: s.in_flight as f64,
            peak_in_flight: s.peak_in_flight as f64,
            round_trips: s.round_trips as f64,
        }
    }

    /// The index coordinates read during the open; hands them over once.
    #[napi]
    pub fn take_coords(&self) -> Vec<NativeArray> {
        let mut guard = self
            .coords
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *guard)
            .into_iter()
            .map(|(path, data)| NativeArray {
                path,
                data: JsTypedData(data),
            })
            .collect()
    }

    /// Reads `[start, stop)` per dimension of the variable at `path`, decoded.
    ///
    /// # Errors
    /// The promise rejects with `[ERR_NOT_FOUND]`, `[ERR_INVALID_SELECTION]`, `[ERR_DECODE]`,
    /// `[ERR_STORAGE]`, `[ERR_CF_DECODE]`, `[ERR_UNSUPPORTED_CODEC]`/`[ERR_UNSUPPORTED_DTYPE]` or `[ERR_ABORTED]`.
    ///
    /// ```ts
    /// const arr = await tree.read('/VCP-12/sweep_0/DBZH', [0, 0, 0], [1, 36, 20])
    /// ```
    #[napi(ts_return_type = "Promise<NativeArray>")]
    pub fn read<'env>(
        &self,
        env: &'env Env,
        path: String,
        start: Vec<f64>,
        stop: Vec<f64>,
        cancel: Option<&CancelToken>,
    ) -> napi::Result<PromiseRaw<'env, NativeArray>> {
        let targets = Arc::clone(&self.targets);
        let limit = Arc::clone(&self.limit);
        let secrets = Arc::clone(&self.secrets);
        let token = cancel.map(|c| c.token.clone());
        let what = format!("reading {path:?}");
        spawn_guarded(env, what, token, async move {
            let target = targets
                .get(&path)
                .ok_or_else(|| RtError::NotFound(format!("no variable at {path:?}")))?;
            let to_u64 = |v: &[f64]| -> crate::error::Result<Vec<u64>> {
                v.iter()
                    .map(|&x| {
                        whole_number(x).ok_or_else(|| {
                            RtError::InvalidSelection(format!("array {path:?}: bad index {x}"))
                        })
                    })
                    .collect()
            };
            let data = read_region(target, &to_u64(&start)?, &to_u64(&stop)?, &limit)
                .await
                .map_err(|e| e.scrubbed(&secrets))?;
            Ok(NativeArray {
                path,
                data: JsTypedData(data),
            })
        })
    }
}

/// Panics inside a native task; for the test that proves a panic rejects with `ERR_INTERNAL` and leaves
/// Node running. Not part of the public TypeScript API.
///
/// # Errors
/// Always rejects with `[ERR_INTERNAL]`.
#[napi(js_name = "_testPanic", ts_return_type = "Promise<number>")]
pub fn test_panic(env: &Env) -> napi::Result<PromiseRaw<'_, u8>> {
    spawn_guarded(env, "the panic test".to_owned(), None, async {
        let v: Vec<u8> = Vec::new();
        // Index out of bounds, computed so the compiler cannot see it coming.
        let i = v.len() + 1;
        Ok(v[i])
    })
}

/// How many native tasks are alive now (operations and the chunk tasks of reads), for the test that
/// proves aborted work is dropped, buffers and all, once it winds down. Not part of the public
/// TypeScript API.
#[napi(js_name = "_aliveTasks")]
#[must_use]
pub fn alive_tasks() -> u32 {
    u32::try_from(crate::tasks::alive()).unwrap_or(u32::MAX)
}

/// Opens the hierarchy at `source` and returns its metadata and index coordinates.
///
/// # Errors
/// The promise rejects with any of the codes in `error.rs`, as `[CODE] message`.
///
/// ```ts
/// const tree = await openTree('fixtures/stores/nexrad.zarr', {})
/// ```
#[napi(ts_return_type = "Promise<NativeTree>")]
pub fn open_tree<'env>(
    env: &'env Env,
    source: String,
    options: Option<NativeOpenOptions>,
    cancel: Option<&CancelToken>,
) -> napi::Result<PromiseRaw<'env, NativeTree>> {
    let options = OpenOptions::try_from(options.unwrap_or_default());
    let token = cancel.map(|c| c.token.clone());
    spawn_guarded(env, "opening the source".to_owned(), token, async move {
        let opened = tree::open(&source, &options?).await?;
        let metadata = serde_json::to_string(&opened.info)
            .map_err(|e| RtError::Internal(format!("serialising metadata: {e}")))?;
        Ok(NativeTree {
            metadata,
            coords: std::sync::Mutex::new(opened.coords),
            targets: Arc::new(opened.targets),
            limit: opened.limit,
            stats: opened.stats,
            secrets: Arc::new(opened.secrets),
        })
    })
}
