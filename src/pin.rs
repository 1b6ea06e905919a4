//! The executor: carries out a [`Plan`] all or nothing.
//!
//! The namespaces are created (or, for `=host` and `--from-pid`, found) and
//! held by open descriptors first; the helper child, if one was needed, is
//! reaped at once. Only then, under the pin directory's lock, are the pin
//! files made and the namespaces mounted on them. When any step fails,
//! every pin this call made is unmounted and removed before the error is
//! returned.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};

use crate::error::{Context, Error, Result};
use crate::helper::{self, Helper, Setup};
use crate::mount::{self, PinDir, PinFile};
use crate::ns::Kind;
use crate::plan::{Plan, Source, TypeDirs};

/// One namespace pinned by [`pin`].
///
/// As JSON (the `serde` feature): `{"type":"net","path":…,"inode":…,
/// "host":false}`, and `"from_pid":PID` for a namespace taken from a
/// process.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pinned {
    /// The namespace type.
    pub kind: Kind,
    /// The pin file, `DIR/<type>ns/NAME`.
    pub path: PathBuf,
    /// The namespace's inode number (as in `readlink /proc/self/ns/net`).
    pub inode: u64,
    /// Where the namespace came from: made anew, the caller's own
    /// (`--<type>=host`), or a running process's (`--from-pid`).
    pub source: Source,
}

#[cfg(feature = "serde")]
impl serde::Serialize for Pinned {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let from_pid = match self.source {
            Source::Process(pid) => Some(pid),
            _ => None,
        };
        let mut map = s.serialize_struct("Pinned", 4 + usize::from(from_pid.is_some()))?;
        map.serialize_field("type", self.kind.name())?;
        map.serialize_field("path", &self.path)?;
        map.serialize_field("inode", &self.inode)?;
        map.serialize_field("host", &(self.source == Source::Host))?;
        if let Some(pid) = from_pid {
            map.serialize_field("from_pid", &pid)?;
        }
        map.end()
    }
}

/// A kind as its short name (`net`), as the command line spells it.
#[cfg(feature = "serde")]
pub(crate) fn serialize_kind<S: serde::Serializer>(kind: &Kind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.name())
}

/// Pins every namespace of `plan` under `DIR/<type>ns/NAME`.
///
/// This is what `pinns pin` runs, and what CRI-O's `pinns` helper does: on
/// success the namespaces are held by bind mounts alone, and no process of
/// ours is left. On failure nothing this call made is left behind.
///
/// What is mounted besides the pins (the type directories' `ip netns`
/// set-up, or nothing, as CRI-O's own pinns) is the plan's
/// [`TypeDirs`](crate::TypeDirs).
///
/// New user, mnt, pid and time namespaces are made by a forked helper
/// child; the others by a thread of this process, whose own namespaces are
/// never changed.
///
/// Safe to call from several threads at once, and from a program that
/// handles signals: a blocking call a signal interrupts (`EINTR`) is
/// restarted, never reported.
pub fn pin(plan: &Plan) -> Result<Vec<Pinned>> {
    pin_with(plan, Creator::Thread)
}

/// Where [`pin_with`] creates new net, ipc, uts and cgroup namespaces
/// (user, mnt, pid and time always need a helper child).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Creator {
    /// A short-lived thread: no thread of the caller changes namespaces.
    #[default]
    Thread,
    /// The calling thread, which is left inside the new namespaces: the
    /// least work, for a process that exits right after, as `pinns` does.
    CallingThread,
}

/// [`pin`], choosing where new namespaces are created.
///
/// ```no_run
/// use pinns::{Creator, Kind, Plan};
///
/// # fn main() -> Result<(), pinns::Error> {
/// // A process that exits right after may leave its own thread inside.
/// let plan = Plan::builder("/run", "pod-a").create(Kind::Net).build()?;
/// let pinned = pinns::pin_with(&plan, Creator::CallingThread)?;
/// assert_eq!(pinned[0].source, pinns::Source::New);
/// # Ok(())
/// # }
/// ```
pub fn pin_with(plan: &Plan, creator: Creator) -> Result<Vec<Pinned>> {
    if plan.new_kinds().contains(Kind::Pid) {
        // A kernel that cannot pin it is told before anything is made.
        crate::kernel::check_pid_ns_pinning()?;
    }
    let dir = PinDir::open(&plan.dir, true)?;
    let kinds: Vec<Kind> = plan.kinds.iter().map(|(kind, _)| *kind).collect();
    let type_dirs = dir.prepare_type_dirs(kinds.iter().copied(), plan.type_dirs)?;
    let namespaces = acquire(plan, creator)?;

    let lock = dir.lock()?;
    let type_dirs = dir.recheck_type_dirs(&kinds, type_dirs, plan.type_dirs, &lock)?;
    let mut made: Vec<Made> = Vec::with_capacity(plan.kinds.len());
    let result = plan
        .kinds
        .iter()
        .zip(&type_dirs)
        .zip(&namespaces)
        .map(|(((kind, source), type_dir), ns)| {
            let path = dir.pin_path(*kind, &plan.name);
            let file = mount::open_pin_file(type_dir.as_fd(), &plan.name, &path)
                .map_err(|e| e.at(&path))?;
            made.push(Made {
                type_dir: type_dir.as_fd(),
                path: path.clone(),
                file,
            });
            let target = &made.last().expect("just pushed").file;
            mount::bind(ns.as_fd(), target, || {
                format!("bind-mounting {kind} namespace onto {}", path.display())
            })
            .map_err(|e| match (kind, e.errno()) {
                // The kernel refuses to pin a mount namespace inside itself
                // (or inside one it could reach back from): ELOOP from
                // move_mount, EINVAL from mount(2) (kernels before 5.2).
                (Kind::Mnt, Some(libc::ELOOP | libc::EINVAL)) => {
                    Error::OwnMountNamespace { path: path.clone() }
                }
                _ => e.at(&path),
            })?;
            let inode = rustix::fs::fstat(ns)
                .with(|| format!("inspecting {kind} namespace"))?
                .st_ino;
            Ok(Pinned {
                kind: *kind,
                path,
                inode,
                source: *source,
            })
        })
        .collect::<Result<Vec<_>>>();
    match result {
        Ok(pinned) => Ok(pinned),
        Err(err) => {
            let mut errors = vec![err];
            errors.extend(rollback(made, &plan.name).err());
            // A type directory this call self-bound, now empty of pins,
            // goes too: all or nothing.
            if plan.type_dirs == TypeDirs::SharedSelfBind {
                for kind in &kinds {
                    if let Err(e) = dir.drop_self_bind_locked(*kind, &lock) {
                        errors.push(e);
                    }
                }
            }
            Err(match errors.len() {
                1 => errors.remove(0),
                _ => Error::Many(errors),
            })
        }
    }
}

