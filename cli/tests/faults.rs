//! Fault injection: every system call of a pin and of an unpin
//! fails in turn, and `pinns` never hangs, never dies of a signal it did
//! not get, never leaves a process behind, and leaves either a whole pin
//! or nothing.
//!
//! Each scenario is first run once under `strace -f -o LOG` to list the
//! system calls each process makes. Then, for every system call NAME and
//! every occurrence K of it, a run under
//! `strace -f -e trace=execve,NAME -e inject=NAME:error=ERRNO:when=K`
//! fails that occurrence with `EIO`, with `EINTR` (calls that block:
//! `flock`, `read`, `write`, `wait4`) and, in another run, kills the
//! process at the call (`signal=SIGKILL`). Every run has a fresh DIR of
//! its own (prepared like the scenario's, or missing for the first pin)
//! on a scratch mount of the propagation the scenario names (private:
//! `pinns pin` makes the type directories shared self-binds; shared: it mounts
//! the pins alone), so what is walked does not hang on how this machine's
//! /tmp propagates; the runs go three at a time.
//!
//! One verdict, loaded or idle: each run is judged by its own log. How
//! often a call is made moves from run to run: the mount table that pinns
//! reads on kernels without statmount (a `read` a page) grows and shrinks
//! with what else is mounted on the machine, a helper waited on in 10 ms
//! slices (no pidfd, before 5.3) is polled as often as it is slow, and a
//! call the kernel restarts is entered again. So the listing only plans
//! the occurrences; the faulted run traces every occurrence of NAME in
//! every process, and counts them as strace does for `when=` (per
//! process, every entry, restarts included):
//!
//! - the fault shows (`(INJECTED)` on a line of NAME, or the process
//!   killed right after one): the run is checked as below;
//! - no fault shows, and some process made NAME K times or more: the
//!   injector missed, and the walk fails
//!   ([`a_run_whose_fault_never_came_fails_the_walk`] proves it with a run
//!   whose injector does nothing);
//! - no fault shows, and no process made NAME K times: that occurrence
//!   never came in this run, which its own log proves. The run is clean,
//!   is checked as a clean run (exit 0, whole pins, everything after) and
//!   counted "not reached", not failed.
//!
//! Why this design and not another: strace's injector is well kept and
//! does the one thing needed; what moved with the load was only which
//! run's count a run was held to. A call site cannot be named from
//! outside (strace, or a seccomp-notify injector of our own, sees only the
//! address of the libc or rustix wrapper, the same for every `read`), and
//! counting by phase would need hooks in pinns. The calls whose count
//! moves (`read` where the listing read the mount table; `poll` and
//! `waitid` without pidfds) are planned [`MARGIN`] occurrences past the
//! listing's count, so that a run making more of them than the listing
//! still has its last ones faulted. Without pidfds, every `waitid` run has
//! strace answer the first `poll` slice with 0 (run out) without making
//! it, so that `waitid` is reached in every run, not only on a slow one.
//!
//! After each run:
//!
//! - exit 0: every pin is an nsfs mount of the right type (for unpin:
//!   nothing of NAME is left); an `EINTR` run must end so, the call being
//!   restarted;
//! - exit 1: exactly one line `pinns: …` on stderr, nothing on stdout, and
//!   nothing of NAME left (an unpin that failed may leave NAME: the clean
//!   unpin below must then remove it);
//! - killed (only when the fault is the kill): nothing more here;
//! - in every case: stdout and stderr reach end of file and `pinns` ends
//!   within [`HANG`] (else the run is a hang and is killed), no process of
//!   the run is left (this test is a child subreaper, so orphans come to
//!   it and are seen), a clean `pinns unpin` exits 0 and leaves nothing of
//!   NAME, and a clean pin of the scenario into the same DIR succeeds with
//!   the type directories' propagation intact.
//!
//! The walk runs under every kernel profile (`common::kernel`: 4.18 to the
//! running kernel; `PINNS_FAULT_PROFILES=4.18,running` picks some): each
//! run's pinns, the listing run, the faulted run under strace (strace and
//! pinns both under the profile) and the clean pins and unpins around
//! it. An older kernel makes pinns take its fallbacks (mount(2) for
//! open_tree and move_mount, an openat walk for openat2, /proc for
//! pidfd_open), so each profile's calls are listed and faulted on their
//! own; a call the profile's kernel lacks only ever answers `ENOSYS` there
//! and is not faulted. A scenario pinning what the profile or the kernel
//! lacks (a time namespace before 5.6, a new PID namespace before 6.11)
//! is not walked there: cli/tests/kernels.rs asserts its one-line refusal.
//!
//! Runs that would prove nothing another run does not are not made:
//!
//! - a scenario under a profile whose listing shows the same route as
//!   under an earlier profile (the same calls in each process in the same
//!   order, a loop's length aside, and each call of the kernel table, and
//!   the time and pidfd namespace features, answered alike by both): the
//!   faulted runs would be the same runs, call for call (6.1 walks nothing
//!   5.14 does not: what separates them, `process_mrelease`, `futex_waitv`
//!   and `set_mempolicy_home_node`, pinns never calls);
//! - `ENOMEM`: pin and unpin match neither it nor `EIO` anywhere, so its
//!   runs end as the `EIO` runs, one for one;
//! - a kill right after a call that changes nothing outliving its process
//!   ([`LEAVES_NOTHING`]: a close, a read, a stat...), when both kills
//!   would hit that one process alone: it leaves the mounts, files and
//!   processes the kill at that call leaves.
//!
//! The walk fails when a scenario or profile it is asked for
//! (`PINNS_FAULTS`, `PINNS_FAULT_PROFILES`) does not exist, and when any
//! scenario it walks under any profile has no faulted run of a fault kind
//! (a listing of the calls that found nothing would otherwise walk
//! nothing and pass, and so would a walk whose every run was not reached).
//!
//! What is not faulted, and why: the dynamic loader's calls before `main`
//! (the occurrences of a call the loader makes in the main process: strace
//! counts occurrences per process, so a helper child's first `read`s
//! cannot be failed without failing the loader's in its parent),
//! `execve` and `exit_group`, the allocator's memory calls (`brk`, `mmap`,
//! `munmap`, `mprotect`: Rust aborts on allocation failure by design),
//! `fcntl` (only a debug build's std makes it, `F_GETFD` before each
//! close; the listing fails should pinns make one of its own), errors from
//! `close` (Linux frees the descriptor anyway; the kill there is run), and
//! the calls strace knows by number only, which it cannot inject into
//! (statmount, failed in cli/tests/propagation.rs).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::kernel::{self, Profile};
use common::{
    GID_MAP, Host, PinDir, TYPE_DIRS, UID_MAP, assert_root, become_subreaper, check_absent,
    check_propagation, check_whole, kill_group, mounts_under, pinns_command, pinns_command_via,
    try_run, wait_group_gone,
};

