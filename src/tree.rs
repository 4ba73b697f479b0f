//! Opening a tree: source → hierarchy walk → per-variable CF plans and zarrs arrays → index coordinates
//! read concurrently. The result is everything JavaScript needs in one hand-over.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::try_join_all;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use zarrs::array::{Array, ArrayCreateError, ArrayMetadata};
use zarrs::metadata::v3::{
    AdditionalFieldV3, AdditionalFieldsV3, ArrayMetadataV3, FillValueMetadataV3, MetadataV3,
};

use crate::cf::{DecodeOptions, VariablePlan};
use crate::error::{Result, RtError};
use crate::hierarchy::{self, ArrayMeta, Attrs, GroupFilter, WalkOptions, path};
use crate::icechunk::{self, VersionSelector};
use crate::read::{ReadTarget, ZArray, read_region};
use crate::source::{self, Source};
use crate::typed::TypedData;

/// Default cap on concurrent requests to a local directory.
pub const DEFAULT_LOCAL_CONCURRENCY: usize = 64;

/// Default cap on concurrent requests to an object store or HTTP server: round trips dominate there, and
/// a walk or a coordinate load issues hundreds of small requests at once (measured on the KLOT-like
/// benchmark at 50 ms latency: an unconsolidated open took 2.2 s with 64, 1.2 s with 256, 1.15 s with
/// 1024).
pub const DEFAULT_REMOTE_CONCURRENCY: usize = 256;

/// Options of `openDatatree` / `openDataset`, already validated.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Group to open (any spelling; normalised here).
    pub group: String,
    /// Glob on group paths, relative to the opened group.
    pub group_filter: Option<String>,
    /// CF decoding switches.
    pub decode: DecodeOptions,
    /// Read 1-D dimension coordinates during the open.
    pub load_coords: bool,
    /// Cap on concurrent store requests (`None`: [`DEFAULT_LOCAL_CONCURRENCY`] or
    /// [`DEFAULT_REMOTE_CONCURRENCY`]).
    pub max_concurrency: Option<usize>,
    /// Walk descendants (`openDatatree`) or only the group itself (`openDataset`).
    pub descend: bool,
    /// Force the format (`None`: detect it).
    pub engine: Option<Engine>,
    /// icechunk version to open.
    pub version: VersionSelector,
    /// `storageOptions` as JavaScript gave them (values as strings), checked per scheme when used.
    pub storage_options: Vec<(String, String)>,
    /// icechunk reader settings: authorised virtual chunk containers, caches.
    pub icechunk: icechunk::ReaderSettings,
}

/// The storage format of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A plain Zarr v3 store.
    Zarr,
    /// An icechunk repository.
    Icechunk,
}

impl OpenOptions {
    /// The request cap (resolved by [`open`] before use).
    #[must_use]
    pub fn concurrency(&self) -> usize {
        self.max_concurrency.unwrap_or(DEFAULT_LOCAL_CONCURRENCY)
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            group: "/".into(),
            group_filter: None,
            decode: DecodeOptions::default(),
            load_coords: true,
            max_concurrency: None,
            descend: true,
            engine: None,
            version: VersionSelector::default(),
            storage_options: Vec::new(),
            icechunk: icechunk::ReaderSettings::default(),
        }
    }
}

/// One variable as JavaScript sees it.
#[derive(Debug, Clone, Serialize)]
pub struct VariableInfo {
    /// Name within its group.
    pub name: String,
    /// Store path of the array (`/VCP-12/sweep_0/DBZH`), the key for reads.
    pub store_path: String,
    /// Dimension names.
    pub dims: Vec<String>,
    /// Shape.
    pub shape: Vec<u64>,
    /// Decoded numpy dtype name.
    pub dtype: String,
    /// Read chunk shape (inner chunks for sharded arrays).
    pub chunks: Vec<u64>,
    /// Visible attributes.
    pub attrs: Attrs,
    /// CF attributes applied plus storage details.
    pub encoding: Map<String, Value>,
    /// Whether it is a coordinate (a dimension coordinate or named by a `coordinates` attribute).
    pub is_coord: bool,
}

