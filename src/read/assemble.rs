//! A read's output, assembled from its chunks' pieces: the read path's only unsafe code.
//!
//! [`Assembly`] builds the C-ordered buffer of a selection's `elements` values, one way for every read:
//! - A piece whose place is the whole output (a selection within one chunk) becomes the output as it is:
//!   no buffer to allocate and fill, no copy.
//! - Otherwise the output is one buffer. Before the chunk tasks start, [`Assembly::prepare_runs`]
//!   allocates it zero-filled and [`Assembly::run_slot`] hands each task that decodes a whole chunk
//!   straight into the output its own run of it ([`RunSlot`]); the reader copies every other piece in,
//!   row by row, as it arrives ([`Assembly::add_piece`]), into a buffer reserved at the first piece
//!   when no run was handed out, beside the tasks still writing their runs when one was.
//! - [`Assembly::finish`] hands the buffer over once every element has been written.
//!
//! # Invariants
//! 1. In bounds: a run is checked against the output when its slot is handed out, a piece's place when
//!    the piece arrives (`ERR_INTERNAL` otherwise). A piece holds exactly its place's elements
//!    (`ERR_DECODE` otherwise: a chunk that decodes to the wrong size is bad data from the store) and is of
//!    the output's type (`ERR_INTERNAL` otherwise), so every row written lies inside the buffer.
//! 2. Disjoint: run slots are handed out in increasing order, each starting at or after the end of the
//!    one before (checked), and a slot is written only through itself; a piece is added only for a chunk
//!    that has no slot, and the plan's places tile the output ([`super::plan`]: unit-tested, fuzzed by
//!    `selection_plan`), so no two writers ever touch the same element and the reader never writes
//!    where a task does.
//! 3. Initialised before it is read: a slot hands out bytes only of the zero-filled buffer; the reserved
//!    buffer is written only through raw pointers, never read, and gets its length once every element
//!    has been written: [`Assembly::finish`] checks that the writes add up to `elements` (with 1. and 2.,
//!    every element exactly once; the unit tests count every element's writes).
//! 4. Alive while written: slots share the buffer by `Arc`, so a cancelled read frees it only after its
//!    last task has stopped writing; the reader takes it back only when no slot is left.

use std::mem::Discriminant;
use std::sync::Arc;

use super::direct;
use super::plan::{Place, Run};
use crate::dtype::Dtype;
use crate::error::{Result, RtError};
use crate::typed::{BlockTarget, TypedData, copy_block};

/// A decoded piece of the output and where it lands.
pub(super) struct Piece {
    /// The values, C-ordered, of the place's shape.
    pub data: TypedData,
    /// Where they land in the output.
    pub place: Place,
}

/// A read's output while its pieces arrive (see the module docs).
pub(super) struct Assembly {
    path: String,
    out_shape: Vec<u64>,
    elements: usize,
    output: Output,
    /// Elements written so far, by pieces and filled runs.
    written: usize,
    /// The end of the last run handed out: the next one starts at or after it.
    runs_end: usize,
}

enum Output {
    /// Nothing yet: no piece has arrived and no run was handed out.
    Pending,
    /// A piece whose place is the whole output, as it is.
    Whole(TypedData),
    /// Numbers, written in place by the reader and the tasks.
    Numbers(Arc<Buffer>),
    /// Strings: filled with empty ones, then the pieces' cloned in.
    Strings(Vec<String>),
}

impl Assembly {
    /// The assembly of a selection of shape `out_shape` (`elements` values) of the array at `path`.
    pub(super) fn new(path: &str, out_shape: &[u64], elements: usize) -> Self {
        Self {
            path: path.to_owned(),
            out_shape: out_shape.to_vec(),
            elements,
            output: Output::Pending,
            written: 0,
            runs_end: 0,
        }
    }

