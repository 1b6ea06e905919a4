//! What the running kernel offers, known in one place, once per process.
//!
//! pinns runs on every kernel CRI-O runs on, from 4.18 up, and uses a
//! newer system call where the kernel has it, with an older way beside it:
//! open_tree and move_mount (5.2) beside mount(2), mount_setattr (5.12)
//! beside classic propagation changes, statmount (6.8) beside
//! `/proc/self/mountinfo`, openat2 (5.6) beside a walk of `O_NOFOLLOW`
//! opens, pidfd_open (5.3), close_range (5.9), clone3 (5.3). Each call is
//! made where it is needed; the first `ENOSYS` it meets is remembered
//! here, so every later caller in the process goes the older way at once
//! and all of them ask the same table. What no call answers by failing
//! (mount_setattr, whose absence would show only half-way through a
//! set-up, and the pidfd ioctl that pins a pid namespace with no process)
//! is probed here, once, with calls that change nothing.
//!
//! May touch: nothing but its probes (a mount_setattr with a zero size,
//! a pidfd of this very process). The table is atomics alone, so the
//! helper child may read and write it after fork(2) without allocating.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use rustix::io::Errno;
use rustix::process::Pid;

use crate::error::{Context, Error, Feature, Result};

/// A system call newer than the oldest kernel pinns runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// open_tree(2) and move_mount(2), Linux 5.2.
    OpenTree,
    /// mount_setattr(2), Linux 5.12.
    MountSetattr,
    /// statmount(2), Linux 6.8.
    Statmount,
    /// openat2(2), Linux 5.6.
    Openat2,
    /// pidfd_open(2), Linux 5.3.
    PidfdOpen,
    /// close_range(2), Linux 5.9.
    CloseRange,
    /// clone3(2), Linux 5.3.
    Clone3,
    /// A call no code makes, for the table's own test.
    #[cfg(test)]
    Test,
}

impl Call {
    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The calls seen failing with `ENOSYS` in this process, a bit per [`Call`].
static MISSING: AtomicU32 = AtomicU32::new(0);

/// Whether `call` is known to be missing. Async-signal-safe.
pub(crate) fn lacks(call: Call) -> bool {
    MISSING.load(Ordering::Relaxed) & call.bit() != 0
}

/// Notes what a raw call's `errno` says of the kernel: `ENOSYS` means it
/// has no `call`. Async-signal-safe.
pub(crate) fn saw(call: Call, errno: i32) {
    if errno == libc::ENOSYS {
        MISSING.fetch_or(call.bit(), Ordering::Relaxed);
    }
}

/// Makes `call` by `f`, unless the kernel is known to lack it (then
/// `ENOSYS` without asking), and remembers an `ENOSYS` it returns.
/// Async-signal-safe when `f` is.
pub(crate) fn try_call<T>(
    call: Call,
    f: impl FnOnce() -> rustix::io::Result<T>,
) -> rustix::io::Result<T> {
    if lacks(call) {
        return Err(Errno::NOSYS);
    }
    let result = f();
    if let Err(errno) = &result {
        saw(call, errno.raw_os_error());
    }
    result
}

/// Whether the kernel has mount_setattr(2) (5.12), asked once per process:
/// a call with a zero size fails with `EINVAL` there, before it looks at
/// anything, and with `ENOSYS` on kernels without it.
pub(crate) fn has_mount_setattr() -> bool {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| {
        if lacks(Call::MountSetattr) {
            return false;
        }
        // SAFETY: mount_setattr(2) with size 0 reads no memory and
        // changes nothing: it fails on the size first.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                -1,
                c"".as_ptr(),
                0,
                std::ptr::null::<u8>(),
                0usize,
            )
        };
        if r < 0 {
            saw(Call::MountSetattr, last_errno());
        }
        !lacks(Call::MountSetattr)
    })
}

