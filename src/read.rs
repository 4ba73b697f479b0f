//! Chunk reads: a selection becomes one task per intersecting stored chunk (or shard), each fetching and
//! decoding on its own tokio task so decompression and CF decoding run in parallel, then the pieces are
//! copied into one C-ordered output buffer.

pub mod direct;
mod fetch;
pub mod plan;
pub mod shard;

pub use plan::check_chunk_shape;

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use zarrs::array::Array;
use zarrs::storage::AsyncReadableStorageTraits;

use crate::cf::VariablePlan;
use crate::dtype::Dtype;
use crate::error::{Result, RtError};
use crate::typed::{BlockTarget, TypedData, copy_block, js_limits};
use crate::with_typed;
use fetch::IntoRun;
use plan::{ChunkRead, Place, Run, SelectionPlan, plan_chunk_reads, plan_selection};

/// A zarrs array over any async readable store.
pub type ZArray = Array<dyn AsyncReadableStorageTraits>;

/// Everything a read needs about one variable.
#[derive(Clone)]
pub struct ReadTarget {
    /// The zarrs array (codec pipeline and store), or why it cannot be read (an unsupported codec).
    pub array: std::result::Result<Arc<ZArray>, RtError>,
    /// Store path, for messages.
    pub path: String,
    /// Stored element type.
    pub dtype: Dtype,
    /// Array shape.
    pub shape: Vec<u64>,
    /// Shape of one stored chunk (the shard shape for sharded arrays).
    pub storage_chunks: Vec<u64>,
    /// Whether chunks are shards, which zarrs reads partially by byte range.
    pub sharded: bool,
    /// The compressor [`direct`] decodes whole chunks with instead of zarrs (`bytes` + `zstd`, `blosc`
    /// or `gzip`, unsharded).
    pub direct: Option<direct::Compressor>,
    /// How to CF-decode the values.
    pub plan: Arc<VariablePlan>,
}

