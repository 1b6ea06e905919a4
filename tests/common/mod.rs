//! Shared by the black-box tests: run the built binary as root under a
//! temp dir, inspect real kernel state, and undo every pin on drop.

#![allow(dead_code)]

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod kernel;

pub const PINNS: &str = env!("CARGO_BIN_EXE_pinns");

/// Every namespace type directory pinns may create.
pub const TYPE_DIRS: [&str; 8] = [
    "userns", "cgroupns", "ipcns", "utsns", "netns", "pidns", "timens", "mntns",
];

/// A temp pin directory that unpins and unmounts everything under it when
/// dropped, even when the test panicked.
pub struct PinDir {
    tmp: tempfile::TempDir,
    /// Extra paths outside the temp dir to unpin (e.g. /run/netns/NAME).
    pub also: Vec<(PathBuf, String)>,
}

impl PinDir {
    pub fn new() -> PinDir {
        assert_eq!(
            unsafe_geteuid(),
            0,
            "these tests run as root and never skip"
        );
        PinDir {
            tmp: tempfile::Builder::new()
                .prefix("pinns-test-")
                .tempdir()
                .unwrap(),
            also: Vec::new(),
        }
    }

    /// The pin directory (`-d`).
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// `DIR/<type>ns/NAME`.
    pub fn pin(&self, ty: &str, name: &str) -> PathBuf {
        self.path().join(format!("{ty}ns")).join(name)
    }

    /// Runs `pinns ARGS` with `-d DIR` added after the subcommand (if any).
    pub fn pinns(&self, args: &[&str]) -> Output {
        let mut full: Vec<&str> = Vec::new();
        let dir = self.path().to_str().unwrap();
        match args.first() {
            Some(&sub) if ["pin", "unpin", "list", "exec", "prune"].contains(&sub) => {
                full.extend([sub, "-d", dir]);
                full.extend(&args[1..]);
            }
            _ => {
                full.extend(["-d", dir]);
                full.extend(args);
            }
        }
        pinns(&full)
    }

    /// Like [`PinDir::pinns`], and asserts success.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.pinns(args);
        assert_success(&out, args);
        out
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        for (dir, name) in &self.also {
            let _ = Command::new(PINNS)
                .args(["unpin", "-d", dir.to_str().unwrap(), "-f", name])
                .output();
        }
        cleanup_dir(self.path());
    }
}

/// Unpins every NAME under `dir`, then lazily unmounts whatever is still
/// mounted beneath it (deepest first), type directories included.
pub fn cleanup_dir(dir: &Path) {
    for ty in TYPE_DIRS {
        let Ok(entries) = fs::read_dir(dir.join(ty)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let _ = Command::new(PINNS)
                .arg("unpin")
                .arg("-d")
                .arg(dir)
                .arg("-f")
                .arg(&name)
                .output();
        }
    }
    let mut left = mounts_under(dir);
    left.sort_by_key(|m| std::cmp::Reverse(m.mount_point.as_os_str().len()));
    for m in left {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&m.mount_point)
            .status();
    }
}

pub fn unsafe_geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Runs the binary with exactly `args`.
pub fn pinns(args: &[&str]) -> Output {
    Command::new(PINNS)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run pinns")
}

pub fn assert_success(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "pinns {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a failure with `code` and exactly one stderr line `pinns: ...`.
pub fn assert_one_line_failure(out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(
        err.starts_with("pinns: "),
        "stderr is not `pinns: ...`: {err:?}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "more than one line: {err:?}"
    );
    err
}

/// Runs a command and returns its stdout, asserting success.
pub fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().expect(cmd);
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

pub fn inode(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .ino()
}

pub fn own_ns(ty: &str) -> u64 {
    inode(&Path::new("/proc/self/ns").join(ty))
}

const NSIO: u64 = 0xb7;
/// `NS_GET_NSTYPE` and `NS_GET_USERNS` from `<linux/nsfs.h>`.
const NS_GET_USERNS: u64 = (NSIO << 8) | 0x1;
const NS_GET_NSTYPE: u64 = (NSIO << 8) | 0x3;

/// The namespace type of a pin, as the kernel says (`CLONE_NEW*`).
pub fn ns_type(path: &Path) -> i32 {
    let f = fs::File::open(path).unwrap();
    // SAFETY: NS_GET_NSTYPE takes no argument and returns an int.
    let t = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_NSTYPE as _) };
    assert!(t > 0, "{} is not a namespace", path.display());
    t
}

/// The inode of the user namespace that owns the namespace at `path`.
pub fn owner_userns(path: &Path) -> u64 {
    let f = fs::File::open(path).unwrap();
    // SAFETY: NS_GET_USERNS takes no argument and returns a new fd.
    let fd = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_USERNS as _) };
    assert!(fd >= 0, "NS_GET_USERNS on {}", path.display());
    let link = format!("/proc/self/fd/{fd}");
    let ino = inode(Path::new(&link));
    // SAFETY: fd was just returned to us.
    unsafe { libc::close(fd) };
    ino
}

/// One line of /proc/self/mountinfo.
#[derive(Debug, Clone)]
pub struct MountInfo {
    pub mount_point: PathBuf,
    pub optional: String,
    pub fs_type: String,
    pub source: String,
    pub root: String,
}

/// Undoes mountinfo's octal escapes (`\040` for a space), byte for byte.
pub fn unescape_mountinfo(field: &str) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    PathBuf::from(std::ffi::OsStr::from_bytes(&out))
}

