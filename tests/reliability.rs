//! Reliability (issue 5): `pinns` survives faults, races, hostile input and
//! unprivileged callers, and leaves nothing behind.
//!
//! Black-box: every test runs the built binary as root under a temporary
//! directory of its own and checks the kernel's view (`/proc/self/mountinfo`,
//! `/proc/*/stat`, inodes). Nothing skips: the tests need root, and not
//! being root is a failure.
//!
//! - crash: SIGKILL at hundreds of moments of a helper-child pin;
//! - races: many `pinns` at once on one directory, and pin/unpin of one NAME;
//! - hostile paths: symlinks (also swapped in while pinns runs), FIFOs,
//!   sockets, directories, hard links, bad names, bad pin directories;
//! - sysctl keys that try to leave `/proc/sys`;
//! - unprivileged callers (`setpriv` to nobody);
//! - kernels lacking a namespace type, simulated with a seccomp filter that
//!   makes `unshare(CLONE_NEW*)` (or the pidfd ioctl) fail as such a kernel
//!   does.
//!
//! Every test works in a directory of its own (`/tmp/pinns-rel-*`), so the
//! tests run in parallel with each other and with other test files. A
//! [`Scratch`] guard, dropped even when a test panics, unpins every NAME the
//! test used, kills the process groups it started, lazily unmounts every
//! mount left under its directory (deepest first, type-directory self-binds
//! included) and removes the directory.

mod common;

use std::ffi::{CString, OsStr};
use std::fs;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{become_subreaper, drain, procs, umount_all_under, wait_group_gone};

const PINNS: &str = env!("CARGO_BIN_EXE_pinns");

/// Longest any one command may take before the test kills it and fails.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The helper-child pin the crash test interrupts.
const HELPER_PIN: &[&str] = &[
    "--user",
    "--uid-mapping=0-100000-65536",
    "--gid-mapping=0-100000-65536",
    "--mnt",
    "--net",
    "--ipc",
    "--uts",
    "-s",
    "net.ipv4.ip_forward=1",
    "-s",
    "kernel.hostname=x",
];

/// The pin directory names of every namespace type.
const TYPE_DIRS: [&str; 8] = [
    "userns", "cgroupns", "ipcns", "utsns", "netns", "pidns", "timens", "mntns",
];

// ---------------------------------------------------------------------------
// Running commands: never hang, always capture, always report.

#[derive(Debug)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    what: String,
}

impl Out {
    fn ok(self) -> Out {
        assert!(
            self.code == Some(0),
            "{}: exit {:?}\nstdout: {}\nstderr: {}",
            self.what,
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// A refusal: exit status one of `codes`, nothing on stdout, and
    /// exactly one line on stderr, starting `pinns: `.
    fn refused(self, codes: &[i32]) -> Out {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            self.code.is_some_and(|c| codes.contains(&c)),
            "{}: exit {:?}, wanted one of {codes:?}\nstderr: {}",
            self.what,
            self.code,
            self.stderr
        );
        assert!(
            lines.len() == 1 && lines[0].starts_with("pinns: ") && self.stderr.ends_with('\n'),
            "{}: wanted one line starting 'pinns: ', got {:?}",
            self.what,
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "{}: stdout {:?}",
            self.what,
            self.stdout
        );
        self
    }

    fn says(self, needle: &str) -> Out {
        assert!(
            self.stderr.contains(needle),
            "{}: stderr {:?} lacks {needle:?}",
            self.what,
            self.stderr
        );
        self
    }
}

/// Kills process group `pgid`, one that we made with `process_group(0)`.
fn kill_group(pgid: i32) {
    // SAFETY: kill(2) of a negative pid signals only that group.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// Spawns `cmd` in a process group of its own, stdout and stderr piped.
fn spawn(cmd: &mut Command) -> Child {
    let what = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"))
}

/// Waits for `child` (reading its output to end of file), killing its
/// process group and failing after [`TIMEOUT`].
fn finish(mut child: Child, what: String) -> Out {
    let deadline = Instant::now() + TIMEOUT;
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    let bufs = drain(&[out.as_fd(), err.as_fd()], deadline);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(1)),
            _ => {
                kill_group(child.id() as i32);
                let _ = child.wait();
                panic!("{what}: still running after {TIMEOUT:?}, killed");
            }
        }
    };
    let bufs = bufs.unwrap_or_else(|e| {
        kill_group(child.id() as i32);
        panic!("{what}: {e}")
    });
    Out {
        code: status.code(),
        stdout: String::from_utf8_lossy(&bufs[0]).into_owned(),
        stderr: String::from_utf8_lossy(&bufs[1]).into_owned(),
        what,
    }
}

fn run_cmd(cmd: &mut Command) -> Out {
    let what = format!("{cmd:?}");
    let child = spawn(cmd);
    finish(child, what)
}

/// `pinns` with `-d dir` first: `pin_in(dir, &["-f", "x", "--net"])`.
fn pinns_in(dir: &Path, args: &[&str]) -> Out {
    run_cmd(Command::new(PINNS).arg("-d").arg(dir).args(args))
}

fn sub_in(sub: &str, dir: &Path, args: &[&str]) -> Out {
    run_cmd(Command::new(PINNS).arg(sub).arg("-d").arg(dir).args(args))
}

// ---------------------------------------------------------------------------
// The kernel's view: mounts and processes.

#[derive(Clone, Debug)]
struct Mount {
    point: PathBuf,
    optional: Vec<String>,
    fstype: String,
    line: String,
}

fn mounts() -> Vec<Mount> {
    let text = fs::read_to_string("/proc/self/mountinfo").expect("reading mountinfo");
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let sep = fields.iter().position(|f| *f == "-")?;
            Some(Mount {
                point: common::unescape_mountinfo(fields.get(4)?),
                optional: fields[6..sep].iter().map(|s| s.to_string()).collect(),
                fstype: fields.get(sep + 1)?.to_string(),
                line: line.to_string(),
            })
        })
        .collect()
}

fn mounts_under(root: &Path) -> Vec<Mount> {
    mounts()
        .into_iter()
        .filter(|m| m.point.starts_with(root))
        .collect()
}

fn nsfs_under(root: &Path) -> Vec<Mount> {
    mounts_under(root)
        .into_iter()
        .filter(|m| m.fstype == "nsfs")
        .collect()
}

fn is_mount_point(path: &Path) -> bool {
    mounts().iter().any(|m| m.point == path)
}

// ---------------------------------------------------------------------------
// The guard.

