//! icechunk's readers as the crate drives them: a fixture repository held in memory, one of its
//! metadata files (the `repo` file, a snapshot, a manifest, a V1 ref or config) replaced by the fuzzed
//! bytes, then `icechunk::open` (the 2-request V2 path, or `Repository` for V1), the hierarchy from the
//! snapshot's documents, and the first chunk of the first few arrays fetched through the session
//! (which reads their manifests).
//!
//! Input: `[selector][file bytes]`; the selector picks the repository (bit 7) and the file (the rest,
//! modulo the number of metadata files, sorted by key).

#![no_main]

#[path = "common.rs"]
mod common;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rustytree::hierarchy::{NodeMeta, from_documents, node};
use rustytree::icechunk::{ReaderSettings, VersionSelector, open, storage_over};
use zarrs::storage::AsyncReadableStorageTraits;

struct Fixture {
    files: Vec<(String, Bytes)>,
    /// Indices into `files` of the metadata files the fuzzer may replace.
    replaceable: Vec<usize>,
    v2: bool,
}

fn load(dir: &Path) -> Fixture {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("fixture directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let key = path
                    .strip_prefix(dir)
                    .expect("under the fixture")
                    .to_string_lossy()
                    .into_owned();
                files.push((
                    key,
                    Bytes::from(std::fs::read(&path).expect("fixture file")),
                ));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let replaceable = files
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| {
            k == "repo"
                || k == "config.yaml"
                || ["snapshots/", "manifests/", "refs/"]
                    .iter()
                    .any(|p| k.starts_with(p))
        })
        .map(|(i, _)| i)
        .collect();
    let v2 = files.iter().any(|(k, _)| k == "repo");
    Fixture {
        files,
        replaceable,
        v2,
    }
}

fn fixtures() -> &'static [Fixture; 2] {
    static FIXTURES: OnceLock<[Fixture; 2]> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/icechunk");
        [
            load(&root.join("small.icechunk")),
            load(&root.join("radar_v1.icechunk")),
        ]
    })
}

/// icechunk runs parts of a session on tokio's blocking pool; a multi-thread runtime like the addon's.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Codes a damaged repository may be answered with (icechunk's errors are classified as storage
/// errors; a damaged ref can also name a branch or snapshot that is not there).
const OPEN_ERRORS: &[&str] = &[
    "ERR_STORAGE",
    "ERR_NOT_FOUND",
    "ERR_PERMISSION_DENIED",
    "ERR_INVALID_ARGUMENT",
];

fuzz_target!(|data: &[u8]| {
    let [selector, replacement @ ..] = data else {
        return;
    };
    let fixture = &fixtures()[usize::from(selector >> 7)];
    let replaced = fixture.replaceable[usize::from(selector & 0x7f) % fixture.replaceable.len()];
    let mut files = fixture.files.clone();
    files[replaced].1 = Bytes::copy_from_slice(replacement);
    let objects = common::memory_on(runtime(), &files);
    let storage = storage_over(objects, "fuzz".into());
    runtime().block_on(async {
        let opened = match open(
            storage,
            fixture.v2,
            &VersionSelector::default(),
            4,
            &ReaderSettings::default(),
        )
        .await
        {
            Ok(o) => o,
            Err(e) => {
                common::assert_input_error(&e, OPEN_ERRORS);
                return;
            }
        };
        if let Err(e) = from_documents(&opened.documents, &common::walk_everything()) {
            common::assert_input_error(
                &e,
                &[
                    "ERR_INVALID_METADATA",
                    "ERR_UNSUPPORTED_FORMAT",
                    "ERR_UNSUPPORTED_DTYPE",
                    "ERR_NOT_FOUND",
                    "ERR_INVALID_ARGUMENT",
                ],
            );
        }
        // The first four nodes are enough to reach the manifests; every fetch decodes one, and the
        // V1 fixture has dozens of arrays.
        for (path, doc) in opened.documents.iter().take(4) {
            let Ok(NodeMeta::Array(meta)) = node::parse_bytes(doc, path) else {
                continue;
            };
            let Ok(array) =
                common::build_array(meta.document, path, Arc::clone(&opened.store).readable())
            else {
                continue;
            };
            let key = array.chunk_key(&vec![0; meta.shape.len()]);
            // A damaged manifest must fail this fetch, not the process.
            let _ = opened.store.get(&key).await;
        }
    });
});
