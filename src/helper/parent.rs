//! The parent's side of the forked helper: forking it, following its
//! reports, writing its id maps, opening its namespaces, reaping it.
//!
//! Runs in the caller's process, in whichever thread pins, so it may
//! allocate and block, but never unboundedly: it waits for a report only
//! while the child's pidfd says the child is alive (a copy of the pipe in
//! some other fork must not stand in for it), and every call that blocks
//! is restarted on `EINTR`. It touches the child (by pid and pidfd, never
//! after reaping it), the child's `/proc/<pid>/` files, and the two pipes.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, WaitOptions};

use super::message::{self, Message};
use super::{Setup, Step, child, last_errno, open_ns, read_full, write_file};
use crate::error::{Context, Error, Result, restart};
use crate::idmap::IdMap;
use crate::kernel::{self, own_pid, pid_ns_of};
use crate::ns::Kind;

/// How long the parent waits on the helper's pipe, on kernels without
/// pidfds, before asking again whether the helper is still alive.
const NO_PIDFD_SLICE: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 10_000_000,
};

/// A forked helper child that holds new namespaces until we pinned them.
pub(crate) struct Helper {
    pid: Pid,
    /// A byte (or end of file) here tells the child to go on, or to exit.
    to_child: Option<OwnedFd>,
    /// The child's pidfd, readable once it has exited (None on kernels
    /// before 5.3, which ask waitid(2) instead).
    pidfd: Option<OwnedFd>,
    reaped: bool,
}

impl Helper {
    /// Forks the helper and waits until it has created every namespace of
    /// `setup`; `maps` are the uid and gid maps of a new user namespace.
    pub(crate) fn spawn(setup: &Setup<'_>, maps: Option<(&IdMap, &IdMap)>) -> Result<Helper> {
        let fork_error = |e| Error::os("creating the helper's pipes", e);
        let (from_child_r, from_child_w) =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(fork_error)?;
        let (to_child_r, to_child_w) =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(fork_error)?;
        // Prepared before fork: the child may not allocate.
        let maps_text = maps.map(|(uid, gid)| (uid.to_kernel(), gid.to_kernel()));
        let parent = own_pid().with(|| "reading our process id".to_string())?;
        // SAFETY: the child only runs `child::main`, which makes raw system
        // calls on data prepared before the fork and never returns. Not
        // rustix's fork: it exists only for implementing a runtime.
        match unsafe { libc::fork() } {
            -1 => Err(Error::os(
                "forking the helper",
                Errno::from_raw_os_error(last_errno()),
            )),
            0 => {
                // The child from here on: `child`'s rules hold.
                #[cfg(test)]
                super::no_alloc::forked();
                // The parent's ends: were they open here too, the child would
                // never see end of file when the parent closes its own.
                drop((from_child_r, to_child_w));
                child::main(setup, parent, from_child_w.as_fd(), to_child_r.as_fd())
            }
            pid => {
                drop((from_child_w, to_child_r));
                let pid = Pid::from_raw(pid).expect("fork returned a positive pid");
                let mut helper = Helper {
                    pid,
                    to_child: Some(to_child_w),
                    pidfd: None,
                    reaped: false,
                };
                // Why a pidfd: end of file on the child's pipe is not proof
                // that it exited, for a copy of the pipe's write end lives
                // in any process another thread of ours forked meanwhile.
                // The pidfd says when the child is gone, whoever else holds
                // the pipe.
                helper.pidfd =
                    kernel::pidfd(pid).with(|| "opening the helper's pidfd".to_string())?;
                helper.handshake(setup, maps_text, from_child_r)?;
                Ok(helper)
            }
        }
    }