/// A temporary directory of the test's own, cleaned up on drop even when
/// the test panics.
struct Scratch {
    root: PathBuf,
    /// (DIR, NAME) pairs to `pinns unpin` on drop.
    pins: Mutex<Vec<(PathBuf, String)>>,
    /// Process groups started, killed on drop if anything is left in them.
    groups: Mutex<Vec<i32>>,
}

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix(&format!("pinns-rel-{tag}-"))
            .tempdir_in("/tmp")
            .expect("creating a temporary directory")
            .keep();
        Scratch {
            root: dir,
            pins: Mutex::new(Vec::new()),
            groups: Mutex::new(Vec::new()),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Remembers NAME under DIR, to unpin it on drop.
    fn track(&self, dir: &Path, name: &str) {
        self.pins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((dir.to_path_buf(), name.to_string()));
    }

    fn track_group(&self, pgid: i32) {
        self.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(pgid);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let groups = std::mem::take(&mut *self.groups.lock().unwrap_or_else(|e| e.into_inner()));
        let live: Vec<i32> = procs().iter().map(|p| p.pgrp).collect();
        for pgid in groups {
            if live.contains(&pgid) {
                kill_group(pgid);
            }
        }
        let pins = std::mem::take(&mut *self.pins.lock().unwrap_or_else(|e| e.into_inner()));
        for (dir, name) in pins {
            let anything = TYPE_DIRS
                .iter()
                .any(|t| fs::symlink_metadata(dir.join(t).join(&name)).is_ok());
            if anything {
                let _ = Command::new(PINNS)
                    .arg("unpin")
                    .arg("-d")
                    .arg(&dir)
                    .arg("-f")
                    .arg(&name)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        umount_all_under(&self.root);
        // Directories we made read-only must not stop the removal.
        let _ = fs::set_permissions(&self.root, fs::Permissions::from_mode(0o755));
        let _ = fs::remove_dir_all(&self.root);
    }
}

// ---------------------------------------------------------------------------
// State checks.

/// `pinns list --json` of `dir`: NAME -> [(type, state)].
fn listed(dir: &Path) -> Vec<(String, Vec<(String, String)>)> {
    let out = sub_in("list", dir, &["--json"]).ok();
    let doc: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("list --json: {e}: {:?}", out.stdout));
    doc["names"]
        .as_array()
        .expect("names")
        .iter()
        .map(|e| {
            let pins = e["pins"]
                .as_array()
                .expect("pins")
                .iter()
                .map(|p| {
                    (
                        p["type"].as_str().expect("type").to_string(),
                        p["state"].as_str().expect("state").to_string(),
                    )
                })
                .collect();
            (e["name"].as_str().expect("name").to_string(), pins)
        })
        .collect()
}

/// What sits at every `dir/<type>ns/name`: (type dir, "live"|"stale").
fn on_disk(dir: &Path, name: &str) -> Vec<(String, &'static str)> {
    let nsfs: Vec<PathBuf> = nsfs_under(dir).into_iter().map(|m| m.point).collect();
    TYPE_DIRS
        .iter()
        .filter_map(|t| {
            let p = dir.join(t).join(name);
            fs::symlink_metadata(&p).ok()?;
            Some((
                t.to_string(),
                if nsfs.contains(&p) { "live" } else { "stale" },
            ))
        })
        .collect()
}

/// Every type directory under `dir` that is a mount point has the
/// propagation the contract asks for: `mntns` unbindable, the others
/// shared in a peer group of their own; each is mounted once, and so is
/// each pin.
fn assert_propagation(dir: &Path) {
    let all = mounts();
    for t in TYPE_DIRS {
        let path = dir.join(t);
        let here: Vec<&Mount> = all.iter().filter(|m| m.point == path).collect();
        if here.is_empty() {
            continue;
        }
        assert_eq!(
            here.len(),
            1,
            "{} mounted more than once: {here:#?}",
            path.display()
        );
        let m = here[0];
        if t == "mntns" {
            assert!(
                m.optional.iter().any(|o| o == "unbindable")
                    && !m.optional.iter().any(|o| o.starts_with("shared:")),
                "{} is not an unbindable mount: {}",
                path.display(),
                m.line
            );
            continue;
        }
        let group = m
            .optional
            .iter()
            .find(|o| o.starts_with("shared:"))
            .unwrap_or_else(|| panic!("{} is not a shared mount: {}", path.display(), m.line));
        assert!(
            !m.optional.iter().any(|o| o.starts_with("master:")),
            "{} is a slave: {}",
            path.display(),
            m.line
        );
        let peers: Vec<&Mount> = all
            .iter()
            .filter(|o| o.optional.iter().any(|f| f == group))
            .collect();
        assert_eq!(
            peers.len(),
            1,
            "{} shares its peer group with other mounts: {peers:#?}",
            path.display()
        );
    }
    let nsfs = nsfs_under(dir);
    for m in &nsfs {
        let n = nsfs.iter().filter(|o| o.point == m.point).count();
        assert_eq!(n, 1, "{} is mounted {n} times", m.point.display());
    }
}

/// Nothing of NAME under `dir`: no file at any pin path, no nsfs mount.
fn assert_absent(dir: &Path, name: &str) {
    let left = on_disk(dir, name);
    assert!(
        left.is_empty(),
        "{name} left behind under {}: {left:?}",
        dir.display()
    );
    let nsfs: Vec<Mount> = nsfs_under(dir)
        .into_iter()
        .filter(|m| m.point.file_name() == Some(OsStr::new(name)))
        .collect();
    assert!(nsfs.is_empty(), "mounts of {name} left: {nsfs:#?}");
}

/// What a file looks like, to prove it untouched: inode, device, size,
/// mode, link count, times, and content.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    dev: u64,
    ino: u64,
    mode: u32,
    nlink: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    content: Vec<u8>,
}

fn snapshot(path: &Path) -> Snapshot {
    let m = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let content = if m.file_type().is_file() {
        fs::read(path).expect("reading")
    } else if m.file_type().is_symlink() {
        fs::read_link(path)
            .expect("readlink")
            .into_os_string()
            .into_vec()
    } else {
        Vec::new()
    };
    Snapshot {
        dev: m.dev(),
        ino: m.ino(),
        mode: m.mode(),
        nlink: m.nlink(),
        size: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
        content,
    }
}

use std::os::unix::ffi::OsStringExt;

// ---------------------------------------------------------------------------
// Crash at any point.

