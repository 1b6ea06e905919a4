//! Unpinning: the reverse of [`crate::pin()`], for one NAME or, as a
//! teardown, for every pin under a directory.
//!
//! Both run under the pin directory's lock, and both take down the
//! self-bind of a type directory ([`crate::TypeDirs::SharedSelfBind`])
//! once no pin is left in it, so the directory can then be removed.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::mount::{self, DirLock, PinDir, Removed};
use crate::ns::{Kind, KindSet};
use crate::plan::check_name;

/// One pin path [`unpin`] or [`unpin_all`] removed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Unpinned {
    /// The namespace type.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "type", serialize_with = "crate::pin::serialize_kind")
    )]
    pub kind: Kind,
    /// The pin path, `DIR/<type>ns/NAME`.
    pub path: PathBuf,
    /// A pin unmounted and removed, or a stale file removed.
    pub removed: Removed,
}

/// Unmounts (lazily, so processes still inside keep running) and removes
/// `dir/<type>ns/name` for each kind in `kinds`, or for every kind when
/// `kinds` is empty, as `ip netns delete` does for net.
///
/// Returns what was removed: a missing pin is not an error and is not
/// listed (an empty list means there was nothing of `name`). A stale pin
/// (an empty file left by a crash) is removed too; anything else at a pin
/// path ([`crate::PinPath::NotAPin`]) is refused and left alone. Every
/// kind is attempted even when one fails; the error lists every failure.
///
/// When this removes the last pin of a type directory that is a mount of
/// itself (the `ip netns` set-up), that mount is taken down too, so
/// `rm -r DIR` works once nothing is pinned.
///
/// ```no_run
/// use pinns::KindSet;
///
/// # fn main() -> Result<(), pinns::Error> {
/// let removed = pinns::unpin("/run", "pod-a", KindSet::EMPTY)?;
/// if removed.is_empty() {
///     println!("nothing named pod-a was pinned");
/// }
/// for pin in removed {
///     println!("unpinned {} at {}", pin.kind, pin.path.display());
/// }
/// # Ok(())
/// # }
/// ```
pub fn unpin(dir: impl AsRef<Path>, name: &str, kinds: KindSet) -> Result<Vec<Unpinned>> {
    check_name(name)?;
    let kinds = if kinds.is_empty() {
        Kind::ALL.into_iter().collect()
    } else {
        kinds
    };
    let Some(dir) = open_existing(dir.as_ref())? else {
        return Ok(Vec::new());
    };
    // The same lock pin takes around making NAME's pins, so a racing pin
    // and unpin of one NAME leave it whole or absent.
    let lock = dir.lock()?;
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for kind in kinds.iter() {
        let path = dir.pin_path(kind, name);
        let outcome = match dir.type_dir(kind) {
            Ok(Some(type_dir)) => {
                mount::remove_pin(type_dir.as_fd(), name, &path).map_err(|e| e.at(&path))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Some(removed)) => {
                done.push(Unpinned {
                    kind,
                    path,
                    removed,
                });
                if let Err(e) = dir.drop_self_bind_locked(kind, &lock) {
                    errors.push(e);
                }
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    Error::collect(errors).map(|()| done)
}

/// What [`unpin_all`] took down under a directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct TornDown {
    /// Every pin removed, by type, then name.
    pub unpinned: Vec<Unpinned>,
    /// The type directories whose self-bind was taken down.
    pub unmounted: Vec<PathBuf>,
}

/// The teardown of a pin directory: unpins every pin under `dir` (every
/// type, every name; stale pins are removed too), then takes down the
/// mounts pinns made in `dir` (the type directories' self-binds, the
/// unbindable `mntns` one), so that `rm -r DIR` works after it. This is
/// `pinns unpin --all` (`ip -all netns delete`).
///
/// Every pin and mount is attempted even when one fails, and the error
/// lists every failure. Anything at a pin path that is not a pin is left
/// alone (and reported as an error), and a type directory in which
/// something is still mounted keeps its own mount. A missing `dir` tears
/// down nothing.
///
/// ```no_run
/// # fn main() -> Result<(), pinns::Error> {
/// let done = pinns::unpin_all("/run/pods")?;
/// println!("{} pins removed", done.unpinned.len());
/// std::fs::remove_dir_all("/run/pods").expect("nothing is mounted there any more");
/// # Ok(())
/// # }
/// ```
pub fn unpin_all(dir: impl AsRef<Path>) -> Result<TornDown> {
    let mut done = TornDown::default();
    let Some(dir) = open_existing(dir.as_ref())? else {
        return Ok(done);
    };
    let lock = dir.lock()?;
    let mut errors = Vec::new();
    for kind in Kind::ALL {
        if let Err(e) = unpin_type_dir(&dir, kind, &lock, &mut done, &mut errors) {
            errors.push(e);
        }
    }
    Error::collect(errors).map(|()| done)
}

/// Unpins every name in the type directory of `kind`, then takes down its
/// self-bind; per-pin failures go to `errors`.
fn unpin_type_dir(
    dir: &PinDir,
    kind: Kind,
    lock: &DirLock<'_>,
    done: &mut TornDown,
    errors: &mut Vec<Error>,
) -> Result<()> {
    let Some(type_dir) = dir.type_dir(kind)? else {
        return Ok(());
    };
    let display = dir.path().join(kind.dir());
    for name in mount::names_in(type_dir.as_fd(), &display)? {
        let path = dir.pin_path(kind, &name);
        match mount::remove_pin(type_dir.as_fd(), &name, &path).map_err(|e| e.at(&path)) {
            Ok(Some(removed)) => done.unpinned.push(Unpinned {
                kind,
                path,
                removed,
            }),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    drop(type_dir);
    if dir.drop_self_bind_locked(kind, lock)? {
        done.unmounted.push(display);
    }
    Ok(())
}

/// Opens `dir` if it exists.
fn open_existing(dir: &Path) -> Result<Option<PinDir>> {
    match PinDir::open(dir, false) {
        Ok(dir) => Ok(Some(dir)),
        Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}