/// Longest a faulted run may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(20);

/// Runs in flight at once (the machine has 2 cores, shared).
const WORKERS: usize = 3;

/// Calls that may block, so that `EINTR` is a real answer from them.
const BLOCKING: &[&str] = &["flock", "read", "write", "wait4"];

/// Calls never faulted (see the module comment).
const NOT_FAULTED: &[&str] = &[
    // Only a debug build's std makes it (`fcntl(fd, F_GETFD)` before each
    // close, to catch a closed descriptor); pinns makes none (the listing
    // asserts so), and failing it fails nothing of pinns.
    "fcntl",
    "execve",
    "exit_group",
    "exit",
    "brk",
    "mmap",
    "munmap",
    "mprotect",
    "madvise",
    "mremap",
];

/// What strace says on stderr when a call it was to fail ran anyway (the
/// call returned, not the injected error): a run of the tool's, not of
/// pinns's, so it is run again, at most [`ATTEMPTS`] times.
const STRACE_MISSED: &str = "strace: Failed to tamper with process";
const ATTEMPTS: usize = 3;

/// The name every faulted run pins (or unpins), and the clean pin after.
const NAME: &str = "p";
const NEXT: &str = "q";

/// One thing pinns is asked to do.
struct Scenario {
    tag: &'static str,
    /// Pin arguments after `-d DIR -f NAME`.
    pin: &'static [&'static str],
    /// The namespace types the pin makes.
    types: &'static [&'static str],
    /// The DIR is missing before the run (a first pin).
    fresh: bool,
    /// The run is `pinns unpin -d DIR -f NAME` of a pin made before it.
    unpin: bool,
    /// How the mount holding DIR propagates: on a private one pinns makes
    /// the type directories shared self-binds first, on a shared one
    /// (systemd's, every Kubernetes node's) it mounts the pins alone.
    host: Host,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        tag: "plain",
        pin: &[
            "--net",
            "--ipc",
            "--uts",
            "--loopback",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "kernel.hostname=x",
            "-s",
            "kernel.shmmni=1000",
        ],
        types: &["net", "ipc", "uts"],
        fresh: false,
        unpin: false,
        host: Host::Private,
    },
    Scenario {
        tag: "fresh",
        pin: &[
            "--net",
            "--ipc",
            "--uts",
            "--loopback",
            "-s",
            "net.ipv4.ip_forward=1",
        ],
        types: &["net", "ipc", "uts"],
        fresh: true,
        unpin: false,
        host: Host::Private,
    },
    Scenario {
        tag: "shared",
        pin: &[
            "--net",
            "--ipc",
            "--uts",
            "--loopback",
            "-s",
            "net.ipv4.ip_forward=1",
        ],
        types: &["net", "ipc", "uts"],
        fresh: true,
        unpin: false,
        host: Host::Shared,
    },
    Scenario {
        tag: "user",
        pin: &[
            "--user",
            UID_MAP,
            GID_MAP,
            "--net",
            "--ipc",
            "--uts",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "kernel.hostname=x",
            "-s",
            "kernel.shmmni=1000",
        ],
        types: &["user", "net", "ipc", "uts"],
        fresh: false,
        unpin: false,
        host: Host::Private,
    },
    Scenario {
        tag: "mnt",
        pin: &["--mnt"],
        types: &["mnt"],
        fresh: false,
        unpin: false,
        host: Host::Private,
    },
    Scenario {
        tag: "json",
        pin: &["--net", "--uts", "--json"],
        types: &["net", "uts"],
        fresh: false,
        unpin: false,
        host: Host::Private,
    },
    Scenario {
        tag: "cgroup",
        pin: &["--cgroup"],
        types: &["cgroup"],
        fresh: false,
        unpin: false,
        host: Host::Private,
    },
    Scenario {
        tag: "pidtime",
        pin: &["--pid", "--time", "--monotonic", "5", "--boottime", "7"],
        types: &["pid", "time"],
        fresh: false,
        unpin: false,
        host: Host::Private,
    },
    Scenario {
        tag: "unpin",
        pin: &[
            "--user", UID_MAP, GID_MAP, "--net", "--ipc", "--uts", "--mnt",
        ],
        types: &["user", "net", "ipc", "uts", "mnt"],
        fresh: false,
        unpin: true,
        host: Host::Private,
    },
];

impl Scenario {
    /// The command under test, `-d dir` included.
    fn args(&self, dir: &Path) -> Vec<String> {
        let dir = dir.to_str().expect("UTF-8 temp dir").to_string();
        if self.unpin {
            return ["unpin", "-d", &dir, "-f", NAME].map(String::from).to_vec();
        }
        let mut args: Vec<String> = self.subcommand().iter().map(|s| s.to_string()).collect();
        args.extend(["-d", &dir, "-f", NAME].map(String::from));
        args.extend(self.pin.iter().map(|s| s.to_string()));
        args
    }

