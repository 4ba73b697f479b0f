//! Regression tests for what the cargo-fuzz targets in `fuzz/` found (see `fuzz/README.md`). Each test
//! rebuilds the finding by hand, small enough to read, rather than replaying an opaque fuzzer input.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rustytree::cf::{DecodeOptions, VariablePlan};
use rustytree::error::RtError;
use rustytree::hierarchy::{NodeMeta, node};
use rustytree::read::{ReadTarget, read_region};
use rustytree::source::object::ObjectStoreAdapter;
use rustytree::typed::TypedData;
use tokio::sync::Semaphore;
use zarrs::array::{Array, ArrayMetadata};
use zarrs::storage::AsyncReadableStorageTraits;

/// A 4x4 int32 array stored as one shard of four 2x2 inner chunks, its index (four offset/length pairs
/// of little-endian u64, no checksum) at the end of the shard.
const SHARDED: &str = r#"{
    "zarr_format": 3, "node_type": "array", "shape": [4, 4], "data_type": "int32",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 4]}},
    "chunk_key_encoding": {"name": "default"}, "fill_value": -1,
    "codecs": [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [2, 2],
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "index_location": "end"}}]
}"#;

/// A shard whose inner chunk `k` holds `10k, 10k+1, 10k+2, 10k+3`, with the index entry of chunk 0
/// replaced by `entry0` (offset, length).
fn shard(entry0: (u64, u64)) -> Vec<u8> {
    let mut bytes = Vec::new();
    for k in 0..4i32 {
        for v in 0..4 {
            bytes.extend_from_slice(&(10 * k + v).to_le_bytes());
        }
    }
    for k in 0..4u64 {
        let (offset, len) = if k == 0 { entry0 } else { (16 * k, 16) };
        bytes.extend_from_slice(&offset.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
    }
    bytes
}

/// The array described by `doc` at `path`, over an in-memory object store holding `chunk` under `key`,
/// read through the same adapter and reader as a remote store.
async fn target(doc: &str, path: &str, key: &str, chunk: Vec<u8>) -> ReadTarget {
    let objects = Arc::new(InMemory::new());
    objects
        .put(&Path::from(key), PutPayload::from(chunk))
        .await
        .unwrap();
    let objects: Arc<dyn ObjectStore> = objects;
    let NodeMeta::Array(meta) = node::parse_bytes(doc.as_bytes(), path).unwrap() else {
        panic!("not an array")
    };
    let metadata: ArrayMetadata = serde_json::from_value(meta.document.clone()).unwrap();
    let store: Arc<dyn AsyncReadableStorageTraits> =
        Arc::new(ObjectStoreAdapter::for_chunks(objects));
    let array = Array::new_with_metadata(store, path, metadata).unwrap();
    let plan = VariablePlan::new(path, meta.dtype, &meta.attrs, DecodeOptions::default()).unwrap();
    ReadTarget {
        array: Ok(Arc::new(array)),
        path: path.into(),
        dtype: meta.dtype,
        shape: meta.shape.clone(),
        storage_chunks: meta.shards.clone().unwrap_or(meta.chunks),
        sharded: meta.shards.is_some(),
        direct: rustytree::read::direct::supports(&meta.codecs, meta.dtype)
            .filter(|_| meta.shards.is_none()),
        plan: Arc::new(plan),
    }
}

/// The sharded array at `/a` holding `shard(entry0)`.
async fn sharded(entry0: (u64, u64)) -> ReadTarget {
    target(SHARDED, "/a", "a/c/0/0", shard(entry0)).await
}

/// `err` has one of `codes` and names the array at `path`.
fn assert_coded(err: &RtError, codes: &[&str], path: &str) {
    assert!(
        codes.contains(&err.code()),
        "[{}] {}",
        err.code(),
        err.message()
    );
    assert!(
        err.message().contains(&format!("{path:?}")),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn an_intact_shard_reads_back() {
    // The control for the test below: the hand-built shard is what the reader expects.
    let t = sharded((0, 16)).await;
    let limit = Arc::new(Semaphore::new(4));
    let all = read_region(&t, &[0, 0], &[4, 4], &limit).await.unwrap();
    assert_eq!(
        all,
        TypedData::I32(vec![
            0, 1, 10, 11, 2, 3, 12, 13, 20, 21, 30, 31, 22, 23, 32, 33
        ])
    );
}

/// Finding F1 (`chunk_decode`): a shard index entry that points past the end of the shard. Read
/// whole, the shard is at hand; read in part, the reader asks the store for the shard's size beside its
/// index. Either way the entry is checked against the shard before zarrs sees it, so both are
/// `ERR_DECODE` (the data, not the storage, is at fault; a partial read was `ERR_STORAGE` before), naming
/// the array and chunk; inner chunks whose entries are sound no longer read either, since the shard's
/// index is corrupt.
#[tokio::test]
async fn a_shard_index_entry_past_the_end_is_a_coded_error() {
    let t = sharded((1 << 50, 16)).await;
    let limit = Arc::new(Semaphore::new(4));
    let whole = read_region(&t, &[0, 0], &[4, 4], &limit).await.unwrap_err();
    let part = read_region(&t, &[0, 0], &[1, 1], &limit).await.unwrap_err();
    let other = read_region(&t, &[2, 2], &[4, 4], &limit).await.unwrap_err();
    for err in [&whole, &part, &other] {
        assert_eq!(err.code(), "ERR_DECODE", "{}", err.message());
        assert!(
            err.message().contains("\"/a\", chunk [0, 0]"),
            "{}",
            err.message()
        );
        assert!(
            err.message().contains("ends past the 128-byte shard"),
            "{}",
            err.message()
        );
    }
}

/// Findings F4 (`shard_index`) and F5 (`chunk_decode`): a shard index entry whose offset + length
/// exceeds `u64::MAX`. The whole-shard decode in zarrs 0.23.14 adds them unchecked and panics (F4), and
/// `source::object::get_range` did when part of the shard was read by byte range (F5, fixed: it
/// saturates). The reader now checks every entry before zarrs sees the index, so both reads are
/// `ERR_DECODE` naming the array (F4 was `ERR_INTERNAL`).
#[tokio::test]
async fn a_shard_index_entry_that_overflows_is_a_coded_error() {
    let t = sharded((u64::MAX - 8, 16)).await;
    let limit = Arc::new(Semaphore::new(4));
    let whole = read_region(&t, &[0, 0], &[4, 4], &limit).await.unwrap_err();
    let part = read_region(&t, &[0, 0], &[1, 1], &limit).await.unwrap_err();
    for err in [&whole, &part] {
        assert_coded(err, &["ERR_DECODE"], "/a");
        assert!(err.message().contains("overflows"), "{}", err.message());
    }
}

/// Finding F3 (`chunk_decode`): zarrs 0.23.14's `vlen-utf8` decoder slices past the end of a chunk whose
/// length prefixes overrun it, and panics (`ERR_INTERNAL`). The reader now checks the lengths first
/// (`codecs::vlen`): `ERR_DECODE`, whole or in part.
#[tokio::test]
async fn a_vlen_utf8_chunk_with_an_overlong_string_is_a_coded_error() {
    let doc = r#"{
        "zarr_format": 3, "node_type": "array", "shape": [2], "data_type": "string",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        "chunk_key_encoding": {"name": "default"}, "fill_value": "",
        "codecs": [{"name": "vlen-utf8", "configuration": {}}]
    }"#;
    // Two strings, "a" and "b", each behind its u32 length; the second length is `second_len`.
    let chunk = |second_len: u32| {
        [
            &2u32.to_le_bytes()[..],
            &1u32.to_le_bytes(),
            b"a",
            &second_len.to_le_bytes(),
            b"b",
        ]
        .concat()
    };
    let (good, bad) = (chunk(1), chunk(1000));
    let limit = Arc::new(Semaphore::new(4));
    let t = target(doc, "/s", "s/c/0", good).await;
    assert_eq!(
        read_region(&t, &[0], &[2], &limit).await.unwrap(),
        TypedData::Str(vec!["a".into(), "b".into()])
    );
    let t = target(doc, "/s", "s/c/0", bad).await;
    for (start, stop) in [(0, 2), (1, 2)] {
        let err = read_region(&t, &[start], &[stop], &limit)
            .await
            .unwrap_err();
        assert_coded(&err, &["ERR_DECODE"], "/s");
        assert!(
            err.message().contains("string 1 claims 1000 bytes"),
            "{}",
            err.message()
        );
    }
}
