//! The CF attribute decoder: a variable's plan from fuzzed attributes (units strings, calendars,
//! `_FillValue` / `missing_value` including base64 floats, `scale_factor`, `_Unsigned`, `dtype`), applied
//! to a fuzzed buffer of stored values; plus the time-units parser and fill decoder called directly.
//!
//! Input: `[dtype selector][option bits][len: u16 LE][attributes JSON][stored values]`.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use rustytree::cf::{DecodeOptions, VariablePlan, fill, time};
use rustytree::hierarchy::Attrs;
use rustytree::dtype::Dtype;
use rustytree::typed::TypedData;
use serde_json::Value;

const DTYPES: [Dtype; 17] = [
    Dtype::Bool,
    Dtype::Int8,
    Dtype::Int16,
    Dtype::Int32,
    Dtype::Int64,
    Dtype::UInt8,
    Dtype::UInt16,
    Dtype::UInt32,
    Dtype::UInt64,
    Dtype::Float16,
    Dtype::Float32,
    Dtype::Float64,
    Dtype::String,
    Dtype::FixedUtf32,
    Dtype::DateTime64 { ns_per_unit: 1 },
    Dtype::TimeDelta64 {
        ns_per_unit: 1_000_000_000,
    },
    Dtype::Unsupported,
];

/// Stored values as the chunk reader hands them to the plan (read.rs: float16 widened to float32,
/// numpy time types as int64 nanoseconds, bool as 0/1 bytes).
fn stored_values(dtype: Dtype, bytes: &[u8]) -> Option<TypedData> {
    macro_rules! le {
        ($t:ty, $n:expr) => {
            bytes
                .chunks_exact($n)
                .map(|b| <$t>::from_le_bytes(b.try_into().expect("exact chunk")))
                .collect()
        };
    }
    Some(match dtype {
        Dtype::Bool => TypedData::U8(bytes.iter().map(|b| b & 1).collect()),
        Dtype::Int8 => TypedData::I8(bytes.iter().map(|&b| b as i8).collect()),
        Dtype::Int16 => TypedData::I16(le!(i16, 2)),
        Dtype::Int32 => TypedData::I32(le!(i32, 4)),
        Dtype::Int64 | Dtype::DateTime64 { .. } | Dtype::TimeDelta64 { .. } => {
            TypedData::I64(le!(i64, 8))
        }
        Dtype::UInt8 => TypedData::U8(bytes.to_vec()),
        Dtype::UInt16 => TypedData::U16(le!(u16, 2)),
        Dtype::UInt32 => TypedData::U32(le!(u32, 4)),
        Dtype::UInt64 => TypedData::U64(le!(u64, 8)),
        Dtype::Float16 | Dtype::Float32 => TypedData::F32(le!(f32, 4)),
        Dtype::Float64 => TypedData::F64(le!(f64, 8)),
        Dtype::String | Dtype::FixedUtf32 => TypedData::Str(
            bytes
                .split(|&b| b == 0)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ),
        Dtype::Unsupported => return None,
    })
}

/// The buffer type JavaScript is promised for a decoded numpy dtype name (`None`: not checked here).
fn variant_for(dtype: &str) -> Option<&'static str> {
    Some(match dtype {
        "bool" | "uint8" => "U8",
        "int8" => "I8",
        "int16" => "I16",
        "int32" => "I32",
        "int64" | "datetime64[ns]" | "timedelta64[ns]" => "I64",
        "uint16" => "U16",
        "uint32" => "U32",
        "uint64" => "U64",
        "float16" | "float32" => "F32",
        "float64" => "F64",
        _ => return None,
    })
}

fn variant(data: &TypedData) -> &'static str {
    match data {
        TypedData::I8(_) => "I8",
        TypedData::I16(_) => "I16",
        TypedData::I32(_) => "I32",
        TypedData::I64(_) => "I64",
        TypedData::U8(_) => "U8",
        TypedData::U16(_) => "U16",
        TypedData::U32(_) => "U32",
        TypedData::U64(_) => "U64",
        TypedData::F32(_) => "F32",
        TypedData::F64(_) => "F64",
        TypedData::Str(_) => "Str",
    }
}

fuzz_target!(|data: &[u8]| {
    let [selector, bits, rest @ ..] = data else {
        return;
    };
    let dtype = DTYPES[usize::from(*selector) % DTYPES.len()];
    let options = DecodeOptions {
        decode_cf: bits & 1 == 0,
        mask_and_scale: bits & 2 == 0,
        decode_times: bits & 4 == 0,
        decode_timedelta: match (bits >> 3) & 3 {
            0 => None,
            1 => Some(true),
            _ => Some(false),
        },
    };
    let (attrs_json, values) = common::split(rest);
    let Ok(Value::Object(attrs)) = rustytree::json::parse_lenient(attrs_json) else {
        return;
    };

    for value in attrs.values() {
        let _ = fill::decode_attr(value, dtype);
        if let Value::String(s) = value {
            let _ = time::unit_ns(s);
            let _ = time::timedelta_unit_ns(s);
            if time::is_datetime_units(s) {
                for proleptic in [false, true] {
                    if let Err(e) = time::parse_datetime_units(s, proleptic) {
                        common::assert_input_error(&e, &["ERR_CF_DECODE"]);
                    }
                }
            }
        }
    }

    let attrs = Attrs::parse(attrs_json, "/fuzz").expect("a parsed object is attributes");
    let plan = match VariablePlan::new("/fuzz", dtype, &attrs, options) {
        Ok(plan) => plan,
        Err(e) => {
            common::assert_input_error(&e, &["ERR_CF_DECODE"]);
            return;
        }
    };
    let Some(stored) = stored_values(dtype, values) else {
        return;
    };
    let n = stored.len();
    match plan.apply(stored) {
        Ok(decoded) => {
            assert_eq!(decoded.len(), n, "decoding changed the element count");
            if let Some(expected) = variant_for(&plan.dtype) {
                assert_eq!(
                    variant(&decoded),
                    expected,
                    "plan promises {} but decoding produced {}",
                    plan.dtype,
                    variant(&decoded)
                );
            }
        }
        Err(e) => common::assert_input_error(&e, &["ERR_CF_DECODE"]),
    }
});
