//! A direct decoder for the commonest Zarr v3 codec chains: `bytes` (little-endian) then `zstd` (the one
//! zarr-python writes for numbers by default), `blosc` or `gzip`.
//!
//! Through zarrs a chunk costs a byte vector to decompress into and a copy of that vector into the typed
//! one (and, for zstd, a fresh decompression context; for gzip, a vector grown by doubling). Here the
//! chunk is decompressed straight into its typed buffer, zstd with a context kept per thread. Anything else (other chains, sharded arrays,
//! missing chunks, types whose stored form is not their in-memory form) still goes through zarrs.

use std::cell::RefCell;
use std::ffi::c_void;
use std::io::Read;

use serde_json::Value;

use crate::dtype::Dtype;
use crate::typed::TypedData;

thread_local! {
    /// One decompression context per thread: creating one costs about as much as decoding a small chunk.
    static CONTEXT: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// The compressor of a chain decoded here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compressor {
    /// zstd frames.
    Zstd,
    /// A blosc (version 1) buffer: its header says how it was shuffled and compressed.
    Blosc,
    /// A gzip member.
    Gzip,
}

/// Which compressor decodes an array with these `codecs` (as stored) and `dtype` here, if any: exactly
/// `bytes` (little-endian, or without an endian for one-byte types) then `zstd`, `blosc` or `gzip` (or
/// zarr-python's `numcodecs.*` namesakes, the same bytes), on a little-endian machine, for a plain numeric
/// type.
#[must_use]
pub fn supports(codecs: &Value, dtype: Dtype) -> Option<Compressor> {
    if !cfg!(target_endian = "little") {
        return None;
    }
    let item_size = match dtype {
        Dtype::Int8 | Dtype::UInt8 => 1,
        Dtype::Int16 | Dtype::UInt16 => 2,
        Dtype::Int32 | Dtype::UInt32 | Dtype::Float32 => 4,
        Dtype::Int64 | Dtype::UInt64 | Dtype::Float64 => 8,
        _ => return None,
    };
    let Some([bytes, compressor]) = codecs.as_array().map(Vec::as_slice) else {
        return None;
    };
    let endian = bytes
        .pointer("/configuration/endian")
        .and_then(Value::as_str);
    let bytes_ok = codec_name(bytes) == Some("bytes")
        && (endian == Some("little") || (endian.is_none() && item_size == 1));
    if !bytes_ok {
        return None;
    }
    match codec_name(compressor) {
        Some("zstd" | "numcodecs.zstd") => Some(Compressor::Zstd),
        Some("blosc" | "numcodecs.blosc") => Some(Compressor::Blosc),
        Some("gzip" | "numcodecs.gzip") => Some(Compressor::Gzip),
        _ => None,
    }
}

fn codec_name(codec: &Value) -> Option<&str> {
    codec.get("name").and_then(Value::as_str)
}

/// Decodes one whole chunk of `elements` values of `dtype` from its compressed bytes, into a buffer
/// from [`zeroed`].
///
/// # Errors
/// A message saying why the bytes do not decode, or decode to the wrong size, or that the type is not
/// decoded here or the buffer cannot be had.
pub fn decode(
    compressor: Compressor,
    dtype: Dtype,
    encoded: &[u8],
    elements: usize,
) -> Result<TypedData, String> {
    let mut out = zeroed(dtype, elements).ok_or_else(|| {
        format!("{dtype:?} is not decoded directly, or {elements} of them do not fit in memory")
    })?;
    let bytes = out
        .as_bytes_mut()
        .ok_or_else(|| format!("{dtype:?} is not decoded directly"))?;
    decode_into(compressor, encoded, bytes)?;
    Ok(out)
}

/// Decodes one whole chunk into `target`, which must be exactly the chunk's decoded size in bytes (the
/// chunk's elements, little-endian, as the supported chains store them).
///
/// # Errors
/// A message saying why the bytes do not decode, or decode to another size than `target`'s.
pub fn decode_into(
    compressor: Compressor,
    encoded: &[u8],
    target: &mut [u8],
) -> Result<(), String> {
    let expected = target.len();
    let written = match compressor {
        Compressor::Zstd => zstd_into(encoded, target)?,
        Compressor::Blosc => blosc_into(encoded, target)?,
        Compressor::Gzip => gzip_into(encoded, target)?,
    };
    if written != expected {
        return Err(format!(
            "{compressor:?}: the chunk decompressed to {written} bytes, {expected} expected"
        ));
    }
    Ok(())
}

