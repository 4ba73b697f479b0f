//! The hierarchy built from consolidated metadata (`hierarchy::walk_from` with the root document given,
//! over an empty store): a fuzzed set of keys, each a group or an array, consolidated into the root
//! `zarr.json`, optionally opened at a group, as a dataset, or through a filter. The walk either fails
//! with a code for bad metadata or builds a tree in which every group but the opened one has its parent,
//! is listed among that parent's children, and every child list is sorted, without repeats, of groups
//! that exist.
//!
//! Input: `[flags][lines]`: one key per line (lossy UTF-8); a key starting with `@` is an array. Flag
//! bit 0: open as a dataset (`openDataset`); bit 1: the first line is a `groupFilter`; bit 2: the next
//! line is the group to open (its own `zarr.json` is in the store too).

#![no_main]

#[path = "common.rs"]
mod common;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rustytree::hierarchy::{GroupFilter, Hierarchy, WalkOptions, path, walk_from};
use serde_json::{Map, Value, json};

fn array_document() -> Value {
    json!({
        "zarr_format": 3, "node_type": "array", "shape": [2], "data_type": "int8",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0, "codecs": [{"name": "bytes"}], "attributes": {}
    })
}

fn root_document(keys: &[&str]) -> Vec<u8> {
    let mut metadata = Map::new();
    for key in keys {
        let (key, doc) = match key.strip_prefix('@') {
            Some(array) => (array, array_document()),
            None => (
                *key,
                json!({"zarr_format": 3, "node_type": "group", "attributes": {}}),
            ),
        };
        metadata.insert(key.to_owned(), doc);
    }
    serde_json::to_vec(&json!({
        "zarr_format": 3, "node_type": "group", "attributes": {},
        "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": metadata}
    }))
    .expect("a JSON value serialises")
}

/// Every group but the root has its parent, and is its parent's child; children are sorted, unique and
/// exist.
fn check_tree(h: &Hierarchy) {
    assert!(
        h.groups.contains_key(&h.root),
        "the opened group {:?} is missing",
        h.root
    );
    for (path, group) in &h.groups {
        assert_eq!(path, &group.path);
        assert!(
            group.children.windows(2).all(|w| w[0] < w[1]),
            "children of {path:?} unsorted or repeated: {:?}",
            group.children
        );
        for child in &group.children {
            assert!(
                h.groups.contains_key(child),
                "{path:?} lists a missing child {child:?}"
            );
        }
        if *path == h.root {
            continue;
        }
        let parent = path
            .rsplit_once('/')
            .map(|(p, _)| if p.is_empty() { "/" } else { p });
        let parent = parent.and_then(|p| h.groups.get(p));
        let parent = parent.unwrap_or_else(|| panic!("{path:?} has no parent"));
        assert!(
            parent.children.contains(path),
            "{path:?} is not its parent's child"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let filter = if flags & 2 != 0 {
        match GroupFilter::new(lines.next().unwrap_or_default()) {
            Ok(filter) => Some(filter),
            Err(_) => return,
        }
    } else {
        None
    };
    let group = if flags & 4 != 0 {
        // As `tree::open` does: the group path is the caller's argument, checked as one.
        match path::normalize_group(lines.next().unwrap_or_default()) {
            Ok(group) => group,
            Err(_) => return,
        }
    } else {
        "/".to_owned()
    };
    let keys: Vec<&str> = lines.collect();
    let options = WalkOptions {
        group,
        filter,
        descend: flags & 1 == 0,
        ..common::walk_everything()
    };
    // The opened group's own document, which the walk fetches beside the root's.
    let own = (options.group != "/").then(|| {
        let doc = json!({"zarr_format": 3, "node_type": "group", "attributes": {}});
        (
            path::metadata_key(&options.group),
            Bytes::from(doc.to_string()),
        )
    });
    let store = common::zarrs_store(common::memory(own.as_slice()));
    let root = Some(Some(Bytes::from(root_document(&keys))));
    match common::runtime().block_on(walk_from(&store, None, &options, root)) {
        Ok(h) => {
            check_tree(&h);
            if !options.descend {
                assert_eq!(h.groups.len(), 1);
            }
        }
        Err(e) => common::assert_input_error(
            &e,
            &[
                "ERR_INVALID_METADATA",
                "ERR_NOT_FOUND",
                "ERR_UNSUPPORTED_FORMAT",
            ],
        ),
    }
});