/// One group as JavaScript sees it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    /// Path in the tree, relative to the opened group (`/` for it).
    pub path: String,
    /// Attributes.
    pub attrs: Attrs,
    /// Child names, sorted.
    pub children: Vec<String>,
    /// Variables, sorted by name.
    pub variables: Vec<VariableInfo>,
}

/// The metadata of a whole opened tree.
#[derive(Debug, Clone, Serialize)]
pub struct TreeInfo {
    /// Where the data lives (no credentials).
    pub source: String,
    /// Store path of the opened group.
    pub root: String,
    /// Whether consolidated metadata was used.
    pub consolidated: bool,
    /// Groups, parents before children.
    pub nodes: Vec<NodeInfo>,
    /// Things left undecoded, with the reason.
    pub warnings: Vec<String>,
    /// The icechunk snapshot that was opened (`None` for plain Zarr).
    pub snapshot_id: Option<String>,
}

/// An opened tree: metadata, readers for every variable and the coordinates loaded during the open.
pub struct OpenedTree {
    /// Metadata for JavaScript.
    pub info: TreeInfo,
    /// Reader per variable, by store path.
    pub targets: HashMap<String, ReadTarget>,
    /// Loaded coordinate values, by store path.
    pub coords: Vec<(String, TypedData)>,
    /// Shared limiter of chunk tasks for later reads.
    pub limit: Arc<Semaphore>,
    /// Request counters of the source (the open's requests included).
    pub stats: Arc<crate::source::instrument::RequestStats>,
    /// Values (credentials) to scrub from the messages of later reads.
    pub secrets: Vec<String>,
}

/// Opens `source` (see [`source::locate`]) and walks it.
///
/// # Errors
/// Any code from [`source::locate`], [`hierarchy::walk`], CF planning, building codec pipelines
/// (`ERR_UNSUPPORTED_CODEC`) and reading coordinates.
pub async fn open(source_str: &str, options: &OpenOptions) -> Result<OpenedTree> {
    let mut secrets = source::options::secret_values(&options.storage_options);
    secrets.extend(
        options
            .icechunk
            .virtual_access
            .iter()
            .filter_map(|a| a.keys.as_ref())
            .flat_map(|(id, secret, token)| {
                [id.clone(), secret.clone()]
                    .into_iter()
                    .chain(token.clone())
            }),
    );
    secrets.extend(source::remote::environment_secrets());
    match open_unscrubbed(source_str, options).await {
        Ok(mut tree) => {
            tree.secrets = secrets;
            Ok(tree)
        }
        Err(e) => Err(e.scrubbed(&secrets)),
    }
}

async fn open_unscrubbed(source_str: &str, options: &OpenOptions) -> Result<OpenedTree> {
    let remote = source::remote::parse(source_str).is_some();
    let options = &OpenOptions {
        max_concurrency: Some(options.max_concurrency.unwrap_or(if remote {
            DEFAULT_REMOTE_CONCURRENCY
        } else {
            DEFAULT_LOCAL_CONCURRENCY
        })),
        ..options.clone()
    };
    if options.concurrency() == 0 {
        return Err(RtError::InvalidArgument(
            "maxConcurrency must be at least 1".into(),
        ));
    }
    let group = path::normalize_group(&options.group)?;
    let filter = options
        .group_filter
        .as_deref()
        .map(GroupFilter::new)
        .transpose()?;
    let walk_options = WalkOptions {
        group,
        filter,
        descend: options.descend,
        max_concurrency: options.concurrency(),
        listable: true,
    };
    let directory = match source::locate(source_str)? {
        source::Location::Local(dir) => dir,
        source::Location::Remote(location) => {
            return open_remote(&location, options, walk_options).await;
        }
    };
    if !options.storage_options.is_empty() {
        return Err(RtError::InvalidArgument(
            "storageOptions apply to object-storage and http(s) sources, not local paths".into(),
        ));
    }
    let is_icechunk = match options.engine {
        Some(Engine::Icechunk) => true,
        Some(Engine::Zarr) => false,
        None => icechunk::is_repository(&directory),
    };
    if is_icechunk {
        let v2 = icechunk::local_format(&directory)?;
        let source = source::open_directory_objects(&directory, options.concurrency())?;
        return open_repository(source, v2, None, &walk_options, options).await;
    }
    reject_version_selectors(options)?;
    let source = source::open_directory(&directory, options.concurrency())?;
    let hierarchy = hierarchy::walk(&source.store, &walk_options).await?;
    build(&source, hierarchy, options).await
}

