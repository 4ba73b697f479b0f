//! Selection planning: a fuzzed array shape, chunk shape and selection `[start, stop)` through
//! `read::plan::plan_selection`, then the pieces `read::plan::chunks_overlapping` cuts it into and the
//! runs `read::plan::contiguous_run` finds in them. Checks: no panic; a refusal carries
//! `ERR_INVALID_SELECTION` or `ERR_INVALID_METADATA`; an accepted selection's pieces lie inside their
//! chunks and tile the output exactly (every element in one piece), one piece per chunk counted; a run
//! is exactly its piece.
//!
//! Input: `[rank][per dimension: shape, chunk, start, stop]`, each number one byte below 0xF0 (itself)
//! or 0xF0 and then 8 bytes (a little-endian `u64`, for the extremes).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rustytree::read::plan::{ChunkPiece, Run, chunks_overlapping, contiguous_run, plan_selection};
use rustytree::typed::c_strides;

/// Outputs above this many elements are planned but not tiled element by element.
const MAX_TILED_ELEMENTS: u64 = 1 << 16;

/// Plans above this many chunks are not cut into pieces (each piece costs a few vectors).
const MAX_PIECES: u64 = 1 << 12;

/// The next number of the input (see the module docs), `None` at its end.
fn number(data: &mut &[u8]) -> Option<u64> {
    let (&tag, rest) = data.split_first()?;
    *data = rest;
    if tag < 0xF0 {
        return Some(u64::from(tag));
    }
    let (wide, rest) = data.split_first_chunk::<8>()?;
    *data = rest;
    Some(u64::from_le_bytes(*wide))
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let Some(rank) = number(&mut data) else { return };
    let rank = (rank % 5) as usize;
    let (mut shape, mut chunks, mut start, mut stop) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rank {
        let (Some(n), Some(c), Some(a), Some(b)) = (
            number(&mut data),
            number(&mut data),
            number(&mut data),
            number(&mut data),
        ) else {
            return;
        };
        shape.push(n);
        chunks.push(c);
        start.push(a);
        stop.push(b);
    }
    let plan = match plan_selection("/fuzz", &shape, &chunks, &start, &stop) {
        Ok(plan) => plan,
        Err(e) => {
            assert!(
                matches!(e.code(), "ERR_INVALID_SELECTION" | "ERR_INVALID_METADATA"),
                "[{}] {}",
                e.code(),
                e.message()
            );
            assert!(e.message().contains("\"/fuzz\""), "{}", e.message());
            return;
        }
    };
    let expected: Vec<u64> = start.iter().zip(&stop).map(|(a, b)| b - a).collect();
    assert_eq!(plan.out_shape, expected);
    assert_eq!(
        Some(plan.total),
        expected.iter().try_fold(1u64, |acc, &n| acc.checked_mul(n))
    );
    if plan.chunk_count > MAX_PIECES {
        return;
    }
    let pieces = chunks_overlapping(&chunks, &start, &stop);
    if plan.total == 0 {
        assert!(pieces.is_empty() || rank == 0, "{} pieces of nothing", pieces.len());
        return;
    }
    assert_eq!(pieces.len() as u64, plan.chunk_count);
    let mut covered = (plan.total <= MAX_TILED_ELEMENTS).then(|| vec![0u8; plan.total as usize]);
    let strides = c_strides(&plan.out_shape);
    let mut elements = 0u64;
    for ChunkPiece { indices, ranges, place } in &pieces {
        let offset = &place.offset;
        assert_eq!((indices.len(), ranges.len(), offset.len()), (rank, rank, rank));
        let piece_shape: Vec<u64> = ranges.iter().map(|r| r.end - r.start).collect();
        assert_eq!(place.shape, piece_shape);
        for d in 0..rank {
            // Inside its chunk, non-empty, and where it says in the output.
            assert!(ranges[d].start < ranges[d].end && ranges[d].end <= chunks[d]);
            assert_eq!(indices[d] * chunks[d] + ranges[d].start, start[d] + offset[d]);
            assert!(offset[d] + piece_shape[d] <= plan.out_shape[d]);
        }
        let size: u64 = piece_shape.iter().product();
        elements += size;
        if let Some(covered) = covered.as_mut() {
            let cells = cells(&strides, &piece_shape, offset);
            for &cell in &cells {
                covered[cell as usize] += 1;
            }
            if let Some(Run { at, len }) = contiguous_run(&plan.out_shape, place) {
                assert_eq!(len as u64, size);
                assert_eq!(cells.iter().min().copied(), Some(at as u64));
                assert_eq!(cells.iter().max().copied(), Some((at + len - 1) as u64));
            }
        }
    }
    assert_eq!(elements, plan.total, "the pieces hold as many elements as the selection");
    if let Some(covered) = covered {
        assert!(covered.iter().all(|&n| n == 1), "every output element in exactly one piece");
    }
});

/// The output positions (C order, `strides`) of a piece of `shape` at `offset`.
fn cells(strides: &[u64], shape: &[u64], offset: &[u64]) -> Vec<u64> {
    let mut out = vec![0u64];
    for d in 0..shape.len() {
        out = out
            .iter()
            .flat_map(|&base| (0..shape[d]).map(move |i| base + (offset[d] + i) * strides[d]))
            .collect();
    }
    out
}