/// Reads `[start, stop)` per dimension, decoded, as a C-ordered buffer of shape `stop - start`.
///
/// # Errors
/// `ERR_INVALID_SELECTION` for a range outside the array; `ERR_STORAGE` when the store fails;
/// `ERR_DECODE` for chunks that do not decode; `ERR_CF_DECODE` for undecodable times.
pub async fn read_region(
    target: &ReadTarget,
    start: &[u64],
    stop: &[u64],
    limit: &Arc<Semaphore>,
) -> Result<TypedData> {
    let selection = size_region(target, start, stop)?;
    let (out_shape, total) = (&selection.out_shape, selection.total);
    let n = usize::try_from(total).unwrap_or(usize::MAX);
    // Whole chunks that `direct` decodes land straight in the output when they are one contiguous run of
    // it (chunked along leading dimensions only): no buffer per chunk and no copy, which for zstd and
    // blosc is a large share of a read.
    let compressor = fetch::direct_compressor(target).filter(|_| target.plan.is_identity());
    let chunks = plan_chunk_reads(
        &selection,
        &target.storage_chunks,
        start,
        stop,
        compressor.is_some(),
    );
    let shared = match compressor {
        Some(_) if chunks.iter().any(|c| c.run.is_some()) => Some(SharedOutput::new(
            direct::zeroed(target.dtype, n).ok_or_else(|| {
                RtError::InvalidSelection(format!(
                    "array {:?}: a selection of {total} elements does not fit in memory",
                    target.path
                ))
            })?,
        )),
        _ => None,
    };
    let mut tasks = JoinSet::new();
    for ChunkRead { piece, run } in chunks {
        let into = match (&shared, compressor, run) {
            (Some(out), Some(c), Some(Run { at, len })) => Some((Arc::clone(out), c, at, len)),
            _ => None,
        };
        let target = target.clone();
        let limit = Arc::clone(limit);
        tasks.spawn(async move {
            let permit = limit
                .acquire_owned()
                .await
                .map_err(|_| RtError::Aborted("reader closed".into()))?;
            let raw = if let Some((out, compressor, at, len)) = into {
                // SAFETY: this task's run is its chunk's place in the output; the plan gives every
                // chunk a place of its own, so no other task's run overlaps it.
                let run = unsafe { out.run(at, len) }.ok_or_else(|| {
                    RtError::Internal(format!(
                        "array {:?}: a chunk's place lies outside the output",
                        target.path
                    ))
                })?;
                let outcome =
                    fetch::decode_into_run(&target, compressor, &piece.indices, run).await?;
                if outcome == IntoRun::Decoded {
                    return Ok(Done::Placed(len));
                }
                fetch::zarrs_piece(&target, &piece).await?
            } else {
                fetch::fetch_piece(&target, &piece).await?
            };
            drop(permit);
            let decoded = target.plan.apply(raw)?;
            Ok::<_, RtError>(Done::Piece(decoded, piece.place))
        });
    }
    if selection.chunk_count == 1 {
        // One chunk covers the whole selection: its decoded piece is the output, as it is (no output
        // buffer to allocate and fill, no copy).
        if let Some(joined) = tasks.join_next().await {
            return match joined.map_err(|e| join_error(&target.path, &e))?? {
                Done::Piece(piece, _) => Ok(piece),
                Done::Placed(_) => Err(RtError::Internal(format!(
                    "a one-chunk read of {:?} had no output to decode into",
                    target.path
                ))),
            };
        }
    }
    let mut out: Option<TypedData> = None;
    let mut written = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(|e| join_error(&target.path, &e))?? {
            Done::Placed(len) => written += len,
            Done::Piece(piece, Place { shape, offset }) => {
                if let Some(shared) = &shared {
                    // Row by row into the shared output, beside the tasks still writing their own runs.
                    written += shared.put(&piece, out_shape, &shape, &offset, &target.path)?;
                } else {
                    let buf = match &mut out {
                        Some(buf) => buf,
                        None => out.insert(alloc_like(&piece, n)?),
                    };
                    place(buf, n, out_shape, &piece, &shape, &offset)?;
                    written += piece.len();
                }
            }
        }
    }
    if let Some(shared) = shared {
        // Every task has been joined, so this is the last reference.
        let buf = Arc::try_unwrap(shared)
            .map_err(|_| {
                RtError::Internal(format!("a read of {:?} outlived its tasks", target.path))
            })?
            .into_inner();
        out = Some(buf);
    }
    match out {
        Some(buf) => finish(buf, n, written),
        // An empty selection: decode nothing, but still hand back the right (empty) buffer type.
        None => target.plan.apply(empty_of(target.dtype)),
    }
}

/// What a chunk task hands back: how many elements it decoded straight into the shared output, or a
/// decoded piece for the reader to place (its shape and where it lands).
enum Done {
    Placed(usize),
    Piece(TypedData, Place),
}

/// A read's output while its chunk tasks decode into it, each into its own run of elements.
///
/// The buffer is initialised (zero-filled) and its heap block never moves while shared. Tasks write only
/// through [`SharedOutput::run`], to runs that `chunks_overlapping` makes disjoint, and the reader copies
/// the other chunks' pieces in row by row as they arrive (their places are disjoint from every run too);
/// the reader takes the buffer back after joining every task. Shared by `Arc`, so a cancelled read frees
/// it only after its last task has stopped writing.
struct SharedOutput {
    data: TypedData,
    base: *mut u8,
    item_size: usize,
    elements: usize,
}

// SAFETY: the raw pointer is into `data`'s heap block, owned by this value; concurrent writers each use a
// disjoint run of it (see `run`), and `data` itself is only touched once no writer is left.
unsafe impl Send for SharedOutput {}
// SAFETY: as for `Send`.
unsafe impl Sync for SharedOutput {}

impl SharedOutput {
    fn new(mut data: TypedData) -> Arc<Self> {
        let elements = data.len();
        let (base, item_size) =
            with_typed!(&mut data, v => (v.as_mut_ptr().cast::<u8>(), item_of(v)));
        Arc::new(Self {
            data,
            base,
            item_size,
            elements,
        })
    }

