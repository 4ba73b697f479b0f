//! Typed element buffers: what chunk reads produce, CF decoding transforms and JavaScript receives as a
//! typed array without a copy.

/// A flat, C-ordered buffer of one element type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedData {
    /// `int8`
    I8(Vec<i8>),
    /// `int16`
    I16(Vec<i16>),
    /// `int32`
    I32(Vec<i32>),
    /// `int64`, `datetime64[ns]`, `timedelta64[ns]`
    I64(Vec<i64>),
    /// `uint8` and `bool` (0/1)
    U8(Vec<u8>),
    /// `uint16`
    U16(Vec<u16>),
    /// `uint32`
    U32(Vec<u32>),
    /// `uint64`
    U64(Vec<u64>),
    /// `float32`, and `float16` widened (JavaScript has no `Float16Array` on Node < 24)
    F32(Vec<f32>),
    /// `float64`
    F64(Vec<f64>),
    /// `string`
    Str(Vec<String>),
}

/// Applies `$body` to the inner `Vec` of any variant, binding it to `$v`.
#[macro_export]
macro_rules! with_typed {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::typed::TypedData::I8($v) => $body,
            $crate::typed::TypedData::I16($v) => $body,
            $crate::typed::TypedData::I32($v) => $body,
            $crate::typed::TypedData::I64($v) => $body,
            $crate::typed::TypedData::U8($v) => $body,
            $crate::typed::TypedData::U16($v) => $body,
            $crate::typed::TypedData::U32($v) => $body,
            $crate::typed::TypedData::U64($v) => $body,
            $crate::typed::TypedData::F32($v) => $body,
            $crate::typed::TypedData::F64($v) => $body,
            $crate::typed::TypedData::Str($v) => $body,
        }
    };
}

impl TypedData {
    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        with_typed!(self, v => v.len())
    }

    /// Whether there are no elements.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements' bytes, writable, for the numeric variants (`None` for strings).
    #[must_use]
    pub fn as_bytes_mut(&mut self) -> Option<&mut [u8]> {
        Some(match self {
            Self::I8(v) => bytemuck::cast_slice_mut(v),
            Self::I16(v) => bytemuck::cast_slice_mut(v),
            Self::I32(v) => bytemuck::cast_slice_mut(v),
            Self::I64(v) => bytemuck::cast_slice_mut(v),
            Self::U8(v) => bytemuck::cast_slice_mut(v),
            Self::U16(v) => bytemuck::cast_slice_mut(v),
            Self::U32(v) => bytemuck::cast_slice_mut(v),
            Self::U64(v) => bytemuck::cast_slice_mut(v),
            Self::F32(v) => bytemuck::cast_slice_mut(v),
            Self::F64(v) => bytemuck::cast_slice_mut(v),
            Self::Str(_) => return None,
        })
    }

    /// An empty buffer of the same variant with room for `n` elements.
    #[must_use]
    pub fn empty_like(&self, n: usize) -> Self {
        match self {
            Self::I8(_) => Self::I8(Vec::with_capacity(n)),
            Self::I16(_) => Self::I16(Vec::with_capacity(n)),
            Self::I32(_) => Self::I32(Vec::with_capacity(n)),
            Self::I64(_) => Self::I64(Vec::with_capacity(n)),
            Self::U8(_) => Self::U8(Vec::with_capacity(n)),
            Self::U16(_) => Self::U16(Vec::with_capacity(n)),
            Self::U32(_) => Self::U32(Vec::with_capacity(n)),
            Self::U64(_) => Self::U64(Vec::with_capacity(n)),
            Self::F32(_) => Self::F32(Vec::with_capacity(n)),
            Self::F64(_) => Self::F64(Vec::with_capacity(n)),
            Self::Str(_) => Self::Str(Vec::with_capacity(n)),
        }
    }
}