/// The tree of an icechunk repository version, read through `source`'s object store: the hierarchy comes
/// from the snapshot's documents. `repo_file` is the `repo` object when a probe already fetched it.
async fn open_repository(
    source: Source,
    v2: bool,
    repo_file: Option<bytes::Bytes>,
    walk_options: &WalkOptions,
    options: &OpenOptions,
) -> Result<OpenedTree> {
    let Some(object_store) = source.object_store.clone() else {
        return Err(RtError::Internal(
            "icechunk source without an object store".into(),
        ));
    };
    let storage = icechunk::storage_over(object_store, source.description.clone());
    if let Some(bytes) = repo_file {
        storage.prefetch("repo", bytes);
    }
    let repo = icechunk::open(
        storage,
        v2,
        &options.version,
        options.concurrency(),
        &options.icechunk,
    )
    .await?;
    let source = Source {
        store: Arc::clone(&repo.store),
        chunk_store: Arc::clone(&repo.store),
        ..source
    };
    let hierarchy = hierarchy::from_documents(&repo.documents, walk_options)?;
    let mut opened = build(&source, hierarchy, options).await?;
    opened.info.snapshot_id = Some(repo.snapshot_id);
    Ok(opened)
}

/// Version selectors and icechunk's reader settings only mean something for icechunk repositories.
fn reject_version_selectors(options: &OpenOptions) -> Result<()> {
    if options.version.is_set() {
        return Err(RtError::InvalidArgument(
            "branch, tag, snapshotId and asOf apply to icechunk repositories only".into(),
        ));
    }
    if !options.icechunk.virtual_access.is_empty() || options.icechunk.caching.is_some() {
        return Err(RtError::InvalidArgument(
            "virtualChunkContainers and icechunkCaching apply to icechunk repositories only".into(),
        ));
    }
    Ok(())
}

/// A remote source (object store or HTTP): a plain Zarr store or an icechunk repository. Unless `engine`
/// says which, the root `zarr.json` and icechunk's `repo` file are requested together, so telling them
/// apart costs no extra round trip; whichever was found is used, not read again. Only when neither
/// exists is a format V1 icechunk repository (`refs/branch.main/ref.json`) looked for.
async fn open_remote(
    location: &source::remote::RemoteLocation,
    options: &OpenOptions,
    walk_options: WalkOptions,
) -> Result<OpenedTree> {
    let source = source::open_remote(location, &options.storage_options, options.concurrency())?;
    let walk_options = WalkOptions {
        listable: source.listable,
        ..walk_options
    };
    let try_zarr = options.engine != Some(Engine::Icechunk) && !options.version.is_set();
    let try_icechunk = options.engine != Some(Engine::Zarr);
    // Round one: the Zarr root document and icechunk's repo file, together.
    let (root, repo_file) = futures::join!(
        optional_get(&source, "zarr.json", try_zarr),
        optional_get(&source, "repo", try_icechunk),
    );
    // With working credentials, S3 answers 403 rather than 404 for a missing key the reader may not
    // list; when the other probe succeeded, the credentials work and the 403 means "not there".
    let denied = |r: &Result<Option<bytes::Bytes>>| matches!(r, Err(RtError::PermissionDenied(_)));
    let found = |r: &Result<Option<bytes::Bytes>>| matches!(r, Ok(Some(_)));
    let (root, repo_file) = match (root, repo_file) {
        (r, f) if denied(&r) && found(&f) => (None, f?),
        (r, f) if found(&r) && denied(&f) => (r?, None),
        (r, f) => (r?, f?),
    };
    let v1 = if repo_file.is_none() && root.is_none() && try_icechunk {
        optional_get(&source, V1_MAIN_REF, true).await?.is_some()
    } else {
        false
    };
    if repo_file.is_some() || v1 {
        let v2 = repo_file.is_some();
        return open_repository(source, v2, repo_file, &walk_options, options).await;
    }
    if options.engine == Some(Engine::Icechunk) {
        return Err(RtError::NotFound(format!(
            "no icechunk repository at {} (neither a repo file nor refs/branch.main)",
            source.description
        )));
    }
    reject_version_selectors(options)?;
    let hierarchy = hierarchy::walk_from(
        &source.store,
        source.object_store.as_ref(),
        &walk_options,
        Some(root),
    )
    .await?;
    build(&source, hierarchy, options).await
}

