//! Kernel profiles: run a command as on an older kernel.
//!
//! A profile is a kernel release. Its seccomp filter (classic BPF, x86_64)
//! makes every system call newer than the release fail with `ENOSYS`, the
//! `unshare`/`setns`/`clone` flags newer than it fail with `EINVAL`, and the
//! ioctls newer than it fail with `ENOTTY`, as that kernel answers them. A
//! filter is inherited across fork and exec, so one installed before a
//! command's exec holds for its whole process tree: [`Profile::apply`] does
//! that for a [`Command`] (the tests), and `cargo xtask kernel RELEASE --
//! CMD...` for any command line, a whole test binary included.
//!
//! The table of what came when is [`SYSCALLS`], [`FLAGS`] and [`IOCTLS`],
//! and nothing else decides what a profile refuses. Its sources: the
//! kernel's `arch/x86/entry/syscalls/syscall_64.tbl` at each release tag
//! (which numbers a release has), and for the flags and ioctls the man pages
//! (clone(2), unshare(2), setns(2), time_namespaces(7), pidfd_open(2)) and
//! `include/uapi/linux/pidfd.h`, whose namespace ioctls came with 6.11.
//!
//! What a filter cannot fake: a profile changes what system calls answer,
//! not what the kernel shows (`/proc/*/ns/time` is there under the 4.18
//! profile; statx still reports mount roots, which 5.8 began to do), nor
//! the flags clone3(2) reads from memory (see [`CLONE3_FLAGS_SINCE`]).
//! System calls of other ABIs (i386 `int 0x80`) are let through: nothing
//! here makes them.
//!
//! This file is shared, as it is, by the tests (`common::kernel`) and by
//! `cargo xtask kernel` (xtask has no dependencies), so it uses std alone.

#![allow(dead_code)]

use std::ffi::{c_int, c_long, c_void};
use std::fmt;
use std::process::Command;

/// A kernel release, `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release(pub u32, pub u32);

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

impl Release {
    /// Parses `6.1`, or a full release string (`6.18.44-fc-v1045`).
    pub fn parse(text: &str) -> Option<Release> {
        let mut parts = text.trim().split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Release(major, minor))
    }

    /// The release of the kernel this runs on.
    pub fn running() -> Release {
        let text = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .expect("reading /proc/sys/kernel/osrelease");
        Release::parse(&text).unwrap_or_else(|| panic!("cannot parse the kernel release {text:?}"))
    }
}

/// Every x86_64 system call added after 4.18 (whose table ends at 334,
/// `rseq`), its number and the release that added it. But one:
/// `uretprobe` (335, 6.11), which only uprobe trampolines make and which
/// seccomp lets through by design.
pub const SYSCALLS: &[(&str, c_long, Release)] = &[
    ("pidfd_send_signal", 424, Release(5, 1)),
    ("io_uring_setup", 425, Release(5, 1)),
    ("io_uring_enter", 426, Release(5, 1)),
    ("io_uring_register", 427, Release(5, 1)),
    ("open_tree", 428, Release(5, 2)),
    ("move_mount", 429, Release(5, 2)),
    ("fsopen", 430, Release(5, 2)),
    ("fsconfig", 431, Release(5, 2)),
    ("fsmount", 432, Release(5, 2)),
    ("fspick", 433, Release(5, 2)),
    ("pidfd_open", 434, Release(5, 3)),
    ("clone3", 435, Release(5, 3)),
    ("close_range", 436, Release(5, 9)),
    ("openat2", 437, Release(5, 6)),
    ("pidfd_getfd", 438, Release(5, 6)),
    ("faccessat2", 439, Release(5, 8)),
    ("process_madvise", 440, Release(5, 10)),
    ("epoll_pwait2", 441, Release(5, 11)),
    ("mount_setattr", 442, Release(5, 12)),
    ("quotactl_fd", 443, Release(5, 14)),
    ("landlock_create_ruleset", 444, Release(5, 13)),
    ("landlock_add_rule", 445, Release(5, 13)),
    ("landlock_restrict_self", 446, Release(5, 13)),
    ("memfd_secret", 447, Release(5, 14)),
    ("process_mrelease", 448, Release(5, 15)),
    ("futex_waitv", 449, Release(5, 16)),
    ("set_mempolicy_home_node", 450, Release(5, 17)),
    ("cachestat", 451, Release(6, 5)),
    ("fchmodat2", 452, Release(6, 6)),
    ("map_shadow_stack", 453, Release(6, 6)),
    ("futex_wake", 454, Release(6, 7)),
    ("futex_wait", 455, Release(6, 7)),
    ("futex_requeue", 456, Release(6, 7)),
    ("statmount", 457, Release(6, 8)),
    ("listmount", 458, Release(6, 8)),
    ("lsm_get_self_attr", 459, Release(6, 8)),
    ("lsm_set_self_attr", 460, Release(6, 8)),
    ("lsm_list_modules", 461, Release(6, 8)),
    ("mseal", 462, Release(6, 10)),
    ("setxattrat", 463, Release(6, 13)),
    ("getxattrat", 464, Release(6, 13)),
    ("listxattrat", 465, Release(6, 13)),
    ("removexattrat", 466, Release(6, 13)),
    ("open_tree_attr", 467, Release(6, 15)),
    ("file_getattr", 468, Release(6, 17)),
    ("file_setattr", 469, Release(6, 17)),
    ("listns", 470, Release(6, 19)),
];

