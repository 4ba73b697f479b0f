//! Helpers shared by the fuzz targets: one tokio runtime per process, in-memory stores, the framing of
//! two-part inputs, and zarrs arrays built the way `tree.rs` builds them.

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rustytree::cf::VariablePlan;
use rustytree::error::RtError;
use rustytree::hierarchy::{ArrayMeta, WalkOptions};
use rustytree::read::ReadTarget;
use rustytree::source::object::ObjectStoreAdapter;
use serde_json::Value;
use zarrs::array::{Array, ArrayMetadata};
use zarrs::storage::{AsyncReadableListableStorage, AsyncReadableStorageTraits};

/// Chunks above this many elements are skipped: a fuzzed `chunk_shape` of 2^40 would only measure
/// the allocator (read.rs guards selections, not a single chunk's decode buffer, which zarrs sizes).
pub const MAX_CHUNK_ELEMENTS: u64 = 1 << 16;

/// A current-thread runtime: the targets are single-threaded, and spawned chunk tasks still run on it.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Splits `[len: u16 LE][head: len bytes][tail]`; a short input gives everything to the head.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 2 {
        return (data, &[]);
    }
    let len = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let rest = &data[2..];
    rest.split_at(len.min(rest.len()))
}

/// An in-memory object store holding `files`.
pub fn memory(files: &[(String, Bytes)]) -> Arc<InMemory> {
    memory_on(runtime(), files)
}

/// [`memory`], filled on the given runtime.
pub fn memory_on(rt: &tokio::runtime::Runtime, files: &[(String, Bytes)]) -> Arc<InMemory> {
    let store = Arc::new(InMemory::new());
    rt.block_on(async {
        for (key, bytes) in files {
            store
                .put(&Path::from(key.as_str()), PutPayload::from(bytes.clone()))
                .await
                .expect("in-memory put");
        }
    });
    store
}

/// zarrs' view of an object store, through the crate's own adapter, for walks.
pub fn zarrs_store(store: Arc<dyn ObjectStore>) -> AsyncReadableListableStorage {
    Arc::new(ObjectStoreAdapter::for_chunks(store))
}

/// The same view, for arrays.
pub fn chunk_store(store: Arc<dyn ObjectStore>) -> Arc<dyn AsyncReadableStorageTraits> {
    Arc::new(ObjectStoreAdapter::for_chunks(store))
}

/// zarr-python writes `numcodecs.gzip` / `numcodecs.zstd` where zarrs knows the core codecs; the open
/// renames them (tree.rs), so the harness does too or the fixture seeds would never reach a decoder.
pub fn rename_numcodecs(codecs: &mut Value) {
    let Value::Array(list) = codecs else { return };
    for codec in list {
        let Some(obj) = codec.as_object_mut() else {
            continue;
        };
        let renamed = match obj.get("name").and_then(Value::as_str) {
            Some("numcodecs.gzip") => Some(("gzip", "level", Value::from(5))),
            Some("numcodecs.zstd") => Some(("zstd", "level", Value::from(0))),
            Some("sharding_indexed") => {
                if let Some(config) = obj.get_mut("configuration") {
                    for inner in ["codecs", "index_codecs"] {
                        if let Some(c) = config.get_mut(inner) {
                            rename_numcodecs(c);
                        }
                    }
                }
                None
            }
            _ => None,
        };
        if let Some((name, key, default)) = renamed {
            let config = obj.get("configuration").cloned().unwrap_or(Value::Null);
            let mut new_config = serde_json::Map::new();
            new_config.insert(key.into(), config.get(key).cloned().unwrap_or(default));
            if name == "zstd" {
                let checksum = config
                    .get("checksum")
                    .cloned()
                    .unwrap_or(Value::from(false));
                new_config.insert("checksum".into(), checksum);
            }
            obj.insert("name".into(), Value::from(name));
            obj.insert("configuration".into(), Value::Object(new_config));
        }
    }
}

/// The whole hierarchy from the root, as `openDatatree` with no options asks for it.
pub fn walk_everything() -> WalkOptions {
    WalkOptions {
        group: "/".into(),
        filter: None,
        descend: true,
        max_concurrency: 4,
        listable: false,
    }
}

/// What `read::read_region` needs for `array` at `/fuzz`, as `tree.rs` fills it in from `meta`.
pub fn read_target(
    array: Array<dyn AsyncReadableStorageTraits>,
    meta: &ArrayMeta,
    plan: VariablePlan,
) -> ReadTarget {
    ReadTarget {
        array: Ok(Arc::new(array)),
        path: "/fuzz".into(),
        dtype: meta.dtype,
        shape: meta.shape.clone(),
        storage_chunks: meta.shards.clone().unwrap_or_else(|| meta.chunks.clone()),
        sharded: meta.shards.is_some(),
        direct: rustytree::read::direct::supports(&meta.codecs, meta.dtype)
            .filter(|_| meta.shards.is_none()),
        plan: Arc::new(plan),
    }
}

/// A zarrs array from a parsed document, as `tree::build_array` makes one.
pub fn build_array(
    mut document: Value,
    path: &str,
    store: Arc<dyn AsyncReadableStorageTraits>,
) -> Result<Array<dyn AsyncReadableStorageTraits>, RtError> {
    if let Some(codecs) = document.get_mut("codecs") {
        rename_numcodecs(codecs);
    }
    let metadata: ArrayMetadata =
        serde_json::from_value(document).map_err(|e| RtError::InvalidMetadata(e.to_string()))?;
    Array::new_with_metadata(store, path, metadata)
        .map_err(|e| RtError::UnsupportedCodec(e.to_string()))
}

/// The codes a parser or reader may answer bad input with; anything else (`ERR_INTERNAL` above all)
/// means the input reached a state the code did not expect.
pub fn assert_input_error(e: &RtError, allowed: &[&str]) {
    assert!(
        allowed.contains(&e.code()),
        "unexpected error code {}: {}",
        e.code(),
        e.message()
    );
}
