//! Parsing and validating one node's `zarr.json` (from its own key or from consolidated metadata).

use serde_json::{Map, Value};

use crate::dtype::Dtype;
use crate::error::{Result, RtError};

/// A group's metadata.
#[derive(Debug, Clone, Default)]
pub struct GroupMeta {
    /// User attributes.
    pub attrs: Map<String, Value>,
    /// `consolidated_metadata.metadata` (relative key → node metadata), when present and inline.
    pub consolidated: Option<Map<String, Value>>,
}

/// An array's metadata, with the fields the rest of the crate needs already extracted.
#[derive(Debug, Clone)]
pub struct ArrayMeta {
    /// Stored element type.
    pub dtype: Dtype,
    /// The data type's name for users: numpy's name, or the Zarr name of an unsupported type.
    pub dtype_name: String,
    /// Why the data type cannot be read, when it cannot.
    pub unsupported: Option<RtError>,
    /// Array shape.
    pub shape: Vec<u64>,
    /// The read chunk shape: the inner chunk shape for sharded arrays, else the grid's chunk shape.
    pub chunks: Vec<u64>,
    /// Shard shape (the grid's chunk shape) for sharded arrays.
    pub shards: Option<Vec<u64>>,
    /// Dimension names (`dim_<i>` where the metadata has none).
    pub dims: Vec<String>,
    /// User attributes (CF attributes included, undecoded).
    pub attrs: Map<String, Value>,
    /// The Zarr `fill_value`, as stored.
    pub fill_value: Value,
    /// The codec chain, as stored.
    pub codecs: Value,
    /// The whole `zarr.json` document, handed to zarrs to build the codec pipeline.
    pub document: Value,
}

/// One node of the hierarchy.
#[derive(Debug, Clone)]
pub enum NodeMeta {
    /// A group.
    Group(GroupMeta),
    /// An array.
    Array(Box<ArrayMeta>),
}

/// The largest `zarr.json` read (consolidated metadata included): 256 MiB, room for the consolidated
/// metadata of a few hundred thousand arrays. Sources read at most one byte more of a metadata document.
pub const MAX_DOCUMENT_BYTES: usize = 256 << 20;

/// Documents above this size are checked for the memory their parse needs before it starts.
const PROBED_ABOVE: usize = 1 << 20;

/// Parses the bytes of a `zarr.json`.
///
/// # Errors
/// `ERR_INVALID_METADATA` for malformed JSON or metadata, a document over [`MAX_DOCUMENT_BYTES`] or one
/// whose parse would not fit in memory; `ERR_UNSUPPORTED_FORMAT` for Zarr v2 documents;
/// `ERR_UNSUPPORTED_DTYPE` for unknown data types.
pub fn parse_bytes(bytes: &[u8], path: &str) -> Result<NodeMeta> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(RtError::InvalidMetadata(format!(
            "zarr.json of {path:?} is larger than the {MAX_DOCUMENT_BYTES}-byte limit for metadata \
             documents"
        )));
    }
    if bytes.len() > PROBED_ABOVE {
        check_parse_fits(bytes, path)?;
    }
    let value: Value = crate::json::parse_lenient(bytes).map_err(|e| {
        RtError::InvalidMetadata(format!("zarr.json of {path:?} is not valid JSON: {e}"))
    })?;
    parse_value(value, path)
}

/// Fails when the parsed form of `bytes` would not fit in memory. A parsed value takes far more than its
/// text (a number written as `1,` becomes an 80-byte `Value`, and lists grow by doubling), and an
/// allocation that fails during the parse aborts the process; so the memory a parse needs at most (two
/// `Value`s a value, plus the text again for strings) is allocated, untouched, and freed before it starts.
fn check_parse_fits(bytes: &[u8], path: &str) -> Result<()> {
    let values = crate::json::count_values(bytes);
    let needed = values
        .saturating_mul(2 * std::mem::size_of::<Value>())
        .saturating_add(bytes.len());
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(needed).map_err(|_| {
        RtError::InvalidMetadata(format!(
            "zarr.json of {path:?} holds about {values} JSON values; parsing it needs about {needed} \
             bytes, which do not fit in memory"
        ))
    })
}