/// `unshare`, `setns`, `clone`, `ioctl`, `clone3`: the calls whose
/// arguments a profile looks at.
pub const SYS_UNSHARE: c_long = 272;
pub const SYS_SETNS: c_long = 308;
pub const SYS_CLONE: c_long = 56;
pub const SYS_IOCTL: c_long = 16;
pub const SYS_CLONE3: c_long = 435;

/// `CLONE_NEWTIME`, see time_namespaces(7).
pub const CLONE_NEWTIME: u32 = 0x80;
/// `CLONE_PIDFD`, see clone(2).
pub const CLONE_PIDFD: u32 = 0x1000;

/// A system call and the index of the argument that holds a flag.
pub type FlagArg = (c_long, u32);

/// Flags newer than 4.18, the calls that take them in a register (the
/// argument index), and the release that added them. `CLONE_NEWTIME`
/// is no flag of clone(2), whose low byte is the exit signal.
pub const FLAGS: &[(&str, u32, &[FlagArg], Release)] = &[
    ("CLONE_PIDFD", CLONE_PIDFD, &[(SYS_CLONE, 0)], Release(5, 2)),
    (
        "CLONE_NEWTIME",
        CLONE_NEWTIME,
        &[(SYS_UNSHARE, 0), (SYS_SETNS, 1)],
        Release(5, 6),
    ),
];

/// clone3(2) reads its flags from memory, where a filter cannot look, and
/// it can carry flags newer than itself: `CLONE_CLEAR_SIGHAND` (5.5),
/// `CLONE_NEWTIME` (5.6), `CLONE_INTO_CGROUP` (5.7). So a profile
/// without all of them (5.3 to 5.6: the 5.4 profile) has no clone3 at
/// all (`ENOSYS`): callers then fall back to clone(2), whose flags it
/// checks, as glibc (threads, posix_spawn) does. That never lets through
/// a clone such a kernel refuses; what it leaves untested is a clone3 with
/// old flags on 5.3 to 5.6, which pinns never makes (it calls no clone3
/// of its own).
pub const CLONE3_FLAGS_SINCE: Release = Release(5, 7);

/// `PIDFD_GET_<TYPE>_NAMESPACE` (`_IO(0xFF, n)`, `<linux/pidfd.h>`).
const fn pidfd_ns(n: u32) -> u32 {
    0xFF00 | n
}

/// Ioctl requests newer than 4.18 and the release that added them: the
/// pidfd namespace ioctls (before 6.11 a pidfd answers every ioctl with
/// `ENOTTY`).
pub const IOCTLS: &[(&str, u32, Release)] = &[
    ("PIDFD_GET_CGROUP_NAMESPACE", pidfd_ns(1), Release(6, 11)),
    ("PIDFD_GET_IPC_NAMESPACE", pidfd_ns(2), Release(6, 11)),
    ("PIDFD_GET_MNT_NAMESPACE", pidfd_ns(3), Release(6, 11)),
    ("PIDFD_GET_NET_NAMESPACE", pidfd_ns(4), Release(6, 11)),
    ("PIDFD_GET_PID_NAMESPACE", pidfd_ns(5), Release(6, 11)),
    (
        "PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE",
        pidfd_ns(6),
        Release(6, 11),
    ),
    ("PIDFD_GET_TIME_NAMESPACE", pidfd_ns(7), Release(6, 11)),
    (
        "PIDFD_GET_TIME_FOR_CHILDREN_NAMESPACE",
        pidfd_ns(8),
        Release(6, 11),
    ),
    ("PIDFD_GET_USER_NAMESPACE", pidfd_ns(9), Release(6, 11)),
    ("PIDFD_GET_UTS_NAMESPACE", pidfd_ns(10), Release(6, 11)),
];

