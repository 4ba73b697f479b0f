//! `zarr.json` parsing and validation: one node's document (`hierarchy::node::parse_bytes`), the CF plan
//! and the zarrs array built from an array document, and, for a group, the walk over its consolidated
//! metadata (`hierarchy::walk_from` with the root document already fetched, over an empty store).

#![no_main]

#[path = "common.rs"]
mod common;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rustytree::cf::{DecodeOptions, VariablePlan};
use rustytree::hierarchy::{NodeMeta, node, walk_from};

fuzz_target!(|data: &[u8]| {
    match node::parse_bytes(data, "/fuzz") {
        Ok(NodeMeta::Array(a)) => {
            assert_eq!(a.chunks.len(), a.shape.len());
            assert_eq!(a.dims.len(), a.shape.len());
            if let Some(shards) = &a.shards {
                assert_eq!(shards.len(), a.shape.len());
            }
            for options in [
                DecodeOptions::default(),
                DecodeOptions {
                    decode_timedelta: Some(true),
                    ..DecodeOptions::default()
                },
            ] {
                if let Err(e) = VariablePlan::new("/fuzz", a.dtype, &a.attrs, options) {
                    common::assert_input_error(&e, &["ERR_CF_DECODE"]);
                }
            }
            // The attributes as JavaScript receives them, their text copied through.
            let sent = serde_json::to_string(&a.attrs).expect("attributes serialise");
            assert!(serde_json::from_str::<serde_json::Value>(&sent).is_ok_and(|v| v.is_object()));
            let store = common::chunk_store(common::memory(&[]));
            let _ = common::build_array(a.document, "/fuzz", store);
        }
        Ok(NodeMeta::Group(_)) => {
            let store = common::zarrs_store(common::memory(&[]));
            let options = common::walk_everything();
            let root = Some(Some(Bytes::copy_from_slice(data)));
            match common::runtime().block_on(walk_from(&store, None, &options, root)) {
                Ok(h) => {
                    assert!(h.groups.contains_key("/"));
                    for (path, g) in &h.groups {
                        assert_eq!(path, &g.path);
                    }
                }
                Err(e) => common::assert_input_error(
                    &e,
                    &[
                        "ERR_INVALID_METADATA",
                        "ERR_UNSUPPORTED_FORMAT",
                        "ERR_UNSUPPORTED_DTYPE",
                        "ERR_NOT_FOUND",
                    ],
                ),
            }
        }
        Err(e) => common::assert_input_error(
            &e,
            &[
                "ERR_INVALID_METADATA",
                "ERR_UNSUPPORTED_FORMAT",
                "ERR_UNSUPPORTED_DTYPE",
            ],
        ),
    }
});
