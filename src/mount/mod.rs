//! The pin directory (`DIR`): opening it, its lock, its type directories
//! (`DIR/<type>ns`) and the pin paths in them. The only module that mounts
//! or unmounts anything in a shared mount namespace, in three rooms:
//!
//! - here, `DIR` and the entries of its type directories: creating and
//!   opening them (mode 0755), the `flock` that serialises concurrent
//!   pinns, listing names. Nothing is mounted here;
//! - [`type_dirs`]: the set-up and take-down of a type directory as a
//!   mount of itself (the `ip netns` way, and `mntns` always), the one
//!   mount a type directory ever gets;
//! - [`pin_file`]: a pin file, the namespace bind-mounted onto it, and its
//!   removal;
//! - [`probe`]: what the kernel says of mounts (statx, statmount,
//!   `/proc/self/mountinfo`, fdinfo), read only.
//!
//! (`netns_view.rs` mounts too, but only in the mount namespace of its own
//! `pinns exec` makes for the command.) Which system calls the kernel has
//! is `kernel`'s to know.
//!
//! Everything is done relative to file descriptors, never by re-resolving
//! a path the user (or an attacker sharing the directory) could swap:
//!
//! - the pin directory is opened once; each type directory beneath it is
//!   opened with `O_NOFOLLOW`, so a planted `DIR/netns -> /etc` is refused;
//! - a pin file is created with `O_CREAT | O_EXCL | O_NOFOLLOW` (or an
//!   existing empty one opened with `O_NOFOLLOW`), and the namespace is
//!   mounted onto *that open file* with `open_tree` + `move_mount`, so a
//!   racing rename or symlink swap cannot redirect the mount;
//! - before unmounting, the open path is checked to really be a namespace
//!   (`inspect`, the one view of a pin path), and it is unmounted with
//!   `MNT_DETACH | UMOUNT_NOFOLLOW` through the type directory's descriptor.

mod pin_file;
mod probe;
mod type_dirs;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Context, Error, Result, restart};
use crate::ns::Kind;

pub use pin_file::{PinFile, Removed, bind, open_pin_file, remove_pin};

/// The mode of directories pinns creates (`DIR` and `DIR/<type>ns`).
const DIR_MODE: u32 = 0o755;

/// An open pin directory (`-d DIR`).
#[derive(Debug)]
pub struct PinDir {
    path: PathBuf,
    fd: OwnedFd,
}

/// An exclusive `flock` on the pin directory, released when dropped.
///
/// It serialises the short steps that must not interleave between
/// concurrent `pinns` on one directory: the one-time propagation set-up
/// of a type directory, and the creation or removal of one NAME's pins,
/// so a racing pin and unpin of NAME leave it whole or absent.
#[must_use]
pub struct DirLock<'a>(BorrowedFd<'a>);

impl Drop for DirLock<'_> {
    fn drop(&mut self) {
        // Unlocking a lock we hold cannot fail in a way we could act on.
        let _ = restart(|| rustix::fs::flock(self.0, FlockOperation::Unlock));
    }
}

/// The path through which the kernel reaches an open file descriptor.
fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

impl PinDir {
    /// Opens `path`, creating it (and its parents, mode 0755) when `create`
    /// is set. A symlinked `DIR` is fine (`/var/run -> /run`).
    pub fn open(path: &Path, create: bool) -> Result<PinDir> {
        let open = || {
            rustix::fs::open(
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
        };
        let fd = match open() {
            Err(Errno::NOENT) if create => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(DIR_MODE)
                    .create(path)
                    .map_err(|e| Error::Os {
                        op: format!("creating pin directory {}", path.display()),
                        path: Some(path.to_path_buf()),
                        source: e,
                    })?;
                open().and_then(|fd| {
                    // 0755 whatever the umask: other users (a container's
                    // remapped root) must be able to reach the pins.
                    chmod_dir(fd.as_fd())?;
                    Ok(fd)
                })
            }
            other => other,
        }
        .map_err(|errno| {
            Error::os_at(
                format!("opening pin directory {}", path.display()),
                path,
                errno,
            )
        })?;
        Ok(PinDir {
            path: path.to_path_buf(),
            fd,
        })
    }

