//! The command line's one error type: what the library answered, or what
//! the command line itself could not do (write its output, print JSON,
//! read a line the definition accepts but a command cannot run). Every
//! one prints as one line, `pinns: what failed: why`.

use std::fmt;

/// What went wrong in a command.
#[derive(Debug)]
pub enum Error {
    /// The library's answer, printed as it words it.
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
            Error::Library(e) => e.is_usage(),
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
            Error::Library(e) => write!(f, "{e}"),
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

impl std::error::Error for Error {}

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
    fn several_failures_read_as_one_line() {
        let e = Error::collect(vec![
            Error::Failed("one".into()),
            Error::Usage("two".into()),
        ])
        .unwrap_err();
        assert_eq!(e.to_string(), "one; two");
    }
}
