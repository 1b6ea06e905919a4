//! Closing the forked helper's inherited descriptors.
//!
//! Runs in the child after fork(2), in a copy of a possibly multithreaded
//! process: raw system calls only, buffers on the stack, no allocation, no
//! locks. It closes descriptors of the child alone (the child owns its
//! copy of the descriptor table), never one it goes on to use.
//!
//! Why close at all: the helper is a copy of a process whose other threads
//! may have been forking helpers of their own, and a copy of another
//! helper's pipe held here would keep that helper's parent from ever
//! seeing end of file; nor should the helper keep the caller's own files
//! open.

use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};

use rustix::fs::{Mode, OFlags, RawDir};

use crate::kernel::{self, Call};

/// Closes every descriptor above 2 but `keep` (-1 entries are ignored).
/// Best effort: close_range(2) (Linux 5.9), or a walk of `/proc/self/fd`
/// before it.
pub(super) fn close_all_but(keep: [RawFd; 3]) {
    let mut keep = keep;
    keep.sort_unstable();
    let mut first: u32 = 3;
    for fd in keep.into_iter().filter(|fd| *fd >= 3) {
        let fd = fd as u32;
        if fd > first && !close_range(first, fd - 1) {
            return close_listed(&keep);
        }
        first = fd + 1;
    }
    if !close_range(first, u32::MAX) {
        close_listed(&keep);
    }
}

/// close_range(2); false when the kernel has none (before 5.9). rustix
/// has no wrapper for it, hence the raw call.
fn close_range(first: u32, last: u32) -> bool {
    if kernel::lacks(Call::CloseRange) {
        return false;
    }
    // SAFETY: close_range(2) only closes descriptors of this process (the
    // helper, which owns its descriptor table alone after fork(2)); none of
    // them is used again but the ones kept.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    if r < 0 {
        kernel::saw(Call::CloseRange, super::last_errno());
    }
    !kernel::lacks(Call::CloseRange)
}

/// What [`close_all_but`] does on kernels without close_range(2): closes
/// every descriptor above 2 that `/proc/self/fd` lists but `keep`, read
/// with getdents64(2) into a buffer on the stack (the numbers in use may
/// be sparse and far above any bound worth counting up to).
pub(super) fn close_listed(keep: &[RawFd]) {
    let Ok(dir) = rustix::fs::open(
        c"/proc/self/fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = RawDir::new(&dir, &mut buf);
    while let Some(Ok(entry)) = entries.next() {
        // `.`, `..` and the directory's own descriptor are skipped;
        // /proc/self/fd lists by number, so closing as we read skips no
        // entry.
        let Some(fd) = fd_number(entry.file_name().to_bytes()) else {
            continue;
        };
        if fd > 2 && fd != dir.as_raw_fd() && !keep.contains(&fd) {
            // SAFETY: as in close_range: only the helper's own
            // descriptors, none of them used again. Not an `OwnedFd`
            // dropped: nothing owns these, they are strays.
            unsafe { libc::close(fd) };
        }
    }
}

/// The descriptor an entry of `/proc/self/fd` names: its name in decimal.
fn fd_number(name: &[u8]) -> Option<RawFd> {
    if name.is_empty() {
        return None;
    }
    name.iter().try_fold(0 as RawFd, |fd, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        fd.checked_mul(10)?.checked_add(RawFd::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_numbers_or_nothing() {
        assert_eq!(fd_number(b"0"), Some(0));
        assert_eq!(fd_number(b"1023"), Some(1023));
        assert_eq!(fd_number(b"2147483647"), Some(RawFd::MAX));
        for name in [&b""[..], b".", b"..", b"1a", b"-1", b"2147483648"] {
            assert_eq!(fd_number(name), None, "{name:?}");
        }
    }

    /// What kernels before 5.9 use instead of close_range(2): in a forked
    /// child, every descriptor above 2 is closed, however far apart, but
    /// those kept.
    #[test]
    fn close_listed_closes_all_but_the_kept() {
        // SAFETY: the child makes raw system calls only and leaves by
        // _exit; the parent waits for it.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: raw calls on descriptors of this child alone.
            let code = unsafe {
                let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                let (low, kept, high) = (fd, libc::dup2(fd, 200), libc::dup2(fd, 1000));
                close_listed(&[-1, 200, -1]);
                let open = |fd| libc::fcntl(fd, libc::F_GETFD) >= 0;
                if !(3..200).contains(&low) || kept != 200 || high != 1000 {
                    2
                } else if !open(0) || open(low) || !open(200) || open(1000) {
                    1
                } else {
                    0
                }
            };
            crate::helper::child::exit(code);
        }
        let mut status = 0;
        // SAFETY: waits for our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "{status:#x}");
        assert_eq!(libc::WEXITSTATUS(status), 0);
    }
}
