//! `vlen-utf8` chunks checked before zarrs decodes them.
//!
//! zarrs 0.23's `vlen-utf8` decoder slices a chunk by the length prefixes it holds without checking
//! them against the chunk (a prefix that overruns it panics: fuzz finding F3), and converts the element
//! count with an `unwrap`. Here the chunk's bytes-to-bytes codecs are undone first, the framing (a
//! little-endian `u32` count, then each string as a `u32` length and its bytes) is walked and checked,
//! and only then does zarrs turn it into strings.

use std::borrow::Cow;
use std::num::NonZeroU64;

use zarrs::array::codec::VlenUtf8Codec;
use zarrs::array::{ArrayBytes, CodecChain, DataType, FillValue};
use zarrs_codec::CodecOptions;

/// Whether `chain` turns bytes into strings with `vlen-utf8` directly (no array-to-array codec in
/// between, whose shapes would have to be followed).
#[must_use]
pub fn is_vlen_utf8(chain: &CodecChain) -> bool {
    chain.array_to_array_codecs().is_empty()
        && chain
            .array_to_bytes_codec()
            .as_any()
            .downcast_ref::<VlenUtf8Codec>()
            .is_some()
}

/// Decodes one whole `vlen-utf8` chunk of `shape` (a chain [`is_vlen_utf8`] accepts): the
/// bytes-to-bytes codecs, then [`check_framing`], then zarrs.
///
/// # Errors
/// Why the chunk does not decode, for an `ERR_DECODE` message.
pub fn decode_checked(
    chain: &CodecChain,
    encoded: &[u8],
    shape: &[NonZeroU64],
    data_type: &DataType,
    fill_value: &FillValue,
) -> Result<ArrayBytes<'static>, String> {
    let bytes = framed_strings(chain, encoded, shape, data_type, fill_value)?;
    chain
        .array_to_bytes_codec()
        .decode(
            bytes,
            shape,
            data_type,
            fill_value,
            &CodecOptions::default(),
        )
        .map(ArrayBytes::into_owned)
        .map_err(|e| e.to_string())
}

/// Checks one whole `vlen-utf8` chunk of `shape` (a chain [`is_vlen_utf8`] accepts) as
/// [`decode_checked`] does, without making strings of it: for the inner chunks of a shard, which zarrs'
/// sharding codec decodes itself.
///
/// # Errors
/// Why the chunk does not decode, for an `ERR_DECODE` message.
pub fn check_chunk(
    chain: &CodecChain,
    encoded: &[u8],
    shape: &[NonZeroU64],
    data_type: &DataType,
    fill_value: &FillValue,
) -> Result<(), String> {
    framed_strings(chain, encoded, shape, data_type, fill_value).map(drop)
}

/// The chunk's framed strings: its bytes-to-bytes codecs undone, the framing checked.
fn framed_strings<'a>(
    chain: &CodecChain,
    encoded: &'a [u8],
    shape: &[NonZeroU64],
    data_type: &DataType,
    fill_value: &FillValue,
) -> Result<Cow<'a, [u8]>, String> {
    let options = CodecOptions::default();
    let compressors = chain.bytes_to_bytes_codecs();
    // What each bytes-to-bytes codec decodes to: the representation its encoder was given.
    let mut representations = vec![
        chain
            .array_to_bytes_codec()
            .encoded_representation(shape, data_type, fill_value)
            .map_err(|e| e.to_string())?,
    ];
    for codec in compressors {
        let last = representations[representations.len() - 1];
        representations.push(codec.encoded_representation(&last));
    }
    let mut bytes = Cow::Borrowed(encoded);
    for (codec, decoded) in compressors.iter().zip(&representations).rev() {
        bytes = Cow::Owned(
            codec
                .decode(bytes, decoded, &options)
                .map_err(|e| e.to_string())?
                .into_owned(),
        );
    }
    let elements = shape.iter().map(|n| n.get()).product::<u64>();
    check_framing(&bytes, elements)?;
    Ok(bytes)
}

