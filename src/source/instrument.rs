//! A read-only `ObjectStore` wrapper that counts what the reader asks of the store: requests by kind,
//! bytes, and the number in flight (now and at peak). The counts are how tests and benchmarks check
//! round trips against the physical minimum, and the refusal of writes is the read-only guarantee.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// Request counters shared by one opened source.
#[derive(Debug, Default)]
pub struct RequestStats {
    gets: AtomicU64,
    heads: AtomicU64,
    ranged_gets: AtomicU64,
    lists: AtomicU64,
    bytes: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
    round_trips: AtomicU64,
}

/// A snapshot of [`RequestStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct StatsSnapshot {
    /// Whole-object GETs.
    pub gets: u64,
    /// HEADs (size lookups).
    pub heads: u64,
    /// Ranged GETs (one per range; partial reads of shards).
    pub ranged_gets: u64,
    /// Listings (one per `list_with_delimiter` / `list` call).
    pub lists: u64,
    /// Bytes returned.
    pub bytes: u64,
    /// Requests in flight now.
    pub in_flight: u64,
    /// Most requests ever in flight at once.
    pub peak_in_flight: u64,
    /// Round trips as the client sees them: how often a request started while none was in flight. Requests
    /// that overlap count once, so this is the number of sequential waves of requests (a lower bound on
    /// the round trips a server sees: a wave that starts before the last one ends is not counted apart).
    pub round_trips: u64,
}

impl StatsSnapshot {
    /// Every request, whatever its kind.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.gets + self.heads + self.ranged_gets + self.lists
    }
}

impl RequestStats {
    /// Current values.
    #[must_use]
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            gets: self.gets.load(Ordering::Relaxed),
            heads: self.heads.load(Ordering::Relaxed),
            ranged_gets: self.ranged_gets.load(Ordering::Relaxed),
            lists: self.lists.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            peak_in_flight: self.peak_in_flight.load(Ordering::Relaxed),
            round_trips: self.round_trips.load(Ordering::Relaxed),
        }
    }

    /// Counts a request of `kind` as started; it counts as finished when the guard drops.
    pub(crate) fn begin(&self, kind: RequestKind) -> InFlight<'_> {
        let counter = match kind {
            RequestKind::Get => &self.gets,
            RequestKind::Head => &self.heads,
            RequestKind::RangedGet => &self.ranged_gets,
            RequestKind::List => &self.lists,
        };
        self.start(counter)
    }

    /// Adds bytes returned by a request.
    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    fn start(&self, counter: &AtomicU64) -> InFlight<'_> {
        self.enter(counter);
        InFlight(self)
    }

    /// Like [`Self::start`], for a request whose end is a stream's drop.
    fn start_stream(self: &Arc<Self>, counter: &AtomicU64) -> StreamInFlight {
        self.enter(counter);
        StreamInFlight(Arc::clone(self))
    }

    fn enter(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        if now == 1 {
            self.round_trips.fetch_add(1, Ordering::Relaxed);
        }
        self.peak_in_flight.fetch_max(now, Ordering::Relaxed);
    }
}

/// Kinds of store request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    Get,
    Head,
    RangedGet,
    List,
}

/// Decrements the in-flight gauge when a request ends, also when its future is dropped (cancelled).
pub(crate) struct InFlight<'a>(&'a RequestStats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A request in flight for as long as a stream that owns this lives (a paginated listing).
struct StreamInFlight(Arc<RequestStats>);

impl Drop for StreamInFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The counting, read-only wrapper.
#[derive(Debug)]
pub struct InstrumentedStore {
    inner: Arc<dyn ObjectStore>,
    stats: Arc<RequestStats>,
}

impl InstrumentedStore {
    /// Wraps `inner`, counting into `stats`.
    pub fn new(inner: Arc<dyn ObjectStore>, stats: Arc<RequestStats>) -> Self {
        Self { inner, stats }
    }
}

impl fmt::Display for InstrumentedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instrumented({})", self.inner)
    }
}

impl InstrumentedStore {
    /// Counts the bytes of a body as they arrive: the announced range may lie (an answer announcing 2^62
    /// bytes and sending a few), and a body read only in part counts only what was read. A local file's
    /// range is what will be read.
    fn count_bytes(&self, payload: GetResultPayload, range: &Range<u64>) -> GetResultPayload {
        match payload {
            GetResultPayload::Stream(stream) => {
                let stats = Arc::clone(&self.stats);
                GetResultPayload::Stream(
                    stream
                        .inspect_ok(move |bytes| stats.add_bytes(bytes.len() as u64))
                        .boxed(),
                )
            }
            file @ GetResultPayload::File(..) => {
                self.stats.add_bytes(range.end.saturating_sub(range.start));
                file
            }
        }
    }
}

fn read_only(operation: &str) -> object_store::Error {
    object_store::Error::NotSupported {
        source: format!("rustytree is read-only: {operation} refused").into(),
    }
}

#[async_trait::async_trait]
impl ObjectStore for InstrumentedStore {
    async fn put_opts(&self, _: &Path, _: PutPayload, _: PutOptions) -> Result<PutResult> {
        Err(read_only("put"))
    }

    async fn put_multipart_opts(
        &self,
        _: &Path,
        _: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        Err(read_only("multipart put"))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let head = options.head;
        let counter = if head {
            &self.stats.heads
        } else if options.range.is_some() {
            &self.stats.ranged_gets
        } else {
            &self.stats.gets
        };
        let _guard = self.stats.start(counter);
        let mut result = self.inner.get_opts(location, options).await?;
        if !head {
            result.payload = self.count_bytes(result.payload, &result.range);
        }
        Ok(result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let _guard = self.stats.start(&self.stats.ranged_gets);
        // Each further range is a request of its own on object storage (no multi-range GETs there).
        self.stats
            .ranged_gets
            .fetch_add(ranges.len().saturating_sub(1) as u64, Ordering::Relaxed);
        let out = self.inner.get_ranges(location, ranges).await?;
        let n: usize = out.iter().map(Bytes::len).sum();
        self.stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(out)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        locations.map(|_| Err(read_only("delete"))).boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        // The listing is in flight until its stream is dropped: a reader that stops after the first page
        // (the walk's subtree listing) ends it then.
        let guard = self.stats.start_stream(&self.stats.lists);
        self.inner
            .list(prefix)
            .map(move |item| {
                let _in_flight = &guard;
                item
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let _guard = self.stats.start(&self.stats.lists);
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, _: &Path, _: &Path, _: CopyOptions) -> Result<()> {
        Err(read_only("copy"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn counts_requests_and_refuses_writes() {
        let mem = InMemory::new();
        mem.put(&Path::from("a/zarr.json"), PutPayload::from_static(b"{}"))
            .await
            .unwrap();
        let stats = Arc::new(RequestStats::default());
        let store = InstrumentedStore::new(Arc::new(mem), Arc::clone(&stats));
        // Bytes count as the body is read.
        let body = store.get(&Path::from("a/zarr.json")).await.unwrap();
        assert_eq!(stats.snapshot().bytes, 0);
        body.bytes().await.unwrap();
        store.head(&Path::from("a/zarr.json")).await.unwrap();
        store
            .list_with_delimiter(Some(&Path::from("a")))
            .await
            .unwrap();
        assert!(
            store
                .put(&Path::from("b"), PutPayload::from_static(b"x"))
                .await
                .is_err()
        );
        let s = stats.snapshot();
        assert_eq!(
            (
                s.gets,
                s.heads,
                s.lists,
                s.bytes,
                s.in_flight,
                s.peak_in_flight
            ),
            (1, 1, 1, 2, 0, 1)
        );
    }
}
