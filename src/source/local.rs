//! A read-only zarrs store over a local directory. Keys map to file paths verbatim: node names with
//! `[`, `%`, spaces or non-ASCII characters work (`object_store`'s local backend percent-encodes such path
//! parts, so it would look for the wrong files). Requests are counted into the source's [`RequestStats`]
//! and capped at `maxConcurrency`.
//!
//! File reads run on the calling tokio worker while they are fast (page cache, local SSD: chunk files of
//! a few to a few hundred kB take microseconds, less than the two thread hand-offs of tokio's blocking
//! pool, which cost about 15% of decoded throughput). Reads that take longer than [`INLINE_READ_BUDGET`]
//! (a network file system, a cold spinning disk, a large shard) move the store to the blocking pool, so a
//! slow file system stalls a worker a few times, not every time. One slightly slow read is not enough: on a
//! busy machine a fast read is sometimes descheduled past the budget, and moving for good then put up to
//! `maxConcurrency` pool threads (each with its own allocator cache) behind every later read; one read of
//! many budgets is. A run of fast reads on the pool brings the store back to the workers.
//!
//! A read that never returns (a hung NFS or FUSE mount) is never recorded as slow, so two rules keep it
//! from taking the runtime: at most all but one of the runtime's workers run file work at once, over
//! every store in the process (see [`WorkerSlot`]), and a file that is not a regular one (a FIFO, whose
//! `open()` waits for a writer; a device) is never read on a worker (see [`open_regular`]). File work
//! that finds every slot taken waits for one without holding its worker, for at most [`SLOT_WAIT`]: fast
//! reads give theirs back within microseconds, so the waiter still reads inline (going to the pool at
//! once cost a third of uncompressed throughput), while slots held by stalled reads never come back and
//! the waiter goes to the blocking pool when the wait runs out.
//!
//! Directory listings follow symbolic links to directories, as zarr-python does, except a link that leads
//! back into a directory the walk came through (a loop), which is skipped.
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use tokio::sync::{Notify, Semaphore};
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    AsyncListableStorageTraits, AsyncMaybeBytesIterator, AsyncReadableStorageTraits, Bytes,
    MaybeBytes, StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix,
};

use super::instrument::{RequestKind, RequestStats};
use super::sizes::KnownSizes;
use crate::dtype::Dtype;
use crate::hierarchy::node::MAX_DOCUMENT_BYTES;
use crate::typed::TypedData;

/// The local directory store.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    stats: Arc<RequestStats>,
    limit: Arc<Semaphore>,
    /// How slow file work has been lately, as [`LocalStore::record`] scores it, at most [`SLOWNESS_CAP`];
    /// work runs on the calling worker below [`HAND_OVER_AT`] (see the module docs).
    slowness: AtomicU32,
    /// Whether a listing has returned a symbolic link to a directory (see [`list_directory`]).
    followed_links: Arc<AtomicBool>,
    /// File sizes seen by ranged reads (each stats the file it reads), so the size a partial shard read
    /// asks for after its index is no second file operation.
    sizes: KnownSizes<PathBuf>,
}

/// How long one file operation may hold a tokio worker before the store hands file work to the blocking
/// pool instead.
pub const INLINE_READ_BUDGET: Duration = Duration::from_millis(2);

/// What one slow operation adds to the store's slowness at least (a fast one takes off 1): work moves to
/// the blocking pool after 4 slow operations in a row, when more than about one in five is slow, or at
/// once after one that took 16 budgets or more.
const SLOW_READ_WEIGHT: u32 = 4;

/// The slowness at which file work moves to the blocking pool.
const HAND_OVER_AT: u32 = 16;

/// The most slowness counts: back on the workers after at most 48 fast operations in a row.
const SLOWNESS_CAP: u32 = 64;

/// The name of a node's metadata document: a whole read of one stops one byte past
/// [`MAX_DOCUMENT_BYTES`], enough for the parser to tell that it is over the limit.
const METADATA_NAME: &str = "zarr.json";

/// File operations running on tokio workers right now, over every store in the process.
static ON_WORKERS: AtomicUsize = AtomicUsize::new(0);

/// Woken once for every [`WorkerSlot`] given back, so one operation waiting for a slot gets it.
static SLOT_FREED: Notify = Notify::const_new();

/// How long file work waits for a [`WorkerSlot`] when none is free before it goes to the blocking pool.
/// Fast reads give their slot back within microseconds, so a waiter gets one well within this; slots held
/// by stalled file systems never come back, and waiting longer would only delay the pool.
const SLOT_WAIT: Duration = INLINE_READ_BUDGET;

