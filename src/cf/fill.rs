//! `_FillValue` / `missing_value` attribute values, as xarray writes them (floats base64-encoded, see
//! `FillValueCoder` in xarray's Zarr backend) and as other writers do (plain numbers, `"NaN"`).

use base64::Engine;
use serde_json::Value;

use crate::dtype::Dtype;

/// One decoded fill value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fill {
    /// An integer (compared exactly against integer data).
    Int(i128),
    /// A float (NaN is never stored here: NaN fills mask nothing).
    Float(f64),
}

impl Fill {
    /// The value as a float64, as numpy compares it after promotion.
    #[must_use]
    pub fn as_f64(self) -> f64 {
        match self {
            Self::Int(i) => i as f64,
            Self::Float(f) => f,
        }
    }

    /// The value as JSON, for `encoding` and raw attributes.
    #[must_use]
    pub fn to_json(self) -> Value {
        match self {
            Self::Int(i) => i64::try_from(i)
                .map(Value::from)
                .or_else(|_| u64::try_from(i).map(Value::from))
                .unwrap_or(Value::Null),
            Self::Float(f) => float_json(f),
        }
    }
}

/// A float as JSON; non-finite values as the strings Zarr uses (`"NaN"`, `"Infinity"`, `"-Infinity"`).
#[must_use]
pub fn float_json(f: f64) -> Value {
    if f.is_nan() {
        Value::from("NaN")
    } else if f.is_infinite() {
        Value::from(if f > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// Decodes one attribute value (a scalar or a list) into fill values for data of type `dtype`.
/// Returns `None` for a value that cannot be a fill value of that type. NaN is kept here; callers drop
/// it before masking.
#[must_use]
pub fn decode_attr(value: &Value, dtype: Dtype) -> Option<Vec<Option<Fill>>> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| decode_scalar(v, dtype))
            .collect::<Option<Vec<_>>>(),
        Value::Null => Some(vec![None]),
        v => decode_scalar(v, dtype).map(|f| vec![f]),
    }
}

/// `None`: not a fill value of this type; `Some(None)`: a NaN fill (masks nothing).
#[allow(clippy::option_option)]
fn decode_scalar(value: &Value, dtype: Dtype) -> Option<Option<Fill>> {
    let from_float = |f: f64| {
        if f.is_nan() {
            None
        } else {
            Some(Fill::Float(f))
        }
    };
    match value {
        Value::Number(n) => {
            if dtype.is_integer() {
                // xarray truncates a float fill for integer data (int(2.7) == 2).
                n.as_i64()
                    .map(i128::from)
                    .or_else(|| n.as_u64().map(i128::from))
                    .or_else(|| n.as_f64().map(|f| f.trunc() as i128))
                    .map(|i| Some(Fill::Int(i)))
            } else if let Some(i) = n.as_i64().filter(|_| !dtype.is_float()) {
                Some(Some(Fill::Int(i128::from(i))))
            } else {
                n.as_f64().map(from_float)
            }
        }
        Value::Bool(b) => Some(Some(Fill::Int(i128::from(*b)))),
        Value::String(s) if crate::json::marked_float(s).is_some() => {
            crate::json::marked_float(s).map(from_float)
        }
        Value::String(s) => match s.as_str() {
            "NaN" | "nan" => Some(None),
            "Infinity" | "inf" => Some(Some(Fill::Float(f64::INFINITY))),
            "-Infinity" | "-inf" => Some(Some(Fill::Float(f64::NEG_INFINITY))),
            _ => decode_base64_float(s)
                .map(from_float)
                .or_else(|| s.trim().parse::<f64>().ok().map(from_float)),
        },
        _ => None,
    }
}

/// xarray stores float fill values as base64 of the little-endian float64 bytes; 4- and 2-byte
/// encodings (float32/float16) are accepted too.
fn decode_base64_float(s: &str) -> Option<f64> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    match bytes.len() {
        8 => Some(f64::from_le_bytes(bytes.try_into().ok()?)),
        4 => Some(f64::from(f32::from_le_bytes(bytes.try_into().ok()?))),
        2 => Some(f64::from(half::f16::from_le_bytes(bytes.try_into().ok()?))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_xarray_writes() {
        assert_eq!(
            decode_attr(&json!("AAAAAICHw8A="), Dtype::Float32),
            Some(vec![Some(Fill::Float(-9999.0))])
        );
        assert_eq!(
            decode_attr(&json!("AAAAAAAA+H8="), Dtype::Float64),
            Some(vec![None])
        );
        assert_eq!(
            decode_attr(&json!(-32768), Dtype::Int16),
            Some(vec![Some(Fill::Int(-32768))])
        );
    }

    #[test]
    fn reads_plain_numbers_and_lists_from_other_writers() {
        assert_eq!(
            decode_attr(&json!(-9999.0), Dtype::Float32),
            Some(vec![Some(Fill::Float(-9999.0))])
        );
        assert_eq!(decode_attr(&json!("NaN"), Dtype::Float32), Some(vec![None]));
        assert_eq!(
            decode_attr(&json!([1, 2]), Dtype::UInt8),
            Some(vec![Some(Fill::Int(1)), Some(Fill::Int(2))])
        );
        assert_eq!(
            decode_attr(&json!(2.7), Dtype::Int8),
            Some(vec![Some(Fill::Int(2))])
        );
        assert_eq!(decode_attr(&json!({"a": 1}), Dtype::Int8), None);
    }
}
