//! JSON as Zarr writers actually produce it, and as JavaScript can receive it.
//!
//! zarr-python writes non-finite attribute values as bare `NaN` / `Infinity` / `-Infinity` tokens, which
//! strict JSON parsers reject. They are read here as marked strings that the TypeScript layer revives as
//! numbers; integers beyond 2^53, which `JSON.parse` would round, travel as marked strings revived as
//! `BigInt`s. A stored string that begins with [`MARK`] is escaped as it is parsed ([`STRING_MARK`] in
//! front of it), so that no stored string can pass for a mark: the TypeScript layer takes the escape off.

use std::borrow::Cow;

use serde_json::Value;

/// What every mark begins with. A NUL starts no string a writer means as text, so escaping the stored
/// strings that begin with this costs nothing in practice.
pub const MARK: &str = "\u{0}rustytree:";
/// Prefix of a string standing for a non-finite float (`NaN`, `Infinity`, `-Infinity`).
pub const FLOAT_MARK: &str = "\u{0}rustytree:float:";
/// Prefix of a string standing for an integer beyond JavaScript's exact range.
pub const BIGINT_MARK: &str = "\u{0}rustytree:bigint:";
/// Prefix of a stored string that itself begins with [`MARK`]: the rest is the string as stored.
pub const STRING_MARK: &str = "\u{0}rustytree:string:";
/// [`STRING_MARK`] as it is written inside JSON text (the NUL escaped).
const STRING_MARK_IN_JSON: &str = "\\u0000rustytree:string:";
/// [`BIGINT_MARK`] as it is written inside JSON text.
const BIGINT_MARK_IN_JSON: &str = "\\u0000rustytree:bigint:";
/// How a NUL is written inside JSON text: JSON strings cannot hold control characters unescaped, and
/// the four hex digits of zero have no other spelling.
const NUL_IN_JSON: &str = "\\u0000";

/// The UTF-8 byte order mark, which some editors and Windows tools write before a document.
const BYTE_ORDER_MARK: &[u8] = b"\xef\xbb\xbf";

/// Parses JSON, accepting bare `NaN`, `Infinity` and `-Infinity` outside strings, and skipping a UTF-8
/// byte order mark before the document (Python's reader accepts one).
///
/// # Errors
/// The parser's error for anything else that is not JSON.
pub fn parse_lenient(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(&lenient_text(bytes)?)
}

/// The text of the JSON document `bytes` as [`parse_lenient`] parses it (byte order mark skipped, stored
/// marks escaped, bare non-finite tokens marked), checked as strictly as a parse into a [`Value`] would
/// check it but without building anything: any parse of the text returned succeeds.
///
/// # Errors
/// The error a parse of `bytes` into a [`Value`] reports, for anything that is not JSON.
pub fn lenient_text(bytes: &[u8]) -> Result<Cow<'_, [u8]>, serde_json::Error> {
    let bytes = bytes.strip_prefix(BYTE_ORDER_MARK).unwrap_or(bytes);
    let escaped = escape_stored_marks(bytes);
    match check(&escaped) {
        Ok(()) => Ok(escaped),
        Err(first) => match mark_nonfinite(&escaped) {
            Some(fixed) => check(&fixed).map(|()| Cow::Owned(fixed)).map_err(|_| first),
            None => Err(first),
        },
    }
}

/// Checks that `bytes` is one JSON document, by the same code and with the same errors as a parse into a
/// [`Value`] (numbers in range, string escapes, nesting depth), building nothing.
fn check(bytes: &[u8]) -> Result<(), serde_json::Error> {
    serde_json::from_slice::<Checked>(bytes).map(|_| ())
}

