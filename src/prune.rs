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

use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, StatxAttributes, StatxFlags};
use rustix::io::Errno;

use crate::error::{Context, Error, Result};
use crate::mount::{Nsfs, PinDir};
use crate::ns::Kind;

/// What [`prune`] did under a pin directory.
#[derive(Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
pub struct Kept {
    /// The path, `DIR/<type>ns/NAME`.
    pub path: PathBuf,
    /// Why it is not a stale pin (`a symlink`, `not empty (5 bytes)`, ...).
    pub why: String,
}

/// Removes every stale pin under `dir`: each `dir/<type>ns/NAME` that is an
/// empty regular file with a single link and nothing mounted on it. With
/// `dry_run`, removes nothing and reports what it would remove.
///
/// Live pins are not touched; anything else at a pin path is listed in
/// [`Pruned::kept`]. A missing `dir` prunes nothing. An error that stops
/// the whole run (the directory cannot be read) is `Err`; one about a
/// single path is collected in [`Pruned::failed`] and the rest go on.
pub fn prune(dir: &Path, dry_run: bool) -> Result<Pruned> {
    let mut pruned = Pruned {
        dir: dir.to_path_buf(),
        ..Pruned::default()
    };
    let pin_dir = match PinDir::open(dir, false) {
        Ok(d) => d,
        Err(e) if e.errno() == Some(Errno::NOENT) => return Ok(pruned),
        Err(e) => return Err(e),
    };
    let nsfs = Nsfs::probe()?;
    for kind in Kind::ALL {
        let type_dir = match pin_dir.type_dir(kind) {
            Ok(Some(fd)) => fd,
            Ok(None) => continue,
            Err(e) => {
                pruned.failed.push(e);
                continue;
            }
        };
        let names = match names_in(&type_dir, &dir.join(kind.dir())) {
            Ok(names) => names,
            Err(e) => {
                pruned.failed.push(e);
                continue;
            }
        };
        for name in names {
            let path = pin_dir.pin_path(kind, &name);
            let first = match inspect(&type_dir, &name, nsfs, &path) {
                Ok(Some(found)) => found,
                Ok(None) => continue,
                Err(e) => {
                    pruned.failed.push(e);
                    continue;
                }
            };
            match first.verdict {
                Verdict::Live => continue,
                Verdict::Keep(why) => {
                    pruned.kept.push(Kept { path, why });
                    continue;
                }
                Verdict::Stale if dry_run => {
                    pruned.removed.push(path);
                    continue;
                }
                Verdict::Stale => {}
            }
            // The lock pin holds while it creates a pin file and mounts
            // onto it: under it, an empty file is no pin in the making.
            let lock = pin_dir.lock()?;
            let outcome = remove_if_stale(&type_dir, &name, nsfs, &path, first.inode);
            drop(lock);
            match outcome {
                Ok(Outcome::Removed) => pruned.removed.push(path),
                Ok(Outcome::Left) => {}
                Ok(Outcome::Kept(why)) => pruned.kept.push(Kept { path, why }),
                Err(e) => pruned.failed.push(e),
            }
        }
    }
    Ok(pruned)
}

