//! Listing the pins under a directory, live or stale, with the processes
//! inside each pinned namespace (`ip netns pids`), or only the pins a given
//! process is inside (`ip netns identify`).

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags};
use rustix::io::Errno;

use crate::error::{Context, Error, Result};
use crate::inspect::{self, PinPath};
use crate::mount::PinDir;
use crate::ns::{Kind, KindSet};
use crate::pidns::PidNs;
#[cfg(feature = "serde")]
use crate::pin::serialize_kind;

/// Whether a pin still holds a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum State {
    /// A namespace is mounted on the pin file.
    Live,
    /// An empty file with one link and nothing mounted on it (a crash
    /// between creating and mounting, or an unmount by someone else):
    /// [`crate::prune()`] removes it.
    Stale,
    /// Something that is no pin ([`crate::PinPath::NotAPin`]): a symlink,
    /// a non-empty file, another kind of mount...; [`PinInfo::why`] says
    /// which, in [`crate::prune()`]'s words. Nothing of this crate touches it.
    #[cfg_attr(feature = "serde", serde(rename = "not-a-pin"))]
    NotAPin,
    /// A pinned PID namespace whose first process (its init) has exited:
    /// it is still pinned, but the kernel lets no process in any more
    /// (`fork` inside fails with `ENOMEM`), so nothing can run in it.
    ///
    /// The kernel tells this apart from a PID namespace no process has
    /// entered yet (which is [`State::Live`] with no processes) through
    /// clone3(2)'s `set_tid` (Linux 5.5), asked without spending the
    /// namespace and only for a PID pin with no process in it; where it
    /// cannot be asked (an older kernel, no `CAP_SYS_ADMIN`), such a pin
    /// shows as `Live` with no processes.
    Dead,
}

/// One pin file under `DIR/<type>ns/`.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct PinInfo {
    /// The namespace type, from the directory the pin is in.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "type", serialize_with = "serialize_kind")
    )]
    pub kind: Kind,
    /// The pin file.
    pub path: PathBuf,
    /// The namespace's inode when live, else the file's.
    pub inode: u64,
    /// Live, stale, or not a pin.
    pub state: State,
    /// Why it is not a pin, for [`State::NotAPin`].
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub why: Option<String>,
    /// The processes in the pinned namespace, by pid, ascending: those
    /// whose `/proc/PID/ns/<type>` is this namespace (for pid and time
    /// pins, the namespace the process is in, not its children's). Empty
    /// for a stale pin.
    pub pids: Vec<u32>,
}

/// Every pin of one NAME.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Entry {
    /// The pin name.
    pub name: String,
    /// Its pins, user first.
    pub pins: Vec<PinInfo>,
}

/// Lists every NAME pinned under `dir`, sorted by name, with each pin's
/// type, inode, state and the processes inside. A missing directory lists
/// nothing.
///
/// One `statx` per pin, no read of the mount table, and one pass over
/// `/proc` (one `statx` per process and type that has live pins), so
/// listing stays fast with thousands of pods.
///
/// ```no_run
/// # fn main() -> Result<(), pinns::Error> {
/// for entry in pinns::list("/run")? {
///     for pin in &entry.pins {
///         println!("{} {} {:?} {} processes", entry.name, pin.kind, pin.state, pin.pids.len());
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub fn list(dir: impl AsRef<Path>) -> Result<Vec<Entry>> {
    let mut entries = pins(dir.as_ref())?;
    count_processes(&mut entries)?;
    mark_dead_pid_namespaces(&mut entries);
    Ok(entries)
}

/// A live PID pin with no process in it is either waiting for its init or
/// past it: the kernel is asked which (see [`State::Dead`]).
fn mark_dead_pid_namespaces(entries: &mut [Entry]) {
    for pin in entries.iter_mut().flat_map(|e| e.pins.iter_mut()) {
        if pin.kind != Kind::Pid || pin.state != State::Live || !pin.pids.is_empty() {
            continue;
        }
        // The namespace itself, through the pin: a pin gone meanwhile is
        // left as listed.
        let Ok(ns) = rustix::fs::open(
            &pin.path,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        ) else {
            continue;
        };
        let same = rustix::fs::fstat(&ns).is_ok_and(|st| st.st_ino == pin.inode);
        if same && crate::pidns::probe(ns.as_fd()) == PidNs::Dead {
            pin.state = State::Dead;
        }
    }
}