pub fn mountinfo(pid: &str) -> Vec<MountInfo> {
    let text = fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            Some(MountInfo {
                root: unescape_mountinfo(f.get(3)?).to_string_lossy().into_owned(),
                mount_point: unescape_mountinfo(f.get(4)?),
                optional: f[6..].join(" "),
                fs_type: r.first()?.to_string(),
                source: r.get(1).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

/// Mounts at or below `dir` in our mount namespace.
pub fn mounts_under(dir: &Path) -> Vec<MountInfo> {
    mountinfo("self")
        .into_iter()
        .filter(|m| m.mount_point.starts_with(dir))
        .collect()
}

/// nsfs mounts at or below `dir`.
pub fn ns_mounts_under(dir: &Path) -> Vec<MountInfo> {
    mounts_under(dir)
        .into_iter()
        .filter(|m| m.fs_type == "nsfs")
        .collect()
}

/// Files (pins or leftovers) in the type directories under `dir`.
pub fn pin_files_under(dir: &Path) -> Vec<PathBuf> {
    TYPE_DIRS
        .iter()
        .filter_map(|ty| fs::read_dir(dir.join(ty)).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .collect()
}

/// A process we start, killed by pid (and reaped) when dropped.
pub struct Child(pub std::process::Child);

impl Child {
    pub fn spawn(cmd: &mut Command) -> Child {
        Child(cmd.spawn().expect("spawn"))
    }
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The children of process `pid`, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Waits (up to 5 s) until `cond` holds.
pub fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A name unique to this test process and call site.
pub fn unique(tag: &str) -> String {
    format!("pinns-test-{}-{tag}", std::process::id())
}

// ---------------------------------------------------------------------------
// Processes and pipes, for the tests that kill, fault or wait on pinns.

/// Makes this test process the reaper of orphans (the helper of a killed
/// `pinns`, a container's shim): pid 1 on these machines is slow to reap,
/// and a zombie left there would look like a survivor.
pub fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag.
        let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
        assert_eq!(r, 0, "prctl(PR_SET_CHILD_SUBREAPER)");
    });
}

/// Reads `fds` until every one is at end of file, or fails at `deadline`
/// (a descendant still holding one open).
pub fn drain(
    fds: &[std::os::fd::BorrowedFd<'_>],
    deadline: std::time::Instant,
) -> Result<Vec<Vec<u8>>, String> {
    let mut bufs = vec![Vec::new(); fds.len()];
    let mut open: Vec<bool> = vec![true; fds.len()];
    while open.iter().any(|o| *o) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err("a pipe stayed open: some process still holds it".into());
        }
        let mut pfds: Vec<libc::pollfd> = fds
            .iter()
            .zip(&open)
            .map(|(fd, o)| libc::pollfd {
                fd: if *o { fd.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = left.as_millis().clamp(1, 500) as libc::c_int;
        // SAFETY: `pfds` is a valid array of pollfd for its length.
        if unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) } < 0 {
            continue; // EINTR
        }
        for (i, p) in pfds.iter().enumerate() {
            if p.fd < 0 || p.revents == 0 {
                continue;
            }
            let mut chunk = [0u8; 4096];
            // SAFETY: reading into a stack buffer of the given length.
            let r = unsafe { libc::read(p.fd, chunk.as_mut_ptr().cast(), chunk.len()) };
            if r <= 0 {
                open[i] = false;
            } else {
                bufs[i].extend_from_slice(&chunk[..r as usize]);
            }
        }
    }
    Ok(bufs)
}

/// One process, from `/proc/PID/stat`.
#[derive(Debug)]
pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    pub state: char,
    /// Shown in failure messages.
    pub comm: String,
}

/// Every process.
pub fn procs() -> Vec<Proc> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(e.path().join("stat")).ok()?;
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let rest: Vec<&str> = stat[close + 2..].split(' ').collect();
            Some(Proc {
                pid,
                comm: stat[open + 1..close].to_string(),
                state: rest.first()?.chars().next()?,
                ppid: rest.get(1)?.parse().ok()?,
                pgrp: rest.get(2)?.parse().ok()?,
            })
        })
        .collect()
}

/// Waits until no process of group `pgid` is alive, reaping the zombies
/// handed to us; returns the survivors if some are still there at
/// `deadline`.
pub fn wait_group_gone(pgid: i32, deadline: std::time::Instant) -> Result<(), Vec<Proc>> {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    loop {
        let mut alive = Vec::new();
        for p in procs().into_iter().filter(|p| p.pgrp == pgid) {
            if p.state == 'Z' || p.state == 'X' {
                if p.ppid == me {
                    // SAFETY: waitpid of one specific pid, our own zombie child.
                    unsafe { libc::waitpid(p.pid, std::ptr::null_mut(), libc::WNOHANG) };
                }
                continue;
            }
            alive.push(p);
        }
        if alive.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(alive);
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Lazily unmounts every mount under `root` (itself included), deepest
/// first, until none is left.
pub fn umount_all_under(root: &Path) {
    use std::os::unix::ffi::OsStrExt;
    for _ in 0..32 {
        let mut left = mounts_under(root);
        if left.is_empty() {
            return;
        }
        left.sort_by_key(|m| std::cmp::Reverse(m.mount_point.components().count()));
        for m in left {
            let c = std::ffi::CString::new(m.mount_point.as_os_str().as_bytes())
                .expect("no NUL in a mount point");
            // SAFETY: umount2 with a valid C string; failure is retried.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW) };
        }
    }
}