    /// The pin directory's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of NAME's pin of `kind`: `DIR/<type>ns/NAME`.
    pub fn pin_path(&self, kind: Kind, name: &str) -> PathBuf {
        // One allocation rather than join's two: an unpin makes eight.
        let len = self.path.as_os_str().len() + kind.dir().len() + name.len() + 2;
        let mut path = PathBuf::with_capacity(len);
        path.push(&self.path);
        path.push(kind.dir());
        path.push(name);
        path
    }

    /// Takes the directory's lock, waiting for it.
    pub fn lock(&self) -> Result<DirLock<'_>> {
        // Blocks while another pinns holds it: a signal may interrupt.
        restart(|| rustix::fs::flock(&self.fd, FlockOperation::LockExclusive)).map_err(
            |errno| {
                let op = format!("locking pin directory {}", self.path.display());
                Error::os_at(op, &self.path, errno)
            },
        )?;
        Ok(DirLock(self.fd.as_fd()))
    }

    /// Opens the type directory of `kind`, or `None` when it does not exist.
    /// A symlink or any other non-directory there is refused.
    pub fn type_dir(&self, kind: Kind) -> Result<Option<OwnedFd>> {
        // Why O_NOFOLLOW: DIR/netns is ours to trust only if it is a real
        // directory; a symlink to /etc must not become the pin's home.
        match rustix::fs::openat(
            &self.fd,
            kind.dir(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::NOTDIR | Errno::LOOP) => Err(Error::NotADirectory {
                path: self.path.join(kind.dir()),
            }),
            Err(errno) => {
                let path = self.path.join(kind.dir());
                Err(Error::os_at(
                    format!("opening {}", path.display()),
                    path,
                    errno,
                ))
            }
        }
    }

    /// Opens the type directory of `kind`, creating it (mode 0755) when
    /// missing.
    fn open_or_make_type_dir(&self, kind: Kind) -> Result<OwnedFd> {
        let display = || self.path.join(kind.dir()).display().to_string();
        if let Some(fd) = self.type_dir(kind)? {
            return Ok(fd);
        }
        let made = match rustix::fs::mkdirat(&self.fd, kind.dir(), Mode::from_raw_mode(DIR_MODE)) {
            Ok(()) => true,
            Err(Errno::EXIST) => false,
            Err(errno) => return Err(Error::os(format!("creating {}", display()), errno)),
        };
        let fd = self
            .type_dir(kind)?
            .ok_or_else(|| Error::os(format!("opening {}", display()), Errno::NOENT))?;
        if made {
            chmod_dir(fd.as_fd()).with(|| format!("setting the mode of {}", display()))?;
        }
        Ok(fd)
    }
}

/// Sets a directory pinns made to 0755, whatever the umask, through its
/// descriptor (the path could have been swapped for a symlink meanwhile).
fn chmod_dir(fd: BorrowedFd<'_>) -> rustix::io::Result<()> {
    rustix::fs::chmod(fd_path(fd).as_str(), Mode::from_raw_mode(DIR_MODE))
}

/// The names in the type directory open at `type_dir` (UTF-8 ones: pin
/// names are checked strings, so nothing else is a pin of ours).
pub fn names_in(type_dir: BorrowedFd<'_>, display: &Path) -> Result<Vec<String>> {
    // O_PATH cannot be read: open the same directory for reading,
    // relative to the checked descriptor.
    let readable = rustix::fs::openat(
        type_dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with(|| format!("opening {}", display.display()))?;
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::new(readable).with(|| format!("reading {}", display.display()))? {
        let entry = entry.with(|| format!("reading {}", display.display()))?;
        let file_name = entry.file_name();
        if file_name == c"." || file_name == c".." {
            continue;
        }
        if let Ok(name) = file_name.to_str() {
            names.push(name.to_string());
        }
    }
    Ok(names)
}