/// A claim on running one file operation on the calling tokio worker: there are as many as the runtime
/// has workers, less one, so file systems that stop answering can stall all but one worker and never the
/// last (timers, cancellation and every other call keep running on it). Given back when dropped.
struct WorkerSlot;

impl WorkerSlot {
    /// A slot, when one is free or frees within `wait` and the caller is on a runtime with more than one
    /// worker. The worker runs other tasks while this waits. Cancellation-safe: the count is only taken
    /// in the same step that returns the slot, and a wake-up a dropped waiter received passes to the next.
    async fn claim_within(wait: Duration) -> Option<Self> {
        let slots = tokio::runtime::Handle::try_current()
            .map_or(0, |h| h.metrics().num_workers().saturating_sub(1));
        if slots == 0 {
            return None;
        }
        if let Some(slot) = Self::take(slots) {
            return Some(slot);
        }
        let waited = tokio::time::timeout(wait, async {
            loop {
                let freed = SLOT_FREED.notified();
                tokio::pin!(freed);
                // Registered before the check, so a slot given back in between still wakes this.
                freed.as_mut().enable();
                if let Some(slot) = Self::take(slots) {
                    return slot;
                }
                freed.await;
            }
        });
        waited.await.ok()
    }

    /// A slot, if fewer than `slots` are taken.
    fn take(slots: usize) -> Option<Self> {
        ON_WORKERS
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < slots).then_some(n + 1)
            })
            .ok()
            .map(|_| Self)
    }
}

impl Drop for WorkerSlot {
    fn drop(&mut self) {
        ON_WORKERS.fetch_sub(1, Ordering::AcqRel);
        SLOT_FREED.notify_one();
    }
}

/// Where one file operation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// On the calling tokio worker.
    Worker,
    /// On a thread of tokio's blocking pool.
    Pool,
}

/// File work that declined to run on a worker, because it might never return there.
#[derive(Debug)]
struct Declined;

/// What file work returns: its result, or that it must run on the pool instead.
type Attempt<T> = Result<std::io::Result<T>, Declined>;

impl LocalStore {
    /// A store rooted at `root` (an existing directory).
    #[must_use]
    pub fn new(root: PathBuf, stats: Arc<RequestStats>, max_concurrency: usize) -> Self {
        Self {
            root,
            stats,
            limit: Arc::new(Semaphore::new(max_concurrency.max(1))),
            slowness: AtomicU32::new(0),
            followed_links: Arc::default(),
            sizes: KnownSizes::default(),
        }
    }

    fn path_of(&self, relative: &str) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(relative.split('/').filter(|s| !s.is_empty()));
        path
    }

    /// Runs blocking file work under the request cap, counted as one request of `kind`: on the calling
    /// worker when the store is fast, a [`WorkerSlot`] is free (or frees within [`SLOT_WAIT`]) and the
    /// work agrees, else on the pool.
    async fn run<T: Send + 'static>(
        &self,
        kind: RequestKind,
        work: impl Fn(Place) -> Attempt<T> + Send + 'static,
    ) -> Result<T, StorageError> {
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|e| StorageError::Other(e.to_string()))?;
        let _guard = self.stats.begin(kind);
        if self.inline()
            && let Some(slot) = WorkerSlot::claim_within(SLOT_WAIT).await
        {
            let started = Instant::now();
            let attempt = work(Place::Worker);
            drop(slot);
            if let Ok(result) = attempt {
                self.record(started.elapsed());
                return result.map_err(|e| StorageError::IOError(Arc::new(e)));
            }
        }
        let (attempt, took) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            (work(Place::Pool), started.elapsed())
        })
        .await
        .map_err(|e| StorageError::Other(format!("file task failed: {e}")))?;
        self.record(took);
        match attempt {
            Ok(result) => result.map_err(|e| StorageError::IOError(Arc::new(e))),
            Err(Declined) => Err(StorageError::Other(
                "file work declined the blocking pool".to_owned(),
            )),
        }
    }

    /// Whether file work runs on the calling worker.
    fn inline(&self) -> bool {
        self.slowness.load(Ordering::Relaxed) < HAND_OVER_AT
    }

    /// Scores one operation that took `took`: a slow one adds [`SLOW_READ_WEIGHT`], or one per budget it
    /// took if that is more (a read of 16 budgets or longer hands over at once), a fast one takes 1 off.
    fn record(&self, took: Duration) {
        let weight = if took > INLINE_READ_BUDGET {
            let budgets = took.as_micros() / INLINE_READ_BUDGET.as_micros().max(1);
            u32::try_from(budgets)
                .unwrap_or(u32::MAX)
                .clamp(SLOW_READ_WEIGHT, SLOWNESS_CAP)
        } else {
            0
        };
        // Never fails: the closure always returns `Some`.
        let _ = self
            .slowness
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(if weight > 0 {
                    (n + weight).min(SLOWNESS_CAP)
                } else {
                    n.saturating_sub(1)
                })
            });
    }
}

