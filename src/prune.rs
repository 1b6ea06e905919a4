//! Pruning: removing the stale pins under a directory, the leftovers of a
//! crash between creating a pin file and mounting onto it, or of a reboot
//! with a persistent pin directory.
//!
//! A stale pin is an empty regular file with one link and nothing mounted
//! on it, at `DIR/<type>ns/NAME`. Nothing else is ever removed: a live pin
//! is not touched, and a non-empty file, a symlink, a directory or a mount
//! of something else is reported and left alone.
//!
//! A pin being made concurrently is never removed: pinns creates a pin file
//! and mounts onto it under the pin directory's lock, and prune looks again
//! under that same lock, name by name, before it removes anything.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rustix::fs::AtFlags;
use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::inspect::{self, NotAPin, PinPath};
use crate::mount::{self, PinDir};
use crate::ns::Kind;

/// What [`prune`] did under a pin directory.
#[derive(Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Pruned {
    /// The pin directory, as given.
    pub dir: PathBuf,
    /// The stale pins removed (with `dry_run`, those that would be).
    pub removed: Vec<PathBuf>,
    /// What was found at a pin path that is neither a live pin nor stale,
    /// and left alone.
    pub kept: Vec<Kept>,
    /// The operations that failed; every other path was still attempted.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub failed: Vec<Error>,
}

/// Something at a pin path that prune left alone, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Kept {
    /// The path, `DIR/<type>ns/NAME`.
    pub path: PathBuf,
    /// Why it is not a stale pin (`a symlink`, `not empty (5 bytes)`, ...):
    /// [`NotAPin`] as text, the words [`crate::list`] shows too.
    pub why: String,
}

/// Removes every stale pin under `dir`: each `dir/<type>ns/NAME` that is an
/// empty regular file with a single link and nothing mounted on it
/// ([`PinPath::Stale`]). With `dry_run`, removes nothing and reports what
/// it would remove.
///
/// Live pins are not touched; anything else at a pin path
/// ([`PinPath::NotAPin`]) is listed in [`Pruned::kept`]. A type directory
/// left with no pin loses its self-bind, as after [`crate::unpin()`]. A
/// missing `dir` prunes nothing. An error that stops the whole run (the
/// directory cannot be read) is `Err`; one about a single path is
/// collected in [`Pruned::failed`] and the rest go on.
///
/// ```no_run
/// # fn main() -> Result<(), pinns::Error> {
/// let pruned = pinns::prune("/run", true)?;
/// for path in &pruned.removed {
///     println!("would remove {}", path.display());
/// }
/// for kept in &pruned.kept {
///     println!("kept {}: {}", kept.path.display(), kept.why);
/// }
/// # Ok(())
/// # }
/// ```
pub fn prune(dir: impl AsRef<Path>, dry_run: bool) -> Result<Pruned> {
    let dir = dir.as_ref();
    let mut pruned = Pruned {
        dir: dir.to_path_buf(),
        ..Pruned::default()
    };
    let pin_dir = match PinDir::open(dir, false) {
        Ok(d) => d,
        Err(e) if e.errno() == Some(libc::ENOENT) => return Ok(pruned),
        Err(e) => return Err(e),
    };
    for kind in Kind::ALL {
        let type_dir = match pin_dir.type_dir(kind) {
            Ok(Some(fd)) => fd,
            Ok(None) => continue,
            Err(e) => {
                pruned.failed.push(e);
                continue;
            }
        };
        let names = match mount::names_in(type_dir.as_fd(), &dir.join(kind.dir())) {
            Ok(names) => names,
            Err(e) => {
                pruned.failed.push(e);
                continue;
            }
        };
        let mut removed_here = false;
        for name in names {
            let path = pin_dir.pin_path(kind, &name);
            let first = match inspect::at(type_dir.as_fd(), &name, &path) {
                Ok(found) => found,
                Err(e) => {
                    pruned.failed.push(e);
                    continue;
                }
            };
            let inode = match first {
                PinPath::Missing | PinPath::Live { .. } => continue,
                PinPath::NotAPin { why, .. } => {
                    pruned.kept.push(kept(path, why));
                    continue;
                }
                PinPath::Stale { .. } if dry_run => {
                    pruned.removed.push(path);
                    continue;
                }
                PinPath::Stale { inode } => inode,
            };
            // The lock pin holds while it creates a pin file and mounts
            // onto it: under it, an empty file is no pin in the making.
            let lock = pin_dir.lock()?;
            let outcome = remove_if_stale(&type_dir, &name, &path, inode);
            drop(lock);
            match outcome {
                Ok(Outcome::Removed) => {
                    removed_here = true;
                    pruned.removed.push(path);
                }
                Ok(Outcome::Left) => {}
                Ok(Outcome::Kept(why)) => pruned.kept.push(kept(path, why)),
                Err(e) => pruned.failed.push(e),
            }
        }
        if removed_here {
            drop(type_dir);
            let lock = pin_dir.lock()?;
            if let Err(e) = pin_dir.drop_self_bind_locked(kind, &lock) {
                pruned.failed.push(e);
            }
        }
    }
    Ok(pruned)
}

fn kept(path: PathBuf, why: NotAPin) -> Kept {
    Kept {
        path,
        why: why.to_string(),
    }
}

/// What [`remove_if_stale`] did.
enum Outcome {
    Removed,
    /// Gone, or become a live pin, meanwhile: nothing to do or say.
    Left,
    Kept(NotAPin),
}

/// Under the lock: looks again, and removes the file only if it is still
/// the same stale pin.
fn remove_if_stale(dir: &impl AsFd, name: &str, path: &Path, inode: u64) -> Result<Outcome> {
    match inspect::at(dir.as_fd(), name, path)? {
        PinPath::Missing | PinPath::Live { .. } => return Ok(Outcome::Left),
        PinPath::NotAPin { why, .. } => return Ok(Outcome::Kept(why)),
        // Another file than the one first seen: a pin's leftover made
        // anew; look at it on the next run rather than guess.
        PinPath::Stale { inode: now } if now != inode => return Ok(Outcome::Left),
        PinPath::Stale { .. } => {}
    }
    // Through the type directory's descriptor: only the last component is
    // looked up, and unlink never follows a symlink.
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) => Ok(Outcome::Removed),
        Err(Errno::NOENT) => Ok(Outcome::Left),
        // A mount point after all (a kernel that does not report them).
        Err(Errno::BUSY) => Ok(Outcome::Kept(NotAPin::OtherMount)),
        Err(errno) => Err(Error::os_at(
            format!("removing {}", path.display()),
            path,
            errno,
        )),
    }
}
