//! The mount table as the kernel shows it (`/proc/PID/mountinfo`), and the
//! propagation the contract asks of a pin directory.

use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::pin_dir::TYPE_DIRS;
use super::procs::{Child, wait_for};

/// One line of mountinfo, its paths unescaped.
#[derive(Debug, Clone)]
pub struct MountInfo {
    pub mount_point: PathBuf,
    /// The optional fields (`shared:N master:M unbindable`), space-separated.
    pub optional: String,
    pub fs_type: String,
    pub source: String,
    /// The root of the mount within its file system (for nsfs: `net:[INO]`).
    pub root: String,
    /// The whole line, for messages.
    pub line: String,
}

impl MountInfo {
    pub fn optional_fields(&self) -> impl Iterator<Item = &str> {
        self.optional.split(' ').filter(|f| !f.is_empty())
    }

    /// `shared:N`, when the mount is in a peer group.
    pub fn peer_group(&self) -> Option<&str> {
        self.optional_fields().find(|f| f.starts_with("shared:"))
    }

    pub fn is_slave(&self) -> bool {
        self.optional_fields().any(|f| f.starts_with("master:"))
    }

    pub fn is_unbindable(&self) -> bool {
        self.optional_fields().any(|f| f == "unbindable")
    }
}

/// Undoes mountinfo's octal escapes (`\040` for a space), byte for byte.
pub fn unescape_mountinfo(field: &str) -> PathBuf {
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
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// The mount table of process `pid` (`"self"` for ours).
pub fn mountinfo(pid: &str) -> Vec<MountInfo> {
    let path = format!("/proc/{pid}/mountinfo");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            Some(MountInfo {
                root: unescape_mountinfo(f.get(3)?).to_string_lossy().into_owned(),
                mount_point: unescape_mountinfo(f.get(4)?),
                optional: f.get(6..).unwrap_or_default().join(" "),
                fs_type: r.first()?.to_string(),
                source: r.get(1).unwrap_or(&"").to_string(),
                line: line.to_string(),
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

/// True when something is mounted at `path`.
pub fn is_mount_point(path: &Path) -> bool {
    mountinfo("self").iter().any(|m| m.mount_point == path)
}

/// Lazily unmounts every mount under `root` (itself included), deepest
/// first, until none is left.
pub fn umount_all_under(root: &Path) {
    for _ in 0..32 {
        let mut left = mounts_under(root);
        if left.is_empty() {
            return;
        }
        left.sort_by_key(|m| std::cmp::Reverse(m.mount_point.components().count()));
        for m in left {
            let c = CString::new(m.mount_point.as_os_str().as_bytes())
                .expect("no NUL in a mount point");
            // SAFETY: umount2 with a valid C string; failure is retried.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW) };
        }
    }
}

/// Every type directory under `dir` that is a mount point is mounted once;
/// `mntns` is unbindable, the others shared in a peer group of their own
/// (and no slave); each nsfs mount under `dir` is mounted once.
pub fn check_propagation(dir: &Path) -> Result<(), String> {
    let all = mountinfo("self");
    for t in TYPE_DIRS {
        let path = dir.join(t);
        let here: Vec<&MountInfo> = all.iter().filter(|m| m.mount_point == path).collect();
        let m = match here[..] {
            [] => continue,
            [m] => m,
            _ => {
                return Err(format!(
                    "{} mounted {} times: {here:#?}",
                    path.display(),
                    here.len()
                ));
            }
        };
        if t == "mntns" {
            if !m.is_unbindable() || m.peer_group().is_some() {
                return Err(format!("{} is not unbindable: {}", path.display(), m.line));
            }
            continue;
        }
        let Some(group) = m.peer_group() else {
            return Err(format!("{} is not shared: {}", path.display(), m.line));
        };
        if m.is_slave() {
            return Err(format!("{} is a slave: {}", path.display(), m.line));
        }
        let peers = all
            .iter()
            .filter(|o| o.optional_fields().any(|f| f == group))
            .count();
        if peers != 1 {
            return Err(format!(
                "{} shares its peer group with {} other mounts",
                path.display(),
                peers - 1
            ));
        }
    }
    let nsfs: Vec<&MountInfo> = all
        .iter()
        .filter(|m| m.fs_type == "nsfs" && m.mount_point.starts_with(dir))
        .collect();
    for m in &nsfs {
        let n = nsfs
            .iter()
            .filter(|o| o.mount_point == m.mount_point)
            .count();
        if n != 1 {
            return Err(format!("{} is mounted {n} times", m.mount_point.display()));
        }
    }
    Ok(())
}

/// [`check_propagation`], failing the test.
pub fn assert_propagation(dir: &Path) {
    check_propagation(dir).unwrap_or_else(|e| panic!("{e}"));
}

/// Another mount namespace, made with slave propagation as a CNI plugin's
/// or a container's is, kept alive until asked to count mounts in it: what
/// a pin made meanwhile must propagate into, exactly once.
pub struct OtherMountNs {
    child: Child,
    go: PathBuf,
}

impl OtherMountNs {
    /// Starts it and waits until `prelude` (a shell command; `true` for
    /// none, or a bind of a type directory onto a view) has run in it. Its
    /// hand-shake files, `TAG.ready` and `TAG.go`, go in `scratch`.
    pub fn start(scratch: &Path, tag: &str, prelude: &str) -> OtherMountNs {
        let ready = scratch.join(format!("{tag}.ready"));
        let go = scratch.join(format!("{tag}.go"));
        let script = format!(
            "{prelude} && touch {ready} && while [ ! -e {go} ]; do sleep 0.01; done; \
             cat /proc/self/mountinfo",
            ready = ready.display(),
            go = go.display(),
        );
        let child = Child::spawn(
            Command::new("unshare")
                .args(["--mount", "--propagation", "slave", "sh", "-c", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::piped()),
        );
        wait_for(|| ready.exists(), "the other mount namespace");
        OtherMountNs { child, go }
    }

    /// How many times each path is a mount point in that namespace; it
    /// ends once it has printed its mount table.
    pub fn counts(mut self, paths: &[PathBuf]) -> Vec<usize> {
        fs::write(&self.go, b"").unwrap();
        let mut text = String::new();
        // Bounded: the child is alive, and exits once it has printed.
        self.child
            .0
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        paths
            .iter()
            .map(|p| {
                text.lines()
                    .filter(|l| {
                        l.split(' ')
                            .nth(4)
                            .is_some_and(|f| unescape_mountinfo(f) == *p)
                    })
                    .count()
            })
            .collect()
    }
}