/// Any JSON value, checked and dropped as it is read.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// The JSON text `text` (checked, see [`lenient_text`]) made safe for `JSON.parse`, as [`to_js`] makes a
/// parsed value: integers beyond ±2^53 become marked strings. Text without such an integer, nearly all,
/// is returned as it is.
#[must_use]
pub fn mark_big_integers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    // Up to here, `text` is in `out` already.
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i),
            b'-' | b'0'..=b'9' => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .map_or(bytes.len(), |n| i + n);
                let token = &text[i..end];
                if let Some(marked) = big_integer_mark(token) {
                    out.push_str(&text[copied..i]);
                    out.push_str(&marked);
                    copied = end;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The marked string (as JSON text) standing for the number token `token`, when it is an integer
/// beyond JavaScript's exact range; `None` for any other number.
fn big_integer_mark(token: &str) -> Option<String> {
    // 2^53 + 1 has 16 digits: a shorter token is exact in JavaScript, and most tokens are short.
    if token.len() < 16 || token.contains(['.', 'e', 'E']) {
        return None;
    }
    let number: serde_json::Number = token.parse().ok()?;
    beyond_exact(&number).then(|| format!("\"{BIGINT_MARK_IN_JSON}{number}\""))
}

/// Whether `number` is an integer that `JSON.parse` would round (beyond ±2^53).
fn beyond_exact(number: &serde_json::Number) -> bool {
    const EXACT: u64 = 1 << 53;
    number.as_i64().is_some_and(|i| i.unsigned_abs() > EXACT)
        || number.as_u64().is_some_and(|u| u > EXACT)
}

/// About how many values the JSON document `bytes` holds: one per `,`, `[` and `{` outside strings (a
/// separator or a container start), plus one. A single pass with no allocation, to size a parse before
/// it starts.
#[must_use]
pub fn count_values(bytes: &[u8]) -> usize {
    let mut count = 1;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b',' | b'[' | b'{' => count += 1,
                _ => {}
            }
        }
    }
    count
}

/// Rewrites bare non-finite tokens into marked strings; `None` when there are none.
fn mark_nonfinite(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut in_string = false;
    let mut escaped = false;
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            out.push(b);
            i += 1;
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| bytes[i..].starts_with(t.as_bytes()));
        if let Some(t) = token {
            out.extend_from_slice(format!("\"\\u0000rustytree:float:{t}\"").as_bytes());
            i += t.len();
            changed = true;
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

/// The float a marked string stands for.
#[must_use]
pub fn marked_float(s: &str) -> Option<f64> {
    match s.strip_prefix(FLOAT_MARK)? {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Makes a value safe for `JSON.parse`: integers beyond ±2^53 become marked strings. Marks made by the
/// parse (non-finite floats, escaped stored strings) pass as they are; any other string that begins with
/// [`MARK`] (one that did not come through [`parse_lenient`]) is escaped, so it reaches JavaScript as the
/// string it is.
#[must_use]
pub fn to_js(value: &Value) -> Value {
    match value {
        Value::Number(n) if beyond_exact(n) => Value::String(format!("{BIGINT_MARK}{n}")),
        Value::String(s)
            if s.starts_with(MARK) && marked_float(s).is_none() && !s.starts_with(STRING_MARK) =>
        {
            Value::String(format!("{STRING_MARK}{s}"))
        }
        Value::Array(items) => Value::Array(items.iter().map(to_js).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), to_js(v))).collect())
        }
        other => other.clone(),
    }
}

/// A value of a parsed document as it was stored, for readers other than JavaScript (zarrs): a string
/// escaped with [`STRING_MARK`] at parse time gets its own text back, and a bare non-finite token marked
/// at parse time becomes the string Zarr v3 writes for it (`"NaN"`, `"Infinity"`, `"-Infinity"`).
#[must_use]
pub fn as_stored(value: Value) -> Value {
    match value {
        Value::String(s) => {
            if let Some(stored) = s.strip_prefix(STRING_MARK) {
                Value::String(stored.to_owned())
            } else if let Some(token) = s
                .strip_prefix(FLOAT_MARK)
                .filter(|_| marked_float(&s).is_some())
            {
                Value::String(token.to_owned())
            } else {
                Value::String(s)
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(as_stored).collect()),
        other => other,
    }
}

/// Puts [`STRING_MARK`] in front of every string value of the JSON text `bytes` that begins with
/// [`MARK`] once decoded, before the text is parsed: after the parse such a string could not be told
/// from a mark. Object keys are left as they are (marks are values only). Text without an escaped NUL,
/// nearly every document, is returned as it is after one search.
fn escape_stored_marks(bytes: &[u8]) -> Cow<'_, [u8]> {
    let has_nul = std::str::from_utf8(bytes).map_or(true, |text| text.contains(NUL_IN_JSON));
    if !has_nul {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let end = string_end(bytes, i);
        let literal = &bytes[i..end];
        if is_value(bytes, end) && decodes_to_mark(literal) {
            out.push(b'"');
            out.extend_from_slice(STRING_MARK_IN_JSON.as_bytes());
            out.extend_from_slice(&literal[1..]);
        } else {
            out.extend_from_slice(literal);
        }
        i = end;
    }
    Cow::Owned(out)
}