    /// Elements `[at, at + len)` as bytes.
    ///
    /// # Safety
    /// No other live slice from `run` may overlap this one.
    #[allow(clippy::mut_from_ref)]
    unsafe fn run(&self, at: usize, len: usize) -> Option<&mut [u8]> {
        let end = at.checked_add(len)?;
        if end > self.elements {
            return None;
        }
        // SAFETY: in bounds (checked above) of the initialised buffer; exclusive per the caller's promise.
        Some(unsafe {
            std::slice::from_raw_parts_mut(self.base.add(at * self.item_size), len * self.item_size)
        })
    }

    /// Copies a decoded piece of shape `shape` into its place at `offset` with [`copy_block`], each row
    /// through [`SharedOutput::run`]; returns the elements written. The rows are the piece's own place in
    /// the output, which no chunk task's run overlaps (`chunks_overlapping` partitions the output).
    fn put(
        &self,
        piece: &TypedData,
        out_shape: &[u64],
        shape: &[u64],
        offset: &[u64],
        path: &str,
    ) -> Result<usize> {
        let expected: u64 = shape.iter().product();
        if std::mem::discriminant(piece) != std::mem::discriminant(&self.data)
            || piece.len() as u64 != expected
        {
            return Err(RtError::Internal(format!(
                "array {path:?}: a chunk decoded to {} elements of another type or number than its place",
                piece.len()
            )));
        }
        let inside = shape.len() == out_shape.len()
            && offset.len() == out_shape.len()
            && (0..shape.len()).all(|d| {
                offset[d]
                    .checked_add(shape[d])
                    .is_some_and(|end| end <= out_shape[d])
            });
        if !inside {
            return Err(RtError::Internal(format!(
                "array {path:?}: a chunk's place lies outside the output"
            )));
        }
        let rows = &mut SharedRows(self);
        macro_rules! copy {
            ($($variant:ident),*) => {
                match piece {
                    $(TypedData::$variant(p) => copy_block(rows, out_shape, p, shape, offset),)*
                    // Never shared: `direct` decodes numbers only (checked above against the output).
                    TypedData::Str(_) => {}
                }
            };
        }
        copy!(I8, I16, I32, I64, U8, U16, U32, U64, F32, F64);
        Ok(piece.len())
    }

    fn into_inner(self) -> TypedData {
        self.data
    }
}

/// [`copy_block`]'s rows into a [`SharedOutput`], for [`SharedOutput::put`].
struct SharedRows<'a>(&'a SharedOutput);

impl<T: bytemuck::Pod> BlockTarget<T> for SharedRows<'_> {
    fn put_row(&mut self, at: usize, row: &[T]) {
        // SAFETY: a row of the place of a piece `put` checked: of the output's type and inside it, where
        // no other live run is (see `put`).
        let target = unsafe { self.0.run(at, row.len()) }
            .expect("rows of a piece checked by `put` lie inside the output");
        target.copy_from_slice(bytemuck::cast_slice(row));
    }
}

fn item_of<T>(_: &[T]) -> usize {
    std::mem::size_of::<T>()
}

/// Checks a selection of `target` and sizes it ([`plan_selection`]), then refuses what JavaScript or
/// memory cannot hold.
fn size_region(target: &ReadTarget, start: &[u64], stop: &[u64]) -> Result<SelectionPlan> {
    let plan = plan_selection(
        &target.path,
        &target.shape,
        &target.storage_chunks,
        start,
        stop,
    )?;
    if let Err(e) = &target.array {
        return Err(e.clone());
    }
    let total = plan.total;
    // What JavaScript cannot hold is refused before anything is fetched: past V8's limits the hand-over
    // is not an exception but a fatal error.
    if let Some(why) = js_refusal(target, total) {
        return Err(RtError::InvalidSelection(format!(
            "array {:?}: {why}",
            target.path
        )));
    }
    // Decoding allocates before anything comes back; check the size first so an impossible read is an
    // error, not an allocation failure that aborts the process or pages that exhaust the machine.
    let bytes = total.saturating_mul(memory_per_element(target));
    if !crate::sys::fits_in_memory(bytes) {
        return Err(RtError::InvalidSelection(format!(
            "array {:?}: a selection of {total} elements ({bytes} bytes in memory) does not fit in memory",
            target.path
        )));
    }
    Ok(plan)
}

