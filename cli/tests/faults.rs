//! Fault injection: every system call of a pin and of an unpin
//! fails in turn, and `pinns` never hangs, never dies of a signal it did
//! not get, never leaves a process behind, and leaves either a whole pin
//! or nothing.
//!
//! Each scenario is first run once under `strace -f -o LOG` to list the
//! system calls each process makes. Then, for every system call NAME and
//! every occurrence K of it, a run under
//! `strace -f -e trace=NAME -e inject=NAME:error=ERRNO:when=K` fails that
//! occurrence with `EIO`, with `ENOMEM` (under the running kernel's
//! profile), with `EINTR` (calls that block: `flock`, `read`, `write`,
//! `wait4`) and, in another run, kills the process at the call
//! (`signal=SIGKILL`). Every run has a fresh DIR of its own (prepared like
//! the scenario's, or missing for the first pin) on a scratch mount of the
//! propagation the scenario names (private: `pinns pin` makes the type
//! directories shared self-binds; shared: it mounts the pins alone), so
//! what is walked does not hang on how this machine's /tmp propagates; the
//! runs go three at a time. After each run:
//!
//! - exit 0: every pin is an nsfs mount of the right type (for unpin:
//!   nothing of NAME is left); an `EINTR` run must end so, the call being
//!   restarted;
//! - exit 1: exactly one line `pinns: …` on stderr, nothing on stdout, and
//!   nothing of NAME left (an unpin that failed may leave NAME: the clean
//!   unpin below must then remove it);
//! - killed (only when the fault is the kill): nothing more here;
//! - in every case: the fault was injected (strace's log shows the failed
//!   call, or the process it killed), stdout and stderr reach end of file and `pinns` ends
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
//! is not walked there: tests/kernels.rs asserts its one-line refusal.
//!
//! The walk fails when a scenario or profile it is asked for
//! (`PINNS_FAULTS`, `PINNS_FAULT_PROFILES`) does not exist, and when any
//! scenario it walks under any profile has no run of a fault kind it
//! should have (a listing of the calls that found nothing would otherwise
//! walk nothing and pass).
//!
//! What is not faulted, and why: the dynamic loader's calls before `main`
//! (the occurrences of a call the loader makes in the main process: strace
//! counts occurrences per process, so a helper child's first `read`s
//! cannot be failed without failing the loader's in its parent),
//! `execve` and `exit_group`, the allocator's memory calls (`brk`, `mmap`,
//! `munmap`, `mprotect`: Rust aborts on allocation failure by design),
//! errors from `close` (Linux frees the descriptor anyway; the kill
//! there is run), and the calls strace knows by number only, which it
//! cannot inject into (statmount, failed in tests/propagation.rs).

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
    /// which tests/kernels.rs (`time_and_pid_namespaces_need_their_kernels`)
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
    Calls {
        per_process,
        loader,
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
    Enomem,
    Eintr,
    Kill,
}

impl Fault {
    fn inject(self, call: &str, when: usize) -> String {
        let what = match self {
            Fault::Eio => "error=EIO",
            Fault::Enomem => "error=ENOMEM",
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
}

/// What of a listing is not faulted.
#[derive(Default)]
struct Unfaulted {
    /// Occurrences in helper children that share their number with the
    /// loader's.
    shadowed: usize,
    /// Occurrences of calls the profile's kernel does not have.
    absent: BTreeMap<String, usize>,
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
    let mut out = Vec::new();
    let mut left = Unfaulted::default();
    for (call, n) in most {
        // strace names a call newer than itself by number only
        // (`syscall_0x1c9`, statmount, for Debian 12's strace 6.1), and
        // cannot inject into it: tests/propagation.rs fails that one with
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
        for when in skip + 1..=n {
            let mut faults = vec![Fault::Kill];
            if call != "close" {
                faults.push(Fault::Eio);
                if p.running {
                    faults.push(Fault::Enomem);
                }
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

/// Runs one case and checks everything; Err says what went wrong.
fn run(roots: &Roots, case: &Case) -> Result<Outcome, String> {
    let (p, s) = (case.profile, case.scenario);
    let rd = RunDir::new(roots, s, s.tag);
    s.prepare(p, &rd.dir)?;
    let log = rd.root().join("strace.log");
    let log_arg = log.to_str().expect("UTF-8 temp dir");
    let trace = format!("trace=execve,{}", case.call);
    let inject = case.fault.inject(&case.call, case.when);
    // execve traced too, so that the log's first line names the main process.
    let mut cmd = pinns_command_via(
        "strace",
        &[
            "-f", "-qq", "-o", log_arg, "-e", &trace, "-e", &inject, "--",
        ],
    );
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
        _ => log.contains("(INJECTED)"),
    };
    if !injected {
        return Err(format!(
            "the fault was never injected: {}; strace's log:\n{log}",
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
            Outcome::Succeeded
        }
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
    if case.fault == Fault::Eintr && outcome != Outcome::Succeeded {
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

/// Every fault kind a scenario is walked with under `p`: every scenario
/// makes calls that may block after the loader's. `ENOMEM` only under the
/// running kernel's profile: pinns treats it as any error, as it does
/// `EIO` (their runs end alike, one for one, there), and the older
/// profiles' error paths are walked with `EIO`, which keeps the walk of
/// six profiles near two minutes on two cores.
fn kinds(p: &Profile) -> &'static [Fault] {
    if p.running {
        &[Fault::Eio, Fault::Enomem, Fault::Eintr, Fault::Kill]
    } else {
        &[Fault::Eio, Fault::Eintr, Fault::Kill]
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
    for p in &profiles {
        for s in &scenarios {
            if let Some(what) = s.lacks(p) {
                eprintln!("faults: [{p}] {}: not walked: needs {what}", s.tag);
                continue;
            }
            let calls = enumerate(&roots, p, s);
            let (cases, left) = cases(p, s, &calls);
            eprintln!(
                "faults: [{p}] {}: {} processes, {} calls after the loader, {} runs; \
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
        for &fault in kinds(p) {
            let planned = all
                .iter()
                .filter(|c| {
                    profile_name(c.profile) == *profile
                        && c.scenario.tag == *tag
                        && c.fault == fault
                })
                .count();
            let ended = tally.get(&(profile.clone(), *tag, fault));
            let faulted: usize = ended.map_or(0, |o| o.values().sum());
            eprintln!(
                "faults: {profile:7} {tag:8} {:6}: {planned:4} runs, {faulted:4} faulted: {:?}",
                format!("{fault:?}"),
                ended.cloned().unwrap_or_default()
            );
            if planned == 0 {
                missing.push(format!("[{profile}] {tag} has no {fault:?} run"));
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
    // Every run that did not fail was faulted (`run` says so otherwise):
    // what is left to prove is that each scenario had runs of every kind.
    let faulted: usize = tally.values().flat_map(|o| o.values()).sum();
    assert_eq!(faulted, all.len(), "runs faulted, of all the runs");
    assert!(missing.is_empty(), "a walk with holes: {missing:?}");
}
