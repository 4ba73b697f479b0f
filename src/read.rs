//! Chunk reads: a selection becomes one task per intersecting stored chunk (or shard), each fetching and
//! decoding on its own tokio task so decompression and CF decoding run in parallel, and the pieces become
//! one C-ordered output buffer.
//!
//! [`read_region`] checks and sizes the selection (here: what JavaScript and memory can hold), asks
//! [`plan`] which chunks it needs and which of them decode straight into a run of the output, starts one
//! task per chunk that fetches and decodes it ([`fetch`]: zarrs, or [`direct`] for the commonest codec
//! chains), CF-decodes the values, and hands each piece to [`assemble`], which owns the output buffer and
//! all the unsafe code of the path.

mod assemble;
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
use crate::typed::{TypedData, js_limits};
use assemble::{Assembly, FilledRun, Piece, RunSlot};
use fetch::IntoRun;
use plan::{ChunkPiece, ChunkRead, SelectionPlan, plan_chunk_reads, plan_selection};

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
    if chunks.is_empty() {
        // An empty selection: decode nothing, but still hand back the right (empty) buffer type.
        return target.plan.apply(empty_of(target.dtype));
    }
    let elements = usize::try_from(selection.total).unwrap_or(usize::MAX);
    let mut assembly = Assembly::new(&target.path, &selection.out_shape, elements);
    if chunks.iter().any(|c| c.run.is_some()) {
        assembly.prepare_runs(target.dtype)?;
    }
    let mut tasks = JoinSet::new();
    for ChunkRead { piece, run } in chunks {
        let into = match (run, compressor) {
            (Some(run), Some(compressor)) => Some(DirectRun {
                slot: assembly.run_slot(run)?,
                compressor,
            }),
            _ => None,
        };
        let target = target.clone();
        let limit = Arc::clone(limit);
        tasks.spawn(crate::tasks::counted(async move {
            read_chunk(&target, piece, into, &limit).await
        }));
    }
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(|e| join_error(&target.path, &e))?? {
            Arrived::Run(filled) => assembly.add_run(filled),
            // Row by row into the output, beside the tasks still writing their own runs.
            Arrived::Piece(piece) => assembly.add_piece(piece)?,
        }
    }
    assembly.finish()
}

/// A whole chunk decoded straight into its run of the output.
struct DirectRun {
    slot: RunSlot,
    compressor: direct::Compressor,
}

/// What a chunk task hands back: its run of the output filled, or its decoded piece for the reader to
/// place.
enum Arrived {
    Run(FilledRun),
    Piece(Piece),
}

/// One chunk task: fetches and decodes `piece` (straight into its run, with `into`), holding one of the
/// read's `limit` permits while it fetches, then CF-decodes it.
async fn read_chunk(
    target: &ReadTarget,
    piece: ChunkPiece,
    into: Option<DirectRun>,
    limit: &Semaphore,
) -> Result<Arrived> {
    let permit = limit
        .acquire()
        .await
        .map_err(|_| RtError::Aborted("reader closed".into()))?;
    let raw = match into {
        None => fetch::fetch_piece(target, &piece).await?,
        Some(DirectRun {
            mut slot,
            compressor,
        }) => {
            let outcome =
                fetch::decode_into_run(target, compressor, &piece.indices, slot.bytes()).await?;
            if outcome == IntoRun::Decoded {
                return Ok(Arrived::Run(slot.filled()));
            }
            // Never written: the fill value fills the run (no second request).
            let fill = fetch::fill_piece(target, &piece).await?;
            drop(permit);
            let decoded = target.plan.apply(fill)?;
            return Ok(Arrived::Run(slot.write(&decoded, &target.path)?));
        }
    };
    drop(permit);
    let data = target.plan.apply(raw)?;
    Ok(Arrived::Piece(Piece {
        data,
        place: piece.place,
    }))
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

fn join_error(path: &str, e: &tokio::task::JoinError) -> RtError {
    if e.is_panic() {
        RtError::Internal(format!(
            "reading {path:?} panicked; this is a bug in rustytree"
        ))
    } else {
        RtError::Aborted(format!("reading {path:?} was cancelled"))
    }
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