/// Where a format V1 icechunk repository keeps its `main` branch.
const V1_MAIN_REF: &str = "refs/branch.main/ref.json";

/// GETs `key` when `wanted`; `None` when it does not exist (or was not wanted).
async fn optional_get(source: &Source, key: &str, wanted: bool) -> Result<Option<bytes::Bytes>> {
    if !wanted {
        return Ok(None);
    }
    let store_key = zarrs::storage::StoreKey::new(key)
        .map_err(|e| RtError::Internal(format!("bad key {key:?}: {e}")))?;
    source
        .store
        .get(&store_key)
        .await
        .map_err(|e| crate::error::storage_error(key, &e))
}

/// Turns a walked hierarchy into the tree JavaScript receives. It takes the hierarchy apart: each array's
/// document moves into its zarrs metadata instead of being copied (on 1,470 arrays the copies cost more
/// than the rest of the open).
async fn build(
    source: &Source,
    h: hierarchy::Hierarchy,
    options: &OpenOptions,
) -> Result<OpenedTree> {
    let mut nodes = Vec::new();
    let mut targets = HashMap::new();
    let mut warnings = Vec::new();
    let (root, consolidated) = (h.root, h.consolidated);
    // Describing an array (its CF plan, zarrs' codec pipeline) is independent of every other and is most
    // of the open's CPU time on a big tree: spread it over the cores, then collect in order.
    let mut groups: Vec<(String, hierarchy::GroupEntry)> = h.groups.into_iter().collect();
    let jobs: Vec<(usize, String, ArrayMeta)> = groups
        .iter_mut()
        .enumerate()
        .flat_map(|(i, (_, g))| {
            std::mem::take(&mut g.arrays)
                .into_iter()
                .map(move |(name, meta)| (i, name, meta))
        })
        .collect();
    let mut described = jobs
        .into_par_iter()
        .map(|(i, name, meta)| {
            (
                i,
                describe_array(source, &groups[i].0, &name, meta, options),
            )
        })
        .collect::<Vec<_>>()
        .into_iter()
        .peekable();
    for (index, (store_path, group)) in groups.into_iter().enumerate() {
        let store_path = &store_path;
        let mut variables = Vec::new();
        let mut promoted = Vec::new();
        let mut group_attrs = group.attrs;
        // A group-level `coordinates` attribute promotes its names too (xarray's decode_coords).
        if options.decode.decode_cf
            && let Some(Value::String(names)) = group_attrs.get("coordinates").cloned()
        {
            group_attrs.remove("coordinates");
            promoted.extend(names.split_whitespace().map(str::to_owned));
        }
        while let Some((_, result)) = described.next_if(|(i, _)| *i == index) {
            let (info, target, plan_coords, plan_warnings) = result?;
            promoted.extend(plan_coords);
            warnings.extend(plan_warnings);
            targets.insert(info.store_path.clone(), target);
            variables.push(info);
        }
        // `coordinates` attributes promote only names that exist in the same group, as in xarray.
        for v in &mut variables {
            if promoted.contains(&v.name) {
                v.is_coord = true;
            }
        }
        nodes.push(NodeInfo {
            path: path::relative_to(store_path, &root),
            attrs: group_attrs,
            children: group
                .children
                .iter()
                .map(|c| path::name(c).to_owned())
                .collect(),
            variables,
        });
    }
    let limit = Arc::new(Semaphore::new(options.concurrency()));
    let coords = if options.load_coords {
        let (coords, problems) = load_index_coords(&nodes, &targets, &limit).await?;
        warnings.extend(problems);
        coords
    } else {
        Vec::new()
    };
    Ok(OpenedTree {
        info: TreeInfo {
            source: source.description.clone(),
            root,
            consolidated,
            nodes,
            warnings,
            snapshot_id: None,
        },
        targets,
        coords,
        limit,
        stats: Arc::clone(&source.stats),
        secrets: Vec::new(),
    })
}

