//! Chunk decoding through any codec chain a `zarr.json` can name: the document is parsed as the open
//! parses it, the zarrs array is built as `tree.rs` builds it (our lz4 / lzma / crc32 / delta plugins
//! included), the fuzzed bytes are stored as chunk 0, and `read::read_region` reads the first chunk whole
//! and, when it is larger than one element per dimension, a piece of it (the partial-decode path).
//!
//! Input: `[len: u16 LE][zarr.json][chunk bytes]`.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::Arc;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rustytree::cf::{DecodeOptions, VariablePlan};
use rustytree::hierarchy::{NodeMeta, node};
use rustytree::read::read_region;
use tokio::sync::Semaphore;

/// Codes a read of well-formed metadata over a corrupt chunk may reject with. `ERR_STORAGE` is among
/// them because a shard index pointing past the end of its object is reported by the store as a bad
/// range request (finding F1 in fuzz/README.md), which read.rs classifies as a storage error.
const READ_ERRORS: &[&str] = &[
    "ERR_DECODE",
    "ERR_STORAGE",
    "ERR_CF_DECODE",
    "ERR_INVALID_SELECTION",
    "ERR_UNSUPPORTED_CODEC",
    "ERR_UNSUPPORTED_DTYPE",
];

fuzz_target!(|data: &[u8]| {
    let (document, chunk) = common::split(data);
    let Ok(NodeMeta::Array(meta)) = node::parse_bytes(document, "/fuzz") else {
        return;
    };
    if meta.unsupported.is_some() {
        return;
    }
    let storage_chunks = meta.shards.clone().unwrap_or_else(|| meta.chunks.clone());
    let elements = storage_chunks
        .iter()
        .try_fold(1u64, |acc, &n| acc.checked_mul(n));
    if !elements.is_some_and(|n| n <= common::MAX_CHUNK_ELEMENTS) || meta.shape.contains(&0) {
        return;
    }
    let Ok(plan) = VariablePlan::new("/fuzz", meta.dtype, &meta.attrs, DecodeOptions::default())
    else {
        return;
    };
    let store = common::chunk_store(common::memory(&[]));
    let Ok(array) = common::build_array(meta.document.clone(), "/fuzz", store) else {
        return;
    };
    let zeros = vec![0u64; meta.shape.len()];
    let key = array.chunk_key(&zeros);
    let objects = common::memory(&[(key.to_string(), Bytes::copy_from_slice(chunk))]);
    let store = common::chunk_store(objects);
    let Ok(array) = common::build_array(meta.document.clone(), "/fuzz", store) else {
        return;
    };
    let target = common::read_target(array, &meta, plan);
    let limit = Arc::new(Semaphore::new(4));
    // The first chunk, clipped to the array: whole-chunk decode.
    let stop: Vec<u64> = meta
        .shape
        .iter()
        .zip(&storage_chunks)
        .map(|(&s, &c)| s.min(c))
        .collect();
    let whole = common::runtime().block_on(read_region(&target, &zeros, &stop, &limit));
    match &whole {
        Ok(values) => {
            let n: u64 = stop.iter().product();
            assert_eq!(
                values.len() as u64,
                n,
                "whole-chunk read returned the wrong count"
            );
        }
        Err(e) => common::assert_input_error(&e, READ_ERRORS),
    }
    // An interior piece: sharded arrays decode only the inner chunks it touches.
    let start: Vec<u64> = stop.iter().map(|&s| u64::from(s > 1)).collect();
    if start.iter().any(|&s| s == 1) {
        match common::runtime().block_on(read_region(&target, &start, &stop, &limit)) {
            Ok(values) => {
                let n: u64 = start.iter().zip(&stop).map(|(a, b)| b - a).product();
                assert_eq!(
                    values.len() as u64,
                    n,
                    "partial read returned the wrong count"
                );
                if let Ok(all) = &whole {
                    let expected = all.extract(
                        &stop,
                        &start
                            .iter()
                            .zip(&stop)
                            .map(|(&a, &b)| a..b)
                            .collect::<Vec<_>>(),
                    );
                    // NaN != NaN: compare through the debug form, which spells NaN the same each time.
                    assert_eq!(
                        format!("{values:?}"),
                        format!("{expected:?}"),
                        "a partial read disagrees with the whole-chunk read"
                    );
                }
            }
            Err(e) => common::assert_input_error(&e, READ_ERRORS),
        }
    }
});
