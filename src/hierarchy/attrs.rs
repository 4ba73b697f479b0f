//! A node's user attributes, kept as the JSON text they were stored as from the document's parse to the
//! metadata handed to JavaScript. Attributes are the one free-form part of a document and may hold
//! millions of values, and a parsed `Value` tree costs about twenty times its text; so only the few
//! attributes Rust reads itself ([`READ_BY_RUST`]) are parsed, and the others are copied through as text.

use std::borrow::Cow;
use std::sync::Arc;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::node::parse_sized;
use crate::error::{Result, RtError};
use crate::json::{lenient_text, mark_big_integers, to_js};

/// The attributes Rust reads: those of CF decoding ([`crate::cf`]) and `coordinates`. Every other
/// attribute is only ever text.
pub const READ_BY_RUST: [&str; 9] = [
    "_FillValue",
    "missing_value",
    "_Unsigned",
    "scale_factor",
    "add_offset",
    "units",
    "calendar",
    "dtype",
    "coordinates",
];

/// A node's attributes: their text as stored, the ones of [`READ_BY_RUST`] parsed, and the changes made
/// to what JavaScript sees (CF attributes that were applied move to a variable's encoding). Serialised,
/// they are the object JavaScript receives, made safe for `JSON.parse` as [`to_js`] makes values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs {
    /// The attributes object's text, checked JSON with stored marks escaped; `None` for a node without
    /// attributes.
    text: Option<Arc<str>>,
    /// The attributes of [`READ_BY_RUST`] present, parsed, with the changes below applied.
    read: Map<String, Value>,
    /// Attributes removed from (`None`) or given a new value in (`Some`) what JavaScript sees, each key
    /// once, in the order first changed (a few at most: they are all in [`READ_BY_RUST`]).
    changes: Vec<(String, Option<Value>)>,
}

impl Attrs {
    /// The attributes object whose checked JSON text is `object` (see [`crate::json::lenient_text`]), of
    /// the document of `path`.
    ///
    /// # Errors
    /// `ERR_INVALID_METADATA` when an attribute of [`READ_BY_RUST`] would not fit in memory parsed.
    pub fn from_object(object: &str, path: &str) -> Result<Self> {
        let found = serde_json::from_str::<ReadByRust>(object)
            .map_err(|e| {
                RtError::InvalidMetadata(format!("zarr.json of {path:?} is not valid JSON: {e}"))
            })?
            .0;
        let mut read = Map::new();
        for (key, text) in found {
            let value = parse_sized(text.get(), path, &format!("attribute {key:?}"))?;
            read.insert(key.to_owned(), value);
        }
        Ok(Self {
            text: Some(Arc::from(object)),
            read,
            changes: Vec::new(),
        })
    }

    /// The attributes in the JSON text `bytes` (an object, or `null` for none), read as a document is.
    ///
    /// # Errors
    /// `ERR_INVALID_METADATA` for text that is not JSON, or not an object or `null`.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Self> {
        let invalid =
            |why: String| RtError::InvalidMetadata(format!("attributes of {path:?}: {why}"));
        let text = lenient_text(bytes).map_err(|e| invalid(e.to_string()))?;
        let text = std::str::from_utf8(&text).map_err(|e| invalid(e.to_string()))?;
        match text.trim_start().as_bytes().first() {
            Some(b'{') => Self::from_object(text, path),
            Some(b'n') => Ok(Self::default()),
            _ => Err(invalid("not an object".into())),
        }
    }

    /// The value of `key`, one of [`READ_BY_RUST`].
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        debug_assert!(READ_BY_RUST.contains(&key), "{key} is not parsed");
        self.read.get(key)
    }

    /// Takes `key`, one of [`READ_BY_RUST`], out of what JavaScript sees, and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        debug_assert!(READ_BY_RUST.contains(&key), "{key} is not parsed");
        let value = self.read.shift_remove(key)?;
        self.change(key, None);
        Some(value)
    }

    /// Gives `key`, one of [`READ_BY_RUST`], the value `value` in what JavaScript sees.
    pub fn insert(&mut self, key: &str, value: Value) {
        debug_assert!(READ_BY_RUST.contains(&key), "{key} is not parsed");
        self.read.insert(key.to_owned(), value.clone());
        self.change(key, Some(value));
    }

    /// Records the change of `key` (the last change of a key is the one that holds).
    fn change(&mut self, key: &str, change: Option<Value>) {
        match self.changes.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = change,
            None => self.changes.push((key.to_owned(), change)),
        }
    }

    /// The attributes JavaScript sees, parsed (for tests and checks: this builds the tree that the
    /// attributes' text is kept to avoid).
    ///
    /// # Panics
    /// Never: the text was checked when it was read.
    #[must_use]
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map: Map<String, Value> = self
            .text
            .as_deref()
            .map(|t| serde_json::from_str(t).expect("checked JSON"))
            .unwrap_or_default();
        for (key, change) in &self.changes {
            match change {
                None => {
                    map.shift_remove(key);
                }
                Some(value) => {
                    map.insert(key.clone(), value.clone());
                }
            }
        }
        map
    }

    /// Whether JavaScript sees no attribute at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.to_map().is_empty()
    }
}

