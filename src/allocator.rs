//! The addon's global allocator: mimalloc, except for large buffers, which get pages of their own.
//!
//! mimalloc serves a block larger than [`LARGE_BYTES`] from a "huge" segment owned by the allocating
//! thread. When another thread frees it, mimalloc only resets the pages (`MADV_FREE`: they stay in RSS until
//! the kernel runs short of memory) and leaves the segment to its owner, which returns it only when it next
//! collects its heap. A read allocates its chunk and output buffers on tokio and rayon threads, and they are
//! freed elsewhere (the output on the JavaScript thread, by V8's finalizer): RSS grew by the read's size at
//! every full read of large chunks, to gigabytes, with every buffer released (issue 19, item 6). Large
//! buffers are therefore mapped and unmapped directly, so that freeing one on any thread hands its memory
//! back at once; everything smaller, the open's many small objects included, stays with mimalloc.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr;

use mimalloc::MiMalloc;

/// Blocks of this size and more are mapped directly: mimalloc's largest non-huge block (half its 32 MiB
/// segment on 64-bit targets); larger ones are the huge blocks described above.
pub const LARGE_BYTES: usize = 16 << 20;

/// Large mappings are aligned to and sized in this unit, the transparent huge page size of x86-64 and
/// arm64 with 4 KiB pages, so that the kernel can back them with huge pages as mimalloc's segments are
/// (16 times fewer page faults than 4 KiB pages when a fresh buffer is filled).
const MAPPING_UNIT: usize = 2 << 20;

/// mimalloc for small and medium blocks, direct mappings from [`LARGE_BYTES`] on.
pub struct AddonAllocator;

/// Whether a block of `layout` is mapped directly.
fn is_large(layout: Layout) -> bool {
    layout.size() >= LARGE_BYTES && layout.align() <= MAPPING_UNIT
}

/// `bytes` rounded up to whole [`MAPPING_UNIT`]s (`None` past the address space).
fn mapped_len(bytes: usize) -> Option<usize> {
    bytes.checked_next_multiple_of(MAPPING_UNIT)
}

