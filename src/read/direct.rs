//! A direct decoder for the commonest Zarr v3 codec chain, `bytes` (little-endian) then `zstd`: the one
//! zarr-python writes for numbers by default.
//!
//! Through zarrs a chunk costs a fresh zstd context, a byte vector to decompress into and a copy of that
//! vector into the typed one. Here the chunk is decompressed straight into its typed buffer with a zstd
//! context kept per thread. Anything else (other chains, sharded arrays, missing chunks, types whose
//! stored form is not their in-memory form) still goes through zarrs.

use std::cell::RefCell;

use serde_json::Value;

use crate::dtype::Dtype;
use crate::typed::TypedData;

thread_local! {
    /// One decompression context per thread: creating one costs about as much as decoding a small chunk.
    static CONTEXT: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Whether an array with these `codecs` (as stored) and `dtype` can be decoded here: exactly `bytes`
/// (little-endian, or without an endian for one-byte types) then `zstd` (or zarr-python's
/// `numcodecs.zstd`, the same bytes), on a little-endian machine, for a plain numeric type.
#[must_use]
pub fn supports(codecs: &Value, dtype: Dtype) -> bool {
    if !cfg!(target_endian = "little") {
        return false;
    }
    let item_size = match dtype {
        Dtype::Int8 | Dtype::UInt8 => 1,
        Dtype::Int16 | Dtype::UInt16 => 2,
        Dtype::Int32 | Dtype::UInt32 | Dtype::Float32 => 4,
        Dtype::Int64 | Dtype::UInt64 | Dtype::Float64 => 8,
        _ => return false,
    };
    let Some([bytes, zstd]) = codecs.as_array().map(Vec::as_slice) else {
        return false;
    };
    let name = |c: &Value| c.get("name").and_then(Value::as_str).map(str::to_owned);
    let endian = bytes
        .pointer("/configuration/endian")
        .and_then(Value::as_str);
    let bytes_ok = name(bytes).as_deref() == Some("bytes")
        && (endian == Some("little") || (endian.is_none() && item_size == 1));
    let zstd_ok = matches!(name(zstd).as_deref(), Some("zstd" | "numcodecs.zstd"));
    bytes_ok && zstd_ok
}

/// Decodes one whole chunk of `elements` values of `dtype` from its zstd-compressed bytes.
///
/// # Errors
/// A message saying why the bytes do not decode, or decode to the wrong size.
pub fn decode(dtype: Dtype, encoded: &[u8], elements: usize) -> Result<TypedData, String> {
    Ok(match dtype {
        Dtype::Int8 => TypedData::I8(decode_as(encoded, elements)?),
        Dtype::UInt8 => TypedData::U8(decode_as(encoded, elements)?),
        Dtype::Int16 => TypedData::I16(decode_as(encoded, elements)?),
        Dtype::UInt16 => TypedData::U16(decode_as(encoded, elements)?),
        Dtype::Int32 => TypedData::I32(decode_as(encoded, elements)?),
        Dtype::UInt32 => TypedData::U32(decode_as(encoded, elements)?),
        Dtype::Float32 => TypedData::F32(decode_as(encoded, elements)?),
        Dtype::Int64 => TypedData::I64(decode_as(encoded, elements)?),
        Dtype::UInt64 => TypedData::U64(decode_as(encoded, elements)?),
        Dtype::Float64 => TypedData::F64(decode_as(encoded, elements)?),
        other => return Err(format!("{other:?} is not decoded directly")),
    })
}

fn decode_as<T: bytemuck::Pod>(encoded: &[u8], elements: usize) -> Result<Vec<T>, String> {
    let mut out = vec![T::zeroed(); elements];
    let target: &mut [u8] = bytemuck::cast_slice_mut(&mut out);
    let expected = target.len();
    let written = CONTEXT.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?);
        }
        let context = slot.as_mut().expect("set above");
        context
            .decompress_to_buffer(encoded, target)
            .map_err(|e| format!("zstd: {e}"))
    })?;
    if written != expected {
        return Err(format!(
            "zstd: the chunk decompressed to {written} bytes, {expected} expected"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(bytes: &Value, zstd_name: &str) -> Value {
        json!([bytes, {"name": zstd_name, "configuration": {"level": 0, "checksum": false}}])
    }

    #[test]
    fn only_little_endian_bytes_then_zstd_is_direct() {
        let little = json!({"name": "bytes", "configuration": {"endian": "little"}});
        assert!(supports(&chain(&little, "zstd"), Dtype::Float32));
        assert!(supports(&chain(&little, "numcodecs.zstd"), Dtype::Int64));
        assert!(supports(
            &chain(&json!({"name": "bytes"}), "zstd"),
            Dtype::UInt8
        ));
        assert!(!supports(
            &chain(&json!({"name": "bytes"}), "zstd"),
            Dtype::Int16
        ));
        let big = json!({"name": "bytes", "configuration": {"endian": "big"}});
        assert!(!supports(&chain(&big, "zstd"), Dtype::Float32));
        assert!(!supports(&chain(&little, "gzip"), Dtype::Float32));
        assert!(!supports(&chain(&little, "zstd"), Dtype::Bool));
        assert!(!supports(&chain(&little, "zstd"), Dtype::Float16));
        let three = json!([little, {"name": "zstd"}, {"name": "crc32c"}]);
        assert!(!supports(&three, Dtype::Float32));
    }

    #[test]
    fn decodes_whole_chunks_and_rejects_wrong_sizes() {
        let values: Vec<f32> = (0..1000u16).map(|i| f32::from(i) * 0.5).collect();
        let encoded = zstd::bulk::compress(bytemuck::cast_slice(&values), 3).unwrap();
        match decode(Dtype::Float32, &encoded, values.len()).unwrap() {
            TypedData::F32(v) => assert_eq!(v, values),
            other => panic!("wrong type {other:?}"),
        }
        // Twice on one thread: the kept context decodes again.
        assert!(decode(Dtype::Float32, &encoded, values.len()).is_ok());
        let short = decode(Dtype::Float32, &encoded, values.len() + 1).unwrap_err();
        assert!(short.contains("4000 bytes, 4004 expected"), "{short}");
        assert!(decode(Dtype::Float32, &encoded, values.len() - 1).is_err());
        assert!(decode(Dtype::Float32, b"not zstd", 4).is_err());
    }
}
