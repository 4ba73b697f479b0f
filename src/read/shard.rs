//! Shard indexes checked before zarrs reads a shard.
//!
//! zarrs trusts a shard's index: read whole, an entry whose offset + length overflows panics inside
//! zarrs (fuzz finding F4); read in part, inner chunks are fetched by the byte ranges the index gives,
//! and for a `bytes`-only inner chain only the bytes the selection needs are taken from them, so an entry
//! pointing into the index itself, past the end of the shard or at too few bytes returns whatever bytes
//! lie there as values. Here every entry is checked against the shard before zarrs sees the index: its
//! end must not overflow, it must lie inside the shard and outside the index, and, where the inner chain
//! encodes every chunk to the same size, have exactly that length.
//!
//! The checks need the shard's size: a whole read has the shard; a partial read asks the store for it
//! after fetching the index, which costs no request because the stores remember the size the index's
//! answer reported ([`crate::source::sizes`]), and hands zarrs the index it fetched, through
//! [`KnownIndex`], so the index is not fetched twice.

use std::borrow::Cow;
use std::num::NonZeroU64;
use std::ops::Range;
use std::sync::Arc;

use zarrs::array::codec::{ShardingCodec, ShardingCodecConfiguration, ShardingIndexLocation};
use zarrs::array::{ArrayBytesRaw, ChunkShape, CodecChain, DataType, FillValue};
use zarrs::metadata::v3::MetadataV3;
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{AsyncReadableStorage, StorageError, StoreKey};
use zarrs_codec::{
    ArrayToBytesCodecTraits, AsyncBytesPartialDecoderTraits, AsyncStoragePartialDecoder,
    BytesRepresentation, CodecError, CodecMetadataOptions, CodecOptions, CodecTraits,
};
use zarrs_plugin::ZarrVersion;

/// An index entry's value meaning "this inner chunk was never written" (offset and length both).
const MISSING: u64 = u64::MAX;

/// What checking a sharded array's indexes needs to know about its shards.
#[derive(Debug)]
pub struct ShardLayout {
    codec: ShardingCodec,
    chunks_per_shard: Vec<NonZeroU64>,
    index_location: ShardingIndexLocation,
    index_bytes: u64,
    inner_bytes: Option<u64>,
    inner_strings: Option<Arc<InnerStrings>>,
}

/// A shard's inner chunks when they are `vlen-utf8` strings: zarrs' sharding codec hands each to its
/// string decoder, which trusts the length prefixes (fuzz finding F3), so each inner chunk is checked
/// with [`crate::codecs::vlen::check_chunk`] before zarrs decodes it.
#[derive(Debug)]
pub struct InnerStrings {
    chain: CodecChain,
    shape: Vec<NonZeroU64>,
    data_type: DataType,
    fill_value: FillValue,
}

impl InnerStrings {
    /// Checks the encoded bytes of one inner chunk (`which` names it in the message).
    ///
    /// # Errors
    /// Why the inner chunk does not decode, for an `ERR_DECODE` message.
    pub fn check(&self, which: &str, encoded: &[u8]) -> Result<(), String> {
        crate::codecs::vlen::check_chunk(
            &self.chain,
            encoded,
            &self.shape,
            &self.data_type,
            &self.fill_value,
        )
        .map_err(|why| format!("{which}: {why}"))
    }
}

impl ShardLayout {
    /// The layout of shards of shape `shard_shape` whose codec chain is `chain`, when that chain is the
    /// sharding codec alone (array-to-array or bytes-to-bytes codecs around it change what its bytes
    /// are; such shards are left to zarrs). `None` too for a configuration zarrs would refuse.
    #[must_use]
    pub fn of(
        chain: &CodecChain,
        shard_shape: &[u64],
        data_type: &DataType,
        fill_value: &FillValue,
    ) -> Option<Self> {
        if !chain.array_to_array_codecs().is_empty() || !chain.bytes_to_bytes_codecs().is_empty() {
            return None;
        }
        let codec = chain
            .array_to_bytes_codec()
            .as_any()
            .downcast_ref::<ShardingCodec>()?
            .clone();
        let configuration =
            codec.configuration(ZarrVersion::V3, &CodecMetadataOptions::default())?;
        let ShardingCodecConfiguration::V1(configuration) =
            MetadataV3::new_with_configuration("sharding_indexed", configuration)
                .to_typed_configuration::<ShardingCodecConfiguration>()
                .ok()?
        else {
            return None;
        };
        let inner = &configuration.chunk_shape;
        let chunks_per_shard = shard_shape
            .iter()
            .zip(inner.iter())
            .map(|(&s, c)| {
                (s % c.get() == 0)
                    .then(|| NonZeroU64::new(s / c.get()))
                    .flatten()
            })
            .collect::<Option<Vec<_>>>()
            .filter(|c| c.len() == shard_shape.len() && inner.len() == shard_shape.len())?;
        let index_shape: ChunkShape = chunks_per_shard
            .iter()
            .copied()
            .chain(NonZeroU64::new(2))
            .collect();
        let index_chain = CodecChain::from_metadata(&configuration.index_codecs).ok()?;
        let index_bytes = fixed_size(index_chain.encoded_representation(
            &index_shape,
            &zarrs::array::data_type::uint64(),
            &FillValue::from(MISSING),
        ))?;
        let inner_chain = CodecChain::from_metadata(&configuration.codecs).ok()?;
        let inner_bytes =
            fixed_size(inner_chain.encoded_representation(inner, data_type, fill_value));
        let inner_strings = crate::codecs::vlen::is_vlen_utf8(&inner_chain).then(|| {
            Arc::new(InnerStrings {
                chain: inner_chain,
                shape: inner.clone(),
                data_type: data_type.clone(),
                fill_value: fill_value.clone(),
            })
        });
        Some(Self {
            codec,
            chunks_per_shard,
            index_location: configuration.index_location,
            index_bytes,
            inner_bytes,
            inner_strings,
        })
    }

