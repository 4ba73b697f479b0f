//! The listing walk over object storage (`hierarchy::listing`), on `object_store`'s in-memory store
//! holding the documents zarr-python wrote for `fixtures/stores/nexrad_unconsolidated.zarr`: the walk
//! must find the same tree as the plain walk of the directory on disk, with the request counts its design
//! promises, whether or not a subtree fits in one page of a recursive listing.

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use rustytree::hierarchy::listing::UNKNOWN_KIND_BUDGET;
use rustytree::hierarchy::{GroupFilter, Hierarchy, WalkOptions, walk, walk_from};
use rustytree::source::{self, Source};

fn fixture() -> PathBuf {
    FsPath::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stores/nexrad_unconsolidated.zarr")
}

fn files(dir: &FsPath, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The fixture's files (documents and chunks) plus `extra` (key, bytes) objects, in a fresh in-memory
/// store behind the request counters and the request cap.
async fn object_source(extra: &[(String, Vec<u8>)]) -> Source {
    let memory = InMemory::new();
    let root = fixture();
    let mut all = Vec::new();
    files(&root, &mut all);
    for file in all {
        let key = file
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = std::fs::read(&file).unwrap();
        memory
            .put(&Path::parse(&key).unwrap(), PutPayload::from(bytes))
            .await
            .unwrap();
    }
    for (key, bytes) in extra {
        memory
            .put(&Path::parse(key).unwrap(), PutPayload::from(bytes.clone()))
            .await
            .unwrap();
    }
    source::wrap_object_store(Arc::new(memory), "memory".into(), 64, true)
}

fn options(filter: Option<&str>) -> WalkOptions {
    WalkOptions {
        group: "/".into(),
        filter: filter.map(|f| GroupFilter::new(f).unwrap()),
        descend: true,
        max_concurrency: 64,
        listable: true,
    }
}

/// Every group with its sorted array names and children: what two walks must agree on.
fn shape(h: &Hierarchy) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    h.groups
        .iter()
        .map(|(p, g)| {
            (
                p.clone(),
                (g.arrays.keys().cloned().collect(), g.children.clone()),
            )
        })
        .collect()
}

async fn on_disk(filter: Option<&str>) -> Hierarchy {
    let local = source::open_directory(&fixture(), 64).unwrap();
    walk(&local.store, &options(filter)).await.unwrap()
}

async fn over_objects(source: &Source, filter: Option<&str>) -> Hierarchy {
    walk_from(
        &source.store,
        source.object_store.as_ref(),
        &options(filter),
        None,
    )
    .await
    .unwrap()
}

fn group_count(h: &Hierarchy) -> u64 {
    h.groups.len() as u64
}

fn node_count(h: &Hierarchy) -> u64 {
    group_count(h)
        + h.groups
            .values()
            .map(|g| g.arrays.len() as u64)
            .sum::<u64>()
}

#[tokio::test]
async fn a_store_that_fits_one_page_is_listed_twice_and_read_once_per_node() {
    let expected = on_disk(None).await;
    assert!(group_count(&expected) > 3, "the fixture has nested groups");
    let source = object_source(&[]).await;
    let walked = over_objects(&source, None).await;
    assert_eq!(shape(&walked), shape(&expected));
    let stats = source.stats.snapshot();
    // The root, delimited and recursively; the recursive listing names every node, so no group below
    // the root is listed, and each node's document is read once.
    assert_eq!(stats.lists, 2, "{stats:?}");
    assert_eq!(stats.gets, node_count(&expected), "{stats:?}");
}

#[tokio::test]
async fn a_subtree_larger_than_a_page_falls_back_to_delimited_listings() {
    let expected = on_disk(None).await;
    // 1,200 more chunk keys under the first sweep's reflectivity: the root's recursive listing no longer
    // fits one page, nor does that VCP's or that sweep's, while the other VCPs' still do.
    let first_vcp = expected.groups["/"].children[0].clone();
    let first_sweep = expected.groups[&first_vcp].children[0].clone();
    let extra: Vec<(String, Vec<u8>)> = (0..1200)
        .map(|i| {
            (
                format!("{}/DBZH/c/9/{i}/0", &first_sweep[1..]),
                vec![0u8; 4],
            )
        })
        .collect();
    let source = object_source(&extra).await;
    let walked = over_objects(&source, None).await;
    assert_eq!(shape(&walked), shape(&expected));
    let stats = source.stats.snapshot();
    // Every child directory (group or array) of a group, each listed recursively at most once.
    let kids =
        |g: &str| (expected.groups[g].children.len() + expected.groups[g].arrays.len()) as u64;
    // The root, delimited and recursively (too big); each of its children recursively (all fit but the
    // first VCP); the first VCP delimited, and each of its children recursively (all fit but the big
    // sweep); the big sweep delimited, and each of its arrays recursively (all fit but the one with the
    // extra chunks). Nothing is read twice.
    assert_eq!(
        stats.lists,
        2 + kids("/") + 1 + kids(&first_vcp) + 1 + kids(&first_sweep),
        "{stats:?}"
    );
    assert_eq!(stats.gets, node_count(&expected), "{stats:?}");
}