impl Serialize for Attrs {
    /// The attributes as JavaScript receives them: the stored entries in their order (their text copied
    /// through, integers beyond 2^53 marked), changed ones with their new values, new ones last.
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let mut out = serializer.serialize_map(None)?;
        let mut stored = Vec::new();
        if let Some(text) = &self.text {
            let mut entries = serde_json::Deserializer::from_str(text);
            entries
                .deserialize_map(CopyEntries {
                    out: &mut out,
                    changes: &self.changes,
                    stored: &mut stored,
                })
                .map_err(S::Error::custom)?;
        }
        for (key, change) in &self.changes {
            if let Some(value) = change
                && !stored.contains(&key.as_str())
            {
                out.serialize_entry(key, &to_js(value))?;
            }
        }
        out.end()
    }
}

/// Copies the entries of an attributes object's text into a serialised map, applying `changes`, and
/// notes the changed keys that were `stored`.
struct CopyEntries<'a, 'k, M> {
    out: &'a mut M,
    changes: &'k [(String, Option<Value>)],
    stored: &'a mut Vec<&'k str>,
}

impl<'de, M: SerializeMap> Visitor<'de> for CopyEntries<'_, '_, M> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an attributes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> std::result::Result<(), A::Error> {
        use serde::de::Error;
        while let Some(Key(key)) = entries.next_key()? {
            let text: &RawValue = entries.next_value()?;
            let written = match self.changes.iter().find(|(k, _)| *k == key) {
                Some((stored, change)) => {
                    self.stored.push(stored);
                    match change {
                        Some(value) => self.out.serialize_entry(&key, &to_js(value)),
                        None => Ok(()),
                    }
                }
                None => match mark_big_integers(text.get()) {
                    Cow::Borrowed(_) => self.out.serialize_entry(&key, text),
                    Cow::Owned(marked) => {
                        let marked = RawValue::from_string(marked).map_err(A::Error::custom)?;
                        self.out.serialize_entry(&key, &marked)
                    }
                },
            };
            written.map_err(A::Error::custom)?;
        }
        Ok(())
    }
}

/// An object key, borrowed from the text when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E>(self, key: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The entries of an attributes object whose keys are in [`READ_BY_RUST`], each value as text; the others
/// are skipped unparsed.
struct ReadByRust<'de>(Vec<(&'static str, &'de RawValue)>);

impl<'de> serde::Deserialize<'de> for ReadByRust<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_map(ReadByRustVisitor)
    }
}

struct ReadByRustVisitor;