    /// On a private mount, `pinns pin`: the `ip netns` set-up, which makes
    /// the type directories shared self-binds (CRI-O's command line mounts
    /// the pins alone, as on a shared mount, which the shared scenarios
    /// walk).
    fn subcommand(&self) -> &'static [&'static str] {
        match self.host {
            Host::Private => &["pin"],
            _ => &[],
        }
    }

    /// Makes DIR as the scenario starts from under `p`: set up by an
    /// earlier pin (or holding the pin to remove), or missing.
    fn prepare(&self, p: &Profile, dir: &Path) -> Result<(), String> {
        if self.fresh {
            return Ok(());
        }
        let warm = if self.unpin { NAME } else { "warm" };
        clean(pinns_cmd(p, dir, warm, self.subcommand(), self.pin))
            .map_err(|e| format!("preparing: {e}"))?;
        if !self.unpin {
            clean(unpin_cmd(p, dir, warm)).map_err(|e| format!("preparing: {e}"))?;
        }
        Ok(())
    }

    /// What the scenario pins that neither `p` nor the kernel under it
    /// lacks, or what is missing: such a kernel refuses it in one line,
    /// which cli/tests/kernels.rs (`time_and_pid_namespaces_need_their_kernels`)
    /// asserts under every profile.
    fn lacks(&self, p: &Profile) -> Option<&'static str> {
        if self.pin.contains(&"--time") && !(p.has_time_ns() && kernel::has_time_ns()) {
            return Some("a time namespace (Linux 5.6)");
        }
        if self.pin.contains(&"--pid") && !(p.has_pid_ns_ioctl() && kernel::has_pid_ns_ioctl()) {
            return Some("a new PID namespace with no process (Linux 6.11)");
        }
        None
    }
}

/// The profile's name as `PINNS_FAULT_PROFILES` takes it: `4.18`, ...,
/// `running`.
fn profile_name(p: &Profile) -> String {
    if p.running {
        "running".to_string()
    } else {
        p.release.to_string()
    }
}

/// Every pinns of a run, the faulted one and the clean ones around it,
/// runs under the run's profile, as all of them would on that kernel.
fn pinns_cmd(p: &Profile, dir: &Path, name: &str, sub: &[&str], args: &[&str]) -> Command {
    let mut cmd = pinns_command();
    cmd.args(sub)
        .arg("-d")
        .arg(dir)
        .args(["-f", name])
        .args(args);
    p.apply(&mut cmd);
    cmd
}

fn unpin_cmd(p: &Profile, dir: &Path, name: &str) -> Command {
    let mut cmd = pinns_command();
    cmd.arg("unpin").arg("-d").arg(dir).args(["-f", name]);
    p.apply(&mut cmd);
    cmd
}

/// Runs a command that no fault touches to its end; Ok when it exits 0.
fn clean(mut cmd: Command) -> Result<(), String> {
    let out = try_run(&mut cmd, HANG)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}: {}",
            out.what,
            out.status,
            out.stderr_text().trim_end()
        ))
    }
}

// ---------------------------------------------------------------------------
// Listing the system calls of a scenario.

/// The system calls each process of a run made, in order: the main
/// process first, without the dynamic loader's calls before `main`.
struct Calls {
    /// Per process: (name, how many times).
    per_process: Vec<BTreeMap<String, usize>>,
    /// How many times the loader made each call in the main process.
    loader: BTreeMap<String, usize>,
    /// Per process, the names in order with each run of one name made
    /// again and again (a read loop, a wait in slices) kept once: what
    /// path pinns took, whatever the loops' lengths.
    shape: Vec<Vec<String>>,
    /// Whether some process read the mount table, whose length (and so
    /// the number of `read`s) moves with what else is mounted.
    mountinfo: bool,
    /// Per process, every call in order, the loader's included.
    seqs: Vec<Vec<String>>,
    /// How many calls of the main process the loader made.
    loader_calls: usize,
}

/// Runs the scenario once under `strace -f -o LOG`, strace and pinns
/// both under the profile (whose kernel makes pinns take other paths:
/// mount(2) for open_tree, an openat walk for openat2, ...), and reads the
/// log.
fn enumerate(roots: &Roots, p: &Profile, s: &Scenario) -> Calls {
    let run = RunDir::new(roots, s, &format!("enum-{}", s.tag));
    s.prepare(p, &run.dir)
        .expect("preparing the enumeration run");
    let log = run.root().join("strace.log");
    let log_arg = log.to_str().expect("UTF-8 temp dir");
    let mut cmd = pinns_command_via("strace", &["-f", "-qq", "-o", log_arg, "--"]);
    cmd.args(s.args(&run.dir));
    p.apply(&mut cmd);
    let out = try_run(&mut cmd, HANG)
        .unwrap_or_else(|e| panic!("running strace (apt-get install strace): {e}"));
    assert!(
        out.status.success(),
        "[{p}] {}: clean run under strace: {}: {}",
        s.tag,
        out.status,
        out.stderr_text()
    );
    let text = fs::read_to_string(&log).expect("reading the strace log");
    assert_listed_as(p, s, &text);
    let own_fcntl: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" fcntl(") && !l.contains(", F_GETFD"))
        .collect();
    assert!(
        own_fcntl.is_empty(),
        "[{p}] {}: pinns calls fcntl(2) itself, which the walk must then fault \
         (take it out of NOT_FAULTED): {own_fcntl:?}",
        s.tag
    );
    if s.host == Host::Shared {
        // Nothing but the pins is mounted on a shared host, under every
        // profile. (Not asserted after a faulted run: a fault in the
        // look at the holder's propagation, where statmount is missing,
        // makes pinns take the `ip netns` way, which is right there too.)
        let types: Vec<PathBuf> = TYPE_DIRS.iter().map(|t| run.dir.join(t)).collect();
        let mounted: Vec<String> = mounts_under(&run.dir)
            .into_iter()
            .filter(|m| types.contains(&m.mount_point))
            .map(|m| m.line)
            .collect();
        assert!(
            mounted.is_empty(),
            "[{p}] {}: type directories mounted on a shared host: {mounted:?}",
            s.tag
        );
    }
    let mut order: Vec<String> = Vec::new();
    let mut seqs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        // A call the kernel restarts by itself (a write to a net sysctl
        // while another holds the RTNL lock, a netns being torn down, say)
        // shows once more in strace per restart, and is one call: counted
        // so, the listing would plan faults at occurrences a run without
        // the contention never reaches.
        let restarted = rest.ends_with("= ? ERESTARTNOINTR (To be restarted)");
        if let Some(resumed) = rest.strip_prefix("<... ") {
            if restarted {
                let name = resumed.split(' ').next().unwrap_or("");
                let calls = seqs.get_mut(pid).expect("a resumed call was started");
                assert_eq!(calls.pop().as_deref(), Some(name), "{line}");
            }
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || !rest[name.len()..].starts_with('(') || restarted {
            continue; // signals, exits, restarts
        }
        if !seqs.contains_key(pid) {
            order.push(pid.to_string());
        }
        seqs.entry(pid.to_string()).or_default().push(name);
    }
    let main = &seqs[&order[0]];
    // The loader's last call in the main process: unmapping ld.so.cache,
    // after it set the stack limit.
    let limit = main
        .iter()
        .position(|c| c == "prlimit64")
        .expect("the loader's prlimit64 in the trace");
    let end = limit
        + main[limit..]
            .iter()
            .position(|c| c == "munmap")
            .expect("the loader's munmap in the trace");
    let count = |calls: &[String]| {
        let mut m = BTreeMap::new();
        for c in calls {
            *m.entry(c.clone()).or_insert(0) += 1;
        }
        m
    };
    let loader = count(&main[..=end]);
    let per_process = order.iter().map(|pid| count(&seqs[pid])).collect();
    let shape = order
        .iter()
        .map(|pid| {
            let mut calls = seqs[pid].clone();
            calls.dedup();
            calls
        })
        .collect();
    Calls {
        per_process,
        loader,
        shape,
        mountinfo: text.contains("/mountinfo\""),
        seqs: order.iter().map(|pid| seqs[pid].clone()).collect(),
        loader_calls: end + 1,
    }
}

