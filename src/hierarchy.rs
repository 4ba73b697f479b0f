//! The hierarchy walk: every group and array under the opened group, with their metadata, in as few
//! sequential round trips as the store allows.
//!
//! With consolidated metadata (zarr-python's inline `consolidated_metadata` in the root `zarr.json`) the
//! whole tree comes from one request. Without it, [`listing`] finds the nodes by listing the store, so its
//! latency grows with the depth, not the node count.

pub mod attrs;
pub mod filter;
pub mod listing;
pub mod node;
pub mod path;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use object_store::ObjectStore;
use rayon::prelude::*;
use zarrs::storage::{AsyncReadableListableStorage, StoreKey};

use crate::error::{Result, RtError, storage_error};
pub use attrs::Attrs;
pub use filter::GroupFilter;
pub use node::{ArrayMeta, Consolidated, GroupMeta, NodeMeta};

/// What to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Normalised path of the group to open (`/` for the root).
    pub group: String,
    /// Keep only matching groups and their ancestors (paths relative to `group`).
    pub filter: Option<GroupFilter>,
    /// Whether to descend below `group` at all (`false` for `openDataset`).
    pub descend: bool,
    /// Maximum number of concurrent store requests.
    pub max_concurrency: usize,
    /// Whether the store can list keys; without listing, consolidated metadata is required.
    pub listable: bool,
}

/// A group and its arrays, as found by the walk.
#[derive(Debug, Clone)]
pub struct GroupEntry {
    /// Store path of the group (`/VCP-12`).
    pub path: String,
    /// Group attributes.
    pub attrs: Attrs,
    /// Arrays directly in this group, by name (sorted).
    pub arrays: BTreeMap<String, ArrayMeta>,
    /// Store paths of child groups (sorted).
    pub children: Vec<String>,
}

/// The result of a walk: the opened group and every kept group below it.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// Store path of the opened group, the root of the result.
    pub root: String,
    /// Every kept group by store path, the root included.
    pub groups: BTreeMap<String, GroupEntry>,
    /// Whether the metadata came from consolidated metadata.
    pub consolidated: bool,
}

/// Walks the hierarchy under `options.group`.
///
/// # Errors
/// `ERR_NOT_FOUND` when the store or group does not exist; `ERR_UNSUPPORTED_FORMAT` for Zarr v2;
/// `ERR_INVALID_METADATA` / `ERR_UNSUPPORTED_DTYPE` for bad node metadata; `ERR_STORAGE` for I/O errors.
pub async fn walk(
    store: &AsyncReadableListableStorage,
    options: &WalkOptions,
) -> Result<Hierarchy> {
    walk_from(store, None, options, None).await
}

/// Like [`walk`], with the root `zarr.json` already fetched (`Some(None)`: fetched, and absent), so a
/// caller that fetched it alongside something else does not pay for it twice. `objects` is the same store
/// as an object store, when it lives in object storage: the listing walk then also lists subtrees
/// recursively (see [`listing`]).
///
/// # Errors
/// As [`walk`].
pub async fn walk_from(
    store: &AsyncReadableListableStorage,
    objects: Option<&Arc<dyn ObjectStore>>,
    options: &WalkOptions,
    root: Option<Option<bytes::Bytes>>,
) -> Result<Hierarchy> {
    let group = options.group.as_str();
    let fetch_root = async {
        match root {
            Some(Some(bytes)) => node::parse_bytes(&bytes, "/").map(Some),
            Some(None) => Ok(None),
            None => fetch_node(store, "/").await,
        }
    };
    // The root document may hold consolidated metadata for the whole tree; the group's own document is
    // needed anyway when there is none. Fetch both at once so either case costs one round trip.
    let (mut root_doc, group_doc) = if group == "/" {
        (fetch_root.await?, None)
    } else {
        let (r, g) = futures::join!(fetch_root, fetch_node(store, group));
        // A root that fails to parse does not stop us opening a valid group below it.
        (r.ok().flatten(), Some(g?))
    };
    // The root's consolidated metadata is taken out first: it is the bulk of the document and is only
    // read once, below.
    let root_entries = match &mut root_doc {
        Some(NodeMeta::Group(g)) => g.consolidated.take(),
        _ => None,
    };
    let opened = match (group_doc, root_doc) {
        (Some(doc), _) => doc,
        (None, root) => root,
    };
    let Some(opened) = opened else {
        return Err(missing_store_error(store, group).await);
    };
    let mut opened_group = match opened {
        NodeMeta::Group(g) => g,
        NodeMeta::Array(_) => {
            return Err(RtError::NotFound(format!(
                "{group:?} is an array, not a group"
            )));
        }
    };

    let consolidated = match root_entries {
        Some(entries) => Some(("/", entries)),
        None => opened_group.consolidated.take().map(|e| (group, e)),
    };
    let mut hierarchy = Hierarchy {
        root: group.to_owned(),
        groups: BTreeMap::new(),
        consolidated: consolidated.is_some(),
    };
    hierarchy
        .groups
        .insert(group.to_owned(), empty_entry(group, opened_group.attrs));
    if let Some((base, entries)) = consolidated {
        let nodes = flatten_consolidated(base, entries)?;
        if group != "/" && base == "/" && !nodes.contains_key(group) {
            return Err(RtError::NotFound(format!("no group at {group:?}")));
        }
        add_listed_nodes(&mut hierarchy, nodes, options)?;
    } else if options.listable {
        listing::walk_listing(store, objects, &mut hierarchy, options).await?;
    } else {
        return Err(RtError::UnsupportedFormat(format!(
            "{group:?} has no consolidated metadata, and this source cannot be listed (a plain HTTP \
             server); consolidate the store (zarr.consolidate_metadata) or read it from object storage"
        )));
    }
    prune(&mut hierarchy, options.filter.as_ref());
    Ok(hierarchy)
}