/// The errno the last raw call left.
fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE` from `<linux/pidfd.h>`
/// (`_IO(0xFF, 6)`, Linux 6.11).
const PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE: libc::c_ulong = 0xFF06;

/// The refusal for a new PID namespace on a kernel that cannot reach one
/// with no process in it.
pub(crate) fn no_pid_ns_ioctl() -> Error {
    Error::Unsupported {
        op: "pinning a new pid namespace".into(),
        feature: Feature::PidfdChildPidNamespace,
    }
}

/// The `pid_for_children` namespace of the process `pidfd` refers to, by
/// the pidfd ioctl (which reaches it even with no process in it yet);
/// `what` names the operation should the call fail otherwise than by the
/// kernel lacking the ioctl. rustix's ioctl wrapper would be as unsafe as
/// the raw call, and its no-argument form drops the returned descriptor.
pub(crate) fn pid_ns_of(pidfd: BorrowedFd<'_>, what: &str) -> Result<OwnedFd> {
    // SAFETY: this ioctl takes no argument and returns a new descriptor or
    // -1; the descriptor is owned at once.
    let fd = unsafe { libc::ioctl(pidfd.as_raw_fd(), PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0) };
    if fd < 0 {
        let errno = last_errno();
        // Before 6.11, a pidfd has no ioctls.
        if matches!(errno, libc::ENOTTY | libc::EINVAL | libc::EOPNOTSUPP) {
            return Err(no_pid_ns_ioctl());
        }
        return Err(Error::os(what, Errno::from_raw_os_error(errno)));
    }
    // SAFETY: the kernel just returned this descriptor to us alone; it is
    // closed when dropped.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A pidfd of the process `pid`, `None` on kernels without pidfds
/// (before 5.3).
pub(crate) fn pidfd(pid: Pid) -> rustix::io::Result<Option<OwnedFd>> {
    match try_call(Call::PidfdOpen, || {
        rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
    }) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOSYS) => Ok(None),
        Err(errno) => Err(errno),
    }
}

/// Refuses a new PID namespace up front, before anything is made, on a
/// kernel without the pidfd ioctl that pins one: asked of our own pidfd
/// (our own `pid_for_children` namespace exists), it fails just as it
/// would for the helper's. Asked once per process when the answer is yes
/// or no; an error otherwise is reported and asked again next time.
pub(crate) fn check_pid_ns_pinning() -> Result<()> {
    const UNKNOWN: u8 = 0;
    const HAS: u8 = 1;
    const LACKS: u8 = 2;
    static ANSWER: AtomicU8 = AtomicU8::new(UNKNOWN);
    match ANSWER.load(Ordering::Relaxed) {
        HAS => return Ok(()),
        LACKS => return Err(no_pid_ns_ioctl()),
        _ => {}
    }
    let what = "checking for the pidfd ioctl PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE";
    let own = own_pid().with(|| "reading our process id".to_string())?;
    let answer = match pidfd(own).with(|| what.to_string())? {
        None => Err(no_pid_ns_ioctl()),
        Some(pidfd) => pid_ns_of(pidfd.as_fd(), what).map(drop),
    };
    match &answer {
        Ok(()) => ANSWER.store(HAS, Ordering::Relaxed),
        Err(Error::Unsupported { .. }) => ANSWER.store(LACKS, Ordering::Relaxed),
        Err(_) => {}
    }
    answer
}

/// This process's id. The raw call, which reports an error as one, where
/// rustix takes getpid(2) to be infallible and would panic.
pub(crate) fn own_pid() -> rustix::io::Result<Pid> {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::syscall(libc::SYS_getpid) };
    if pid < 0 {
        return Err(Errno::from_raw_os_error(last_errno()));
    }
    Pid::from_raw(pid as i32).ok_or(Errno::SRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call seen missing once is not made again: the table answers.
    #[test]
    fn enosys_is_remembered_and_nothing_else() {
        let mut made = 0;
        let r: rustix::io::Result<()> = try_call(Call::Test, || {
            made += 1;
            Err(Errno::PERM)
        });
        assert_eq!(r, Err(Errno::PERM));
        assert!(!lacks(Call::Test), "EPERM says nothing of the kernel");
        let r: rustix::io::Result<()> = try_call(Call::Test, || {
            made += 1;
            Err(Errno::NOSYS)
        });
        assert_eq!(r, Err(Errno::NOSYS));
        assert!(lacks(Call::Test));
        let r: rustix::io::Result<()> = try_call(Call::Test, || {
            made += 1;
            Ok(())
        });
        assert_eq!(r, Err(Errno::NOSYS), "not asked again");
        assert_eq!(made, 2);
    }
}