/// Checks that `bytes` frame exactly `elements` strings: a `u32` count equal to `elements`, then per
/// string a `u32` length whose bytes follow inside the chunk.
///
/// # Errors
/// The first thing that does not fit, for an `ERR_DECODE` message.
pub fn check_framing(bytes: &[u8], elements: u64) -> Result<(), String> {
    let mut rest = bytes;
    let count = take_u32(&mut rest).ok_or_else(|| {
        format!(
            "the chunk ({} bytes) is shorter than its header",
            bytes.len()
        )
    })?;
    if u64::from(count) != elements {
        return Err(format!(
            "the chunk holds {count} strings, {elements} expected"
        ));
    }
    for k in 0..count {
        let length = take_u32(&mut rest)
            .ok_or_else(|| format!("the length of string {k} lies past the end of the chunk"))?;
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        if length > rest.len() {
            return Err(format!(
                "string {k} claims {length} bytes, {} are left in the chunk",
                rest.len()
            ));
        }
        rest = &rest[length..];
    }
    Ok(())
}

fn take_u32(rest: &mut &[u8]) -> Option<u32> {
    let (head, tail) = rest.split_first_chunk::<4>()?;
    *rest = tail;
    Some(u32::from_le_bytes(*head))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(strings: &[&[u8]], lengths: Option<&[u32]>) -> Vec<u8> {
        let mut out = u32::try_from(strings.len()).unwrap().to_le_bytes().to_vec();
        for (k, s) in strings.iter().enumerate() {
            let length = lengths.map_or(u32::try_from(s.len()).unwrap(), |l| l[k]);
            out.extend_from_slice(&length.to_le_bytes());
            out.extend_from_slice(s);
        }
        out
    }

    #[test]
    fn sound_framing_passes() {
        assert_eq!(
            check_framing(&framed(&[b"a", b"", b"xyz"], None), 3),
            Ok(())
        );
        assert_eq!(check_framing(&framed(&[], None), 0), Ok(()));
    }

    #[test]
    fn overruns_short_chunks_and_wrong_counts_fail() {
        let overlong = framed(&[b"a", b"b"], Some(&[1, 1000]));
        let err = check_framing(&overlong, 2).unwrap_err();
        assert!(
            err.contains("string 1 claims 1000 bytes, 1 are left"),
            "{err}"
        );
        assert!(
            check_framing(&framed(&[b"a"], None), 2)
                .unwrap_err()
                .contains("holds 1 strings, 2 expected")
        );
        assert!(
            check_framing(&[1, 0], 1)
                .unwrap_err()
                .contains("shorter than its header")
        );
        let cut = &framed(&[b"a", b"b"], None)[..9];
        assert!(
            check_framing(cut, 2)
                .unwrap_err()
                .contains("length of string 1")
        );
        // More strings than a u32 counts cannot match any header.
        assert!(check_framing(&framed(&[], None), 1 << 32).is_err());
    }

    fn chain(json: serde_json::Value) -> CodecChain {
        let metadata: Vec<zarrs::metadata::v3::MetadataV3> = serde_json::from_value(json).unwrap();
        CodecChain::from_metadata(&metadata).unwrap()
    }

    #[test]
    fn chunks_decode_through_their_compressors_and_overruns_are_errors() {
        let plain = chain(serde_json::json!([{"name": "vlen-utf8", "configuration": {}}]));
        let zstd = chain(serde_json::json!([
            {"name": "vlen-utf8", "configuration": {}},
            {"name": "zstd", "configuration": {"level": 1, "checksum": false}}
        ]));
        assert!(is_vlen_utf8(&plain) && is_vlen_utf8(&zstd));
        assert!(!is_vlen_utf8(&chain(
            serde_json::json!([{"name": "bytes", "configuration": {"endian": "little"}}])
        )));
        let shape = [NonZeroU64::new(2).unwrap()];
        let string = zarrs::array::data_type::string();
        let fill = FillValue::from("");
        let good = framed(&[b"a", b"bc"], None);
        let bad = framed(&[b"a", b"bc"], Some(&[1, 1000]));
        let compressed = |b: &[u8]| zstd::bulk::compress(b, 1).unwrap();
        for (chain, encode) in [
            (&plain, (|b: &[u8]| b.to_vec()) as fn(&[u8]) -> Vec<u8>),
            (&zstd, compressed),
        ] {
            let decoded = decode_checked(chain, &encode(&good), &shape, &string, &fill).unwrap();
            let strings = <Vec<String> as zarrs::array::FromArrayBytes>::from_array_bytes(
                decoded,
                &[2],
                &string,
            )
            .unwrap();
            assert_eq!(strings, ["a", "bc"]);
            let err = decode_checked(chain, &encode(&bad), &shape, &string, &fill).unwrap_err();
            assert!(err.contains("string 1 claims 1000 bytes"), "{err}");
        }
    }
}