/// Time for one full helper-child pin, from spawn to exit.
fn calibrate(s: &Scratch) -> Duration {
    let dir = s.path("calibrate");
    s.track(&dir, "c");
    let mut times: Vec<Duration> = (0..9)
        .map(|_| {
            let t = Instant::now();
            let mut child = spawn(
                Command::new(PINNS)
                    .arg("-d")
                    .arg(&dir)
                    .args(["-f", "c"])
                    .args(HELPER_PIN),
            );
            // Silent on success, so a blocking wait cannot fill a pipe.
            let status = child.wait().expect("waiting for pinns");
            let took = t.elapsed();
            assert!(status.success(), "calibration pin: {status}");
            sub_in("unpin", &dir, &["-f", "c"]).ok();
            took
        })
        .collect();
    times.sort();
    umount_all_under(&dir);
    let _ = fs::remove_dir_all(&dir);
    // Nearly the fastest: the other tests load the machine most while this
    // one starts, and a pin slowed down later is only interrupted more.
    times[1]
}

#[test]
fn sigkill_at_any_moment_leaves_no_process_and_unpin_cleans_up() {
    become_subreaper();
    let s = Scratch::new("crash");
    let full = calibrate(&s);
    // A little past the pin's whole run, in small steps.
    // Sweeps of the kill moment from 0 to a little past the pin's end.
    // The machine's load changes as other tests come and go, so each sweep
    // ends a little past the earliest moment the last one saw pinns finish.
    const SWEEPS: u32 = 6;
    const STEPS: u32 = 50;
    const TRIALS: u32 = SWEEPS * STEPS;
    let mut span = full.mul_f64(1.15);
    let mut spans = Vec::new();
    let mut outcomes: std::collections::BTreeMap<String, u32> = Default::default();
    let mut finished_before_kill = 0;
    let mut earliest_finish: Option<Duration> = None;
    for i in 0..TRIALS {
        if i % STEPS == 0 && i > 0 {
            span = match earliest_finish.take() {
                Some(d) => d.mul_f64(1.15),
                None => span.mul_f64(1.3),
            };
        }
        if i % STEPS == 0 {
            spans.push(span);
        }
        let delay = span * (i % STEPS) / STEPS;
        let dir = s.path(&format!("t{i}"));
        s.track(&dir, "p");
        s.track(&dir, "q");
        let what = format!("trial {i} (kill after {delay:?})");
        let mut child = spawn(
            Command::new(PINNS)
                .arg("-d")
                .arg(&dir)
                .args(["-f", "p"])
                .args(HELPER_PIN),
        );
        let pgid = child.id() as i32;
        s.track_group(pgid);
        let start = Instant::now();
        while start.elapsed() < delay {
            if delay.saturating_sub(start.elapsed()) > Duration::from_micros(300) {
                sleep(Duration::from_micros(100));
            } else {
                std::hint::spin_loop();
            }
        }
        // Only pinns itself: its helper must die on its own.
        // SAFETY: kill(2) of our own child, not yet reaped.
        unsafe { libc::kill(pgid, libc::SIGKILL) };
        let status = child.wait().expect("waiting for pinns");
        if status.code() == Some(0) {
            finished_before_kill += 1;
            earliest_finish = Some(earliest_finish.map_or(delay, |d| d.min(delay)));
        }
        // Nobody may keep pinns's stdout or stderr open (CRI-O reads them
        // to end of file), and no process of its group may survive.
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(5);
        if let Err(e) = drain(&[out.as_fd(), err.as_fd()], deadline) {
            panic!(
                "{what}: {e}; processes of the group: {:?}",
                wait_group_gone(pgid, Instant::now())
            );
        }
        if let Err(survivors) = wait_group_gone(pgid, deadline) {
            panic!("{what}: processes survived pinns: {survivors:#?}");
        }

        // list reports whatever is left, live or stale, and exits 0.
        let disk = on_disk(&dir, "p");
        let list = listed(&dir);
        let mut from_list: Vec<(String, String)> = list
            .iter()
            .filter(|(n, _)| n == "p")
            .flat_map(|(_, pins)| pins.clone())
            .collect();
        from_list.sort();
        let mut expected: Vec<(String, String)> = disk
            .iter()
            .map(|(t, st)| (t.trim_end_matches("ns").to_string(), st.to_string()))
            .collect();
        expected.sort();
        assert_eq!(
            from_list, expected,
            "{what}: list disagrees with the kernel"
        );
        let type_dirs = TYPE_DIRS.iter().filter(|t| dir.join(t).is_dir()).count();
        let mounted = TYPE_DIRS
            .iter()
            .filter(|t| mounts_under(&dir).iter().any(|m| m.point == dir.join(t)))
            .count();
        let key = format!(
            "{} type dirs, {mounted} mounted; pins: {}",
            if dir.exists() {
                type_dirs.to_string()
            } else {
                "no DIR, 0".into()
            },
            if disk.is_empty() {
                "none".to_string()
            } else {
                disk.iter()
                    .map(|(t, st)| format!("{t}:{st}"))
                    .collect::<Vec<_>>()
                    .join(",")
            }
        );
        *outcomes.entry(key).or_default() += 1;

        // The directory still works: a second pin succeeds, and the type
        // directories have the right propagation even after the crash.
        pinns_in(&dir, &[&["-f", "q"], HELPER_PIN].concat()).ok();
        assert_propagation(&dir);

        // unpin leaves no file and no mount of NAME behind.
        sub_in("unpin", &dir, &["-f", "p"]).ok();
        assert_absent(&dir, "p");
        sub_in("unpin", &dir, &["-f", "q"]).ok();
        assert_absent(&dir, "q");
        let left: Vec<Mount> = mounts_under(&dir)
            .into_iter()
            .filter(|m| !TYPE_DIRS.iter().any(|t| m.point == dir.join(t)))
            .collect();
        assert!(left.is_empty(), "{what}: mounts left: {left:#?}");
        umount_all_under(&dir);
        fs::remove_dir_all(&dir).expect("removing the trial directory");
    }
    eprintln!(
        "crash: {TRIALS} trials in sweeps over {spans:?} (full pin {full:?}), {finished_before_kill} finished before the kill; left behind: {outcomes:#?}"
    );
}

// ---------------------------------------------------------------------------
// Races.

