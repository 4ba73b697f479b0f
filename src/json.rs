//! JSON as Zarr writers actually produce it, and as JavaScript can receive it.
//!
//! zarr-python writes non-finite attribute values as bare `NaN` / `Infinity` / `-Infinity` tokens, which
//! strict JSON parsers reject. They are read here as marked strings that the TypeScript layer revives as
//! numbers; integers beyond 2^53, which `JSON.parse` would round, travel as marked strings revived as
//! `BigInt`s.

use serde_json::Value;

/// Prefix of a string standing for a non-finite float (`NaN`, `Infinity`, `-Infinity`).
pub const FLOAT_MARK: &str = "\u{0}rustytree:float:";
/// Prefix of a string standing for an integer beyond JavaScript's exact range.
pub const BIGINT_MARK: &str = "\u{0}rustytree:bigint:";

/// The UTF-8 byte order mark, which some editors and Windows tools write before a document.
const BYTE_ORDER_MARK: &[u8] = b"\xef\xbb\xbf";

/// Parses JSON, accepting bare `NaN`, `Infinity` and `-Infinity` outside strings, and skipping a UTF-8
/// byte order mark before the document (Python's reader accepts one).
///
/// # Errors
/// The parser's error for anything else that is not JSON.
pub fn parse_lenient(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let bytes = bytes.strip_prefix(BYTE_ORDER_MARK).unwrap_or(bytes);
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(first) => match mark_nonfinite(bytes) {
            Some(fixed) => serde_json::from_slice(&fixed).map_err(|_| first),
            None => Err(first),
        },
    }
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

/// Makes a value safe for `JSON.parse`: integers beyond ±2^53 become marked strings.
#[must_use]
pub fn to_js(value: &Value) -> Value {
    const EXACT: u64 = 1 << 53;
    match value {
        Value::Number(n)
            if n.as_i64().is_some_and(|i| i.unsigned_abs() > EXACT)
                || n.as_u64().is_some_and(|u| u > EXACT) =>
        {
            Value::String(format!("{BIGINT_MARK}{n}"))
        }
        Value::Array(items) => Value::Array(items.iter().map(to_js).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), to_js(v))).collect())
        }
        other => other.clone(),
    }
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
}
