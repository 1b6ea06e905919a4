//! The view `ip netns exec` gives a command: a mount namespace of its own
//! in which `/sys` describes the pinned network namespace and the files of
//! `/etc/netns/NAME/` stand in for those of `/etc`.
//!
//! With [`crate::mount`], the only module that mounts: it changes only the
//! new mount namespace the calling process makes for itself, never the
//! host's. It follows iproute2's `netns_switch` and `bind_etc` (see
//! ip-netns(8)), step for step, with one tightening: a read-only `/sys`
//! stays read-only.

use std::path::{Path, PathBuf};

use rustix::fs::StatVfsMountFlags;
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::thread::UnshareFlags;

use crate::error::{Context, Error, Result};

/// Where ip-netns(8) keeps per-namespace configuration files.
pub const ETC_NETNS: &str = "/etc/netns";

/// Gives the calling process, already in the pinned network namespace, the
/// mounts `ip netns exec NAME` would: a new mount namespace with every
/// mount a slave of the host's, a fresh sysfs on `/sys`, and each
/// `/etc/netns/NAME/F` bind-mounted over `/etc/F` (missing targets are
/// skipped). Returns the files bound, as `/etc/F`.
///
/// The process must be single-threaded (unshare of a mount namespace).
pub fn set_up(name: &str) -> Result<Vec<PathBuf>> {
    // Why unshare: every mount below must be ours alone, never the host's.
    // SAFETY: the flags hold only CLONE_NEWNS; the danger rustix guards
    // against is CLONE_FILES, which splits a descriptor table.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
        .with(|| "making a mount namespace for the command".to_string())?;
    // Why slave, recursively: a new mount namespace inherits shared mounts,
    // so without this our /sys and /etc mounts would propagate back to the
    // host; as slaves, the host's later mounts still reach the command.
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .with(|| "making the command's mounts slaves of the host's".to_string())?;
    mount_sysfs(name)?;
    bind_etc(name)
}

/// Replaces `/sys` with a sysfs of the current network namespace: sysfs
/// shows the network devices of the namespace it is mounted from.
fn mount_sysfs(name: &str) -> Result<()> {
    // Keep a read-only /sys read-only (a container's, say): ip-netns does
    // so only when it cannot unmount the old one, which it then shadows.
    let read_only =
        rustix::fs::statvfs("/sys").is_ok_and(|s| s.f_flag.contains(StatVfsMountFlags::RDONLY));
    // Why detach: processes of ours may hold files of the old /sys open.
    // It may fail (no sysfs there, or a mount locked by a user namespace);
    // the new sysfs then shadows whatever is there, as in ip-netns.
    match rustix::mount::unmount("/sys", UnmountFlags::DETACH) {
        Ok(()) | Err(Errno::INVAL | Errno::PERM) => {}
        Err(errno) => return Err(Error::os("unmounting /sys", errno)),
    }
    let flags = if read_only {
        MountFlags::RDONLY
    } else {
        MountFlags::empty()
    };
    // The source is only a label in the mount table: ip-netns uses NAME.
    rustix::mount::mount(name, "/sys", "sysfs", flags, None)
        .with(|| "mounting a sysfs of the network namespace on /sys".to_string())
}

/// Bind-mounts each entry of `/etc/netns/NAME/` over the same name in
/// `/etc`, as ip-netns(8) does (a pod's `resolv.conf`, `hosts`).
fn bind_etc(name: &str) -> Result<Vec<PathBuf>> {
    let dir = Path::new(ETC_NETNS).join(name);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        // No configuration for this namespace: nothing to bind.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(format!("reading {}", dir.display()), e)),
    };
    let mut bound = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(format!("reading {}", dir.display()), e))?;
        let source = entry.path();
        let target = Path::new("/etc").join(entry.file_name());
        // Why a bind mount: it replaces the file for this mount namespace
        // only, and the host's file is untouched.
        match rustix::mount::mount_bind(&source, &target) {
            Ok(()) => bound.push(target),
            // Nothing to stand in for: skipped, as ip-netns(8) documents.
            Err(Errno::NOENT) => {}
            Err(errno) => {
                return Err(Error::os(
                    format!(
                        "bind-mounting {} over {}",
                        source.display(),
                        target.display()
                    ),
                    errno,
                ));
            }
        }
    }
    Ok(bound)
}

fn io_error(what: String, e: std::io::Error) -> Error {
    Error::io(what, e)
}
