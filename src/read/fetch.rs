//! Fetching and decoding one stored chunk's part of a read, through zarrs or through [`super::direct`]
//! (whole chunks of the commonest codec chains, decompressed straight into their buffer), with the checks
//! zarrs does not make on untrusted bytes (a shard's index, a `vlen-utf8` chunk's lengths). The values
//! come back as stored (float16 widened, times in nanoseconds); CF decoding follows in the caller.
//!
//! zarrs fetches a chunk subset with byte ranges where the codecs allow it (sharded arrays read only the
//! inner chunks they need), and returns the fill value for chunks that were never written.

use std::borrow::Cow;

use zarrs::array::{ArrayBytes, ArrayError, ArraySubset, CodecError, CodecOptions, FromArrayBytes};
use zarrs_codec::ArrayToBytesCodecTraits;

use super::plan::ChunkPiece;
use super::{ReadTarget, ZArray, direct, shard};
use crate::dtype::Dtype;
use crate::error::{Result, RtError};
use crate::typed::TypedData;

/// Chunks above this many decoded bytes are never fetched whole just to extract a piece.
const HUGE_CHUNK_BYTES: u64 = 1 << 30;

/// What decoding a whole chunk straight into its output run came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IntoRun {
    /// The chunk's values fill the run.
    Decoded,
    /// The chunk was never written: the run is untouched, and the chunk's values are its fill value
    /// ([`fill_piece`]).
    NeverWritten,
}

/// One stored chunk's part of a read, `piece`, with the values as stored (CF decoding follows).
pub(super) async fn fetch_piece(target: &ReadTarget, piece: &ChunkPiece) -> Result<TypedData> {
    let ChunkPiece {
        indices, ranges, ..
    } = piece;
    let whole = piece.is_whole(&target.storage_chunks);
    let chunk_elements = chunk_elements(target);
    let huge = is_huge(target);
    if let Some(compressor) = direct_compressor(target) {
        let Some(chunk) = fetch_direct(target, compressor, indices, chunk_elements).await? else {
            // Never written: its fill value, without asking the store a second time.
            return fill_piece(target, piece).await;
        };
        return Ok(if whole {
            chunk
        } else {
            chunk.extract(&target.storage_chunks, ranges)
        });
    }
    Ok(if target.sharded || whole || huge {
        // Shards: zarrs fetches only the inner chunks the subset needs, by byte range.
        zarrs_piece(target, piece).await?
    } else {
        // A compressed chunk must be fetched whole anyway: one GET, then cut the subset out
        // (zarrs' partial path would add a HEAD and a ranged GET for the same bytes).
        let full: Vec<_> = target.storage_chunks.iter().map(|&c| 0..c).collect();
        let subset = ArraySubset::new_with_ranges(&full);
        fetch_chunk_subset(target, indices, &subset)
            .await?
            .extract(&target.storage_chunks, ranges)
    })
}

/// `piece` through zarrs (after our checks), which fetches only what the subset needs.
async fn zarrs_piece(target: &ReadTarget, piece: &ChunkPiece) -> Result<TypedData> {
    let subset = ArraySubset::new_with_ranges(&piece.ranges);
    fetch_chunk_subset(target, &piece.indices, &subset).await
}

/// `piece` of a chunk found never written: its fill value, made without a request.
///
/// # Errors
/// `ERR_DECODE` when the fill value cannot be made for the data type.
pub(super) async fn fill_piece(target: &ReadTarget, piece: &ChunkPiece) -> Result<TypedData> {
    let subset = ArraySubset::new_with_ranges(&piece.ranges);
    typed_subset(target, &piece.indices, &subset, Values::Fill).await
}

/// A huge chunk is not materialised to cut a small piece out of it: zarrs' partial path fills a missing
/// chunk's piece alone and reads uncompressed chunks by byte range.
fn is_huge(target: &ReadTarget) -> bool {
    chunk_elements(target).saturating_mul(target.dtype.item_size().max(8) as u64) > HUGE_CHUNK_BYTES
}