/// A zero-filled buffer of `elements` values of `dtype`, of the type [`decode`] returns for it; `None` for
/// types not decoded here, or when the memory cannot be had (an error for the caller, not an abort). Large
/// buffers come zeroed from the operating system, so the fill costs nothing until a page is written.
#[must_use]
pub fn zeroed(dtype: Dtype, elements: usize) -> Option<TypedData> {
    Some(match dtype {
        Dtype::Int8 => TypedData::I8(zeroed_vec(elements)?),
        Dtype::UInt8 => TypedData::U8(zeroed_vec(elements)?),
        Dtype::Int16 => TypedData::I16(zeroed_vec(elements)?),
        Dtype::UInt16 => TypedData::U16(zeroed_vec(elements)?),
        Dtype::Int32 => TypedData::I32(zeroed_vec(elements)?),
        Dtype::UInt32 => TypedData::U32(zeroed_vec(elements)?),
        Dtype::Float32 => TypedData::F32(zeroed_vec(elements)?),
        Dtype::Int64 => TypedData::I64(zeroed_vec(elements)?),
        Dtype::UInt64 => TypedData::U64(zeroed_vec(elements)?),
        Dtype::Float64 => TypedData::F64(zeroed_vec(elements)?),
        _ => return None,
    })
}

/// `vec![0; n]`, but `None` instead of aborting the process when the allocation fails.
fn zeroed_vec<T: bytemuck::Zeroable>(n: usize) -> Option<Vec<T>> {
    let layout = std::alloc::Layout::array::<T>(n).ok()?;
    if layout.size() == 0 {
        return Some((0..n).map(|_| T::zeroed()).collect());
    }
    // SAFETY: the layout has a non-zero size; a non-null result is `n` zeroed `T`s, allocated by the
    // global allocator with exactly the layout of a `Box<[T]>` of length `n`, and all-zero bytes are a
    // valid `T` (`Zeroable`).
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout).cast::<T>();
        (!ptr.is_null())
            .then(|| Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, n)).into_vec())
    }
}

fn zstd_into(encoded: &[u8], target: &mut [u8]) -> Result<usize, String> {
    CONTEXT.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?);
        }
        let context = slot.as_mut().expect("set above");
        context
            .decompress_to_buffer(encoded, target)
            .map_err(|e| format!("zstd: {e}"))
    })
}

/// The gzip member's bytes, read straight into `target`; more bytes than `target` holds is an error, as
/// fewer are.
fn gzip_into(encoded: &[u8], target: &mut [u8]) -> Result<usize, String> {
    let mut decoder = flate2::read::GzDecoder::new(encoded);
    let mut filled = 0;
    while filled < target.len() {
        match decoder.read(&mut target[filled..]) {
            Ok(0) => return Ok(filled),
            Ok(n) => filled += n,
            Err(e) => return Err(format!("gzip: {e}")),
        }
    }
    let mut extra = [0u8; 1];
    match decoder.read(&mut extra) {
        Ok(0) => Ok(filled),
        Ok(_) => Err(format!(
            "gzip: the chunk holds more than {} bytes",
            target.len()
        )),
        Err(e) => Err(format!("gzip: {e}")),
    }
}

