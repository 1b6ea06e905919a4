//! The namespace kinds pinns knows, as one closed enum with a table.
//!
//! Every kind knows its clone flag, the name of its link under
//! `/proc/<pid>/ns/`, and the directory its pins live in (`<type>ns`, CRI-O's
//! layout). [`Kind::ALL`] is the order namespaces are created and entered in:
//! user first, because every other new namespace must be owned by it, and
//! mnt last when entering, because it changes how paths resolve.

use std::fmt;
use std::str::FromStr;

/// A Linux namespace type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// User namespace (`CLONE_NEWUSER`), see user_namespaces(7).
    User,
    /// Cgroup namespace (`CLONE_NEWCGROUP`), see cgroup_namespaces(7).
    Cgroup,
    /// IPC namespace (`CLONE_NEWIPC`), see ipc_namespaces(7).
    Ipc,
    /// UTS namespace (`CLONE_NEWUTS`): hostname and domain name.
    Uts,
    /// Network namespace (`CLONE_NEWNET`), see network_namespaces(7).
    Net,
    /// PID namespace (`CLONE_NEWPID`), see pid_namespaces(7).
    Pid,
    /// Time namespace (`CLONE_NEWTIME`), see time_namespaces(7).
    Time,
    /// Mount namespace (`CLONE_NEWNS`), see mount_namespaces(7).
    Mnt,
}

impl Kind {
    /// Every kind, in creation and entering order (user first, mnt last).
    pub const ALL: [Kind; 8] = [
        Kind::User,
        Kind::Cgroup,
        Kind::Ipc,
        Kind::Uts,
        Kind::Net,
        Kind::Pid,
        Kind::Time,
        Kind::Mnt,
    ];

    /// The short name used on the command line and in JSON (`net`).
    pub const fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Cgroup => "cgroup",
            Kind::Ipc => "ipc",
            Kind::Uts => "uts",
            Kind::Net => "net",
            Kind::Pid => "pid",
            Kind::Time => "time",
            Kind::Mnt => "mnt",
        }
    }

    /// The directory under the pin directory that holds this kind's pins
    /// (`netns`): CRI-O's layout, and `ip netns`'s for net under `/run`.
    pub const fn dir(self) -> &'static str {
        match self {
            Kind::User => "userns",
            Kind::Cgroup => "cgroupns",
            Kind::Ipc => "ipcns",
            Kind::Uts => "utsns",
            Kind::Net => "netns",
            Kind::Pid => "pidns",
            Kind::Time => "timens",
            Kind::Mnt => "mntns",
        }
    }

    /// The link under `/proc/<pid>/ns/` that names the namespace a *new*
    /// namespace of this kind is reached through. PID and time namespaces
    /// apply to children only, so theirs are the `*_for_children` links.
    pub(crate) const fn new_link(self) -> &'static str {
        match self {
            Kind::Pid => "pid_for_children",
            Kind::Time => "time_for_children",
            other => other.own_link(),
        }
    }

    /// The link under `/proc/<pid>/ns/` for the namespace a process is in.
    pub(crate) const fn own_link(self) -> &'static str {
        match self {
            Kind::Mnt => "mnt",
            other => other.name(),
        }
    }

    /// The `CLONE_NEW*` flag for unshare(2) and setns(2).
    pub(crate) const fn clone_flag(self) -> libc::c_int {
        match self {
            Kind::User => libc::CLONE_NEWUSER,
            Kind::Cgroup => libc::CLONE_NEWCGROUP,
            Kind::Ipc => libc::CLONE_NEWIPC,
            Kind::Uts => libc::CLONE_NEWUTS,
            Kind::Net => libc::CLONE_NEWNET,
            Kind::Pid => libc::CLONE_NEWPID,
            Kind::Time => libc::CLONE_NEWTIME,
            Kind::Mnt => libc::CLONE_NEWNS,
        }
    }

    /// The kernel option (and the release that brought it) a kernel needs
    /// for this kind, for errors that would otherwise be a bare `EINVAL`.
    pub(crate) const fn kernel_feature(self) -> &'static str {
        match self {
            Kind::User => "CONFIG_USER_NS",
            Kind::Cgroup => "CONFIG_CGROUPS (Linux 4.6)",
            Kind::Ipc => "CONFIG_IPC_NS",
            Kind::Uts => "CONFIG_UTS_NS",
            Kind::Net => "CONFIG_NET_NS",
            Kind::Pid => "CONFIG_PID_NS",
            Kind::Time => "CONFIG_TIME_NS (Linux 5.6)",
            Kind::Mnt => "mount namespaces",
        }
    }

    /// Whether a new namespace of this kind must be made by a helper child
    /// rather than a thread of ours: user needs a single-threaded process,
    /// mnt cannot be pinned from inside itself, and pid and time only exist
    /// for the children of the process that unshared them.
    pub(crate) const fn needs_helper(self) -> bool {
        matches!(self, Kind::User | Kind::Mnt | Kind::Pid | Kind::Time)
    }

    /// The kind whose directory is `dir` (`netns` → net).
    pub fn from_dir(dir: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.dir() == dir)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown namespace type '{s}'"))
    }
}

/// A set of kinds, kept in [`Kind::ALL`] order.
///
/// ```
/// use pinns::{Kind, KindSet};
///
/// let set: KindSet = [Kind::Net, Kind::User].into_iter().collect();
/// assert_eq!(format!("{set:?}"), "{User, Net}");
/// assert_eq!(set.iter().collect::<Vec<_>>(), [Kind::User, Kind::Net]);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct KindSet(u8);

impl fmt::Debug for KindSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl KindSet {
    /// The empty set.
    pub const EMPTY: KindSet = KindSet(0);

    const fn bit(kind: Kind) -> u8 {
        1 << kind as u8
    }

    /// Adds `kind`.
    pub fn insert(&mut self, kind: Kind) {
        self.0 |= Self::bit(kind);
    }

    /// Whether `kind` is in the set.
    #[must_use]
    pub const fn contains(self, kind: Kind) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in the set, user first.
    pub fn iter(self) -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter().filter(move |k| self.contains(*k))
    }

    /// The union of the clone flags of the kinds in the set.
    pub(crate) fn clone_flags(self) -> libc::c_int {
        self.iter().fold(0, |flags, k| flags | k.clone_flag())
    }
}

impl FromIterator<Kind> for KindSet {
    fn from_iter<I: IntoIterator<Item = Kind>>(iter: I) -> KindSet {
        let mut set = KindSet::EMPTY;
        iter.into_iter().for_each(|k| set.insert(k));
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips() {
        for kind in Kind::ALL {
            assert_eq!(kind.name().parse::<Kind>(), Ok(kind));
            assert_eq!(Kind::from_dir(kind.dir()), Some(kind));
            assert_eq!(kind.dir(), format!("{}ns", kind.name()));
        }
        assert_eq!(Kind::ALL[0], Kind::User);
        assert_eq!(Kind::ALL[7], Kind::Mnt);
    }

    #[test]
    fn set_keeps_order() {
        let set: KindSet = [Kind::Net, Kind::User, Kind::Mnt].into_iter().collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Kind::User, Kind::Net, Kind::Mnt]
        );
        assert!(!set.contains(Kind::Ipc));
    }
}
