//! The listing walk: every node of a store without consolidated metadata, found by listing it.
//!
//! A plain level-by-level walk pays two round trips per level: list a group, then read each child's
//! `zarr.json` to learn which children are groups and must be listed in turn. On object storage three
//! things cut that down:
//!
//! - Each request starts the moment its input arrives, not when its whole level is done, so a slow
//!   listing holds back only its own subtree.
//! - A group is also listed recursively (no delimiter), first page only. When its whole subtree fits in
//!   that page, every node below it is known at once: their documents are all requested in the next
//!   round trip, and nothing below is listed again. Groups below a recursive listing still in flight wait
//!   for its answer rather than being listed.
//! - The children a delimited listing finds are listed recursively at once, beside the requests for their
//!   documents, without waiting to learn whether they are groups: a level of groups then costs one round
//!   trip, not two. A radar archive of `VCP-xx/sweep_n/<moment>` opens in four sequential waves: the root
//!   document; the root's listings; each `VCP-xx`'s document and recursive listing; every document below.
//!
//! A recursive listing that does not fit is dropped after its first page. At most
//! [`SPECULATION_BUDGET`] of them may be outstanding or come back incomplete, and children not yet known
//! to be groups are listed only while fewer than [`UNKNOWN_KIND_BUDGET`] are (an array's listing is a
//! page of chunk keys): in a store of big arrays the walk costs at most that many extra listings over the
//! plain one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use object_store::ObjectStore;
use zarrs::storage::{AsyncReadableListableStorage, StorePrefix};

use super::{
    Hierarchy, NodeMeta, WalkOptions, check_depth, fetch_node, insert_node, path, sort_children,
};
use crate::error::{Result, RtError};

/// Keys a recursive listing may return and still count as complete: one page of S3's and GCS's
/// `ListObjects`. Reading past it would fetch the next page, a sequential round trip that the delimited
/// listing beside it makes unnecessary.
const SUBTREE_PAGE: usize = 1000;

/// How many recursive listings may be outstanding or have come back incomplete before the walk stops
/// starting new ones.
pub const SPECULATION_BUDGET: usize = 32;

/// Recursive listings of children not yet known to be groups (an array's listing is a page of chunk
/// keys) start only while fewer than this many recursive listings are in flight or came back
/// incomplete: enough for a level of 15 radar volumes, and a bound on the pages a store of big arrays
/// wastes.
pub const UNKNOWN_KIND_BUDGET: usize = 16;

/// What one request of the walk found.
enum Found {
    /// The direct children of `group` (a delimited listing).
    Children {
        group: String,
        children: Vec<String>,
    },
    /// Every node below `group` (a recursive listing), or `None` when they did not fit in one page.
    Subtree {
        group: String,
        nodes: Option<Vec<String>>,
    },
    /// A node's document (`None`: a directory without `zarr.json`, not a node).
    Node(String, Option<NodeMeta>),
}

/// The walk's state: what is in flight and what has been found.
struct Walk<'a> {
    store: &'a AsyncReadableListableStorage,
    /// The same store as an object store, for recursive listings (`None`: delimited listings only).
    objects: Option<&'a Arc<dyn ObjectStore>>,
    options: &'a WalkOptions,
    root: String,
    tasks: FuturesUnordered<BoxFuture<'a, Result<Found>>>,
    /// Nodes whose document has been requested.
    requested: HashSet<String>,
    /// Groups whose whole subtree is known from a recursive listing.
    covered: HashSet<String>,
    /// Groups with a recursive listing in flight, and the groups below each that wait for its answer
    /// before being listed (it will most likely make their listing unnecessary).
    pending: HashSet<String>,
    parked: HashMap<String, Vec<String>>,
    /// Children found under a group whose (or whose ancestor's) recursive listing is in flight: listed
    /// recursively themselves only if that listing comes back incomplete.
    deferred: HashMap<String, Vec<String>>,
    /// Paths whose recursive listing has been started (never twice).
    tried: HashSet<String>,
    /// Recursive listings in flight, and those that came back incomplete.
    speculating: usize,
    wasted: usize,
    found: BTreeMap<String, NodeMeta>,
}