fn blosc_into(encoded: &[u8], target: &mut [u8]) -> Result<usize, String> {
    let mut decoded_size = 0usize;
    // SAFETY: blosc reads at most `encoded.len()` bytes of the buffer it is given, and writes the header's
    // decoded size into `decoded_size`.
    let valid = unsafe {
        blosc_src::blosc_cbuffer_validate(
            encoded.as_ptr().cast::<c_void>(),
            encoded.len(),
            &raw mut decoded_size,
        )
    } == 0;
    if !valid {
        return Err("blosc: not a valid blosc buffer".into());
    }
    if decoded_size != target.len() {
        return Err(format!(
            "blosc: the chunk holds {decoded_size} bytes, {} expected",
            target.len()
        ));
    }
    // SAFETY: the buffer was validated above (its compressed size fits in `encoded`), and blosc writes at
    // most `target.len()` bytes into `target`. One internal thread: chunks are decoded in parallel already.
    let written = unsafe {
        blosc_src::blosc_decompress_ctx(
            encoded.as_ptr().cast::<c_void>(),
            target.as_mut_ptr().cast::<c_void>(),
            target.len(),
            1,
        )
    };
    usize::try_from(written)
        .ok()
        .filter(|&n| n > 0 || target.is_empty())
        .ok_or_else(|| format!("blosc: decompression failed ({written})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zeroed_buffers_are_zero_or_refused() {
        assert_eq!(
            zeroed(Dtype::Float32, 3),
            Some(TypedData::F32(vec![0.0; 3]))
        );
        assert_eq!(zeroed(Dtype::Int64, 0), Some(TypedData::I64(Vec::new())));
        assert_eq!(zeroed(Dtype::String, 3), None);
        // More than the address space: refused, not an abort.
        assert!(zeroed_vec::<u64>(usize::MAX / 4).is_none());
        // Every type decoded here has a zeroed buffer (a missing one would read as "does not fit").
        let chain = chain(
            &json!({"name": "bytes", "configuration": {"endian": "little"}}),
            "zstd",
        );
        for dtype in [
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
        ] {
            assert_eq!(
                supports(&chain, dtype).is_some(),
                zeroed(dtype, 1).is_some(),
                "{dtype:?}"
            );
        }
    }

    fn chain(bytes: &Value, compressor: &str) -> Value {
        json!([bytes, {"name": compressor, "configuration": {"level": 0, "checksum": false}}])
    }

    #[test]
    fn only_little_endian_bytes_then_zstd_blosc_or_gzip_is_direct() {
        let little = json!({"name": "bytes", "configuration": {"endian": "little"}});
        let bare = json!({"name": "bytes"});
        let big = json!({"name": "bytes", "configuration": {"endian": "big"}});
        let cases = [
            (
                chain(&little, "zstd"),
                Dtype::Float32,
                Some(Compressor::Zstd),
            ),
            (
                chain(&little, "numcodecs.zstd"),
                Dtype::Int64,
                Some(Compressor::Zstd),
            ),
            (
                chain(&little, "blosc"),
                Dtype::Float64,
                Some(Compressor::Blosc),
            ),
            (
                chain(&little, "numcodecs.blosc"),
                Dtype::UInt16,
                Some(Compressor::Blosc),
            ),
            (chain(&bare, "zstd"), Dtype::UInt8, Some(Compressor::Zstd)),
            (chain(&bare, "zstd"), Dtype::Int16, None),
            (chain(&big, "zstd"), Dtype::Float32, None),
            (
                chain(&little, "gzip"),
                Dtype::Float32,
                Some(Compressor::Gzip),
            ),
            (chain(&little, "lz4"), Dtype::Float32, None),
            (chain(&little, "zstd"), Dtype::Bool, None),
            (chain(&little, "blosc"), Dtype::Float16, None),
            (
                json!([little, {"name": "zstd"}, {"name": "crc32c"}]),
                Dtype::Float32,
                None,
            ),
        ];
        for (codecs, dtype, expected) in cases {
            assert_eq!(supports(&codecs, dtype), expected, "{codecs} {dtype:?}");
        }
    }

    fn values() -> Vec<f32> {
        (0..1000u16).map(|i| f32::from(i) * 0.5).collect()
    }

    fn check(compressor: Compressor, encoded: &[u8]) {
        let values = values();
        match decode(compressor, Dtype::Float32, encoded, values.len()).unwrap() {
            TypedData::F32(v) => assert_eq!(v, values),
            other => panic!("wrong type {other:?}"),
        }
        // Twice on one thread: a kept context decodes again.
        assert!(decode(compressor, Dtype::Float32, encoded, values.len()).is_ok());
        let long = decode(compressor, Dtype::Float32, encoded, values.len() + 1).unwrap_err();
        assert!(long.contains("4004 expected"), "{long}");
        assert!(decode(compressor, Dtype::Float32, encoded, values.len() - 1).is_err());
        assert!(decode(compressor, Dtype::Float32, b"not compressed at all", 4).is_err());
        assert!(
            decode(
                compressor,
                Dtype::Float32,
                &encoded[..encoded.len() / 2],
                1000
            )
            .is_err()
        );
    }

    #[test]
    fn zstd_chunks_decode_and_wrong_sizes_are_errors() {
        let encoded = zstd::bulk::compress(bytemuck::cast_slice(&values()), 3).unwrap();
        check(Compressor::Zstd, &encoded);
    }

    #[test]
    fn gzip_chunks_decode_and_wrong_sizes_are_errors() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(5));
        encoder.write_all(bytemuck::cast_slice(&values())).unwrap();
        check(Compressor::Gzip, &encoder.finish().unwrap());
    }

    #[test]
    fn blosc_chunks_decode_and_wrong_sizes_are_errors() {
        let values = values();
        let raw: &[u8] = bytemuck::cast_slice(&values);
        let mut encoded = vec![0u8; raw.len() + 16];
        let compressor = std::ffi::CString::new("lz4").unwrap();
        // SAFETY: `encoded` has room for the input plus blosc's 16-byte maximum overhead.
        let n = unsafe {
            blosc_src::blosc_compress_ctx(
                5,
                1,
                4,
                raw.len(),
                raw.as_ptr().cast::<c_void>(),
                encoded.as_mut_ptr().cast::<c_void>(),
                encoded.len(),
                compressor.as_ptr(),
                0,
                1,
            )
        };
        encoded.truncate(usize::try_from(n).unwrap());
        check(Compressor::Blosc, &encoded);
    }
}