/// Runs `jobs` through `workers` threads at once; `job(i)` returns an Out.
fn parallel<T: Send>(jobs: usize, workers: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::with_capacity(jobs));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs {
                        break;
                    }
                    let r = job(i);
                    results.lock().unwrap().push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn two_hundred_concurrent_pins_of_distinct_names_all_succeed() {
    const N: usize = 200;
    let s = Scratch::new("many");
    let dir = s.path("d"); // fresh: the type directories race to be set up
    let names: Vec<String> = (0..N).map(|i| format!("pod-{i}")).collect();
    for n in &names {
        s.track(&dir, n);
    }
    let outs = parallel(N, 24, |i| pinns_in(&dir, &["-f", &names[i], "-m", "--net"]));
    for out in outs {
        let out = out.ok();
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    }
    let list = listed(&dir);
    assert_eq!(list.len(), N, "list shows {} names", list.len());
    for (name, pins) in &list {
        assert_eq!(
            pins,
            &[
                ("net".to_string(), "live".to_string()),
                ("mnt".to_string(), "live".to_string())
            ],
            "{name}"
        );
    }
    // Nothing in the mount table under DIR but the two type directories
    // and one mount per pin.
    let under = mounts_under(&dir);
    let mut expected: Vec<PathBuf> = vec![dir.join("netns"), dir.join("mntns")];
    for n in &names {
        expected.push(dir.join("netns").join(n));
        expected.push(dir.join("mntns").join(n));
    }
    let mut got: Vec<PathBuf> = under.iter().map(|m| m.point.clone()).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "the mount table under DIR");
    assert_propagation(&dir);

    let outs = parallel(N, 24, |i| sub_in("unpin", &dir, &["-f", &names[i]]));
    for out in outs {
        out.ok();
    }
    assert!(listed(&dir).is_empty());
    let mut under: Vec<PathBuf> = mounts_under(&dir).into_iter().map(|m| m.point).collect();
    under.sort();
    assert_eq!(
        under,
        [dir.join("mntns"), dir.join("netns")],
        "only the type directories stay mounted"
    );
    for t in ["netns", "mntns"] {
        assert_eq!(
            fs::read_dir(dir.join(t)).unwrap().count(),
            0,
            "{t} not empty"
        );
    }
    umount_all_under(&dir);
    assert!(mounts_under(&s.root).is_empty());
}

#[test]
fn concurrent_pin_and_unpin_of_one_name_leave_it_whole_or_absent() {
    const ROUNDS: usize = 25;
    const PAIRS: usize = 8; // 16 processes in flight, 200 pairs in all
    let s = Scratch::new("pair");
    let dir = s.path("d");
    s.track(&dir, "pod");
    let mut pinned = 0;
    let mut refused = 0;
    let mut whole = 0;
    let mut absent = 0;
    for round in 0..ROUNDS {
        let outs = parallel(2 * PAIRS, 2 * PAIRS, |i| {
            if i % 2 == 0 {
                pinns_in(&dir, &["-f", "pod", "--net", "--ipc", "--uts"])
            } else {
                sub_in("unpin", &dir, &["-f", "pod"])
            }
        });
        for (i, out) in outs.into_iter().enumerate() {
            if i % 2 == 1 {
                out.ok();
            } else if out.code == Some(0) {
                pinned += 1;
            } else {
                out.refused(&[1]).says("already pinned");
                refused += 1;
            }
        }
        let disk = on_disk(&dir, "pod");
        let nsfs = nsfs_under(&dir);
        match disk.len() {
            0 => {
                absent += 1;
                assert!(
                    nsfs.is_empty(),
                    "round {round}: mounts without files: {nsfs:#?}"
                );
            }
            3 => {
                whole += 1;
                assert!(
                    disk.iter().all(|(_, st)| *st == "live"),
                    "round {round}: {disk:?}"
                );
                assert_eq!(nsfs.len(), 3, "round {round}: {nsfs:#?}");
            }
            _ => panic!("round {round}: NAME half pinned: {disk:?}"),
        }
        assert_propagation(&dir);
    }
    sub_in("unpin", &dir, &["-f", "pod"]).ok();
    assert_absent(&dir, "pod");
    eprintln!(
        "pin/unpin: {} pairs; pins made {pinned}, refused as already pinned {refused}; ends whole {whole}, absent {absent}",
        ROUNDS * PAIRS
    );
    umount_all_under(&dir);
    assert!(mounts_under(&s.root).is_empty());
}

// ---------------------------------------------------------------------------
// Hostile paths.

/// A hostile thing to plant at `DIR/netns/NAME`.
enum Plant {
    SymlinkToFile,
    SymlinkToEmptyFile,
    DanglingSymlink,
    Fifo,
    Socket,
    Directory,
    HardLink,
    NonEmptyFile,
}

fn plant_and_pin(plant: Plant, extra: &[&str], why: &str) {
    let s = Scratch::new("plant");
    let dir = s.path("d");
    let outside = s.path("outside");
    fs::create_dir_all(dir.join("netns")).unwrap();
    fs::create_dir(&outside).unwrap();
    let secret = outside.join("secret");
    fs::write(&secret, "do not touch\n").unwrap();
    let empty = outside.join("empty");
    fs::write(&empty, "").unwrap();
    let pin = dir.join("netns").join("x");
    s.track(&dir, "x");
    let mut _listener = None;
    match plant {
        Plant::SymlinkToFile => symlink(&secret, &pin).unwrap(),
        Plant::SymlinkToEmptyFile => symlink(&empty, &pin).unwrap(),
        Plant::DanglingSymlink => symlink(outside.join("made-by-pinns"), &pin).unwrap(),
        Plant::Fifo => {
            let c = CString::new(pin.as_os_str().as_bytes()).unwrap();
            // SAFETY: mkfifo with a valid C string.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        }
        Plant::Socket => {
            _listener = Some(std::os::unix::net::UnixListener::bind(&pin).unwrap());
        }
        Plant::Directory => fs::create_dir(&pin).unwrap(),
        Plant::HardLink => fs::hard_link(&empty, &pin).unwrap(),
        Plant::NonEmptyFile => fs::write(&pin, "pid 1234\n").unwrap(),
    }
    let before = (snapshot(&pin), snapshot(&secret), snapshot(&empty));
    // ipc and uts are pinned first (creation order), then net is refused:
    // the two made must be rolled back.
    let mut args = vec!["-f", "x", "--ipc", "--uts", "--net"];
    args.extend_from_slice(extra);
    pinns_in(&dir, &args).refused(&[1]).says(why);
    assert_eq!(
        before,
        (snapshot(&pin), snapshot(&secret), snapshot(&empty)),
        "something was touched"
    );
    assert!(
        !outside.join("made-by-pinns").exists(),
        "a symlink was followed"
    );
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        2,
        "outside changed"
    );
    assert!(nsfs_under(&s.root).is_empty(), "{:#?}", nsfs_under(&s.root));
    for m in [&secret, &empty, &pin] {
        assert!(!is_mount_point(m), "{} was mounted over", m.display());
    }
    for t in ["ipcns", "utsns"] {
        assert!(!dir.join(t).join("x").exists(), "{t}/x not rolled back");
    }
    // Nor does unpin touch what is not a pin (a hard link or an empty file
    // is only unlinked: that removes no data).
    let out = sub_in("unpin", &dir, &["-f", "x"]);
    if out.code != Some(0) {
        out.refused(&[1]).says("not a pin");
        assert_eq!(before.0, snapshot(&pin));
    }
    assert_eq!(
        (before.1, before.2.ino),
        (snapshot(&secret), snapshot(&empty).ino)
    );
    assert!(nsfs_under(&s.root).is_empty());
}

