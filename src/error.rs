//! The one error type of the library.
//!
//! Each variant is a decision a caller can make: a pin that is already
//! there, a path that holds something else, a kernel without a feature, a
//! system call that failed (its operation, the path it touched and the
//! errno). Messages are one line in the library's own words; a program
//! that wraps the library (the `pinns` command line) adds its own hints
//! when it prints them.

use std::fmt;
use std::io;
use std::path::PathBuf;

use rustix::io::Errno;

use crate::inspect::NotAPin;
use crate::ns::Kind;

/// What went wrong.
///
/// Match on the variants that decide what to do next, and print the rest:
/// [`Display`](fmt::Display) is one line naming the operation, the path
/// and the cause. New variants may be added, so a `match` needs a `_` arm.
///
/// ```no_run
/// use pinns::{Error, Kind, Plan};
///
/// # fn main() -> Result<(), Error> {
/// let plan = Plan::builder("/run", "pod-a").create(Kind::Net).build()?;
/// match pinns::pin(&plan) {
///     Ok(pins) => println!("pinned {} namespaces", pins.len()),
///     // Pinned by an earlier attempt of ours: keep it.
///     Err(Error::AlreadyPinned { path }) => println!("kept {}", path.display()),
///     Err(Error::NotAPin { path, why, .. }) => {
///         eprintln!("{} holds something else ({why}); left alone", path.display())
///     }
///     Err(Error::Unsupported { feature, .. }) => eprintln!("this kernel lacks {feature}"),
///     Err(e) if e.errno() == Some(libc::EPERM) => eprintln!("not privileged: {e}"),
///     Err(e) => return Err(e),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A value is malformed (a pin name, a sysctl, an id mapping): nothing
    /// was touched.
    InvalidArgument {
        /// What kind of value: `pin name`, `sysctl`, `id mapping`.
        what: &'static str,
        /// The value as given.
        value: String,
        /// Why it is refused.
        why: String,
    },
    /// The request's parts do not fit together: nothing was touched.
    InvalidPlan(Conflict),
    /// A namespace is already pinned at `path`; nothing was mounted over it.
    AlreadyPinned {
        /// The pin path.
        path: PathBuf,
    },
    /// Nothing is pinned at `path`.
    NoSuchPin {
        /// The pin path.
        path: PathBuf,
    },
    /// The pin file at `path` holds no namespace (an empty file left by
    /// a crash, or pre-created by CRI-O).
    StalePin {
        /// The pin path.
        path: PathBuf,
    },
    /// Something that is not a pin is at `path`; it was left alone.
    NotAPin {
        /// What was being done there.
        op: Operation,
        /// The pin path.
        path: PathBuf,
        /// What is there instead.
        why: NotAPin,
    },
    /// A type directory (`DIR/<type>ns`) is a symlink or a file; it is
    /// never followed.
    NotADirectory {
        /// The type directory.
        path: PathBuf,
    },
    /// No process has this id.
    NoSuchProcess {
        /// The process id.
        pid: u32,
    },
    /// A mount namespace cannot be pinned from inside itself: the kernel
    /// refuses the loop. Pin it from another mount namespace.
    OwnMountNamespace {
        /// The pin path.
        path: PathBuf,
    },
    /// More mounts are stacked on a pin than unpinning takes down.
    TooManyMounts {
        /// The pin path.
        path: PathBuf,
        /// How many were taken down before giving up.
        max: usize,
    },
    /// No pin of `name` under `dir` can be entered.
    NothingToEnter {
        /// The pin directory.
        dir: PathBuf,
        /// The pin name.
        name: String,
        /// Its only pin is a pid namespace with no process in it, skipped
        /// unless the pid type is asked for by name.
        unentered_pid: bool,
    },
    /// Entering namespaces needs a single-threaded process: `setns(2)`
    /// moves only the calling thread.
    MultiThreaded {
        /// How many threads the process has.
        threads: usize,
    },
    /// The kernel lacks what this needs; nothing of the call is left.
    Unsupported {
        /// The operation, e.g. `creating time namespace`.
        op: String,
        /// What is missing.
        feature: Feature,
    },
    /// The helper process that creates user, mount, pid and time
    /// namespaces stopped or answered out of protocol.
    Helper {
        /// What happened.
        why: String,
    },
    /// A system call failed.
    Os {
        /// The operation, in words, with the path it touched:
        /// `bind-mounting net namespace onto /run/netns/x`.
        op: String,
        /// The path the call touched, where there is one.
        path: Option<PathBuf>,
        /// The error: the kernel's errno where there is one
        /// ([`io::Error::raw_os_error`]).
        source: io::Error,
    },
    /// Several things failed while tearing down; all were attempted.
    Many(Vec<Error>),
}

