//! Read planning, pure: a selection `[start, stop)` of an array stored in chunks becomes the stored chunks
//! (shards, for sharded arrays) it overlaps, the part of each it needs, where that part lands in the
//! C-ordered output, and which chunks are decoded straight into one contiguous run of the output.
//!
//! The pieces tile the output: every output element lies in exactly one piece, and every run is exactly
//! its piece's place. [`super::assemble`] relies on that to write the output without overlap.

use std::ops::Range;

use crate::dtype::Dtype;
use crate::error::{Result, RtError};

/// One read fans out to at most this many chunk tasks.
pub const MAX_CHUNKS_PER_READ: u64 = 1 << 22;

/// A selection checked against its array and sized: the output's shape, its element count and how many
/// stored chunks it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionPlan {
    /// `stop - start` per dimension.
    pub out_shape: Vec<u64>,
    /// Elements in the selection.
    pub total: u64,
    /// Stored chunks (shards) the selection overlaps, each one task of the read.
    pub chunk_count: u64,
}

/// Where a block lands in the C-ordered output: its first element's coordinates and its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Coordinates of the block's first element in the output.
    pub offset: Vec<u64>,
    /// The block's shape.
    pub shape: Vec<u64>,
}

impl Place {
    /// Elements in the block (saturating: a place of a checked selection counts without overflow).
    #[must_use]
    pub fn elements(&self) -> u64 {
        self.shape
            .iter()
            .try_fold(1u64, |acc, &n| acc.checked_mul(n))
            .unwrap_or(u64::MAX)
    }
}

/// One stored chunk's part of a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPiece {
    /// The chunk's grid indices.
    pub indices: Vec<u64>,
    /// The part of the chunk the selection needs, in chunk coordinates.
    pub ranges: Vec<Range<u64>>,
    /// Where that part lands in the output.
    pub place: Place,
}

impl ChunkPiece {
    /// Whether the selection needs all of the chunk (of shape `chunk_shape`).
    #[must_use]
    pub fn is_whole(&self, chunk_shape: &[u64]) -> bool {
        is_whole(&self.ranges, chunk_shape)
    }
}

/// Whether `ranges` (in chunk coordinates) cover all of a chunk of shape `chunk_shape`.
#[must_use]
pub fn is_whole(ranges: &[Range<u64>], chunk_shape: &[u64]) -> bool {
    ranges
        .iter()
        .zip(chunk_shape)
        .all(|(r, &c)| r.start == 0 && r.end == c)
}

/// Elements `[at, at + len)` of the C-ordered output, as one contiguous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The run's first element.
    pub at: usize,
    /// Its element count.
    pub len: usize,
}

/// How a read fetches one stored chunk: its piece, and, when it is decoded straight into the output, the
/// run of the output it fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRead {
    /// The chunk's part of the selection.
    pub piece: ChunkPiece,
    /// The output run the whole chunk is decoded into, or `None` when its piece is decoded on its own and
    /// copied into place.
    pub run: Option<Run>,
}

