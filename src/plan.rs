//! The pin plan: a request checked in full before any system call.
//!
//! A [`Plan`] is built with [`Plan::builder`] (the command line builds one
//! from its flags) and holds only what is valid: a NAME that is one path
//! component, parsed id maps, sysctl keys that stay beneath `/proc/sys` and
//! belong to a namespace this call creates anew. Building one touches
//! nothing, so a refused request leaves nothing behind.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use crate::error::{Conflict, Error, Result};
use crate::idmap::IdMap;
use crate::ns::{Kind, KindSet};
use crate::sysctl::Sysctl;

/// The longest file name Linux filesystems take (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// Where a pinned namespace comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A namespace created anew by this call.
    New,
    /// The namespace the calling thread is in now (`--net=host`).
    Host,
    /// The namespace of a running process (`--from-pid PID`).
    Process(u32),
}

/// What pinning mounts besides the pins, in the type directories
/// (`DIR/netns`, ...): the set-up [`PlanBuilder::type_dirs`] chooses.
///
/// Either way `DIR/mntns` becomes an unbindable mount of itself for a mount
/// namespace pin (the kernel pins one nowhere else), and a type directory
/// that is a mount of its own already is used as it is.
///
/// ```
/// use pinns::{Kind, Plan, TypeDirs};
///
/// // What CRI-O's own pinns leaves: the pin files, and nothing else.
/// let plan = Plan::builder("/var/run/crio/ns", "pod-a")
///     .create(Kind::Net)
///     .type_dirs(TypeDirs::PinsOnly)
///     .build()?;
/// assert_eq!(plan.type_dir_setup(), TypeDirs::PinsOnly);
/// # Ok::<(), pinns::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypeDirs {
    /// The `ip netns add` way (the default): where the mount holding the
    /// pin directory is not shared, each type directory is first made a
    /// mount of itself, shared in a peer group of its own, so a pin made
    /// later also appears, once, in mount namespaces that bind-mounted the
    /// directory earlier. Where that mount is shared, pins propagate with
    /// it and nothing else is mounted. When the last pin of such a type
    /// directory is unpinned (or pruned, or torn down), its self-bind goes
    /// too, so the directory can be removed.
    #[default]
    SharedSelfBind,
    /// CRI-O's footprint (its C pinns): the pin files are mounted and
    /// nothing else, whatever the propagation, so once each pin file is
    /// unmounted, `rm -fr DIR` works. On a host whose pin directory is not
    /// on a shared mount, a pin made later does not reach mount namespaces
    /// made earlier.
    PinsOnly,
}

/// A validated request to pin namespaces under `DIR/<type>ns/NAME`.
#[derive(Clone, Debug)]
#[must_use = "a plan does nothing until passed to pinns::pin"]
pub struct Plan {
    pub(crate) dir: PathBuf,
    pub(crate) name: String,
    pub(crate) kinds: Vec<(Kind, Source)>,
    pub(crate) sysctls: Vec<Sysctl>,
    pub(crate) maps: Option<(IdMap, IdMap)>,
    pub(crate) time_offsets: Option<CString>,
    pub(crate) loopback: bool,
    pub(crate) type_dirs: TypeDirs,
}

impl Plan {
    /// Starts a plan for the pins `dir/<type>ns/name`.
    ///
    /// ```
    /// use pinns::{Kind, Plan};
    ///
    /// let plan = Plan::builder("/run", "pod-a").create(Kind::Net).build()?;
    /// assert_eq!(plan.dir(), std::path::Path::new("/run"));
    /// # Ok::<(), pinns::Error>(())
    /// ```
    pub fn builder(dir: impl AsRef<Path>, name: impl Into<String>) -> PlanBuilder {
        PlanBuilder {
            dir: dir.as_ref().to_path_buf(),
            name: name.into(),
            kinds: Vec::new(),
            from_pid: None,
            sysctls: Vec::new(),
            uid_map: None,
            gid_map: None,
            monotonic: None,
            boottime: None,
            loopback: false,
            type_dirs: TypeDirs::default(),
        }
    }

    /// The pin directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pin name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespaces to pin and where each comes from, user first.
    pub fn kinds(&self) -> &[(Kind, Source)] {
        &self.kinds
    }

    /// The kinds this plan creates anew.
    pub fn new_kinds(&self) -> KindSet {
        self.kinds
            .iter()
            .filter(|(_, source)| *source == Source::New)
            .map(|(kind, _)| *kind)
            .collect()
    }

    /// The sysctls to write inside the new namespaces.
    pub fn sysctls(&self) -> &[Sysctl] {
        &self.sysctls
    }

    /// How the type directories are set up ([`PlanBuilder::type_dirs`]).
    pub fn type_dir_setup(&self) -> TypeDirs {
        self.type_dirs
    }
}

