//! numcodecs codecs that zarr-python writes into Zarr v3 metadata (`numcodecs.lz4`, `numcodecs.lzma`,
//! `numcodecs.crc32`, `numcodecs.delta`) and zarrs does not provide, registered as zarrs codec plugins so
//! that every codec chain goes through one pipeline.
//!
//! `numcodecs.delta` is an array-to-array filter (see [`delta`]). The others are bytes-to-bytes codecs
//! whose byte format is the one numcodecs writes:
//! - `numcodecs.lz4`: a little-endian `u32` holding the decoded size, then one LZ4 block;
//! - `numcodecs.lzma`: an `.xz` stream (numcodecs' default format) or a legacy `.lzma` stream;
//! - `numcodecs.crc32`: a little-endian CRC-32 of the data, then the data (numcodecs' `location="start"`).

pub mod delta;
pub mod vlen;

use std::borrow::Cow;
use std::io::Cursor;
use std::sync::Arc;

use zarrs_codec::{
    BytesRepresentation, BytesToBytesCodecTraits, Codec, CodecError, CodecMetadataOptions,
    CodecOptions, CodecPluginV3, CodecTraits, CodecTraitsV3, PartialDecoderCapability,
    PartialEncoderCapability, RecommendedConcurrency,
};
use zarrs_metadata::Configuration;
use zarrs_metadata::v3::MetadataV3;
use zarrs_plugin::{PluginCreateError, ZarrVersion};

/// Defines a bytes-to-bytes codec type from its name and its encode/decode functions.
macro_rules! bytes_codec {
    ($(#[$doc:meta])* $type:ident, $name:literal, encode: $encode:path, decode: $decode:path, overhead: $overhead:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $type {
            configuration: Configuration,
        }

        zarrs_plugin::impl_extension_aliases!($type, v3: $name);

        inventory::submit! {
            CodecPluginV3::new::<$type>()
        }

        impl CodecTraitsV3 for $type {
            fn create(metadata: &MetadataV3) -> Result<Codec, PluginCreateError> {
                let configuration = metadata.configuration().cloned().unwrap_or_default();
                check_configuration($name, &configuration)?;
                Ok(Codec::BytesToBytes(Arc::new(Self { configuration })))
            }
        }

        impl CodecTraits for $type {
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }

            fn configuration(&self, _: ZarrVersion, _: &CodecMetadataOptions) -> Option<Configuration> {
                Some(self.configuration.clone())
            }

            fn partial_decoder_capability(&self) -> PartialDecoderCapability {
                PartialDecoderCapability { partial_read: false, partial_decode: false }
            }

            fn partial_encoder_capability(&self) -> PartialEncoderCapability {
                PartialEncoderCapability { partial_encode: false }
            }
        }

        #[async_trait::async_trait]
        impl BytesToBytesCodecTraits for $type {
            fn into_dyn(self: Arc<Self>) -> Arc<dyn BytesToBytesCodecTraits> {
                self
            }

            fn recommended_concurrency(&self, _: &BytesRepresentation) -> Result<RecommendedConcurrency, CodecError> {
                Ok(RecommendedConcurrency::new_maximum(1))
            }

            fn encoded_representation(&self, decoded: &BytesRepresentation) -> BytesRepresentation {
                decoded.size().map_or(BytesRepresentation::UnboundedSize, |size| {
                    let overhead: fn(u64) -> u64 = $overhead;
                    BytesRepresentation::BoundedSize(size + overhead(size))
                })
            }

            fn encode<'a>(&self, decoded: Cow<'a, [u8]>, _: &CodecOptions) -> Result<Cow<'a, [u8]>, CodecError> {
                $encode(&self.configuration, &decoded).map(Cow::Owned)
            }

            fn decode<'a>(
                &self,
                encoded: Cow<'a, [u8]>,
                _: &BytesRepresentation,
                _: &CodecOptions,
            ) -> Result<Cow<'a, [u8]>, CodecError> {
                $decode(&self.configuration, &encoded).map(Cow::Owned)
            }
        }
    };
}

