//! Unpinning: the reverse of [`crate::pin()`].

use std::path::{Path, PathBuf};

use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::mount::{self, PinDir, Removed};
use crate::ns::{Kind, KindSet};
use crate::plan::check_name;

/// Unmounts (lazily, so processes still inside keep running) and removes
/// `dir/<type>ns/name` for each kind in `kinds`, or for every kind when
/// `kinds` is empty, as `ip netns delete` does for net.
///
/// A missing pin is not an error, and an empty file left by a crash is
/// removed too. Every kind is attempted even when one fails; the error
/// lists every failure. Returns what was found at each path.
pub fn unpin(dir: &Path, name: &str, kinds: KindSet) -> Result<Vec<(Kind, PathBuf, Removed)>> {
    check_name(name)?;
    let kinds = if kinds.is_empty() {
        Kind::ALL.into_iter().collect()
    } else {
        kinds
    };
    let dir = match PinDir::open(dir, false) {
        Ok(dir) => dir,
        Err(e) if e.errno() == Some(Errno::NOENT) => {
            return Ok(kinds
                .iter()
                .map(|k| (k, dir.join(k.dir()).join(name), Removed::Missing))
                .collect());
        }
        Err(e) => return Err(e),
    };
    // The same lock pin takes around making NAME's pins, so a racing pin
    // and unpin of one NAME leave it whole or absent.
    let _lock = dir.lock()?;
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for kind in kinds.iter() {
        let path = dir.pin_path(kind, name);
        let outcome = match dir.type_dir(kind) {
            Ok(Some(type_dir)) => {
                mount::remove_pin(std::os::fd::AsFd::as_fd(&type_dir), name, &path)
            }
            Ok(None) => Ok(Removed::Missing),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(removed) => done.push((kind, path, removed)),
            Err(e) => errors.push(e),
        }
    }
    Error::collect(errors).map(|()| done)
}