/// Builds the hierarchy from every node's `zarr.json` listed up front (an icechunk snapshot holds them
/// all), so no per-node request is made. `documents` are (node path, `zarr.json` bytes) pairs.
///
/// # Errors
/// `ERR_NOT_FOUND` when `options.group` is not a group in the listing; `ERR_INVALID_METADATA` /
/// `ERR_UNSUPPORTED_FORMAT` for bad documents.
pub fn from_documents<B: AsRef<[u8]> + Sync>(
    documents: &[(String, B)],
    options: &WalkOptions,
) -> Result<Hierarchy> {
    // Parsing is most of an icechunk open's CPU time (about 20 µs a document): spread it over the cores.
    // Results are taken in order, so the error reported for a bad repository is always the same one.
    let parsed: Vec<Result<(String, NodeMeta)>> = documents
        .par_iter()
        .map(|(raw_path, bytes)| {
            let node_path = path::normalize(raw_path)?;
            let node = node::parse_bytes(bytes.as_ref(), &node_path)?;
            Ok((node_path, node))
        })
        .collect();
    let mut nodes = BTreeMap::new();
    for result in parsed {
        let (node_path, node) = result?;
        nodes.insert(node_path, node);
    }
    let group = options.group.as_str();
    let attrs = match nodes.remove(group) {
        Some(NodeMeta::Group(g)) => g.attrs,
        Some(NodeMeta::Array(_)) => {
            return Err(RtError::NotFound(format!(
                "{group:?} is an array, not a group"
            )));
        }
        None => return Err(RtError::NotFound(format!("no group at {group:?}"))),
    };
    let mut hierarchy = Hierarchy {
        root: group.to_owned(),
        groups: BTreeMap::new(),
        consolidated: false,
    };
    hierarchy
        .groups
        .insert(group.to_owned(), empty_entry(group, attrs));
    add_listed_nodes(&mut hierarchy, nodes, options)?;
    prune(&mut hierarchy, options.filter.as_ref());
    Ok(hierarchy)
}

/// Adds every node below the hierarchy's root from a complete listing (consolidated metadata or a
/// snapshot); `openDataset` keeps only the root group's own arrays.
fn add_listed_nodes(
    hierarchy: &mut Hierarchy,
    nodes: BTreeMap<String, NodeMeta>,
    options: &WalkOptions,
) -> Result<()> {
    let group = hierarchy.root.clone();
    for (node_path, node) in nodes {
        if node_path != group && path::is_within(&node_path, &group) {
            insert_node(hierarchy, &node_path, node, options)?;
        }
    }
    sort_children(hierarchy);
    if !options.descend {
        if let Some(entry) = hierarchy.groups.get_mut(&group) {
            entry.children.clear();
        }
        hierarchy.groups.retain(|p, _| *p == group);
    }
    Ok(())
}

fn empty_entry(path: &str, attrs: Attrs) -> GroupEntry {
    GroupEntry {
        path: path.to_owned(),
        attrs,
        arrays: BTreeMap::new(),
        children: Vec::new(),
    }
}