/// The names in a type directory (UTF-8 ones: pin names are checked
/// strings, so nothing else is a pin of ours).
fn names_in(type_dir: &std::os::fd::OwnedFd, display: &Path) -> Result<Vec<String>> {
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
    for entry in
        rustix::fs::Dir::read_from(&readable).with(|| format!("reading {}", display.display()))?
    {
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

/// What is at a pin path: the verdict and the inode it was made on.
struct Found {
    verdict: Verdict,
    inode: u64,
}

/// One `statx` of the pin path, not following a symlink; `None` when
/// nothing is there any more.
fn inspect(
    dir: &impl std::os::fd::AsFd,
    name: &str,
    nsfs: Nsfs,
    path: &Path,
) -> Result<Option<Found>> {
    let stx = match rustix::fs::statx(
        dir,
        name,
        AtFlags::SYMLINK_NOFOLLOW,
        StatxFlags::TYPE | StatxFlags::SIZE | StatxFlags::NLINK | StatxFlags::INO,
    ) {
        Ok(stx) => stx,
        Err(Errno::NOENT) => return Ok(None),
        Err(errno) => return Err(Error::os(format!("inspecting {}", path.display()), errno)),
    };
    let facts = Facts {
        nsfs: nsfs.holds(&stx),
        file_type: FileType::from_raw_mode(u32::from(stx.stx_mode)),
        size: stx.stx_size,
        links: stx.stx_nlink,
        // Kernels before 5.8 do not say; the unlink then fails with EBUSY
        // on a mount point, which is reported the same way.
        mount_root: stx
            .stx_attributes_mask
            .contains(StatxAttributes::MOUNT_ROOT)
            && stx.stx_attributes.contains(StatxAttributes::MOUNT_ROOT),
    };
    Ok(Some(Found {
        verdict: classify(&facts),
        inode: stx.stx_ino,
    }))
}

/// What [`remove_if_stale`] did.
enum Outcome {
    Removed,
    /// Gone, or become a live pin, meanwhile: nothing to do or say.
    Left,
    Kept(String),
}

/// Under the lock: looks again, and removes the file only if it is still
/// the same stale pin.
fn remove_if_stale(
    dir: &impl std::os::fd::AsFd,
    name: &str,
    nsfs: Nsfs,
    path: &Path,
    inode: u64,
) -> Result<Outcome> {
    let Some(found) = inspect(dir, name, nsfs, path)? else {
        return Ok(Outcome::Left);
    };
    match found.verdict {
        Verdict::Live => return Ok(Outcome::Left),
        Verdict::Keep(why) => return Ok(Outcome::Kept(why)),
        // Another file than the one first seen: a pin's leftover made
        // anew; look at it on the next run rather than guess.
        Verdict::Stale if found.inode != inode => return Ok(Outcome::Left),
        Verdict::Stale => {}
    }
    // Through the type directory's descriptor: only the last component is
    // looked up, and unlink never follows a symlink.
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) => Ok(Outcome::Removed),
        Err(Errno::NOENT) => Ok(Outcome::Left),
        // A mount point after all (a kernel that does not report them).
        Err(Errno::BUSY) => Ok(Outcome::Kept(MOUNTED.to_string())),
        Err(errno) => Err(Error::os(format!("removing {}", path.display()), errno)),
    }
}

const MOUNTED: &str = "something that is not a namespace is mounted there";

/// What one `statx` says about a pin path.
#[derive(Clone, Copy, Debug)]
struct Facts {
    /// On nsfs: a namespace is mounted there.
    nsfs: bool,
    file_type: FileType,
    size: u64,
    links: u32,
    /// Something is mounted on the path.
    mount_root: bool,
}

/// Whether a pin path is a live pin, a stale one, or something to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    Live,
    Stale,
    Keep(String),
}

fn classify(f: &Facts) -> Verdict {
    let keep = |why: &str| Verdict::Keep(why.to_string());
    if f.nsfs {
        return Verdict::Live;
    }
    if f.mount_root {
        return keep(MOUNTED);
    }
    match f.file_type {
        FileType::RegularFile => {}
        FileType::Symlink => return keep("a symlink"),
        FileType::Directory => return keep("a directory"),
        _ => return keep("not a regular file"),
    }
    if f.size != 0 {
        return Verdict::Keep(format!("not empty ({} bytes)", f.size));
    }
    if f.links != 1 {
        return Verdict::Keep(format!("the file has {} hard links", f.links));
    }
    Verdict::Stale
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: Facts = Facts {
        nsfs: false,
        file_type: FileType::RegularFile,
        size: 0,
        links: 1,
        mount_root: false,
    };

    #[test]
    fn only_an_empty_single_link_unmounted_file_is_stale() {
        assert_eq!(classify(&EMPTY), Verdict::Stale);
        let live = Facts {
            nsfs: true,
            mount_root: true,
            ..EMPTY
        };
        assert_eq!(classify(&live), Verdict::Live);
        let kept = |f: Facts| match classify(&f) {
            Verdict::Keep(why) => why,
            other => panic!("{f:?} gave {other:?}"),
        };
        assert_eq!(
            kept(Facts {
                mount_root: true,
                ..EMPTY
            }),
            MOUNTED
        );
        assert_eq!(
            kept(Facts {
                file_type: FileType::Symlink,
                ..EMPTY
            }),
            "a symlink"
        );
        assert_eq!(
            kept(Facts {
                file_type: FileType::Directory,
                ..EMPTY
            }),
            "a directory"
        );
        assert_eq!(
            kept(Facts {
                file_type: FileType::Fifo,
                ..EMPTY
            }),
            "not a regular file"
        );
        assert_eq!(kept(Facts { size: 5, ..EMPTY }), "not empty (5 bytes)");
        assert_eq!(
            kept(Facts { links: 2, ..EMPTY }),
            "the file has 2 hard links"
        );
    }
}
