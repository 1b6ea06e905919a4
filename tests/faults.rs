//! Fault injection (issue 11): every system call of a pin and of an unpin
//! fails in turn, and `pinns` never hangs, never dies of a signal it did
//! not get, never leaves a process behind, and leaves either a whole pin
//! or nothing.
//!
//! Each scenario is first run once under `strace -f -o LOG` to list the
//! system calls each process makes. Then, for every system call NAME and
//! every occurrence K of it, a run under
//! `strace -f -e trace=NAME -e inject=NAME:error=ERRNO:when=K` fails that
//! occurrence with `EIO`, with `ENOMEM`, with `EINTR` (calls that block:
//! `flock`, `read`, `write`, `wait4`) and, in another run, kills the
//! process at the call (`signal=SIGKILL`). Every run has a fresh DIR of its
//! own (prepared like the scenario's, or missing for the first pin), and
//! the runs go three at a time. After each run:
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
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{PINNS, become_subreaper, drain, umount_all_under, wait_group_gone};

/// Longest a faulted run may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(20);

/// Runs in flight at once (the machine has 2 cores, shared).
const WORKERS: usize = 3;

/// The id maps of the user-namespace pod.
const UID_MAP: &str = "--uid-mapping=0-100000-65536";
const GID_MAP: &str = "--gid-mapping=0-100000-65536";

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
    },
    Scenario {
        tag: "mnt",
        pin: &["--mnt"],
        types: &["mnt"],
        fresh: false,
        unpin: false,
    },
    Scenario {
        tag: "json",
        pin: &["--net", "--uts", "--json"],
        types: &["net", "uts"],
        fresh: false,
        unpin: false,
    },
    Scenario {
        tag: "cgroup",
        pin: &["--cgroup"],
        types: &["cgroup"],
        fresh: false,
        unpin: false,
    },
    Scenario {
        tag: "pidtime",
        pin: &["--pid", "--time", "--monotonic", "5", "--boottime", "7"],
        types: &["pid", "time"],
        fresh: false,
        unpin: false,
    },
    Scenario {
        tag: "unpin",
        pin: &[
            "--user", UID_MAP, GID_MAP, "--net", "--ipc", "--uts", "--mnt",
        ],
        types: &["user", "net", "ipc", "uts", "mnt"],
        fresh: false,
        unpin: true,
    },
];

impl Scenario {
    /// The command under test, `-d dir` included.
    fn args(&self, dir: &Path) -> Vec<String> {
        let dir = dir.to_str().expect("UTF-8 temp dir").to_string();
        if self.unpin {
            return ["unpin", "-d", &dir, "-f", NAME].map(String::from).to_vec();
        }
        let mut args: Vec<String> = ["-d", &dir, "-f", NAME].map(String::from).to_vec();
        args.extend(self.pin.iter().map(|s| s.to_string()));
        args
    }

    /// Makes DIR as the scenario starts from: set up by an earlier pin (or
    /// holding the pin to remove), or missing.
    fn prepare(&self, dir: &Path) -> Result<(), String> {
        if self.fresh {
            return Ok(());
        }
        let warm = if self.unpin { NAME } else { "warm" };
        quiet(pinns_cmd(dir, warm, self.pin)).map_err(|e| format!("preparing: {e}"))?;
        if !self.unpin {
            quiet(unpin_cmd(dir, warm)).map_err(|e| format!("preparing: {e}"))?;
        }
        Ok(())
    }
}

fn pinns_cmd(dir: &Path, name: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(PINNS);
    cmd.arg("-d").arg(dir).args(["-f", name]).args(args);
    cmd
}

fn unpin_cmd(dir: &Path, name: &str) -> Command {
    let mut cmd = Command::new(PINNS);
    cmd.arg("unpin").arg("-d").arg(dir).args(["-f", name]);
    cmd
}