/// Rejects configurations whose byte format differs from what these decoders read.
fn check_configuration(name: &str, configuration: &Configuration) -> Result<(), PluginCreateError> {
    let get = |k: &str| configuration.get(k);
    let unsupported = match name {
        "numcodecs.crc32" => get("location")
            .and_then(|v| v.as_str())
            .is_some_and(|l| l != "start"),
        // numcodecs' FORMAT_AUTO (0) only matters for decoding; XZ (1) and ALONE (2) are readable.
        "numcodecs.lzma" => {
            get("format")
                .and_then(serde_json::Value::as_i64)
                .is_some_and(|f| !(0..=2).contains(&f))
                || get("filters").is_some_and(|f| !f.is_null())
        }
        _ => false,
    };
    if unsupported {
        return Err(PluginCreateError::Other(format!(
            "{name} with configuration {} is not supported",
            serde_json::Value::Object(configuration.clone().into())
        )));
    }
    Ok(())
}

fn other(codec: &str, e: impl std::fmt::Display) -> CodecError {
    CodecError::Other(format!("{codec}: {e}"))
}

#[allow(clippy::unnecessary_wraps)] // one signature for every encoder
fn lz4_encode(_: &Configuration, data: &[u8]) -> Result<Vec<u8>, CodecError> {
    Ok(lz4_flex::block::compress_prepend_size(data))
}

fn lz4_decode(_: &Configuration, data: &[u8]) -> Result<Vec<u8>, CodecError> {
    lz4_flex::block::decompress_size_prepended(data).map_err(|e| other("numcodecs.lz4", e))
}

fn lzma_encode(_: &Configuration, data: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    lzma_rs::xz_compress(&mut Cursor::new(data), &mut out)
        .map_err(|e| other("numcodecs.lzma", e))?;
    Ok(out)
}

fn lzma_decode(_: &Configuration, data: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    // The .xz magic bytes tell the two container formats apart (what FORMAT_AUTO does).
    if data.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        lzma_rs::xz_decompress(&mut Cursor::new(data), &mut out)
    } else {
        lzma_rs::lzma_decompress(&mut Cursor::new(data), &mut out)
    }
    .map_err(|e| other("numcodecs.lzma", e))?;
    Ok(out)
}

#[allow(clippy::unnecessary_wraps)] // one signature for every encoder
fn crc32_encode(_: &Configuration, data: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut out = crc32fast::hash(data).to_le_bytes().to_vec();
    out.extend_from_slice(data);
    Ok(out)
}

fn crc32_decode(_: &Configuration, data: &[u8]) -> Result<Vec<u8>, CodecError> {
    if data.len() < 4 {
        return Err(other(
            "numcodecs.crc32",
            "encoded chunk is shorter than its checksum",
        ));
    }
    let (checksum, payload) = data.split_at(4);
    if crc32fast::hash(payload).to_le_bytes() != checksum {
        return Err(CodecError::InvalidChecksum);
    }
    Ok(payload.to_vec())
}

bytes_codec!(
    /// `numcodecs.lz4`: a size-prefixed LZ4 block.
    Lz4Codec, "numcodecs.lz4", encode: lz4_encode, decode: lz4_decode, overhead: |n| n / 255 + 16 + 4
);
bytes_codec!(
    /// `numcodecs.lzma`: an xz (or legacy lzma) stream.
    LzmaCodec, "numcodecs.lzma", encode: lzma_encode, decode: lzma_decode, overhead: |n| n / 2 + 128
);
bytes_codec!(
    /// `numcodecs.crc32`: a CRC-32 checksum in front of the data.
    Crc32Codec, "numcodecs.crc32", encode: crc32_encode, decode: crc32_decode, overhead: |_| 4
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_corruption() {
        let cfg = Configuration::default();
        let data: Vec<u8> = (0..1000u32).flat_map(|i| (i % 7).to_le_bytes()).collect();
        for (enc, dec) in [
            (
                lz4_encode as fn(&Configuration, &[u8]) -> _,
                lz4_decode as fn(&Configuration, &[u8]) -> _,
            ),
            (lzma_encode, lzma_decode),
            (crc32_encode, crc32_decode),
        ] {
            let encoded = enc(&cfg, &data).unwrap();
            assert_eq!(dec(&cfg, &encoded).unwrap(), data);
        }
        let mut bad = crc32_encode(&cfg, &data).unwrap();
        bad[10] ^= 1;
        assert!(matches!(
            crc32_decode(&cfg, &bad),
            Err(CodecError::InvalidChecksum)
        ));
        assert!(lz4_decode(&cfg, &[255, 255, 255, 127, 1, 2]).is_err());
    }
}
