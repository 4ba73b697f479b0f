//! Parsing and validating one node's `zarr.json` (from its own key or from consolidated metadata).

use std::collections::{HashMap, hash_map};
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::attrs::Attrs;
use crate::dtype::Dtype;
use crate::error::{Result, RtError};

/// A group's metadata.
#[derive(Debug, Clone, Default)]
pub struct GroupMeta {
    /// User attributes.
    pub attrs: Attrs,
    /// `consolidated_metadata.metadata` (relative key → node metadata), when present and inline.
    pub consolidated: Option<Consolidated>,
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
    pub attrs: Attrs,
    /// The Zarr `fill_value`, as stored.
    pub fill_value: Value,
    /// The codec chain, as stored.
    pub codecs: Value,
    /// The whole `zarr.json` document but its attributes, handed to zarrs to build the codec pipeline.
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

/// A group's inline consolidated metadata, still as text: the `metadata` object of its
/// `consolidated_metadata`, within the text of the document it came from. Every nested document is read
/// from that one text (zarr-python repeats each group's subtree inside the group's own entry), so none is
/// copied.
#[derive(Debug, Clone)]
pub struct Consolidated {
    /// The whole document's text, checked.
    text: Arc<str>,
    /// Where the `metadata` object is in it.
    range: Range<usize>,
}

impl Consolidated {
    /// The text of the document the consolidated metadata is in.
    #[must_use]
    pub fn text(&self) -> &Arc<str> {
        &self.text
    }

    /// The `metadata` object's entries (relative key, document text) in order; a key given twice keeps
    /// its first place and its last document, as a parsed map would.
    ///
    /// # Errors
    /// `ERR_INVALID_METADATA` should the text not be an object (it was checked when it was found).
    pub fn entries(&self) -> Result<Vec<(String, &str)>> {
        let Entries(entries) = serde_json::from_str(&self.text[self.range.clone()])
            .map_err(|e| RtError::InvalidMetadata(format!("consolidated metadata: {e}")))?;
        Ok(entries.into_iter().map(|(k, v)| (k, v.get())).collect())
    }
}

/// A document taken apart by [`parse_checked`]: a group's consolidated metadata is still a slice of the
/// text parsed.
pub enum Parsed<'a> {
    /// A group, with the text of its consolidated metadata's `metadata` object.
    Group(Attrs, Option<&'a str>),
    /// An array.
    Array(Box<ArrayMeta>),
}

impl Parsed<'_> {
    /// The node. `base` is the text this was parsed from (or one it is part of), and `shared` makes that
    /// text (or a copy of it) for a group's consolidated metadata to be read from later.
    pub fn into_node(self, base: &str, shared: impl FnOnce() -> Arc<str>) -> NodeMeta {
        match self {
            Parsed::Group(attrs, consolidated) => NodeMeta::Group(GroupMeta {
                attrs,
                consolidated: consolidated.map(|slice| {
                    let start = slice.as_ptr() as usize - base.as_ptr() as usize;
                    let text = shared();
                    debug_assert!(
                        text.get(start..start + slice.len()) == Some(slice),
                        "consolidated metadata outside its text"
                    );
                    Consolidated {
                        text,
                        range: start..start + slice.len(),
                    }
                }),
            }),
            Parsed::Array(a) => NodeMeta::Array(a),
        }
    }
}

/// The largest `zarr.json` read (consolidated metadata included): 256 MiB, room for the consolidated
/// metadata of a few hundred thousand arrays. Sources read at most one byte more of a metadata document.
pub const MAX_DOCUMENT_BYTES: usize = 256 << 20;

/// Values whose text is longer than this are checked for the memory their parse needs before it starts.
const PROBED_ABOVE: usize = 1 << 20;