#[tokio::test]
async fn the_group_filter_prunes_subtrees_found_by_a_recursive_listing() {
    let first_vcp = on_disk(None).await.groups["/"].children[0].clone();
    let filter = format!("{}/*", &first_vcp[1..]);
    let expected = on_disk(Some(&filter)).await;
    let source = object_source(&[]).await;
    let walked = over_objects(&source, Some(&filter)).await;
    assert_eq!(shape(&walked), shape(&expected));
    assert!(
        walked
            .groups
            .keys()
            .all(|g| g == "/" || g.starts_with(&first_vcp))
    );
    // Documents below the other VCPs are not read: only the root's, every VCP's (their own documents
    // say whether they are groups), and the first VCP's subtree.
    let vcps = expected.groups.len() as u64;
    assert!(source.stats.snapshot().gets < node_count(&on_disk(None).await) - vcps);
}

#[tokio::test]
async fn documents_outside_the_tree_are_not_nodes() {
    let expected = on_disk(None).await;
    let group = br#"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#.to_vec();
    let some_array = expected
        .groups
        .values()
        .find_map(|g| g.arrays.keys().next().map(|a| (g.path.clone(), a.clone())))
        .unwrap();
    let under_array = format!("{}/{}/inner/zarr.json", &some_array.0[1..], some_array.1);
    let under_array = under_array.trim_start_matches('/').to_owned();
    // A group below a folder without zarr.json, and a group document below an array: the directory walk
    // never reaches either, so neither may the recursive listing.
    let extra = vec![
        ("stray/orphan/zarr.json".to_owned(), group.clone()),
        (under_array, group),
    ];
    let source = object_source(&extra).await;
    let walked = over_objects(&source, None).await;
    assert_eq!(shape(&walked), shape(&expected));
}

#[tokio::test]
async fn a_store_of_big_arrays_wastes_a_bounded_number_of_listings() {
    // 40 arrays at the root, each with 1,100 chunk keys: every recursive listing below the root is a
    // wasted page, and only so many may be started.
    let root = fixture();
    let group = std::fs::read(root.join("zarr.json")).unwrap();
    let first_vcp = on_disk(None).await.groups["/"].children[0].clone();
    let first_sweep = on_disk(None).await.groups[&first_vcp].children[0].clone();
    let array = std::fs::read(root.join(&first_sweep[1..]).join("DBZH/zarr.json")).unwrap();
    let memory = InMemory::new();
    memory
        .put(&Path::parse("zarr.json").unwrap(), PutPayload::from(group))
        .await
        .unwrap();
    for a in 0..40 {
        let doc = PutPayload::from(array.clone());
        memory
            .put(&Path::parse(format!("big{a:02}/zarr.json")).unwrap(), doc)
            .await
            .unwrap();
        for c in 0..1100 {
            let key = Path::parse(format!("big{a:02}/c/0/{c}/0")).unwrap();
            memory
                .put(&key, PutPayload::from(vec![0u8; 4]))
                .await
                .unwrap();
        }
    }
    let source = source::wrap_object_store(Arc::new(memory), "memory".into(), 64, true);
    let walked = over_objects(&source, None).await;
    assert_eq!(walked.groups["/"].arrays.len(), 40);
    let stats = source.stats.snapshot();
    // The root, delimited and recursively (its page is full), then recursive listings of arrays only
    // while fewer than the budget are in flight or wasted: the root's counts as the first.
    assert_eq!(
        stats.lists,
        2 + (UNKNOWN_KIND_BUDGET as u64 - 1),
        "{stats:?}"
    );
    assert_eq!(stats.gets, 41, "{stats:?}");
}