/// Reads `ranges` of the file at `path`, and the file's size (`None` when it does not exist); a range open
/// at the end stops after `at_most` bytes. On a worker, declines a file that is not a regular one before reading it.
fn read_ranges(
    path: &Path,
    ranges: &[ByteRange],
    at_most: u64,
    place: Place,
) -> Attempt<Option<(u64, Vec<Bytes>)>> {
    let opened = match place {
        Place::Worker => open_regular(path).ok_or(Declined)?,
        Place::Pool => File::open(path),
    };
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Ok(None)),
        Err(e) => return Ok(Err(e)),
    };
    Ok(read_from(file, ranges, at_most).map(Some))
}

/// Opens `path` without waiting, `None` when it is not a regular file. On Unix the open itself cannot
/// block (`O_NONBLOCK`, which regular files ignore), and the file's type is checked on the open file, so
/// this costs no more system calls than a plain open.
fn open_regular(path: &Path) -> Option<std::io::Result<File>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    #[cfg(not(unix))]
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return None;
    }
    match options.open(path) {
        Ok(file) => match file.metadata() {
            Ok(m) if !m.is_file() => None,
            Ok(_) => Some(Ok(file)),
            Err(e) => Some(Err(e)),
        },
        Err(e) => Some(Err(e)),
    }
}

fn read_from(
    mut file: File,
    ranges: &[ByteRange],
    at_most: u64,
) -> std::io::Result<(u64, Vec<Bytes>)> {
    let size = file.metadata()?.len();
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let (start, end) = match *range {
            ByteRange::FromStart(offset, None) => {
                (offset, size.min(offset.saturating_add(at_most)))
            }
            ByteRange::FromStart(offset, Some(len)) => (offset, offset.saturating_add(len)),
            ByteRange::Suffix(len) => (size.saturating_sub(len), size),
        };
        if start > end || end > size {
            return Err(std::io::Error::new(
                ErrorKind::UnexpectedEof,
                format!("byte range {start}..{end} is outside a {size}-byte file"),
            ));
        }
        file.seek(SeekFrom::Start(start))?;
        out.push(Bytes::from(read_exactly(&mut file, end - start)?));
    }
    Ok((size, out))
}

/// Reads the next `len` bytes of `file` into a buffer allocated fallibly: a size the file claims (a
/// sparse file, a corrupt one) that does not fit in memory is an error, not an abort, and a file that is
/// shorter than it claimed is an error (`UnexpectedEof`), not a buffer padded with zeros.
fn read_exactly(file: &mut File, len: u64) -> std::io::Result<Vec<u8>> {
    let buffer = usize::try_from(len)
        .ok()
        .and_then(|n| crate::read::direct::zeroed(Dtype::UInt8, n));
    let Some(TypedData::U8(mut buf)) = buffer else {
        return Err(std::io::Error::new(
            ErrorKind::OutOfMemory,
            format!("a read of {len} bytes does not fit in memory"),
        ));
    };
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// How much of the object at `key` a whole read takes at most: one byte past the metadata limit for a
/// metadata document, everything for anything else.
fn whole_read_limit(key: &StoreKey) -> u64 {
    let name = key.as_str().rsplit('/').next().unwrap_or_default();
    if name == METADATA_NAME {
        MAX_DOCUMENT_BYTES as u64 + 1
    } else {
        u64::MAX
    }
}

#[async_trait::async_trait]
impl AsyncReadableStorageTraits for LocalStore {
    async fn get(&self, key: &StoreKey) -> Result<MaybeBytes, StorageError> {
        let path = self.path_of(key.as_str());
        let at_most = whole_read_limit(key);
        let got = self
            .run(RequestKind::Get, move |place| {
                read_ranges(&path, &[ByteRange::FromStart(0, None)], at_most, place)
            })
            .await?;
        let bytes = got.and_then(|(_, mut v)| v.pop());
        if let Some(b) = &bytes {
            self.stats.add_bytes(b.len() as u64);
        }
        Ok(bytes)
    }

    async fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<AsyncMaybeBytesIterator<'a>, StorageError> {
        let ranges: Vec<ByteRange> = byte_ranges.collect();
        let path = self.path_of(key.as_str());
        let n = ranges.len().max(1);
        let file = path.clone();
        let got = self
            .run(RequestKind::RangedGet, move |place| {
                read_ranges(&file, &ranges, u64::MAX, place)
            })
            .await?;
        // Object stores answer one range per request; count them the same way.
        for _ in 1..n {
            drop(self.stats.begin(RequestKind::RangedGet));
        }
        Ok(got.map(|(size, parts)| {
            self.sizes.remember(&path, size);
            self.stats
                .add_bytes(parts.iter().map(|b| b.len() as u64).sum());
            stream::iter(parts.into_iter().map(Ok)).boxed()
        }))
    }

    async fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        let path = self.path_of(key.as_str());
        if let Some(size) = self.sizes.get(&path) {
            return Ok(Some(size));
        }
        self.run(RequestKind::Head, move |_| {
            Ok(match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => Ok(Some(m.len())),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            })
        })
        .await
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

