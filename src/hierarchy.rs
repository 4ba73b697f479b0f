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
}
