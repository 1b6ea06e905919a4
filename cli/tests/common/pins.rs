//! What a pin directory holds: pins as the kernel sees them (nsfs mounts
//! of the right type), as `pinns list` reports them, and files a test
//! must prove untouched.

use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::mounts::ns_mounts_under;
use super::ns::{clone_flag, try_ns_type};
use super::pin_dir::TYPE_DIRS;
use super::run::{must, pinns_command};

/// The id maps of a user-namespace pod.
pub const UID_MAP: &str = "--uid-mapping=0-100000-65536";
pub const GID_MAP: &str = "--gid-mapping=0-100000-65536";

/// A pin that goes through the helper child (a new user namespace owning
/// the rest), with sysctls of both kinds.
pub const HELPER_PIN: &[&str] = &[
    "--user",
    UID_MAP,
    GID_MAP,
    "--mnt",
    "--net",
    "--ipc",
    "--uts",
    "-s",
    "net.ipv4.ip_forward=1",
    "-s",
    "kernel.hostname=x",
];

/// Files (pins or leftovers) in the type directories under `dir`.
pub fn pin_files_under(dir: &Path) -> Vec<PathBuf> {
    TYPE_DIRS
        .iter()
        .filter_map(|ty| fs::read_dir(dir.join(ty)).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .collect()
}

/// What sits at every `dir/<type>ns/name`: (type dir, "live"|"stale").
pub fn on_disk(dir: &Path, name: &str) -> Vec<(String, &'static str)> {
    let nsfs: Vec<PathBuf> = ns_mounts_under(dir)
        .into_iter()
        .map(|m| m.mount_point)
        .collect();
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

/// `pinns list --json` of `dir`: NAME -> [(type, state)].
pub fn listed(dir: &Path) -> Vec<(String, Vec<(String, String)>)> {
    let out = must(pinns_command().args(["list", "-d"]).arg(dir).arg("--json"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("list --json: {e}: {:?}", out.stdout_text()));
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

/// Every pin of `name` of `types` (`net`, ...) is an nsfs mount, once, of
/// the right type.
pub fn check_whole(dir: &Path, name: &str, types: &[&str]) -> Result<(), String> {
    let nsfs = ns_mounts_under(dir);
    for ty in types {
        let path = dir.join(format!("{ty}ns")).join(name);
        let n = nsfs.iter().filter(|m| m.mount_point == path).count();
        if n != 1 {
            return Err(format!("{} is mounted {n} times", path.display()));
        }
        let t = try_ns_type(&path)?;
        if t != clone_flag(ty) {
            return Err(format!("{} is not a {ty} namespace ({t})", path.display()));
        }
    }
    Ok(())
}

/// Nothing of `name` under `dir`: no file at any pin path, no nsfs mount.
pub fn check_absent(dir: &Path, name: &str) -> Result<(), String> {
    let files = on_disk(dir, name);
    let mounts: Vec<PathBuf> = ns_mounts_under(dir)
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.file_name() == Some(std::ffi::OsStr::new(name)))
        .collect();
    if files.is_empty() && mounts.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{name} left behind under {}: files {files:?}, mounts {mounts:?}",
            dir.display()
        ))
    }
}

/// [`check_absent`], failing the test.
pub fn assert_absent(dir: &Path, name: &str) {
    check_absent(dir, name).unwrap_or_else(|e| panic!("{e}"));
}

/// What a file looks like, to prove it untouched: inode, device, size,
/// mode, link count, times, and content.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    pub content: Vec<u8>,
}

pub fn snapshot(path: &Path) -> Snapshot {
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