    /// Where the index lies in a shard, as the byte range a store is asked for.
    #[must_use]
    pub fn index_request(&self) -> ByteRange {
        match self.index_location {
            ShardingIndexLocation::Start => ByteRange::FromStart(0, Some(self.index_bytes)),
            ShardingIndexLocation::End => ByteRange::Suffix(self.index_bytes),
        }
    }

    /// Checks the index of a shard of `shard_size` bytes (`index` its encoded bytes, as
    /// [`Self::index_request`] fetched them): the entries decode, and every one passes [`check_entries`].
    ///
    /// # Errors
    /// Why the index is unusable, for an `ERR_DECODE` message.
    pub fn check_index(&self, index: &[u8], shard_size: u64) -> Result<(), String> {
        self.checked_entries(index, shard_size).map(drop)
    }

    /// The index entries ((offset, length) pairs) of a shard, after [`Self::check_index`]'s checks.
    fn checked_entries(&self, index: &[u8], shard_size: u64) -> Result<Vec<u64>, String> {
        if index.len() as u64 != self.index_bytes || shard_size < self.index_bytes {
            return Err(format!(
                "the shard holds {shard_size} bytes, too few for its {}-byte index",
                self.index_bytes
            ));
        }
        let entries = self
            .codec
            .decode_index(index, &self.chunks_per_shard, &CodecOptions::default())
            .map_err(|e| format!("its index does not decode: {e}"))?;
        let index_range = match self.index_location {
            ShardingIndexLocation::Start => 0..self.index_bytes,
            ShardingIndexLocation::End => shard_size - self.index_bytes..shard_size,
        };
        check_entries(&entries, shard_size, &index_range, self.inner_bytes)?;
        Ok(entries)
    }

    /// The check every inner chunk of these shards needs before zarrs decodes it, if any.
    #[must_use]
    pub fn inner_strings(&self) -> Option<Arc<InnerStrings>> {
        self.inner_strings.clone()
    }

    /// [`Self::check_index`] on a whole shard's bytes, then, for string inner chunks, every inner chunk
    /// ([`InnerStrings::check`]).
    ///
    /// # Errors
    /// As [`Self::check_index`], or the first inner chunk that does not decode.
    pub fn check_shard(&self, shard: &[u8]) -> Result<(), String> {
        let size = shard.len() as u64;
        let index = usize::try_from(self.index_bytes)
            .ok()
            .filter(|&n| n <= shard.len())
            .map(|n| match self.index_location {
                ShardingIndexLocation::Start => &shard[..n],
                ShardingIndexLocation::End => &shard[shard.len() - n..],
            });
        let Some(index) = index else {
            return Err(format!(
                "the shard holds {size} bytes, too few for its {}-byte index",
                self.index_bytes
            ));
        };
        let entries = self.checked_entries(index, size)?;
        let Some(strings) = &self.inner_strings else {
            return Ok(());
        };
        for (k, pair) in entries.chunks_exact(2).enumerate() {
            if let &[offset, length] = pair
                && offset != MISSING
            {
                // In range: `check_entries` held every entry inside the shard.
                let (start, end) = (to_index(offset)?, to_index(offset + length)?);
                strings.check(&format!("inner chunk {k}"), &shard[start..end])?;
            }
        }
        Ok(())
    }
}

fn to_index(offset: u64) -> Result<usize, String> {
    usize::try_from(offset).map_err(|_| format!("offset {offset} does not fit in memory"))
}

fn fixed_size(representation: Result<BytesRepresentation, CodecError>) -> Option<u64> {
    match representation.ok()? {
        BytesRepresentation::FixedSize(n) => Some(n),
        _ => None,
    }
}