/// Walks every node below `h.root` by listing, and adds them to `h`. `objects` is the store as an
/// object store when it can list recursively (object storage), `None` otherwise (a local directory,
/// where listing costs no round trip).
///
/// # Errors
/// `ERR_STORAGE` (or the code of the store's answer) when a listing or document request fails;
/// `ERR_INVALID_METADATA` / `ERR_UNSUPPORTED_DTYPE` for bad documents, and for a node deeper than
/// [`path::MAX_DEPTH`].
pub async fn walk_listing(
    store: &AsyncReadableListableStorage,
    objects: Option<&Arc<dyn ObjectStore>>,
    h: &mut Hierarchy,
    options: &WalkOptions,
) -> Result<()> {
    let mut walk = Walk {
        store,
        objects: objects.filter(|_| options.descend),
        options,
        root: h.root.clone(),
        tasks: FuturesUnordered::new(),
        requested: HashSet::new(),
        covered: HashSet::new(),
        pending: HashSet::new(),
        parked: HashMap::new(),
        deferred: HashMap::new(),
        tried: HashSet::new(),
        speculating: 0,
        wasted: 0,
        found: BTreeMap::new(),
    };
    walk.list(h.root.clone());
    while let Some(found) = walk.tasks.next().await {
        match found? {
            Found::Children { group, children } => {
                for child in &children {
                    walk.fetch(child.clone());
                }
                walk.speculate_below(&group, children);
            }
            Found::Subtree { group, nodes } => walk.add_subtree(group, nodes),
            Found::Node(node_path, Some(node)) => {
                // Before going a level further down: a directory tree can be deeper than any
                // hierarchy is allowed to be.
                check_depth(&node_path)?;
                if matches!(node, NodeMeta::Group(_)) && walk.descends_into(&node_path) {
                    walk.list_or_park(node_path.clone());
                }
                walk.found.insert(node_path, node);
            }
            Found::Node(_, None) => {}
        }
    }
    assemble(h, walk.found, options)
}

impl Walk<'_> {
    /// Lists `group`, unless a recursive listing above it is still in flight: then `group` waits for
    /// that answer, which most likely names everything below it.
    fn list_or_park(&mut self, group: String) {
        match self.pending_at_or_above(&group) {
            Some(pending) => self.parked.entry(pending).or_default().push(group),
            None => self.list(group),
        }
    }

    /// The nearest of `group` and its ancestors with a recursive listing in flight.
    fn pending_at_or_above(&self, group: &str) -> Option<String> {
        std::iter::successors(Some(group), |p| path::parent(p))
            .find(|a| self.pending.contains(*a))
            .map(str::to_owned)
    }

    /// Starts recursive listings of `group`'s children (not yet known to be groups: their documents are
    /// requested alongside), so a level of groups costs one round trip instead of two (document, then
    /// listing). Deferred while a recursive listing at or above `group` may still name them all.
    fn speculate_below(&mut self, group: &str, children: Vec<String>) {
        if self.objects.is_none() || self.is_covered(group) {
            return;
        }
        if let Some(pending) = self.pending_at_or_above(group) {
            self.deferred.entry(pending).or_default().extend(children);
            return;
        }
        for child in children {
            if self.speculating + self.wasted < UNKNOWN_KIND_BUDGET && self.filter_allows(&child) {
                self.speculate(child);
            }
        }
    }

    /// Lists everything below `path` recursively, first page only, when the budget allows.
    fn speculate(&mut self, path: String) {
        let Some(objects) = self.objects else { return };
        if self.speculating + self.wasted >= SPECULATION_BUDGET
            || self.is_covered(&path)
            || !self.tried.insert(path.clone())
        {
            return;
        }
        self.speculating += 1;
        self.pending.insert(path.clone());
        let objects = Arc::clone(objects);
        self.tasks.push(
            async move {
                let nodes = list_subtree(&objects, &path).await;
                Ok(Found::Subtree { group: path, nodes })
            }
            .boxed(),
        );
    }

    /// Lists `group`'s children, and its whole subtree when the budget allows; nothing when a recursive
    /// listing above it already found everything below it.
    fn list(&mut self, group: String) {
        if self.is_covered(&group) {
            return;
        }
        let store = self.store;
        let delimited = group.clone();
        self.tasks.push(
            async move {
                let children = list_children(store, &delimited).await?;
                Ok(Found::Children {
                    group: delimited,
                    children,
                })
            }
            .boxed(),
        );
        self.speculate(group);
    }

    /// Requests `node_path`'s document, once.
    fn fetch(&mut self, node_path: String) {
        if !self.requested.insert(node_path.clone()) {
            return;
        }
        let store = self.store;
        self.tasks.push(
            async move {
                let node = fetch_node(store, &node_path).await?;
                Ok(Found::Node(node_path, node))
            }
            .boxed(),
        );
    }

    /// Takes in a recursive listing's answer: every node below `group` is requested, except below
    /// groups the filter rules out.
    fn add_subtree(&mut self, group: String, nodes: Option<Vec<String>>) {
        self.speculating -= 1;
        self.pending.remove(&group);
        let parked = self.parked.remove(&group).unwrap_or_default();
        let deferred = self.deferred.remove(&group).unwrap_or_default();
        let Some(nodes) = nodes else {
            self.wasted += 1;
            for waiting in parked {
                self.list_or_park(waiting);
            }
            for child in deferred {
                if let Some(parent) = path::parent(&child).map(str::to_owned) {
                    self.speculate_below(&parent, vec![child]);
                }
            }
            return;
        };
        for node_path in nodes {
            let mut ancestors =
                std::iter::successors(path::parent(&node_path), |p| path::parent(p))
                    .take_while(|p| *p != group);
            if ancestors.all(|a| self.filter_allows(a)) {
                self.fetch(node_path);
            }
        }
        self.covered.insert(group);
    }

    /// Whether the walk goes below the group at `node_path`.
    fn descends_into(&self, node_path: &str) -> bool {
        self.options.descend && self.filter_allows(node_path)
    }

    fn filter_allows(&self, group: &str) -> bool {
        self.options
            .filter
            .as_ref()
            .is_none_or(|f| f.may_match_at_or_below(&path::relative_to(group, &self.root)))
    }

    /// Whether a recursive listing of `group` or of a group above it has found everything below it.
    fn is_covered(&self, group: &str) -> bool {
        std::iter::successors(Some(group), |p| path::parent(p)).any(|g| self.covered.contains(g))
    }
}

