//! The one view of a pin path: what is at `DIR/<type>ns/NAME`.
//!
//! pin, unpin, list, prune, enter and the teardown all ask this module, so
//! they never disagree about a path: it is missing, a live pin (a namespace
//! is mounted there), a stale pin (an empty regular file with one link and
//! nothing mounted on it: a crash between creating and mounting, or an
//! unmount by someone else), or something else, and then why.
//!
//! It reads only: one `statx` of the path (not following a symlink) or of
//! a descriptor already open on it, which gives the type, size, links,
//! inode, whether it is a mount point, and its device. The namespace test
//! is that device: nsfs has a single superblock, so every namespace file
//! is on one device, found once per process. Why the device and not
//! `fstatfs` (`NSFS_MAGIC`): it needs no descriptor, so the same single
//! call answers for a path (list and prune look at thousands) and for an
//! open file (pin and unpin, which must act on the very inode they
//! checked), and every other fact comes with it.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::sync::OnceLock;

use rustix::fs::{AtFlags, FileType, StatxAttributes, StatxFlags};
use rustix::io::Errno;

use crate::error::{Context, Error, Result};
use crate::mount::PinDir;
use crate::ns::Kind;
use crate::plan::check_name;

/// What is at a pin path `DIR/<type>ns/NAME`, as [`inspect`] finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinPath {
    /// Nothing (or no type directory).
    Missing,
    /// A namespace is mounted there: `inode` is the namespace's (as in
    /// `readlink /proc/self/ns/net`).
    Live {
        /// The namespace's inode number.
        inode: u64,
    },
    /// An empty regular file with a single link and nothing mounted on it:
    /// no namespace is held; [`unpin`](fn@crate::unpin) and
    /// [`prune`](fn@crate::prune) remove it, and [`pin`](fn@crate::pin)
    /// mounts onto it (CRI-O pre-creates such files).
    Stale {
        /// The file's inode number.
        inode: u64,
    },
    /// Something that is no pin of pinns: never mounted over, unmounted
    /// or removed by any call of this crate.
    NotAPin {
        /// The inode number of what is there.
        inode: u64,
        /// What it is.
        why: NotAPin,
    },
}

/// Why what sits at a pin path is not a pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotAPin {
    /// A symbolic link (never followed).
    Symlink,
    /// A directory.
    Directory,
    /// A FIFO, socket or device.
    Special,
    /// A regular file with content.
    NotEmpty {
        /// Its size.
        bytes: u64,
    },
    /// A regular file with other hard links.
    HardLinked {
        /// Its link count.
        links: u32,
    },
    /// A mount of something that is not a namespace.
    OtherMount,
}

impl std::fmt::Display for NotAPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotAPin::Symlink => f.write_str("a symlink"),
            NotAPin::Directory => f.write_str("a directory"),
            NotAPin::Special => f.write_str("not a regular file"),
            NotAPin::NotEmpty { bytes } => write!(f, "not empty ({bytes} bytes)"),
            NotAPin::HardLinked { links } => write!(f, "the file has {links} hard links"),
            NotAPin::OtherMount => {
                f.write_str("something that is not a namespace is mounted there")
            }
        }
    }
}

impl PinPath {
    /// The inode of what is there, if anything.
    pub fn inode(&self) -> Option<u64> {
        match *self {
            PinPath::Missing => None,
            PinPath::Live { inode } | PinPath::Stale { inode } => Some(inode),
            PinPath::NotAPin { inode, .. } => Some(inode),
        }
    }

    /// Whether a namespace is mounted there.
    pub fn is_live(&self) -> bool {
        matches!(self, PinPath::Live { .. })
    }
}

/// What is at `dir/<type>ns/name` now.
///
/// The same answer every call of this crate acts on: [`list`](fn@crate::list)
/// shows it, [`prune`](fn@crate::prune) removes only [`PinPath::Stale`],
/// [`unpin`](fn@crate::unpin) removes `Live` and `Stale` and refuses
/// `NotAPin`. A missing `dir` or type directory is [`PinPath::Missing`];
/// a type directory that is a symlink is refused.
///
/// ```no_run
/// use pinns::{Kind, PinPath};
///
/// # fn main() -> Result<(), pinns::Error> {
/// match pinns::inspect("/run", Kind::Net, "pod-a")? {
///     PinPath::Live { inode } => println!("pinned: net:[{inode}]"),
///     PinPath::Stale { .. } => println!("stale: pinns::prune removes it"),
///     PinPath::NotAPin { why, .. } => println!("not a pin: {why}"),
///     _ => println!("no such pin"),
/// }
/// # Ok(())
/// # }
/// ```
pub fn inspect(dir: impl AsRef<Path>, kind: Kind, name: &str) -> Result<PinPath> {
    check_name(name)?;
    let pin_dir = match PinDir::open(dir.as_ref(), false) {
        Ok(d) => d,
        Err(e) if e.errno() == Some(libc::ENOENT) => return Ok(PinPath::Missing),
        Err(e) => return Err(e),
    };
    let Some(type_dir) = pin_dir.type_dir(kind)? else {
        return Ok(PinPath::Missing);
    };
    at(type_dir.as_fd(), name, &pin_dir.pin_path(kind, name))
}

/// What is at `name` in the open type directory `dir` (`display` names it
/// in errors).
pub(crate) fn at(dir: BorrowedFd<'_>, name: &str, display: &Path) -> Result<PinPath> {
    match rustix::fs::statx(dir, name, AtFlags::SYMLINK_NOFOLLOW, WANT) {
        Ok(stx) => classify(&stx, display),
        Err(Errno::NOENT) => Ok(PinPath::Missing),
        Err(errno) => Err(Error::os(
            format!("inspecting {}", display.display()),
            errno,
        )),
    }
}

