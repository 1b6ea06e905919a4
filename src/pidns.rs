//! What a pinned PID namespace can still take, asked without spending it.
//!
//! A PID namespace's first process becomes its init (PID 1); once that
//! exits, the kernel lets no new process in (`fork` inside fails with
//! `ENOMEM`). Neither /proc nor nsfs says whether a namespace with no
//! process in it is still waiting for its init or already past it, and
//! trying to fork into it would make the probe its init, spending it.
//!
//! The kernel does tell, through clone3(2)'s `set_tid` (Linux 5.5): asking
//! for a given PID other than 1 in a namespace that never had an init
//! fails with `EINVAL` before anything is allocated there; in one whose
//! init has exited the allocation fails with `ENOMEM`, and the namespace
//! is left as it was; in one with an init the child is made, and exits at
//! once. The probe runs in a short-lived thread that joins the namespace
//! for its children only (setns(2) of a PID namespace changes no thread's
//! own), so the caller's threads are untouched. It needs `CAP_SYS_ADMIN`
//! over the namespace (`CAP_CHECKPOINT_RESTORE` for `set_tid`); without
//! it, or on an older kernel, the answer is [`PidNs::Unknown`].

use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::io::Errno;

use crate::kernel::{self, Call};

/// What a PID namespace can take, as [`probe`] finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PidNs {
    /// No process has entered it yet: the next becomes its init.
    Unentered,
    /// It has an init: processes may enter.
    Running,
    /// Its init has exited: the kernel lets no process in.
    Dead,
    /// The kernel would not say (no clone3 `set_tid`, or no privilege).
    Unknown,
}

/// `struct clone_args` of clone3(2), up to `set_tid_size` (version 1).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
}

/// The PID asked for: any but 1 (the one PID a namespace without an init
/// may give).
const PROBE_PID: libc::pid_t = 2;

/// Asks the kernel what the PID namespace open at `ns` can take.
pub(crate) fn probe(ns: BorrowedFd<'_>) -> PidNs {
    let raw = ns.as_raw_fd();
    // A thread of its own: it alone joins the namespace for its children.
    std::thread::scope(|scope| {
        scope
            .spawn(move || probe_here(raw))
            .join()
            .unwrap_or(PidNs::Unknown)
    })
}

fn probe_here(ns: libc::c_int) -> PidNs {
    if kernel::lacks(Call::Clone3) {
        return PidNs::Unknown;
    }
    // SAFETY: `ns` is a descriptor the caller keeps open across the probe.
    let ns = unsafe { BorrowedFd::borrow_raw(ns) };
    if rustix::thread::move_into_link_name_space(
        ns,
        Some(rustix::thread::LinkNameSpaceType::ProcessID),
    )
    .is_err()
    {
        return PidNs::Unknown;
    }
    let tid: [libc::pid_t; 1] = [PROBE_PID];
    let args = CloneArgs {
        // No signal to the parent: a caller that reaps any child
        // (`waitpid(-1)`) never sees this one, which only `__WALL` waits.
        exit_signal: 0,
        set_tid: tid.as_ptr() as u64,
        set_tid_size: 1,
        ..CloneArgs::default()
    };
    // SAFETY: clone3(2) reads `args` and the one-element `tid` array, both
    // alive across the call. Without CLONE_VM the child runs on a copy of
    // this thread's memory and does nothing but _exit(2), which is
    // async-signal-safe.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid == 0 {
        // SAFETY: the child ends at once, touching nothing.
        unsafe { libc::_exit(0) };
    }
    if pid > 0 {
        reap(pid as libc::pid_t);
        return PidNs::Running;
    }
    let errno = std::io::Error::last_os_error();
    kernel::saw(Call::Clone3, errno.raw_os_error().unwrap_or(0));
    match Errno::from_io_error(&errno) {
        Some(Errno::INVAL) => PidNs::Unentered,
        Some(Errno::NOMEM) => PidNs::Dead,
        // The PID is taken: processes are inside.
        Some(Errno::EXIST) => PidNs::Running,
        _ => PidNs::Unknown,
    }
}

/// Waits for the probe's child, which exits at once.
fn reap(pid: libc::pid_t) {
    loop {
        let mut status = 0;
        // SAFETY: waitpid(2) writes the status into a local.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}
