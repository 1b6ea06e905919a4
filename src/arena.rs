//! A memory allocator for short-lived processes: the `pinns` binary's.
//!
//! A pin allocates a few hundred small blocks (clap's argument table and
//! matches, paths) and frees most of them, all within a millisecond, then
//! exits. glibc's malloc spends ~130 instructions a call on bookkeeping
//! such a process never profits from: about a third of a pin's user-space
//! instructions. [`Arena`] serves blocks from two fixed regions in `.bss`
//! instead, a few instructions a call:
//!
//! - small blocks (up to 2 KiB): one free list per power-of-two size class,
//!   refilled by bumping a pointer. Freed blocks are reused by their class,
//!   so a long `pinns list` keeps its footprint;
//! - bigger blocks: bumped, and the last one grows in place. They are
//!   mostly vectors growing (clap's table of arguments doubles four times
//!   while it is built), which then take neither copies nor fresh pages
//!   for every doubling, as they would from malloc.
//!
//! Whatever does not fit (stricter alignment, a region exhausted) goes to
//! the system allocator as before. Pages of the regions cost nothing until
//! touched; fewer are touched than of malloc's heap.
//!
//! Only one thread uses the region, the first to allocate (the main
//! thread, before any other exists); others go straight to the system
//! allocator, so there are no locks, and a child forked by any thread finds
//! the region as consistent as its parent left it. A block of the region
//! freed by another thread is left unused (never the case in `pinns`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The smallest block: 16 bytes, which is also the alignment every block
/// of the region has (`malloc`'s).
const MIN_SHIFT: u32 = 4;
/// Size classes 16 B, 32 B, … 2 KiB.
const CLASSES: usize = 8;
/// The small blocks' region. A pin or unpin uses ~20 KiB of it.
const REGION: usize = 256 * 1024;
/// The bigger blocks' region. A pin or unpin uses ~20 KiB of it.
const LARGE: usize = 256 * 1024;
/// `large_last` when no block of the large region can grow in place (an
/// offset plus one is stored: all of [`Arena::new`] is zeros, so that the
/// static lands in `.bss` rather than in the binary's file).
const NONE: usize = 0;

/// A global allocator: a region for the owning thread's small blocks,
/// the system allocator for everything else. See the module documentation.
pub struct Arena {
    /// The owning thread's token (see [`thread_token`]); 0 until claimed.
    owner: AtomicUsize,
    state: UnsafeCell<State>,
}

/// `repr(C)`: the bookkeeping first, on the page the first small blocks
/// use too, then the regions, 16-byte aligned.
#[repr(C, align(16))]
struct State {
    /// Offset of the first never-used byte of `region`.
    next: usize,
    /// Per class, the first free block; each free block holds the next.
    free: [*mut u8; CLASSES],
    /// Offset of the first unused byte of `large`.
    large_next: usize,
    /// One more than the offset of the last block of `large`, the one that
    /// can grow in place; [`NONE`] if none can.
    large_last: usize,
    _align: usize,
    region: [u8; REGION],
    large: [u8; LARGE],
}

const _: () = assert!(std::mem::offset_of!(State, region) % (1 << MIN_SHIFT) == 0);
const _: () = assert!(REGION % (1 << MIN_SHIFT) == 0);

// SAFETY: `state` is only touched by the owning thread (`owned`), so it is
// never accessed concurrently; `owner` is atomic.
unsafe impl Sync for Arena {}

impl Arena {
    /// An empty arena, for a `#[global_allocator]` static (it lives in
    /// `.bss`: its pages cost nothing until used).
    pub const fn new() -> Arena {
        Arena {
            owner: AtomicUsize::new(0),
            state: UnsafeCell::new(State {
                next: 0,
                free: [std::ptr::null_mut(); CLASSES],
                large_next: 0,
                large_last: NONE,
                _align: 0,
                region: [0; REGION],
                large: [0; LARGE],
            }),
        }
    }

