//! The forked helper child, from fork(2) to its exit.
//!
//! Runs after fork(2) in a copy of a possibly multithreaded process, where
//! another thread may have held the allocator's lock at the fork: raw
//! system calls only, on data prepared before the fork. No allocation
//! (not even a temporary `String` or `Vec`, nor a drop of one), no locks,
//! no panics, no return: it leaves by `_exit(2)`, running none of the
//! parent's destructors or atexit handlers. `cargo test` checks this with
//! an allocator that fails any allocation here (see `no_alloc`).
//!
//! It touches its own credentials and namespaces, the files the set-up
//! writes, its descriptor table ([`close_all_but`]) and the two pipes to
//! its parent; it reports each step as a [`Message`].

use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::io::Errno;
use rustix::process::{Pid, Signal};

use super::fds::close_all_but;
use super::message::Message;
use super::{Setup, Step, StepResult, last_errno, read_full, unshare};
use crate::error::restart;
use crate::ns::Kind;

/// The helper child: sets up what `setup` asks, reports to `to_parent`,
/// and holds the new namespaces until a byte or end of file comes on
/// `from_parent`.
pub(super) fn main(
    setup: &Setup<'_>,
    parent: Pid,
    to_parent: BorrowedFd<'_>,
    from_parent: BorrowedFd<'_>,
) -> ! {
    // A report the parent never gets would leave it waiting for the report
    // while we wait for the parent: when one cannot be sent, exit at once,
    // and the parent reads end of file instead.
    let send = |message: Message| {
        let bytes = message.encode();
        match restart(|| rustix::io::write(to_parent, &bytes)) {
            Ok(n) if n == bytes.len() => {}
            _ => exit(1),
        }
    };
    close_all_but([
        to_parent.as_raw_fd(),
        from_parent.as_raw_fd(),
        setup.proc_sys.map_or(-1, |fd| fd.as_raw_fd()),
    ]);
    let result = (|| -> StepResult {
        die_with(parent).map_err(|e| (Step::Helper, e))?;
        if setup.new.contains(Kind::User) {
            unshare(libc::CLONE_NEWUSER).map_err(|e| (Step::UnshareUser, e))?;
            send(Message::UserReady);
            // The parent writes our maps, then one byte.
            let mut byte = [0u8; 1];
            match read_full(from_parent, &mut byte) {
                Ok(1) => {}
                Ok(_) => return Err((Step::Helper, Errno::PIPE)),
                Err(e) => return Err((Step::Helper, e)),
            }
            if setup.become_root {
                become_root(parent).map_err(|e| (Step::BecomeRoot, e))?;
            }
        }
        setup.create_rest()
    })();
    match result {
        Ok(()) => send(Message::Ready),
        Err((step, errno)) => send(Message::Failed(step, errno)),
    }
    // Hold the namespaces until the parent has pinned them and closes
    // its end of the pipe (or dies). A failed read ends the wait too: the
    // parent then finds the namespaces gone and says so.
    let mut byte = [0u8; 1];
    let _ = read_full(from_parent, &mut byte);
    exit(0)
}

/// Becomes uid and gid 0 in the new user namespace. Why: namespaces made
/// from here on are owned by the new user namespace, and the ipc and
/// mqueue sysctls are only writable by its root (see the kernel notes).
fn become_root(parent: Pid) -> Result<(), Errno> {
    rustix::thread::set_thread_groups(&[])?;
    let root_gid = rustix::process::Gid::ROOT;
    let root_uid = rustix::process::Uid::ROOT;
    rustix::thread::set_thread_res_gid(root_gid, root_gid, root_gid)?;
    rustix::thread::set_thread_res_uid(root_uid, root_uid, root_uid)?;
    // Changing uid made us undumpable, which hands /proc/self to the
    // host's root; restore it so timens_offsets stays ours.
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::Dumpable)?;
    // Changing credentials also cleared the death signal.
    die_with(parent)
}

/// Asks for SIGKILL when the parent dies, and catches the parent having
/// died before the request took effect.
fn die_with(parent: Pid) -> Result<(), Errno> {
    rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
    // The raw call, not rustix's getppid: rustix takes it to be infallible
    // and panics on an error, which a child of fork(2) must never do.
    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { libc::syscall(libc::SYS_getppid) };
    if ppid < 0 {
        return Err(Errno::from_raw_os_error(last_errno()));
    }
    if ppid != libc::c_long::from(parent.as_raw_nonzero().get()) {
        return Err(Errno::SRCH);
    }
    Ok(())
}

/// Ends the helper at once.
pub(super) fn exit(code: i32) -> ! {
    // SAFETY: _exit ends this process at once, without running the parent's
    // atexit handlers or destructors, which are not ours to run.
    unsafe { libc::_exit(code) }
}