/// Checks the (offset, length) pairs of a shard index against a shard of `shard_size` bytes whose index
/// occupies `index`: each entry (unless it marks a missing chunk) must end without overflowing, inside
/// the shard, outside the index and, when every inner chunk encodes to `inner_bytes`, be that long.
///
/// # Errors
/// The first entry that fails, and why.
pub fn check_entries(
    entries: &[u64],
    shard_size: u64,
    index: &Range<u64>,
    inner_bytes: Option<u64>,
) -> Result<(), String> {
    for (k, pair) in entries.chunks(2).enumerate() {
        let &[offset, length] = pair else {
            return Err(format!(
                "its index has an odd number of values ({})",
                entries.len()
            ));
        };
        if offset == MISSING && length == MISSING {
            continue;
        }
        let at = |why: String| {
            format!("the index entry of inner chunk {k} ({offset}, {length} bytes) {why}")
        };
        let end = offset
            .checked_add(length)
            .ok_or_else(|| at("overflows".into()))?;
        if end > shard_size {
            return Err(at(format!("ends past the {shard_size}-byte shard")));
        }
        if length > 0 && offset < index.end && end > index.start {
            return Err(at(format!(
                "overlaps the shard's index (bytes {}..{})",
                index.start, index.end
            )));
        }
        if let Some(expected) = inner_bytes.filter(|&n| n != length) {
            return Err(at(format!(
                "has the wrong length: every inner chunk is {expected} bytes"
            )));
        }
    }
    Ok(())
}

/// A shard's bytes for zarrs' partial decoder, its index already fetched (and checked): the index request
/// is answered from memory, every other range from the store.
pub struct KnownIndex {
    store: AsyncStoragePartialDecoder,
    request: ByteRange,
    index: zarrs::storage::Bytes,
    strings: Option<Arc<InnerStrings>>,
}

impl KnownIndex {
    /// The shard at `key` in `storage`, whose index `index` was fetched with `request`; with `strings`
    /// (the layout's [`ShardLayout::inner_strings`]), every inner chunk fetched is checked before zarrs
    /// decodes it (string inner chunks are fetched whole).
    #[must_use]
    pub fn new(
        storage: AsyncReadableStorage,
        key: StoreKey,
        request: ByteRange,
        index: zarrs::storage::Bytes,
        strings: Option<Arc<InnerStrings>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store: AsyncStoragePartialDecoder::new(storage, key),
            request,
            index,
            strings,
        })
    }
}

#[async_trait::async_trait]
impl AsyncBytesPartialDecoderTraits for KnownIndex {
    async fn exists(&self) -> Result<bool, StorageError> {
        Ok(true)
    }

    fn size_held(&self) -> usize {
        self.index.len()
    }