/// `PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE`, which pins a PID namespace
/// that has no process yet.
pub const PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE: u32 = pidfd_ns(6);

/// What pinns says, exit 1, to a new PID namespace on a kernel without
/// `PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE` (before 6.11).
pub const NO_PID_NS_IOCTL: &str = "pinns: pinning a new pid namespace: this kernel lacks the pidfd \
     ioctl PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE (Linux 6.11); --from-pid can still pin the pid \
     namespace of a running process\n";

/// What pinns says, exit 1, to a new time namespace before 5.6.
pub const NO_TIME_NS: &str = "pinns: creating time namespace: this kernel does not support it \
     (needs CONFIG_TIME_NS (Linux 5.6))\n";

/// From 6.1 an IPC namespace's sysctls (`kernel.shm*`, `kernel.msg*`,
/// `kernel.sem`) may be written by the root of the user namespace that owns
/// it; before, their files in `/proc/sys` admit the host's root alone, so
/// a user-namespaced pod's IPC sysctls are refused (`EACCES`), as on
/// Debian 11's 5.10 (`cargo xtask vm`). A file permission, not a call: no
/// profile can fake it, so this is the running kernel's.
pub const IPC_SYSCTLS_IN_USER_NS: Release = Release(6, 1);

/// Whether the running kernel lets a user namespace's root write its IPC
/// namespace's sysctls ([`IPC_SYSCTLS_IN_USER_NS`]).
pub fn ipc_sysctls_in_user_ns() -> bool {
    Release::running() >= IPC_SYSCTLS_IN_USER_NS
}

/// What pinns says, exit 1, when a user-namespaced pod sets
/// `kernel.shmmax` on a kernel before [`IPC_SYSCTLS_IN_USER_NS`].
pub const NO_IPC_SYSCTL_IN_USER_NS: &str =
    "pinns: setting sysctl kernel.shmmax: Permission denied\n";

/// The profiles the suite runs under: the releases of the distributions
/// CRI-O's nodes run (RHEL 8, Ubuntu 20.04, Debian 11, RHEL 9, Debian 12),
/// and the running kernel.
pub fn profiles() -> Vec<Profile> {
    let mut all: Vec<Profile> = [
        Release(4, 18),
        Release(5, 4),
        Release(5, 10),
        Release(5, 14),
        Release(6, 1),
    ]
    .into_iter()
    .map(Profile::new)
    .collect();
    all.push(Profile::running());
    all
}

/// What a kernel release answers, as a seccomp filter.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The release it stands for.
    pub release: Release,
    /// Whether it is the running kernel's (which its filter leaves as it is).
    pub running: bool,
    filter: Vec<SockFilter>,
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.running {
            write!(f, "{} (running)", self.release)
        } else {
            write!(f, "{}", self.release)
        }
    }
}

impl Profile {
    /// The profile of `release`.
    pub fn new(release: Release) -> Profile {
        Profile {
            release,
            running: false,
            filter: build_filter(release),
        }
    }

    /// The running kernel's profile: it refuses only what the table says
    /// is newer than the running release (which the kernel lacks anyway).
    pub fn running() -> Profile {
        Profile {
            running: true,
            ..Profile::new(Release::running())
        }
    }

    /// `4.18`, `6.1`, ... or `running`.
    pub fn named(name: &str) -> Option<Profile> {
        if name == "running" {
            return Some(Profile::running());
        }
        Release::parse(name).map(Profile::new)
    }

    /// Whether the profile has the system call `name` of [`SYSCALLS`].
    pub fn has_syscall(&self, name: &str) -> bool {
        let (_, _, since) = SYSCALLS
            .iter()
            .find(|(n, _, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} is not in the table"));
        self.release >= *since && (name != "clone3" || self.release >= CLONE3_FLAGS_SINCE)
    }

    /// Whether the profile has time namespaces (5.6).
    pub fn has_time_ns(&self) -> bool {
        self.release >= Release(5, 6)
    }

    /// Whether the profile can pin a PID namespace with no process yet
    /// (the pidfd ioctl of 6.11).
    pub fn has_pid_ns_ioctl(&self) -> bool {
        let (_, _, since) = IOCTLS
            .iter()
            .find(|(_, req, _)| *req == PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE)
            .expect("in the table");
        self.release >= *since
    }

    /// Runs `cmd` (and every process it starts) under this profile: the
    /// filter is installed between fork and exec.
    pub fn apply<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        use std::os::unix::process::CommandExt;
        let filter = self.filter.clone();
        // SAFETY: the closure runs in the child between fork and exec; it
        // only makes prctl(2) calls on memory prepared before the fork.
        unsafe {
            cmd.pre_exec(move || install_raw(&filter).map_err(std::io::Error::from_raw_os_error))
        }
    }

