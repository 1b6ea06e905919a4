//! Namespaces as the kernel reports them: nsfs inodes, `NS_GET_NSTYPE`,
//! `NS_GET_USERNS`, and which processes are in one.

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::procs::is_zombie;

pub fn inode(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .ino()
}

/// The inode of this test process's own namespace of type `ty` (`net`).
pub fn own_ns(ty: &str) -> u64 {
    inode(&Path::new("/proc/self/ns").join(ty))
}

const NSIO: u64 = 0xb7;
/// `NS_GET_NSTYPE` and `NS_GET_USERNS` from `<linux/nsfs.h>`.
const NS_GET_USERNS: u64 = (NSIO << 8) | 0x1;
const NS_GET_NSTYPE: u64 = (NSIO << 8) | 0x3;

/// The namespace type of the file at `path` (`CLONE_NEW*`), or the error
/// when it is no namespace.
pub fn try_ns_type(path: &Path) -> Result<i32, String> {
    let f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: NS_GET_NSTYPE takes no argument and returns an int.
    let t = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_NSTYPE as _) };
    if t > 0 {
        Ok(t)
    } else {
        Err(format!("{} is not a namespace", path.display()))
    }
}

/// The namespace type of a pin, as the kernel says (`CLONE_NEW*`).
pub fn ns_type(path: &Path) -> i32 {
    try_ns_type(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The `CLONE_NEW*` flag of a type (`net`, `mnt`, ...).
pub fn clone_flag(ty: &str) -> i32 {
    match ty {
        "net" => libc::CLONE_NEWNET,
        "ipc" => libc::CLONE_NEWIPC,
        "uts" => libc::CLONE_NEWUTS,
        "user" => libc::CLONE_NEWUSER,
        "mnt" => libc::CLONE_NEWNS,
        "cgroup" => libc::CLONE_NEWCGROUP,
        "pid" => libc::CLONE_NEWPID,
        "time" => libc::CLONE_NEWTIME,
        _ => panic!("unknown namespace type {ty}"),
    }
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

/// Pids of every live (not zombie) process whose `ty` namespace has inode
/// `ino`. A zombie runs nothing and holds no namespace but its
/// credentials' user namespace, whose link still reads.
pub fn pids_in_ns(ty: &str, ino: u64) -> Vec<u32> {
    let want = format!("{ty}:[{ino}]");
    let Ok(dir) = fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/ns/{ty}"))
                .map(|l| l.to_string_lossy() == want)
                .unwrap_or(false)
        })
        .filter(|pid| !is_zombie(*pid))
        .collect()
}