/// What a selection may cost once it reaches JavaScript, and how much memory it takes before it does.
///
/// The limits are V8's, for every Node.js from 18 to 22 (64-bit), where going past them is not an
/// exception but a fatal error that ends the process: they are checked before a read decodes anything
/// ([`crate::read`]) and again before a buffer is handed over (`napi::handover`).
pub mod js_limits {
    /// The longest JavaScript array handed over (napi's `napi_create_array_with_length` makes one
    /// `FixedArray` of that length; one element more and V8 aborts with "Fatal JavaScript invalid size
    /// error"). V8's `FixedArray::kMaxLength` is `(1 GiB - 24) / 8` = 134,217,725 in V8 10-12 (Node 18
    /// to 22, 64-bit, with or without pointer compression), but V8 13 caps every fixed array at
    /// `kMaxFixedArrayCapacity` = 2^26 (Node 24); the smaller holds everywhere.
    pub const MAX_JS_ARRAY_LENGTH: u64 = 1 << 26;

    /// The largest typed array (in bytes) handed to JavaScript: `buffer.constants.MAX_LENGTH` of Node 18
    /// to 21 on 64-bit (2^32, V8's `TypedArray::kMaxLength` there), the most conservative of the
    /// versions supported; Node 22 allows more. Past V8's own limit, creating the array is fatal.
    pub const MAX_TYPED_ARRAY_BYTES: u64 = 1 << 32;

    /// What the strings of one selection may cost on V8's heap (estimated by [`string_heap_bytes`]):
    /// V8's heap limit defaults to 2-4 GiB on 64-bit, and exhausting it is fatal ("JavaScript heap out of
    /// memory"), so one read may take at most a quarter of the largest default.
    pub const MAX_JS_STRING_HEAP_BYTES: u64 = 1 << 30;

    /// V8's heap cost of one element of an array (a tagged pointer), all an empty string costs.
    pub const STRING_SLOT_BYTES: u64 = 8;

    /// Rust memory per element of a string buffer (`String`'s handle; the characters come on top).
    pub const STRING_HANDLE_BYTES: u64 = std::mem::size_of::<String>() as u64;

    /// V8's heap cost of a string array: an 8-byte slot per element plus, for each non-empty string, a
    /// sequential string object (a 16-byte header and its characters, two bytes each outside Latin-1,
    /// rounded up to 8). The empty string is one shared object.
    #[must_use]
    pub fn string_heap_bytes<'a>(strings: impl IntoIterator<Item = &'a str>) -> u64 {
        strings.into_iter().fold(0u64, |total, s| {
            let chars = if s.is_empty() {
                0
            } else {
                let width = if s.chars().all(|c| u32::from(c) < 256) {
                    1
                } else {
                    2
                };
                (16 + width * s.chars().count() as u64).next_multiple_of(8)
            };
            total.saturating_add(STRING_SLOT_BYTES + chars)
        })
    }

    /// Why `len` strings costing `heap_bytes` on V8's heap cannot be handed to JavaScript, if they cannot.
    #[must_use]
    pub fn strings_refused(len: u64, heap_bytes: u64) -> Option<String> {
        if len > MAX_JS_ARRAY_LENGTH {
            Some(format!(
                "{len} strings exceed the longest array JavaScript can hold ({MAX_JS_ARRAY_LENGTH} elements); read it in parts"
            ))
        } else if heap_bytes > MAX_JS_STRING_HEAP_BYTES {
            Some(format!(
                "{len} strings would take about {heap_bytes} bytes of the JavaScript heap, more than the {MAX_JS_STRING_HEAP_BYTES} one read may take; read it in parts"
            ))
        } else {
            None
        }
    }

    /// Why `len` numbers of `item_bytes` each cannot be handed to JavaScript as one typed array, if they
    /// cannot.
    #[must_use]
    pub fn numbers_refused(len: u64, item_bytes: u64) -> Option<String> {
        let bytes = len.saturating_mul(item_bytes);
        (bytes > MAX_TYPED_ARRAY_BYTES).then(|| {
            format!(
                "{len} elements of {item_bytes} bytes ({bytes} bytes) exceed the largest typed array JavaScript can hold ({MAX_TYPED_ARRAY_BYTES} bytes); read it in parts"
            )
        })
    }
}

impl TypedData {
    /// Bytes per element as this buffer holds them in Rust (a `String` handle for strings).
    #[must_use]
    pub fn item_bytes(&self) -> u64 {
        fn size<T>(_: &[T]) -> u64 {
            std::mem::size_of::<T>() as u64
        }
        with_typed!(self, v => size(v))
    }

