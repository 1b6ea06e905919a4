//! Listing the pins under a directory, live or stale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, StatxFlags};
use rustix::io::Errno;
use serde::Serialize;

use crate::error::{Context, Error, Result};
use crate::mount::{Nsfs, PinDir};
use crate::ns::Kind;
use crate::pin::serialize_kind;

/// Whether a pin still holds a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// A namespace is mounted on the pin file.
    Live,
    /// An empty file (a crash between creating and mounting, or an unmount
    /// by someone else), or a mount of something that is not a namespace.
    Stale,
}

/// One pin file under `DIR/<type>ns/`.
#[derive(Clone, Debug, Serialize)]
pub struct PinInfo {
    /// The namespace type, from the directory the pin is in.
    #[serde(rename = "type", serialize_with = "serialize_kind")]
    pub kind: Kind,
    /// The pin file.
    pub path: PathBuf,
    /// The namespace's inode when live, else the file's.
    pub inode: u64,
    /// Live or stale.
    pub state: State,
}

/// Every pin of one NAME.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// The pin name.
    pub name: String,
    /// Its pins, user first.
    pub pins: Vec<PinInfo>,
}

/// Lists every NAME pinned under `dir`, sorted by name, with each pin's
/// type, inode and state. A missing directory lists nothing.
///
/// One `statx` per pin and no read of the mount table, so listing stays
/// fast with thousands of pods.
pub fn list(dir: &Path) -> Result<Vec<Entry>> {
    let pin_dir = match PinDir::open(dir, false) {
        Ok(d) => d,
        Err(e) if e.errno() == Some(Errno::NOENT) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    // A pin is live when what sits at its path is on nsfs.
    let nsfs = Nsfs::probe()?;

    let mut names: BTreeMap<String, Vec<PinInfo>> = BTreeMap::new();
    for kind in Kind::ALL {
        let Some(type_dir) = pin_dir.type_dir(kind)? else {
            continue;
        };
        let display = dir.join(kind.dir());
        // O_PATH cannot be read: open the same directory for reading,
        // relative to the checked descriptor.
        let readable = rustix::fs::openat(
            &type_dir,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with(|| format!("opening {}", display.display()))?;
        let entries = rustix::fs::Dir::read_from(&readable)
            .with(|| format!("reading {}", display.display()))?;
        for entry in entries {
            let entry = entry.with(|| format!("reading {}", display.display()))?;
            let file_name = entry.file_name();
            if file_name == c"." || file_name == c".." {
                continue;
            }
            let Ok(name) = file_name.to_str() else {
                continue;
            };
            let stx = match rustix::fs::statx(
                &type_dir,
                file_name,
                AtFlags::SYMLINK_NOFOLLOW,
                StatxFlags::TYPE | StatxFlags::INO,
            ) {
                Ok(stx) => stx,
                // Removed while we read: not there, so not listed.
                Err(Errno::NOENT) => continue,
                Err(errno) => {
                    return Err(Error::os(
                        format!("inspecting {}/{name}", display.display()),
                        errno,
                    ));
                }
            };
            let live = nsfs.holds(&stx)
                && FileType::from_raw_mode(u32::from(stx.stx_mode)) == FileType::RegularFile;
            names.entry(name.to_string()).or_default().push(PinInfo {
                kind,
                path: display.join(name),
                inode: stx.stx_ino,
                state: if live { State::Live } else { State::Stale },
            });
        }
    }
    Ok(names
        .into_iter()
        .map(|(name, pins)| Entry { name, pins })
        .collect())
}
