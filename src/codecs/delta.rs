//! `numcodecs.delta`: numcodecs' Delta filter as a Zarr v3 array-to-array codec. The encoded chunk holds
//! the first element and then the differences of consecutive elements (C order, whole chunk); decoding
//! is a running sum in the element type, wrapping for integers and in the element's own precision for
//! floats, as numpy's `cumsum` does.

use std::num::NonZeroU64;
use std::sync::Arc;

use zarrs_codec::{
    ArrayBytes, ArrayCodecTraits, ArrayToArrayCodecTraits, Codec, CodecError, CodecMetadataOptions,
    CodecOptions, CodecPluginV3, CodecTraits, CodecTraitsV3, PartialDecoderCapability,
    PartialEncoderCapability, RecommendedConcurrency,
};
use zarrs_data_type::{DataType, FillValue};
use zarrs_metadata::Configuration;
use zarrs_metadata::v3::MetadataV3;
use zarrs_plugin::{PluginCreateError, ZarrVersion};

/// Element kind and size named by the codec's `dtype` (a numpy type string such as `<i4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Element {
    Int(usize),
    UInt(usize),
    Float(usize),
}

fn parse_numpy_dtype(s: &str) -> Option<Element> {
    let s = s.trim_start_matches(['<', '>', '|', '=']);
    let (kind, size) = s.split_at(1);
    let size: usize = size.parse().ok()?;
    match (kind, size) {
        ("i", 1 | 2 | 4 | 8) => Some(Element::Int(size)),
        ("u", 1 | 2 | 4 | 8) => Some(Element::UInt(size)),
        ("f", 4 | 8) => Some(Element::Float(size)),
        _ => None,
    }
}

/// The `numcodecs.delta` codec (decoding and encoding, without `astype` conversion).
#[derive(Clone, Debug)]
pub struct DeltaCodec {
    configuration: Configuration,
    element: Element,
}

zarrs_plugin::impl_extension_aliases!(DeltaCodec, v3: "numcodecs.delta");

inventory::submit! {
    CodecPluginV3::new::<DeltaCodec>()
}

impl CodecTraitsV3 for DeltaCodec {
    fn create(metadata: &MetadataV3) -> Result<Codec, PluginCreateError> {
        let configuration = metadata.configuration().cloned().unwrap_or_default();
        let dtype = configuration
            .get("dtype")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let element = parse_numpy_dtype(dtype).ok_or_else(|| {
            PluginCreateError::Other(format!("numcodecs.delta: dtype {dtype:?} is not supported"))
        })?;
        let astype = configuration
            .get("astype")
            .and_then(serde_json::Value::as_str);
        if let Some(astype) = astype
            && parse_numpy_dtype(astype) != Some(element)
        {
            return Err(PluginCreateError::Other(format!(
                "numcodecs.delta: astype {astype:?} different from dtype {dtype:?} is not supported"
            )));
        }
        Ok(Codec::ArrayToArray(Arc::new(Self {
            configuration,
            element,
        })))
    }
}

impl CodecTraits for DeltaCodec {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn configuration(&self, _: ZarrVersion, _: &CodecMetadataOptions) -> Option<Configuration> {
        Some(self.configuration.clone())
    }

    fn partial_decoder_capability(&self) -> PartialDecoderCapability {
        PartialDecoderCapability {
            partial_read: false,
            partial_decode: false,
        }
    }

    fn partial_encoder_capability(&self) -> PartialEncoderCapability {
        PartialEncoderCapability {
            partial_encode: false,
        }
    }
}

impl ArrayCodecTraits for DeltaCodec {
    fn recommended_concurrency(
        &self,
        _: &[NonZeroU64],
        _: &DataType,
    ) -> Result<RecommendedConcurrency, CodecError> {
        Ok(RecommendedConcurrency::new_maximum(1))
    }
}

/// Applies `step` along native-endian elements of `SIZE` bytes: running sum (decode) or difference (encode).
macro_rules! transform {
    ($bytes:expr, $t:ty, $decode:expr, $add:expr, $sub:expr) => {{
        const SIZE: usize = size_of::<$t>();
        let mut prev: Option<$t> = None;
        for chunk in $bytes.chunks_exact_mut(SIZE) {
            let v = <$t>::from_ne_bytes(chunk.try_into().expect("element size"));
            let out = match prev {
                None => v,
                Some(p) if $decode => $add(p, v),
                Some(p) => $sub(v, p),
            };
            // Decoding sums outputs; encoding differences inputs.
            prev = Some(if $decode { out } else { v });
            chunk.copy_from_slice(&out.to_ne_bytes());
        }
    }};
}