/// Checks the selection `[start, stop)` of the array at `path` of `shape`, stored in chunks of
/// `chunk_shape`, and sizes it. [`chunks_overlapping`] then gives its pieces.
///
/// # Errors
/// `ERR_INVALID_SELECTION` for a selection outside the array, of more elements than a `u64` counts or
/// spanning more than [`MAX_CHUNKS_PER_READ`] chunks; `ERR_INVALID_METADATA` for a chunk shape of
/// another rank than the array's, or with a zero.
pub fn plan_selection(
    path: &str,
    shape: &[u64],
    chunk_shape: &[u64],
    start: &[u64],
    stop: &[u64],
) -> Result<SelectionPlan> {
    check_region(path, shape, start, stop)?;
    if chunk_shape.len() != shape.len() || chunk_shape.contains(&0) {
        return Err(RtError::InvalidMetadata(format!(
            "array {path:?}: chunk shape {chunk_shape:?} does not fit an array of shape {shape:?}"
        )));
    }
    let out_shape: Vec<u64> = start.iter().zip(stop).map(|(a, b)| b - a).collect();
    let total = out_shape
        .iter()
        .try_fold(1u64, |acc, &n| acc.checked_mul(n))
        .ok_or_else(|| {
            RtError::InvalidSelection(format!("array {path:?}: the selection is too large"))
        })?;
    let chunk_count = start
        .iter()
        .zip(stop)
        .zip(chunk_shape)
        .map(|((&a, &b), &c)| if b > a { (b - 1) / c - a / c + 1 } else { 0 })
        .try_fold(1u64, u64::checked_mul)
        .unwrap_or(u64::MAX);
    if chunk_count > MAX_CHUNKS_PER_READ {
        return Err(RtError::InvalidSelection(format!(
            "array {path:?}: the selection spans {chunk_count} chunks (at most {MAX_CHUNKS_PER_READ} per read); read it in parts"
        )));
    }
    Ok(SelectionPlan {
        out_shape,
        total,
        chunk_count,
    })
}

/// Checks that one chunk of `chunk_shape` (a stored chunk, or a shard's inner chunk) of `dtype` can be
/// counted: its elements, and their bytes, fit in a `u64`. zarrs multiplies them unchecked (a chunk shape
/// of `[2^63 - 1, 2^63 - 1]` panicked inside it).
///
/// # Errors
/// `ERR_INVALID_METADATA` naming the array and the chunk shape.
pub fn check_chunk_shape(path: &str, chunk_shape: &[u64], dtype: Dtype) -> Result<()> {
    let bytes = chunk_shape
        .iter()
        .try_fold(1u64, |acc, &n| acc.checked_mul(n))
        .and_then(|n| n.checked_mul(dtype.buffer_item_bytes().max(1)));
    match bytes {
        Some(_) => Ok(()),
        None => Err(RtError::InvalidMetadata(format!(
            "array {path:?}: chunk shape {chunk_shape:?} holds more elements than can be counted"
        ))),
    }
}

fn check_region(path: &str, shape: &[u64], start: &[u64], stop: &[u64]) -> Result<()> {
    let n = shape.len();
    if start.len() != n || stop.len() != n {
        return Err(RtError::InvalidSelection(format!(
            "array {path:?} has {n} dimensions, the selection has {}",
            start.len().max(stop.len())
        )));
    }
    for d in 0..n {
        if start[d] > stop[d] || stop[d] > shape[d] {
            return Err(RtError::InvalidSelection(format!(
                "array {path:?}: range {}..{} is outside dimension {d} of size {}",
                start[d], stop[d], shape[d]
            )));
        }
    }
    Ok(())
}

/// Every stored chunk overlapping `[start, stop)` (a selection [`plan_selection`] accepted, with the same
/// `chunk_shape`), in C order of their grid indices: they tile the output exactly, each element in one
/// piece. An empty selection has no pieces, except that a 0-d array is one chunk.
#[must_use]
pub fn chunks_overlapping(chunk_shape: &[u64], start: &[u64], stop: &[u64]) -> Vec<ChunkPiece> {
    let n = chunk_shape.len();
    if start.iter().zip(stop).any(|(a, b)| a >= b) && n > 0 {
        return Vec::new();
    }
    let first: Vec<u64> = (0..n).map(|d| start[d] / chunk_shape[d]).collect();
    let last: Vec<u64> = (0..n).map(|d| (stop[d] - 1) / chunk_shape[d]).collect();
    let mut out = Vec::new();
    let mut idx = first.clone();
    loop {
        let mut ranges = Vec::with_capacity(n);
        let mut offset = Vec::with_capacity(n);
        for d in 0..n {
            let origin = idx[d] * chunk_shape[d];
            let lo = start[d].max(origin);
            let hi = stop[d].min(origin.saturating_add(chunk_shape[d]));
            ranges.push(lo - origin..hi - origin);
            offset.push(lo - start[d]);
        }
        let shape = ranges.iter().map(|r| r.end - r.start).collect();
        out.push(ChunkPiece {
            indices: idx.clone(),
            ranges,
            place: Place { offset, shape },
        });
        // Odometer over the chunk index box.
        let mut d = n;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            if idx[d] < last[d] {
                idx[d] += 1;
                break;
            }
            idx[d] = first[d];
        }
    }
}

