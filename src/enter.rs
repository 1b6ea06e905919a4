//! Entering pinned namespaces, for `pinns exec`.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::thread::LinkNameSpaceType;

use crate::error::{Context, Error, Operation, Result};
use crate::inspect::{self, PinPath};
use crate::mount::PinDir;
use crate::ns::{Kind, KindSet};
use crate::pidns::{self, PidNs};
use crate::plan::check_name;

/// What [`enter`] moved the calling process into.
#[derive(Clone, Copy, Debug)]
#[must_use = "a pid or time namespace holds only children: check needs_child"]
pub struct Entered {
    /// The namespaces entered.
    pub kinds: KindSet,
    /// Pinned namespaces left out of "every live pin" (no `kinds` given):
    /// a PID namespace no process has entered yet (the command would
    /// become its init, and when that exits no process could enter it
    /// again), or one whose init has exited already (it takes no process).
    /// Naming [`Kind::Pid`] in `kinds` enters it on purpose.
    pub skipped: KindSet,
    /// Whether a command must now run as a child to be inside them all
    /// (a pid or time namespace applies to children only).
    pub needs_child: bool,
    /// Whether the calling process got the mounts of `ip netns exec` (a
    /// mount namespace of its own, `/sys` of the pinned network namespace,
    /// `/etc/netns/NAME` files over `/etc`): see [`enter_with`].
    pub netns_mounts: bool,
}

fn link_type(kind: Kind) -> LinkNameSpaceType {
    match kind {
        Kind::User => LinkNameSpaceType::User,
        Kind::Cgroup => LinkNameSpaceType::ControlGroup,
        Kind::Ipc => LinkNameSpaceType::InterProcessCommunication,
        Kind::Uts => LinkNameSpaceType::HostNameAndNISDomainName,
        Kind::Net => LinkNameSpaceType::Network,
        Kind::Pid => LinkNameSpaceType::ProcessID,
        Kind::Time => LinkNameSpaceType::Time,
        Kind::Mnt => LinkNameSpaceType::Mount,
    }
}

/// Moves the calling process into NAME's pinned namespaces: those in
/// `kinds`, or every live pin of NAME when `kinds` is empty, except a PID
/// namespace no process has entered yet or whose init has exited (see
/// [`Entered::skipped`]). See setns(2).
///
/// The user namespace is entered first (and the caller becomes uid and
/// gid 0 in it, as nsenter(1) does) and mnt last. As in nsenter(1), a
/// namespace that cannot be entered yet is tried again after the others,
/// so both a namespace owned by the pinned user namespace and one owned by
/// the host's can be entered.
///
/// This changes the whole calling process and needs it single-threaded
/// (setns(2) moves one thread, and a user or mount namespace cannot be
/// entered otherwise): a process with more threads is refused, before
/// anything is entered. It is meant for a process about to exec, as
/// `pinns exec` is.
///
/// The mount namespace is left as it is: [`enter_with`] can give the
/// process the mounts `ip netns exec` would.
///
/// ```no_run
/// use std::os::unix::process::CommandExt;
/// use pinns::KindSet;
///
/// # fn main() -> Result<(), pinns::Error> {
/// let entered = pinns::enter("/run", "pod-a", KindSet::EMPTY)?;
/// assert!(!entered.needs_child, "no pid or time namespace was entered");
/// let err = std::process::Command::new("ip").arg("addr").exec();
/// eprintln!("ip: {err}");
/// # Ok(())
/// # }
/// ```
pub fn enter(dir: impl AsRef<Path>, name: &str, kinds: KindSet) -> Result<Entered> {
    enter_with(dir, name, kinds, false)
}