    async fn partial_decode_many<'a>(
        &'a self,
        decoded_regions: ByteRangeIterator<'a>,
        options: &CodecOptions,
    ) -> Result<Option<Vec<ArrayBytesRaw<'a>>>, CodecError> {
        let regions: Vec<ByteRange> = decoded_regions.collect();
        if regions == [self.request] {
            return Ok(Some(vec![Cow::Borrowed(&self.index[..])]));
        }
        let fetched = self
            .store
            .partial_decode_many(Box::new(regions.clone().into_iter()), options)
            .await?;
        if let (Some(strings), Some(pieces)) = (&self.strings, &fetched) {
            for (region, piece) in regions.iter().zip(pieces) {
                strings
                    .check(&format!("the inner chunk at bytes {region}"), piece)
                    .map_err(CodecError::Other)?;
            }
        }
        Ok(fetched)
    }

    fn supports_partial_decode(&self) -> bool {
        self.store.supports_partial_decode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index of (offset, length) pairs.
    fn entries(pairs: &[(u64, u64)]) -> Vec<u64> {
        pairs.iter().flat_map(|&(o, n)| [o, n]).collect()
    }

    #[test]
    fn sound_entries_pass_and_missing_chunks_are_skipped() {
        // Four 32-byte inner chunks, then a 64-byte index at the end of a 192-byte shard.
        let index = 128..192;
        let sound = entries(&[(0, 32), (32, 32), (MISSING, MISSING), (96, 32)]);
        assert_eq!(check_entries(&sound, 192, &index, Some(32)), Ok(()));
        // Two entries sharing bytes (a writer may deduplicate equal chunks) are sound.
        let shared = entries(&[(0, 32), (0, 32)]);
        assert_eq!(check_entries(&shared, 192, &index, Some(32)), Ok(()));
        // Without a fixed inner size any length inside the data goes.
        let compressed = entries(&[(0, 7), (7, 100)]);
        assert_eq!(check_entries(&compressed, 192, &index, None), Ok(()));
    }

    #[test]
    fn entries_that_overflow_leave_the_shard_or_overlap_the_index_fail() {
        let end_index = 128..192;
        let cases = [
            ((u64::MAX - 8, 32), "overflows"),
            ((1 << 50, 32), "ends past the 192-byte shard"),
            ((180, 32), "ends past"),
            ((128, 32), "overlaps the shard's index (bytes 128..192)"),
            ((120, 32), "overlaps"),
            ((0, 24), "wrong length: every inner chunk is 32 bytes"),
            ((MISSING, 0), "ends past"),
        ];
        for ((offset, length), why) in cases {
            let index = entries(&[(0, 32), (offset, length)]);
            let err = check_entries(&index, 192, &end_index, Some(32)).unwrap_err();
            assert!(err.contains(why), "{offset}, {length}: {err}");
            assert!(err.contains("inner chunk 1"), "{err}");
        }
        // An index at the start: an entry pointing at it.
        let start_index = 0..64;
        let err = check_entries(&entries(&[(32, 32)]), 192, &start_index, Some(32)).unwrap_err();
        assert!(
            err.contains("overlaps the shard's index (bytes 0..64)"),
            "{err}"
        );
        assert!(check_entries(&[1, 2, 3], 192, &start_index, None).is_err());
    }

    /// The layout of a `[4, 4]` shard of `[2, 2]` float64 inner chunks, `bytes` only, index `at`.
    fn layout(at: &str, index_codecs: &serde_json::Value) -> ShardLayout {
        let chain: Vec<MetadataV3> = serde_json::from_value(serde_json::json!([{
            "name": "sharding_indexed",
            "configuration": {
                "chunk_shape": [2, 2],
                "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                "index_codecs": index_codecs,
                "index_location": at,
            }
        }]))
        .unwrap();
        let chain = CodecChain::from_metadata(&chain).unwrap();
        ShardLayout::of(
            &chain,
            &[4, 4],
            &zarrs::array::data_type::float64(),
            &FillValue::from(0f64),
        )
        .unwrap()
    }

    fn encoded(pairs: &[(u64, u64)]) -> Vec<u8> {
        entries(pairs)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    #[test]
    fn layouts_locate_the_index_and_know_the_inner_chunk_size() {
        let bytes = serde_json::json!([{"name": "bytes", "configuration": {"endian": "little"}}]);
        let end = layout("end", &bytes);
        assert_eq!(end.index_request(), ByteRange::Suffix(64));
        assert_eq!(end.inner_bytes, Some(32));
        let start = layout("start", &bytes);
        assert_eq!(start.index_request(), ByteRange::FromStart(0, Some(64)));
        let index = encoded(&[(0, 32), (32, 32), (64, 32), (96, 32)]);
        assert_eq!(end.check_index(&index, 192), Ok(()));
        // The same entries in a shard holding only the index point into the index.
        let err = end.check_index(&index, 64).unwrap_err();
        assert!(
            err.contains("overlaps the shard's index (bytes 0..64)"),
            "{err}"
        );
        // Whole shards: data then index; an index alone; too few bytes for an index.
        let mut shard = vec![0u8; 128];
        shard.extend_from_slice(&index);
        assert_eq!(end.check_shard(&shard), Ok(()));
        assert!(end.check_shard(&index).is_err());
        assert!(
            end.check_shard(&index[..10])
                .unwrap_err()
                .contains("too few")
        );
        // With a checksum the index is 4 bytes longer, and a corrupt one does not decode.
        let crc = serde_json::json!([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]);
        let checked = layout("end", &crc);
        assert_eq!(checked.index_request(), ByteRange::Suffix(68));
        let mut bad = index.clone();
        bad.extend_from_slice(&[0, 0, 0, 0]);
        assert!(
            checked
                .check_index(&bad, 196)
                .unwrap_err()
                .contains("does not decode")
        );
    }

    #[test]
    fn chains_around_the_sharding_codec_are_left_to_zarrs() {
        let chain: Vec<MetadataV3> = serde_json::from_value(serde_json::json!([
            {"name": "sharding_indexed", "configuration": {
                "chunk_shape": [2, 2],
                "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                "index_location": "end"}},
            {"name": "crc32c"}
        ]))
        .unwrap();
        let chain = CodecChain::from_metadata(&chain).unwrap();
        let float64 = zarrs::array::data_type::float64();
        assert!(ShardLayout::of(&chain, &[4, 4], &float64, &FillValue::from(0f64)).is_none());
        let plain: Vec<MetadataV3> = serde_json::from_value(
            serde_json::json!([{"name": "bytes", "configuration": {"endian": "little"}}]),
        )
        .unwrap();
        let plain = CodecChain::from_metadata(&plain).unwrap();
        assert!(ShardLayout::of(&plain, &[4, 4], &float64, &FillValue::from(0f64)).is_none());
    }
}
