//! The one error type of the library.
//!
//! Every variant says what failed in words a node operator can act on:
//! the operation, the path it touched, and the errno, so that the command
//! line prints `pinns: <what failed>: <why>` and nothing else.

use std::fmt;

use rustix::io::Errno;

/// What went wrong.
#[derive(Debug)]
pub enum Error {
    /// The request is malformed (a usage error): nothing was touched.
    Invalid(String),
    /// The request is well-formed but cannot be honoured as it stands
    /// (an existing pin, a symlink where a pin file should be, a kernel
    /// without a feature). Nothing of this call is left behind.
    Refused(String),
    /// A system call failed: `what` names the operation and its path.
    Os {
        /// The operation, e.g. `bind-mounting net namespace onto /run/netns/x`.
        what: String,
        /// The error the kernel returned.
        errno: Errno,
    },
    /// Several things failed while tearing down; all were attempted.
    Many(Vec<Error>),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Os`] for `what`.
    pub fn os(what: impl Into<String>, errno: Errno) -> Error {
        Error::Os {
            what: what.into(),
            errno,
        }
    }

    /// Whether this is a usage error (exit status 2) rather than a failure.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Invalid(_))
    }

    /// The errno behind an [`Error::Os`], if that is what this is.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Os { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// Folds a list of teardown errors into one, or `Ok` when there are none.
    pub fn collect(mut errors: Vec<Error>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }
}

/// The C library's description of an errno, without Rust's
/// "(os error N)" suffix: `Permission denied`.
pub fn describe(errno: Errno) -> String {
    let text = std::io::Error::from_raw_os_error(errno.raw_os_error()).to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(msg) | Error::Refused(msg) => f.write_str(msg),
            Error::Os { what, errno } => write!(f, "{what}: {}", describe(*errno)),
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

impl std::error::Error for Error {}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_error_reads_as_one_line() {
        let e = Error::os(
            "bind-mounting net namespace onto /run/netns/x",
            Errno::ACCESS,
        );
        assert_eq!(
            e.to_string(),
            "bind-mounting net namespace onto /run/netns/x: Permission denied"
        );
    }
}
