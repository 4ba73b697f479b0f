//! The two-request open of format V2 icechunk repositories (`icechunk::open` with `v2 = true`: the repo
//! file, then the snapshot, below icechunk's `Repository`) against the open through icechunk's own
//! `Repository::open` and session (`v2 = false`, the route format V1 takes, which reads V2 repositories
//! too). On every V2 fixture and every version its `versions.json` lists (branches, tags, snapshot ids,
//! and a branch as of a date), both must give the same snapshot, the same node documents, the same
//! hierarchy (groups, attributes, array metadata) and the same keys and chunk bytes; the fast path must
//! cost two requests.

use std::path::{Path, PathBuf};

use rustytree::hierarchy::{self, Hierarchy, WalkOptions};
use rustytree::icechunk::{self, OpenedRepository, ReaderSettings, VersionSelector};
use rustytree::source;
use serde_json::Value;
use zarrs::storage::StoreKey;

const V2_FIXTURES: [&str; 5] = [
    "radar.icechunk",
    "small.icechunk",
    "virtual.icechunk",
    "virtual_remote.icechunk",
    "empty.icechunk",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/icechunk")
        .join(name)
}

/// `main`, plus every version `<name>.versions.json` describes, and `main` as of each snapshot's
/// time (the timestamps recorded when the fixture was written).
fn selectors(name: &str) -> Vec<VersionSelector> {
    let mut out = vec![VersionSelector::default()];
    let Ok(text) = std::fs::read_to_string(fixture(&format!("{name}.versions.json"))) else {
        return out;
    };
    let versions: Value = serde_json::from_str(&text).unwrap();
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    for version in versions["versions"].as_object().unwrap().values() {
        out.push(if let Some(tag) = field(version, "tag") {
            VersionSelector {
                tag: Some(tag),
                ..VersionSelector::default()
            }
        } else if let Some(branch) = field(version, "branch") {
            VersionSelector {
                branch: Some(branch),
                ..VersionSelector::default()
            }
        } else {
            VersionSelector {
                snapshot_id: field(version, "snapshot_id"),
                ..VersionSelector::default()
            }
        });
    }
    for snapshot in versions["snapshots"].as_array().unwrap() {
        out.push(VersionSelector {
            as_of: field(snapshot, "timestamp"),
            ..VersionSelector::default()
        });
    }
    out
}

/// The repository at `selector`, opened by the fast path (`v2`) or through `Repository`, and how many
/// requests the open made.
async fn open(name: &str, v2: bool, selector: &VersionSelector) -> (OpenedRepository, u64) {
    let source = source::open_directory_objects(&fixture(name), 16).unwrap();
    let storage = icechunk::storage_over(source.object_store.clone().unwrap(), name.to_owned());
    let repo = icechunk::open(storage, v2, selector, 16, &ReaderSettings::default())
        .await
        .unwrap_or_else(|e| panic!("{name} {selector:?} (v2 = {v2}): {e}"));
    (repo, source.stats.snapshot().requests())
}

fn documents(repo: &OpenedRepository) -> Vec<(String, Value)> {
    let mut docs: Vec<(String, Value)> = repo
        .documents
        .iter()
        .map(|(path, bytes)| (path.clone(), serde_json::from_slice(bytes).unwrap()))
        .collect();
    docs.sort_by(|a, b| a.0.cmp(&b.0));
    docs
}

/// The hierarchy of the snapshot (an empty snapshot, such as "Repository initialized", has no root
/// group: `ERR_NOT_FOUND`, which both opens must agree on too).
fn tree(repo: &OpenedRepository) -> rustytree::error::Result<Hierarchy> {
    let options = WalkOptions {
        group: "/".into(),
        filter: None,
        descend: true,
        max_concurrency: 16,
        listable: true,
    };
    hierarchy::from_documents(&repo.documents, &options)
}

/// Every key of the session's store with its bytes (or the error reading it, e.g. an unauthorised
/// virtual chunk).
async fn contents(repo: &OpenedRepository) -> Vec<(String, Result<Option<Vec<u8>>, String>)> {
    let keys = repo.store.list().await.unwrap();
    let mut out = Vec::new();
    for key in keys {
        let value = repo
            .store
            .get(&StoreKey::new(key.as_str()).unwrap())
            .await
            .map(|b| b.map(|b| b.to_vec()))
            .map_err(|e| e.to_string());
        out.push((key.as_str().to_owned(), value));
    }
    out
}

#[tokio::test]
async fn the_two_request_open_and_repository_open_give_the_same_tree() {
    let (mut compared, mut nodes, mut chunks) = (0, 0, 0);
    for name in V2_FIXTURES {
        for selector in selectors(name) {
            let what = format!("{name} {selector:?}");
            let (fast, requests) = open(name, true, &selector).await;
            let (slow, _) = open(name, false, &selector).await;
            assert_eq!(requests, 2, "{what}: the repo file and the snapshot");
            assert_eq!(fast.spec_version, 2, "{what}");
            assert_eq!(fast.snapshot_id, slow.snapshot_id, "{what}");
            let docs = documents(&fast);
            assert_eq!(docs, documents(&slow), "{what}");
            nodes += docs.len();
            // Groups, children, attributes and every array's parsed metadata (dtype, shape, chunks,
            // shards, dimensions, fill value, codecs, the document zarrs is given).
            assert_eq!(
                format!("{:#?}", tree(&fast)),
                format!("{:#?}", tree(&slow)),
                "{what}"
            );
            let (fast_contents, slow_contents) = (contents(&fast).await, contents(&slow).await);
            assert!(
                fast_contents.len() >= docs.len(),
                "{what}: every node's zarr.json is a key"
            );
            chunks += fast_contents.len() - docs.len();
            assert_eq!(fast_contents, slow_contents, "{what}");
            compared += 1;
        }
    }
    // main of all five; radar's main, dev, tag and snapshot id, and main as of each of its five snapshots'
    // times (the first, "Repository initialized", is empty); small's main, and as of its two snapshots.
    assert_eq!(compared, 17);
    assert!(
        nodes > 200 && chunks > 500,
        "{nodes} nodes, {chunks} chunk keys"
    );
}