/// Parses an already-decoded `zarr.json` document, taking it apart rather than copying it: consolidated
/// metadata holds every node's document (zarr-python nests each group's subtree inside it again), so
/// copies here would cost more than the parse.
///
/// # Errors
/// As [`parse_bytes`].
pub fn parse_value(value: Value, path: &str) -> Result<NodeMeta> {
    let invalid = |why: &str| RtError::InvalidMetadata(format!("zarr.json of {path:?}: {why}"));
    let Value::Object(mut obj) = value else {
        return Err(invalid("not a JSON object"));
    };
    match obj.get("zarr_format") {
        Some(Value::Number(n)) if n.as_u64() == Some(3) => {}
        Some(Value::Number(n)) if n.as_u64() == Some(2) => {
            return Err(RtError::UnsupportedFormat(format!(
                "{path:?} is Zarr format 2, which is not supported yet (only Zarr v3)"
            )));
        }
        Some(other) => return Err(invalid(&format!("unsupported zarr_format {other}"))),
        None => return Err(invalid("missing \"zarr_format\"")),
    }
    // Taken out, not copied: attributes can be most of a document, and nothing else reads them there.
    let attrs = match obj.remove("attributes") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(a)) => a,
        Some(_) => return Err(invalid("\"attributes\" is not an object")),
    };
    match obj.get("node_type").and_then(Value::as_str) {
        Some("group") => {
            let consolidated = match obj.remove("consolidated_metadata") {
                Some(Value::Object(mut cm))
                    if cm.get("kind").and_then(Value::as_str) == Some("inline") =>
                {
                    match cm.remove("metadata") {
                        Some(Value::Object(m)) => Some(m),
                        _ => {
                            return Err(invalid(
                                "consolidated_metadata has no \"metadata\" object",
                            ));
                        }
                    }
                }
                _ => None,
            };
            Ok(NodeMeta::Group(GroupMeta {
                attrs,
                consolidated,
            }))
        }
        Some("array") => parse_array(obj, attrs, path).map(|a| NodeMeta::Array(Box::new(a))),
        Some(other) => Err(invalid(&format!("unknown node_type {other:?}"))),
        None => Err(invalid("missing \"node_type\"")),
    }
}

fn parse_array(
    obj: Map<String, Value>,
    attrs: Map<String, Value>,
    path: &str,
) -> Result<ArrayMeta> {
    let invalid = |why: &str| RtError::InvalidMetadata(format!("array {path:?}: {why}"));
    let shape = u64_list(obj.get("shape"))
        .ok_or_else(|| invalid("\"shape\" is not a list of non-negative integers"))?;
    let data_type = obj
        .get("data_type")
        .ok_or_else(|| invalid("missing \"data_type\""))?;
    // An unknown data type is remembered, not fatal: the rest of the tree still opens.
    let (dtype, unsupported) = match Dtype::from_metadata(data_type, path) {
        Ok(d) => (d, None),
        Err(e @ RtError::UnsupportedDtype(_)) => (Dtype::Unsupported, Some(e)),
        Err(e) => return Err(e),
    };
    let dtype_name = match (dtype, data_type) {
        (Dtype::Unsupported, Value::String(s)) => s.clone(),
        (Dtype::Unsupported, v) => v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
        (d, _) => d.numpy_name().to_owned(),
    };
    let grid = obj
        .get("chunk_grid")
        .ok_or_else(|| invalid("missing \"chunk_grid\""))?;
    let grid_name = grid.get("name").and_then(Value::as_str).unwrap_or_default();
    if grid_name != "regular" {
        return Err(RtError::UnsupportedFormat(format!(
            "array {path:?}: chunk grid {grid_name:?} is not supported (only \"regular\")"
        )));
    }
    let grid_chunks = u64_list(grid.pointer("/configuration/chunk_shape"))
        .filter(|c| c.len() == shape.len() && c.iter().all(|&n| n > 0))
        .ok_or_else(|| {
            invalid("chunk_grid chunk_shape must list one positive integer per dimension")
        })?;
    let codecs = obj
        .get("codecs")
        .cloned()
        .ok_or_else(|| invalid("missing \"codecs\""))?;
    let Value::Array(codec_list) = &codecs else {
        return Err(invalid("\"codecs\" is not a list"));
    };
    let inner = codec_list.iter().find_map(|c| {
        (c.get("name").and_then(Value::as_str) == Some("sharding_indexed"))
            .then(|| u64_list(c.pointer("/configuration/chunk_shape")))
    });
    let (chunks, shards) = match inner {
        Some(Some(inner)) if inner.len() == shape.len() && inner.iter().all(|&n| n > 0) => {
            (inner, Some(grid_chunks))
        }
        Some(_) => {
            return Err(invalid(
                "sharding_indexed needs a chunk_shape with one positive integer per dimension",
            ));
        }
        None => (grid_chunks, None),
    };
    let dims = match obj.get("dimension_names") {
        None | Some(Value::Null) => (0..shape.len()).map(|i| format!("dim_{i}")).collect(),
        Some(Value::Array(names)) if names.len() == shape.len() => names
            .iter()
            .enumerate()
            .map(|(i, n)| match n {
                Value::String(s) => Ok(s.clone()),
                Value::Null => Ok(format!("dim_{i}")),
                _ => Err(invalid("dimension_names entries must be strings or null")),
            })
            .collect::<Result<Vec<_>>>()?,
        Some(_) => return Err(invalid("dimension_names must list one name per dimension")),
    };
    Ok(ArrayMeta {
        dtype,
        dtype_name,
        unsupported,
        shape,
        chunks,
        shards,
        dims,
        attrs,
        fill_value: obj.get("fill_value").cloned().unwrap_or(Value::Null),
        codecs,
        document: Value::Object(obj),
    })
}