/// Runs a clean command to its end; Ok when it exits 0.
fn quiet(mut cmd: Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
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

/// Runs the scenario once under `strace -f -o LOG` and reads the log.
fn enumerate(s: &Scenario) -> Calls {
    let run = RunDir::new(&format!("enum-{}", s.tag));
    s.prepare(&run.dir).expect("preparing the enumeration run");
    let log = run.root.join("strace.log");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&log)
        .arg("--")
        .arg(PINNS)
        .args(s.args(&run.dir))
        .stdin(Stdio::null())
        .output()
        .expect("running strace (apt-get install strace)");
    assert!(
        out.status.success(),
        "{}: clean run under strace: {}: {}",
        s.tag,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&log).expect("reading the strace log");
    let mut order: Vec<String> = Vec::new();
    let mut seqs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || !rest[name.len()..].starts_with('(') {
            continue; // signals, exits, resumed calls
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
struct Case {
    scenario: &'static Scenario,
    call: String,
    when: usize,
    fault: Fault,
}

/// Every (call, occurrence, fault) of a scenario, and how many occurrences
/// could not be faulted apart from the loader's.
fn cases(s: &'static Scenario, calls: &Calls) -> (Vec<Case>, usize) {
    let mut most: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &calls.per_process {
        for (name, n) in p {
            let m = most.entry(name.as_str()).or_insert(0);
            *m = (*m).max(*n);
        }
    }
    let mut out = Vec::new();
    let mut shadowed = 0;
    for (call, n) in most {
        // strace names a call newer than itself by number only
        // (`syscall_0x1c9`, statmount, for Debian 12's strace 6.1), and
        // cannot inject into it: tests/propagation.rs fails that one with
        // a seccomp filter instead.
        if NOT_FAULTED.contains(&call) || call.starts_with("syscall_0x") {
            continue;
        }
        let skip = calls.loader.get(call).copied().unwrap_or(0);
        // Occurrences 1..=skip of this call in the main process are the
        // loader's; a child's occurrence at the same number would fail
        // with it.
        shadowed += calls
            .per_process
            .iter()
            .skip(1)
            .map(|p| p.get(call).copied().unwrap_or(0).min(skip))
            .sum::<usize>();
        for when in skip + 1..=n {
            let mut faults = vec![Fault::Kill];
            if call != "close" {
                faults.extend([Fault::Eio, Fault::Enomem]);
            }
            if BLOCKING.contains(&call) {
                faults.push(Fault::Eintr);
            }
            for fault in faults {
                out.push(Case {
                    scenario: s,
                    call: call.to_string(),
                    when,
                    fault,
                });
            }
        }
    }
    (out, shadowed)
}

// ---------------------------------------------------------------------------
// One run.

/// A temp directory of one run, with DIR inside it; on drop every pin under
/// it is unpinned, every mount under it lazily unmounted, and it is removed.
struct RunDir {
    root: PathBuf,
    dir: PathBuf,
}

impl RunDir {
    fn new(tag: &str) -> RunDir {
        let root = tempfile::Builder::new()
            .prefix(&format!("pinns-fault-{tag}-"))
            .tempdir_in("/tmp")
            .expect("creating a temp dir")
            .keep();
        RunDir {
            dir: root.join("d"),
            root,
        }
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        for name in [NAME, NEXT, "warm"] {
            let _ = unpin_cmd(&self.dir, name)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        umount_all_under(&self.root);
        let _ = fs::remove_dir_all(&self.root);
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
    /// The fault was never reached: the run took another path first
    /// (another process's fault at the same number ended it).
    NotReached,
}

/// Runs one case and checks everything; Err says what went wrong.
fn run(case: &Case) -> Result<Outcome, String> {
    let s = case.scenario;
    let rd = RunDir::new(s.tag);
    s.prepare(&rd.dir)?;
    let log = rd.root.join("strace.log");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(&log)
        .arg("-e")
        // execve too, so that the log's first line names the main process.
        .arg(format!("trace=execve,{}", case.call))
        .arg("-e")
        .arg(case.fault.inject(&case.call, case.when))
        .arg("--")
        .arg(PINNS)
        .args(s.args(&rd.dir))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
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
    let mut child = cmd.spawn().map_err(|e| format!("starting strace: {e}"))?;
    let pgid = child.id() as i32;
    let deadline = Instant::now() + HANG;
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let drained = drain(&[out.as_fd(), err.as_fd()], deadline);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(2)),
            _ => break None,
        }
    };
    let (Ok(bufs), Some(status)) = (drained, status) else {
        // SAFETY: kill(2) of the process group this run made.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = child.wait();
        let _ = wait_group_gone(pgid, Instant::now() + Duration::from_secs(5));
        return Err(format!("HANG: still running after {HANG:?}, killed"));
    };
    if let Err(left) = wait_group_gone(pgid, Instant::now() + Duration::from_secs(5)) {
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        return Err(format!("processes left behind: {left:?}"));
    }
    let stdout = String::from_utf8_lossy(&bufs[0]).into_owned();
    let stderr = String::from_utf8_lossy(&bufs[1]).into_owned();
    let log = fs::read_to_string(&log).unwrap_or_default();
    let injected = log.contains("(INJECTED)");
    // The main process's (the first pid in the log: its execve) write to
    // stderr failed.
    let main_pid = log.split_whitespace().next().unwrap_or("-");
    let message_lost = log.lines().any(|l| {
        l.split_once(' ').is_some_and(|(pid, call)| {
            pid == main_pid && call.trim_start().starts_with("write(2, ")
        }) && l.contains("(INJECTED)")
    });
    let said = || format!("{status}; stdout {stdout:?}; stderr {stderr:?}");
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
                absent(&rd.dir, NAME)?;
            } else {
                whole(&rd.dir, NAME, s.types)?;
            }
            if injected {
                Outcome::Succeeded
            } else {
                Outcome::NotReached
            }
        }
        (Some(1), _) if stderr.is_empty() && message_lost => {
            if !s.unpin {
                absent(&rd.dir, NAME).map_err(|e| format!("{e}; {}", said()))?;
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
                absent(&rd.dir, NAME).map_err(|e| format!("{e}; {}", said()))?;
            }
            Outcome::Failed
        }
        (None, Some(libc::SIGKILL)) if case.fault == Fault::Kill => Outcome::Killed,
        _ => return Err(format!("ended badly: {}", said())),
    };
    if case.fault == Fault::Eintr && outcome != Outcome::Succeeded && outcome != Outcome::NotReached
    {
        return Err(format!("EINTR was not restarted: {}", said()));
    }
    // Whatever happened, a clean unpin clears NAME, and the DIR still works.
    quiet(unpin_cmd(&rd.dir, NAME)).map_err(|e| format!("unpin after: {e}"))?;
    absent(&rd.dir, NAME).map_err(|e| format!("after unpin: {e}"))?;
    quiet(pinns_cmd(&rd.dir, NEXT, s.pin)).map_err(|e| format!("next pin: {e}"))?;
    whole(&rd.dir, NEXT, s.types)?;
    propagation(&rd.dir)?;
    quiet(unpin_cmd(&rd.dir, NEXT)).map_err(|e| format!("unpin of the next pin: {e}"))?;
    absent(&rd.dir, NEXT)?;
    Ok(outcome)
}