/// Adds one node found by the walk (in consolidated metadata, a snapshot or a listing), creating its
/// parent chain where it is implicit. Children are appended unsorted: [`sort_children`] sorts them
/// once every node is in (sorting on every insert made 100,000 siblings quadratic).
///
/// # Errors
/// `ERR_INVALID_METADATA` for a node deeper than [`path::MAX_DEPTH`].
fn insert_node(h: &mut Hierarchy, path: &str, node: NodeMeta, options: &WalkOptions) -> Result<()> {
    check_depth(path)?;
    let Some(parent) = path::parent(path) else {
        return Ok(());
    };
    let depth_ok = options.descend || parent == h.root;
    if !depth_ok {
        return Ok(());
    }
    let rel = path::relative_to(path, &h.root);
    if let NodeMeta::Group(_) = node
        && let Some(f) = &options.filter
        && !f.may_match_at_or_below(&rel)
    {
        return Ok(());
    }
    ensure_group(h, parent);
    match node {
        NodeMeta::Group(g) => match h.groups.entry(path.to_owned()) {
            // Created as an implicit parent of an earlier node, so already its parent's child.
            Entry::Occupied(mut existing) => existing.get_mut().attrs = g.attrs,
            Entry::Vacant(vacant) => {
                vacant.insert(empty_entry(path, g.attrs));
                let parent_entry = h.groups.get_mut(parent).expect("parent ensured");
                parent_entry.children.push(path.to_owned());
            }
        },
        NodeMeta::Array(a) => {
            h.groups
                .get_mut(parent)
                .expect("parent ensured")
                .arrays
                .insert(path::name(path).to_owned(), *a);
        }
    }
    Ok(())
}

/// Refuses a node deeper than [`path::MAX_DEPTH`] levels.
///
/// # Errors
/// `ERR_INVALID_METADATA`, naming the node (its path shortened).
fn check_depth(path: &str) -> Result<()> {
    let depth = path::depth(path);
    if depth > path::MAX_DEPTH {
        return Err(RtError::InvalidMetadata(format!(
            "node {} is {depth} levels deep; the limit is {}",
            path::shortened(path),
            path::MAX_DEPTH
        )));
    }
    Ok(())
}

/// Creates the group at `path` and each missing ancestor, outermost first, each a child of its parent.
/// A loop, not a recursion: one consolidated key can name a node thousands of levels down.
fn ensure_group(h: &mut Hierarchy, path: &str) {
    let missing: Vec<&str> = std::iter::successors(Some(path), |p| path::parent(p))
        .take_while(|p| !h.groups.contains_key(*p))
        .collect();
    for group in missing.into_iter().rev() {
        if let Some(parent) = path::parent(group) {
            let parent_entry = h.groups.get_mut(parent).expect("found or created before");
            parent_entry.children.push(group.to_owned());
        }
        h.groups
            .insert(group.to_owned(), empty_entry(group, Attrs::default()));
    }
}

/// Sorts every group's children by path, once all nodes are in.
fn sort_children(h: &mut Hierarchy) {
    for entry in h.groups.values_mut() {
        entry.children.sort_unstable();
    }
}

/// Turns consolidated entries (relative keys) into absolute paths, following nested consolidated blocks.
/// Every node of consolidated metadata, by absolute path. zarr-python lists all descendants at the top
/// and repeats each group's subtree inside that group's own entry; a nested entry is parsed only when the
/// top level lacks it, so each document is parsed once. Documents are read from the text they are in,
/// never copied.
fn flatten_consolidated(
    base: &str,
    consolidated: Consolidated,
) -> Result<BTreeMap<String, NodeMeta>> {
    let mut out = BTreeMap::new();
    // Level by level of nesting: the documents of one level are parsed on every core (1,591 nodes of the
    // benchmark's archive are about 30 ms of parsing alone), then the next level's blocks are taken from
    // the groups just parsed. Results are taken in order, so the first bad document is always the one
    // reported.
    let mut level = vec![(base.to_owned(), consolidated)];
    while !level.is_empty() {
        let mut seen = std::collections::HashSet::new();
        let mut documents = Vec::new();
        for (base, block) in &level {
            for (key, doc) in block.entries()? {
                let abs =
                    path::normalize(&format!("{}/{key}", path::prefix(base))).map_err(|_| {
                        RtError::InvalidMetadata(format!(
                            "consolidated metadata has a bad key {key:?}"
                        ))
                    })?;
                if !out.contains_key(&abs) && seen.insert(abs.clone()) {
                    documents.push((abs, doc, block));
                }
            }
        }
        let parsed: Vec<Result<(String, NodeMeta)>> = documents
            .into_par_iter()
            .map(|(abs, doc, block)| {
                let node = node::parse_checked(doc, &abs)?
                    .into_node(block.text(), || Arc::clone(block.text()));
                Ok((abs, node))
            })
            .collect();
        let mut next = Vec::new();
        for result in parsed {
            let (abs, mut node) = result?;
            if let NodeMeta::Group(g) = &mut node
                && let Some(nested) = g.consolidated.take()
            {
                next.push((abs.clone(), nested));
            }
            out.insert(abs, node);
        }
        level = next;
    }
    Ok(out)
}

/// Drops groups that neither match the filter nor lead to a match (the opened root always stays).
fn prune(h: &mut Hierarchy, filter: Option<&GroupFilter>) {
    let Some(filter) = filter else { return };
    let mut keep = BTreeSet::new();
    keep.insert(h.root.clone());
    for path in h.groups.keys() {
        if filter.matches(&path::relative_to(path, &h.root)) {
            let mut p = Some(path.as_str());
            while let Some(cur) = p {
                if !keep.insert(cur.to_owned()) {
                    break;
                }
                p = path::parent(cur).filter(|pp| path::is_within(pp, &h.root));
            }
        }
    }
    h.groups.retain(|p, _| keep.contains(p));
    for entry in h.groups.values_mut() {
        entry.children.retain(|c| keep.contains(c));
    }
}

