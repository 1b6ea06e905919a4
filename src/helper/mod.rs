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
//! The child runs between fork(2) and its exit in a copy of a possibly
//! multithreaded process, so it only makes raw system calls: no allocation,
//! no locks. It reports each step over a pipe as a fixed-size message, and
//! it dies with its parent (`PR_SET_PDEATHSIG`), so a killed `pinns` never
//! leaves it behind holding CRI-O's output pipe open.
//!
//! Neither side waits on the other unboundedly: a child that cannot send a
//! report exits; the parent waits for a report only while the child's
//! pidfd says it is alive (a copy of the pipe in some other fork must not
//! stand in for it); the child closes every descriptor it does not need
//! (it may be a copy of another helper's parent); it is told to exit by a
//! byte, not only by end of file; and every call that blocks is restarted
//! on `EINTR`, since a library caller may handle signals.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitOptions};
use rustix::thread::UnshareFlags;

use crate::error::{Context, Error, Result, restart};
use crate::idmap::IdMap;
use crate::ns::{Kind, KindSet};
use crate::sysctl::Sysctl;

/// `PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE` from `<linux/pidfd.h>`
/// (`_IO(0xFF, 6)`, Linux 6.11).
const PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE: libc::c_ulong = 0xFF06;

/// Whether an errno from `PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE` means the
/// kernel lacks the ioctl (before 6.11, a pidfd has no ioctls).
fn lacks_pid_ns_ioctl(errno: i32) -> bool {
    matches!(errno, libc::ENOTTY | libc::EINVAL | libc::EOPNOTSUPP)
}

/// The refusal for a new PID namespace on a kernel that cannot reach one
/// with no process in it.
fn no_pid_ns_ioctl() -> Error {
    Error::Refused(
        "pinning a new pid namespace: this kernel lacks the pidfd ioctl \
         PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE (Linux 6.11); \
         --from-pid can still pin the pid namespace of a running process"
            .into(),
    )
}

/// Refuses a new PID namespace up front, before anything is made, on a
/// kernel without the pidfd ioctl that pins one: asked of our own pidfd
/// (our own `pid_for_children` namespace exists), it fails just as it
/// would for the helper's.
pub(crate) fn check_pid_ns_pinning() -> Result<()> {
    let what = "checking for the pidfd ioctl PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE";
    let own = own_pid().with(|| "reading our process id".to_string())?;
    let pidfd = match rustix::process::pidfd_open(own, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOSYS) => return Err(no_pid_ns_ioctl()),
        Err(e) => return Err(Error::os(what, e)),
    };
    // SAFETY: as in `Helper::pid_for_children`: no argument, and the
    // descriptor returned is owned at once.
    let fd = unsafe { libc::ioctl(pidfd.as_raw_fd(), PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0) };
    if fd < 0 {
        let errno = last_errno();
        if lacks_pid_ns_ioctl(errno) {
            return Err(no_pid_ns_ioctl());
        }
        return Err(Error::os(what, Errno::from_raw_os_error(errno)));
    }
    // SAFETY: the kernel just returned this descriptor to us alone; it is
    // closed when dropped.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(())
}

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
    Sysctl(u16),
    Loopback,
}

type StepResult = std::result::Result<(), (Step, Errno)>;

impl Setup<'_> {
    /// Everything after the user namespace: the other namespaces, then
    /// what is written inside them. Async-signal-safe.
    fn create_rest(&self) -> StepResult {
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

    /// Turns a failed step into an error that names it.
    pub(crate) fn error(&self, step: Step, errno: Errno) -> Error {
        match step {
            Step::UnshareUser | Step::Unshare(_) => {
                let kind = match step {
                    Step::Unshare(kind) => kind,
                    _ => Kind::User,
                };
                if errno == Errno::INVAL {
                    Error::Refused(format!(
                        "creating {kind} namespace: this kernel does not support it (needs {})",
                        kind.kernel_feature()
                    ))
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

/// unshare(2) of namespace flags only. Async-signal-safe.
fn unshare(clone_flags: libc::c_int) -> std::result::Result<(), Errno> {
    let flags = UnshareFlags::from_bits_retain(clone_flags as u32);
    debug_assert!(!flags.contains(UnshareFlags::FILES));
    // SAFETY: the danger rustix guards against is CLONE_FILES, which splits
    // the descriptor table between threads; namespace flags never include it.
    unsafe { rustix::thread::unshare_unsafe(flags) }
}

/// Writes `data` to the file at `path` in one write(2). Async-signal-safe.
fn write_file(path: &CStr, data: &[u8]) -> std::result::Result<(), Errno> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    match restart(|| rustix::io::write(&fd, data))? {
        n if n == data.len() => Ok(()),
        _ => Err(Errno::IO),
    }
}

/// Sets `IFF_UP` on `lo` in the calling thread's network namespace, as
/// `ip link set lo up` does, with the classic interface ioctls (a fresh
/// namespace has its loopback down). Async-signal-safe.
fn loopback_up() -> std::result::Result<(), Errno> {
    // SAFETY: socket(2) with constant arguments; the result is checked and
    // owned at once.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(Errno::from_raw_os_error(last_errno()));
    }
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
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

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .filter(|e| *e > 0)
        .unwrap_or(libc::EIO)
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
            .map_err(|e| {
                Error::os(
                    "starting a thread to create namespaces",
                    Errno::from_io_error(&e).unwrap_or(Errno::AGAIN),
                )
            })?;
        thread.join().unwrap_or_else(|_| {
            Err(Error::Refused(
                "creating namespaces: the thread panicked".into(),
            ))
        })
    })
}

/// Opens a namespace file read-only (a descriptor keeps it alive).
pub(crate) fn open_ns(path: &str, kind: Kind) -> Result<OwnedFd> {
    match rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        // Before 5.6 no process has a time namespace link.
        Err(Errno::NOENT) if kind == Kind::Time => Err(Error::Refused(format!(
            "opening {kind} namespace {path}: this kernel has no time namespaces (needs {})",
            kind.kernel_feature()
        ))),
        other => other.with(|| format!("opening {kind} namespace {path}")),
    }
}

