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

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use tokio::sync::Semaphore;
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    AsyncListableStorageTraits, AsyncMaybeBytesIterator, AsyncReadableStorageTraits, Bytes,
    MaybeBytes, StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix,
};

use super::instrument::{RequestKind, RequestStats};
use super::sizes::KnownSizes;

/// The local directory store.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    stats: Arc<RequestStats>,
    limit: Arc<Semaphore>,
    /// How slow file work has been lately, as [`LocalStore::record`] scores it, at most [`SLOWNESS_CAP`];
    /// work runs on the calling worker below [`HAND_OVER_AT`] (see the module docs).
    slowness: AtomicU32,
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

impl LocalStore {
    /// A store rooted at `root` (an existing directory).
    #[must_use]
    pub fn new(root: PathBuf, stats: Arc<RequestStats>, max_concurrency: usize) -> Self {
        Self {
            root,
            stats,
            limit: Arc::new(Semaphore::new(max_concurrency.max(1))),
            slowness: AtomicU32::new(0),
            sizes: KnownSizes::default(),
        }
    }

    fn path_of(&self, relative: &str) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(relative.split('/').filter(|s| !s.is_empty()));
        path
    }

    /// Runs blocking file work under the request cap, counted as one request of `kind`.
    async fn run<T: Send + 'static>(
        &self,
        kind: RequestKind,
        work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> Result<T, StorageError> {
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|e| StorageError::Other(e.to_string()))?;
        let _guard = self.stats.begin(kind);
        let timed = move || {
            let started = Instant::now();
            let result = work();
            (result, started.elapsed())
        };
        let (result, took) = if self.inline() {
            timed()
        } else {
            tokio::task::spawn_blocking(timed)
                .await
                .map_err(|e| StorageError::Other(format!("file task failed: {e}")))?
        };
        self.record(took);
        result.map_err(|e| StorageError::IOError(Arc::new(e)))
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

/// `ranges` of the file at `path`, and the file's size; `None` when there is no such file.
fn read_ranges(path: &PathBuf, ranges: &[ByteRange]) -> std::io::Result<Option<(u64, Vec<Bytes>)>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let size = file.metadata()?.len();
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let (start, end) = match *range {
            ByteRange::FromStart(offset, None) => (offset, size),
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
        let mut buf = vec![0u8; (end - start) as usize];
        file.read_exact(&mut buf)?;
        out.push(Bytes::from(buf));
    }
    Ok(Some((size, out)))
}

#[async_trait::async_trait]
impl AsyncReadableStorageTraits for LocalStore {
    async fn get(&self, key: &StoreKey) -> Result<MaybeBytes, StorageError> {
        let path = self.path_of(key.as_str());
        let kind = RequestKind::Get;
        let got = self
            .run(kind, move || {
                read_ranges(&path, &[ByteRange::FromStart(0, None)])
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
            .run(RequestKind::RangedGet, move || read_ranges(&file, &ranges))
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
        self.run(RequestKind::Head, move || match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

/// Lists one directory: (file names, subdirectory names).
fn list_directory(path: &PathBuf) -> std::io::Result<(Vec<String>, Vec<String>)> {
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry?;
        // Names that are not UTF-8 cannot be Zarr node names; skip them.
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if entry.file_type()?.is_dir() {
            dirs.push(name);
        } else {
            files.push(name);
        }
    }
    files.sort();
    dirs.sort();
    Ok((files, dirs))
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
            let path = self.path_of(&dir);
            let (files, dirs) = self
                .run(RequestKind::List, move || list_directory(&path))
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
        let path = self.path_of(prefix.as_str());
        let (files, dirs) = self
            .run(RequestKind::List, move || list_directory(&path))
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

    #[tokio::test]
    async fn slow_file_work_moves_the_store_to_the_blocking_pool_and_back() {
        let store = LocalStore::new(std::env::temp_dir(), Arc::default(), 4);
        let here = std::thread::current().id();
        let thread = || Ok(std::thread::current().id());
        let slow = || {
            std::thread::sleep(INLINE_READ_BUDGET * 2);
            Ok(std::thread::current().id())
        };
        assert_eq!(store.run(RequestKind::Get, thread).await.unwrap(), here);
        // One slow read among fast ones (a descheduled read on a busy machine) does not move the store.
        store.run(RequestKind::Get, slow).await.unwrap();
        assert!(store.inline(), "one slow read handed over");
        for _ in 0..4 {
            store.run(RequestKind::Get, thread).await.unwrap();
        }
        // A run of slow reads does; from then on the work runs on a blocking-pool thread.
        for _ in 0..4 {
            assert_eq!(store.run(RequestKind::Get, slow).await.unwrap(), here);
        }
        assert!(
            !store.inline(),
            "four slow reads in a row stayed on the worker"
        );
        assert_ne!(store.run(RequestKind::Get, thread).await.unwrap(), here);
        // Fast reads on the pool bring it back.
        let mut fast = 0;
        while !store.inline() {
            store.run(RequestKind::Get, thread).await.unwrap();
            fast += 1;
            assert!(fast <= SLOWNESS_CAP, "the store never came back");
        }
        assert_eq!(store.run(RequestKind::Get, thread).await.unwrap(), here);
        assert_eq!(store.stats.snapshot().gets, u64::from(11 + fast) + 1);
        // One very slow read (a cold network file system) hands over at once.
        let very_slow = || {
            std::thread::sleep(INLINE_READ_BUDGET * 17);
            Ok(std::thread::current().id())
        };
        assert_eq!(store.run(RequestKind::Get, very_slow).await.unwrap(), here);
        assert!(!store.inline(), "a read of 17 budgets stayed on the worker");
    }
}