    /// Allocates the output zero-filled, as `dtype` decodes directly ([`direct::zeroed`]), so that chunk
    /// tasks can decode into runs of it: before any [`Assembly::run_slot`].
    ///
    /// # Errors
    /// `ERR_INVALID_SELECTION` when the memory cannot be had; `ERR_INTERNAL` when the output is not new or
    /// `dtype` is not decoded directly.
    pub(super) fn prepare_runs(&mut self, dtype: Dtype) -> Result<()> {
        if !matches!(self.output, Output::Pending) {
            return Err(self.internal("an output prepared for runs after a piece arrived"));
        }
        if direct::zeroed(dtype, 0).is_none() {
            return Err(self.internal(&format!("runs of {dtype:?}, which is not decoded directly")));
        }
        let data = direct::zeroed(dtype, self.elements).ok_or_else(|| self.too_large())?;
        self.output = Output::Numbers(Arc::new(Buffer::new(data, true)));
        Ok(())
    }

    /// The run `run` of the output, for the one chunk task that decodes into it.
    ///
    /// # Errors
    /// `ERR_INTERNAL` when the output was not prepared for runs, or the run lies outside it or before the
    /// end of one handed out already.
    pub(super) fn run_slot(&mut self, run: Run) -> Result<RunSlot> {
        let Output::Numbers(buffer) = &self.output else {
            return Err(self.internal("a run of an output not prepared for runs"));
        };
        if !buffer.zeroed {
            return Err(self.internal("a run of an output not prepared for runs"));
        }
        let end = run
            .at
            .checked_add(run.len)
            .filter(|&end| end <= self.elements && run.at >= self.runs_end)
            .ok_or_else(|| self.outside())?;
        let slot = RunSlot {
            buffer: Arc::clone(buffer),
            run,
        };
        self.runs_end = end;
        Ok(slot)
    }

    /// Counts a run its task filled.
    // By value: a filled run is counted once.
    #[allow(clippy::needless_pass_by_value)]
    pub(super) fn add_run(&mut self, filled: FilledRun) {
        let FilledRun { len } = filled;
        self.written += len;
    }

    /// Copies `piece` into its place (or, when its place is the whole output and nothing else was written,
    /// takes it as the output).
    ///
    /// # Errors
    /// `ERR_DECODE` for a piece of another size than its place; `ERR_INTERNAL` for a place outside the
    /// output or a piece of another type than the output's; `ERR_INVALID_SELECTION` when the output's
    /// memory cannot be had.
    pub(super) fn add_piece(&mut self, piece: Piece) -> Result<()> {
        let Piece { data, place } = piece;
        let expected = place.elements();
        if data.len() as u64 != expected {
            return Err(RtError::Decode(format!(
                "array {:?}: a chunk decoded to {} elements, expected {expected}",
                self.path,
                data.len()
            )));
        }
        if !self.inside(&place) {
            return Err(self.outside());
        }
        let len = data.len();
        if matches!(self.output, Output::Pending) {
            if place.shape == self.out_shape {
                self.output = Output::Whole(data);
                self.written = len;
                return Ok(());
            }
            self.output = self.reserve_like(&data)?;
        }
        let Self {
            output, out_shape, ..
        } = self;
        let placed = match (output, &data) {
            (Output::Numbers(buffer), _) => {
                // SAFETY: the piece is added for a chunk without a run slot, and its place is its own
                // (the plan's places tile the output): no other writer touches these elements.
                unsafe { buffer.write_block(out_shape, &data, &place) }
            }
            (Output::Strings(out), TypedData::Str(values)) => {
                copy_block(
                    out.as_mut_slice(),
                    out_shape,
                    values,
                    &place.shape,
                    &place.offset,
                );
                true
            }
            _ => false,
        };
        if !placed {
            return Err(self.internal(&format!(
                "chunk pieces of one read decoded to different types ({len} elements)"
            )));
        }
        self.written += len;
        Ok(())
    }

    /// The output, once every element has been written.
    ///
    /// # Errors
    /// `ERR_INTERNAL` when the pieces do not add up to the output, or a run slot is still alive.
    pub(super) fn finish(self) -> Result<TypedData> {
        if self.written != self.elements {
            return Err(RtError::Internal(format!(
                "a read assembled {} of {} elements",
                self.written, self.elements
            )));
        }
        match self.output {
            Output::Pending => Err(RtError::Internal(format!(
                "a read of {:?} assembled nothing",
                self.path
            ))),
            Output::Whole(data) => Ok(data),
            Output::Strings(values) => Ok(TypedData::Str(values)),
            Output::Numbers(buffer) => {
                let buffer = Arc::try_unwrap(buffer).map_err(|_| {
                    RtError::Internal(format!("a read of {:?} outlived its tasks", self.path))
                })?;
                #[cfg(test)]
                buffer.check_ledger()?;
                // SAFETY: `written == elements`: every element has been written (invariants 1 to 3),
                // and no slot is left (the `Arc` was the last).
                Ok(unsafe { buffer.into_data() })
            }
        }
    }