/// Lists the directory `relative` under `root`: (file names, subdirectory names). Subdirectories include
/// symbolic links to directories, except those that lead back into a directory on the way here.
/// `followed_links` is the store's record of whether a listing has returned a link yet: until one has, no
/// walk can have come through one, and listings without links skip the loop check.
fn list_directory(
    root: &Path,
    relative: &str,
    followed_links: &AtomicBool,
) -> std::io::Result<(Vec<String>, Vec<String>)> {
    let mut path = root.to_path_buf();
    path.extend(relative.split('/').filter(|s| !s.is_empty()));
    let entries = match std::fs::read_dir(&path) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let mut linked = Vec::new();
    for entry in entries {
        let entry = entry?;
        // Names that are not UTF-8 cannot be Zarr node names; skip them.
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            dirs.push(name);
        } else if file_type.is_symlink() && entry.path().is_dir() {
            linked.push(name);
        } else {
            files.push(name);
        }
    }
    if !linked.is_empty() {
        followed_links.store(true, Ordering::Release);
    }
    if followed_links.load(Ordering::Acquire) {
        // A subdirectory leads back into the walk through a link, or (on a path that came through one) as
        // a plain subdirectory of where a link pointed: skip those that resolve to a directory on the way.
        let on_the_way = resolved_ancestors(root, &path);
        let loops = |target: std::io::Result<PathBuf>| match target {
            Ok(t) => on_the_way.contains(&t),
            // A link that cannot be resolved (too many levels of links) is a loop too.
            Err(_) => true,
        };
        let here = std::fs::canonicalize(&path)?;
        dirs.retain(|d| !loops(Ok(here.join(d))));
        linked.retain(|d| !loops(std::fs::canonicalize(path.join(d))));
        dirs.append(&mut linked);
    }
    files.sort();
    dirs.sort();
    Ok((files, dirs))
}

/// The resolved paths of `dir` and of every directory above it up to `root`: the directories a walk from
/// `root` passed through to reach `dir`.
fn resolved_ancestors(root: &Path, dir: &Path) -> Vec<PathBuf> {
    dir.ancestors()
        .take_while(|a| a.starts_with(root))
        .filter_map(|a| std::fs::canonicalize(a).ok())
        .collect()
}

#[async_trait::async_trait]
impl AsyncListableStorageTraits for LocalStore {
    async fn list(&self) -> Result<StoreKeys, StorageError> {
        self.list_prefix(&StorePrefix::root()).await
    }