/// What the open file `fd` (an `O_PATH | O_NOFOLLOW` descriptor of a pin
/// path) is: the answer is about that very inode, which a caller about to
/// act on it needs (a path can be swapped between a look and an act).
pub(crate) fn of_fd(fd: BorrowedFd<'_>, display: &Path) -> Result<PinPath> {
    let stx = rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, WANT)
        .with(|| format!("inspecting {}", display.display()))?;
    classify(&stx, display)
}

const WANT: StatxFlags = StatxFlags::TYPE
    .union(StatxFlags::SIZE)
    .union(StatxFlags::NLINK)
    .union(StatxFlags::INO);

fn classify(stx: &rustix::fs::Statx, display: &Path) -> Result<PinPath> {
    let facts = Facts {
        file_type: FileType::from_raw_mode(u32::from(stx.stx_mode)),
        size: stx.stx_size,
        links: stx.stx_nlink,
        // Kernels before 5.8 do not say: a mount there then shows as an
        // ordinary file, and removing it fails with EBUSY, which the
        // callers report as `OtherMount`.
        mount_root: stx
            .stx_attributes_mask
            .contains(StatxAttributes::MOUNT_ROOT)
            && stx.stx_attributes.contains(StatxAttributes::MOUNT_ROOT),
        device: (stx.stx_dev_major, stx.stx_dev_minor),
    };
    // Only a regular file can be a namespace; the device is looked up only
    // then, so a fresh process that meets no such file never asks.
    let nsfs = facts.file_type == FileType::RegularFile && facts.device == nsfs_device(display)?;
    Ok(facts.verdict(nsfs, stx.stx_ino))
}

/// The facts of one `statx` that decide what a pin path is.
#[derive(Clone, Copy, Debug)]
struct Facts {
    file_type: FileType,
    size: u64,
    links: u32,
    mount_root: bool,
    device: (u32, u32),
}

impl Facts {
    fn verdict(&self, nsfs: bool, inode: u64) -> PinPath {
        if nsfs {
            return PinPath::Live { inode };
        }
        let not = |why| PinPath::NotAPin { inode, why };
        if self.mount_root {
            return not(NotAPin::OtherMount);
        }
        match self.file_type {
            FileType::RegularFile => {}
            FileType::Symlink => return not(NotAPin::Symlink),
            FileType::Directory => return not(NotAPin::Directory),
            _ => return not(NotAPin::Special),
        }
        if self.size != 0 {
            return not(NotAPin::NotEmpty { bytes: self.size });
        }
        if self.links != 1 {
            return not(NotAPin::HardLinked { links: self.links });
        }
        PinPath::Stale { inode }
    }
}

/// The device every namespace file is on, from this thread's own network
/// namespace link, found once per process (nsfs has one superblock for
/// the life of the system).
fn nsfs_device(display: &Path) -> Result<(u32, u32)> {
    static DEVICE: OnceLock<(u32, u32)> = OnceLock::new();
    if let Some(device) = DEVICE.get() {
        return Ok(*device);
    }
    let path = "/proc/thread-self/ns/net";
    let stx = rustix::fs::statx(rustix::fs::CWD, path, AtFlags::empty(), StatxFlags::empty())
        .map_err(|errno| {
            Error::os(
                format!("inspecting {} (reading {path})", display.display()),
                errno,
            )
        })?;
    Ok(*DEVICE.get_or_init(|| (stx.stx_dev_major, stx.stx_dev_minor)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: Facts = Facts {
        file_type: FileType::RegularFile,
        size: 0,
        links: 1,
        mount_root: false,
        device: (0, 1),
    };

    #[test]
    fn only_an_empty_single_link_unmounted_file_is_stale() {
        let v = |f: Facts| f.verdict(false, 7);
        assert_eq!(v(EMPTY), PinPath::Stale { inode: 7 });
        let live = Facts {
            mount_root: true,
            ..EMPTY
        };
        assert_eq!(live.verdict(true, 7), PinPath::Live { inode: 7 });
        let why = |f: Facts| match v(f) {
            PinPath::NotAPin { why, .. } => why.to_string(),
            other => panic!("{f:?} gave {other:?}"),
        };
        assert_eq!(
            why(Facts {
                mount_root: true,
                ..EMPTY
            }),
            "something that is not a namespace is mounted there"
        );
        assert_eq!(
            why(Facts {
                file_type: FileType::Symlink,
                ..EMPTY
            }),
            "a symlink"
        );
        assert_eq!(
            why(Facts {
                file_type: FileType::Directory,
                ..EMPTY
            }),
            "a directory"
        );
        assert_eq!(
            why(Facts {
                file_type: FileType::Fifo,
                ..EMPTY
            }),
            "not a regular file"
        );
        assert_eq!(why(Facts { size: 3, ..EMPTY }), "not empty (3 bytes)");
        assert_eq!(
            why(Facts { links: 2, ..EMPTY }),
            "the file has 2 hard links"
        );
    }

    #[test]
    fn a_namespace_link_is_live_and_proc_itself_is_not() {
        let proc_dir = rustix::fs::open(
            "/proc/self/ns",
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        // Following the link (statx of the fd opened through it) is nsfs.
        let ns = rustix::fs::openat(
            &proc_dir,
            "net",
            rustix::fs::OFlags::PATH,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        assert!(of_fd(ns.as_fd(), Path::new("net")).unwrap().is_live());
        // The link itself, not followed, is a symlink on procfs.
        assert_eq!(
            at(proc_dir.as_fd(), "net", Path::new("net")).unwrap(),
            PinPath::NotAPin {
                inode: at(proc_dir.as_fd(), "net", Path::new("net"))
                    .unwrap()
                    .inode()
                    .unwrap(),
                why: NotAPin::Symlink
            }
        );
    }
}