/// Maps `bytes` of fresh zeroed memory aligned to [`MAPPING_UNIT`], or returns null.
fn map(bytes: usize) -> *mut u8 {
    let Some(len) = mapped_len(bytes) else {
        return ptr::null_mut();
    };
    let Some(reserved) = len.checked_add(MAPPING_UNIT) else {
        return ptr::null_mut();
    };
    // SAFETY: an anonymous private mapping at an address of the kernel's choice touches no existing memory.
    let raw = unsafe {
        libc::mmap(
            ptr::null_mut(),
            reserved,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return ptr::null_mut();
    }
    // One unit more than needed was reserved; the unaligned head and the rest of the tail go back.
    let start = raw.cast::<u8>();
    let head = start.align_offset(MAPPING_UNIT);
    // SAFETY: `head < MAPPING_UNIT`, so `start + head .. start + head + len` lies inside the mapping, and
    // the head and tail unmapped here are the mapping's own pages, which nothing references yet.
    unsafe {
        let aligned = start.add(head);
        if head > 0 {
            libc::munmap(start.cast(), head);
        }
        let tail = MAPPING_UNIT - head;
        if tail > 0 {
            libc::munmap(aligned.add(len).cast(), tail);
        }
        advise_huge_pages(aligned, len);
        aligned
    }
}

/// Asks for transparent huge pages where the kernel grants them only on request (as mimalloc does).
///
/// # Safety
/// `start .. start + len` must be a mapping made by [`map`].
#[cfg(target_os = "linux")]
unsafe fn advise_huge_pages(start: *mut u8, len: usize) {
    // SAFETY: per the caller; advice never changes the contents, and a refusal only costs page faults.
    unsafe { libc::madvise(start.cast(), len, libc::MADV_HUGEPAGE) };
}

#[cfg(not(target_os = "linux"))]
unsafe fn advise_huge_pages(_start: *mut u8, _len: usize) {}

/// Unmaps a block of `bytes` made by [`map`].
///
/// # Safety
/// `start` must come from [`map`] with the same `bytes`, and must not be used afterwards.
unsafe fn unmap(start: *mut u8, bytes: usize) {
    if let Some(len) = mapped_len(bytes) {
        // SAFETY: per the caller, the whole mapping is the block's and nothing uses it any more.
        unsafe { libc::munmap(start.cast(), len) };
    }
}

// SAFETY: every block comes from exactly one of two sources, decided by its layout alone (`is_large`), and is
// returned to that source: the caller passes the same layout to `dealloc` as to `alloc`, and `realloc` moves
// a block between the sources by allocating, copying and freeing.
unsafe impl GlobalAlloc for AddonAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(layout) {
            map(layout.size())
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { MiMalloc.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(layout) {
            // Fresh anonymous pages are zero already.
            map(layout.size())
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { MiMalloc.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if is_large(layout) {
            // SAFETY: a large layout's block was mapped by `alloc`, and the caller gives it up.
            unsafe { unmap(block, layout.size()) };
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { MiMalloc.dealloc(block, layout) };
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size`, rounded up to the alignment, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (is_large(layout), is_large(new_layout)) {
            // SAFETY: forwarded with the caller's guarantees; both layouts are mimalloc's.
            (false, false) => unsafe { MiMalloc.realloc(block, layout, new_size) },
            (true, true) if mapped_len(new_size) == mapped_len(layout.size()) => block,
            _ => {
                // SAFETY: `new_layout` has a non-zero size (the caller's guarantee), the copy stays inside
                // both blocks, and the old block is freed with its own layout.
                unsafe {
                    let moved = self.alloc(new_layout);
                    if !moved.is_null() {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                    moved
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_are_mapped_aligned_and_zeroed_and_survive_moves_between_sources() {
        let large = Layout::from_size_align(LARGE_BYTES + 3, 8).unwrap();
        // SAFETY: every block is used inside its size and freed once with its current layout.
        unsafe {
            let block = AddonAllocator.alloc_zeroed(large);
            assert!(!block.is_null());
            assert_eq!(block.align_offset(MAPPING_UNIT), 0);
            assert_eq!(*block.add(LARGE_BYTES + 2), 0);
            *block.add(LARGE_BYTES + 2) = 7;
            *block = 5;
            // Inside the same mapping: the block stays where it is.
            let same = AddonAllocator.realloc(block, large, LARGE_BYTES + 100);
            assert_eq!(same, block);
            assert_eq!(*same.add(LARGE_BYTES + 2), 7);
            let grown_layout = Layout::from_size_align(LARGE_BYTES + 100, 8).unwrap();
            // Down to mimalloc: the prefix moves with it.
            let small = AddonAllocator.realloc(same, grown_layout, 64);
            assert_eq!(*small, 5);
            // And back up to a mapping.
            let again = AddonAllocator.realloc(
                small,
                Layout::from_size_align(64, 8).unwrap(),
                2 * LARGE_BYTES,
            );
            assert_eq!(*again, 5);
            assert_eq!(again.align_offset(MAPPING_UNIT), 0);
            AddonAllocator.dealloc(again, Layout::from_size_align(2 * LARGE_BYTES, 8).unwrap());
        }
    }

    #[test]
    fn only_large_blocks_of_ordinary_alignment_are_mapped() {
        assert!(!is_large(
            Layout::from_size_align(LARGE_BYTES - 1, 8).unwrap()
        ));
        assert!(is_large(Layout::from_size_align(LARGE_BYTES, 8).unwrap()));
        assert!(!is_large(
            Layout::from_size_align(LARGE_BYTES, 2 * MAPPING_UNIT).unwrap()
        ));
        assert_eq!(mapped_len(1), Some(MAPPING_UNIT));
        assert_eq!(mapped_len(usize::MAX), None);
    }
}