/// Like [`list`], but keeps only the pins whose namespace process `pid`
/// is in, and only the names with such pins: `ip netns identify PID`,
/// for every type. A process that does not exist is an error.
///
/// ```no_run
/// # fn main() -> Result<(), pinns::Error> {
/// for entry in pinns::identify("/run", std::process::id())? {
///     println!("this process is in {}", entry.name);
/// }
/// # Ok(())
/// # }
/// ```
pub fn identify(dir: impl AsRef<Path>, pid: u32) -> Result<Vec<Entry>> {
    let dir = dir.as_ref();
    let process = rustix::fs::open(
        format!("/proc/{pid}").as_str(),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| match errno {
        Errno::NOENT => Error::NoSuchProcess { pid },
        errno => Error::os(format!("opening /proc/{pid}"), errno),
    })?;
    let mut entries = pins(dir)?;
    // The namespaces of the process, one statx per type that has pins.
    let mut inside: HashMap<Kind, u64> = HashMap::new();
    for kind in live_kinds(&entries).iter() {
        let link = format!("ns/{}", kind.own_link());
        match rustix::fs::statx(&process, link.as_str(), AtFlags::empty(), StatxFlags::INO) {
            Ok(stx) => {
                inside.insert(kind, stx.stx_ino);
            }
            // A kernel without this type (or a process just gone): in none.
            Err(Errno::NOENT) => {}
            Err(errno) => {
                return Err(Error::os(format!("inspecting /proc/{pid}/{link}"), errno));
            }
        }
    }
    for entry in &mut entries {
        entry
            .pins
            .retain(|p| p.state == State::Live && inside.get(&p.kind) == Some(&p.inode));
    }
    entries.retain(|e| !e.pins.is_empty());
    count_processes(&mut entries)?;
    Ok(entries)
}

/// The types that have a live pin among `entries`.
fn live_kinds(entries: &[Entry]) -> KindSet {
    entries
        .iter()
        .flat_map(|e| &e.pins)
        .filter(|p| p.state == State::Live)
        .map(|p| p.kind)
        .collect()
}

/// Fills in each live pin's `pids`, in one pass over `/proc`: for each
/// process, one `statx` of `/proc/PID/ns/<type>` per type that has live
/// pins (not per pin), matched against the pins by namespace inode.
fn count_processes(entries: &mut [Entry]) -> Result<()> {
    let kinds = live_kinds(entries);
    if kinds.is_empty() {
        return Ok(());
    }
    // Namespace inodes are unique within nsfs; the type keeps it exact.
    let mut by_ns: HashMap<(Kind, u64), Vec<(usize, usize)>> = HashMap::new();
    for (e, entry) in entries.iter().enumerate() {
        for (p, pin) in entry.pins.iter().enumerate() {
            if pin.state == State::Live {
                by_ns.entry((pin.kind, pin.inode)).or_default().push((e, p));
            }
        }
    }
    let proc_dir: OwnedFd = rustix::fs::open(
        "/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with(|| "opening /proc".to_string())?;
    let processes = rustix::fs::Dir::read_from(&proc_dir).with(|| "reading /proc".to_string())?;
    let mut link = String::new();
    for process in processes {
        let process = process.with(|| "reading /proc".to_string())?;
        let Some(pid) = process
            .file_name()
            .to_str()
            .ok()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        for kind in kinds.iter() {
            link.clear();
            use std::fmt::Write;
            let _ = write!(link, "{pid}/ns/{}", kind.own_link());
            // Following the link stats the namespace itself. A process
            // that exited meanwhile (ENOENT) or that we may not inspect
            // (EACCES, when not root) is in none we can tell.
            let Ok(stx) =
                rustix::fs::statx(&proc_dir, link.as_str(), AtFlags::empty(), StatxFlags::INO)
            else {
                continue;
            };
            if let Some(pins) = by_ns.get(&(kind, stx.stx_ino)) {
                for &(e, p) in pins {
                    entries[e].pins[p].pids.push(pid);
                }
            }
        }
    }
    for pin in entries.iter_mut().flat_map(|e| e.pins.iter_mut()) {
        pin.pids.sort_unstable();
    }
    Ok(())
}

/// Every pin under `dir`, by name, without the processes.
fn pins(dir: &Path) -> Result<Vec<Entry>> {
    let pin_dir = match PinDir::open(dir, false) {
        Ok(d) => d,
        Err(e) if e.errno() == Some(libc::ENOENT) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };

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
            let path = display.join(name);
            let (inode, state, why) = match inspect::at(type_dir.as_fd(), name, &path)? {
                // Removed while we read: not there, so not listed.
                PinPath::Missing => continue,
                PinPath::Live { inode } => (inode, State::Live, None),
                PinPath::Stale { inode } => (inode, State::Stale, None),
                PinPath::NotAPin { inode, why } => (inode, State::NotAPin, Some(why.to_string())),
            };
            names.entry(name.to_string()).or_default().push(PinInfo {
                kind,
                path,
                inode,
                state,
                why,
                pids: Vec::new(),
            });
        }
    }
    Ok(names
        .into_iter()
        .map(|(name, pins)| Entry { name, pins })
        .collect())
}
