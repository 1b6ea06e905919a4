//! Creating new namespaces: in a thread of ours, or in a helper child.
//!
//! New net, ipc, uts and cgroup namespaces are made by a short-lived thread:
//! unshare(2) of those moves only the calling thread, so the caller's own
//! threads are never moved, and the thread is far cheaper than a process.
//!
//! User, mnt, pid and time need a helper child, forked for the purpose:
//! creating a user namespace needs a single-threaded process (and a library
//! caller may have threads); a process cannot pin its own mount namespace
//! from inside it; and new pid and time namespaces exist only for the
//! children of the process that unshared them, where our parent process can
//! reach them through the child's pidfd and `/proc/<pid>/ns`.
//!
//! The rooms, and what each may touch:
//!
//! - here: the crate's entry points and naming what failed; runs in the
//!   caller's process (allocates, opens `/proc` files);
//! - `steps`: the set-up inside new namespaces (unshare, time offsets,
//!   sysctls, loopback), shared by the thread and the child, so raw calls
//!   only, no allocation;
//! - `parent`: the [`Helper`] handle: forking the child, following its
//!   reports, writing its id maps, reaping it;
//! - `child`: the child from fork(2) to `_exit(2)`: raw calls on data
//!   prepared before the fork, no allocation, no locks; it dies with its
//!   parent (`PR_SET_PDEATHSIG`), so a killed `pinns` never leaves it
//!   behind holding CRI-O's output pipe open;
//! - `message`: the child's reports, a typed enum with a strict fixed-size
//!   encoding;
//! - `fds`: closing what the child inherited, by close_range(2) or a
//!   getdents64(2) walk of `/proc/self/fd`.
//!
//! Neither side waits on the other unboundedly: a child that cannot send a
//! report exits; the parent waits for a report only while the child's
//! pidfd says it is alive; the child closes every descriptor it does not
//! need (it may be a copy of another helper's parent); it is told to exit
//! by a byte, not only by end of file; and every call that blocks is
//! restarted on `EINTR`, since a library caller may handle signals.

mod child;
mod fds;
mod message;
#[cfg(test)]
mod no_alloc;
mod parent;
mod steps;

use std::os::fd::OwnedFd;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

pub(crate) use parent::Helper;
pub(crate) use steps::Setup;
use steps::Step;
use steps::{StepResult, last_errno, read_full, unshare, write_file};

use crate::error::{Context, Error, Feature, Result};
use crate::ns::{Kind, KindSet};

impl Setup<'_> {
    /// Turns a failed step into an error that names it.
    pub(crate) fn error(&self, step: Step, errno: Errno) -> Error {
        match step {
            Step::UnshareUser | Step::Unshare(_) => {
                let kind = match step {
                    Step::Unshare(kind) => kind,
                    _ => Kind::User,
                };
                if errno == Errno::INVAL {
                    Error::Unsupported {
                        op: format!("creating {kind} namespace"),
                        feature: Feature::Namespace(kind),
                    }
                } else {
                    Error::os(format!("creating {kind} namespace"), errno)
                }
            }
            Step::Helper => Error::os("setting up the helper process", errno),
            Step::BecomeRoot => Error::os("becoming root in the new user namespace", errno),
            Step::TimeOffsets => Error::os("setting the new time namespace's offsets", errno),
            Step::Sysctl(i) => {
                let sysctl = &self.sysctls[usize::from(i)];
                Error::os(format!("setting sysctl {}", sysctl.key()), errno)
            }
            Step::Loopback => Error::os("bringing up lo in the new network namespace", errno),
        }
    }
}

/// Creates the namespaces of `setup` (none of which needs a helper) in the
/// calling thread, which is left inside them, and returns a descriptor of
/// each, which keeps it alive.
pub(crate) fn create_here(setup: &Setup<'_>) -> Result<Vec<(Kind, OwnedFd)>> {
    // Why one unshare(2) for all: it is the least work; only on failure
    // are kinds tried singly, to name the culprit.
    if let Err(errno) = unshare(setup.new.clone_flags()) {
        for kind in setup.new.iter() {
            if let Err(e) = unshare(kind.clone_flag()) {
                return Err(setup.error(Step::Unshare(kind), e));
            }
        }
        return Err(Error::os("creating namespaces", errno));
    }
    let rest = Setup {
        new: KindSet::EMPTY,
        ..*setup
    };
    rest.create_rest()
        .map_err(|(step, e)| setup.error(step, e))?;
    setup
        .new
        .iter()
        .map(|kind| {
            let path = format!("/proc/thread-self/ns/{}", kind.new_link());
            Ok((kind, open_ns(&path, kind)?))
        })
        .collect()
}

/// Like [`create_here`], in a short-lived thread of ours, so that no thread
/// of the caller changes namespaces.
pub(crate) fn create_in_thread(setup: &Setup<'_>) -> Result<Vec<(Kind, OwnedFd)>> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("pinns-unshare".into())
            .stack_size(64 * 1024)
            .spawn_scoped(scope, || create_here(setup))
            .map_err(|e| Error::io("starting a thread to create namespaces", e))?;
        // A panic there is a bug of ours, not an error to report: it goes
        // on unwinding in the caller's thread.
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Opens a namespace file read-only (a descriptor keeps it alive).
pub(crate) fn open_ns(path: &str, kind: Kind) -> Result<OwnedFd> {
    match rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        // Before 5.6 no process has a time namespace link.
        Err(Errno::NOENT) if kind == Kind::Time => Err(Error::Unsupported {
            op: format!("opening {kind} namespace {path}"),
            feature: Feature::Namespace(kind),
        }),
        other => other.with(|| format!("opening {kind} namespace {path}")),
    }
}
