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