/// The messages a helper child sends: a step that failed, or progress.
const MSG_USER_READY: u8 = 1;
const MSG_READY: u8 = 2;
const MSG_FAILED: u8 = 3;

/// One message: kind, step tag, step argument, errno.
type Msg = [u8; 8];

fn encode(kind: u8, failure: Option<(Step, Errno)>) -> Msg {
    let mut msg = [0u8; 8];
    msg[0] = kind;
    if let Some((step, errno)) = failure {
        let (tag, arg): (u8, u16) = match step {
            Step::Helper => (6, 0),
            Step::UnshareUser => (0, 0),
            Step::BecomeRoot => (1, 0),
            Step::Unshare(kind) => (2, kind as u16),
            Step::TimeOffsets => (3, 0),
            Step::Sysctl(i) => (4, i),
            Step::Loopback => (5, 0),
        };
        msg[1] = tag;
        msg[2..4].copy_from_slice(&arg.to_ne_bytes());
        msg[4..8].copy_from_slice(&errno.raw_os_error().to_ne_bytes());
    }
    msg
}

fn decode(msg: &Msg) -> (Step, Errno) {
    let arg = u16::from_ne_bytes([msg[2], msg[3]]);
    let step = match msg[1] {
        0 => Step::UnshareUser,
        1 => Step::BecomeRoot,
        2 => Step::Unshare(
            Kind::ALL
                .into_iter()
                .find(|k| *k as u16 == arg)
                .unwrap_or(Kind::User),
        ),
        3 => Step::TimeOffsets,
        4 => Step::Sysctl(arg),
        6 => Step::Helper,
        _ => Step::Loopback,
    };
    let errno = i32::from_ne_bytes([msg[4], msg[5], msg[6], msg[7]]);
    (step, Errno::from_raw_os_error(errno))
}

/// How long the parent waits on the helper's pipe, on kernels without
/// pidfds, before asking again whether the helper is still alive.
const NO_PIDFD_SLICE_MS: libc::c_int = 10;