    /// A buffer for `elements` values of `like`'s type: numbers reserved but not initialised (the pieces
    /// write every element once: no zero fill, which cost about 4% of a local read), strings filled with
    /// empty ones.
    fn reserve_like(&self, like: &TypedData) -> Result<Output> {
        let n = self.elements;
        if let TypedData::Str(_) = like {
            let mut values = Vec::new();
            values.try_reserve_exact(n).map_err(|_| self.too_large())?;
            values.resize(n, String::new());
            return Ok(Output::Strings(values));
        }
        let data = reserved_like(like, n).ok_or_else(|| self.too_large())?;
        Ok(Output::Numbers(Arc::new(Buffer::new(data, false))))
    }

    /// Whether `place` lies inside the output.
    fn inside(&self, place: &Place) -> bool {
        let rank = self.out_shape.len();
        place.shape.len() == rank
            && place.offset.len() == rank
            && (0..rank).all(|d| {
                place.offset[d]
                    .checked_add(place.shape[d])
                    .is_some_and(|end| end <= self.out_shape[d])
            })
    }

    fn internal(&self, what: &str) -> RtError {
        RtError::Internal(format!("array {:?}: {what}", self.path))
    }

    fn outside(&self) -> RtError {
        self.internal("a chunk's place lies outside the output")
    }

    fn too_large(&self) -> RtError {
        RtError::InvalidSelection(format!(
            "array {:?}: a selection of {} elements does not fit in memory",
            self.path, self.elements
        ))
    }
}

/// An empty vector of `like`'s numeric type with room for exactly `n` elements; `None` for strings, or
/// when the memory cannot be had.
fn reserved_like(like: &TypedData, n: usize) -> Option<TypedData> {
    fn reserved<T>(n: usize) -> Option<Vec<T>> {
        let mut v = Vec::new();
        v.try_reserve_exact(n).ok()?;
        Some(v)
    }
    Some(match like {
        TypedData::I8(_) => TypedData::I8(reserved(n)?),
        TypedData::I16(_) => TypedData::I16(reserved(n)?),
        TypedData::I32(_) => TypedData::I32(reserved(n)?),
        TypedData::I64(_) => TypedData::I64(reserved(n)?),
        TypedData::U8(_) => TypedData::U8(reserved(n)?),
        TypedData::U16(_) => TypedData::U16(reserved(n)?),
        TypedData::U32(_) => TypedData::U32(reserved(n)?),
        TypedData::U64(_) => TypedData::U64(reserved(n)?),
        TypedData::F32(_) => TypedData::F32(reserved(n)?),
        TypedData::F64(_) => TypedData::F64(reserved(n)?),
        TypedData::Str(_) => return None,
    })
}

/// One run of the output, for the one chunk task that fills it: decoded straight into
/// [`RunSlot::bytes`], or copied in by [`RunSlot::write`].
pub(super) struct RunSlot {
    buffer: Arc<Buffer>,
    run: Run,
}

/// A run its task has filled, for [`Assembly::add_run`].
#[derive(Debug)]
pub(super) struct FilledRun {
    len: usize,
}

impl RunSlot {
    /// The run's bytes, for a decoder that fills all of them.
    pub(super) fn bytes(&mut self) -> &mut [u8] {
        let Run { at, len } = self.run;
        let item = self.buffer.item_size;
        // SAFETY: in bounds of the buffer (checked by `Assembly::run_slot`), which is zero-filled
        // (slots exist only of a buffer prepared for runs) and kept alive by `self.buffer`; exclusive,
        // as this slot is the only writer of its run (invariant 2) and the borrow of `self` keeps this
        // slice the only one of it.
        unsafe { std::slice::from_raw_parts_mut(self.buffer.base.add(at * item), len * item) }
    }