/// Collects a [`Plan`]; [`PlanBuilder::build`] checks it.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until built and the plan pinned"]
pub struct PlanBuilder {
    dir: PathBuf,
    name: String,
    kinds: Vec<(Kind, bool)>,
    from_pid: Option<u32>,
    sysctls: Vec<Sysctl>,
    uid_map: Option<IdMap>,
    gid_map: Option<IdMap>,
    monotonic: Option<i64>,
    boottime: Option<i64>,
    loopback: bool,
    type_dirs: TypeDirs,
}

impl PlanBuilder {
    /// How the type directories are set up: the `ip netns` way
    /// ([`TypeDirs::SharedSelfBind`], the default) or CRI-O's
    /// ([`TypeDirs::PinsOnly`]). See [`TypeDirs`].
    pub fn type_dirs(mut self, setup: TypeDirs) -> Self {
        self.type_dirs = setup;
        self
    }

    /// Pins a new namespace of `kind`.
    pub fn create(mut self, kind: Kind) -> Self {
        self.kinds.push((kind, false));
        self
    }

    /// Pins the calling thread's own namespace of `kind` (`--<type>=host`).
    pub fn host(mut self, kind: Kind) -> Self {
        self.kinds.push((kind, true));
        self
    }

    /// Pins the namespaces of process `pid` instead of creating new ones.
    pub fn from_pid(mut self, pid: u32) -> Self {
        self.from_pid = Some(pid);
        self
    }

    /// Writes `sysctl` inside the new namespaces before pinning.
    pub fn sysctl(mut self, sysctl: Sysctl) -> Self {
        self.sysctls.push(sysctl);
        self
    }

    /// The uid map of the new user namespace.
    pub fn uid_map(mut self, map: IdMap) -> Self {
        self.uid_map = Some(map);
        self
    }

    /// The gid map of the new user namespace.
    pub fn gid_map(mut self, map: IdMap) -> Self {
        self.gid_map = Some(map);
        self
    }

    /// The `CLOCK_MONOTONIC` offset of the new time namespace, in seconds.
    pub fn monotonic(mut self, secs: i64) -> Self {
        self.monotonic = Some(secs);
        self
    }

    /// The `CLOCK_BOOTTIME` offset of the new time namespace, in seconds.
    pub fn boottime(mut self, secs: i64) -> Self {
        self.boottime = Some(secs);
        self
    }

    /// Brings `lo` up in the new network namespace.
    pub fn loopback(mut self, up: bool) -> Self {
        self.loopback = up;
        self
    }

    /// Checks the request and returns the plan, or a usage error.
    pub fn build(self) -> Result<Plan> {
        let invalid = |conflict: Conflict| Err(Error::InvalidPlan(conflict));
        check_name(&self.name)?;
        if self.dir.as_os_str().is_empty() {
            return invalid(Conflict::EmptyDir);
        }
        if self.kinds.is_empty() {
            return invalid(Conflict::NoKinds);
        }
        let mut kinds: Vec<(Kind, Source)> = Vec::new();
        for (kind, host) in self.kinds {
            let source = match (host, self.from_pid) {
                (true, Some(_)) => {
                    return invalid(Conflict::HostWithProcess(kind));
                }
                (true, None) => Source::Host,
                (false, Some(pid)) => Source::Process(pid),
                (false, None) => Source::New,
            };
            match kinds.iter().find(|(k, _)| *k == kind) {
                Some((_, earlier)) if *earlier != source => {
                    return invalid(Conflict::Twice(kind));
                }
                Some(_) => {}
                None => kinds.push((kind, source)),
            }
        }
        kinds.sort_by_key(|(kind, _)| *kind);
        let new: KindSet = kinds
            .iter()
            .filter(|(_, s)| *s == Source::New)
            .map(|(k, _)| *k)
            .collect();

        if self.from_pid.is_some() {
            if !self.sysctls.is_empty() || self.uid_map.is_some() || self.gid_map.is_some() {
                return invalid(Conflict::SettingsOnExisting);
            }
            if self.loopback || self.monotonic.is_some() || self.boottime.is_some() {
                return invalid(Conflict::SetUpOnExisting);
            }
            if self.from_pid == Some(0) {
                return invalid(Conflict::ZeroPid);
            }
        }

        let new_user = new.contains(Kind::User);
        let maps = match (self.uid_map, self.gid_map) {
            (Some(uid), Some(gid)) if new_user => Some((uid, gid)),
            (None, None) if !new_user => None,
            _ if new_user => {
                return invalid(Conflict::UserWithoutMaps);
            }
            _ => {
                return invalid(Conflict::MapsWithoutUser);
            }
        };

        for sysctl in &self.sysctls {
            if !new.contains(sysctl.owner()) {
                return invalid(Conflict::SysctlNotNew {
                    key: sysctl.key().to_string(),
                    owner: sysctl.owner(),
                });
            }
        }

        let mut offsets = String::new();
        for (clock, secs) in [("monotonic", self.monotonic), ("boottime", self.boottime)] {
            if let Some(secs) = secs {
                offsets.push_str(&format!("{clock} {secs} 0\n"));
            }
        }
        if !offsets.is_empty() && !new.contains(Kind::Time) {
            return invalid(Conflict::OffsetsWithoutTime);
        }
        if self.loopback && !new.contains(Kind::Net) {
            return invalid(Conflict::LoopbackWithoutNet);
        }

        Ok(Plan {
            dir: self.dir,
            name: self.name,
            kinds,
            sysctls: self.sysctls,
            maps,
            time_offsets: (!offsets.is_empty())
                .then(|| CString::new(offsets).expect("numbers hold no NUL")),
            loopback: self.loopback,
            type_dirs: self.type_dirs,
        })
    }
}