    /// Follows the child through its steps, writing its id maps when asked.
    fn handshake(
        &mut self,
        setup: &Setup<'_>,
        maps: Option<(String, String)>,
        from_child: OwnedFd,
    ) -> Result<()> {
        loop {
            let mut bytes: message::Encoded = [0; message::LEN];
            let n = self
                .read_report(from_child.as_fd(), &mut bytes)
                .with(|| "waiting for the helper".to_string())?;
            if n == 0 {
                return Err(Error::Helper {
                    why: "it exited before reporting".into(),
                });
            }
            let protocol_error = |why: &dyn std::fmt::Display| Error::Helper {
                why: format!("its report is malformed: {why}"),
            };
            match Message::decode(&bytes[..n]).map_err(|e| protocol_error(&e))? {
                Message::Ready => return Ok(()),
                Message::UserReady => {
                    let (uid, gid) = maps.as_ref().ok_or_else(|| {
                        protocol_error(&"it asks for id maps, and none were given")
                    })?;
                    for (file, text) in [("uid_map", uid), ("gid_map", gid)] {
                        let path = format!("/proc/{}/{file}", self.pid.as_raw_nonzero());
                        let c = std::ffi::CString::new(path).expect("no NUL in a path");
                        write_file(&c, text.as_bytes())
                            .with(|| format!("writing the user namespace's {file}"))?;
                    }
                    let to_child = self.to_child.as_ref().expect("pipe open until finish");
                    restart(|| rustix::io::write(to_child, &[1]))
                        .with(|| "signalling the helper".to_string())?;
                }
                Message::Failed(Step::Sysctl(i), _) if usize::from(i) >= setup.sysctls.len() => {
                    return Err(protocol_error(&format_args!("no sysctl number {i}")));
                }
                Message::Failed(step, errno) => return Err(setup.error(step, errno)),
            }
        }
    }

    /// Reads one report from the child into `msg`, or less when it exited
    /// without sending one. Waits only while the child is alive.
    fn read_report(&self, from_child: BorrowedFd<'_>, msg: &mut [u8]) -> rustix::io::Result<usize> {
        if let Some(pidfd) = &self.pidfd {
            let mut fds = [
                PollFd::new(&from_child, PollFlags::IN),
                PollFd::new(pidfd, PollFlags::IN),
            ];
            restart(|| rustix::event::poll(&mut fds, None))?;
            if fds[0].revents().is_empty() {
                // The child exited and its pipe is silent: no report comes.
                return Ok(0);
            }
        } else {
            // No pidfd (before 5.3): wait on the pipe a slice at a time,
            // and between slices ask whether the child has exited.
            while !readable(from_child, Some(&NO_PIDFD_SLICE))? {
                if self.exited()? {
                    // A report sent just before it exited is still there.
                    if readable(from_child, Some(&Timespec::default()))? {
                        break;
                    }
                    return Ok(0);
                }
            }
        }
        // Something to read, or end of file: a pipe write of a report is
        // atomic, so this does not block.
        read_full(from_child, msg)
    }

    /// Whether the child has exited, without reaping it (waitid(2) with
    /// `WNOWAIT`), for kernels without pidfds.
    fn exited(&self) -> rustix::io::Result<bool> {
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        restart(|| rustix::process::waitid(WaitId::Pid(self.pid), options))
            .map(|status| status.is_some())
    }

    /// Opens the helper's new namespace of `kind`, whose descriptor keeps it
    /// alive after the helper exits.
    pub(crate) fn open_ns(&self, kind: Kind) -> Result<OwnedFd> {
        if kind == Kind::Pid {
            return self.pid_for_children();
        }
        let path = format!("/proc/{}/ns/{}", self.pid.as_raw_nonzero(), kind.new_link());
        open_ns(&path, kind)
    }

    /// The helper's new PID namespace, which has no process in it yet
    /// and so no `pid_for_children` link: the pidfd ioctl reaches it anyway.
    fn pid_for_children(&self) -> Result<OwnedFd> {
        let opened;
        let pidfd = match &self.pidfd {
            Some(fd) => fd,
            None => {
                opened = match kernel::pidfd(self.pid)
                    .with(|| "opening the helper's pidfd".to_string())?
                {
                    Some(fd) => fd,
                    // Before 5.3 there are no pidfds, so no ioctl either.
                    None => return Err(kernel::no_pid_ns_ioctl()),
                };
                &opened
            }
        };
        pid_ns_of(pidfd.as_fd(), "opening the new pid namespace")
    }

