//! Test only: the unit tests' global allocator, which catches the forked
//! helper child allocating.
//!
//! The child marks itself ([`forked`]) first thing after fork(2), in its
//! own copy of memory, so the mark is the child's alone. From then on any
//! allocation, reallocation or free there counts in a page shared with
//! the test process and ends the child at once (in a test binary other
//! threads allocate all the time, so a real child could deadlock on the
//! allocator's lock rather than merely misbehave). The tests below run
//! the child through every step it has, and its failure report, and find
//! the count still zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::os::fd::AsFd;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// Set in the child, right after fork(2).
static IN_CHILD: AtomicBool = AtomicBool::new(false);

/// The shared count of allocations caught in children (null until a test
/// asks for it).
static CAUGHT: AtomicPtr<AtomicUsize> = AtomicPtr::new(ptr::null_mut());

/// The status a child caught allocating exits with.
const CAUGHT_STATUS: i32 = 86;

/// Marks this process as the helper child. Called right after fork(2).
pub(super) fn forked() {
    IN_CHILD.store(true, Ordering::Relaxed);
}

struct Guard;

#[global_allocator]
static GUARD: Guard = Guard;

/// Ends a child that was about to allocate, after counting it.
fn check() {
    if !IN_CHILD.load(Ordering::Relaxed) {
        return;
    }
    let count = CAUGHT.load(Ordering::Acquire);
    if !count.is_null() {
        // SAFETY: a non-null CAUGHT points into a shared page mapped for
        // the life of the process and never unmapped.
        unsafe { &*count }.fetch_add(1, Ordering::SeqCst);
    }
    let line = b"pinns test: the helper child allocated after fork\n";
    // SAFETY: write(2) of a static buffer to stderr, then _exit(2): no
    // allocation, no lock.
    unsafe {
        libc::write(2, line.as_ptr().cast(), line.len());
        libc::_exit(CAUGHT_STATUS)
    }
}

// SAFETY: every call is System's own, after a check that either returns
// or ends the process.
unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check();
        // SAFETY: the caller's guarantees, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check();
        // SAFETY: the caller's guarantees, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        check();
        // SAFETY: the caller's guarantees, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check();
        // SAFETY: the caller's guarantees, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// How many allocations have been caught in helper children so far, of
/// every test in this binary, counting from the first call.
fn caught() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    let page = *PAGE.get_or_init(|| {
        // SAFETY: a fresh anonymous mapping, shared with the children
        // forked after it; zeroed by the kernel, so a valid AtomicUsize.
        let page = unsafe {
            libc::mmap(
                ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(
            page,
            libc::MAP_FAILED,
            "{}",
            std::io::Error::last_os_error()
        );
        CAUGHT.store(page.cast(), Ordering::Release);
        page as usize
    });
    // SAFETY: as in `check`.
    unsafe { &*(page as *const AtomicUsize) }.load(Ordering::SeqCst)
}

mod tests {
    use super::*;
    use crate::helper::{Helper, Setup};
    use crate::idmap::IdMap;
    use crate::ns::{Kind, KindSet};
    use crate::sysctl::Sysctl;

    fn open_proc_sys() -> std::os::fd::OwnedFd {
        rustix::fs::open(
            "/proc/sys",
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .expect("opening /proc/sys")
    }

    /// Every step the child has: a new user namespace with id maps and
    /// root in it, every other kind, time offsets, sysctls of each sort
    /// (hostname, a file under net and under ipc) and loopback.
    #[test]
    fn helper_child_does_not_allocate() {
        let before = caught();
        let sysctls: Vec<Sysctl> = [
            "kernel.hostname=no-alloc",
            "net.ipv4.ip_forward=1",
            "kernel.msgmax=9000",
        ]
        .map(|s| s.parse().expect("a valid sysctl"))
        .into();
        let uid: IdMap = "0-100000-65536".parse().expect("a valid map");
        let gid = uid.clone();
        let proc_sys = open_proc_sys();
        let setup = Setup {
            new: Kind::ALL.into_iter().collect::<KindSet>(),
            become_root: true,
            sysctls: &sysctls,
            loopback: true,
            time_offsets: Some(c"monotonic 5 0\n"),
            proc_sys: Some(proc_sys.as_fd()),
        };
        let helper = Helper::spawn(&setup, Some((&uid, &gid)));
        assert_eq!(caught(), before, "the helper child allocated");
        let helper = helper.expect("the helper set everything up");
        for kind in Kind::ALL {
            helper.open_ns(kind).expect("a namespace the helper made");
        }
        helper.finish().expect("the helper exits");
        assert_eq!(caught(), before, "the helper child allocated");
    }

    /// A failing step, and the report of it, allocate nothing either; the
    /// parent names the step from the report.
    #[test]
    fn helper_child_failure_does_not_allocate() {
        let before = caught();
        let sysctls: Vec<Sysctl> =
            vec!["kernel.hostname=no-alloc".parse().expect("a valid sysctl")];
        let setup = Setup {
            new: [Kind::Mnt, Kind::Uts].into_iter().collect::<KindSet>(),
            become_root: false,
            sysctls: &sysctls,
            loopback: false,
            time_offsets: None,
            // No /proc/sys: the sysctl step fails with EBADF.
            proc_sys: None,
        };
        let result = Helper::spawn(&setup, None);
        assert_eq!(caught(), before, "the helper child allocated");
        let error = result.err().expect("the sysctl step fails");
        assert_eq!(
            error.to_string(),
            "setting sysctl kernel.hostname: Bad file descriptor"
        );
    }
}