#[test]
fn symlink_at_pin_path_is_refused() {
    plant_and_pin(Plant::SymlinkToFile, &[], "symlink");
    plant_and_pin(Plant::SymlinkToEmptyFile, &[], "symlink");
    plant_and_pin(Plant::DanglingSymlink, &[], "symlink");
    // The helper-child path too (new user namespace owning the rest).
    plant_and_pin(
        Plant::SymlinkToEmptyFile,
        &[
            "--user",
            "--uid-mapping=0-100000-65536",
            "--gid-mapping=0-100000-65536",
            "--mnt",
        ],
        "symlink",
    );
}

#[test]
fn fifo_socket_directory_hardlink_and_nonempty_file_are_refused() {
    plant_and_pin(Plant::Fifo, &[], "not a regular file");
    plant_and_pin(Plant::Socket, &[], "not a regular file");
    plant_and_pin(Plant::Directory, &[], "directory");
    plant_and_pin(Plant::HardLink, &[], "hard links");
    plant_and_pin(Plant::NonEmptyFile, &[], "not empty");
}

#[test]
fn existing_pin_is_refused_and_kept() {
    let s = Scratch::new("twice");
    let dir = s.path("d");
    s.track(&dir, "x");
    pinns_in(&dir, &["-f", "x", "--net"]).ok();
    let ino = fs::metadata(dir.join("netns/x")).unwrap().ino();
    pinns_in(&dir, &["-f", "x", "--ipc", "--net"])
        .refused(&[1])
        .says("already pinned");
    assert_eq!(fs::metadata(dir.join("netns/x")).unwrap().ino(), ino);
    assert!(!dir.join("ipcns/x").exists(), "ipc pin not rolled back");
    assert_eq!(nsfs_under(&dir).len(), 1);
    // And an empty single-link file (CRI-O's) is used, inode and all.
    fs::create_dir_all(dir.join("utsns")).unwrap();
    fs::write(dir.join("utsns/y"), "").unwrap();
    s.track(&dir, "y");
    pinns_in(&dir, &["-f", "y", "--uts"]).ok();
    assert_eq!(on_disk(&dir, "y"), [("utsns".to_string(), "live")]);
    sub_in("unpin", &dir, &["-f", "x"]).ok();
    sub_in("unpin", &dir, &["-f", "y"]).ok();
    assert_absent(&dir, "x");
    assert_absent(&dir, "y");
}

#[test]
fn symlinked_or_non_directory_type_directory_is_refused() {
    let s = Scratch::new("typedir");
    let outside = s.path("outside");
    fs::create_dir(&outside).unwrap();
    let secret = outside.join("secret");
    fs::write(&secret, "keep\n").unwrap();
    for (i, make) in ["symlink-dir", "symlink-file", "file", "dangling"]
        .iter()
        .enumerate()
    {
        let dir = s.path(&format!("d{i}"));
        fs::create_dir(&dir).unwrap();
        s.track(&dir, "x");
        let netns = dir.join("netns");
        match *make {
            "symlink-dir" => symlink(&outside, &netns).unwrap(),
            "symlink-file" => symlink(&secret, &netns).unwrap(),
            "file" => fs::write(&netns, "").unwrap(),
            _ => symlink(outside.join("nowhere"), &netns).unwrap(),
        }
        let before = (snapshot(&netns), snapshot(&outside), snapshot(&secret));
        pinns_in(&dir, &["-f", "x", "--ipc", "--net"])
            .refused(&[1])
            .says("not a directory");
        assert_eq!(
            before,
            (snapshot(&netns), snapshot(&outside), snapshot(&secret)),
            "{make}"
        );
        assert_eq!(
            fs::read_dir(&outside).unwrap().count(),
            1,
            "{make}: outside changed"
        );
        assert!(
            !outside.join("nowhere").exists() && !outside.join("x").exists(),
            "{make}"
        );
        assert!(
            !is_mount_point(&outside) && !is_mount_point(&secret),
            "{make}"
        );
        assert!(nsfs_under(&s.root).is_empty(), "{make}");
        assert!(!dir.join("ipcns/x").exists(), "{make}: ipc pin left");
        // unpin refuses to walk through it too, and touches nothing.
        let out = sub_in("unpin", &dir, &["-f", "x"]);
        if out.code != Some(0) {
            out.refused(&[1]).says("not a directory");
        }
        assert_eq!(
            before,
            (snapshot(&netns), snapshot(&outside), snapshot(&secret)),
            "{make}"
        );
    }
}

#[test]
fn bad_names_are_usage_errors_that_touch_nothing() {
    let s = Scratch::new("names");
    let dir = s.path("d");
    let long = "n".repeat(256);
    for name in ["..", ".", "a/b", "/", "../escape", "", long.as_str()] {
        for sub in [None, Some("pin"), Some("unpin"), Some("exec")] {
            let mut cmd = Command::new(PINNS);
            cmd.args(sub).arg("-d").arg(&dir).args(["-f", name]);
            match sub {
                Some("unpin") => cmd.arg("--net"),
                Some("exec") => cmd.args(["--", "true"]),
                _ => cmd.args([
                    "--net",
                    "--user",
                    "--uid-mapping=0-100000-65536",
                    "--gid-mapping=0-100000-65536",
                ]),
            };
            run_cmd(&mut cmd).refused(&[2]).says("name");
            assert!(!dir.exists(), "{name:?}: DIR was created");
            assert!(!s.root.join("escape").exists());
        }
    }
    assert!(pinns::check_name("a\0b").is_err());
    assert!(pinns::check_name(&long).is_err());
    assert!(pinns::check_name("..").is_err());
    // 255 bytes is a valid file name, and works.
    let max = "m".repeat(255);
    s.track(&dir, &max);
    pinns_in(&dir, &["-f", &max, "--net"]).ok();
    sub_in("unpin", &dir, &["-f", &max]).ok();
    assert_absent(&dir, &max);
}