/// Elements in one stored chunk (saturating: a corrupt chunk shape must not overflow here).
fn chunk_elements(target: &ReadTarget) -> u64 {
    target
        .storage_chunks
        .iter()
        .try_fold(1u64, |acc, &n| acc.checked_mul(n))
        .unwrap_or(u64::MAX)
}

/// The compressor [`direct`] decodes this array's whole chunks with, if any.
pub(super) fn direct_compressor(target: &ReadTarget) -> Option<direct::Compressor> {
    target.direct.filter(|_| !is_huge(target))
}

/// The whole chunk at `indices` through [`direct`] with `compressor`, decoded straight into `run` (its
/// place in the output, exactly its decoded size in bytes).
pub(super) async fn decode_into_run(
    target: &ReadTarget,
    compressor: direct::Compressor,
    indices: &[u64],
    run: &mut [u8],
) -> Result<IntoRun> {
    let Some(encoded) = fetch_encoded(target, indices).await? else {
        return Ok(IntoRun::NeverWritten);
    };
    direct::decode_into(compressor, &encoded, run)
        .map_err(|why| decode_error(target, indices, &why))?;
    Ok(IntoRun::Decoded)
}

/// A whole chunk through [`direct`]: `None` when it was never written (zarrs then supplies the fill
/// value).
async fn fetch_direct(
    target: &ReadTarget,
    compressor: direct::Compressor,
    indices: &[u64],
    chunk_elements: u64,
) -> Result<Option<TypedData>> {
    let Some(encoded) = fetch_encoded(target, indices).await? else {
        return Ok(None);
    };
    let elements = usize::try_from(chunk_elements)
        .map_err(|_| RtError::Decode(format!("array {:?}: chunk too large", target.path)))?;
    direct::decode(compressor, target.dtype, &encoded, elements)
        .map(Some)
        .map_err(|why| decode_error(target, indices, &why))
}

/// A chunk's stored bytes, or `None` when it was never written.
async fn fetch_encoded(
    target: &ReadTarget,
    indices: &[u64],
) -> Result<Option<zarrs::storage::Bytes>> {
    let a = target.array.as_ref().map_err(Clone::clone)?;
    a.async_retrieve_encoded_chunk(indices)
        .await
        .map_err(|e| chunk_error(&target.path, indices, &ArrayError::StorageError(e)))
}

fn decode_error(target: &ReadTarget, indices: &[u64], why: &str) -> RtError {
    RtError::Decode(format!(
        "array {:?}, chunk {indices:?} failed to decode: {why}",
        target.path
    ))
}

async fn fetch_chunk_subset(
    target: &ReadTarget,
    indices: &[u64],
    subset: &ArraySubset,
) -> Result<TypedData> {
    typed_subset(target, indices, subset, Values::Stored).await
}

/// Where the values of a chunk's subset come from.
#[derive(Clone, Copy)]
enum Values {
    /// The store, through zarrs after our checks ([`retrieve`]).
    Stored,
    /// The fill value, for a chunk already found never written ([`fill_value`]): no request.
    Fill,
}