    /// The run, filled by a decoder through [`RunSlot::bytes`].
    pub(super) fn filled(self) -> FilledRun {
        self.buffer.record(self.run.at, self.run.len);
        FilledRun { len: self.run.len }
    }

    /// Copies `values` (the run's values, decoded elsewhere: a fill value) into the run.
    ///
    /// # Errors
    /// `ERR_DECODE` for values of another size than the run; `ERR_INTERNAL` for another type than the
    /// output's.
    pub(super) fn write(self, values: &TypedData, path: &str) -> Result<FilledRun> {
        if std::mem::discriminant(values) != self.buffer.kind {
            return Err(RtError::Internal(format!(
                "array {path:?}: chunk pieces of one read decoded to different types ({} elements)",
                values.len()
            )));
        }
        if values.len() != self.run.len {
            return Err(RtError::Decode(format!(
                "array {path:?}: a chunk decoded to {} elements, expected {}",
                values.len(),
                self.run.len
            )));
        }
        let Run { at, len } = self.run;
        let line = [self.buffer.elements as u64];
        let place = Place {
            offset: vec![at as u64],
            shape: vec![len as u64],
        };
        // SAFETY: the run, seen as one row of the buffer, lies inside it (checked by
        // `Assembly::run_slot`) and `values` holds exactly its elements (checked above); this slot is
        // the run's only writer (invariant 2).
        let written = unsafe { self.buffer.write_block(&line, values, &place) };
        debug_assert!(written, "the type was checked above");
        Ok(FilledRun { len })
    }
}

/// `elements` numbers of one type in one heap block, written in place by several writers at once (the
/// reader and the run slots) and handed over as a [`TypedData`] once full.
struct Buffer {
    /// Owns the heap block. Its vector is `elements` long when `zeroed`, else empty (with room for
    /// `elements`) until [`Buffer::into_data`]; it is not touched while shared (writes go through
    /// `base`).
    data: TypedData,
    /// The heap block's first byte.
    base: *mut u8,
    /// `data`'s variant, for type checks without touching `data`.
    kind: Discriminant<TypedData>,
    item_size: usize,
    elements: usize,
    /// Whether the block is zero-filled (prepared for runs), or only reserved.
    zeroed: bool,
    /// How often each element was written (tests only: invariant 3's "exactly once").
    #[cfg(test)]
    ledger: std::sync::Mutex<Vec<u32>>,
}

// SAFETY: `base` points into `data`'s heap block, owned by this value. Writers on several threads each
// write only their own elements (invariant 2), and `data` is touched only by `into_data`, which owns the
// buffer (no writer is left).
unsafe impl Send for Buffer {}
// SAFETY: as for `Send`.
unsafe impl Sync for Buffer {}

impl Buffer {
    /// The buffer over `data` (numbers), `elements` long if `zeroed`, else empty with room for the
    /// elements it will hold.
    fn new(mut data: TypedData, zeroed: bool) -> Self {
        fn item_of<T>(_: &[T]) -> usize {
            std::mem::size_of::<T>()
        }
        let kind = std::mem::discriminant(&data);
        let (base, item_size, elements) = crate::with_typed!(&mut data, v => {
            let elements = if zeroed { v.len() } else { v.capacity() };
            (v.as_mut_ptr().cast::<u8>(), item_of(v), elements)
        });
        Self {
            data,
            base,
            kind,
            item_size,
            elements,
            zeroed,
            #[cfg(test)]
            ledger: std::sync::Mutex::new(vec![0; elements]),
        }
    }