/// The listing ran as the profile's kernel: every call the profile lacks
/// answered `ENOSYS` (were the filter missing, the listing would hold the
/// running kernel's calls, and the walk would fault those alone).
fn assert_listed_as(p: &Profile, s: &Scenario, log: &str) {
    for line in log.lines() {
        let Some((_, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let call = rest.strip_prefix("<... ").unwrap_or(rest);
        let name: String = call
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let lacked = kernel::SYSCALLS.iter().any(|(n, _, _)| *n == name) && !p.has_syscall(&name);
        if !lacked || rest.ends_with("<unfinished ...>") {
            continue; // an unfinished call's answer is on its resumed line
        }
        if let Some((_, answer)) = rest.rsplit_once(" = ") {
            assert!(
                answer.starts_with("-1 ENOSYS"),
                "[{p}] {}: the listing made {name}, which the profile lacks: {line}",
                s.tag
            );
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Eio,
    Eintr,
    Kill,
}

impl Fault {
    fn inject(self, call: &str, when: usize) -> String {
        let what = match self {
            Fault::Eio => "error=EIO",
            Fault::Eintr => "error=EINTR",
            Fault::Kill => "signal=SIGKILL",
        };
        format!("inject={call}:{what}:when={when}")
    }
}

/// One faulted run.
struct Case<'p> {
    profile: &'p Profile,
    scenario: &'static Scenario,
    call: String,
    when: usize,
    fault: Fault,
    /// The first wait on the helper's pipe is made to time out (strace
    /// answers that `poll` with 0 without making it), so that the run
    /// asks `waitid` whether the helper is alive whatever the timing:
    /// the one way a kernel without pidfds reaches that call for sure.
    slice_timeout: bool,
}

/// How many occurrences past the listing's count are faulted too, for the
/// calls whose count moves from run to run (the mount table's `read`s, the
/// helper's wait in slices): a run that does more of them than the listing
/// did still has its last ones faulted, and a run that does fewer ends
/// "not reached" by its own log.
const MARGIN: usize = 2;

/// The call pinns waits on its helper's pipe with: rustix's `poll` is
/// ppoll(2).
const HELPER_POLL: &str = "ppoll";

/// What of a listing is not faulted.
#[derive(Default)]
struct Unfaulted {
    /// Occurrences in helper children that share their number with the
    /// loader's.
    shadowed: usize,
    /// Occurrences of calls the profile's kernel does not have.
    absent: BTreeMap<String, usize>,
    /// Kills not run, each leaving what the kill just before it leaves.
    same_kill: usize,
}

/// Calls that change nothing that outlives the process making them, as far
/// as a kill goes: a descriptor closed, a file or the mount table read, a
/// question asked (the process's death closes and ends as much). A kill at
/// the call right after one of them leaves what the kill at it leaves.
const LEAVES_NOTHING: &[&str] = &[
    "close",
    "fcntl",
    "fstat",
    "newfstatat",
    "statx",
    "fstatfs",
    "statfs",
    "getpid",
    "getppid",
    "gettid",
    "getrandom",
    "read",
    "pread64",
    "poll",
    "ppoll",
    "lseek",
    "readlink",
    "readlinkat",
    "rt_sigaction",
    "rt_sigprocmask",
    "sigaltstack",
];

/// Which occurrences of `call` are killed at. strace kills every process
/// that makes a call that often, at that call, before it runs; a kill of
/// one process alone at a call whose process made, just before it, a call
/// of [`LEAVES_NOTHING`] that is itself killed at in that process alone,
/// leaves the kernel as that kill does (the same mounts, files and
/// processes), and is not run. `faulted(call, when)` says whether an
/// occurrence is walked at all.
fn kill_at<'c>(
    calls: &'c Calls,
    call: &'c str,
    faulted: &'c dyn Fn(&str, usize) -> bool,
) -> impl Fn(usize) -> bool + 'c {
    // (process, position) of the nth occurrence of a call, in every
    // process that makes it that often.
    let at = |call: &str, n: usize| -> Vec<(usize, usize)> {
        calls
            .seqs
            .iter()
            .enumerate()
            .filter_map(|(p, seq)| {
                seq.iter()
                    .enumerate()
                    .filter(|(_, c)| *c == call)
                    .nth(n - 1)
                    .map(|(i, _)| (p, i))
            })
            .collect()
    };
    move |when| {
        let [(p, i)] = at(call, when)[..] else {
            return true;
        };
        let loader = if p == 0 { calls.loader_calls } else { 0 };
        if i <= loader {
            return true;
        }
        let before = &calls.seqs[p][i - 1];
        let nth = calls.seqs[p][..i].iter().filter(|c| *c == before).count();
        !(LEAVES_NOTHING.contains(&before.as_str())
            && faulted(before, nth)
            && at(before, nth) == [(p, i - 1)])
    }
}

/// Every (call, occurrence, fault) of a scenario under a profile, and
/// what was left out apart from the loader's calls.
fn cases<'p>(p: &'p Profile, s: &'static Scenario, calls: &Calls) -> (Vec<Case<'p>>, Unfaulted) {
    let mut most: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &calls.per_process {
        for (name, n) in p {
            let m = most.entry(name.as_str()).or_insert(0);
            *m = (*m).max(*n);
        }
    }
    // Without pidfds (before 5.3) pinns waits on its helper in slices and
    // asks waitid between them; whether a slice runs out depends on the
    // timing, so waitid is walked even when the listing made none.
    let slices = !p.has_syscall("pidfd_open") && most.contains_key(HELPER_POLL);
    if slices {
        most.entry("waitid").or_insert(0);
    }
    // Whether an occurrence of a call is walked (the reasons are below).
    let walked = |call: &str, when: usize| {
        let lacked =
            kernel::SYSCALLS.iter().any(|(name, _, _)| *name == call) && !p.has_syscall(call);
        let untouchable = NOT_FAULTED.contains(&call) || call.starts_with("syscall_0x");
        !lacked && !untouchable && when > calls.loader.get(call).copied().unwrap_or(0)
    };

    let mut out = Vec::new();
    let mut left = Unfaulted::default();
    for (call, n) in most {
        // strace names a call newer than itself by number only
        // (`syscall_0x1c9`, statmount, for Debian 12's strace 6.1), and
        // cannot inject into it: cli/tests/propagation.rs fails that one with
        // a seccomp filter instead.
        if NOT_FAULTED.contains(&call) || call.starts_with("syscall_0x") {
            continue;
        }
        // A call newer than the profile answers ENOSYS from its filter,
        // as that kernel would; no other error can come from it there.
        if kernel::SYSCALLS.iter().any(|(name, _, _)| *name == call) && !p.has_syscall(call) {
            left.absent.insert(call.to_string(), n);
            continue;
        }
        let skip = calls.loader.get(call).copied().unwrap_or(0);
        // Occurrences 1..=skip of this call in the main process are the
        // loader's; a child's occurrence at the same number would fail
        // with it.
        left.shadowed += calls
            .per_process
            .iter()
            .skip(1)
            .map(|p| p.get(call).copied().unwrap_or(0).min(skip))
            .sum::<usize>();
        let kills = kill_at(calls, call, &walked);
        let moves = (call == "read" && calls.mountinfo)
            || (slices && (call == HELPER_POLL || call == "waitid"));
        let last = if moves { n.max(skip + 1) + MARGIN } else { n };
        for when in skip + 1..=last {
            let mut faults = Vec::new();
            if kills(when) {
                faults.push(Fault::Kill);
            } else {
                left.same_kill += 1;
            }
            if call != "close" {
                faults.push(Fault::Eio);
            }
            if BLOCKING.contains(&call) {
                faults.push(Fault::Eintr);
            }
            for fault in faults {
                out.push(Case {
                    profile: p,
                    scenario: s,
                    call: call.to_string(),
                    when,
                    fault,
                    slice_timeout: slices && call == "waitid",
                });
            }
        }
    }
    (out, left)
}

