//! A pin: the pin file, the namespace bind-mounted onto it, and its
//! removal.
//!
//! May touch: one entry of a type directory at a time, through the type
//! directory's descriptor: creating a pin file, mounting a namespace onto
//! the open file, and unmounting and removing only what `inspect` calls a
//! pin (a namespace, or a stale empty file).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags};

use super::fd_path;
use crate::error::{Context, Error, Operation, Result};
use crate::inspect::{self, NotAPin, PinPath};
use crate::kernel::{self, Call};

/// How many mounts may be stacked on one pin before unpin gives up.
const MAX_STACKED: usize = 64;

/// The mode of a new pin file; the namespace mounted on it shows its own.
const PIN_FILE_MODE: u32 = 0o444;

/// A pin file opened (or made) to mount a namespace on.
#[derive(Debug)]
pub struct PinFile {
    fd: OwnedFd,
}

/// Opens the pin file `name` in the type directory `dir`, creating it when
/// missing. An existing file is used only if it is a stale pin (an empty
/// regular file with a single link: CRI-O pre-creates and chowns those
/// for user namespaces); an existing pin, a symlink, a directory, or
/// anything else is refused, and nothing is mounted over it.
pub fn open_pin_file(dir: BorrowedFd<'_>, name: &str, display: &Path) -> Result<PinFile> {
    // Why O_EXCL|O_NOFOLLOW: the file we mount onto is the one we made,
    // never one a symlink planted at the path points to.
    match rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(PIN_FILE_MODE),
    ) {
        Ok(fd) => return Ok(PinFile { fd }),
        Err(Errno::EXIST) => {}
        Err(errno) => {
            return Err(Error::os_at(
                format!("creating {}", display.display()),
                display,
                errno,
            ));
        }
    }
    // O_PATH opens a FIFO or socket without side effects, and with
    // O_NOFOLLOW a symlink as itself; the look below is at that inode.
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with(|| format!("opening {}", display.display()))?;
    let path = display.to_path_buf();
    match inspect::of_fd(fd.as_fd(), display)? {
        // The O_PATH descriptor is enough to mount onto, and it is the
        // very inode just checked.
        PinPath::Stale { .. } => Ok(PinFile { fd }),
        PinPath::Live { .. } => Err(Error::AlreadyPinned { path }),
        PinPath::NotAPin { why, .. } => Err(Error::NotAPin {
            op: Operation::Pin,
            path,
            why,
        }),
        // Removed between the two opens: the descriptor holds it still,
        // but the name is gone, and a mount on it would be out of reach.
        PinPath::Missing => Err(Error::os_at(
            format!("pinning at {}: removed meanwhile", path.display()),
            path,
            Errno::NOENT,
        )),
    }
}

/// Bind-mounts the namespace open at `ns` onto the pin file.
pub fn bind(ns: BorrowedFd<'_>, target: &PinFile, what: impl Fn() -> String) -> Result<()> {
    // Why the new mount API: open_tree clones the nsfs mount from the
    // descriptor and move_mount attaches it to the open pin file, with no
    // path looked up in between.
    let tree = kernel::try_call(Call::OpenTree, || {
        rustix::mount::open_tree(
            ns,
            "",
            OpenTreeFlags::OPEN_TREE_CLONE
                | OpenTreeFlags::OPEN_TREE_CLOEXEC
                | OpenTreeFlags::AT_EMPTY_PATH,
        )
    });
    match tree {
        Ok(tree) => rustix::mount::move_mount(
            &tree,
            "",
            &target.fd,
            "",
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
        )
        .with(what),
        // Kernels before 5.2: the classic bind mount, still through the
        // descriptors' /proc/self/fd links rather than the user's path.
        Err(Errno::NOSYS) => rustix::mount::mount(
            fd_path(ns).as_str(),
            fd_path(target.fd.as_fd()).as_str(),
            "",
            MountFlags::BIND,
            None,
        )
        .with(what),
        Err(errno) => Err(Error::os(what(), errno)),
    }
}

/// What unpinning removed at a pin path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Removed {
    /// A pinned namespace, now unmounted (lazily) and its file removed.
    Pin,
    /// A stale pin: an empty file no namespace was mounted on.
    Stale,
}

/// Unmounts (lazily) and removes the pin `name` in the type directory
/// `dir`; `None` when nothing is there. Only a namespace is unmounted and
/// only a stale pin's file removed; anything else at the path is refused
/// and left alone.
pub fn remove_pin(dir: BorrowedFd<'_>, name: &str, display: &Path) -> Result<Option<Removed>> {
    let mut removed = None;
    for _ in 0..MAX_STACKED {
        // What is at the path (a mount point shows what is mounted there),
        // held by an O_PATH descriptor, which opens nothing: the look is
        // at that inode.
        let file = match rustix::fs::openat(
            dir,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(file) => file,
            Err(Errno::NOENT) => return Ok(removed),
            Err(errno) => {
                return Err(Error::os(
                    format!("inspecting {}", display.display()),
                    errno,
                ));
            }
        };
        let found = inspect::of_fd(file.as_fd(), display)?;
        // The descriptor would hold a mount (and its namespace) a little
        // longer: let go of it first.
        drop(file);
        match found {
            PinPath::Missing => return Ok(removed),
            PinPath::NotAPin { why, .. } => {
                return Err(Error::NotAPin {
                    op: Operation::Unpin,
                    path: display.to_path_buf(),
                    why,
                });
            }
            PinPath::Live { .. } => {
                // Through the directory's descriptor, so only the last
                // component is looked up, and UMOUNT_NOFOLLOW keeps even
                // that one literal. MNT_DETACH: processes inside the
                // namespace keep running.
                let path = format!("{}/{name}", fd_path(dir));
                rustix::mount::unmount(
                    path.as_str(),
                    UnmountFlags::DETACH | UnmountFlags::NOFOLLOW,
                )
                .with(|| format!("unmounting {}", display.display()))?;
                removed = Some(Removed::Pin);
                // Under a namespace pin is the empty file it was mounted
                // on: remove it at once. EBUSY means another mount was
                // stacked there too; go round again to look at it.
                match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => return Ok(removed),
                    Err(Errno::BUSY) => continue,
                    Err(errno) => {
                        return Err(Error::os(format!("removing {}", display.display()), errno));
                    }
                }
            }
            PinPath::Stale { .. } => {
                return match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => Ok(removed.or(Some(Removed::Stale))),
                    // Still a mount point: something other than a
                    // namespace is mounted there (a kernel that does not
                    // report mount points), not ours to take down.
                    Err(Errno::BUSY) => Err(Error::NotAPin {
                        op: Operation::Unpin,
                        path: display.to_path_buf(),
                        why: NotAPin::OtherMount,
                    }),
                    Err(errno) => Err(Error::os(format!("removing {}", display.display()), errno)),
                };
            }
        }
    }
    Err(Error::TooManyMounts {
        path: display.to_path_buf(),
        max: MAX_STACKED,
    })
}