    /// Whether the calling thread owns the region, claiming it for the
    /// first thread to ask.
    fn owned(&self) -> bool {
        let me = thread_token();
        let owner = self.owner.load(Ordering::Relaxed);
        owner == me
            || (owner == 0
                && self
                    .owner
                    .compare_exchange(0, me, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok())
    }

    /// Whether `ptr` was handed out from one of the regions.
    fn contains(&self, ptr: *mut u8) -> bool {
        // SAFETY: only the field's address is taken; nothing is read.
        let start = unsafe { std::ptr::addr_of!((*self.state.get()).region) } as usize;
        (start..start + REGION + LARGE).contains(&(ptr as usize))
    }

    /// The offset in the large region of a block handed out from it.
    fn large_offset(&self, ptr: *mut u8) -> Option<usize> {
        // SAFETY: only the field's address is taken; nothing is read.
        let start = unsafe { std::ptr::addr_of!((*self.state.get()).large) } as usize;
        (ptr as usize).checked_sub(start).filter(|&at| at < LARGE)
    }
}

impl Default for Arena {
    fn default() -> Arena {
        Arena::new()
    }
}

/// A number unique to each live thread: the address of a thread-local.
fn thread_token() -> usize {
    thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    TOKEN.with(|t| std::ptr::from_ref(t) as usize)
}

/// `size` rounded up to the blocks' alignment.
fn round(size: usize) -> usize {
    size.div_ceil(1 << MIN_SHIFT) << MIN_SHIFT
}

/// The size class of `layout`, if the small region serves it.
fn class(layout: Layout) -> Option<usize> {
    if layout.align() > 1 << MIN_SHIFT {
        return None;
    }
    // The smallest power of two >= size, counted from 16 bytes.
    let bits = usize::BITS - ((layout.size().max(1) - 1) | ((1 << MIN_SHIFT) - 1)).leading_zeros();
    let class = (bits - MIN_SHIFT) as usize;
    (class < CLASSES).then_some(class)
}

// SAFETY: blocks of the region are handed out once until freed (free lists
// and the bump offset are only touched by the owning thread), are at least
// `layout.size()` bytes, and 16-byte aligned (the region is, and every
// block's size is a multiple of 16) while only alignments up to 16 are
// served; everything else is the system allocator's, untouched.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= 1 << MIN_SHIFT && self.owned() {
            // SAFETY: only the owning thread gets here (see `Sync`).
            let state = unsafe { &mut *self.state.get() };
            let Some(class) = class(layout) else {
                let size = round(layout.size());
                if state.large_next + size <= LARGE {
                    // SAFETY: within the region: checked just above.
                    let block = unsafe { state.large.as_mut_ptr().add(state.large_next) };
                    state.large_last = state.large_next + 1;
                    state.large_next += size;
                    return block;
                }
                // SAFETY: the caller's layout has a non-zero size.
                return unsafe { System.alloc(layout) };
            };
            let head = state.free[class];
            if !head.is_null() {
                // SAFETY: a free block holds the next free block's address
                // in its first 8 bytes (written by `dealloc`), and is
                // 16-byte aligned.
                state.free[class] = unsafe { head.cast::<*mut u8>().read() };
                return head;
            }
            let size = 1 << (class + MIN_SHIFT as usize);
            if state.next + size <= REGION {
                // SAFETY: within the region: checked just above.
                let block = unsafe { state.region.as_mut_ptr().add(state.next) };
                state.next += size;
                return block;
            }
        }
        // SAFETY: the caller's layout has a non-zero size, as required.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.contains(ptr) {
            // SAFETY: not the region's, so the system allocator's, with
            // this layout.
            return unsafe { System.dealloc(ptr, layout) };
        }
        if !self.owned() {
            // Another thread freeing a block of the regions: leave it unused.
            return;
        }
        // SAFETY: only the owning thread gets here (see `Sync`).
        let state = unsafe { &mut *self.state.get() };
        if let Some(at) = self.large_offset(ptr) {
            // The last block gives its room back; others stay unused.
            if at + 1 == state.large_last {
                state.large_next = at;
                state.large_last = NONE;
            }
        } else if let Some(class) = class(layout) {
            // SAFETY: the block is ours again, at least 16 bytes and
            // 16-byte aligned: room for the link.
            unsafe { ptr.cast::<*mut u8>().write(state.free[class]) };
            state.free[class] = ptr;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.contains(ptr) {
            // SAFETY: the system allocator's block, with this layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: the caller guarantees new_size, rounded to the alignment,
        // does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if let Some(at) = self.large_offset(ptr) {
            // The last block of the large region grows (or shrinks) in place.
            if self.owned() {
                // SAFETY: only the owning thread gets here (see `Sync`).
                let state = unsafe { &mut *self.state.get() };
                if at + 1 == state.large_last && at + round(new_size) <= LARGE {
                    state.large_next = at + round(new_size);
                    return ptr;
                }
            }
        } else if class(new_layout).is_some_and(|new| Some(new) <= class(layout)) {
            // A small block is a whole class: it already holds any size of
            // its class or below (a smaller class is freed with the smaller
            // layout, into the smaller class's list: still room enough).
            return ptr;
        }
        // SAFETY: a valid, non-zero-size layout.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller of the two
            // sizes, and distinct; the old one is then freed once.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn classes_are_powers_of_two_from_16_bytes() {
        assert_eq!(class(layout(1, 1)), Some(0));
        assert_eq!(class(layout(16, 8)), Some(0));
        assert_eq!(class(layout(17, 8)), Some(1));
        assert_eq!(class(layout(712, 8)), Some(6));
        assert_eq!(class(layout(2048, 8)), Some(7));
        assert_eq!(class(layout(2049, 8)), None);
        assert_eq!(class(layout(64, 32)), None);
    }

    #[test]
    fn small_blocks_are_reused_by_class() {
        static ARENA: Arena = Arena::new();
        let arena = &ARENA;
        let small = layout(24, 8);
        // SAFETY: layouts are valid and non-zero; every block is freed
        // once, with its layout.
        unsafe {
            let a = arena.alloc(small);
            let b = arena.alloc(small);
            assert!(arena.contains(a) && arena.contains(b) && a != b);
            assert_eq!(a as usize % 16, 0);
            a.write_bytes(0xaa, 24);
            arena.dealloc(a, small);
            assert_eq!(arena.alloc(small), a);
            // Grows in place within its class, moves (with the bytes) past it.
            assert_eq!(arena.realloc(a, small, 32), a);
            b.write_bytes(7, 24);
            let c = arena.realloc(b, small, 100);
            assert!(c != b && arena.contains(c));
            assert_eq!(std::slice::from_raw_parts(c, 24), &[7; 24]);
            assert_eq!(arena.alloc(small), b, "the moved block was freed");
            arena.dealloc(c, layout(100, 8));
            arena.dealloc(a, layout(32, 8));
            arena.dealloc(b, small);
        }
    }

    #[test]
    fn the_last_large_block_grows_in_place() {
        static ARENA: Arena = Arena::new();
        let arena = &ARENA;
        // SAFETY: as above.
        unsafe {
            let a = arena.alloc(layout(3000, 8));
            assert!(arena.large_offset(a).is_some());
            a.write_bytes(5, 3000);
            let a2 = arena.realloc(a, layout(3000, 8), 6000);
            assert_eq!(a2, a, "the last block grows in place");
            let b = arena.alloc(layout(4000, 16));
            assert_eq!(b as usize % 16, 0);
            let a3 = arena.realloc(a2, layout(6000, 8), 12000);
            assert_ne!(a3, a2, "no longer the last block: moved");
            assert_eq!(std::slice::from_raw_parts(a3, 3000), &[5; 3000]);
            // The last block shrinks in place too; another one moves to
            // the small region when it shrinks that far.
            assert_eq!(arena.realloc(a3, layout(12000, 8), 9000), a3);
            let b2 = arena.realloc(b, layout(4000, 16), 100);
            assert!(arena.contains(b2) && arena.large_offset(b2).is_none());
            arena.dealloc(a3, layout(9000, 8));
            arena.dealloc(b2, layout(100, 16));
            // With its last block freed, the region is reused from there.
            let c = arena.alloc(layout(5000, 8));
            let d = arena.alloc(layout(5000, 8));
            arena.dealloc(d, layout(5000, 8));
            assert_eq!(arena.alloc(layout(5000, 8)), d);
            arena.dealloc(c, layout(5000, 8));
        }
    }

    #[test]
    fn other_threads_use_the_system_allocator() {
        static ARENA: Arena = Arena::new();
        let arena = &ARENA;
        let small = layout(8, 8);
        // SAFETY: as above.
        unsafe {
            let mine = arena.alloc(small);
            assert!(arena.contains(mine));
            let theirs =
                std::thread::scope(|s| s.spawn(|| arena.alloc(small) as usize).join().unwrap())
                    as *mut u8;
            assert!(!arena.contains(theirs));
            arena.dealloc(theirs, small);
            arena.dealloc(mine, small);
        }
    }

    #[test]
    fn exhausted_regions_fall_back_to_the_system() {
        static ARENA: Arena = Arena::new();
        let arena = &ARENA;
        // SAFETY: as above; blocks are leaked with the arena, except the
        // system's, which are freed.
        unsafe {
            for (block, room) in [(layout(2048, 16), REGION), (layout(32 * 1024, 16), LARGE)] {
                for _ in 0..room / block.size() {
                    assert!(arena.contains(arena.alloc(block)));
                }
                let over = arena.alloc(block);
                assert!(!over.is_null() && !arena.contains(over));
                arena.dealloc(over, block);
            }
            // A system block grows with the system allocator.
            let sys = arena.alloc(layout(64, 64));
            assert!(!arena.contains(sys));
            arena.dealloc(sys, layout(64, 64));
        }
    }
}