// ---------------------------------------------------------------------------
// One run.

/// The scratch mounts every run's temp directory is made in, one of each
/// propagation a scenario asks for, so that what pinns does (and so what
/// is faulted) does not hang on how this machine's /tmp propagates.
struct Roots {
    private: PinDir,
    shared: PinDir,
}

impl Roots {
    fn new() -> Roots {
        let private = PinDir::named("faults-private");
        private.mount_as(Host::Private);
        let shared = PinDir::named("faults-shared");
        shared.mount_as(Host::Shared);
        Roots { private, shared }
    }

    fn of(&self, s: &Scenario) -> &Path {
        match s.host {
            Host::Private => self.private.path(),
            Host::Shared => self.shared.path(),
            Host::Slave => unreachable!("no scenario runs on a slave"),
        }
    }
}

/// The temp directory of one run, with DIR (`d`, missing at first)
/// inside it; the guard undoes what the run pinned there.
struct RunDir {
    guard: PinDir,
    dir: PathBuf,
}

impl RunDir {
    fn new(roots: &Roots, s: &Scenario, tag: &str) -> RunDir {
        let guard = PinDir::named_in(&format!("fault-{tag}"), roots.of(s));
        let dir = guard.sub("d");
        for name in [NAME, NEXT, "warm"] {
            guard.track(&dir, name);
        }
        RunDir { guard, dir }
    }

    fn root(&self) -> &Path {
        self.guard.path()
    }
}

/// How a faulted run ended.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Exit 0 with every pin whole (or, for unpin, nothing left).
    Succeeded,
    /// Exit 1 with one line, nothing left.
    Failed,
    /// Exit 1, nothing left, and no line: the fault also hit (strace
    /// counts per process) the main process's write of that line.
    FailedSilently,
    /// Killed by the injected SIGKILL.
    Killed,
    /// No fault: its own log shows that no process of the run made the
    /// call as often as the fault's occurrence (a loop ran shorter than in
    /// the listing); otherwise a clean run, checked as one.
    NotReached,
}

/// Whether strace's log shows a process killed at `call`: strace marks a
/// failed call `(INJECTED)`, but a kill only by the process's last line,
/// `PID +++ killed by SIGKILL +++`, right after its line for the call.
fn killed_at(log: &str, call: &str) -> bool {
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for line in log.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if rest == "+++ killed by SIGKILL +++" {
            let before = last.get(pid).copied().unwrap_or("");
            if before.starts_with(&format!("{call}("))
                || before.starts_with(&format!("<... {call} resumed>"))
            {
                return true;
            }
        }
        last.insert(pid, rest);
    }
    false
}

