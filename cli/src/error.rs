//! The command line's one error type: what the library answered, or what
//! the command line itself could not do (write its output, print JSON,
//! read a line the definition accepts but a command cannot run). Every
//! one prints as one line, `pinns: what failed: why`.

use std::fmt;

/// What went wrong in a command.
#[derive(Debug)]
pub enum Error {
    /// The library's answer, printed in its words with the command
    /// line's flags and hints ([`explain`]).
    Library(pinns::Error),
    /// The line is well-formed but asks for nothing a command can do: a
    /// usage error (exit status 2), and nothing was touched.
    Usage(String),
    /// Writing to a standard stream failed: `what` names the write.
    Io {
        /// The write, e.g. `writing to standard output`.
        what: &'static str,
        /// What the kernel answered.
        err: std::io::Error,
    },
    /// A failure of the command line's own, in words.
    Failed(String),
    /// Several failures, every one of them attempted.
    Many(Vec<Error>),
}

/// The command line's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether this is a usage error (exit status 2) rather than a failure.
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Usage(_) => true,
            Error::Library(e) => e.is_invalid(),
            _ => false,
        }
    }

    /// Whether this is a write into a pipe whose reader has gone.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, Error::Io { err, .. } if err.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// `errors` as one error, or `Ok` when there are none.
    pub fn collect(mut errors: Vec<Error>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }
}

impl From<pinns::Error> for Error {
    fn from(e: pinns::Error) -> Error {
        Error::Library(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Library(e) => f.write_str(&explain(e)),
            Error::Usage(msg) | Error::Failed(msg) => f.write_str(msg),
            Error::Io { what, err } => write!(f, "{what}: {}", describe(err)),
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
            Error::Library(e) => Some(e),
            Error::Io { err, .. } => Some(err),
            _ => None,
        }
    }
}

/// The one line `pinns` prints for the library's `err`: the library's
/// message, with the command line's flags named where the library speaks of
/// what they set, and its hints.
pub fn explain(err: &pinns::Error) -> String {
    match err {
        pinns::Error::InvalidPlan(conflict) => match conflict {
            pinns::Conflict::NoKinds => format!("{err}: name at least one (for example --net)"),
            pinns::Conflict::HostWithProcess(kind) => {
                format!("--{kind}=host cannot be combined with --from-pid")
            }
            pinns::Conflict::SettingsOnExisting => {
                "--from-pid pins existing namespaces: sysctls and \
                                             id mappings cannot be applied to them"
                    .into()
            }
            pinns::Conflict::SetUpOnExisting => {
                "--from-pid pins existing namespaces: --loopback and \
                                          time offsets cannot be applied to them"
                    .into()
            }
            pinns::Conflict::ZeroPid => "--from-pid needs a process id above 0".into(),
            pinns::Conflict::UserWithoutMaps => {
                "a new user namespace (--user) needs both --uid-mapping and --gid-mapping".into()
            }
            pinns::Conflict::MapsWithoutUser => {
                "--uid-mapping and --gid-mapping need a new user namespace (--user)".into()
            }
            pinns::Conflict::SysctlNotNew { owner, .. } => format!("{err}; add --{owner}"),
            pinns::Conflict::OffsetsWithoutTime => {
                "--monotonic and --boottime need a new time namespace (--time)".into()
            }
            pinns::Conflict::LoopbackWithoutNet => {
                "--loopback needs a new network namespace (--net)".into()
            }
            _ => err.to_string(),
        },
        pinns::Error::AlreadyPinned { .. } => format!("{err} (unpin it first)"),
        pinns::Error::Unsupported {
            feature: pinns::Feature::PidfdChildPidNamespace,
            ..
        } => format!("{err}; --from-pid can still pin the pid namespace of a running process"),
        pinns::Error::Many(errors) => errors.iter().map(explain).collect::<Vec<_>>().join("; "),
        _ => err.to_string(),
    }
}

/// The C library's description of an I/O error, without Rust's
/// "(os error N)" suffix: `Permission denied`, as the library words an
/// errno.
pub fn describe(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_io_error_reads_as_one_line_without_its_number() {
        let e = Error::Io {
            what: "writing to standard output",
            err: std::io::Error::from_raw_os_error(libc::EPIPE),
        };
        assert_eq!(e.to_string(), "writing to standard output: Broken pipe");
        assert!(e.is_closed_pipe());
        assert!(!e.is_usage());
    }

    #[test]
    fn the_library_s_words_get_the_command_line_s_flags_and_hints() {
        let pinned = Error::from(pinns::Error::AlreadyPinned {
            path: "/run/netns/a".into(),
        });
        assert_eq!(
            pinned.to_string(),
            "pinning at /run/netns/a: already pinned (unpin it first)"
        );
        assert!(!pinned.is_usage());
        let loopback = Error::from(pinns::Error::InvalidPlan(
            pinns::Conflict::LoopbackWithoutNet,
        ));
        assert_eq!(
            loopback.to_string(),
            "--loopback needs a new network namespace (--net)"
        );
        assert!(loopback.is_usage());
        assert!(std::error::Error::source(&loopback).is_some());
    }

    #[test]
    fn several_failures_read_as_one_line() {
        let e = Error::collect(vec![
            Error::Failed("one".into()),
            Error::Usage("two".into()),
        ])
        .unwrap_err();
        assert_eq!(e.to_string(), "one; two");
    }
}