/// Whether `fd` has something to read (or is at end of file) within
/// `timeout_ms`.
fn readable(fd: BorrowedFd<'_>, timeout_ms: libc::c_int) -> rustix::io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    restart(|| {
        // SAFETY: `pfd` is one valid pollfd struct.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if r < 0 {
            Err(Errno::from_raw_os_error(last_errno()))
        } else {
            Ok(pfd.revents != 0)
        }
    })
}

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
        // SAFETY: the child only runs `child_main`, which makes raw system
        // calls on data prepared before the fork and never returns.
        match unsafe { libc::fork() } {
            -1 => Err(Error::os(
                "forking the helper",
                Errno::from_raw_os_error(last_errno()),
            )),
            0 => {
                // The parent's ends: were they open here too, the child would
                // never see end of file when the parent closes its own.
                drop((from_child_r, to_child_w));
                child_main(setup, parent, from_child_w.as_fd(), to_child_r.as_fd())
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
                    match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
                        Ok(fd) => Some(fd),
                        Err(Errno::NOSYS) => None,
                        Err(e) => return Err(Error::os("opening the helper's pidfd", e)),
                    };
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
            let mut msg: Msg = [0; 8];
            let n = self
                .read_report(from_child.as_fd(), &mut msg)
                .with(|| "waiting for the helper".to_string())?;
            if n != msg.len() {
                return Err(Error::os("waiting for the helper: it exited", Errno::PIPE));
            }
            match msg[0] {
                MSG_READY => return Ok(()),
                MSG_USER_READY => {
                    let (uid, gid) = maps.as_ref().ok_or_else(|| {
                        Error::os("writing id maps: no maps were given", Errno::INVAL)
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
                _ => {
                    let (step, errno) = decode(&msg);
                    return Err(setup.error(step, errno));
                }
            }
        }
    }

    /// Reads one report from the child into `msg`, or less when it exited
    /// without sending one. Waits only while the child is alive.
    fn read_report(&self, from_child: BorrowedFd<'_>, msg: &mut Msg) -> rustix::io::Result<usize> {
        if let Some(pidfd) = &self.pidfd {
            let mut fds = [
                libc::pollfd {
                    fd: from_child.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: pidfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            restart(|| {
                // SAFETY: `fds` is an array of two valid pollfd structs.
                let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
                if r < 0 {
                    Err(Errno::from_raw_os_error(last_errno()))
                } else {
                    Ok(())
                }
            })?;
            if fds[0].revents == 0 {
                // The child exited and its pipe is silent: no report comes.
                return Ok(0);
            }
        } else {
            // No pidfd (before 5.3): wait on the pipe a slice at a time,
            // and between slices ask whether the child has exited.
            while !readable(from_child, NO_PIDFD_SLICE_MS)? {
                if self.exited()? {
                    // A report sent just before it exited is still there.
                    if readable(from_child, 0)? {
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
        restart(|| {
            // SAFETY: siginfo_t is plain old data; all zeroes is valid.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid(2) of our own child, into a local siginfo_t.
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    self.pid.as_raw_nonzero().get() as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                )
            };
            if r < 0 {
                return Err(Errno::from_raw_os_error(last_errno()));
            }
            // SAFETY: waitid filled `info` (or left it zeroed: not exited).
            Ok(unsafe { info.si_pid() } != 0)
        })
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
                opened = match rustix::process::pidfd_open(
                    self.pid,
                    rustix::process::PidfdFlags::empty(),
                ) {
                    Ok(fd) => fd,
                    // Before 5.3 there are no pidfds, so no ioctl either.
                    Err(Errno::NOSYS) => return Err(no_pid_ns_ioctl()),
                    Err(e) => return Err(Error::os("opening the helper's pidfd", e)),
                };
                &opened
            }
        };
        // SAFETY: this ioctl takes no argument and returns a new descriptor
        // or -1; the descriptor is owned at once.
        let fd = unsafe { libc::ioctl(pidfd.as_raw_fd(), PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0) };
        if fd < 0 {
            let errno = last_errno();
            if lacks_pid_ns_ioctl(errno) {
                return Err(no_pid_ns_ioctl());
            }
            return Err(Error::os(
                "opening the new pid namespace",
                Errno::from_raw_os_error(errno),
            ));
        }
        // SAFETY: the kernel just returned this descriptor to us alone.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
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

/// Reads until `buf` is full or end of file; returns how much was read.
fn read_full(fd: BorrowedFd<'_>, buf: &mut [u8]) -> rustix::io::Result<usize> {
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

/// This process's id. The raw call, which reports an error as one, where
/// rustix takes getpid(2) to be infallible and would panic.
fn own_pid() -> rustix::io::Result<Pid> {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::syscall(libc::SYS_getpid) };
    if pid < 0 {
        return Err(Errno::from_raw_os_error(last_errno()));
    }
    Pid::from_raw(pid as i32).ok_or(Errno::SRCH)
}

/// Asks for SIGKILL when the parent dies, and catches the parent having
/// died before the request took effect. Async-signal-safe.
fn die_with(parent: Pid) -> std::result::Result<(), Errno> {
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

/// The helper child. Runs only async-signal-safe raw system calls.
fn child_main(
    setup: &Setup<'_>,
    parent: Pid,
    to_parent: BorrowedFd<'_>,
    from_parent: BorrowedFd<'_>,
) -> ! {
    // A report the parent never gets would leave it waiting for the report
    // while we wait for the parent: when one cannot be sent, exit at once,
    // and the parent reads end of file instead.
    let send = |msg: Msg| match restart(|| rustix::io::write(to_parent, &msg)) {
        Ok(n) if n == msg.len() => {}
        _ => exit(1),
    };
    close_all_but(&[
        to_parent.as_raw_fd(),
        from_parent.as_raw_fd(),
        setup.proc_sys.map_or(-1, |fd| fd.as_raw_fd()),
    ]);
    let result = (|| -> StepResult {
        die_with(parent).map_err(|e| (Step::Helper, e))?;
        if setup.new.contains(Kind::User) {
            unshare(libc::CLONE_NEWUSER).map_err(|e| (Step::UnshareUser, e))?;
            send(encode(MSG_USER_READY, None));
            // The parent writes our maps, then one byte.
            let mut byte = [0u8; 1];
            match read_full(from_parent, &mut byte) {
                Ok(1) => {}
                Ok(_) => return Err((Step::Helper, Errno::PIPE)),
                Err(e) => return Err((Step::Helper, e)),
            }
            if setup.become_root {
                // Why: namespaces made from here on are owned by the new
                // user namespace, and the ipc and mqueue sysctls are only
                // writable by its root (see the kernel notes).
                rustix::thread::set_thread_groups(&[]).map_err(|e| (Step::BecomeRoot, e))?;
                let root_gid = rustix::process::Gid::ROOT;
                let root_uid = rustix::process::Uid::ROOT;
                rustix::thread::set_thread_res_gid(root_gid, root_gid, root_gid)
                    .map_err(|e| (Step::BecomeRoot, e))?;
                rustix::thread::set_thread_res_uid(root_uid, root_uid, root_uid)
                    .map_err(|e| (Step::BecomeRoot, e))?;
                // Changing uid made us undumpable, which hands /proc/self to
                // the host's root; restore it so timens_offsets stays ours.
                rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::Dumpable)
                    .map_err(|e| (Step::BecomeRoot, e))?;
                // Changing credentials also cleared the death signal.
                die_with(parent).map_err(|e| (Step::BecomeRoot, e))?;
            }
        }
        setup.create_rest()
    })();
    match result {
        Ok(()) => send(encode(MSG_READY, None)),
        Err(failure) => send(encode(MSG_FAILED, Some(failure))),
    }
    // Hold the namespaces until the parent has pinned them and closes
    // its end of the pipe (or dies). A failed read ends the wait too: the
    // parent then finds the namespaces gone and says so.
    let mut byte = [0u8; 1];
    let _ = read_full(from_parent, &mut byte);
    exit(0)
}

/// Closes every descriptor above 2 but `keep` (-1 entries are ignored).
/// Why: the helper is a copy of a process whose other threads may have
/// been forking helpers of their own, and a copy of another helper's pipe
/// held here would keep that helper's parent from ever seeing end of file;
/// nor should the helper keep the caller's own files open. Best effort
/// (close_range(2), Linux 5.9, or a walk of `/proc/self/fd` before it),
/// and async-signal-safe.
fn close_all_but(keep: &[RawFd]) {
    let mut keep: [RawFd; 3] = [keep[0], keep[1], keep[2]];
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

/// close_range(2); false when the kernel has none (before 5.9).
fn close_range(first: u32, last: u32) -> bool {
    // SAFETY: close_range(2) only closes descriptors of this process (the
    // helper, which owns its descriptor table alone after fork(2)); none of
    // them is used again but the ones kept.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    r == 0 || last_errno() != libc::ENOSYS
}

/// What [`close_all_but`] does on kernels without close_range(2): closes
/// every descriptor above 2 that `/proc/self/fd` lists but `keep`, read
/// with getdents64(2) into a buffer on the stack (the numbers in use may
/// be sparse and far above any bound worth counting up to).
/// Async-signal-safe.
fn close_listed(keep: &[RawFd]) {
    let Ok(dir) = rustix::fs::open(
        c"/proc/self/fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let mut buf = [0u8; 1024];
    loop {
        // SAFETY: getdents64 writes at most `buf.len()` bytes into `buf`.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n <= 0 {
            return;
        }
        let mut at = 0usize;
        while at + 19 < n as usize {
            // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2),
            // d_type (1), then the NUL-terminated name.
            let reclen = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
            if reclen == 0 {
                return;
            }
            let name = &buf[at + 19..(at + reclen).min(n as usize)];
            let mut fd: u32 = 0;
            let mut digits = 0;
            for b in name.iter().take_while(|b| **b != 0) {
                if !b.is_ascii_digit() {
                    digits = 0;
                    break;
                }
                fd = fd.saturating_mul(10).saturating_add(u32::from(b - b'0'));
                digits += 1;
            }
            // `.`, `..` and the directory's own descriptor are skipped;
            // /proc/self/fd lists by number, so closing as we read skips
            // no entry.
            let fd = fd as RawFd;
            if digits > 0 && fd > 2 && fd != dir.as_raw_fd() && !keep.contains(&fd) {
                // SAFETY: as in close_range: only the helper's own
                // descriptors, none of them used again.
                unsafe { libc::close(fd) };
            }
            at += reclen;
        }
    }
}

/// Ends the helper at once. Async-signal-safe.
fn exit(code: i32) -> ! {
    // SAFETY: _exit ends this process at once, without running the parent's
    // atexit handlers or destructors, which are not ours to run.
    unsafe { libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            exit(code);
        }
        let mut status = 0;
        // SAFETY: waits for our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "{status:#x}");
        assert_eq!(libc::WEXITSTATUS(status), 0);
    }
}