    /// Why this buffer cannot be handed to JavaScript (see [`js_limits`]), if it cannot.
    #[must_use]
    pub fn refused_by_js(&self) -> Option<String> {
        let len = self.len() as u64;
        match self {
            Self::Str(v) => js_limits::strings_refused(
                len,
                js_limits::string_heap_bytes(v.iter().map(String::as_str)),
            ),
            _ => js_limits::numbers_refused(len, self.item_bytes()),
        }
    }
}

/// C-order strides (in elements) of a shape.
#[must_use]
pub fn c_strides(shape: &[u64]) -> Vec<u64> {
    let mut strides = vec![1u64; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// Where [`copy_block`] writes rows: initialised elements, or the spare capacity of an output buffer that
/// is written exactly once (so it need not be zero-filled first).
pub trait BlockTarget<T> {
    /// Writes `row` at element `at`.
    fn put_row(&mut self, at: usize, row: &[T]);
}

impl<T: Clone> BlockTarget<T> for [T] {
    fn put_row(&mut self, at: usize, row: &[T]) {
        self[at..at + row.len()].clone_from_slice(row);
    }
}

impl<T: Copy> BlockTarget<T> for [std::mem::MaybeUninit<T>] {
    fn put_row(&mut self, at: usize, row: &[T]) {
        for (slot, &value) in self[at..at + row.len()].iter_mut().zip(row) {
            slot.write(value);
        }
    }
}

/// Copies a C-ordered block of shape `block_shape` into `out` (C-ordered, shape `out_shape`) at `offset`.
///
/// Runs along the last dimension are copied whole, so the cost is one row copy per row.
pub fn copy_block<T, O: BlockTarget<T> + ?Sized>(
    out: &mut O,
    out_shape: &[u64],
    block: &[T],
    block_shape: &[u64],
    offset: &[u64],
) {
    let ndim = out_shape.len();
    if ndim == 0 {
        if !block.is_empty() {
            out.put_row(0, &block[..1]);
        }
        return;
    }
    let out_strides = c_strides(out_shape);
    let row = block_shape[ndim - 1] as usize;
    if row == 0 {
        return;
    }
    let rows = block.len() / row;
    let mut idx = vec![0u64; ndim - 1];
    for r in 0..rows {
        let mut start = offset[ndim - 1];
        for d in 0..ndim - 1 {
            start += (idx[d] + offset[d]) * out_strides[d];
        }
        out.put_row(start as usize, &block[r * row..(r + 1) * row]);
        // Advance the row index (odometer over all but the last dimension).
        for d in (0..ndim - 1).rev() {
            idx[d] += 1;
            if idx[d] < block_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Copies the box `ranges` out of a C-ordered buffer of shape `shape`.
#[must_use]
pub fn extract_block<T: Clone>(
    src: &[T],
    shape: &[u64],
    ranges: &[std::ops::Range<u64>],
) -> Vec<T> {
    let ndim = shape.len();
    let total: u64 = ranges.iter().map(|r| r.end - r.start).product();
    let mut out = Vec::with_capacity(total as usize);
    if ndim == 0 {
        out.extend(src.first().cloned());
        return out;
    }
    if total == 0 {
        return out;
    }
    let strides = c_strides(shape);
    let row = &ranges[ndim - 1];
    let mut idx: Vec<u64> = ranges[..ndim - 1].iter().map(|r| r.start).collect();
    loop {
        let base: u64 = idx.iter().zip(&strides).map(|(i, s)| i * s).sum::<u64>() + row.start;
        let base = base as usize;
        out.extend_from_slice(&src[base..base + (row.end - row.start) as usize]);
        let mut d = ndim - 1;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < ranges[d].end {
                break;
            }
            idx[d] = ranges[d].start;
        }
    }
}

impl TypedData {
    /// [`extract_block`] on whichever element type this holds.
    #[must_use]
    pub fn extract(&self, shape: &[u64], ranges: &[std::ops::Range<u64>]) -> Self {
        match self {
            Self::I8(v) => Self::I8(extract_block(v, shape, ranges)),
            Self::I16(v) => Self::I16(extract_block(v, shape, ranges)),
            Self::I32(v) => Self::I32(extract_block(v, shape, ranges)),
            Self::I64(v) => Self::I64(extract_block(v, shape, ranges)),
            Self::U8(v) => Self::U8(extract_block(v, shape, ranges)),
            Self::U16(v) => Self::U16(extract_block(v, shape, ranges)),
            Self::U32(v) => Self::U32(extract_block(v, shape, ranges)),
            Self::U64(v) => Self::U64(extract_block(v, shape, ranges)),
            Self::F32(v) => Self::F32(extract_block(v, shape, ranges)),
            Self::F64(v) => Self::F64(extract_block(v, shape, ranges)),
            Self::Str(v) => Self::Str(extract_block(v, shape, ranges)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_limits_refuse_what_v8_cannot_hold() {
        use js_limits::{
            MAX_JS_ARRAY_LENGTH, MAX_JS_STRING_HEAP_BYTES, MAX_TYPED_ARRAY_BYTES, numbers_refused,
            string_heap_bytes, strings_refused,
        };
        // Strings: the array length, then the heap.
        assert_eq!(
            strings_refused(MAX_JS_ARRAY_LENGTH, MAX_JS_ARRAY_LENGTH * 8),
            None
        );
        let long = strings_refused(150_000_000, 0).unwrap();
        assert!(
            long.contains("150000000 strings") && long.contains("67108864"),
            "{long}"
        );
        let heavy = strings_refused(10, MAX_JS_STRING_HEAP_BYTES + 1).unwrap();
        assert!(
            heavy.contains(&MAX_JS_STRING_HEAP_BYTES.to_string()),
            "{heavy}"
        );
        // Numbers: bytes, so the element limit depends on the type.
        assert_eq!(numbers_refused(MAX_TYPED_ARRAY_BYTES / 8, 8), None);
        let big = numbers_refused(MAX_TYPED_ARRAY_BYTES / 8 + 1, 8).unwrap();
        assert!(
            big.contains("4294967304 bytes") && big.contains("4294967296"),
            "{big}"
        );
        assert_eq!(numbers_refused(MAX_TYPED_ARRAY_BYTES, 1), None);
        assert!(numbers_refused(u64::MAX, 8).is_some(), "saturates");
        // V8's heap: an 8-byte slot each, a shared empty string, 16 + characters rounded up to 8,
        // two bytes per character outside Latin-1.
        assert_eq!(string_heap_bytes(["", ""]), 16);
        assert_eq!(string_heap_bytes(["abc"]), 8 + 24);
        assert_eq!(string_heap_bytes(["é".repeat(9).as_str()]), 8 + 32);
        assert_eq!(
            string_heap_bytes(["\u{3b1}\u{3b2}\u{3b3}\u{3b4}\u{3b5}"]),
            8 + 32
        );
        // Buffers: their own check.
        assert_eq!(TypedData::F64(vec![0.0; 4]).refused_by_js(), None);
        assert_eq!(TypedData::Str(vec![String::new(); 4]).refused_by_js(), None);
        assert_eq!(TypedData::U16(Vec::new()).item_bytes(), 2);
        assert_eq!(TypedData::Str(Vec::new()).item_bytes(), 24);
    }

    #[test]
    fn copies_a_block_into_place() {
        let mut out = vec![0; 12]; // 3 x 4
        copy_block(out.as_mut_slice(), &[3, 4], &[1, 2, 3, 4], &[2, 2], &[1, 2]);
        assert_eq!(out, vec![0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4]);
        // Into spare capacity: the same rows land in the same places.
        let mut spare: Vec<i32> = Vec::with_capacity(4);
        copy_block(
            &mut spare.spare_capacity_mut()[..4],
            &[2, 2],
            &[7, 8],
            &[1, 2],
            &[1, 0],
        );
        copy_block(
            &mut spare.spare_capacity_mut()[..4],
            &[2, 2],
            &[5, 6],
            &[1, 2],
            &[0, 0],
        );
        // SAFETY: the two blocks wrote all four elements.
        unsafe { spare.set_len(4) };
        assert_eq!(spare, vec![5, 6, 7, 8]);
        assert_eq!(c_strides(&[2, 3, 4]), vec![12, 4, 1]);
        let src: Vec<i32> = (0..12).collect(); // 3 x 4
        assert_eq!(
            extract_block(&src, &[3, 4], &[1..3, 2..4]),
            vec![6, 7, 10, 11]
        );
        assert_eq!(extract_block(&src, &[3, 4], &[0..3, 1..2]), vec![1, 5, 9]);
    }
}