/// What was being done when a path turned out not to be a pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Pinning a namespace there.
    Pin,
    /// Unpinning (unmounting and removing) it.
    Unpin,
    /// Entering the namespace pinned there.
    Enter,
}

/// A kernel feature some call needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Feature {
    /// A namespace type (its kernel configuration option, or a kernel
    /// older than the type: time namespaces need Linux 5.6).
    Namespace(Kind),
    /// The pidfd ioctl `PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE` (Linux
    /// 6.11), which pins a new pid namespace with no process in it. The
    /// pid namespace of a running process can still be pinned.
    PidfdChildPidNamespace,
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Feature::Namespace(kind) => write!(f, "{kind} namespaces ({})", kind.kernel_feature()),
            Feature::PidfdChildPidNamespace => {
                f.write_str("the pidfd ioctl PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE (Linux 6.11)")
            }
        }
    }
}

/// Why the parts of a [`Plan`](crate::Plan) do not fit together.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// The pin directory is the empty path.
    EmptyDir,
    /// No namespace type was asked for.
    NoKinds,
    /// A host namespace asked for beside a process's namespaces.
    HostWithProcess(Kind),
    /// One type asked for twice from different sources.
    Twice(Kind),
    /// Sysctls or id maps asked for on a process's existing namespaces.
    SettingsOnExisting,
    /// Loopback or time offsets asked for on a process's existing
    /// namespaces.
    SetUpOnExisting,
    /// Process id 0.
    ZeroPid,
    /// A new user namespace without both a uid and a gid mapping.
    UserWithoutMaps,
    /// Id mappings without a new user namespace.
    MapsWithoutUser,
    /// A sysctl of a namespace type that is not created anew: writing it
    /// would change the host's.
    SysctlNotNew {
        /// The sysctl's key.
        key: String,
        /// The type whose namespace it belongs to.
        owner: Kind,
    },
    /// Time offsets without a new time namespace.
    OffsetsWithoutTime,
    /// Loopback without a new network namespace.
    LoopbackWithoutNet,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::EmptyDir => f.write_str("the pin directory is empty"),
            Conflict::NoKinds => f.write_str("no namespace type given"),
            Conflict::HostWithProcess(kind) => write!(
                f,
                "the host's {kind} namespace cannot be combined with a process's namespaces"
            ),
            Conflict::Twice(kind) => {
                write!(f, "the {kind} namespace is asked for twice, differently")
            }
            Conflict::SettingsOnExisting => f.write_str(
                "a process's namespaces exist already: sysctls and id mappings cannot be applied \
                 to them",
            ),
            Conflict::SetUpOnExisting => f.write_str(
                "a process's namespaces exist already: loopback and time offsets cannot be \
                 applied to them",
            ),
            Conflict::ZeroPid => f.write_str("a process id must be above 0"),
            Conflict::UserWithoutMaps => {
                f.write_str("a new user namespace needs both a uid and a gid mapping")
            }
            Conflict::MapsWithoutUser => f.write_str("id mappings need a new user namespace"),
            Conflict::SysctlNotNew { key, owner } => write!(
                f,
                "sysctl {key} belongs to the {owner} namespace, which this call does not create \
                 anew (writing it would change the host's)"
            ),
            Conflict::OffsetsWithoutTime => f.write_str("time offsets need a new time namespace"),
            Conflict::LoopbackWithoutNet => f.write_str("loopback needs a new network namespace"),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Os`] for `op`, from the kernel's errno.
    pub(crate) fn os(op: impl Into<String>, errno: Errno) -> Error {
        Error::Os {
            op: op.into(),
            path: None,
            source: io::Error::from_raw_os_error(errno.raw_os_error()),
        }
    }

    /// An [`Error::Os`] for `op` on `path`, from the kernel's errno.
    pub(crate) fn os_at(op: impl Into<String>, path: impl Into<PathBuf>, errno: Errno) -> Error {
        Error::Os {
            op: op.into(),
            path: Some(path.into()),
            source: io::Error::from_raw_os_error(errno.raw_os_error()),
        }
    }

    /// An [`Error::Os`] for `op`, from a standard library I/O error.
    pub(crate) fn io(op: impl Into<String>, source: io::Error) -> Error {
        Error::Os {
            op: op.into(),
            path: None,
            source,
        }
    }

    /// This error, naming `path` as the one the failed call touched when
    /// it is a system call's and names none yet.
    pub(crate) fn at(mut self, at: impl Into<PathBuf>) -> Error {
        if let Error::Os {
            path: path @ None, ..
        } = &mut self
        {
            *path = Some(at.into());
        }
        self
    }

    /// Whether the request itself is malformed ([`Error::InvalidArgument`],
    /// [`Error::InvalidPlan`]): asking again unchanged cannot succeed, and
    /// nothing was touched.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Error::InvalidArgument { .. } | Error::InvalidPlan(_))
    }

    /// The errno behind an [`Error::Os`] (`libc::EPERM`, ...), if that is
    /// what this is and the kernel gave one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The path this error is about, where it names one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Error::AlreadyPinned { path }
            | Error::NoSuchPin { path }
            | Error::StalePin { path }
            | Error::NotAPin { path, .. }
            | Error::NotADirectory { path }
            | Error::OwnMountNamespace { path }
            | Error::TooManyMounts { path, .. } => Some(path),
            Error::NothingToEnter { dir, .. } => Some(dir),
            Error::Os { path, .. } => path.as_deref(),
            _ => None,
        }
    }

    /// Folds a list of teardown errors into one, or `Ok` when there are none.
    pub(crate) fn collect(mut errors: Vec<Error>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }
}

/// An I/O error's description without Rust's "(os error N)" suffix:
/// `Permission denied`.
fn describe(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument { what, value, why } => {
                write!(f, "invalid {what} '{}': {why}", value.escape_debug())
            }
            Error::InvalidPlan(conflict) => write!(f, "{conflict}"),
            Error::AlreadyPinned { path } => {
                write!(f, "pinning at {}: already pinned", path.display())
            }
            Error::NoSuchPin { path } => write!(f, "{}: no such pin", path.display()),
            Error::StalePin { path } => write!(
                f,
                "{}: stale pin (no namespace is mounted there)",
                path.display()
            ),
            Error::NotAPin { op, path, why } => match op {
                Operation::Pin => write!(f, "pinning at {}: {why}", path.display()),
                Operation::Unpin => {
                    write!(
                        f,
                        "removing {}: not a pin (left alone): {why}",
                        path.display()
                    )
                }
                Operation::Enter => write!(f, "{}: not a pin: {why}", path.display()),
            },
            Error::NotADirectory { path } => write!(
                f,
                "opening {}: not a directory (a symlink or a file is never followed)",
                path.display()
            ),
            Error::NoSuchProcess { pid } => write!(f, "process {pid}: no such process"),
            Error::OwnMountNamespace { path } => write!(
                f,
                "bind-mounting mnt namespace onto {}: a mount namespace cannot be pinned from \
                 inside itself (the kernel refuses the loop); pin it from another mount namespace",
                path.display()
            ),
            Error::TooManyMounts { path, max } => write!(
                f,
                "unmounting {}: more than {max} mounts are stacked there",
                path.display()
            ),
            Error::NothingToEnter {
                dir,
                name,
                unentered_pid: true,
            } => write!(
                f,
                "nothing to enter of '{name}' under {}: its only pin, a pid namespace, has no \
                 process in it (name the pid type to enter it anyway)",
                dir.display()
            ),
            Error::NothingToEnter { dir, name, .. } => {
                write!(f, "no pins named '{name}' under {}", dir.display())
            }
            Error::MultiThreaded { threads } => write!(
                f,
                "entering pinned namespaces: this process has {threads} threads, and setns(2) \
                 moves only the calling one; enter them from a single-threaded process (a child \
                 about to exec)"
            ),
            Error::Unsupported {
                op,
                feature: Feature::Namespace(kind),
            } => write!(
                f,
                "{op}: this kernel does not support it (needs {})",
                kind.kernel_feature()
            ),
            Error::Unsupported { op, feature } => write!(f, "{op}: this kernel lacks {feature}"),
            Error::Helper { why } => write!(f, "creating namespaces in a helper process: {why}"),
            Error::Os { op, source, .. } => write!(f, "{op}: {}", describe(source)),
            Error::Many(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Os { source, .. } => Some(source),
            // The first of several: the rest are in the list.
            Error::Many(errors) => errors.first().map(|e| e as _),
            _ => None,
        }
    }
}

/// Runs a system call again for as long as it fails with `EINTR`.
///
/// pinns installs no signal handlers, but a program calling the library
/// may, and then a signal arriving while a call blocks (`flock`, a read or
/// write on the helper's pipes, waiting for the helper) makes it fail with
/// `EINTR` though nothing went wrong. Async-signal-safe.
pub(crate) fn restart<T>(mut call: impl FnMut() -> rustix::io::Result<T>) -> rustix::io::Result<T> {
    loop {
        match call() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Attaches the operation to a raw syscall result.
pub(crate) trait Context<T> {
    /// Names the operation that failed, computed only on failure.
    fn with(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for rustix::io::Result<T> {
    fn with(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|errno| Error::os(what(), errno))
    }
}

impl<T> Context<T> for io::Result<T> {
    fn with(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(what(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn os_error_reads_as_one_line_and_keeps_its_errno() {
        let e = Error::os_at(
            "bind-mounting net namespace onto /run/netns/x",
            "/run/netns/x",
            Errno::ACCESS,
        );
        assert_eq!(
            e.to_string(),
            "bind-mounting net namespace onto /run/netns/x: Permission denied"
        );
        assert_eq!(e.errno(), Some(libc::EACCES));
        assert_eq!(e.path(), Some(std::path::Path::new("/run/netns/x")));
        let source = e.source().expect("an Os error has a source");
        let io = source.downcast_ref::<io::Error>().expect("an io::Error");
        assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
        // A caller that knows the path names it where the call did not,
        // and never overrides the call's own.
        let named = Error::os("unmounting", Errno::BUSY).at("/run/netns/y");
        assert_eq!(named.path(), Some(std::path::Path::new("/run/netns/y")));
        let kept = e.at("/elsewhere");
        assert_eq!(kept.path(), Some(std::path::Path::new("/run/netns/x")));
    }

    #[test]
    fn callers_match_on_what_they_decide() {
        let pinned = Error::AlreadyPinned {
            path: "/run/netns/a".into(),
        };
        let verdict = |e: &Error| match e {
            Error::AlreadyPinned { path } => format!("keep {}", path.display()),
            Error::NotAPin {
                why: NotAPin::Symlink,
                ..
            } => "a symlink".into(),
            Error::Unsupported {
                feature: Feature::Namespace(Kind::Time),
                ..
            } => "no time".into(),
            Error::InvalidPlan(Conflict::SysctlNotNew { owner, .. }) => format!("add {owner}"),
            _ => "other".into(),
        };
        assert_eq!(verdict(&pinned), "keep /run/netns/a");
        let symlink = Error::NotAPin {
            op: Operation::Unpin,
            path: "/run/netns/a".into(),
            why: NotAPin::Symlink,
        };
        assert_eq!(verdict(&symlink), "a symlink");
        assert_eq!(
            symlink.to_string(),
            "removing /run/netns/a: not a pin (left alone): a symlink"
        );
        let no_time = Error::Unsupported {
            op: "creating time namespace".into(),
            feature: Feature::Namespace(Kind::Time),
        };
        assert_eq!(verdict(&no_time), "no time");
        assert_eq!(
            no_time.to_string(),
            "creating time namespace: this kernel does not support it \
             (needs CONFIG_TIME_NS (Linux 5.6))"
        );
        let sysctl = Error::InvalidPlan(Conflict::SysctlNotNew {
            key: "net.ipv4.ip_forward".into(),
            owner: Kind::Net,
        });
        assert_eq!(verdict(&sysctl), "add net");
        assert!(sysctl.is_invalid() && !pinned.is_invalid());
        assert_eq!(pinned.errno(), None);
    }

    #[test]
    fn no_message_names_a_command_line_flag() {
        let errors = [
            Error::InvalidPlan(Conflict::NoKinds),
            Error::InvalidPlan(Conflict::ZeroPid),
            Error::InvalidPlan(Conflict::HostWithProcess(Kind::Net)),
            Error::InvalidPlan(Conflict::LoopbackWithoutNet),
            Error::InvalidPlan(Conflict::UserWithoutMaps),
            Error::InvalidPlan(Conflict::SysctlNotNew {
                key: "kernel.hostname".into(),
                owner: Kind::Uts,
            }),
            Error::AlreadyPinned { path: "/x".into() },
            Error::NoSuchProcess { pid: 1 },
            Error::Unsupported {
                op: "pinning a new pid namespace".into(),
                feature: Feature::PidfdChildPidNamespace,
            },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains("--") && !text.contains("pinns"), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn teardown_keeps_every_error_and_the_first_as_source() {
        let many = Error::collect(vec![
            Error::os("unmounting /a", Errno::BUSY),
            Error::os("removing /b", Errno::PERM),
        ])
        .unwrap_err();
        let Error::Many(list) = &many else {
            panic!("two errors fold into Many: {many:?}")
        };
        assert_eq!(list.len(), 2);
        assert_eq!(
            many.to_string(),
            "unmounting /a: Device or resource busy; removing /b: Operation not permitted"
        );
        assert!(many.source().is_some());
        assert!(Error::collect(Vec::new()).is_ok());
    }
}