/// A pin file this call opened or made, to undo on failure.
struct Made<'a> {
    type_dir: std::os::fd::BorrowedFd<'a>,
    path: PathBuf,
    file: PinFile,
}

/// Unmounts and removes what this call made, newest first, trying every
/// one and reporting every failure.
fn rollback(made: Vec<Made<'_>>, name: &str) -> Result<()> {
    let errors = made
        .into_iter()
        .rev()
        .filter_map(|m| {
            drop(m.file);
            mount::remove_pin(m.type_dir, name, &m.path).err()
        })
        .collect();
    Error::collect(errors)
}

/// Creates or finds each namespace of the plan, as an open descriptor, in
/// the plan's order.
fn acquire(plan: &Plan, creator: Creator) -> Result<Vec<OwnedFd>> {
    // Existing namespaces first: with `Creator::CallingThread` this thread
    // is about to leave its own.
    let mut process_dir: Option<OwnedFd> = None;
    let mut found: Vec<Option<OwnedFd>> = Vec::with_capacity(plan.kinds.len());
    for (kind, source) in &plan.kinds {
        found.push(match source {
            Source::New => None,
            Source::Host => Some(helper::open_ns(
                &format!("/proc/thread-self/ns/{}", kind.own_link()),
                *kind,
            )?),
            Source::Process(pid) => {
                // Open /proc/PID once: a descriptor of it keeps naming the
                // same process, so a pid reused meanwhile cannot slip in.
                if process_dir.is_none() {
                    process_dir = Some(open_process(*pid)?);
                }
                let proc_dir = process_dir.as_ref().expect("opened above");
                let link = format!("ns/{}", kind.own_link());
                Some(
                    rustix::fs::openat(
                        proc_dir,
                        link.as_str(),
                        OFlags::RDONLY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .with(|| format!("opening {kind} namespace of process {pid}"))?,
                )
            }
        });
    }
    let mut fresh = create(plan, creator)?;
    Ok(plan
        .kinds
        .iter()
        .zip(found)
        .map(|((kind, _), found)| {
            found.unwrap_or_else(|| {
                let i = fresh
                    .iter()
                    .position(|(k, _)| k == kind)
                    .expect("every new kind was created");
                fresh.swap_remove(i).1
            })
        })
        .collect())
}

/// Creates the plan's new namespaces, set up inside as it asks.
fn create(plan: &Plan, creator: Creator) -> Result<Vec<(Kind, OwnedFd)>> {
    let new = plan.new_kinds();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    // Opened before any namespace changes, and only when needed.
    let proc_sys = if plan.sysctls.is_empty() {
        None
    } else {
        Some(
            rustix::fs::open(
                "/proc/sys",
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .with(|| "opening /proc/sys".to_string())?,
        )
    };
    let become_root = plan
        .maps
        .as_ref()
        .is_some_and(|(uid, gid)| uid.to_host(0).is_some() && gid.to_host(0).is_some());
    let setup = Setup {
        new,
        become_root,
        sysctls: &plan.sysctls,
        loopback: plan.loopback,
        time_offsets: plan.time_offsets.as_deref(),
        proc_sys: proc_sys.as_ref().map(|fd| fd.as_fd()),
    };
    if !new.iter().any(Kind::needs_helper) {
        return match creator {
            Creator::Thread => helper::create_in_thread(&setup),
            Creator::CallingThread => helper::create_here(&setup),
        };
    }
    let maps = plan.maps.as_ref().map(|(uid, gid)| (uid, gid));
    let child = Helper::spawn(&setup, maps)?;
    let fresh = new
        .iter()
        .map(|kind| Ok((kind, child.open_ns(kind)?)))
        .collect::<Result<Vec<_>>>()?;
    // The descriptors hold the namespaces now; the child can go.
    child.finish()?;
    Ok(fresh)
}

fn open_process(pid: u32) -> Result<OwnedFd> {
    rustix::fs::open(
        format!("/proc/{pid}").as_str(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| match errno {
        rustix::io::Errno::NOENT => Error::NoSuchProcess { pid },
        errno => Error::os(format!("opening /proc/{pid}"), errno),
    })
}