/// numcodecs codecs whose bytes are exactly those of a core Zarr v3 codec: zarr-python writes them as
/// `numcodecs.gzip` / `numcodecs.zstd`, zarrs knows them by their v3 names.
fn alias_numcodecs(codecs: &mut Value) {
    let Value::Array(list) = codecs else { return };
    for codec in list {
        let config = codec.get("configuration").cloned().unwrap_or(Value::Null);
        let Some(obj) = codec.as_object_mut() else {
            continue;
        };
        match obj.get("name").and_then(Value::as_str) {
            Some("numcodecs.gzip") => {
                obj.insert("name".into(), Value::from("gzip"));
                let level = config.get("level").cloned().unwrap_or(Value::from(5));
                obj.insert(
                    "configuration".into(),
                    serde_json::json!({ "level": level }),
                );
            }
            Some("numcodecs.zstd") => {
                obj.insert("name".into(), Value::from("zstd"));
                let level = config.get("level").cloned().unwrap_or(Value::from(0));
                let checksum = config
                    .get("checksum")
                    .cloned()
                    .unwrap_or(Value::from(false));
                obj.insert(
                    "configuration".into(),
                    serde_json::json!({ "level": level, "checksum": checksum }),
                );
            }
            Some("sharding_indexed") => {
                for inner in ["codecs", "index_codecs"] {
                    if let Some(c) = obj.get_mut("configuration").and_then(|c| c.get_mut(inner)) {
                        alias_numcodecs(c);
                    }
                }
            }
            _ => {}
        }
    }
}

/// One array: what JavaScript sees, how to read it, the names its `coordinates` attribute promotes and
/// any warnings. CF attributes that cannot be applied, an unsupported codec or an unsupported data type
/// fail the reads of that array only: it is listed with its stored type and attributes.
fn describe_array(
    source: &Source,
    store_path: &str,
    name: &str,
    mut meta: ArrayMeta,
    options: &OpenOptions,
) -> Result<(VariableInfo, ReadTarget, Vec<String>, Vec<String>)> {
    let array_path = path::join(store_path, name);
    let (mut plan, cf_problem) =
        match VariablePlan::new(&array_path, meta.dtype, &meta.attrs, options.decode) {
            Ok(plan) => (plan, None),
            Err(e) => {
                let raw = DecodeOptions {
                    decode_cf: false,
                    ..options.decode
                };
                (
                    VariablePlan::new(&array_path, meta.dtype, &meta.attrs, raw)?,
                    Some(e),
                )
            }
        };
    for chunks in std::iter::once(&meta.chunks).chain(&meta.shards) {
        crate::read::check_chunk_shape(&array_path, chunks, meta.dtype)?;
    }
    let built = build_array(source, &array_path, std::mem::take(&mut meta.document));
    let cf_warning = cf_problem
        .as_ref()
        .map(|e| format!("{e} (reads of this array reject with {})", e.code()));
    let array = match (meta.unsupported.clone().or(cf_problem), built) {
        (Some(e), _) | (None, Err(e @ RtError::UnsupportedCodec(_))) => Err(e),
        (None, Ok(a)) => Ok(Arc::new(a)),
        (None, Err(e)) => return Err(e),
    };
    let mut encoding = plan.encoding.clone();
    encoding.insert("chunks".into(), Value::from(meta.chunks.clone()));
    encoding.insert(
        "shards".into(),
        meta.shards.clone().map_or(Value::Null, Value::from),
    );
    encoding.insert("fill_value".into(), meta.fill_value.clone());
    encoding.insert("codecs".into(), meta.codecs.clone());
    let info = VariableInfo {
        name: name.to_owned(),
        store_path: array_path.clone(),
        dims: meta.dims.clone(),
        shape: meta.shape.clone(),
        dtype: if meta.unsupported.is_some() {
            meta.dtype_name.clone()
        } else {
            plan.dtype.clone()
        },
        chunks: meta.chunks.clone(),
        // Taken, not copied: reads do not need the attributes, which can be most of the metadata.
        attrs: std::mem::take(&mut plan.attrs),
        encoding: js_map(&encoding),
        is_coord: meta.dims.len() == 1 && meta.dims[0] == name,
    };
    let coordinates = plan.coordinates.clone();
    let mut warnings = plan.warnings.clone();
    warnings.extend(cf_warning);
    let target = ReadTarget {
        array,
        path: array_path,
        dtype: meta.dtype,
        shape: meta.shape.clone(),
        storage_chunks: meta.shards.clone().unwrap_or_else(|| meta.chunks.clone()),
        sharded: meta.shards.is_some(),
        direct: crate::read::direct::supports(&meta.codecs, meta.dtype)
            .filter(|_| meta.shards.is_none()),
        plan: Arc::new(plan),
    };
    Ok((info, target, coordinates, warnings))
}