// ---------------------------------------------------------------------------
// The kernel's view.

fn clone_flag(ty: &str) -> i32 {
    match ty {
        "net" => libc::CLONE_NEWNET,
        "ipc" => libc::CLONE_NEWIPC,
        "uts" => libc::CLONE_NEWUTS,
        "user" => libc::CLONE_NEWUSER,
        "mnt" => libc::CLONE_NEWNS,
        "cgroup" => libc::CLONE_NEWCGROUP,
        "pid" => libc::CLONE_NEWPID,
        "time" => libc::CLONE_NEWTIME,
        _ => panic!("unknown type {ty}"),
    }
}

/// Every pin of `name` is an nsfs mount, once, of the right type.
fn whole(dir: &Path, name: &str, types: &[&str]) -> Result<(), String> {
    let nsfs = common::ns_mounts_under(dir);
    for ty in types {
        let path = dir.join(format!("{ty}ns")).join(name);
        let n = nsfs.iter().filter(|m| m.mount_point == path).count();
        if n != 1 {
            return Err(format!("{} is mounted {n} times", path.display()));
        }
        let f = fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        // SAFETY: NS_GET_NSTYPE (_IO(0xb7, 0x3)) takes no argument.
        let t = unsafe { libc::ioctl(f.as_raw_fd(), (0xb7 << 8) | 0x3) };
        if t != clone_flag(ty) {
            return Err(format!("{} is not a {ty} namespace ({t})", path.display()));
        }
    }
    Ok(())
}

