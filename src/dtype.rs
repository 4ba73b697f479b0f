//! Zarr v3 data types as this crate understands them, with their numpy names.

use serde_json::Value;

use crate::error::{Result, RtError};

/// A stored element type this crate can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// `bool`
    Bool,
    /// `int8`
    Int8,
    /// `int16`
    Int16,
    /// `int32`
    Int32,
    /// `int64`
    Int64,
    /// `uint8`
    UInt8,
    /// `uint16`
    UInt16,
    /// `uint32`
    UInt32,
    /// `uint64`
    UInt64,
    /// `float16`
    Float16,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
    /// Variable-length UTF-8 strings (`string`).
    String,
    /// Fixed-length UTF-32 strings (`fixed_length_utf32`, numpy's `<U`), handed out as strings.
    FixedUtf32,
    /// A data type this build cannot read (complex numbers, raw bits, ...): the variable is listed, its
    /// reads fail with `ERR_UNSUPPORTED_DTYPE`.
    Unsupported,
    /// zarr-python's `numpy.datetime64` extension type, with its unit in nanoseconds.
    DateTime64 {
        /// Nanoseconds per stored unit (unit × scale factor).
        ns_per_unit: i64,
    },
    /// zarr-python's `numpy.timedelta64` extension type, with its unit in nanoseconds.
    TimeDelta64 {
        /// Nanoseconds per stored unit (unit × scale factor).
        ns_per_unit: i64,
    },
}

impl Dtype {
    /// Parses the `data_type` field of an array's `zarr.json`.
    ///
    /// # Errors
    /// `ERR_UNSUPPORTED_DTYPE` for a data type this crate cannot read, `ERR_INVALID_METADATA` for a
    /// malformed field.
    pub fn from_metadata(value: &Value, path: &str) -> Result<Self> {
        let (name, config) = match value {
            Value::String(name) => (name.as_str(), None),
            Value::Object(obj) => match obj.get("name") {
                Some(Value::String(name)) => (name.as_str(), obj.get("configuration")),
                _ => {
                    return Err(RtError::InvalidMetadata(format!(
                        "array {path:?}: data_type object has no \"name\""
                    )));
                }
            },
            _ => {
                return Err(RtError::InvalidMetadata(format!(
                    "array {path:?}: data_type must be a string or an object"
                )));
            }
        };
        Ok(match name {
            "bool" => Self::Bool,
            "int8" => Self::Int8,
            "int16" => Self::Int16,
            "int32" => Self::Int32,
            "int64" => Self::Int64,
            "uint8" => Self::UInt8,
            "uint16" => Self::UInt16,
            "uint32" => Self::UInt32,
            "uint64" => Self::UInt64,
            "float16" => Self::Float16,
            "float32" => Self::Float32,
            "float64" => Self::Float64,
            "string" => Self::String,
            "fixed_length_utf32" => Self::FixedUtf32,
            "numpy.datetime64" => Self::DateTime64 {
                ns_per_unit: numpy_time_unit(config, path)?,
            },
            "numpy.timedelta64" => Self::TimeDelta64 {
                ns_per_unit: numpy_time_unit(config, path)?,
            },
            other => {
                return Err(RtError::UnsupportedDtype(format!(
                    "array {path:?}: data type {other:?} is not supported"
                )));
            }
        })
    }

    /// numpy's name for this stored type (`float32`, `datetime64[ns]`, ...). Extension time types are
    /// reported at nanosecond resolution, the resolution values are handed out at.
    #[must_use]
    pub fn numpy_name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Int8 => "int8",
            Self::Int16 => "int16",
            Self::Int32 => "int32",
            Self::Int64 => "int64",
            Self::UInt8 => "uint8",
            Self::UInt16 => "uint16",
            Self::UInt32 => "uint32",
            Self::UInt64 => "uint64",
            Self::Float16 => "float16",
            Self::Float32 => "float32",
            Self::Float64 => "float64",
            Self::String | Self::FixedUtf32 => "string",
            Self::Unsupported => "object",
            Self::DateTime64 { .. } => "datetime64[ns]",
            Self::TimeDelta64 { .. } => "timedelta64[ns]",
        }
    }

    /// Bytes per element of the buffer a read of this type produces ([`crate::typed::TypedData`]):
    /// `float16` widened to `float32`, times as `i64` nanoseconds, strings a `String` handle each (their
    /// characters come on top).
    #[must_use]
    pub fn buffer_item_bytes(self) -> u64 {
        match self {
            Self::Float16 => 4,
            Self::String | Self::FixedUtf32 => crate::typed::js_limits::STRING_HANDLE_BYTES,
            other => other.item_size() as u64,
        }
    }

    /// Whether the type is a signed or unsigned integer.
    #[must_use]
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Self::Int8
                | Self::Int16
                | Self::Int32
                | Self::Int64
                | Self::UInt8
                | Self::UInt16
                | Self::UInt32
                | Self::UInt64
        )
    }

    /// Whether the type is a float.
    #[must_use]
    pub fn is_float(self) -> bool {
        matches!(self, Self::Float16 | Self::Float32 | Self::Float64)
    }

    /// Size of one element in bytes (0 for variable-length strings).
    #[must_use]
    pub fn item_size(self) -> usize {
        match self {
            Self::Bool | Self::Int8 | Self::UInt8 => 1,
            Self::Int16 | Self::UInt16 | Self::Float16 => 2,
            Self::Int32 | Self::UInt32 | Self::Float32 => 4,
            Self::Int64
            | Self::UInt64
            | Self::Float64
            | Self::DateTime64 { .. }
            | Self::TimeDelta64 { .. } => 8,
            Self::String | Self::FixedUtf32 | Self::Unsupported => 0,
        }
    }
}

fn numpy_time_unit(config: Option<&Value>, path: &str) -> Result<i64> {
    let bad = || {
        RtError::InvalidMetadata(format!(
            "array {path:?}: bad numpy time data type configuration"
        ))
    };
    let config = config.and_then(Value::as_object).ok_or_else(bad)?;
    let unit = config.get("unit").and_then(Value::as_str).ok_or_else(bad)?;
    let scale = config
        .get("scale_factor")
        .map_or(Some(1), Value::as_i64)
        .ok_or_else(bad)?;
    let unit_ns: i64 = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "D" => 86_400_000_000_000,
        "W" => 604_800_000_000_000,
        other => {
            return Err(RtError::UnsupportedDtype(format!(
                "array {path:?}: numpy time unit {other:?} is not supported"
            )));
        }
    };
    unit_ns
        .checked_mul(scale)
        .filter(|v| *v > 0)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_core_and_extension_types() {
        assert_eq!(
            Dtype::from_metadata(&json!("int16"), "/a").unwrap(),
            Dtype::Int16
        );
        assert_eq!(
            Dtype::from_metadata(
                &json!({"name": "numpy.datetime64", "configuration": {"unit": "s", "scale_factor": 10}}),
                "/a"
            )
            .unwrap(),
            Dtype::DateTime64 { ns_per_unit: 10_000_000_000 }
        );
        let err = Dtype::from_metadata(&json!("complex_quux"), "/a/b").unwrap_err();
        assert_eq!(err.code(), "ERR_UNSUPPORTED_DTYPE");
        assert!(err.message().contains("/a/b"));
    }
}