/// Where a block at `place` lies in a C-ordered output of shape `out_shape`, when it is one contiguous
/// run of it: every dimension after its first one longer than 1 spans the whole output.
#[must_use]
pub fn contiguous_run(out_shape: &[u64], place: &Place) -> Option<Run> {
    let Place { offset, shape } = place;
    let lead = shape.iter().position(|&s| s != 1).unwrap_or(shape.len());
    if (lead + 1..shape.len()).any(|d| shape[d] != out_shape[d]) {
        return None;
    }
    let mut at = 0u64;
    for d in 0..out_shape.len() {
        at = at.checked_mul(out_shape[d])?.checked_add(offset[d])?;
    }
    let len: u64 = shape.iter().product();
    Some(Run {
        at: usize::try_from(at).ok()?,
        len: usize::try_from(len).ok()?,
    })
}

/// How each stored chunk of `[start, stop)` (sized by [`plan_selection`] as `selection`, over
/// `chunk_shape`) is read. With `decode_into_output` (the chunks decode whole straight into memory, and
/// the values need no conversion), every chunk the selection needs whole and whose place is one run of the
/// output is decoded into that run: no buffer per chunk and no copy. A selection within one chunk gets no
/// run: its decoded piece becomes the output as it is.
#[must_use]
pub fn plan_chunk_reads(
    selection: &SelectionPlan,
    chunk_shape: &[u64],
    start: &[u64],
    stop: &[u64],
    decode_into_output: bool,
) -> Vec<ChunkRead> {
    let runs = decode_into_output && selection.chunk_count > 1;
    chunks_overlapping(chunk_shape, start, stop)
        .into_iter()
        .map(|piece| {
            let run = (runs && piece.is_whole(chunk_shape))
                .then(|| contiguous_run(&selection.out_shape, &piece.place))
                .flatten();
            ChunkRead { piece, run }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typed::c_strides;

    fn place(offset: &[u64], shape: &[u64]) -> Place {
        Place {
            offset: offset.to_vec(),
            shape: shape.to_vec(),
        }
    }

    /// The output positions (C order) a block at `place` covers.
    fn cells(out_shape: &[u64], place: &Place) -> Vec<u64> {
        let strides = c_strides(out_shape);
        let mut out = vec![0u64];
        for ((&stride, &offset), &len) in strides.iter().zip(&place.offset).zip(&place.shape) {
            out = out
                .iter()
                .flat_map(|&base| (0..len).map(move |i| base + (offset + i) * stride))
                .collect();
        }
        out
    }

    /// Plans `[start, stop)` of an array of `shape` in chunks of `chunk_shape` and checks every invariant
    /// the assembly relies on: one piece per chunk counted, each inside its chunk and where it says in the
    /// output, every output element in exactly one piece, every run exactly its piece's place.
    fn check_tiling(
        shape: &[u64],
        chunk_shape: &[u64],
        start: &[u64],
        stop: &[u64],
        decode_into_output: bool,
    ) -> Vec<ChunkRead> {
        let selection = plan_selection("/a", shape, chunk_shape, start, stop).unwrap();
        let reads = plan_chunk_reads(&selection, chunk_shape, start, stop, decode_into_output);
        let rank = shape.len();
        if selection.total == 0 {
            assert!(reads.is_empty(), "{} pieces of nothing", reads.len());
            return reads;
        }
        assert_eq!(reads.len() as u64, selection.chunk_count);
        let mut covered = vec![0u8; usize::try_from(selection.total).unwrap()];
        for ChunkRead { piece, run } in &reads {
            let ChunkPiece {
                indices,
                ranges,
                place,
            } = piece;
            assert_eq!((indices.len(), ranges.len()), (rank, rank));
            assert_eq!((place.offset.len(), place.shape.len()), (rank, rank));
            for d in 0..rank {
                assert!(ranges[d].start < ranges[d].end && ranges[d].end <= chunk_shape[d]);
                assert_eq!(place.shape[d], ranges[d].end - ranges[d].start);
                assert_eq!(
                    indices[d] * chunk_shape[d] + ranges[d].start,
                    start[d] + place.offset[d]
                );
            }
            let cells = cells(&selection.out_shape, place);
            assert_eq!(cells.len() as u64, place.elements());
            for &cell in &cells {
                covered[usize::try_from(cell).unwrap()] += 1;
            }
            if let Some(Run { at, len }) = *run {
                assert!(decode_into_output && piece.is_whole(chunk_shape));
                let expected: Vec<u64> = (at as u64..(at + len) as u64).collect();
                assert_eq!(cells, expected, "a run is exactly its piece's place");
            }
        }
        assert!(
            covered.iter().all(|&n| n == 1),
            "every output element in exactly one piece: {covered:?}"
        );
        reads
    }

    #[test]
    fn finds_overlapping_chunks_with_offsets() {
        let pieces = chunks_overlapping(&[10, 8], &[5, 6], &[15, 10]);
        let idx: Vec<_> = pieces.iter().map(|p| p.indices.clone()).collect();
        assert_eq!(idx, vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]);
        assert_eq!(pieces[3].ranges, vec![0..5, 0..2]);
        assert_eq!(pieces[3].place, place(&[5, 2], &[5, 2]));
        assert_eq!(pieces[0].ranges, vec![5..10, 6..8]);
        assert_eq!(pieces[0].place, place(&[0, 0], &[5, 2]));
    }

    #[test]
    fn a_zero_dimensional_array_is_one_chunk_of_one_element() {
        let reads = check_tiling(&[], &[], &[], &[], true);
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].piece.place.elements(), 1);
        // One chunk: its piece becomes the output, no run.
        assert_eq!(reads[0].run, None);
    }

    #[test]
    fn empty_selections_have_no_pieces() {
        for (shape, chunks, start, stop) in [
            (vec![10], vec![4], vec![3], vec![3]),
            (vec![10, 8], vec![4, 4], vec![3, 3], vec![3, 8]),
            (vec![10, 8], vec![4, 4], vec![0, 8], vec![10, 8]),
            (vec![0, 5, 5], vec![1, 5, 5], vec![0, 0, 0], vec![0, 5, 5]),
        ] {
            let selection = plan_selection("/a", &shape, &chunks, &start, &stop).unwrap();
            assert_eq!((selection.total, selection.chunk_count), (0, 0));
            assert!(chunks_overlapping(&chunks, &start, &stop).is_empty());
            check_tiling(&shape, &chunks, &start, &stop, true);
        }
    }

    #[test]
    fn edge_chunks_are_cut_to_the_array() {
        // 10 elements in chunks of 4: the last chunk holds 2.
        let reads = check_tiling(&[10], &[4], &[0], &[10], true);
        let shapes: Vec<_> = reads.iter().map(|r| r.piece.place.shape.clone()).collect();
        assert_eq!(shapes, vec![vec![4], vec![4], vec![2]]);
        assert_eq!(reads[2].piece.ranges, vec![0..2]);
        // The edge chunk is not needed whole (its stored chunk is 4 long): no run for it.
        let runs: Vec<_> = reads.iter().map(|r| r.run).collect();
        assert_eq!(
            runs,
            vec![
                Some(Run { at: 0, len: 4 }),
                Some(Run { at: 4, len: 4 }),
                None
            ]
        );
        // In two dimensions, the edge along either one.
        let reads = check_tiling(&[5, 7], &[2, 3], &[0, 0], &[5, 7], true);
        assert_eq!(reads.len(), 9);
        assert_eq!(reads[8].piece.place, place(&[4, 6], &[1, 1]));
        assert!(
            reads.iter().all(|r| r.run.is_none()),
            "no piece spans a row"
        );
    }

    #[test]
    fn every_rank_tiles_its_output() {
        // Ranks 0 to 5, selections inside one chunk, across chunk edges, and whole arrays.
        check_tiling(&[], &[], &[], &[], false);
        check_tiling(&[17], &[5], &[3], &[16], true);
        check_tiling(&[9, 11], &[4, 3], &[1, 2], &[9, 11], true);
        check_tiling(&[4, 6, 10], &[1, 6, 10], &[0, 0, 0], &[4, 6, 10], true);
        check_tiling(&[4, 6, 10], &[3, 4, 4], &[1, 1, 1], &[4, 6, 9], true);
        check_tiling(
            &[3, 4, 5, 6],
            &[2, 3, 2, 6],
            &[0, 1, 0, 0],
            &[3, 4, 5, 6],
            true,
        );
        check_tiling(
            &[2, 3, 2, 3, 4],
            &[1, 2, 1, 2, 4],
            &[0; 5],
            &[2, 3, 2, 3, 4],
            true,
        );
        check_tiling(
            &[2, 3, 2, 3, 4],
            &[2, 3, 2, 3, 4],
            &[1, 1, 0, 1, 2],
            &[2, 2, 1, 3, 3],
            true,
        );
    }

    #[test]
    fn whole_contiguous_chunks_are_runs_when_decoded_into_the_output() {
        // One volume per chunk, as the benchmark stores it: every chunk is one run.
        let reads = check_tiling(
            &[4, 720, 10],
            &[1, 720, 10],
            &[0, 0, 0],
            &[4, 720, 10],
            true,
        );
        let runs: Vec<_> = reads.iter().map(|r| r.run).collect();
        let expected: Vec<_> = (0..4)
            .map(|i| {
                Some(Run {
                    at: i * 7200,
                    len: 7200,
                })
            })
            .collect();
        assert_eq!(runs, expected);
        // Without direct decoding, or for a part of each chunk, none.
        let reads = check_tiling(
            &[4, 720, 10],
            &[1, 720, 10],
            &[0, 0, 0],
            &[4, 720, 10],
            false,
        );
        assert!(reads.iter().all(|r| r.run.is_none()));
        let reads = check_tiling(&[4, 720, 10], &[1, 720, 10], &[0, 0, 0], &[4, 720, 9], true);
        assert!(reads.iter().all(|r| r.run.is_none()));
        // A selection within one chunk: its piece becomes the output, not a run.
        let reads = check_tiling(
            &[4, 720, 10],
            &[1, 720, 10],
            &[2, 0, 0],
            &[3, 720, 10],
            true,
        );
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].run, None);
        // A later selection start: runs are counted from the output's start.
        let reads = check_tiling(&[12, 4], &[4, 4], &[4, 0], &[12, 4], true);
        let runs: Vec<_> = reads.iter().map(|r| r.run).collect();
        assert_eq!(
            runs,
            vec![Some(Run { at: 0, len: 16 }), Some(Run { at: 16, len: 16 })]
        );
    }

    #[test]
    fn sharded_arrays_are_planned_per_shard() {
        // Shards of 4 x 4 (inner chunks of 2 x 2, which the plan does not see): one piece per shard, in
        // shard coordinates; zarrs then reads only the inner chunks each piece needs.
        let reads = check_tiling(&[8, 8], &[4, 4], &[1, 3], &[7, 5], false);
        let idx: Vec<_> = reads.iter().map(|r| r.piece.indices.clone()).collect();
        assert_eq!(idx, vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]);
        assert_eq!(reads[0].piece.ranges, vec![1..4, 3..4]);
        assert_eq!(reads[3].piece.ranges, vec![0..3, 0..1]);
        assert_eq!(reads[3].piece.place, place(&[3, 1], &[3, 1]));
        assert!(!reads[0].piece.is_whole(&[4, 4]));
        assert!(reads.iter().all(|r| r.run.is_none()));
    }

    #[test]
    fn contiguous_runs_are_places_spanning_every_later_dimension() {
        let run = |out: &[u64], offset: &[u64], shape: &[u64]| {
            contiguous_run(out, &place(offset, shape)).map(|r| (r.at, r.len))
        };
        // A volume of a (vcp_time, azimuth, range) output: one run, after the first volume.
        assert_eq!(
            run(&[4, 720, 10], &[1, 0, 0], &[1, 720, 10]),
            Some((7200, 7200))
        );
        // Several leading rows at once, and a 1-D piece.
        assert_eq!(run(&[12, 4], &[8, 0], &[4, 4]), Some((32, 16)));
        assert_eq!(run(&[10], &[4], &[4]), Some((4, 4)));
        // A row segment is contiguous when everything before it is a single index.
        assert_eq!(run(&[3, 10], &[2, 6], &[1, 4]), Some((26, 4)));
        // Not contiguous: a later dimension narrower than the output's.
        assert_eq!(run(&[12, 10], &[0, 4], &[4, 4]), None);
        assert_eq!(run(&[2, 3, 10], &[0, 1, 0], &[2, 1, 10]), None);
        // A 0-d output is one element.
        assert_eq!(run(&[], &[], &[]), Some((0, 1)));
    }

    #[test]
    fn selections_are_planned_or_refused_with_codes() {
        let plan = plan_selection("/a", &[10, 8], &[4, 4], &[1, 0], &[9, 8]).unwrap();
        assert_eq!(plan.out_shape, vec![8, 8]);
        assert_eq!((plan.total, plan.chunk_count), (64, 6));
        let code = |r: Result<SelectionPlan>| r.unwrap_err().code();
        assert_eq!(
            code(plan_selection("/a", &[10], &[4], &[0], &[11])),
            "ERR_INVALID_SELECTION"
        );
        assert_eq!(
            code(plan_selection("/a", &[10], &[4], &[5], &[4])),
            "ERR_INVALID_SELECTION"
        );
        assert_eq!(
            code(plan_selection("/a", &[10], &[4], &[0, 0], &[1, 1])),
            "ERR_INVALID_SELECTION"
        );
        assert_eq!(
            code(plan_selection("/a", &[10], &[0], &[0], &[1])),
            "ERR_INVALID_METADATA"
        );
        assert_eq!(
            code(plan_selection("/a", &[10], &[4, 4], &[0], &[1])),
            "ERR_INVALID_METADATA"
        );
        let huge = [u64::MAX, u64::MAX];
        assert_eq!(
            code(plan_selection("/a", &huge, &[1, 1], &[0, 0], &huge)),
            "ERR_INVALID_SELECTION"
        );
        let many = plan_selection("/a", &[1 << 23], &[1], &[0], &[1 << 23]).unwrap_err();
        assert!(
            many.message().contains("8388608 chunks"),
            "{}",
            many.message()
        );
    }

    #[test]
    fn chunk_shapes_must_be_countable() {
        assert!(check_chunk_shape("/a", &[1 << 20, 1 << 20], Dtype::Float64).is_ok());
        let max = (1u64 << 63) - 1;
        let err = check_chunk_shape("/a", &[max, max], Dtype::Float64).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_METADATA");
        assert!(err.message().contains("\"/a\""), "{}", err.message());
        // Elements that fit but whose bytes do not.
        assert!(check_chunk_shape("/a", &[1 << 62], Dtype::Float64).is_err());
        assert!(check_chunk_shape("/a", &[1 << 62], Dtype::UInt8).is_ok());
    }
}