    /// Installs the filter in the calling process, for good (and for
    /// every thread started afterwards, and every child). The caller must
    /// be single-threaded: a filter binds the calling thread only.
    pub fn install(&self) -> Result<(), std::io::Error> {
        install_raw(&self.filter).map_err(std::io::Error::from_raw_os_error)
    }

    /// Runs `probe` in a forked child of this process under the profile
    /// (and whatever filter this process is under already), and returns
    /// its result: a number 0 to 254, from raw system calls only.
    ///
    /// # Safety
    /// `probe` runs in a copy of a possibly multithreaded process: it may
    /// only make async-signal-safe calls (no allocation, no lock).
    pub unsafe fn probe(&self, probe: impl Fn() -> u8) -> u8 {
        fork_probe(Some(self.filter.as_slice()), probe)
    }
}

/// Runs `probe` in a forked child under no extra filter (only the one
/// this process is under, if any): what the kernel, as the tests see it,
/// answers.
///
/// # Safety
/// As for [`Profile::probe`].
pub unsafe fn probe_here(probe: impl Fn() -> u8) -> u8 {
    fork_probe(None, probe)
}

/// Whether the kernel, as this process sees it (a profile it runs under
/// included), can pin a PID namespace that has no process yet: our own
/// pidfd answers `PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE` only from 6.11.
/// (Asked once per process.)
pub fn has_pid_ns_ioctl() -> bool {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // SAFETY: the probe makes raw system calls only.
    *ANSWER.get_or_init(|| unsafe { probe_here(pid_ns_ioctl_probe) == 0 })
}

/// Whether the kernel, as this process sees it, has time namespaces.
/// (Asked once per process.)
pub fn has_time_ns() -> bool {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // SAFETY: the probe makes raw system calls only.
    *ANSWER.get_or_init(|| unsafe { probe_here(time_ns_probe) == 0 })
}

/// 0 when `PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE` works on our own pidfd,
/// 1 when the kernel lacks it (no pidfd_open, or `ENOTTY`), 2 otherwise.
pub fn pid_ns_ioctl_probe() -> u8 {
    // SAFETY: raw system calls with plain integer arguments.
    unsafe {
        let pidfd = syscall(434, getpid(), 0);
        if pidfd < 0 {
            return if errno() == ENOSYS { 1 } else { 2 };
        }
        let fd = syscall(
            SYS_IOCTL,
            pidfd,
            PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE as c_long,
            0,
        );
        if fd >= 0 {
            return 0;
        }
        if errno() == ENOTTY { 1 } else { 2 }
    }
}

/// 0 when unshare(`CLONE_NEWTIME`) works, 1 on `EINVAL`, 2 otherwise.
/// (In the child that runs it, which exits right after.)
pub fn time_ns_probe() -> u8 {
    // SAFETY: a raw system call with an integer argument.
    let r = unsafe { syscall(SYS_UNSHARE, CLONE_NEWTIME as c_long) };
    match r {
        0 => 0,
        _ if errno() == EINVAL => 1,
        _ => 2,
    }
}

// ---------------------------------------------------------------------------
// The filter.

/// `struct sock_filter` of `<linux/filter.h>`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFilter {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

/// `AUDIT_ARCH_X86_64`.
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// The x32 ABI's bit in a system call number: its calls are the same
/// numbers with this bit set.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_ALU_AND_K: u16 = 0x54;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;

/// Offsets in `struct seccomp_data`: the number, the architecture, and
/// the low half of each argument (little-endian).
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const fn data_arg(i: u32) -> u32 {
    16 + 8 * i
}

const ENOSYS: c_int = 38;
const EINVAL: c_int = 22;
const ENOTTY: c_int = 25;

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> SockFilter {
    SockFilter { code, jt, jf, k }
}