/// The direct children of `group` (every name that is a directory: nodes, and possibly stray folders).
async fn list_children(store: &AsyncReadableListableStorage, group: &str) -> Result<Vec<String>> {
    let prefix = StorePrefix::new(path::prefix(group))
        .map_err(|e| RtError::InvalidMetadata(format!("bad store prefix for {group:?}: {e}")))?;
    let listing = store.list_dir(&prefix).await.map_err(|e| {
        let shown = if prefix.as_str().is_empty() {
            "/"
        } else {
            prefix.as_str()
        };
        crate::error::classify_storage(format!("listing {shown:?} failed: {e}"))
    })?;
    Ok(listing
        .prefixes()
        .iter()
        .map(|p| {
            let name = p
                .as_str()
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            path::join(group, name)
        })
        .collect())
}

/// Every node below `group`, from the first page of a recursive listing: `None` when the subtree does
/// not fit in it, or the listing failed (the delimited listing beside it then speaks for the group).
async fn list_subtree(objects: &Arc<dyn ObjectStore>, group: &str) -> Option<Vec<String>> {
    let prefix = object_store::path::Path::parse(path::prefix(group).trim_end_matches('/')).ok()?;
    let mut keys = objects.list(if group == "/" { None } else { Some(&prefix) });
    let mut nodes = Vec::new();
    let mut seen = 0;
    while seen < SUBTREE_PAGE {
        match keys.next().await {
            None => return Some(nodes),
            Some(Err(_)) => return None,
            Some(Ok(meta)) => {
                seen += 1;
                if let Some(node_path) = node_of_key(meta.location.as_ref())
                    && node_path != group
                    && path::is_within(&node_path, group)
                {
                    nodes.push(node_path);
                }
            }
        }
    }
    // A full page: more may follow, and asking would cost another round trip.
    None
}

/// The node a `zarr.json` key describes (`a/b/zarr.json` → `/a/b`); `None` for any other key.
fn node_of_key(key: &str) -> Option<String> {
    if key == "zarr.json" {
        return Some("/".to_owned());
    }
    key.strip_suffix("/zarr.json")
        .filter(|dir| !dir.is_empty())
        .map(|dir| format!("/{dir}"))
}

/// Adds the found nodes to `h`, parents first. A node is kept only below a kept group: a document under
/// an array, under a directory that is not a node, or under a group the filter rules out is dropped, as
/// the level-by-level walk would never have reached it.
fn assemble(
    h: &mut Hierarchy,
    found: BTreeMap<String, NodeMeta>,
    options: &WalkOptions,
) -> Result<()> {
    let mut ordered: Vec<(String, NodeMeta)> = found.into_iter().collect();
    ordered.sort_by_key(|(p, _)| path::depth(p));
    for (node_path, node) in ordered {
        if path::parent(&node_path).is_some_and(|parent| h.groups.contains_key(parent)) {
            insert_node(h, &node_path, node, options)?;
        }
    }
    sort_children(h);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_zarr_json_keys_name_nodes() {
        assert_eq!(node_of_key("zarr.json").as_deref(), Some("/"));
        assert_eq!(node_of_key("a/b/zarr.json").as_deref(), Some("/a/b"));
        assert_eq!(node_of_key("a/c/0/0"), None);
        assert_eq!(node_of_key("a/zarr.jsonx"), None);
        assert_eq!(node_of_key("a/notzarr.json"), None);
        assert_eq!(node_of_key("/zarr.json"), None);
    }
}