/// Parses the bytes of a `zarr.json`.
///
/// # Errors
/// `ERR_INVALID_METADATA` for malformed JSON or metadata, a document over [`MAX_DOCUMENT_BYTES`] or one
/// with a value whose parse would not fit in memory; `ERR_UNSUPPORTED_FORMAT` for Zarr v2 documents;
/// `ERR_UNSUPPORTED_DTYPE` for unknown data types.
pub fn parse_bytes(bytes: &[u8], path: &str) -> Result<NodeMeta> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(RtError::InvalidMetadata(format!(
            "zarr.json of {path:?} is larger than the {MAX_DOCUMENT_BYTES}-byte limit for metadata \
             documents"
        )));
    }
    let not_json = |e: &dyn std::fmt::Display| {
        RtError::InvalidMetadata(format!("zarr.json of {path:?} is not valid JSON: {e}"))
    };
    let text = crate::json::lenient_text(bytes).map_err(|e| not_json(&e))?;
    // Checked JSON is UTF-8 (any other byte outside a string is a syntax error, and strings are checked).
    let text = std::str::from_utf8(&text).map_err(|e| not_json(&e))?;
    // Consolidated metadata outlives this parse: the text it is read from is kept, once.
    Ok(parse_checked(text, path)?.into_node(text, || Arc::from(text)))
}

/// Parses the `zarr.json` document `text`, already checked (see [`crate::json::lenient_text`]): the text
/// of a document or of an entry of consolidated metadata. Its attributes stay text (see [`Attrs`]), and
/// so does a group's consolidated metadata; only an array's other fields are parsed into values.
///
/// # Errors
/// As [`parse_bytes`].
pub fn parse_checked<'a>(text: &'a str, path: &str) -> Result<Parsed<'a>> {
    let invalid = |why: &str| RtError::InvalidMetadata(format!("zarr.json of {path:?}: {why}"));
    let Some(Entries(mut fields)) = object_entries(text).map_err(|e| {
        RtError::InvalidMetadata(format!("zarr.json of {path:?} is not valid JSON: {e}"))
    })?
    else {
        return Err(invalid("not a JSON object"));
    };
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
    match field("zarr_format")
        .map(|v| parse_sized(v.get(), path, "field \"zarr_format\""))
        .transpose()?
    {
        Some(Value::Number(n)) if n.as_u64() == Some(3) => {}
        Some(Value::Number(n)) if n.as_u64() == Some(2) => {
            return Err(RtError::UnsupportedFormat(format!(
                "{path:?} is Zarr format 2, which is not supported yet (only Zarr v3)"
            )));
        }
        Some(other) => return Err(invalid(&format!("unsupported zarr_format {other}"))),
        None => return Err(invalid("missing \"zarr_format\"")),
    }
    let attrs = match field("attributes").map(RawValue::get) {
        None | Some("null") => Attrs::default(),
        Some(object) if object.starts_with('{') => Attrs::from_object(object, path)?,
        Some(_) => return Err(invalid("\"attributes\" is not an object")),
    };
    let node_type = field("node_type")
        .map(|v| parse_sized(v.get(), path, "field \"node_type\""))
        .transpose()?;
    match node_type.as_ref().and_then(Value::as_str) {
        Some("group") => {
            let consolidated = match field("consolidated_metadata") {
                Some(cm) => inline_metadata(cm.get(), path)?,
                None => None,
            };
            Ok(Parsed::Group(attrs, consolidated))
        }
        Some("array") => {
            // Attributes are kept apart as text, not copied into the array's document.
            fields.retain(|(k, _)| k != "attributes");
            let mut obj = Map::new();
            for (key, value) in fields {
                let parsed = parse_sized(value.get(), path, &format!("field {key:?}"))?;
                obj.insert(key, parsed);
            }
            parse_array(obj, attrs, path).map(|a| Parsed::Array(Box::new(a)))
        }
        Some(other) => Err(invalid(&format!("unknown node_type {other:?}"))),
        None => Err(invalid("missing \"node_type\"")),
    }
}