/// Bytes of memory one element of a read of `target` takes at its peak: the stored values as read, and the
/// CF-decoded ones beside them while the plan converts (at most 8 bytes each).
fn memory_per_element(target: &ReadTarget) -> u64 {
    let stored = target.dtype.buffer_item_bytes();
    if target.plan.is_identity() {
        stored
    } else {
        stored + 8
    }
}

/// Why a read of `total` elements of `target` cannot reach JavaScript (see [`js_limits`]), if it cannot.
/// Strings are counted as empty here (their characters are known only once decoded, and are checked
/// again at the hand-over); numbers at the size of the decoded type.
fn js_refusal(target: &ReadTarget, total: u64) -> Option<String> {
    match target.dtype {
        Dtype::String | Dtype::FixedUtf32 => {
            js_limits::strings_refused(total, total.saturating_mul(js_limits::STRING_SLOT_BYTES))
        }
        _ => js_limits::numbers_refused(total, decoded_item_bytes(target)),
    }
}

/// Bytes per element of the typed array a read of `target` hands to JavaScript.
fn decoded_item_bytes(target: &ReadTarget) -> u64 {
    if target.plan.is_identity() {
        return target.dtype.buffer_item_bytes();
    }
    match target.plan.dtype.as_str() {
        "bool" | "int8" | "uint8" => 1,
        "int16" | "uint16" => 2,
        "int32" | "uint32" | "float16" | "float32" => 4,
        _ => 8,
    }
}

/// The assembled output: numeric buffers get their length once every element has been written.
fn finish(mut out: TypedData, n: usize, written: usize) -> Result<TypedData> {
    // The pieces partition the selection (`chunks_overlapping`) and `place` checks each piece's size, so
    // this holds whenever every chunk arrived; checked anyway, since the lengths below depend on it.
    if written != n {
        return Err(RtError::Internal(format!(
            "a read assembled {written} of {n} elements"
        )));
    }
    macro_rules! set_len {
        ($($variant:ident),*) => {
            match &mut out {
                // SAFETY: `alloc_like` reserved `n` elements and the pieces wrote all `n` of them.
                $(TypedData::$variant(v) if v.is_empty() && n > 0 => unsafe { v.set_len(n) },)*
                _ => {}
            }
        };
    }
    set_len!(I8, I16, I32, I64, U8, U16, U32, U64, F32, F64);
    Ok(out)
}

fn join_error(path: &str, e: &tokio::task::JoinError) -> RtError {
    if e.is_panic() {
        RtError::Internal(format!(
            "reading {path:?} panicked; this is a bug in rustytree"
        ))
    } else {
        RtError::Aborted(format!("reading {path:?} was cancelled"))
    }
}

/// The output buffer of a read: numeric buffers are reserved but not initialised (the pieces write every
/// element once: no zero fill, which cost about 4% of a local read), strings are filled with empty ones.
/// A selection too large for memory is an error, not an abort.
fn alloc_like(piece: &TypedData, n: usize) -> Result<TypedData> {
    fn reserved<T>(n: usize) -> Result<Vec<T>> {
        let mut v = Vec::new();
        v.try_reserve_exact(n).map_err(|_| {
            RtError::InvalidSelection(format!(
                "a selection of {n} elements does not fit in memory"
            ))
        })?;
        Ok(v)
    }
    Ok(match piece {
        TypedData::I8(_) => TypedData::I8(reserved(n)?),
        TypedData::I16(_) => TypedData::I16(reserved(n)?),
        TypedData::I32(_) => TypedData::I32(reserved(n)?),
        TypedData::I64(_) => TypedData::I64(reserved(n)?),
        TypedData::U8(_) => TypedData::U8(reserved(n)?),
        TypedData::U16(_) => TypedData::U16(reserved(n)?),
        TypedData::U32(_) => TypedData::U32(reserved(n)?),
        TypedData::U64(_) => TypedData::U64(reserved(n)?),
        TypedData::F32(_) => TypedData::F32(reserved(n)?),
        TypedData::F64(_) => TypedData::F64(reserved(n)?),
        TypedData::Str(_) => {
            let mut v = reserved(n)?;
            v.resize(n, String::new());
            TypedData::Str(v)
        }
    })
}