/// `subset` of the chunk at `indices` as the typed buffer JavaScript receives, its values from `values`.
async fn typed_subset(
    target: &ReadTarget,
    indices: &[u64],
    subset: &ArraySubset,
    values: Values,
) -> Result<TypedData> {
    let a = target.array.as_ref().map_err(Clone::clone)?;
    macro_rules! values_as {
        ($t:ty) => {
            match values {
                Values::Stored => retrieve::<$t>(target, a, indices, subset).await?,
                Values::Fill => fill_value::<$t>(target, a, indices, subset)?,
            }
        };
    }
    macro_rules! get {
        ($t:ty) => {
            values_as!(Vec<$t>)
        };
    }
    Ok(match target.dtype {
        Dtype::Bool => TypedData::U8(get!(bool).into_iter().map(u8::from).collect()),
        Dtype::Int8 => TypedData::I8(get!(i8)),
        Dtype::Int16 => TypedData::I16(get!(i16)),
        Dtype::Int32 => TypedData::I32(get!(i32)),
        Dtype::Int64 => TypedData::I64(get!(i64)),
        Dtype::UInt8 => TypedData::U8(get!(u8)),
        Dtype::UInt16 => TypedData::U16(get!(u16)),
        Dtype::UInt32 => TypedData::U32(get!(u32)),
        Dtype::UInt64 => TypedData::U64(get!(u64)),
        Dtype::Float16 => TypedData::F32(get!(half::f16).into_iter().map(f32::from).collect()),
        Dtype::Float32 => TypedData::F32(get!(f32)),
        Dtype::Float64 => TypedData::F64(get!(f64)),
        Dtype::String => TypedData::Str(get!(String)),
        Dtype::FixedUtf32 => TypedData::Str(
            get!(Vec<char>)
                .into_iter()
                .map(|chars| chars.into_iter().take_while(|&c| c != '\0').collect())
                .collect(),
        ),
        Dtype::Unsupported => {
            return Err(RtError::Internal(format!(
                "array {:?}: read of an unsupported data type reached the decoder",
                target.path
            )));
        }
        Dtype::DateTime64 { ns_per_unit } | Dtype::TimeDelta64 { ns_per_unit } => {
            let bytes = values_as!(ArrayBytes<'static>);
            let fixed = bytes
                .into_fixed()
                .map_err(|e| RtError::Decode(format!("array {:?}: {e}", target.path)))?;
            let values = fixed
                .chunks_exact(8)
                .map(|b| {
                    let v = i64::from_ne_bytes(b.try_into().expect("8 bytes"));
                    if v == i64::MIN {
                        Ok(v)
                    } else {
                        v.checked_mul(ns_per_unit).filter(|&ns| ns != i64::MIN).ok_or_else(|| {
                            RtError::Decode(format!(
                                "array {:?}, chunk {indices:?}: value {v} is outside the datetime64[ns] range",
                                target.path
                            ))
                        })
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            TypedData::I64(values)
        }
    })
}

/// A subset of one chunk, decoded by zarrs as `T`, after the checks zarrs does not make on untrusted
/// bytes: a shard's index is checked first ([`shard`]), a `vlen-utf8` chunk's lengths too
/// ([`crate::codecs::vlen`]).
async fn retrieve<T: FromArrayBytes>(
    target: &ReadTarget,
    a: &ZArray,
    indices: &[u64],
    subset: &ArraySubset,
) -> Result<T> {
    let err = |e: ArrayError| chunk_error(&target.path, indices, &e);
    let options = CodecOptions::default();
    let shape = a.chunk_shape(indices).map_err(err)?;
    let shape_u64: Vec<u64> = shape.iter().map(|n| n.get()).collect();
    let whole = subset.start().iter().all(|&o| o == 0) && subset.shape() == shape_u64.as_slice();
    let chain = a.codecs();
    let checked = if target.sharded {
        shard::ShardLayout::of(&chain, &shape_u64, a.data_type(), a.fill_value())
            .map(Checked::Shard)
    } else {
        crate::codecs::vlen::is_vlen_utf8(&chain).then_some(Checked::Vlen)
    };
    let Some(checked) = checked else {
        return a
            .async_retrieve_chunk_subset_opt::<T>(indices, subset, &options)
            .await
            .map_err(err);
    };
    if let (Checked::Shard(layout), false) = (&checked, whole) {
        return retrieve_shard_part(target, a, indices, subset, layout, &shape).await;
    }
    let Some(encoded) = fetch_encoded(target, indices).await? else {
        return fill_value(target, a, indices, subset);
    };
    let codec = |e: CodecError| err(ArrayError::CodecError(e));
    let decoded = match &checked {
        Checked::Shard(layout) => {
            layout
                .check_shard(&encoded)
                .map_err(|why| decode_error(target, indices, &why))?;
            chain
                .decode(
                    Cow::Borrowed(&encoded[..]),
                    &shape,
                    a.data_type(),
                    a.fill_value(),
                    &options,
                )
                .map_err(codec)?
                .into_owned()
        }
        Checked::Vlen => crate::codecs::vlen::decode_checked(
            &chain,
            &encoded,
            &shape,
            a.data_type(),
            a.fill_value(),
        )
        .map_err(|why| decode_error(target, indices, &why))?,
    };
    let decoded = if whole {
        decoded
    } else {
        decoded
            .extract_array_subset(subset, &shape_u64, a.data_type())
            .map_err(codec)?
            .into_owned()
    };
    decoded
        .validate(subset.num_elements(), a.data_type())
        .map_err(codec)?;
    T::from_array_bytes(decoded, subset.shape(), a.data_type()).map_err(err)
}

/// The fill value for `subset` of a chunk that was never written.
fn fill_value<T: FromArrayBytes>(
    target: &ReadTarget,
    a: &ZArray,
    indices: &[u64],
    subset: &ArraySubset,
) -> Result<T> {
    let fill = ArrayBytes::new_fill_value(a.data_type(), subset.num_elements(), a.fill_value())
        .map_err(|e| decode_error(target, indices, &e.to_string()))?;
    T::from_array_bytes(fill, subset.shape(), a.data_type())
        .map_err(|e| chunk_error(&target.path, indices, &e))
}

/// What [`retrieve`] checks before zarrs decodes.
enum Checked {
    Shard(shard::ShardLayout),
    Vlen,
}

/// Part of a shard: its index fetched, checked against the shard's size, then zarrs' partial decoder over
/// the store with the index already in hand ([`shard::KnownIndex`]). The size is asked after the index:
/// the stores remember the size the index's answer reported ([`crate::source::sizes`]), so asking costs
/// no request (icechunk answers from the manifest the index fetch loaded).
async fn retrieve_shard_part<T: FromArrayBytes>(
    target: &ReadTarget,
    a: &ZArray,
    indices: &[u64],
    subset: &ArraySubset,
    layout: &shard::ShardLayout,
    shape: &[std::num::NonZeroU64],
) -> Result<T> {
    let err = |e: ArrayError| chunk_error(&target.path, indices, &e);
    let options = CodecOptions::default();
    let storage = a.storage();
    let key = a.chunk_key(indices);
    let request = layout.index_request();
    let storage_err = |e| err(ArrayError::StorageError(e));
    let Some(index) = storage
        .get_partial(&key, request)
        .await
        .map_err(storage_err)?
    else {
        // Never written.
        return fill_value(target, a, indices, subset);
    };
    let Some(size) = storage.size_key(&key).await.map_err(storage_err)? else {
        // Gone between the two questions: as if never written.
        return fill_value(target, a, indices, subset);
    };
    layout
        .check_index(&index, size)
        .map_err(|why| decode_error(target, indices, &why))?;
    let input = shard::KnownIndex::new(storage, key, request, index, layout.inner_strings());
    let codec = |e: CodecError| err(ArrayError::CodecError(e));
    let bytes = a
        .codecs()
        .async_partial_decoder(input, shape, a.data_type(), a.fill_value(), &options)
        .await
        .map_err(codec)?
        .partial_decode(subset, &options)
        .await
        .map_err(codec)?
        .into_owned();
    bytes
        .validate(subset.num_elements(), a.data_type())
        .map_err(codec)?;
    T::from_array_bytes(bytes, subset.shape(), a.data_type()).map_err(err)
}

pub(super) fn chunk_error(path: &str, indices: &[u64], e: &ArrayError) -> RtError {
    match e {
        // The sharding codec fetches its index and inner chunks itself, so a network failure there
        // arrives as a codec error; it is still a storage failure (retryable), not corrupt data.
        ArrayError::StorageError(s) | ArrayError::CodecError(CodecError::StorageError(s)) => {
            crate::error::classify_storage(format!("array {path:?}, chunk {indices:?}: {s}"))
        }
        ArrayError::InvalidChunkGridIndicesError(_) | ArrayError::InvalidArraySubset(..) => {
            RtError::InvalidSelection(format!("array {path:?}, chunk {indices:?}: {e}"))
        }
        _ => RtError::Decode(format!(
            "array {path:?}, chunk {indices:?} failed to decode: {e}"
        )),
    }
}