/// A map made safe for `JSON.parse` (see [`crate::json::to_js`]).
fn js_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| (k.clone(), crate::json::to_js(v)))
        .collect()
}

fn build_array(source: &Source, array_path: &str, mut document: Value) -> Result<ZArray> {
    if let Some(codecs) = document.get_mut("codecs") {
        alias_numcodecs(codecs);
    }
    let metadata = array_metadata(document)
        .map_err(|e| RtError::InvalidMetadata(format!("array {array_path:?}: {e}")))?;
    let store = source.chunk_store.clone().readable();
    Array::new_with_metadata(store, array_path, metadata).map_err(|e| match &e {
        ArrayCreateError::CodecsCreateError(_) => {
            RtError::UnsupportedCodec(format!("array {array_path:?}: {e}"))
        }
        ArrayCreateError::DataTypeCreateError(_) => {
            RtError::UnsupportedDtype(format!("array {array_path:?}: {e}"))
        }
        _ => RtError::InvalidMetadata(format!("array {array_path:?}: {e}")),
    })
}

/// An array document as zarrs' metadata, field by field.
///
/// `serde_json::from_value::<ArrayMetadata>` copies the whole document twice into serde's buffered form
/// (an untagged V2/V3 enum, then a flattened struct), which was the largest cost of describing an array.
/// Here each field is read from its own value, and the attributes, which reads do not use, are left
/// out. Unknown top-level fields are kept as zarrs' additional fields, so one that must be understood
/// still fails as zarrs would have it.
fn array_metadata(document: Value) -> std::result::Result<ArrayMetadata, String> {
    fn field<T: serde::de::DeserializeOwned>(
        map: &mut Map<String, Value>,
        key: &str,
    ) -> std::result::Result<Option<T>, String> {
        map.remove(key)
            .map(|v| serde_json::from_value(v).map_err(|e| format!("{key}: {e}")))
            .transpose()
    }
    fn required<T: serde::de::DeserializeOwned>(
        map: &mut Map<String, Value>,
        key: &str,
    ) -> std::result::Result<T, String> {
        field(map, key)?.ok_or_else(|| format!("missing field `{key}`"))
    }
    let Value::Object(mut map) = document else {
        return Err("the array document is not a JSON object".into());
    };
    if map.remove("zarr_format") != Some(Value::from(3)) {
        return Err("zarr_format is not 3".into());
    }
    if map.remove("node_type").as_ref().and_then(Value::as_str) != Some("array") {
        return Err("node_type is not \"array\"".into());
    }
    map.remove("attributes");
    let shape: Vec<u64> = required(&mut map, "shape")?;
    let data_type: MetadataV3 = required(&mut map, "data_type")?;
    let chunk_grid: MetadataV3 = required(&mut map, "chunk_grid")?;
    let chunk_key_encoding: MetadataV3 = required(&mut map, "chunk_key_encoding")?;
    // Strings that imitate our marks were escaped at parse time (for JavaScript); zarrs gets them back.
    let stored_fill = map.remove("fill_value").map(crate::json::as_stored);
    let fill_value: FillValueMetadataV3 =
        serde_json::from_value(stored_fill.ok_or_else(|| "missing field `fill_value`".to_owned())?)
            .map_err(|e| format!("fill_value: {e}"))?;
    let codecs: Vec<MetadataV3> = required(&mut map, "codecs")?;
    let storage_transformers: Vec<MetadataV3> =
        field(&mut map, "storage_transformers")?.unwrap_or_default();
    let dimension_names: Option<Vec<Option<String>>> =
        field::<Option<_>>(&mut map, "dimension_names")?.flatten();
    let additional: AdditionalFieldsV3 = map
        .into_iter()
        .map(|(k, v)| (k, AdditionalFieldV3::from(v)))
        .collect();
    Ok(ArrayMetadata::V3(
        ArrayMetadataV3::new(shape, chunk_grid, data_type, fill_value, codecs)
            .with_chunk_key_encoding(chunk_key_encoding)
            .with_storage_transformers(storage_transformers)
            .with_dimension_names(dimension_names)
            .with_additional_fields(additional),
    ))
}