impl<'de> Visitor<'de> for ReadByRustVisitor {
    type Value = ReadByRust<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an attributes object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut entries: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut found = Vec::new();
        while let Some(key) = entries.next_key_seed(KnownKey)? {
            match key {
                Some(key) => found.push((key, entries.next_value()?)),
                None => {
                    entries.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ReadByRust(found))
    }
}

/// A key, as the entry of [`READ_BY_RUST`] it is (`None` for any other), read without a copy.
struct KnownKey;

impl<'de> DeserializeSeed<'de> for KnownKey {
    type Value = Option<&'static str>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KnownKey {
    type Value = Option<&'static str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> std::result::Result<Self::Value, E> {
        Ok(READ_BY_RUST.iter().copied().find(|known| *known == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{BIGINT_MARK, FLOAT_MARK, STRING_MARK, parse_lenient};

    const STORED: &str = r#"{"units": "m", "list": [1, 2.5, -0, 1e300, 9007199254740993],
        "big": -9007199254740993, "nan": NaN, "mark": "\u0000rustytree:bigint:1", "_FillValue": -1,
        "nested": {"inf": [-Infinity], "huge": 18446744073709551615, "k": "v"}, "calendar": null}"#;

    /// What JavaScript's `JSON.parse` gets, parsed here.
    fn sent(attrs: &Attrs) -> Map<String, Value> {
        serde_json::from_str(&serde_json::to_string(attrs).unwrap()).unwrap()
    }

    #[test]
    fn javascript_gets_what_a_parsed_tree_gave_it() {
        let attrs = Attrs::parse(STORED.as_bytes(), "/").unwrap();
        let Value::Object(expected) = to_js(&parse_lenient(STORED.as_bytes()).unwrap()) else {
            panic!("not an object")
        };
        let got = sent(&attrs);
        assert_eq!(got, expected);
        assert!(got.keys().eq(expected.keys()), "order: {got:?}");
        assert_eq!(got["list"][4], format!("{BIGINT_MARK}9007199254740993"));
        assert_eq!(got["big"], format!("{BIGINT_MARK}-9007199254740993"));
        assert_eq!(got["nan"], format!("{FLOAT_MARK}NaN"));
        assert_eq!(got["mark"], format!("{STRING_MARK}{BIGINT_MARK}1"));
        assert_eq!(
            got["nested"]["huge"],
            format!("{BIGINT_MARK}18446744073709551615")
        );
    }

    #[test]
    fn only_the_attributes_rust_reads_are_parsed() {
        let attrs = Attrs::parse(STORED.as_bytes(), "/").unwrap();
        let parsed: Vec<&str> = attrs.read.keys().map(String::as_str).collect();
        assert_eq!(parsed, ["units", "_FillValue", "calendar"]);
        assert_eq!(attrs.get("units"), Some(&Value::from("m")));
        assert_eq!(attrs.get("calendar"), Some(&Value::Null));
        assert_eq!(attrs.get("scale_factor"), None);
    }

    #[test]
    fn changes_keep_the_order_of_the_rest() {
        let mut attrs = Attrs::parse(
            br#"{"a": 1, "units": "m", "_FillValue": "AAAA", "b": 2}"#,
            "/",
        )
        .unwrap();
        assert_eq!(attrs.remove("units"), Some(Value::from("m")));
        attrs.insert("_FillValue", Value::from(9_007_199_254_740_993_u64));
        attrs.insert("dtype", Value::from("bool"));
        assert_eq!(attrs.remove("missing_value"), None);
        let got = sent(&attrs);
        assert!(got.keys().eq(["a", "_FillValue", "b", "dtype"]), "{got:?}");
        assert_eq!(got["_FillValue"], format!("{BIGINT_MARK}9007199254740993"));
        assert_eq!(got, attrs_json(&attrs.to_map()));
        assert_eq!(attrs.get("units"), None);
    }

    /// `map` made safe for JavaScript.
    fn attrs_json(map: &Map<String, Value>) -> Map<String, Value> {
        map.iter().map(|(k, v)| (k.clone(), to_js(v))).collect()
    }

    #[test]
    fn a_key_given_twice_keeps_its_last_value() {
        let attrs = Attrs::parse(br#"{"units": "a", "x": 1, "units": "b", "x": 2}"#, "/").unwrap();
        assert_eq!(attrs.get("units"), Some(&Value::from("b")));
        let got = sent(&attrs);
        assert_eq!(got["x"], 2);
        assert!(got.keys().eq(["units", "x"]), "{got:?}");
        let mut removed = attrs.clone();
        removed.remove("units");
        assert!(sent(&removed).keys().eq(["x"]));
    }

    #[test]
    fn no_attributes_and_bad_ones() {
        assert!(Attrs::parse(b"null", "/").unwrap().is_empty());
        assert_eq!(serde_json::to_string(&Attrs::default()).unwrap(), "{}");
        for bad in [
            &b"[1]"[..],
            b"{\"a\": 1e400}",
            b"{\"a\": \"\\ud800\"}",
            b"{",
        ] {
            let e = Attrs::parse(bad, "/g").unwrap_err();
            assert_eq!(
                e.code(),
                "ERR_INVALID_METADATA",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