/// [`enter`], and with `netns_mounts`, when the pins entered include a
/// network pin but no mount pin, what `ip netns exec NAME` does too: the
/// process gets a mount namespace of its own (the host's mounts as slaves,
/// so nothing propagates back), with a fresh sysfs of the pinned network
/// namespace on `/sys` and each file `/etc/netns/NAME/F` bind-mounted over
/// `/etc/F` (missing targets skipped). See ip-netns(8).
///
/// Those mounts are made before a pinned user namespace is entered, so
/// they are owned by the caller's (the host's) and nothing is locked; this
/// needs root (`CAP_SYS_ADMIN`), as mounting does.
pub fn enter_with(
    dir: impl AsRef<Path>,
    name: &str,
    kinds: KindSet,
    netns_mounts: bool,
) -> Result<Entered> {
    let dir = dir.as_ref();
    check_name(name)?;
    single_threaded()?;
    let pin_dir = PinDir::open(dir, false)?;
    // Open every pin before entering anything: after entering a mount
    // namespace the paths would resolve elsewhere.
    let all = kinds.is_empty();
    let mut open: Vec<(Kind, OwnedFd)> = Vec::new();
    let mut skipped = KindSet::EMPTY;
    for kind in Kind::ALL.into_iter().filter(|k| all || kinds.contains(*k)) {
        let path = pin_dir.pin_path(kind, name);
        let missing = || Error::NoSuchPin { path: path.clone() };
        let Some(type_dir) = pin_dir.type_dir(kind)? else {
            if all {
                continue;
            }
            return Err(missing());
        };
        // O_PATH and O_NOFOLLOW open nothing (a FIFO, a device) and no
        // symlink: the look is at what the path holds itself.
        let held = match rustix::fs::openat(
            &type_dir,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if all => continue,
            Err(Errno::NOENT) => return Err(missing()),
            Err(errno) => {
                return Err(Error::os_at(
                    format!("opening {}", path.display()),
                    path,
                    errno,
                ));
            }
        };
        match inspect::of_fd(held.as_fd(), &path)? {
            PinPath::Live { .. } => {}
            PinPath::Missing if all => continue,
            PinPath::Missing => return Err(missing()),
            PinPath::Stale { .. } => {
                return Err(Error::StalePin { path });
            }
            PinPath::NotAPin { why, .. } => {
                return Err(Error::NotAPin {
                    op: Operation::Enter,
                    path,
                    why,
                });
            }
        }
        // setns(2) needs a real open file: the checked inode, reopened
        // through its descriptor, never through the path again.
        let fd = rustix::fs::open(
            format!("/proc/self/fd/{}", held.as_raw_fd()).as_str(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with(|| format!("opening {}", path.display()))?;
        // Entered unasked, a PID namespace no process is in yet would
        // take this command as its init, and be spent when it exits; one
        // whose init has exited takes no process at all.
        if all
            && kind == Kind::Pid
            && matches!(pidns::probe(fd.as_fd()), PidNs::Unentered | PidNs::Dead)
        {
            skipped.insert(kind);
            continue;
        }
        open.push((kind, fd));
    }
    if open.is_empty() {
        return Err(Error::NothingToEnter {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            unentered_pid: !skipped.is_empty(),
        });
    }

    let entered: KindSet = open.iter().map(|(k, _)| *k).collect();
    let view = netns_mounts && entered.contains(Kind::Net) && !entered.contains(Kind::Mnt);
    if view {
        // Everything but the user namespace first, so that the mounts
        // below are made with the caller's privileges, in a mount
        // namespace owned by its user namespace (none of them locked).
        let (user, rest): (Vec<_>, Vec<_>) = open.into_iter().partition(|(k, _)| *k == Kind::User);
        enter_all(rest, &pin_dir, name)?;
        crate::netns_view::set_up(name)?;
        enter_all(user, &pin_dir, name)?;
    } else {
        enter_all(open, &pin_dir, name)?;
    }
    Ok(Entered {
        kinds: entered,
        skipped,
        needs_child: entered.contains(Kind::Pid) || entered.contains(Kind::Time),
        netns_mounts: view,
    })
}

/// Refuses a process with more than one thread: setns(2) moves only the
/// calling thread, so entering would quietly leave the others outside (and
/// a user or mount namespace cannot be entered at all).
fn single_threaded() -> Result<()> {
    let what = || "counting this process's threads".to_string();
    let tasks = rustix::fs::open(
        "/proc/self/task",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with(what)?;
    let mut threads = 0usize;
    for entry in rustix::fs::Dir::read_from(&tasks).with(what)? {
        let entry = entry.with(what)?;
        if entry.file_name() != c"." && entry.file_name() != c".." {
            threads += 1;
        }
    }
    if threads > 1 {
        return Err(Error::MultiThreaded { threads });
    }
    Ok(())
}

/// Enters each open pin, in order. Two passes, as nsenter(1): whatever
/// fails in the first is retried once the others (the user namespace
/// above all) are entered.
fn enter_all(open: Vec<(Kind, OwnedFd)>, pin_dir: &PinDir, name: &str) -> Result<()> {
    let mut pending = open;
    for pass in 0..2 {
        let mut failed = Vec::new();
        for (kind, fd) in pending {
            match rustix::thread::move_into_link_name_space(fd.as_fd(), Some(link_type(kind))) {
                Ok(()) => {
                    if kind == Kind::User {
                        become_root()?;
                    }
                }
                Err(errno) if pass == 1 => {
                    let path = pin_dir.pin_path(kind, name);
                    return Err(Error::os(
                        format!("entering {kind} namespace {}", path.display()),
                        errno,
                    ));
                }
                Err(_) => failed.push((kind, fd)),
            }
        }
        pending = failed;
        if pending.is_empty() {
            break;
        }
    }
    Ok(())
}

/// Becomes uid and gid 0 in the user namespace just entered, with no
/// supplementary groups, as nsenter(1) does.
fn become_root() -> Result<()> {
    let what = || "becoming root in the pinned user namespace".to_string();
    rustix::thread::set_thread_groups(&[]).with(what)?;
    let gid = rustix::process::Gid::ROOT;
    let uid = rustix::process::Uid::ROOT;
    rustix::thread::set_thread_res_gid(gid, gid, gid).with(what)?;
    rustix::thread::set_thread_res_uid(uid, uid, uid).with(what)
}