    /// Copies `piece` (C-ordered, of `place`'s shape) into `place` of an output of shape `out_shape`, row
    /// by row; `false` when the piece is not of the buffer's type.
    ///
    /// # Safety
    /// `place` lies inside the output and `piece` holds exactly its elements (checked by
    /// `Assembly::add_piece`), and no other writer touches the elements of `place` while this runs.
    unsafe fn write_block(&self, out_shape: &[u64], piece: &TypedData, place: &Place) -> bool {
        if std::mem::discriminant(piece) != self.kind {
            return false;
        }
        let rows = &mut Rows(self);
        let Place { offset, shape } = place;
        match piece {
            TypedData::I8(p) => copy_block(rows, out_shape, p, shape, offset),
            TypedData::I16(p) => copy_block(rows, out_shape, p, shape, offset),
            TypedData::I32(p) => copy_block(rows, out_shape, p, shape, offset),
            TypedData::I64(p) => copy_block(rows, out_shape, p, shape, offset),
            TypedData::U8(p) => copy_block(rows, out_shape, p, shape, offset),
            TypedData::U16(p) => copy_block(rows, out_shape, p, shape, offset),
            TypedData::U32(p) => copy_block(rows, out_shape, p, shape, offset),
            TypedData::U64(p) => copy_block(rows, out_shape, p, shape, offset),
            TypedData::F32(p) => copy_block(rows, out_shape, p, shape, offset),
            TypedData::F64(p) => copy_block(rows, out_shape, p, shape, offset),
            // Never a buffer's type: `Buffer::new` takes numbers only.
            TypedData::Str(_) => return false,
        }
        true
    }

    /// Notes that elements `[at, at + len)` were written (tests only).
    #[cfg_attr(not(test), allow(clippy::unused_self))]
    fn record(&self, at: usize, len: usize) {
        #[cfg(test)]
        for count in &mut self.ledger.lock().expect("ledger")[at..at + len] {
            *count += 1;
        }
        #[cfg(not(test))]
        let _ = (at, len);
    }

    /// Every element written exactly once (tests only).
    #[cfg(test)]
    fn check_ledger(&self) -> Result<()> {
        let ledger = self.ledger.lock().expect("ledger");
        match ledger.iter().position(|&n| n != 1) {
            None => Ok(()),
            Some(i) => Err(RtError::Internal(format!(
                "element {i} was written {} times",
                ledger[i]
            ))),
        }
    }

    /// The full buffer.
    ///
    /// # Safety
    /// Every one of its `elements` elements has been written.
    unsafe fn into_data(self) -> TypedData {
        let Self {
            mut data,
            zeroed,
            elements,
            ..
        } = self;
        if !zeroed {
            crate::with_typed!(&mut data, v => {
                // SAFETY: the vector has room for `elements` (reserved by `reserved_like`), all of which
                // have been written (the caller's promise).
                unsafe { v.set_len(elements) }
            });
        }
        data
    }
}

/// [`copy_block`]'s rows into a [`Buffer`], for [`Buffer::write_block`].
struct Rows<'a>(&'a Buffer);