/// Nothing of `name` under `dir`: no file at any pin path, no nsfs mount.
fn absent(dir: &Path, name: &str) -> Result<(), String> {
    let files: Vec<PathBuf> = common::TYPE_DIRS
        .iter()
        .map(|t| dir.join(t).join(name))
        .filter(|p| fs::symlink_metadata(p).is_ok())
        .collect();
    let mounts: Vec<PathBuf> = common::ns_mounts_under(dir)
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.file_name() == Some(std::ffi::OsStr::new(name)))
        .collect();
    if files.is_empty() && mounts.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{name} left behind: files {files:?}, mounts {mounts:?}"
        ))
    }
}

/// Each type directory under `dir` that is a mount point is mounted once;
/// `mntns` is unbindable, the others shared in a peer group of their own.
fn propagation(dir: &Path) -> Result<(), String> {
    let all = common::mountinfo("self");
    for t in common::TYPE_DIRS {
        let path = dir.join(t);
        let here: Vec<_> = all.iter().filter(|m| m.mount_point == path).collect();
        match here.len() {
            0 => continue,
            1 => {}
            n => return Err(format!("{} mounted {n} times", path.display())),
        }
        let opts: Vec<&str> = here[0].optional.split(' ').collect();
        if t == "mntns" {
            if !opts.contains(&"unbindable") || opts.iter().any(|o| o.starts_with("shared:")) {
                return Err(format!("{} is not unbindable: {opts:?}", path.display()));
            }
            continue;
        }
        let Some(group) = opts.iter().find(|o| o.starts_with("shared:")) else {
            return Err(format!("{} is not shared: {opts:?}", path.display()));
        };
        if opts.iter().any(|o| o.starts_with("master:")) {
            return Err(format!("{} is a slave: {opts:?}", path.display()));
        }
        let peers = all
            .iter()
            .filter(|m| m.optional.split(' ').any(|o| o == *group))
            .count();
        if peers != 1 {
            return Err(format!(
                "{} shares its peer group with {} other mounts",
                path.display(),
                peers - 1
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The walk.

#[test]
fn every_system_call_of_pin_and_unpin_may_fail() {
    assert_eq!(common::unsafe_geteuid(), 0, "this test runs as root");
    become_subreaper();
    let start = Instant::now();
    let mut all: Vec<Case> = Vec::new();
    let mut shadowed = 0;
    // PINNS_FAULTS=TAG,... walks only those scenarios (while debugging).
    let only = std::env::var("PINNS_FAULTS").ok();
    for s in SCENARIOS {
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|t| t == s.tag))
        {
            continue;
        }
        let calls = enumerate(s);
        let (cases, shadow) = cases(s, &calls);
        eprintln!(
            "faults: {}: {} processes, {} calls after the loader, {} runs",
            s.tag,
            calls.per_process.len(),
            calls
                .per_process
                .iter()
                .map(|p| p.values().sum::<usize>())
                .sum::<usize>()
                - calls.loader.values().sum::<usize>(),
            cases.len()
        );
        shadowed += shadow;
        all.extend(cases);
    }
    let enumerated = start.elapsed();
    let next = AtomicUsize::new(0);
    let tally: Mutex<BTreeMap<(Fault, Outcome), usize>> = Mutex::new(BTreeMap::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = all.get(i) else { break };
                    match run(case) {
                        Ok(outcome) => {
                            *tally
                                .lock()
                                .unwrap()
                                .entry((case.fault, outcome))
                                .or_default() += 1;
                        }
                        Err(e) => failures.lock().unwrap().push(format!(
                            "{} {}:{:?}:when={}: {e}",
                            case.scenario.tag, case.call, case.fault, case.when
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
         and were not faulted; outcomes: {tally:?}",
        all.len(),
        start.elapsed(),
        failures.len(),
    );
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