/// Fetches and parses one node's `zarr.json`; `Ok(None)` when it does not exist.
async fn fetch_node(store: &AsyncReadableListableStorage, path: &str) -> Result<Option<NodeMeta>> {
    let key_str = path::metadata_key(path);
    let key = StoreKey::new(key_str.clone())
        .map_err(|e| RtError::InvalidArgument(format!("bad node path {path:?}: {e}")))?;
    match store
        .get(&key)
        .await
        .map_err(|e| storage_error(&key_str, &e))?
    {
        Some(bytes) => node::parse_bytes(&bytes, path).map(Some),
        None => Ok(None),
    }
}

/// Explains why nothing was found at `group`: a Zarr v2 store, a missing group or no Zarr at all.
async fn missing_store_error(store: &AsyncReadableListableStorage, group: &str) -> RtError {
    let prefix = path::prefix(group);
    for v2 in [".zgroup", ".zarray", ".zmetadata"] {
        if let Ok(key) = StoreKey::new(format!("{prefix}{v2}"))
            && matches!(store.get(&key).await, Ok(Some(_)))
        {
            return RtError::UnsupportedFormat(format!(
                "{group:?} is a Zarr v2 node ({v2} found); only Zarr v3 is supported yet"
            ));
        }
    }
    if group == "/" {
        RtError::NotFound("no zarr.json at the root: not a Zarr v3 store".to_owned())
    } else {
        RtError::NotFound(format!("no group at {group:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn group_doc() -> Value {
        json!({"zarr_format": 3, "node_type": "group", "attributes": {"k": 1}})
    }

    fn options(filter: Option<&str>) -> WalkOptions {
        WalkOptions {
            group: "/".into(),
            filter: filter.map(|f| GroupFilter::new(f).unwrap()),
            descend: true,
            max_concurrency: 4,
            listable: false,
        }
    }

    /// The attributes JavaScript sees, parsed.
    fn attrs(h: &Hierarchy, path: &str) -> Map<String, Value> {
        h.groups[path].attrs.to_map()
    }

    /// The hierarchy consolidated metadata with `keys` (all groups) gives, opened at the root.
    fn tree_of<'a>(
        keys: impl IntoIterator<Item = &'a str>,
        filter: Option<&str>,
    ) -> Result<Hierarchy> {
        let entries: Map<String, Value> = keys
            .into_iter()
            .map(|k| (k.to_owned(), group_doc()))
            .collect();
        let root = json!({"zarr_format": 3, "node_type": "group",
            "consolidated_metadata": {"kind": "inline", "metadata": entries}});
        let NodeMeta::Group(GroupMeta {
            consolidated: Some(consolidated),
            ..
        }) = node::parse_bytes(&serde_json::to_vec(&root).unwrap(), "/")?
        else {
            panic!("no consolidated metadata")
        };
        let mut h = Hierarchy {
            root: "/".into(),
            groups: BTreeMap::new(),
            consolidated: true,
        };
        h.groups
            .insert("/".into(), empty_entry("/", Attrs::default()));
        let options = options(filter);
        add_listed_nodes(&mut h, flatten_consolidated("/", consolidated)?, &options)?;
        prune(&mut h, options.filter.as_ref());
        Ok(h)
    }

    #[test]
    fn implicit_parents_of_a_deep_key_are_built_without_recursion() {
        let key = vec!["a"; path::MAX_DEPTH].join("/");
        let h = tree_of([key.as_str()], None).unwrap();
        assert_eq!(h.groups.len(), path::MAX_DEPTH + 1);
        let deepest = format!("/{key}");
        assert_eq!(attrs(&h, &deepest)["k"], json!(1));
        assert!(h.groups[&deepest].children.is_empty());
        let parent = path::parent(&deepest).unwrap();
        assert_eq!(h.groups[parent].children, [deepest.as_str()]);
        assert!(
            attrs(&h, parent).is_empty(),
            "an implicit group has no attributes"
        );
        assert_eq!(h.groups["/"].children, ["/a"]);
    }

    #[test]
    fn a_key_deeper_than_the_limit_is_invalid_metadata_naming_it() {
        // Ran out of stack (SIGSEGV) with the recursive creation of implicit parents.
        let key = vec!["a"; 10_000].join("/");
        let e = tree_of([key.as_str()], None).unwrap_err();
        assert_eq!(e.code(), "ERR_INVALID_METADATA");
        assert!(
            e.message()
                .ends_with("... (20000 bytes) is 10000 levels deep; the limit is 8192"),
            "{e}"
        );
        assert!(e.message().starts_with("node \"/a/a/a/a"), "{e}");
    }

    #[test]
    fn many_siblings_are_sorted_once_and_listed_once() {
        let mut names: Vec<String> = (0..100_000)
            .map(|i| format!("g{:05}", (i * 7_919) % 100_000))
            .collect();
        // An implicit parent named before and after its own entry: listed once, with its attributes.
        names.push("p/child".into());
        names.push("p".into());
        let h = tree_of(names.iter().map(String::as_str), None).unwrap();
        let children = &h.groups["/"].children;
        assert_eq!(children.len(), 100_001);
        assert!(children.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(children[0], "/g00000");
        assert_eq!(children[100_000], "/p");
        assert_eq!(h.groups["/p"].children, ["/p/child"]);
        assert_eq!(attrs(&h, "/p")["k"], json!(1));
        let filtered = tree_of(names.iter().map(String::as_str), Some("/g0000?")).unwrap();
        assert_eq!(filtered.groups["/"].children.len(), 10);
        assert_eq!(filtered.groups.len(), 11);
    }

    // ---------------------------------------------------------------- consolidated flattening

    fn group_with(attrs: &Value) -> Value {
        json!({"zarr_format": 3, "node_type": "group", "attributes": attrs})
    }

    /// A group document holding `entries` as inline consolidated metadata, as zarr-python writes it.
    fn consolidated_group(attrs: &Value, entries: &Value) -> Value {
        json!({
            "zarr_format": 3, "node_type": "group", "attributes": attrs,
            "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": entries}
        })
    }

    fn array_doc(dim: &str) -> Value {
        json!({
            "zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "float32",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
            "chunk_key_encoding": {"name": "default"}, "fill_value": 0.0,
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "dimension_names": [dim]
        })
    }

    /// `entries` as the consolidated metadata of a root group, read from that group's text as an open
    /// reads it.
    fn entries(entries: &Value) -> node::Consolidated {
        let doc = consolidated_group(&json!({}), entries);
        match node::parse_bytes(&serde_json::to_vec(&doc).unwrap(), "/").unwrap() {
            NodeMeta::Group(g) => g.consolidated.expect("a consolidated group"),
            NodeMeta::Array(_) => panic!("not a group"),
        }
    }

    /// The node's attribute `from` (parsed from the attributes' text: Rust itself reads only CF's).
    fn attr(node: &NodeMeta) -> Value {
        let attrs = match node {
            NodeMeta::Group(g) => &g.attrs,
            NodeMeta::Array(a) => &a.attrs,
        };
        attrs.to_map()["from"].clone()
    }

    #[test]
    fn nested_consolidated_blocks_are_flattened_with_keys_relative_to_their_group() {
        // The top level names `a` only; `a`'s own block names its subtree relative to `/a`, and `/a/b`'s
        // block one level further down.
        let b = consolidated_group(
            &json!({"from": "a's block"}),
            &json!({"x": {"zarr_format": 3, "node_type": "group", "attributes": {"from": "b's block"}}}),
        );
        let a = consolidated_group(&json!({"from": "top"}), &json!({"b": b}));
        let nodes = flatten_consolidated("/", entries(&json!({"a": a}))).unwrap();
        assert_eq!(
            nodes.keys().map(String::as_str).collect::<Vec<_>>(),
            ["/a", "/a/b", "/a/b/x"]
        );
        assert_eq!(attr(&nodes["/a"]), "top");
        assert_eq!(attr(&nodes["/a/b"]), "a's block");
        assert_eq!(attr(&nodes["/a/b/x"]), "b's block");
        // No group keeps its block once flattened: each document is parsed once.
        for node in nodes.values() {
            if let NodeMeta::Group(g) = node {
                assert!(g.consolidated.is_none());
            }
        }
    }

    #[test]
    fn a_node_listed_at_the_top_wins_over_its_copy_in_a_nested_block() {
        // zarr-python repeats each group's subtree inside its entry; the top-level document is the one
        // kept, and the nested copy is not parsed (a broken copy is no error).
        let a = consolidated_group(
            &json!({"from": "top"}),
            &json!({"v": {"zarr_format": 3, "node_type": "banana"}, "w": group_with(&json!({"from": "nested"}))}),
        );
        let mut v = array_doc("x");
        v["attributes"] = json!({"from": "top"});
        let top = json!({"a": a, "a/v": v});
        let nodes = flatten_consolidated("/", entries(&top)).unwrap();
        assert_eq!(
            nodes.keys().map(String::as_str).collect::<Vec<_>>(),
            ["/a", "/a/v", "/a/w"]
        );
        assert!(matches!(nodes["/a/v"], NodeMeta::Array(_)));
        assert_eq!(attr(&nodes["/a/v"]), "top");
        assert_eq!(attr(&nodes["/a/w"]), "nested");
    }

    #[test]
    fn consolidated_keys_below_a_group_base_are_relative_to_that_group() {
        // A group's own consolidated metadata (no root block) names its nodes relative to the group;
        // keys are normalised like group paths.
        let nodes = flatten_consolidated(
            "/g/h",
            entries(
                &json!({"s//t/": group_with(&json!({"from": "s/t"})), "s/t/v": array_doc("x")}),
            ),
        )
        .unwrap();
        assert_eq!(
            nodes.keys().map(String::as_str).collect::<Vec<_>>(),
            ["/g/h/s/t", "/g/h/s/t/v"]
        );
    }

    #[test]
    fn a_dot_dot_consolidated_key_is_invalid_metadata_naming_it() {
        for key in ["../x", "a/./b"] {
            let e = flatten_consolidated("/", entries(&json!({key: group_doc()}))).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_METADATA");
            assert_eq!(
                e.message(),
                format!("consolidated metadata has a bad key {key:?}")
            );
        }
    }

    #[test]
    fn the_first_bad_consolidated_document_in_key_order_is_the_one_reported() {
        // Documents are parsed on several threads; the error must not depend on which finishes first.
        let mut top = Map::new();
        top.insert("ok".into(), group_doc());
        for i in 0..64 {
            top.insert(
                format!("bad{i:02}"),
                json!({"zarr_format": 3, "node_type": "banana"}),
            );
        }
        for _ in 0..8 {
            let e = flatten_consolidated("/", entries(&Value::Object(top.clone()))).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_METADATA");
            assert!(e.message().contains("\"/bad00\""), "{e}");
        }
    }

    // ---------------------------------------------------------------- insertion and implicit parents

    /// The hierarchy a snapshot listing of `documents` (path, JSON) gives with `options`.
    fn from_listing(documents: &[(&str, Value)], options: &WalkOptions) -> Result<Hierarchy> {
        let documents: Vec<(String, Vec<u8>)> = documents
            .iter()
            .map(|(p, d)| ((*p).to_owned(), serde_json::to_vec(d).unwrap()))
            .collect();
        from_documents(&documents, options)
    }

    /// Every group with its sorted array names and children.
    fn layout(h: &Hierarchy) -> Vec<(&str, Vec<&str>, Vec<&str>)> {
        h.groups
            .iter()
            .map(|(p, g)| {
                (
                    p.as_str(),
                    g.arrays.keys().map(String::as_str).collect(),
                    g.children.iter().map(String::as_str).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn an_array_under_unlisted_groups_creates_them_without_attributes() {
        let h = from_listing(
            &[("/", group_doc()), ("/m/n/v", array_doc("x"))],
            &options(None),
        )
        .unwrap();
        assert_eq!(
            layout(&h),
            [
                ("/", vec![], vec!["/m"]),
                ("/m", vec![], vec!["/m/n"]),
                ("/m/n", vec!["v"], vec![]),
            ]
        );
        assert!(h.groups["/m"].attrs.is_empty() && h.groups["/m/n"].attrs.is_empty());
        assert_eq!(h.groups["/m/n"].arrays["v"].dims, ["x"]);
        assert!(!h.consolidated);
    }

    #[test]
    fn children_and_arrays_come_out_sorted_whatever_the_listing_order() {
        let docs = [
            ("/zeta", group_doc()),
            ("/alpha/v2", array_doc("b")),
            ("/", group_doc()),
            ("/mid", group_doc()),
            ("/alpha", group_with(&json!({"from": "alpha"}))),
            ("/alpha/v1", array_doc("a")),
            ("/Beta", group_doc()),
            ("/alpha/c", group_doc()),
            ("/v0", array_doc("z")),
        ];
        let want = [
            ("/", vec!["v0"], vec!["/Beta", "/alpha", "/mid", "/zeta"]),
            ("/Beta", vec![], vec![]),
            ("/alpha", vec!["v1", "v2"], vec!["/alpha/c"]),
            ("/alpha/c", vec![], vec![]),
            ("/mid", vec![], vec![]),
            ("/zeta", vec![], vec![]),
        ];
        let forward = from_listing(&docs, &options(None)).unwrap();
        assert_eq!(layout(&forward), want);
        let mut reversed = docs.clone();
        reversed.reverse();
        let backward = from_listing(&reversed, &options(None)).unwrap();
        assert_eq!(layout(&backward), want);
        assert_eq!(backward.groups["/alpha"].attrs.to_map()["from"], "alpha");
    }

    #[test]
    fn a_listing_opened_at_a_group_keeps_only_that_group_and_below() {
        let docs = [
            ("/", group_doc()),
            ("/a", group_with(&json!({"from": "a"}))),
            ("/a/b", group_doc()),
            ("/a/b/v", array_doc("x")),
            ("/ab", group_doc()),
            ("/c/v", array_doc("x")),
        ];
        let at_a = WalkOptions {
            group: "/a".into(),
            ..options(None)
        };
        let h = from_listing(&docs, &at_a).unwrap();
        assert_eq!(h.root, "/a");
        assert_eq!(
            layout(&h),
            [("/a", vec![], vec!["/a/b"]), ("/a/b", vec!["v"], vec![])]
        );
        assert_eq!(h.groups["/a"].attrs.to_map()["from"], "a");
        let missing = WalkOptions {
            group: "/nope".into(),
            ..options(None)
        };
        let e = from_listing(&docs, &missing).unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            ("ERR_NOT_FOUND", "no group at \"/nope\"")
        );
        let array = WalkOptions {
            group: "/a/b/v".into(),
            ..options(None)
        };
        let e = from_listing(&docs, &array).unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            ("ERR_NOT_FOUND", "\"/a/b/v\" is an array, not a group")
        );
    }

    #[test]
    fn without_descend_only_the_opened_groups_own_arrays_are_kept() {
        let docs = [
            ("/", group_doc()),
            ("/a", group_doc()),
            ("/a/v", array_doc("x")),
            ("/a/b", group_doc()),
            ("/a/b/w", array_doc("x")),
            ("/a/c/u", array_doc("x")),
        ];
        let dataset = WalkOptions {
            group: "/a".into(),
            descend: false,
            ..options(None)
        };
        let h = from_listing(&docs, &dataset).unwrap();
        assert_eq!(layout(&h), [("/a", vec!["v"], vec![])]);
    }

    // ---------------------------------------------------------------- pruning by groupFilter

    fn radar_listing() -> Vec<(&'static str, Value)> {
        vec![
            ("/", group_doc()),
            ("/VCP-12", group_doc()),
            ("/VCP-12/lat", array_doc("x")),
            ("/VCP-12/sweep_0", group_doc()),
            ("/VCP-12/sweep_0/DBZH", array_doc("x")),
            ("/VCP-12/sweep_1", group_doc()),
            ("/VCP-12/sweep_1/DBZH", array_doc("x")),
            ("/VCP-12/sweep_0/extra", group_doc()),
            ("/VCP-212", group_doc()),
            ("/VCP-212/sweep_1", group_doc()),
            ("/VCP-212/sweep_1/DBZH", array_doc("x")),
            ("/other/v", array_doc("x")),
        ]
    }

    #[test]
    fn a_group_filter_keeps_matches_and_their_ancestors_only() {
        let h = from_listing(&radar_listing(), &options(Some("/*/sweep_0"))).unwrap();
        // VCP-212 has no sweep_0, `other` matches nothing: both go, and so do non-matching siblings
        // and the groups below a match; an ancestor keeps its own arrays.
        assert_eq!(
            layout(&h),
            [
                ("/", vec![], vec!["/VCP-12"]),
                ("/VCP-12", vec!["lat"], vec!["/VCP-12/sweep_0"]),
                ("/VCP-12/sweep_0", vec!["DBZH"], vec![]),
            ]
        );
    }

    #[test]
    fn a_group_filter_that_matches_nothing_leaves_the_opened_group() {
        let h = from_listing(&radar_listing(), &options(Some("/nothing/here"))).unwrap();
        assert_eq!(layout(&h), [("/", vec![], vec![])]);
        let at_vcp = WalkOptions {
            group: "/VCP-12".into(),
            ..options(Some("/nothing"))
        };
        let h = from_listing(&radar_listing(), &at_vcp).unwrap();
        assert_eq!(layout(&h), [("/VCP-12", vec!["lat"], vec![])]);
    }

    #[test]
    fn a_group_filter_is_matched_relative_to_the_opened_group() {
        let at_vcp = WalkOptions {
            group: "/VCP-12".into(),
            ..options(Some("/sweep_1"))
        };
        let h = from_listing(&radar_listing(), &at_vcp).unwrap();
        assert_eq!(
            layout(&h),
            [
                ("/VCP-12", vec!["lat"], vec!["/VCP-12/sweep_1"]),
                ("/VCP-12/sweep_1", vec!["DBZH"], vec![]),
            ]
        );
        let deep = from_listing(&radar_listing(), &options(Some("/**/extra"))).unwrap();
        assert_eq!(
            layout(&deep),
            [
                ("/", vec![], vec!["/VCP-12"]),
                ("/VCP-12", vec!["lat"], vec!["/VCP-12/sweep_0"]),
                (
                    "/VCP-12/sweep_0",
                    vec!["DBZH"],
                    vec!["/VCP-12/sweep_0/extra"]
                ),
                ("/VCP-12/sweep_0/extra", vec![], vec![]),
            ]
        );
    }

    // ---------------------------------------------------------------- the walk over a store

    /// A store holding `objects` (key, JSON document or raw bytes), behind the source wrappers.
    async fn store_of(objects: &[(&str, Vec<u8>)]) -> crate::source::Source {
        use object_store::{ObjectStoreExt, PutPayload};
        let memory = object_store::memory::InMemory::new();
        for (key, bytes) in objects {
            memory
                .put(
                    &object_store::path::Path::parse(key).unwrap(),
                    PutPayload::from(bytes.clone()),
                )
                .await
                .unwrap();
        }
        crate::source::wrap_object_store(Arc::new(memory), "memory".into(), 4, true)
    }

    fn bytes_of(doc: &Value) -> Vec<u8> {
        serde_json::to_vec(doc).unwrap()
    }

    #[tokio::test]
    async fn a_group_opened_below_a_consolidated_root_takes_its_subtree_from_the_root() {
        let root = consolidated_group(
            &json!({}),
            &json!({
                "a": group_with(&json!({"from": "root's block"})),
                "a/v": array_doc("x"),
                "b": group_doc(),
            }),
        );
        // The group's own document is fetched alongside the root's, and its attributes are the ones kept.
        let source = store_of(&[
            ("zarr.json", bytes_of(&root)),
            (
                "a/zarr.json",
                bytes_of(&group_with(&json!({"from": "a's own"}))),
            ),
        ])
        .await;
        let at_a = WalkOptions {
            group: "/a".into(),
            ..options(None)
        };
        let h = walk(&source.store, &at_a).await.unwrap();
        assert!(h.consolidated);
        assert_eq!(layout(&h), [("/a", vec!["v"], vec![])]);
        assert_eq!(h.groups["/a"].attrs.to_map()["from"], "a's own");
        assert_eq!(source.stats.snapshot().gets, 2);
        // A group the root's block does not name is not there, even if a document exists for it.
        let stray = store_of(&[
            ("zarr.json", bytes_of(&root)),
            ("c/zarr.json", bytes_of(&group_doc())),
        ])
        .await;
        let at_c = WalkOptions {
            group: "/c".into(),
            ..options(None)
        };
        let e = walk(&stray.store, &at_c).await.unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            ("ERR_NOT_FOUND", "no group at \"/c\"")
        );
    }

    #[tokio::test]
    async fn a_group_with_its_own_consolidated_metadata_opens_below_a_broken_root() {
        let group = consolidated_group(
            &json!({}),
            &json!({"s": group_doc(), "s/v": array_doc("x")}),
        );
        let source = store_of(&[
            ("zarr.json", b"{ not json".to_vec()),
            ("g/zarr.json", bytes_of(&group)),
        ])
        .await;
        let at_g = WalkOptions {
            group: "/g".into(),
            ..options(None)
        };
        let h = walk(&source.store, &at_g).await.unwrap();
        assert!(h.consolidated);
        assert_eq!(
            layout(&h),
            [("/g", vec![], vec!["/g/s"]), ("/g/s", vec!["v"], vec![])]
        );
        // Opened at the root, the same broken document is the error.
        let e = walk(&source.store, &options(None)).await.unwrap_err();
        assert_eq!(e.code(), "ERR_INVALID_METADATA");
        assert!(
            e.message()
                .starts_with("zarr.json of \"/\" is not valid JSON"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn without_consolidated_metadata_an_unlistable_store_is_unsupported() {
        let source = store_of(&[("zarr.json", bytes_of(&group_doc()))]).await;
        let e = walk(&source.store, &options(None)).await.unwrap_err();
        assert_eq!(e.code(), "ERR_UNSUPPORTED_FORMAT");
        assert!(
            e.message()
                .starts_with("\"/\" has no consolidated metadata"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_missing_root_says_whether_the_store_is_zarr_v2_or_nothing() {
        let empty = store_of(&[]).await;
        let e = walk_from(&empty.store, None, &options(None), Some(None))
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (
                "ERR_NOT_FOUND",
                "no zarr.json at the root: not a Zarr v3 store"
            )
        );
        // `Some(None)`: the caller already found no root document, so none is requested again.
        assert_eq!(
            empty.stats.snapshot().gets,
            3,
            "only the three Zarr v2 probes"
        );
        let v2 = store_of(&[(".zgroup", br#"{"zarr_format": 2}"#.to_vec())]).await;
        let e = walk(&v2.store, &options(None)).await.unwrap_err();
        assert_eq!(e.code(), "ERR_UNSUPPORTED_FORMAT");
        assert!(e.message().contains(".zgroup found"), "{e}");
        let array = store_of(&[
            ("zarr.json", bytes_of(&group_doc())),
            ("v/zarr.json", bytes_of(&array_doc("x"))),
        ])
        .await;
        let at_v = WalkOptions {
            group: "/v".into(),
            ..options(None)
        };
        let e = walk(&array.store, &at_v).await.unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            ("ERR_NOT_FOUND", "\"/v\" is an array, not a group")
        );
    }
}
