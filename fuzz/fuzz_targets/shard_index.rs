//! Shard indexes: fixed `sharding_indexed` arrays from the fixtures (index at the end or the start, with
//! and without a crc32c over the index, inner gzip, inner transpose + big-endian + zstd), over fuzzed
//! shard bytes. The shard is read whole and in pieces, so zarrs decodes the index both from the whole
//! shard and by byte range; a piece that decodes must equal the same piece of the whole read.
//!
//! Input: `[variant][shard bytes]` (variants: see `VARIANTS`).

#![no_main]

#[path = "common.rs"]
mod common;

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rustytree::cf::{DecodeOptions, VariablePlan};
use rustytree::hierarchy::{ArrayMeta, NodeMeta, node};
use rustytree::read::{ReadTarget, read_region};
use serde_json::Value;
use tokio::sync::Semaphore;

const I32_SHARDING: &str = include_str!("../../fixtures/stores/codecs.zarr/i32_sharding/zarr.json");
const I32_INDEX_START: &str =
    include_str!("../../fixtures/stores/codecs.zarr/i32_sharding_index_start/zarr.json");
const I32_INNER_GZIP: &str =
    include_str!("../../fixtures/stores/codecs.zarr/i32_sharding_inner_gzip/zarr.json");
const F32_TRANSPOSE_BE: &str =
    include_str!("../../fixtures/stores/codecs.zarr/f32_sharding_inner_transpose_be/zarr.json");

/// Variant `i` of the input's first byte; the seed builder (fuzz/make_seeds.py) uses the same order.
/// The crc32c-less copies let the fuzzer change index entries without forging a checksum.
fn variants() -> &'static [ArrayMeta] {
    static VARIANTS: OnceLock<Vec<ArrayMeta>> = OnceLock::new();
    VARIANTS.get_or_init(|| {
        let without_index_crc = |doc: &str| {
            let mut v: Value = serde_json::from_str(doc).expect("fixture zarr.json");
            let index_codecs = v
                .pointer_mut("/codecs/0/configuration/index_codecs")
                .and_then(Value::as_array_mut)
                .expect("sharding_indexed index_codecs");
            index_codecs.retain(|c| c["name"] != "crc32c");
            serde_json::to_vec(&v).expect("json")
        };
        [
            I32_SHARDING.as_bytes().to_vec(),
            I32_INDEX_START.as_bytes().to_vec(),
            without_index_crc(I32_SHARDING),
            without_index_crc(I32_INDEX_START),
            I32_INNER_GZIP.as_bytes().to_vec(),
            F32_TRANSPOSE_BE.as_bytes().to_vec(),
        ]
        .iter()
        .map(|doc| match node::parse_bytes(doc, "/fuzz") {
            Ok(NodeMeta::Array(a)) => *a,
            _ => panic!("fixture is not an array"),
        })
        .collect()
    })
}

fn read(target: &ReadTarget, ranges: &[Range<u64>]) -> Option<rustytree::typed::TypedData> {
    let start: Vec<u64> = ranges.iter().map(|r| r.start).collect();
    let stop: Vec<u64> = ranges.iter().map(|r| r.end).collect();
    let limit = Arc::new(Semaphore::new(4));
    match common::runtime().block_on(read_region(target, &start, &stop, &limit)) {
        Ok(values) => {
            let n: u64 = ranges.iter().map(|r| r.end - r.start).product();
            assert_eq!(
                values.len() as u64,
                n,
                "read of {ranges:?} returned the wrong count"
            );
            Some(values)
        }
        Err(e) => {
            // ERR_STORAGE: an index entry past the end of the shard (finding F1 in fuzz/README.md).
            common::assert_input_error(&e, &["ERR_DECODE", "ERR_STORAGE"]);
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [selector, shard @ ..] = data else {
        return;
    };
    let all = variants();
    let meta = all[usize::from(*selector) % all.len()].clone();
    let shard_shape = meta.shards.clone().expect("sharded fixture");
    let objects = common::memory(&[("fuzz/c/0/0".to_owned(), Bytes::copy_from_slice(shard))]);
    let store = common::chunk_store(objects);
    let array =
        common::build_array(meta.document.clone(), "/fuzz", store).expect("fixture array builds");
    let plan = VariablePlan::new("/fuzz", meta.dtype, &meta.attrs, DecodeOptions::default())
        .expect("fixture plan");
    let target = common::read_target(array, &meta, plan);
    let whole_ranges: Vec<Range<u64>> = shard_shape.iter().map(|&n| 0..n).collect();
    let whole = read(&target, &whole_ranges);
    // One inner chunk, then a piece that straddles several inner chunks.
    let inner: Vec<Range<u64>> = meta.chunks.iter().map(|&n| 0..n).collect();
    let straddle: Vec<Range<u64>> = meta
        .chunks
        .iter()
        .zip(&shard_shape)
        .map(|(&n, &s)| (n - 1)..(2 * n + 1).min(s))
        .collect();
    for ranges in [inner, straddle] {
        if let (Some(piece), Some(all)) = (read(&target, &ranges), &whole) {
            assert_eq!(
                format!("{piece:?}"),
                format!("{:?}", all.extract(&shard_shape, &ranges)),
                "partial read of {ranges:?} disagrees with the whole shard"
            );
        }
    }
});