/// Checks that `name` is one path component: not empty, not `.` or `..`,
/// no `/`, no NUL or other control character, at most 255 bytes.
///
/// Control characters (a newline, a tab, an escape...) are refused because
/// a name is shown one per line (`pinns list`, `ip netns list`): one with a
/// newline would read as two pins.
///
/// ```
/// assert!(pinns::check_name("pod-a").is_ok());
/// assert!(pinns::check_name("pod\nb").is_err());
/// assert!(pinns::check_name("../etc").is_err());
/// ```
pub fn check_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        "it is empty"
    } else if name == "." || name == ".." {
        "it is . or .."
    } else if name.contains('/') {
        "it contains '/'"
    } else if name.contains('\0') {
        "it contains a NUL byte"
    } else if name.chars().any(char::is_control) {
        "it contains a control character"
    } else if name.len() > NAME_MAX {
        "it is longer than 255 bytes"
    } else {
        return Ok(());
    };
    Err(Error::InvalidArgument {
        what: "pin name",
        value: name.to_string(),
        why: format!("{why} (a name is one path component)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PlanBuilder {
        Plan::builder("/run", "pod")
    }

    #[test]
    fn orders_user_first_and_tracks_sources() {
        let plan = base()
            .create(Kind::Net)
            .host(Kind::Uts)
            .create(Kind::User)
            .uid_map("0-100000-65536".parse().unwrap())
            .gid_map("0-100000-65536@".parse().unwrap())
            .build()
            .unwrap();
        assert_eq!(
            plan.kinds(),
            [
                (Kind::User, Source::New),
                (Kind::Uts, Source::Host),
                (Kind::Net, Source::New)
            ]
        );
        assert!(plan.new_kinds().contains(Kind::User));
        assert!(!plan.new_kinds().contains(Kind::Uts));
    }

    #[test]
    fn refuses_bad_names() {
        let long = "x".repeat(256);
        for name in [
            "",
            ".",
            "..",
            "a/b",
            "/",
            "a\0b",
            "a\nb",
            "a\tb",
            "\x1b[31m",
            "a\u{85}b",
            long.as_str(),
        ] {
            assert!(
                Plan::builder("/run", name)
                    .create(Kind::Net)
                    .build()
                    .is_err(),
                "{name:?}"
            );
        }
        assert!(
            Plan::builder("/run", "x".repeat(255))
                .create(Kind::Net)
                .build()
                .is_ok()
        );
        assert!(
            Plan::builder("/run", "...")
                .create(Kind::Net)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn refuses_inconsistent_requests() {
        let map = || "0-100000-65536".parse::<IdMap>().unwrap();
        let sysctl = |s: &str| s.parse::<Sysctl>().unwrap();
        let cases = [
            base(),
            base().create(Kind::User),
            base().create(Kind::User).uid_map(map()),
            base().create(Kind::Net).uid_map(map()).gid_map(map()),
            base()
                .host(Kind::Net)
                .sysctl(sysctl("net.ipv4.ip_forward=1")),
            base().create(Kind::Net).sysctl(sysctl("kernel.shmmax=1")),
            base().create(Kind::Ipc).sysctl(sysctl("kernel.hostname=x")),
            base()
                .create(Kind::Net)
                .from_pid(1)
                .sysctl(sysctl("net.ipv4.ip_forward=1")),
            base().host(Kind::Net).from_pid(1),
            base().create(Kind::Net).from_pid(0),
            base().create(Kind::Net).monotonic(5),
            base().host(Kind::Net).loopback(true),
            base().create(Kind::Net).host(Kind::Net),
        ];
        for case in cases {
            let shown = format!("{case:?}");
            let err = case.build().expect_err(&shown);
            assert!(err.is_invalid(), "{shown}: {err}");
        }
    }

    #[test]
    fn time_offsets_render_for_the_kernel() {
        let plan = base()
            .create(Kind::Time)
            .monotonic(-5)
            .boottime(1000)
            .build()
            .unwrap();
        assert_eq!(
            plan.time_offsets.unwrap().to_str().unwrap(),
            "monotonic -5 0\nboottime 1000 0\n"
        );
    }
}