/// The index just past the closing quote of the string literal opening at `start` (the end of the
/// text for an unterminated one, which the parser then reports).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut escaped = false;
    for (offset, &b) in bytes[start + 1..].iter().enumerate() {
        match (escaped, b) {
            (true, _) => escaped = false,
            (false, b'\\') => escaped = true,
            (false, b'"') => return start + 1 + offset + 1,
            _ => {}
        }
    }
    bytes.len()
}

/// Whether the string literal ending at `end` is a value, not an object key (which a `:` follows).
fn is_value(bytes: &[u8], end: usize) -> bool {
    bytes[end..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_none_or(|&b| b != b':')
}

/// Whether the JSON string literal `literal` (quotes included) decodes to text beginning with [`MARK`].
/// Only literals that begin with an escaped NUL can, and only those are decoded.
fn decodes_to_mark(literal: &[u8]) -> bool {
    literal[1..].starts_with(NUL_IN_JSON.as_bytes())
        && serde_json::from_slice::<String>(literal).is_ok_and(|s| s.starts_with(MARK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bare_nonfinite_tokens_outside_strings() {
        let v =
            parse_lenient(br#"{"a": NaN, "b": [-Infinity, 1], "c": "NaN and Infinity"}"#).unwrap();
        assert!(marked_float(v["a"].as_str().unwrap()).unwrap().is_nan());
        assert_eq!(
            marked_float(v["b"][0].as_str().unwrap()),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(v["c"], "NaN and Infinity");
        assert!(parse_lenient(b"{\"a\": nope}").is_err());
    }

    #[test]
    fn the_check_refuses_what_a_parse_refuses_with_its_error() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for text in [
            &b"[1e400]"[..],
            b"\"\\ud800\"",
            deep.as_bytes(),
            b"[1,]",
            b"{} x",
        ] {
            let refused = serde_json::from_slice::<Value>(text).unwrap_err();
            let checked = lenient_text(text).unwrap_err();
            assert_eq!(checked.to_string(), refused.to_string());
        }
        assert!(matches!(lenient_text(b"[1, 2]"), Ok(Cow::Borrowed(_))));
        assert_eq!(
            &*lenient_text(b"[NaN]").unwrap(),
            b"[\"\\u0000rustytree:float:NaN\"]"
        );
    }

    #[test]
    fn integers_beyond_2_53_are_marked_in_text_and_nothing_else() {
        let text = r#"{"9007199254740993": ["9007199254740993", 9007199254740992, 9007199254740993,
            -9007199254740993, 18446744073709551615, 18446744073709551616, 9007199254740993.0, 1e300]}"#;
        let marked = mark_big_integers(text);
        let v: Value = serde_json::from_str(&marked).unwrap();
        let expected = to_js(&serde_json::from_str(text).unwrap());
        assert_eq!(v, expected);
        assert_eq!(
            v["9007199254740993"][2],
            format!("{BIGINT_MARK}9007199254740993")
        );
        assert_eq!(v["9007199254740993"][0], "9007199254740993");
        assert!(matches!(
            mark_big_integers("[1, 2.5e300, -3]"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn values_are_counted_outside_strings() {
        assert_eq!(count_values(b"1"), 1);
        assert_eq!(count_values(b"[1, 2, 3]"), 4);
        assert_eq!(count_values(br#"{"a": [1, 2], "b,[{": "x\",y"}"#), 5);
    }

    #[test]
    fn big_integers_travel_as_marked_strings() {
        let v = to_js(
            &serde_json::json!({"x": [9_007_199_254_740_993_u64, 5], "y": -9_007_199_254_740_993_i64}),
        );
        assert_eq!(v["x"][0], format!("{BIGINT_MARK}9007199254740993"));
        assert_eq!(v["x"][1], 5);
        assert_eq!(v["y"], format!("{BIGINT_MARK}-9007199254740993"));
    }

    #[test]
    fn stored_strings_that_look_like_marks_are_escaped_and_nothing_else() {
        // Strict text, then text with a bare NaN (the fallback parse): the same stored strings either way.
        for tail in ["", r#", "n": NaN"#] {
            let text = format!(
                r#"{{"f": "\u0000rustytree:float:NaN", "b": ["\u0000rustytree:bigint:123"],
                   "o": {{"\u0000rustytree:key": "\u0000\u0072ustytree:float:1e3"}}, "s": "\u0000rustytree:string:x",
                   "plain": "\u0000 not ours", "quote": "a\"\u0000rustytree:x"{tail}}}"#
            );
            let v = to_js(&parse_lenient(text.as_bytes()).unwrap());
            assert_eq!(v["f"], format!("{STRING_MARK}{FLOAT_MARK}NaN"));
            assert_eq!(v["b"][0], format!("{STRING_MARK}{BIGINT_MARK}123"));
            let key = format!("{MARK}key");
            assert_eq!(
                v["o"][key.as_str()],
                format!("{STRING_MARK}{FLOAT_MARK}1e3")
            );
            assert_eq!(v["s"], format!("{STRING_MARK}{STRING_MARK}x"));
            assert_eq!(v["plain"], "\u{0} not ours");
            assert_eq!(v["quote"], "a\"\u{0}rustytree:x");
            if !tail.is_empty() {
                assert!(marked_float(v["n"].as_str().unwrap()).unwrap().is_nan());
            }
        }
    }

    #[test]
    fn stored_values_get_their_text_back_for_zarrs() {
        let doc = parse_lenient(
            br#"{"f": "\u0000rustytree:float:NaN", "g": NaN, "h": ["\u0000rustytree:string:x", 1], "i": "NaN"}"#,
        )
        .unwrap();
        assert_eq!(as_stored(doc["f"].clone()), "\u{0}rustytree:float:NaN");
        assert_eq!(as_stored(doc["g"].clone()), "NaN");
        assert_eq!(
            as_stored(doc["h"].clone()),
            serde_json::json!(["\u{0}rustytree:string:x", 1])
        );
        assert_eq!(as_stored(doc["i"].clone()), "NaN");
    }

    #[test]
    fn text_without_an_escaped_nul_is_not_copied() {
        assert!(matches!(
            escape_stored_marks(br#"{"a": "rustytree:float:NaN"}"#),
            Cow::Borrowed(_)
        ));
        // An escaped backslash before `u0000` is no NUL: the string keeps its text.
        let v = parse_lenient(br#"{"b": "\\u0000rustytree:x"}"#).unwrap();
        assert_eq!(v["b"], "\\u0000rustytree:x");
    }

    #[test]
    fn marks_from_elsewhere_are_escaped_on_the_way_to_javascript() {
        let v = to_js(&serde_json::json!({
            "forged": format!("{BIGINT_MARK}oops"),
            "nan": format!("{FLOAT_MARK}NaN"),
            "escaped": format!("{STRING_MARK}kept"),
        }));
        assert_eq!(v["forged"], format!("{STRING_MARK}{BIGINT_MARK}oops"));
        assert_eq!(v["nan"], format!("{FLOAT_MARK}NaN"));
        assert_eq!(v["escaped"], format!("{STRING_MARK}kept"));
    }

    #[test]
    fn the_escaping_pass_survives_broken_text() {
        for text in [
            &br#""\u0000rustytree:"#[..],
            br#"{"a": "\u0000rustytree:x"#,
            br#"{"a": "\u0000rustytree:x\"#,
            br#""\u0000"#,
            br#"["\u0000rustytree:a" :"#,
            b"\"\\u0000rustytree:\xff\"",
            br#"{"k": "v"} "\u0000rustytree:tail""#,
        ] {
            // No panic; what the parser makes of it is its business.
            let _ = escape_stored_marks(text);
            let _ = parse_lenient(text);
        }
    }
}