/// The text of the `metadata` object of a group's `consolidated_metadata` (`text`), when it is inline.
///
/// # Errors
/// `ERR_INVALID_METADATA` when inline consolidated metadata has no `metadata` object.
fn inline_metadata<'a>(text: &'a str, path: &str) -> Result<Option<&'a str>> {
    let Some(Entries(fields)) = object_entries(text).map_err(|e| {
        RtError::InvalidMetadata(format!("zarr.json of {path:?} is not valid JSON: {e}"))
    })?
    else {
        return Ok(None);
    };
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
    let kind = field("kind")
        .map(|v| parse_sized(v.get(), path, "consolidated_metadata field \"kind\""))
        .transpose()?;
    if kind.as_ref().and_then(Value::as_str) != Some("inline") {
        return Ok(None);
    }
    match field("metadata").map(RawValue::get) {
        Some(object) if object.starts_with('{') => Ok(Some(object)),
        _ => Err(RtError::InvalidMetadata(format!(
            "zarr.json of {path:?}: consolidated_metadata has no \"metadata\" object"
        ))),
    }
}

/// The entries of the JSON object `text` (checked JSON), each value as text; `None` when `text` is not
/// an object.
fn object_entries(text: &str) -> std::result::Result<Option<Entries<'_>>, serde_json::Error> {
    if !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    serde_json::from_str(text).map(Some)
}

/// A JSON object's entries in order, each value as text; a key given twice keeps its first place and its
/// last value, as a parsed map would.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Entries<'de>, A::Error> {
                let mut entries: Vec<(String, &'de RawValue)> = Vec::new();
                let mut places: HashMap<String, usize> = HashMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value()?;
                    match places.entry(key) {
                        hash_map::Entry::Occupied(place) => entries[*place.get()].1 = value,
                        hash_map::Entry::Vacant(place) => {
                            entries.push((place.key().clone(), value));
                            place.insert(entries.len() - 1);
                        }
                    }
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Parses `text` (checked JSON, a value of the document of `path` described by `what`) into a value,
/// first making sure, when the text is large, that the parse fits in memory.
///
/// # Errors
/// `ERR_INVALID_METADATA` when it would not fit, or should the text not be JSON after all.
pub(crate) fn parse_sized(text: &str, path: &str, what: &str) -> Result<Value> {
    if text.len() > PROBED_ABOVE {
        check_parse_fits(text.as_bytes(), path, what)?;
    }
    serde_json::from_str(text).map_err(|e| {
        RtError::InvalidMetadata(format!("zarr.json of {path:?} is not valid JSON: {e}"))
    })
}

/// Fails when the parsed form of `bytes` would not fit in memory. A parsed value takes far more than its
/// text (a number written as `1,` becomes an 80-byte `Value`, and lists grow by doubling), and an
/// allocation that fails during the parse aborts the process; so the memory a parse needs at most (two
/// `Value`s a value, plus the text again for strings) is allocated, untouched, and freed before it starts.
fn check_parse_fits(bytes: &[u8], path: &str, what: &str) -> Result<()> {
    let values = crate::json::count_values(bytes);
    let needed = values
        .saturating_mul(2 * std::mem::size_of::<Value>())
        .saturating_add(bytes.len());
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(needed).map_err(|_| {
        RtError::InvalidMetadata(format!(
            "zarr.json of {path:?}: {what} holds about {values} JSON values; parsing it needs about \
             {needed} bytes, which do not fit in memory"
        ))
    })
}

fn parse_array(obj: Map<String, Value>, attrs: Attrs, path: &str) -> Result<ArrayMeta> {
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
        assert_eq!(g.attrs.to_map()["a"], 1);
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
        let NodeMeta::Array(a) = parse_bytes(&serde_json::to_vec(&doc).unwrap(), "/a").unwrap()
        else {
            panic!("not an array")
        };
        assert_eq!(a.chunks, vec![5, 5]);
        assert_eq!(a.shards, Some(vec![20, 20]));
        assert_eq!(a.dims, vec!["y", "dim_1"]);
    }
}
