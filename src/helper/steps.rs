//! The set-up steps inside new namespaces, and the raw calls they share.
//!
//! Everything here runs in the thread that creates namespaces and also in
//! the forked helper child, after fork(2): raw system calls only, on data
//! prepared by the caller, buffers on the stack. No allocation, no locks,
//! no panics (async-signal-safe). A failure is a [`Step`] and an errno,
//! which the caller (or, from the child, the parent) turns into an error.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType};
use rustix::thread::UnshareFlags;

use crate::error::restart;
use crate::ns::{Kind, KindSet};
use crate::sysctl::Sysctl;

/// What a new set of namespaces needs done inside it before it is pinned.
pub(crate) struct Setup<'a> {
    /// The namespaces to create.
    pub new: KindSet,
    /// Whether to become uid and gid 0 inside the new user namespace
    /// (its maps include 0), before anything else is created under it.
    pub become_root: bool,
    /// Sysctls, applied after every namespace exists.
    pub sysctls: &'a [Sysctl],
    /// Bring `lo` up in the new network namespace.
    pub loopback: bool,
    /// The text to write to `/proc/self/timens_offsets`, if any.
    pub time_offsets: Option<&'a CStr>,
    /// `/proc/sys`, opened before any namespace changed (when there are
    /// sysctls to write).
    pub proc_sys: Option<BorrowedFd<'a>>,
}

/// A step of the set-up, to name what failed without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The helper's own set-up: dying with its parent, hearing from it.
    Helper,
    UnshareUser,
    BecomeRoot,
    Unshare(Kind),
    TimeOffsets,
    /// The sysctl at this index of [`Setup::sysctls`].
    Sysctl(u16),
    Loopback,
}

/// A step's outcome.
pub(super) type StepResult = Result<(), (Step, Errno)>;

impl Setup<'_> {
    /// Everything after the user namespace: the other namespaces, then
    /// what is written inside them.
    pub(super) fn create_rest(&self) -> StepResult {
        for kind in self.new.iter().filter(|k| *k != Kind::User) {
            // One kind at a time, so a failure names the kind (a kernel
            // without time namespaces says only EINVAL).
            unshare(kind.clone_flag()).map_err(|e| (Step::Unshare(kind), e))?;
        }
        if let Some(offsets) = self.time_offsets {
            // Why now: offsets can only be set before a process enters the
            // new time namespace.
            write_file(c"/proc/self/timens_offsets", offsets.to_bytes())
                .map_err(|e| (Step::TimeOffsets, e))?;
        }
        for (i, sysctl) in self.sysctls.iter().enumerate() {
            let proc_sys = self.proc_sys.ok_or((Step::Sysctl(i as u16), Errno::BADF))?;
            sysctl
                .apply(proc_sys)
                .map_err(|e| (Step::Sysctl(i as u16), e))?;
        }
        if self.loopback {
            loopback_up().map_err(|e| (Step::Loopback, e))?;
        }
        Ok(())
    }
}

/// unshare(2) of namespace flags only.
pub(super) fn unshare(clone_flags: libc::c_int) -> Result<(), Errno> {
    let flags = UnshareFlags::from_bits_retain(clone_flags as u32);
    debug_assert!(!flags.contains(UnshareFlags::FILES));
    // SAFETY: the danger rustix guards against is CLONE_FILES, which splits
    // the descriptor table between threads; namespace flags never include it.
    unsafe { rustix::thread::unshare_unsafe(flags) }
}

/// Writes `data` to the file at `path` in one write(2).
pub(super) fn write_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    match restart(|| rustix::io::write(&fd, data))? {
        n if n == data.len() => Ok(()),
        _ => Err(Errno::IO),
    }
}

/// Sets `IFF_UP` on `lo` in the calling thread's network namespace, as
/// `ip link set lo up` does, with the classic interface ioctls (a fresh
/// namespace has its loopback down). rustix has no interface-flag ioctls,
/// hence the raw ones.
fn loopback_up() -> Result<(), Errno> {
    let sock = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name from and writes the flags into
    // `req`, which lives across both calls.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(Errno::from_raw_os_error(last_errno()));
    }
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: as above; SIOCSIFFLAGS only reads `req`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(Errno::from_raw_os_error(last_errno()));
    }
    Ok(())
}

/// Reads until `buf` is full or end of file; returns how much was read.
pub(super) fn read_full(fd: BorrowedFd<'_>, buf: &mut [u8]) -> rustix::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match rustix::io::read(fd, &mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// The errno of the raw call that just failed (EIO should it say none).
pub(super) fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .filter(|e| *e > 0)
        .unwrap_or(libc::EIO)
}