impl DeltaCodec {
    fn apply(
        &self,
        bytes: ArrayBytes<'_>,
        data_type: &DataType,
        decode: bool,
    ) -> Result<ArrayBytes<'static>, CodecError> {
        let size = match self.element {
            Element::Int(n) | Element::UInt(n) | Element::Float(n) => n,
        };
        if data_type.fixed_size() != Some(size) {
            return Err(CodecError::Other(format!(
                "numcodecs.delta: its dtype has {size}-byte elements, the array's data type does not"
            )));
        }
        let mut buf = bytes.into_fixed()?.into_owned();
        match self.element {
            Element::Int(1) => transform!(buf, i8, decode, i8::wrapping_add, i8::wrapping_sub),
            Element::Int(2) => transform!(buf, i16, decode, i16::wrapping_add, i16::wrapping_sub),
            Element::Int(4) => transform!(buf, i32, decode, i32::wrapping_add, i32::wrapping_sub),
            Element::Int(_) => transform!(buf, i64, decode, i64::wrapping_add, i64::wrapping_sub),
            Element::UInt(1) => transform!(buf, u8, decode, u8::wrapping_add, u8::wrapping_sub),
            Element::UInt(2) => transform!(buf, u16, decode, u16::wrapping_add, u16::wrapping_sub),
            Element::UInt(4) => transform!(buf, u32, decode, u32::wrapping_add, u32::wrapping_sub),
            Element::UInt(_) => transform!(buf, u64, decode, u64::wrapping_add, u64::wrapping_sub),
            Element::Float(4) => transform!(
                buf,
                f32,
                decode,
                |a: f32, b: f32| a + b,
                |a: f32, b: f32| a - b
            ),
            Element::Float(_) => transform!(
                buf,
                f64,
                decode,
                |a: f64, b: f64| a + b,
                |a: f64, b: f64| a - b
            ),
        }
        Ok(ArrayBytes::from(buf))
    }
}

#[async_trait::async_trait]
impl ArrayToArrayCodecTraits for DeltaCodec {
    fn into_dyn(self: Arc<Self>) -> Arc<dyn ArrayToArrayCodecTraits> {
        self
    }

    fn encoded_data_type(&self, decoded_data_type: &DataType) -> Result<DataType, CodecError> {
        Ok(decoded_data_type.clone())
    }

    fn encoded_fill_value(
        &self,
        _: &DataType,
        decoded_fill_value: &FillValue,
    ) -> Result<FillValue, CodecError> {
        // A chunk of fill values encodes to the fill value followed by zeros; only the first element
        // matters to callers asking for a single encoded fill value.
        Ok(decoded_fill_value.clone())
    }

    fn encode<'a>(
        &self,
        bytes: ArrayBytes<'a>,
        _: &[NonZeroU64],
        data_type: &DataType,
        _: &FillValue,
        _: &CodecOptions,
    ) -> Result<ArrayBytes<'a>, CodecError> {
        self.apply(bytes, data_type, false)
    }

    fn decode<'a>(
        &self,
        bytes: ArrayBytes<'a>,
        _: &[NonZeroU64],
        data_type: &DataType,
        _: &FillValue,
        _: &CodecOptions,
    ) -> Result<ArrayBytes<'a>, CodecError> {
        self.apply(bytes, data_type, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numpy_type_strings() {
        assert_eq!(parse_numpy_dtype("<i4"), Some(Element::Int(4)));
        assert_eq!(parse_numpy_dtype("|u1"), Some(Element::UInt(1)));
        assert_eq!(parse_numpy_dtype(">f8"), Some(Element::Float(8)));
        assert_eq!(parse_numpy_dtype("<c8"), None);
    }

    #[test]
    fn running_sum_wraps_like_numpy() {
        let mut buf: Vec<u8> = [100i8, 100, -50]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        transform!(buf, i8, true, i8::wrapping_add, i8::wrapping_sub);
        assert_eq!(
            buf.iter().map(|&b| b as i8).collect::<Vec<_>>(),
            vec![100, -56, -106]
        );
        transform!(buf, i8, false, i8::wrapping_add, i8::wrapping_sub);
        assert_eq!(
            buf.iter().map(|&b| b as i8).collect::<Vec<_>>(),
            vec![100, 100, -50]
        );
    }
}