    async fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        let mut keys = Vec::new();
        let mut pending = vec![prefix.as_str().to_owned()];
        while let Some(dir) = pending.pop() {
            let (root, relative) = (self.root.clone(), dir.clone());
            let links = Arc::clone(&self.followed_links);
            let (files, dirs) = self
                .run(RequestKind::List, move |_| {
                    Ok(list_directory(&root, &relative, &links))
                })
                .await?;
            for f in files {
                keys.push(StoreKey::new(format!("{dir}{f}"))?);
            }
            pending.extend(dirs.into_iter().map(|d| format!("{dir}{d}/")));
        }
        keys.sort();
        Ok(keys)
    }

    async fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        let (root, relative) = (self.root.clone(), prefix.as_str().to_owned());
        let links = Arc::clone(&self.followed_links);
        let (files, dirs) = self
            .run(RequestKind::List, move |_| {
                Ok(list_directory(&root, &relative, &links))
            })
            .await?;
        let p = prefix.as_str();
        let keys = files
            .into_iter()
            .map(|f| StoreKey::new(format!("{p}{f}")))
            .collect::<Result<_, _>>()?;
        let prefixes = dirs
            .into_iter()
            .map(|d| StorePrefix::new(format!("{p}{d}/")))
            .collect::<Result<_, _>>()?;
        Ok(StoreKeysPrefixes::new(keys, prefixes))
    }

    async fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        let mut total = 0;
        for key in self.list_prefix(prefix).await? {
            total += self.size_key(&key).await?.unwrap_or(0);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker slots are process-wide: tests that count on them run one at a time.
    static SLOTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Runs `test` on a runtime of two workers (one worker slot), one such test at a time.
    fn on_two_workers<F: std::future::Future>(test: F) -> F::Output {
        let _serial = SLOTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap()
            .block_on(test)
    }

    /// File work that takes `budgets` times [`INLINE_READ_BUDGET`] and says where it ran.
    fn taking(budgets: u32) -> impl Fn(Place) -> Attempt<Place> + Copy + Send + 'static {
        move |place| {
            std::thread::sleep(INLINE_READ_BUDGET * budgets);
            Ok(Ok(place))
        }
    }

    #[test]
    fn slow_file_work_moves_the_store_to_the_blocking_pool_and_back() {
        on_two_workers(async {
            let store = LocalStore::new(std::env::temp_dir(), Arc::default(), 4);
            let fast = |place| Ok(Ok(place));
            let slow = taking(2);
            assert_eq!(
                store.run(RequestKind::Get, fast).await.unwrap(),
                Place::Worker
            );
            // One slow read among fast ones (a descheduled read on a busy machine) does not move the store.
            store.run(RequestKind::Get, slow).await.unwrap();
            assert!(store.inline(), "one slow read handed over");
            for _ in 0..4 {
                store.run(RequestKind::Get, fast).await.unwrap();
            }
            // A run of slow reads does; from then on the work runs on a blocking-pool thread.
            for _ in 0..4 {
                assert_eq!(
                    store.run(RequestKind::Get, slow).await.unwrap(),
                    Place::Worker
                );
            }
            assert!(
                !store.inline(),
                "four slow reads in a row stayed on the worker"
            );
            assert_eq!(
                store.run(RequestKind::Get, fast).await.unwrap(),
                Place::Pool
            );
            // Fast reads on the pool bring it back.
            let mut on_pool = 0;
            while !store.inline() {
                store.run(RequestKind::Get, fast).await.unwrap();
                on_pool += 1;
                assert!(on_pool <= SLOWNESS_CAP, "the store never came back");
            }
            assert_eq!(
                store.run(RequestKind::Get, fast).await.unwrap(),
                Place::Worker
            );
            assert_eq!(store.stats.snapshot().gets, u64::from(11 + on_pool) + 1);
            // One very slow read (a cold network file system) hands over at once.
            let very_slow = taking(17);
            assert_eq!(
                store.run(RequestKind::Get, very_slow).await.unwrap(),
                Place::Worker
            );
            assert!(!store.inline(), "a read of 17 budgets stayed on the worker");
        });
    }

    #[test]
    fn file_work_that_never_returns_cannot_take_the_last_worker() {
        on_two_workers(async {
            let store = Arc::new(LocalStore::new(std::env::temp_dir(), Arc::default(), 8));
            // A file system that stops answering: the work waits until the test opens the gate.
            let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
            let stalled: Vec<_> = (0..3)
                .map(|_| {
                    let (store, gate) = (Arc::clone(&store), Arc::clone(&gate));
                    tokio::spawn(async move {
                        store
                            .run(RequestKind::Get, move |place| {
                                let (open, opened) = &*gate;
                                let mut is_open = open.lock().unwrap();
                                while !*is_open {
                                    is_open = opened.wait(is_open).unwrap();
                                }
                                Ok(Ok(place))
                            })
                            .await
                    })
                })
                .collect();
            // Timers and unrelated file work still run while every stalled operation waits.
            let unrelated = tokio::time::timeout(Duration::from_secs(5), async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                store.run(RequestKind::Get, |place| Ok(Ok(place))).await
            });
            assert!(unrelated.await.expect("the runtime froze").is_ok());
            *gate.0.lock().unwrap() = true;
            gate.1.notify_all();
            let mut places = Vec::new();
            for task in stalled {
                places.push(task.await.unwrap().unwrap());
            }
            places.sort_by_key(|p| *p == Place::Worker);
            assert_eq!(places, [Place::Pool, Place::Pool, Place::Worker]);
        });
    }

    #[test]
    fn a_slot_given_back_goes_to_an_operation_waiting_for_one() {
        on_two_workers(async {
            let held = WorkerSlot::claim_within(Duration::ZERO).await.unwrap();
            assert!(WorkerSlot::claim_within(Duration::ZERO).await.is_none());
            let waiter = tokio::spawn(WorkerSlot::claim_within(Duration::from_secs(5)));
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(!waiter.is_finished(), "the waiter did not wait");
            drop(held);
            let got = waiter.await.unwrap();
            assert!(
                got.is_some(),
                "the slot given back did not reach the waiter"
            );
            assert_eq!(ON_WORKERS.load(Ordering::Acquire), 1);
            drop(got);
            assert_eq!(ON_WORKERS.load(Ordering::Acquire), 0);
        });
    }

    #[test]
    fn an_abandoned_wait_for_a_slot_takes_none() {
        on_two_workers(async {
            let held = WorkerSlot::claim_within(Duration::ZERO).await.unwrap();
            let abandoned = tokio::time::timeout(
                Duration::from_millis(20),
                WorkerSlot::claim_within(Duration::from_secs(5)),
            );
            assert!(abandoned.await.is_err(), "the wait ended early");
            // Given back while no one waits: the wake-up must not count as a slot.
            drop(held);
            assert_eq!(ON_WORKERS.load(Ordering::Acquire), 0);
            let again = WorkerSlot::claim_within(Duration::ZERO).await;
            assert!(again.is_some());
            assert!(
                WorkerSlot::claim_within(Duration::from_millis(5))
                    .await
                    .is_none()
            );
        });
    }

    #[test]
    fn a_fifo_is_never_opened_on_a_worker() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("c");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let whole = [ByteRange::FromStart(0, None)];
        assert!(read_ranges(&fifo, &whole, u64::MAX, Place::Worker).is_err());
        let file = dir.path().join("f");
        std::fs::write(&file, b"abc").unwrap();
        let got = read_ranges(&file, &whole, 2, Place::Worker)
            .unwrap()
            .unwrap();
        assert_eq!(got.unwrap(), (3, vec![Bytes::from_static(b"ab")]));
        let missing = read_ranges(&dir.path().join("m"), &whole, 2, Place::Worker);
        assert!(missing.unwrap().unwrap().is_none());
    }

    #[test]
    fn a_length_larger_than_memory_is_an_error_not_an_abort() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let mut file = File::open(&path).unwrap();
        // What a corrupt or sparse file can claim; no address space holds it.
        let err = read_exactly(&mut file, u64::MAX).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutOfMemory);
        assert!(
            err.to_string().contains(&format!("{} bytes", u64::MAX)),
            "{err}"
        );
        // A file shorter than the length asked for is an error, not a buffer padded with zeros.
        assert_eq!(
            read_exactly(&mut file, 5).unwrap_err().kind(),
            ErrorKind::UnexpectedEof
        );
    }

    #[cfg(unix)]
    #[test]
    fn listings_follow_links_to_directories_but_not_loops() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("real/sub")).unwrap();
        std::fs::create_dir_all(root.path().join("g/h")).unwrap();
        symlink(outside.path().join("real"), root.path().join("linked")).unwrap();
        symlink(root.path(), root.path().join("g/h/up")).unwrap();
        symlink(".", root.path().join("g/self")).unwrap();
        // Back to the directory the link was reached through, from below the link's target.
        symlink(
            root.path().join("linked"),
            outside.path().join("real/sub/back"),
        )
        .unwrap();
        symlink("nowhere", root.path().join("dangling")).unwrap();
        let links = AtomicBool::new(false);
        let list = |relative: &str| list_directory(root.path(), relative, &links).unwrap();
        assert_eq!(
            list(""),
            (
                vec!["dangling".to_owned()],
                vec!["g".to_owned(), "linked".to_owned()]
            )
        );
        assert_eq!(list("g/"), (vec![], vec!["h".to_owned()]));
        assert_eq!(list("g/h/"), (vec![], vec![]));
        assert_eq!(list("linked/"), (vec![], vec!["sub".to_owned()]));
        assert_eq!(list("linked/sub/"), (vec![], vec![]));
    }
}