    /// Lets the helper exit and reaps it.
    pub(crate) fn finish(mut self) -> Result<()> {
        // A byte, not only end of file: a copy of our end may live in a
        // process another thread of ours forked, and then no end of file
        // comes while that process lives.
        let to_child = self.to_child.take().expect("pipe open until finish");
        if restart(|| rustix::io::write(&to_child, &[0])) != Ok(1) {
            // The namespaces are held by our descriptors by now.
            let _ = rustix::process::kill_process(self.pid, Signal::KILL);
        }
        drop(to_child);
        self.reap()
    }

    fn reap(&mut self) -> Result<()> {
        if self.reaped {
            return Ok(());
        }
        self.reaped = true;
        // Bounded: the child exits once it reads our byte or end of file
        // (or at SIGKILL), and nothing else can make it wait.
        restart(|| rustix::process::waitpid(Some(self.pid), WaitOptions::empty()))
            .map(drop)
            .with(|| "waiting for the helper".to_string())
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if !self.reaped {
            // Closing its pipe first lets the child exit on its own (it
            // reads end of file), so the wait below ends even if kill(2)
            // failed.
            self.to_child = None;
            // Our own child, known by pid and not yet reaped, so the pid
            // cannot have been reused.
            let _ = rustix::process::kill_process(self.pid, Signal::KILL);
            let _ = self.reap();
        }
    }
}

/// Whether `fd` has something to read (or is at end of file) within
/// `timeout`.
fn readable(fd: BorrowedFd<'_>, timeout: Option<&Timespec>) -> rustix::io::Result<bool> {
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    restart(|| rustix::event::poll(&mut fds, timeout))?;
    Ok(!fds[0].revents().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ns::KindSet;

    /// Runs the parent's side against a forked child that sends `report`
    /// and exits, and returns the parent's error.
    fn handshake_with(report: &[u8]) -> Error {
        let (from_child_r, from_child_w) =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("a pipe");
        let (to_child_r, to_child_w) =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("a pipe");
        // SAFETY: the child makes raw system calls only, on data prepared
        // before the fork, and leaves by _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "{}", std::io::Error::last_os_error());
        if pid == 0 {
            drop((from_child_r, to_child_w, to_child_r));
            let sent = rustix::io::write(&from_child_w, report);
            child::exit(if sent == Ok(report.len()) { 0 } else { 1 });
        }
        drop((from_child_w, to_child_r));
        let pid = Pid::from_raw(pid).expect("a positive pid");
        let mut helper = Helper {
            pid,
            to_child: Some(to_child_w),
            pidfd: rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok(),
            reaped: false,
        };
        let sysctls = ["kernel.hostname=x".parse().expect("a valid sysctl")];
        let setup = Setup {
            new: KindSet::EMPTY,
            become_root: false,
            sysctls: &sysctls,
            loopback: false,
            time_offsets: None,
            proc_sys: None,
        };
        let result = helper.handshake(&setup, None, from_child_r);
        // Dropping the helper reaps the child.
        drop(helper);
        result.expect_err("a malformed report is refused")
    }

    /// A report the child could not have sent is a one-line protocol
    /// error, not a panic and not a guess.
    #[test]
    fn a_malformed_report_is_a_protocol_error() {
        let out_of_range = Message::Failed(Step::Sysctl(1), Errno::PERM).encode();
        for (report, why) in [
            (&[9u8; message::LEN][..], "unknown report tag 9"),
            (&[3, 9, 0, 0, 1, 0, 0, 0][..], "unknown step tag 9"),
            (&[3, 2, 8, 0, 1, 0, 0, 0][..], "unknown namespace kind 8"),
            (&[2, 0, 0][..], "a report of 3 bytes, not 8"),
            (&out_of_range[..], "no sysctl number 1"),
        ] {
            let error = handshake_with(report);
            assert!(
                matches!(error, Error::Helper { .. }),
                "{report:?}: {error:?}"
            );
            assert_eq!(
                error.to_string(),
                format!("creating namespaces in a helper process: its report is malformed: {why}"),
                "{report:?}"
            );
        }
        // The well-formed report beside them is named as the step it is.
        let good = Message::Failed(Step::Sysctl(0), Errno::PERM).encode();
        assert_eq!(
            handshake_with(&good).to_string(),
            "setting sysctl kernel.hostname: Operation not permitted"
        );
    }
}