#[test]
fn pin_directory_that_is_a_file_or_read_only_is_refused() {
    let s = Scratch::new("baddir");
    // A regular file, and a path through one.
    let file = s.path("file");
    fs::write(&file, "data\n").unwrap();
    let before = snapshot(&file);
    for dir in [file.clone(), file.join("sub")] {
        pinns_in(&dir, &["-f", "x", "--net"])
            .refused(&[1])
            .says("pin directory");
        pinns_in(
            &dir,
            &[
                "-f",
                "x",
                "--net",
                "--user",
                "--uid-mapping=0-100000-65536",
                "--gid-mapping=0-100000-65536",
            ],
        )
        .refused(&[1]);
        assert_eq!(snapshot(&file), before);
    }
    // Read-only file systems: mode 0555 does not stop root, a read-only
    // mount does. Empty, then with the type directories already there
    // (so the namespaces are made and the pin file fails).
    let ro = s.path("ro");
    fs::create_dir(&ro).unwrap();
    mount_tmpfs(&ro, "ro");
    s.track(&ro, "x");
    pinns_in(&ro, &["-f", "x", "--net"])
        .refused(&[1])
        .says("Read-only file system");
    pinns_in(&ro.join("sub"), &["-f", "x", "--net"])
        .refused(&[1])
        .says("Read-only file system");

    let ro2 = s.path("ro2");
    fs::create_dir(&ro2).unwrap();
    mount_tmpfs(&ro2, "rw");
    for t in ["userns", "ipcns", "utsns", "netns", "mntns"] {
        fs::create_dir(ro2.join(t)).unwrap();
    }
    remount_ro(&ro2);
    s.track(&ro2, "x");
    pinns_in(&ro2, &["-f", "x", "--ipc", "--uts", "--net"])
        .refused(&[1])
        .says("Read-only file system");
    pinns_in(&ro2, &[&["-f", "x"], HELPER_PIN].concat())
        .refused(&[1])
        .says("Read-only file system");
    for root in [&ro, &ro2] {
        assert!(nsfs_under(root).is_empty(), "{:#?}", nsfs_under(root));
        assert_eq!(on_disk(root, "x"), Vec::<(String, &str)>::new());
    }
}

/// A `pinns` killed between self-binding `DIR/mntns` and making it
/// unbindable leaves a plain bind mount there: the next pinns repairs it
/// rather than taking it as set up.
#[test]
fn half_set_up_mntns_is_repaired() {
    let s = Scratch::new("mntns");
    let dir = s.path("d");
    let mntns = dir.join("mntns");
    fs::create_dir_all(&mntns).unwrap();
    let c = CString::new(mntns.as_os_str().as_bytes()).unwrap();
    // SAFETY: mount(2) with valid C strings: a plain self-bind, as the
    // first step of the set-up leaves it.
    let r = unsafe {
        libc::mount(
            c.as_ptr(),
            c.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    s.track(&dir, "x");
    pinns_in(&dir, &["-f", "x", "--mnt", "--net"]).ok();
    assert_propagation(&dir);
    assert_eq!(
        mounts_under(&dir)
            .iter()
            .filter(|m| m.point == mntns)
            .count(),
        1,
        "mntns bound a second time"
    );
    sub_in("unpin", &dir, &["-f", "x"]).ok();
    assert_absent(&dir, "x");
}

fn mount_tmpfs(at: &Path, opts: &str) {
    let c = CString::new(at.as_os_str().as_bytes()).unwrap();
    let flags = if opts == "ro" { libc::MS_RDONLY } else { 0 };
    // SAFETY: mount(2) with valid C strings and no data.
    let r = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            c.as_ptr(),
            c"tmpfs".as_ptr(),
            flags,
            std::ptr::null(),
        )
    };
    assert_eq!(
        r,
        0,
        "mounting tmpfs on {}: {}",
        at.display(),
        std::io::Error::last_os_error()
    );
}

fn remount_ro(at: &Path) {
    let c = CString::new(at.as_os_str().as_bytes()).unwrap();
    // SAFETY: mount(2) remount with valid C strings.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            c.as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_RDONLY,
            std::ptr::null(),
        )
    };
    assert_eq!(
        r,
        0,
        "remounting {} read-only: {}",
        at.display(),
        std::io::Error::last_os_error()
    );
}

#[test]
fn symlink_swapped_in_while_pinning_never_redirects_the_mount() {
    let s = Scratch::new("swap");
    let dir = s.path("d");
    let outside = s.path("outside");
    fs::create_dir(&outside).unwrap();
    // An empty single-link file would pass every check if it were
    // followed: the juiciest target.
    let empty = outside.join("empty");
    fs::write(&empty, "").unwrap();
    let secret = outside.join("secret");
    fs::write(&secret, "secret\n").unwrap();
    s.track(&dir, "x");
    // Make the type directories first, so the race is on the pin file.
    pinns_in(&dir, &["-f", "seed", "--net", "--uts"]).ok();
    sub_in("unpin", &dir, &["-f", "seed"]).ok();
    let before = (snapshot(&empty), snapshot(&secret));
    let pin_paths = [dir.join("netns/x"), dir.join("utsns/x")];

    let stop = AtomicBool::new(false);
    let swaps = AtomicUsize::new(0);
    let (mut pinned, mut refused, mut unpin_refused) = (0, 0, 0);
    const RUNS: usize = 150;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut n = 0usize;
            let mut rng = 0x9E37_79B9_7F4A_7C15u64;
            // A pause of 0 to ~50 µs, different each time, so that pinns
            // meets the symlink, the empty path, and every moment between.
            let mut pause = || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let until = Instant::now() + Duration::from_nanos(rng % 50_000);
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
            };
            while !stop.load(Ordering::Relaxed) {
                for p in &pin_paths {
                    let target = if n % 2 == 0 { &empty } else { &secret };
                    let _ = symlink(target, p);
                    pause();
                    // Removes a symlink, or pinns's fresh file (which an
                    // attacker sharing the directory may do too); a mount
                    // point cannot be removed.
                    let _ = fs::remove_file(p);
                    pause();
                }
                n += 1;
            }
            swaps.store(n, Ordering::Relaxed);
        });
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for i in 0..RUNS {
                let kinds: &[&str] = if i % 3 == 2 {
                    &[
                        "--user",
                        "--uid-mapping=0-100000-65536",
                        "--gid-mapping=0-100000-65536",
                        "--uts",
                        "--net",
                    ]
                } else {
                    &["--uts", "--net"]
                };
                let out = pinns_in(&dir, &[&["-f", "x"], kinds].concat());
                if out.code == Some(0) {
                    pinned += 1;
                } else {
                    out.refused(&[1]);
                    refused += 1;
                }
                for m in [&empty, &secret] {
                    assert!(
                        !is_mount_point(m),
                        "run {i}: {} was mounted over",
                        m.display()
                    );
                }
                // Unpin until nothing of x is left (the swapper may plant
                // a symlink that unpin refuses to touch, then remove it).
                let mut tries = 0;
                loop {
                    let out = sub_in("unpin", &dir, &["-f", "x"]);
                    if out.code == Some(0) && nsfs_under(&dir).is_empty() {
                        break;
                    }
                    if out.code != Some(0) {
                        out.refused(&[1]).says("not a pin");
                        unpin_refused += 1;
                    }
                    tries += 1;
                    assert!(tries < 200, "run {i}: unpin never got through");
                }
            }
        }));
        stop.store(true, Ordering::Relaxed);
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    });
    let _ = pin_paths.iter().map(fs::remove_file).count();
    assert_eq!(
        before,
        (snapshot(&empty), snapshot(&secret)),
        "an outside file was touched"
    );
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 2);
    assert!(nsfs_under(&s.root).is_empty());
    eprintln!(
        "swap: {RUNS} pins against {} swap cycles: {pinned} pinned, {refused} refused, {unpin_refused} unpins refused",
        swaps.load(Ordering::Relaxed)
    );
    assert!(
        pinned > 0 && refused > 0,
        "the race was not exercised: {pinned} pinned, {refused} refused"
    );
}