/// How many times the process that made `call` most made it, as strace
/// counts for `when=`: every entry into the call, a call the kernel
/// restarted included (strace logs an unfinished call again as `<...
/// NAME resumed>`, which is no new entry).
fn occurrences(log: &str, call: &str) -> usize {
    let entry = format!("{call}(");
    let mut per_pid: BTreeMap<&str, usize> = BTreeMap::new();
    for line in log.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        if rest.trim_start().starts_with(&entry) {
            *per_pid.entry(pid).or_default() += 1;
        }
    }
    per_pid.into_values().max().unwrap_or(0)
}

/// Whether strace's log shows `call` failed by its injector: the
/// `(INJECTED)` mark on the call's own line, or on its resumed line.
fn injected_into(log: &str, call: &str) -> bool {
    let (entry, resumed) = (format!("{call}("), format!("<... {call} resumed>"));
    log.lines().any(|line| {
        line.ends_with("(INJECTED)")
            && line.split_once(' ').is_some_and(|(_, rest)| {
                let rest = rest.trim_start();
                rest.starts_with(&entry) || rest.starts_with(&resumed)
            })
    })
}

/// Who fails the call of a run: strace, or (to prove that a run whose
/// fault never came is caught) nobody.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Injector {
    Strace,
    Nothing,
}

/// Runs one case and checks everything; Err says what went wrong.
fn run(roots: &Roots, case: &Case) -> Result<Outcome, String> {
    run_with(roots, case, Injector::Strace)
}

fn run_with(roots: &Roots, case: &Case, injector: Injector) -> Result<Outcome, String> {
    let (p, s) = (case.profile, case.scenario);
    let rd = RunDir::new(roots, s, s.tag);
    s.prepare(p, &rd.dir)?;
    let log = rd.root().join("strace.log");
    let log_arg = log.to_str().expect("UTF-8 temp dir");
    // execve traced too, so that the log's first line names the main
    // process; every occurrence of the call is in the log, so that the run
    // tells by itself whether its occurrence came.
    let mut trace = format!("trace=execve,{}", case.call);
    let mut injects = Vec::new();
    if injector == Injector::Strace {
        injects.push(case.fault.inject(&case.call, case.when));
    }
    if case.slice_timeout {
        trace.push(',');
        trace.push_str(HELPER_POLL);
        injects.push(format!("inject={HELPER_POLL}:retval=0:when=1"));
    }
    let mut args = vec!["-f", "-qq", "-o", log_arg, "-e", &trace];
    for inject in &injects {
        args.extend(["-e", inject]);
    }
    args.push("--");
    let mut cmd = pinns_command_via("strace", &args);
    cmd.args(s.args(&rd.dir));
    p.apply(&mut cmd);
    // SAFETY: setrlimit is async-signal-safe; no core file from a death
    // this test is looking for.
    unsafe {
        cmd.pre_exec(|| {
            let zero = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
            Ok(())
        });
    }
    // try_run puts the run in a process group of its own and kills it
    // after HANG.
    let out = try_run(&mut cmd, HANG).map_err(|e| format!("HANG: {e}"))?;
    let pgid = out.pid as i32;
    if let Err(left) = wait_group_gone(pgid, Instant::now() + Duration::from_secs(5)) {
        kill_group(pgid);
        return Err(format!("processes left behind: {left:?}"));
    }
    let status = out.status;
    let stdout = out.stdout_text();
    let stderr = out.stderr_text();
    let log = fs::read_to_string(&log).map_err(|e| format!("reading strace's log: {e}"))?;
    if stderr.contains(STRACE_MISSED) {
        return Err(format!("{STRACE_MISSED}: {stderr:?}"));
    }
    let said = || format!("{status}; stdout {stdout:?}; stderr {stderr:?}");
    let injected = match case.fault {
        Fault::Kill => killed_at(&log, &case.call),
        _ => injected_into(&log, &case.call),
    };
    // No fault shows: a failure of the walk if some process made the call
    // that often (the injector missed it), else the occurrence never came
    // in this run, which its own log proves.
    let reached = occurrences(&log, &case.call) >= case.when;
    if !injected && reached {
        return Err(format!(
            "the fault was never injected, though the call was made {} times: {}; \
             strace's log:\n{log}",
            occurrences(&log, &case.call),
            said()
        ));
    }
    // The main process's (the first pid in the log: its execve) write to
    // stderr failed.
    let main_pid = log.split_whitespace().next().unwrap_or("-");
    let message_lost = log.lines().any(|l| {
        l.split_once(' ').is_some_and(|(pid, call)| {
            pid == main_pid && call.trim_start().starts_with("write(2, ")
        }) && l.contains("(INJECTED)")
    });
    let outcome = match (status.code(), status.signal()) {
        (Some(0), _) => {
            let json = s.pin.contains(&"--json");
            if !stderr.is_empty() || (!json && !stdout.is_empty()) {
                return Err(format!("exit 0 but printed: {}", said()));
            }
            if json {
                let doc: serde_json::Value = serde_json::from_str(&stdout)
                    .map_err(|e| format!("--json printed no JSON ({e}): {}", said()))?;
                if doc["pins"].as_array().map(Vec::len) != Some(s.types.len()) {
                    return Err(format!("--json printed the wrong pins: {}", said()));
                }
            }
            if s.unpin {
                check_absent(&rd.dir, NAME)?;
            } else {
                check_whole(&rd.dir, NAME, s.types)?;
            }
            if injected {
                Outcome::Succeeded
            } else {
                Outcome::NotReached
            }
        }
        _ if !injected => return Err(format!("ended badly with no fault: {}", said())),
        (Some(1), _) if stderr.is_empty() && message_lost => {
            if !s.unpin {
                check_absent(&rd.dir, NAME).map_err(|e| format!("{e}; {}", said()))?;
            }
            Outcome::FailedSilently
        }
        (Some(1), _) => {
            let lines: Vec<&str> = stderr.lines().collect();
            if lines.len() != 1 || !lines[0].starts_with("pinns: ") || !stderr.ends_with('\n') {
                return Err(format!("exit 1 without one `pinns: ` line: {}", said()));
            }
            if !stdout.is_empty() {
                return Err(format!("exit 1 with output: {}", said()));
            }
            if !s.unpin {
                check_absent(&rd.dir, NAME).map_err(|e| format!("{e}; {}", said()))?;
            }
            Outcome::Failed
        }
        (None, Some(libc::SIGKILL)) if case.fault == Fault::Kill => Outcome::Killed,
        _ => return Err(format!("ended badly: {}", said())),
    };
    if case.fault == Fault::Eintr && ![Outcome::Succeeded, Outcome::NotReached].contains(&outcome) {
        return Err(format!("EINTR was not restarted: {}", said()));
    }
    // Whatever happened, a clean unpin clears NAME, and the DIR still works.
    clean(unpin_cmd(p, &rd.dir, NAME)).map_err(|e| format!("unpin after: {e}"))?;
    check_absent(&rd.dir, NAME).map_err(|e| format!("after unpin: {e}"))?;
    clean(pinns_cmd(p, &rd.dir, NEXT, s.subcommand(), s.pin))
        .map_err(|e| format!("next pin: {e}"))?;
    check_whole(&rd.dir, NEXT, s.types)?;
    check_propagation(&rd.dir)?;
    clean(unpin_cmd(p, &rd.dir, NEXT)).map_err(|e| format!("unpin of the next pin: {e}"))?;
    check_absent(&rd.dir, NEXT)?;
    Ok(outcome)
}