impl<T: Copy> BlockTarget<T> for Rows<'_> {
    fn put_row(&mut self, at: usize, row: &[T]) {
        let buffer = self.0;
        assert!(
            at.checked_add(row.len())
                .is_some_and(|end| end <= buffer.elements),
            "rows of a checked place lie inside the output"
        );
        // SAFETY: `T` is the buffer's element type (`write_block` checked the variant), so `base` is
        // aligned for it; the row lies inside the block (asserted above); no other writer touches it
        // (`write_block`'s contract); the source is a distinct allocation (a piece), so they do not
        // overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(row.as_ptr(), buffer.base.cast::<T>().add(at), row.len());
        }
        buffer.record(at, row.len());
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan::{ChunkRead, plan_chunk_reads, plan_selection};
    use super::*;

    /// The planned reads of `[start, stop)` of an array of `shape` in chunks of `chunks`.
    fn plan(
        shape: &[u64],
        chunks: &[u64],
        start: &[u64],
        stop: &[u64],
        runs: bool,
    ) -> (Vec<u64>, usize, Vec<ChunkRead>) {
        let selection = plan_selection("/a", shape, chunks, start, stop).unwrap();
        let reads = plan_chunk_reads(&selection, chunks, start, stop, runs);
        let elements = usize::try_from(selection.total).unwrap();
        (selection.out_shape, elements, reads)
    }

    /// The output element number of every element of `place`, C-ordered: a piece whose values are
    /// these assembles to `0, 1, 2, ...`.
    fn numbered(out_shape: &[u64], place: &Place) -> Vec<f32> {
        let strides = crate::typed::c_strides(out_shape);
        let mut cells = vec![0u64];
        for ((&stride, &offset), &len) in strides.iter().zip(&place.offset).zip(&place.shape) {
            cells = cells
                .iter()
                .flat_map(|&base| (0..len).map(move |i| base + (offset + i) * stride))
                .collect();
        }
        cells.into_iter().map(|c| c as f32).collect()
    }

    fn counting(elements: usize) -> TypedData {
        TypedData::F32((0..elements).map(|i| i as f32).collect())
    }

    fn piece(out_shape: &[u64], place: &Place) -> Piece {
        Piece {
            data: TypedData::F32(numbered(out_shape, place)),
            place: place.clone(),
        }
    }

    #[test]
    fn pieces_in_any_order_fill_the_output_exactly_once() {
        // Edge chunks along both dimensions, a selection starting inside a chunk.
        let (out_shape, elements, reads) = plan(&[5, 7], &[2, 3], &[1, 1], &[5, 7], false);
        let mut assembly = Assembly::new("/a", &out_shape, elements);
        for read in reads.iter().rev() {
            assembly
                .add_piece(piece(&out_shape, &read.piece.place))
                .unwrap();
        }
        // `finish` checks (in tests) that every element was written exactly once.
        assert_eq!(assembly.finish().unwrap(), counting(elements));
    }

    #[test]
    fn every_rank_assembles() {
        for (shape, chunks) in [
            (vec![9], vec![4]),
            (vec![3, 4, 5], vec![2, 3, 2]),
            (vec![2, 3, 2, 3], vec![1, 2, 2, 2]),
            (vec![2, 2, 3, 2, 3], vec![1, 2, 2, 1, 2]),
        ] {
            let start = vec![0; shape.len()];
            let (out_shape, elements, reads) = plan(&shape, &chunks, &start, &shape, false);
            let mut assembly = Assembly::new("/a", &out_shape, elements);
            for read in &reads {
                assembly
                    .add_piece(piece(&out_shape, &read.piece.place))
                    .unwrap();
            }
            assert_eq!(assembly.finish().unwrap(), counting(elements), "{shape:?}");
        }
    }

    #[test]
    fn a_piece_covering_the_output_is_taken_as_it_is() {
        let (out_shape, elements, reads) = plan(&[4, 6], &[4, 6], &[1, 2], &[3, 5], true);
        assert_eq!(reads.len(), 1);
        let mut assembly = Assembly::new("/a", &out_shape, elements);
        let piece = piece(&out_shape, &reads[0].piece.place);
        let TypedData::F32(values) = &piece.data else {
            unreachable!()
        };
        let address = values.as_ptr();
        assembly.add_piece(piece).unwrap();
        match assembly.finish().unwrap() {
            TypedData::F32(v) => {
                assert_eq!(v.as_ptr(), address, "no copy");
                assert_eq!(v, (0..6).map(|i| i as f32).collect::<Vec<_>>());
            }
            other => panic!("{other:?}"),
        }
        // A 0-d read: one element, the whole output.
        let mut assembly = Assembly::new("/a", &[], 1);
        let place = Place {
            offset: vec![],
            shape: vec![],
        };
        let data = TypedData::I64(vec![7]);
        assembly.add_piece(Piece { data, place }).unwrap();
        assert_eq!(assembly.finish().unwrap(), TypedData::I64(vec![7]));
    }

    #[test]
    fn runs_and_pieces_share_one_output() {
        // Whole chunks of 2 x 3 x 4 are runs; the last chunk is cut by the array's end: a piece.
        let (out_shape, elements, reads) = plan(&[5, 3, 4], &[2, 3, 4], &[0; 3], &[5, 3, 4], true);
        let runs: Vec<_> = reads.iter().filter_map(|r| r.run).collect();
        assert_eq!(runs, vec![Run { at: 0, len: 24 }, Run { at: 24, len: 24 }]);
        let mut assembly = Assembly::new("/a", &out_shape, elements);
        assembly.prepare_runs(Dtype::Float32).unwrap();
        let mut slots: Vec<_> = runs
            .iter()
            .map(|&r| assembly.run_slot(r).unwrap())
            .collect();
        let copied = slots.pop().unwrap();
        let mut decoded = slots.pop().unwrap();
        let filled = std::thread::scope(|scope| {
            // One run decoded on a thread of its own, as a chunk task decodes straight into it; one
            // copied in (a chunk never written: its fill value); the edge piece placed meanwhile.
            let decoding = scope.spawn(move || {
                let values: Vec<f32> = (0..24).map(|i| i as f32).collect();
                decoded
                    .bytes()
                    .copy_from_slice(bytemuck::cast_slice(&values));
                decoded.filled()
            });
            let copying = scope.spawn(move || {
                copied
                    .write(&TypedData::F32((24..48).map(|i| i as f32).collect()), "/a")
                    .unwrap()
            });
            let edge = reads.iter().find(|r| r.run.is_none()).unwrap();
            assembly
                .add_piece(piece(&out_shape, &edge.piece.place))
                .unwrap();
            [decoding.join().unwrap(), copying.join().unwrap()]
        });
        for run in filled {
            assembly.add_run(run);
        }
        assert_eq!(assembly.finish().unwrap(), counting(elements));
    }

    #[test]
    fn a_piece_of_the_wrong_size_is_a_decode_error_on_every_path() {
        let place = Place {
            offset: vec![1, 1],
            shape: vec![2, 2],
        };
        let three = || TypedData::F32(vec![1.0, 2.0, 3.0]);
        let check = |e: RtError| {
            assert_eq!(e.code(), "ERR_DECODE", "{}", e.message());
            assert_eq!(
                e.message(),
                "array \"/a\": a chunk decoded to 3 elements, expected 4"
            );
        };
        let add_three = |assembly: &mut Assembly, place: &Place| {
            check(
                assembly
                    .add_piece(Piece {
                        data: three(),
                        place: place.clone(),
                    })
                    .unwrap_err(),
            );
        };
        // Copied into a reserved output.
        add_three(&mut Assembly::new("/a", &[3, 4], 12), &place);
        // Copied into an output shared with runs.
        let mut assembly = Assembly::new("/a", &[3, 4], 12);
        assembly.prepare_runs(Dtype::Float32).unwrap();
        add_three(&mut assembly, &place);
        // Taken as the whole output.
        let whole = Place {
            offset: vec![0, 0],
            shape: vec![2, 2],
        };
        add_three(&mut Assembly::new("/a", &[2, 2], 4), &whole);
        // Copied into a run.
        let mut assembly = Assembly::new("/a", &[3, 4], 12);
        assembly.prepare_runs(Dtype::Float32).unwrap();
        let slot = assembly.run_slot(Run { at: 4, len: 4 }).unwrap();
        check(slot.write(&three(), "/a").unwrap_err());
    }

    #[test]
    fn places_outside_and_other_types_are_internal_errors() {
        let mut assembly = Assembly::new("/a", &[3, 4], 12);
        let outside = Place {
            offset: vec![2, 3],
            shape: vec![2, 2],
        };
        let data = TypedData::I32(vec![0; 4]);
        let e = assembly
            .add_piece(Piece {
                data,
                place: outside,
            })
            .unwrap_err();
        assert_eq!(e.code(), "ERR_INTERNAL");
        assert!(
            e.message().contains("outside the output"),
            "{}",
            e.message()
        );
        let at = |offset: &[u64]| Place {
            offset: offset.to_vec(),
            shape: vec![1, 4],
        };
        let data = TypedData::I32(vec![0; 4]);
        assembly
            .add_piece(Piece {
                data,
                place: at(&[0, 0]),
            })
            .unwrap();
        let data = TypedData::F64(vec![0.0; 4]);
        let e = assembly
            .add_piece(Piece {
                data,
                place: at(&[1, 0]),
            })
            .unwrap_err();
        assert_eq!(e.code(), "ERR_INTERNAL");
        assert!(e.message().contains("different types"), "{}", e.message());
        // A run copied from another type.
        let mut assembly = Assembly::new("/a", &[3, 4], 12);
        assembly.prepare_runs(Dtype::Int32).unwrap();
        let slot = assembly.run_slot(Run { at: 0, len: 4 }).unwrap();
        let e = slot.write(&TypedData::F32(vec![0.0; 4]), "/a").unwrap_err();
        assert_eq!(e.code(), "ERR_INTERNAL");
    }

    #[test]
    fn runs_lie_inside_the_output_in_increasing_order() {
        let code = |r: Result<RunSlot>| r.err().map(|e| e.code());
        let mut assembly = Assembly::new("/a", &[12], 12);
        // Not prepared for runs.
        assert_eq!(
            code(assembly.run_slot(Run { at: 0, len: 4 })),
            Some("ERR_INTERNAL")
        );
        assembly.prepare_runs(Dtype::UInt16).unwrap();
        assert_eq!(
            code(assembly.run_slot(Run { at: 10, len: 4 })),
            Some("ERR_INTERNAL")
        );
        assert_eq!(
            code(assembly.run_slot(Run {
                at: usize::MAX,
                len: 2
            })),
            Some("ERR_INTERNAL")
        );
        assert_eq!(code(assembly.run_slot(Run { at: 4, len: 4 })), None);
        // Overlapping the last one, or before it.
        assert_eq!(
            code(assembly.run_slot(Run { at: 6, len: 4 })),
            Some("ERR_INTERNAL")
        );
        assert_eq!(
            code(assembly.run_slot(Run { at: 0, len: 4 })),
            Some("ERR_INTERNAL")
        );
        assert_eq!(code(assembly.run_slot(Run { at: 8, len: 4 })), None);
        // Strings and other types not decoded directly have no buffer for runs.
        let mut strings = Assembly::new("/s", &[3], 3);
        assert_eq!(
            strings.prepare_runs(Dtype::String).unwrap_err().code(),
            "ERR_INTERNAL"
        );
    }

    #[test]
    fn missing_and_repeated_writes_are_caught() {
        let row = |r: u64| Place {
            offset: vec![r, 0],
            shape: vec![1, 3],
        };
        let data = || TypedData::U8(vec![1, 2, 3]);
        // A row missing: the writes do not add up.
        let mut assembly = Assembly::new("/a", &[2, 3], 6);
        assembly
            .add_piece(Piece {
                data: data(),
                place: row(0),
            })
            .unwrap();
        let e = assembly.finish().unwrap_err();
        assert_eq!(e.code(), "ERR_INTERNAL");
        assert_eq!(e.message(), "a read assembled 3 of 6 elements");
        // One row twice and the other never: the count adds up, and the test build's ledger names the
        // first element not written exactly once (a plan whose places overlapped would hand over memory
        // never written).
        let mut assembly = Assembly::new("/a", &[2, 3], 6);
        for _ in 0..2 {
            assembly
                .add_piece(Piece {
                    data: data(),
                    place: row(1),
                })
                .unwrap();
        }
        let e = assembly.finish().unwrap_err();
        assert_eq!(e.message(), "element 0 was written 0 times");
        // A run slot still alive: its run never arrived.
        let mut assembly = Assembly::new("/a", &[6], 6);
        assembly.prepare_runs(Dtype::UInt8).unwrap();
        let slot = assembly.run_slot(Run { at: 0, len: 6 }).unwrap();
        assert_eq!(assembly.finish().unwrap_err().code(), "ERR_INTERNAL");
        drop(slot);
    }

    #[test]
    fn strings_are_assembled_by_the_same_rules() {
        let mut assembly = Assembly::new("/s", &[2, 2], 4);
        let column = |c: u64, values: [&str; 2]| Piece {
            data: TypedData::Str(values.iter().map(|&v| v.to_owned()).collect()),
            place: Place {
                offset: vec![0, c],
                shape: vec![2, 1],
            },
        };
        assembly.add_piece(column(1, ["b", "d"])).unwrap();
        assembly.add_piece(column(0, ["a", "c"])).unwrap();
        let expected = ["a", "b", "c", "d"].map(str::to_owned).to_vec();
        assert_eq!(assembly.finish().unwrap(), TypedData::Str(expected));
        let mut assembly = Assembly::new("/s", &[2, 2], 4);
        assembly.add_piece(column(0, ["a", "c"])).unwrap();
        let wrong = Piece {
            data: TypedData::Str(vec!["x".into()]),
            place: Place {
                offset: vec![0, 1],
                shape: vec![2, 1],
            },
        };
        assert_eq!(assembly.add_piece(wrong).unwrap_err().code(), "ERR_DECODE");
    }
}