#[test]
fn hostile_entries_do_not_trouble_list() {
    let s = Scratch::new("list");
    let dir = s.path("d");
    s.track(&dir, "real");
    pinns_in(&dir, &["-f", "real", "--net"]).ok();
    let netns = dir.join("netns");
    let c = CString::new(netns.join("fifo").as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    symlink(netns.join("real"), netns.join("link")).unwrap();
    symlink("/proc/self/ns/net", netns.join("proclink")).unwrap();
    fs::create_dir(netns.join("dir")).unwrap();
    fs::write(netns.join(OsStr::from_bytes(b"bad\xffutf8")), "").unwrap();
    fs::write(netns.join("file"), "x").unwrap();
    let list = listed(&dir);
    let find = |n: &str| {
        list.iter()
            .find(|(name, _)| name == n)
            .map(|(_, p)| p.clone())
    };
    assert_eq!(find("real"), Some(vec![("net".into(), "live".into())]));
    for n in ["fifo", "link", "proclink", "dir", "file"] {
        assert_eq!(find(n), Some(vec![("net".into(), "stale".into())]), "{n}");
    }
    // The table form too.
    sub_in("list", &dir, &[]).ok();
}

// ---------------------------------------------------------------------------
// Sysctl keys that try to escape.

#[test]
fn escaping_sysctl_keys_are_refused_before_anything_is_made() {
    let s = Scratch::new("sysctl");
    let dir = s.path("d");
    for key in [
        "../../../etc/x=1",
        "net/../../kernel/x=1",
        "/etc/passwd=1",
        "net.ipv4.conf.all/../../x=1",
        "net/./ipv4/ip_forward=1",
        "net//ipv4/ip_forward=1",
        "net.ipv4..ip_forward=1",
        "net/ipv4/conf/../../../../etc/shadow=1",
        "kernel.panic=1",
        "vm.overcommit_memory=1",
    ] {
        for flags in [&["--net", "--ipc", "--uts"][..], HELPER_PIN] {
            pinns_in(&dir, &[&["-f", "x", "-s", key], flags].concat()).refused(&[2]);
            assert!(!dir.exists(), "{key}: DIR was created");
        }
    }
    // Keys of a namespace taken from the host would change the host's.
    pinns_in(
        &dir,
        &["-f", "x", "--net=host", "-s", "net.ipv4.ip_forward=1"],
    )
    .refused(&[2]);
    pinns_in(
        &dir,
        &[
            "-f",
            "x",
            "--uts=host",
            "--net",
            "-s",
            "kernel.hostname=evil",
        ],
    )
    .refused(&[2]);
    assert!(!dir.exists());
    assert!(nsfs_under(&s.root).is_empty());
}

// ---------------------------------------------------------------------------
// Unprivileged callers.

fn as_nobody(args: &[&str], dir: &Path) -> Out {
    run_cmd(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", PINNS])
            .args(args.iter().take_while(|a| **a != "@DIR"))
            .arg("-d")
            .arg(dir)
            .args(args.iter().skip_while(|a| **a != "@DIR").skip(1)),
    )
}

fn chown_nobody(path: &Path) {
    std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
}

#[test]
fn unprivileged_callers_get_one_clear_line_and_leave_nothing() {
    let s = Scratch::new("nobody");
    fs::set_permissions(&s.root, fs::Permissions::from_mode(0o755)).unwrap();
    let denied = |out: Out, step: &str| {
        let out = out.refused(&[1]).says(step);
        assert!(
            out.stderr.contains("Operation not permitted")
                || out.stderr.contains("Permission denied"),
            "{}",
            out.stderr
        );
    };
    // A fresh directory nobody owns: the first privileged step fails.
    let own = s.path("own");
    fs::create_dir(&own).unwrap();
    chown_nobody(&own);
    s.track(&own, "x");
    denied(
        as_nobody(&["@DIR", "-f", "x", "--net"], &own),
        "onto itself",
    );
    denied(
        as_nobody(&[&["@DIR", "-f", "x"], HELPER_PIN].concat(), &own),
        "onto itself",
    );
    assert!(on_disk(&own, "x").is_empty());

    // Type directories set up by root and handed to nobody: now the
    // namespace creation (or the id map) is what fails.
    let prepared = s.path("prepared");
    s.track(&prepared, "seed");
    s.track(&prepared, "x");
    pinns_in(&prepared, &[&["-f", "seed"], HELPER_PIN].concat()).ok();
    sub_in("unpin", &prepared, &["-f", "seed"]).ok();
    chown_nobody(&prepared);
    for t in ["userns", "ipcns", "utsns", "netns", "mntns"] {
        chown_nobody(&prepared.join(t));
    }
    denied(
        as_nobody(&["@DIR", "-f", "x", "--net", "--ipc"], &prepared),
        "creating",
    );
    denied(
        as_nobody(&[&["@DIR", "-f", "x"], HELPER_PIN].concat(), &prepared),
        "user namespace",
    );
    denied(
        as_nobody(&["@DIR", "-f", "x", "--mnt"], &prepared),
        "mnt namespace",
    );
    assert!(
        on_disk(&prepared, "x").is_empty(),
        "{:?}",
        on_disk(&prepared, "x")
    );
    assert!(nsfs_under(&s.root).is_empty());

    // Root's pins: nobody can neither remove nor re-pin them.
    let roots = s.path("roots");
    s.track(&roots, "r");
    pinns_in(&roots, &["-f", "r", "--net", "--uts"]).ok();
    let before = nsfs_under(&roots).len();
    denied(as_nobody(&["unpin", "@DIR", "-f", "r"], &roots), "r");
    assert_eq!(nsfs_under(&roots).len(), before);
    assert_eq!(on_disk(&roots, "r").len(), 2);
    as_nobody(&["list", "@DIR"], &roots).ok();
    sub_in("unpin", &roots, &["-f", "r"]).ok();
    assert_absent(&roots, "r");
}

// ---------------------------------------------------------------------------
// Kernels without a namespace type, simulated with seccomp.

/// Makes system call `nr` fail with `errno` in the command's process
/// (and its helper child) when its argument `arg` matches `value`:
/// `jset` tests `arg & value != 0`, otherwise `arg == value` (low 32 bits).
fn deny(cmd: &mut Command, nr: libc::c_long, arg: u32, value: u32, jset: bool, errno: i32) {
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7;
    const LD_ABS_W: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const RET_ALLOW: u32 = 0x7fff_0000;
    let f = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let prog = [
        f(LD_ABS_W, 0, 0, 4),                              // arch
        f(JEQ_K, 0, 5, ARCH),                              // else allow
        f(LD_ABS_W, 0, 0, 0),                              // syscall number
        f(JEQ_K, 0, 3, nr as u32),                         // else allow
        f(LD_ABS_W, 0, 0, 16 + 8 * arg),                   // args[arg], low half
        f(if jset { JSET_K } else { JEQ_K }, 0, 1, value), // else allow
        f(RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | errno as u32),
        f(RET_K, 0, 0, RET_ALLOW),
    ];
    // SAFETY: the closure runs in the child between fork and exec and only
    // makes two prctl calls on memory prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let fprog = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn a_kernel_without_a_namespace_type_is_named() {
    let s = Scratch::new("nokernel");
    let maps = [
        "--uid-mapping=0-100000-65536",
        "--gid-mapping=0-100000-65536",
    ];
    let cases: Vec<(Vec<&str>, libc::c_int, &str, &str)> = vec![
        (
            vec!["--user"],
            libc::CLONE_NEWUSER,
            "creating user namespace",
            "CONFIG_USER_NS",
        ),
        (
            vec!["--cgroup"],
            libc::CLONE_NEWCGROUP,
            "creating cgroup namespace",
            "CONFIG_CGROUPS",
        ),
        (
            vec!["--ipc", "--net"],
            libc::CLONE_NEWIPC,
            "creating ipc namespace",
            "CONFIG_IPC_NS",
        ),
        (
            vec!["--uts"],
            libc::CLONE_NEWUTS,
            "creating uts namespace",
            "CONFIG_UTS_NS",
        ),
        (
            vec!["--ipc", "--uts", "--net"],
            libc::CLONE_NEWNET,
            "creating net namespace",
            "CONFIG_NET_NS",
        ),
        (
            vec!["--pid"],
            libc::CLONE_NEWPID,
            "creating pid namespace",
            "CONFIG_PID_NS",
        ),
        (
            vec!["--time"],
            libc::CLONE_NEWTIME,
            "creating time namespace",
            "CONFIG_TIME_NS",
        ),
        (
            vec!["--mnt"],
            libc::CLONE_NEWNS,
            "creating mnt namespace",
            "mount namespaces",
        ),
        // The helper, after the user namespace and some others exist.
        (
            vec!["--user", "--net", "--time", "--mnt"],
            libc::CLONE_NEWTIME,
            "creating time namespace",
            "CONFIG_TIME_NS",
        ),
    ];
    // Before 6.11 a new pid namespace is refused before any unshare(2):
    // that refusal is checked below.
    let pid_ns = common::kernel::has_pid_ns_ioctl();
    let cases = cases
        .into_iter()
        .filter(|(kinds, ..)| pid_ns || !kinds.contains(&"--pid"));
    for (i, (kinds, flag, step, feature)) in cases.enumerate() {
        let dir = s.path(&format!("d{i}"));
        s.track(&dir, "x");
        let mut args: Vec<&str> = vec!["-f", "x"];
        args.extend(&kinds);
        if kinds.contains(&"--user") {
            args.extend(maps);
        }
        // The pin, with unshare(2) of this type failing with `errno`.
        let failing_with = |errno| {
            let mut cmd = Command::new(PINNS);
            cmd.arg("-d").arg(&dir).args(&args);
            deny(&mut cmd, libc::SYS_unshare, 0, flag as u32, true, errno);
            cmd
        };
        run_cmd(&mut failing_with(libc::EINVAL))
            .refused(&[1])
            .says(step)
            .says("does not support")
            .says(feature);
        assert!(
            on_disk(&dir, "x").is_empty(),
            "{kinds:?}: {:?}",
            on_disk(&dir, "x")
        );
        assert!(nsfs_under(&dir).is_empty());
        // Any other errno is passed on as it is, not blamed on the kernel.
        run_cmd(&mut failing_with(libc::ENOSPC))
            .refused(&[1])
            .says(step)
            .says("No space left on device");
        assert!(on_disk(&dir, "x").is_empty());
    }
    // A kernel without PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE (before 6.11).
    for errno in [libc::ENOTTY, libc::EINVAL] {
        let dir = s.path(&format!("pid{errno}"));
        s.track(&dir, "x");
        let mut cmd = Command::new(PINNS);
        cmd.arg("-d").arg(&dir).args(["-f", "x", "--net", "--pid"]);
        deny(&mut cmd, libc::SYS_ioctl, 1, 0xFF06, false, errno);
        run_cmd(&mut cmd)
            .refused(&[1])
            .says("PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE")
            .says("--from-pid");
        assert!(on_disk(&dir, "x").is_empty());
        assert!(nsfs_under(&dir).is_empty());
    }
    // The filter itself does not get in the way of a good pin.
    let dir = s.path("control");
    s.track(&dir, "x");
    let mut cmd = Command::new(PINNS);
    cmd.arg("-d")
        .arg(&dir)
        .args(["-f", "x", "--net", "--time"])
        .args(pid_ns.then_some("--pid"));
    deny(
        &mut cmd,
        libc::SYS_unshare,
        0,
        libc::CLONE_NEWCGROUP as u32,
        true,
        libc::EINVAL,
    );
    run_cmd(&mut cmd).ok();
    sub_in("unpin", &dir, &["-f", "x"]).ok();
    assert_absent(&dir, "x");
    let _ = std::io::stderr().flush();
}