/// The filter of `release`, from the table alone.
fn build_filter(release: Release) -> Vec<SockFilter> {
    let errno = |e: c_int| insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | e as u32);
    let load_nr = |prog: &mut Vec<SockFilter>| {
        prog.push(insn(BPF_LD_W_ABS, 0, 0, DATA_NR));
        prog.push(insn(BPF_ALU_AND_K, 0, 0, !X32_SYSCALL_BIT));
    };
    let mut prog = vec![
        insn(BPF_LD_W_ABS, 0, 0, DATA_ARCH),
        insn(BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ];
    load_nr(&mut prog);
    let mut missing: Vec<c_long> = SYSCALLS
        .iter()
        .filter(|(_, _, since)| *since > release)
        .map(|(_, nr, _)| *nr)
        .collect();
    if release < CLONE3_FLAGS_SINCE && !missing.contains(&SYS_CLONE3) {
        missing.push(SYS_CLONE3);
    }
    for nr in missing {
        prog.push(insn(BPF_JEQ_K, 0, 1, nr as u32));
        prog.push(errno(ENOSYS));
    }
    // One rule per (call, argument, value): reload the number, test the
    // argument's low half (the kernel reads flags and requests as 32-bit).
    let mut rules: Vec<(c_long, u32, u32, bool, c_int)> = Vec::new();
    for (_, flag, calls, since) in FLAGS {
        if *since > release {
            for (nr, arg) in *calls {
                rules.push((*nr, *arg, *flag, true, EINVAL));
            }
        }
    }
    for (_, request, since) in IOCTLS {
        if *since > release {
            rules.push((SYS_IOCTL, 1, *request, false, ENOTTY));
        }
    }
    for (nr, arg, value, any_bit, e) in rules {
        load_nr(&mut prog);
        prog.push(insn(BPF_JEQ_K, 0, 3, nr as u32));
        prog.push(insn(BPF_LD_W_ABS, 0, 0, data_arg(arg)));
        let test = if any_bit { BPF_JSET_K } else { BPF_JEQ_K };
        prog.push(insn(test, 0, 1, value));
        prog.push(errno(e));
    }
    prog.push(insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW));
    assert!(prog.len() < 4096, "a classic BPF program has at most 4096");
    prog
}

// ---------------------------------------------------------------------------
// Raw calls (std only: xtask has no libc crate).

const PR_SET_NO_NEW_PRIVS: c_int = 38;
const PR_SET_SECCOMP: c_int = 22;
const SECCOMP_MODE_FILTER: c_long = 2;
const EACCES: c_int = 13;

unsafe extern "C" {
    fn prctl(option: c_int, ...) -> c_int;
    fn syscall(nr: c_long, ...) -> c_long;
    fn getpid() -> c_int;
    fn fork() -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn _exit(code: c_int) -> !;
    fn __errno_location() -> *mut c_int;
}

fn errno() -> c_int {
    // SAFETY: glibc's thread-local errno, always valid to read.
    unsafe { *__errno_location() }
}

/// Installs `filter` in the calling thread. Async-signal-safe. Root
/// (`CAP_SYS_ADMIN`) may install one as it is; anyone else must first
/// give up gaining privileges by exec (`PR_SET_NO_NEW_PRIVS`), which is
/// then asked for too.
fn install_raw(filter: &[SockFilter]) -> Result<(), c_int> {
    let prog = SockFprog {
        len: filter.len() as u16,
        filter: filter.as_ptr(),
    };
    let set = |prog: &SockFprog| {
        // SAFETY: PR_SET_SECCOMP reads the program `prog` points to,
        // which lives across the call.
        unsafe {
            prctl(
                PR_SET_SECCOMP,
                SECCOMP_MODE_FILTER,
                prog as *const SockFprog as *const c_void,
            )
        }
    };
    if set(&prog) == 0 {
        return Ok(());
    }
    if errno() != EACCES {
        return Err(errno());
    }
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only.
    if unsafe {
        prctl(
            PR_SET_NO_NEW_PRIVS,
            1 as c_long,
            0 as c_long,
            0 as c_long,
            0 as c_long,
        )
    } != 0
        || set(&prog) != 0
    {
        return Err(errno());
    }
    Ok(())
}

fn fork_probe(filter: Option<&[SockFilter]>, probe: impl Fn() -> u8) -> u8 {
    // SAFETY: the child runs only `install_raw` and `probe` (raw system
    // calls, by the caller's promise) and leaves by _exit.
    let pid = unsafe { fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = match filter.map_or(Ok(()), install_raw) {
            Ok(()) => probe(),
            Err(_) => 255,
        };
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { _exit(c_int::from(code)) }
    }
    let mut status: c_int = 0;
    loop {
        // SAFETY: waits for our own child, into a local.
        let r = unsafe { waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        assert!(r < 0 && errno() == 4, "waitpid failed");
    }
    assert!(
        status & 0x7f == 0,
        "the probe died of signal {}",
        status & 0x7f
    );
    let code = ((status >> 8) & 0xff) as u8;
    assert_ne!(code, 255, "the probe could not install its filter");
    code
}