fn empty_of(dtype: Dtype) -> TypedData {
    match dtype {
        Dtype::Bool | Dtype::UInt8 => TypedData::U8(Vec::new()),
        Dtype::Int8 => TypedData::I8(Vec::new()),
        Dtype::Int16 => TypedData::I16(Vec::new()),
        Dtype::Int32 => TypedData::I32(Vec::new()),
        Dtype::Int64 | Dtype::DateTime64 { .. } | Dtype::TimeDelta64 { .. } => {
            TypedData::I64(Vec::new())
        }
        Dtype::UInt16 => TypedData::U16(Vec::new()),
        Dtype::UInt32 => TypedData::U32(Vec::new()),
        Dtype::UInt64 => TypedData::U64(Vec::new()),
        Dtype::Float16 | Dtype::Float32 => TypedData::F32(Vec::new()),
        Dtype::Float64 => TypedData::F64(Vec::new()),
        Dtype::String | Dtype::FixedUtf32 | Dtype::Unsupported => TypedData::Str(Vec::new()),
    }
}

fn place(
    out: &mut TypedData,
    n: usize,
    out_shape: &[u64],
    piece: &TypedData,
    shape: &[u64],
    offset: &[u64],
) -> Result<()> {
    let expected: u64 = shape.iter().product();
    if piece.len() as u64 != expected {
        return Err(RtError::Decode(format!(
            "a chunk decoded to {} elements, expected {expected}",
            piece.len()
        )));
    }
    macro_rules! put {
        ($variant:ident) => {
            if let (TypedData::$variant(o), TypedData::$variant(p)) = (&mut *out, piece) {
                // Into the reserved, not yet initialised elements (see `alloc_like`).
                copy_block(
                    &mut o.spare_capacity_mut()[..n],
                    out_shape,
                    p,
                    shape,
                    offset,
                );
                return Ok(());
            }
        };
    }
    put!(I8);
    put!(I16);
    put!(I32);
    put!(I64);
    put!(U8);
    put!(U16);
    put!(U32);
    put!(U64);
    put!(F32);
    put!(F64);
    if let (TypedData::Str(o), TypedData::Str(p)) = (&mut *out, piece) {
        copy_block(o.as_mut_slice(), out_shape, p, shape, offset);
        return Ok(());
    }
    Err(RtError::Internal(format!(
        "chunk pieces of one read decoded to different types ({} elements)",
        with_typed!(piece, v => v.len())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_output_hands_out_runs_inside_the_buffer_only() {
        let out = SharedOutput::new(TypedData::F32(vec![0.0; 6]));
        // SAFETY: one run at a time.
        let run = unsafe { out.run(2, 3) }.unwrap();
        run.copy_from_slice(bytemuck::cast_slice(&[1.0f32, 2.0, 3.0]));
        assert!(unsafe { out.run(4, 3) }.is_none());
        assert!(unsafe { out.run(usize::MAX, 2) }.is_none());
        let data = Arc::try_unwrap(out).ok().unwrap().into_inner();
        assert_eq!(data, TypedData::F32(vec![0.0, 0.0, 1.0, 2.0, 3.0, 0.0]));
    }

    #[test]
    fn shared_output_places_pieces_row_by_row() {
        // A 2 x 2 piece at (1, 1) of a 3 x 4 output.
        let out = SharedOutput::new(TypedData::I32(vec![0; 12]));
        let piece = TypedData::I32(vec![1, 2, 3, 4]);
        assert_eq!(out.put(&piece, &[3, 4], &[2, 2], &[1, 1], "a").unwrap(), 4);
        let wrong_type = TypedData::F64(vec![0.0; 4]);
        assert!(
            out.put(&wrong_type, &[3, 4], &[2, 2], &[1, 1], "a")
                .is_err()
        );
        let outside = TypedData::I32(vec![0; 4]);
        assert!(out.put(&outside, &[3, 4], &[2, 2], &[2, 3], "a").is_err());
        let data = Arc::try_unwrap(out).ok().unwrap().into_inner();
        assert_eq!(
            data,
            TypedData::I32(vec![0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0])
        );
    }
}