// ---------------------------------------------------------------------------
// The walk.

/// The scenarios `PINNS_FAULTS=TAG,...` names (all when it is unset);
/// a name that is no scenario's fails the test.
fn chosen() -> Vec<&'static Scenario> {
    let Some(only) = std::env::var("PINNS_FAULTS").ok() else {
        return SCENARIOS.iter().collect();
    };
    let tags: Vec<&str> = only.split(',').collect();
    let unknown: Vec<&&str> = tags
        .iter()
        .filter(|t| !SCENARIOS.iter().any(|s| s.tag == **t))
        .collect();
    assert!(
        unknown.is_empty(),
        "PINNS_FAULTS names no scenario {unknown:?}; the scenarios are {:?}",
        SCENARIOS.iter().map(|s| s.tag).collect::<Vec<_>>()
    );
    SCENARIOS.iter().filter(|s| tags.contains(&s.tag)).collect()
}

/// The profiles `PINNS_FAULT_PROFILES=NAME,...` names (`4.18`, ...,
/// `running`; all of `kernel::profiles()` when it is unset); a name that is
/// no profile's fails the test.
fn chosen_profiles() -> Vec<Profile> {
    let all = kernel::profiles();
    let Some(only) = std::env::var("PINNS_FAULT_PROFILES").ok() else {
        return all;
    };
    let names: Vec<&str> = only.split(',').collect();
    let unknown: Vec<&&str> = names
        .iter()
        .filter(|n| !all.iter().any(|p| profile_name(p) == **n))
        .collect();
    assert!(
        unknown.is_empty(),
        "PINNS_FAULT_PROFILES names no profile {unknown:?}; the profiles are {:?}",
        all.iter().map(profile_name).collect::<Vec<_>>()
    );
    all.into_iter()
        .filter(|p| names.contains(&profile_name(p).as_str()))
        .collect()
}

/// Every fault kind a scenario is walked with: every scenario makes calls
/// that may block after the loader's. No `ENOMEM`: pinns matches neither
/// it nor `EIO` anywhere in pin and unpin (each is "any other error"
/// there, unlike `ENOSYS`, `EINTR`, `ENOENT`, `EEXIST`, ...), so an
/// `ENOMEM` run ends as the `EIO` run at the same call, one for one, and
/// proves nothing that one does not.
const KINDS: &[Fault] = &[Fault::Eio, Fault::Eintr, Fault::Kill];

/// The path a listing shows pinns took under a profile: each process's
/// calls in order (a loop's length aside), and how the profile answers each
/// call, flag and ioctl that differs between kernels. Two profiles with the
/// same path for a scenario make the same faulted runs: every call of them
/// answers alike, the faulted one and those of its error path, which are
/// calls of the same code (see [`every_system_call_of_pin_and_unpin_may_fail`]).
#[derive(PartialEq, Eq)]
struct Route {
    shape: Vec<Vec<String>>,
    /// (call of the table, whether the profile has it), for every such call
    /// the listing made.
    calls: Vec<(String, bool)>,
    time_ns: bool,
    pid_ns_ioctl: bool,
}

fn path_of(p: &Profile, calls: &Calls) -> Route {
    let mut made: Vec<&String> = calls.shape.iter().flatten().collect();
    made.sort();
    made.dedup();
    Route {
        shape: calls.shape.clone(),
        calls: made
            .into_iter()
            .filter(|c| kernel::SYSCALLS.iter().any(|(n, _, _)| n == c))
            .map(|c| (c.clone(), p.has_syscall(c)))
            .collect(),
        time_ns: p.has_time_ns(),
        pid_ns_ioctl: p.has_pid_ns_ioctl(),
    }
}