fn u64_list(value: Option<&Value>) -> Option<Vec<u64>> {
    value?.as_array()?.iter().map(Value::as_u64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_documents_with_codes() {
        let cases: [(&[u8], &str); 5] = [
            (b"{", "ERR_INVALID_METADATA"),
            (
                br#"{"zarr_format": 2, "node_type": "group"}"#,
                "ERR_UNSUPPORTED_FORMAT",
            ),
            (
                br#"{"zarr_format": 3, "node_type": "banana"}"#,
                "ERR_INVALID_METADATA",
            ),
            (br#"{"zarr_format": 3}"#, "ERR_INVALID_METADATA"),
            (b"[1]", "ERR_INVALID_METADATA"),
        ];
        for (bytes, code) in cases {
            let err = parse_bytes(bytes, "/g").unwrap_err();
            assert_eq!(err.code(), code, "{}", String::from_utf8_lossy(bytes));
            assert!(err.message().contains("/g"));
        }
    }

    #[test]
    fn documents_over_the_limit_are_invalid_metadata_naming_the_limit() {
        let mut big = br#"{"zarr_format": 3, "node_type": "group", "attributes": {"a": ""#.to_vec();
        big.resize(MAX_DOCUMENT_BYTES, b'x');
        big.extend_from_slice(br#""}}"#);
        let err = parse_bytes(&big, "/g").unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_METADATA");
        assert!(err.message().contains("\"/g\""), "{}", err.message());
        assert!(
            err.message().contains(&MAX_DOCUMENT_BYTES.to_string()),
            "{}",
            err.message()
        );
    }

    #[test]
    fn a_byte_order_mark_before_the_document_is_skipped() {
        let doc = b"\xef\xbb\xbf{\"zarr_format\": 3, \"node_type\": \"group\", \"attributes\": {\"a\": 1}}";
        let NodeMeta::Group(g) = parse_bytes(doc, "/").unwrap() else {
            panic!("not a group")
        };
        assert_eq!(g.attrs["a"], 1);
    }

    #[test]
    fn sharded_arrays_report_inner_chunks() {
        let doc = serde_json::json!({
            "zarr_format": 3, "node_type": "array", "shape": [40, 30], "data_type": "float32",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [20, 20]}},
            "chunk_key_encoding": {"name": "default"}, "fill_value": "NaN",
            "codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [5, 5],
                "codecs": [{"name": "bytes"}], "index_codecs": [{"name": "bytes"}]}}],
            "dimension_names": ["y", null]
        });
        let NodeMeta::Array(a) = parse_value(doc, "/a").unwrap() else {
            panic!("not an array")
        };
        assert_eq!(a.chunks, vec![5, 5]);
        assert_eq!(a.shards, Some(vec![20, 20]));
        assert_eq!(a.dims, vec!["y", "dim_1"]);
    }
}
