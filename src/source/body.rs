//! Reading the body of a GET answer into memory with allocations bounded by what has arrived.
//!
//! `GetResult::bytes()` reserves the announced length up front: an answer announcing 2^62 bytes and
//! sending a few aborted the process on the failed allocation. Here the pieces are kept as they arrive and
//! joined once at the end, in one fallible allocation of exactly the size received; a body longer or
//! shorter than its announced range, or one announcing more than the memory this process may use, is an
//! error naming the key.

use std::sync::LazyLock;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::GetResult;

/// The most memory one body may take: the machine's physical memory, or the container's limit (the
/// bound reads use for their outputs); unbounded where the platform does not say.
#[must_use]
pub fn memory_bound() -> u64 {
    static BOUND: LazyLock<u64> =
        LazyLock::new(|| crate::sys::physical_memory().unwrap_or(u64::MAX));
    *BOUND
}

fn body_error(location: &str, what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "rustytree",
        source: format!("reading {location}: {what}").into(),
    }
}

/// The body of `result` as a stream that fails once more bytes arrive than its range announces, and
/// when it ends with fewer.
#[must_use]
pub fn checked_stream(result: GetResult) -> BoxStream<'static, object_store::Result<Bytes>> {
    let expected = result.range.end.saturating_sub(result.range.start);
    let location = result.meta.location.to_string();
    if expected > memory_bound() {
        let what = format!(
            "the answer announces {expected} bytes, more than the {} bytes of memory this process \
             may use",
            memory_bound()
        );
        return futures::stream::once(async move { Err(body_error(&location, &what)) }).boxed();
    }
    futures::stream::try_unfold(
        (result.into_stream(), 0u64, location),
        move |(mut inner, arrived, location)| async move {
            match inner.try_next().await? {
                Some(chunk) => {
                    let arrived = arrived + chunk.len() as u64;
                    if arrived > expected {
                        let what =
                            format!("the body is longer than the {expected} bytes announced");
                        return Err(body_error(&location, &what));
                    }
                    Ok(Some((chunk, (inner, arrived, location))))
                }
                None if arrived < expected => {
                    let what =
                        format!("the body ended after {arrived} of the {expected} bytes announced");
                    Err(body_error(&location, &what))
                }
                None => Ok(None),
            }
        },
    )
    .boxed()
}

/// The whole body of `result` (see the module documentation).
///
/// # Errors
/// The store's errors while reading; a body longer or shorter than announced, or too large for memory.
pub async fn collect(result: GetResult) -> object_store::Result<Bytes> {
    let location = result.meta.location.to_string();
    let chunks: Vec<Bytes> = checked_stream(result).try_collect().await?;
    join_pieces(chunks).map_err(|total| {
        body_error(
            &location,
            &format!("cannot allocate {total} bytes for the body"),
        )
    })
}

/// `pieces` as one buffer, joined in one fallible allocation (a single piece is handed on as it is).
///
/// # Errors
/// The total length, when that much memory cannot be had.
pub fn join_pieces(pieces: Vec<Bytes>) -> Result<Bytes, u64> {
    if pieces.len() <= 1 {
        return Ok(pieces.into_iter().next().unwrap_or_default());
    }
    let total: usize = pieces.iter().map(Bytes::len).sum();
    let mut joined = Vec::new();
    joined.try_reserve_exact(total).map_err(|_| total as u64)?;
    for piece in pieces {
        joined.extend_from_slice(&piece);
    }
    Ok(joined.into())
}