/// The walk, under every kernel profile: the calls pinns makes differ by
/// kernel (its fallbacks), so each profile's are listed and faulted.
#[test]
fn every_system_call_of_pin_and_unpin_may_fail() {
    assert_root("the fault walk");
    become_subreaper();
    let start = Instant::now();
    let scenarios = chosen();
    let profiles = chosen_profiles();
    let roots = Roots::new();
    let mut all: Vec<Case> = Vec::new();
    let mut shadowed = 0;
    // (profile, scenario) pairs walked.
    let mut walked: Vec<(&Profile, &'static str)> = Vec::new();
    // What each walked pair's listing showed, to find a profile that
    // would walk the very runs another already walks.
    let mut paths: Vec<(&Profile, &'static str, Route)> = Vec::new();
    for p in &profiles {
        for s in &scenarios {
            if let Some(what) = s.lacks(p) {
                eprintln!("faults: [{p}] {}: not walked: needs {what}", s.tag);
                continue;
            }
            let calls = enumerate(&roots, p, s);
            let path = path_of(p, &calls);
            if let Some((q, _, _)) = paths.iter().find(|(_, t, w)| *t == s.tag && *w == path) {
                eprintln!(
                    "faults: [{p}] {}: not walked: the same calls, answered alike, as under [{q}]",
                    s.tag
                );
                continue;
            }
            paths.push((p, s.tag, path));
            let (cases, left) = cases(p, s, &calls);
            eprintln!(
                "faults: [{p}] {}: {} processes, {} calls after the loader, {} runs \
                 ({} kills not run, each leaving what the one before leaves); \
                 not in this kernel: {:?}",
                s.tag,
                calls.per_process.len(),
                calls
                    .per_process
                    .iter()
                    .map(|p| p.values().sum::<usize>())
                    .sum::<usize>()
                    - calls.loader.values().sum::<usize>(),
                cases.len(),
                left.same_kill,
                left.absent,
            );
            shadowed += left.shadowed;
            walked.push((p, s.tag));
            all.extend(cases);
        }
    }
    let enumerated = start.elapsed();
    let next = AtomicUsize::new(0);
    let retried = AtomicUsize::new(0);
    // (profile, scenario, fault) -> outcome -> runs that ended so, the
    // fault injected.
    type Tally = BTreeMap<(String, &'static str, Fault), BTreeMap<Outcome, usize>>;
    let tally: Mutex<Tally> = Mutex::new(BTreeMap::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = all.get(i) else { break };
                    let mut result = run(&roots, case);
                    for _ in 1..ATTEMPTS {
                        match &result {
                            Err(e) if e.starts_with(STRACE_MISSED) => {
                                retried.fetch_add(1, Ordering::Relaxed);
                                result = run(&roots, case);
                            }
                            _ => break,
                        }
                    }
                    match result {
                        Ok(outcome) => {
                            *tally
                                .lock()
                                .unwrap()
                                .entry((profile_name(case.profile), case.scenario.tag, case.fault))
                                .or_default()
                                .entry(outcome)
                                .or_default() += 1;
                        }
                        Err(e) => failures.lock().unwrap().push(format!(
                            "[{}] {} {}:{:?}:when={}: {e}",
                            case.profile, case.scenario.tag, case.call, case.fault, case.when
                        )),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let tally = tally.into_inner().unwrap();
    eprintln!(
        "faults: {} runs in {:.1?} (listing the calls took {enumerated:.1?}), {} failed; \
         {shadowed} occurrences in helper children share their number with the loader's \
         and were not faulted; {} runs were run again, strace having missed its fault",
        all.len(),
        start.elapsed(),
        failures.len(),
        retried.into_inner(),
    );
    // How many runs each scenario has of each fault kind under each
    // profile, and how many of them were faulted and ended as they may.
    let mut missing = Vec::new();
    for (p, tag) in &walked {
        let profile = &profile_name(p);
        let runs = all
            .iter()
            .filter(|c| profile_name(c.profile) == *profile && c.scenario.tag == *tag)
            .count();
        eprintln!("faults: {profile:7} {tag:8} {runs:4} runs");
        for &fault in KINDS {
            let planned = all
                .iter()
                .filter(|c| {
                    profile_name(c.profile) == *profile
                        && c.scenario.tag == *tag
                        && c.fault == fault
                })
                .count();
            let ended = tally.get(&(profile.clone(), *tag, fault));
            let faulted: usize = ended.map_or(0, |o| {
                o.iter()
                    .filter(|(outcome, _)| **outcome != Outcome::NotReached)
                    .map(|(_, n)| n)
                    .sum()
            });
            eprintln!(
                "faults: {profile:7} {tag:8} {:6}: {planned:4} runs, {faulted:4} faulted: {:?}",
                format!("{fault:?}"),
                ended.cloned().unwrap_or_default()
            );
            if faulted == 0 {
                missing.push(format!("[{profile}] {tag} has no faulted {fault:?} run"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    // Every run that did not fail was faulted or proved its occurrence
    // never came (`run` says so otherwise): what is left to prove is that
    // each scenario had faulted runs of every kind.
    let ended: usize = tally.values().flat_map(|o| o.values()).sum();
    assert_eq!(
        ended,
        all.len(),
        "runs faulted or not reached, of all the runs"
    );
    assert!(missing.is_empty(), "a walk with holes: {missing:?}");
}

/// The walk's own judge: a run whose occurrence came but whose fault did
/// not fails the walk (were strace to inject nothing, every run would fail,
/// not pass), a run past the call's last occurrence is told apart by its
/// own log, and without pidfds the helper's first wait is made to run out,
/// so that waitid is reached whatever the timing.
#[test]
fn a_run_whose_fault_never_came_fails_the_walk() {
    assert_root("the fault walk's judge");
    become_subreaper();
    let roots = Roots::new();
    let running = Profile::running();
    let oldest = Profile::new(kernel::Release(4, 18));
    let scenario = |tag: &str| SCENARIOS.iter().find(|s| s.tag == tag).expect("a scenario");
    let case = |p, tag, call: &str, when, fault, slice_timeout| Case {
        profile: p,
        scenario: scenario(tag),
        call: call.to_string(),
        when,
        fault,
        slice_timeout,
    };
    // The lock on the pin directory, taken once by every pin.
    for fault in [Fault::Eio, Fault::Kill] {
        let lock = case(&running, "json", "flock", 1, fault, false);
        let faulted = run_with(&roots, &lock, Injector::Strace);
        assert!(
            matches!(faulted, Ok(Outcome::Failed | Outcome::Killed)),
            "{fault:?} at the first flock: {faulted:?}"
        );
        let missed = run_with(&roots, &lock, Injector::Nothing);
        assert!(
            missed
                .as_ref()
                .is_err_and(|e| e.starts_with("the fault was never injected")),
            "{fault:?} at the first flock, injected by nobody: {missed:?}"
        );
    }
    let past = case(&running, "json", "flock", 1000, Fault::Eio, false);
    assert_eq!(run(&roots, &past), Ok(Outcome::NotReached));
    let wait = case(&oldest, "user", "waitid", 1, Fault::Eio, true);
    assert_eq!(
        run(&roots, &wait),
        Ok(Outcome::Failed),
        "waitid under [4.18]"
    );
}