/// Reads every 1-D dimension coordinate at once. A coordinate that cannot be decoded (unsupported
/// codec or type, corrupt chunk, times out of range) is left unloaded with a warning, so it fails only
/// when read, as any other variable would; storage failures and aborts still fail the open.
async fn load_index_coords(
    nodes: &[NodeInfo],
    targets: &HashMap<String, ReadTarget>,
    limit: &Arc<Semaphore>,
) -> Result<(Vec<(String, TypedData)>, Vec<String>)> {
    let wanted = nodes
        .iter()
        .flat_map(|n| &n.variables)
        .filter(|v| v.dims.len() == 1 && v.dims[0] == v.name)
        .filter_map(|v| targets.get(&v.store_path));
    let results = try_join_all(wanted.map(|t| async move {
        match read_region(t, &[0], &t.shape, limit).await {
            Ok(data) => Ok(Ok((t.path.clone(), data))),
            Err(e @ (RtError::Storage(_) | RtError::Aborted(_) | RtError::Internal(_))) => Err(e),
            Err(e) => Ok(Err(format!(
                "coordinate {:?} was not loaded: [{}] {}",
                t.path,
                e.code(),
                e.message()
            ))),
        }
    }))
    .await?;
    let mut coords = Vec::new();
    let mut problems = Vec::new();
    for r in results {
        match r {
            Ok(c) => coords.push(c),
            Err(p) => problems.push(p),
        }
    }
    Ok((coords, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn zarr_python_document() -> Value {
        // As zarr-python 3.4 writes a float32 moment (fixtures/stores, benchmark data).
        json!({
            "shape": [2, 360, 100], "data_type": "float32",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1, 360, 100]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": "NaN",
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                       {"name": "zstd", "configuration": {"level": 3, "checksum": false}}],
            "attributes": {"units": "dBZ", "_FillValue": "AAAAAAAA+H8="},
            "dimension_names": ["vcp_time", "azimuth", null],
            "zarr_format": 3, "node_type": "array", "storage_transformers": []
        })
    }

    #[test]
    fn array_metadata_matches_serde_without_the_attributes() {
        let doc = zarr_python_document();
        let mut expected: ArrayMetadata = serde_json::from_value(doc.clone()).unwrap();
        if let ArrayMetadata::V3(v3) = &mut expected {
            v3.attributes.clear();
        }
        assert_eq!(array_metadata(doc).unwrap(), expected);
    }

    #[test]
    fn array_metadata_keeps_extension_fields_and_rejects_malformed_documents() {
        let mut doc = zarr_python_document();
        doc["my_extension"] = json!({"must_understand": false, "x": 1});
        let ArrayMetadata::V3(v3) = array_metadata(doc.clone()).unwrap() else {
            panic!("not V3")
        };
        assert!(!v3.additional_fields["my_extension"].must_understand());
        doc["required_extension"] = json!({"x": 1});
        let ArrayMetadata::V3(v3) = array_metadata(doc).unwrap() else {
            panic!("not V3")
        };
        assert!(v3.additional_fields["required_extension"].must_understand());

        for (key, value, why) in [
            ("shape", Value::Null, "shape:"),
            ("zarr_format", json!(2), "zarr_format is not 3"),
            ("node_type", json!("group"), "node_type"),
            ("codecs", json!("zstd"), "codecs:"),
        ] {
            let mut doc = zarr_python_document();
            doc[key] = value;
            let e = array_metadata(doc).unwrap_err();
            assert!(e.contains(why), "{key}: {e}");
        }
        let mut doc = zarr_python_document();
        doc.as_object_mut().unwrap().remove("chunk_grid");
        assert_eq!(
            array_metadata(doc).unwrap_err(),
            "missing field `chunk_grid`"
        );
        assert!(array_metadata(json!([1])).is_err());
    }
}
