//! Starting programs, reading what they print, and judging how they ended.
//!
//! Every run of the pinns binary starts from [`pinns_command`] (or
//! [`pinns_command_via`] when a tool such as `strace` or `setpriv` runs it),
//! so that what every test's pinns runs under is decided in one place.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::procs::kill_group;

/// The binary under test.
pub const PINNS: &str = env!("CARGO_BIN_EXE_pinns");

/// Longest any one command may run before the test kills it and fails: a
/// guard against a hang, not a measure of speed.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The one place a test's pinns is started: `pinns` with no arguments yet.
pub fn pinns_command() -> Command {
    launch(Command::new(PINNS))
}

/// `TOOL TOOL_ARGS... pinns`, for a tool that runs pinns itself (`strace`,
/// `setpriv`): started the same way as [`pinns_command`].
pub fn pinns_command_via(tool: &str, tool_args: &[&str]) -> Command {
    let mut cmd = Command::new(tool);
    cmd.args(tool_args).arg(PINNS);
    launch(cmd)
}

/// What every start of pinns shares.
fn launch(mut cmd: Command) -> Command {
    cmd.stdin(Stdio::null());
    cmd
}

/// How a command ended, with what it printed.
#[derive(Debug)]
pub struct Out {
    /// The command, for messages.
    pub what: String,
    /// Its pid, also its process group's id.
    pub pid: u32,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Out {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    fn describe(&self) -> String {
        format!(
            "{}: {}\nstdout: {}\nstderr: {}",
            self.what,
            self.status,
            self.stdout_text(),
            self.stderr_text()
        )
    }

    /// Asserts exit 0.
    pub fn assert_success(self) -> Out {
        assert!(self.status.success(), "{}", self.describe());
        self
    }

    /// Asserts exit 0 with nothing printed on either stream.
    pub fn assert_silent_success(self) -> Out {
        let out = self.assert_success();
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "{}: printed on success",
            out.describe()
        );
        out
    }

    /// Asserts a refusal: exit `code` exactly, nothing on stdout, and one
    /// line on stderr starting `pinns: `.
    pub fn assert_refused(self, code: i32) -> Out {
        let err = self.stderr_text();
        assert_eq!(self.code(), Some(code), "{}", self.describe());
        assert!(
            err.starts_with("pinns: ") && err.ends_with('\n') && err.lines().count() == 1,
            "{}: wanted one line starting `pinns: `",
            self.describe()
        );
        assert!(
            self.stdout.is_empty(),
            "{}: printed on stdout",
            self.describe()
        );
        self
    }

    /// Asserts that stderr contains `needle`.
    pub fn assert_says(self, needle: &str) -> Out {
        assert!(
            self.stderr_text().contains(needle),
            "{}: stderr lacks {needle:?}",
            self.describe()
        );
        self
    }
}

/// Runs `cmd` (stdin from /dev/null, stdout and stderr piped, in a process
/// group of its own) and reads both pipes to end of file; after `timeout`
/// kills the group and says so.
pub fn try_run(cmd: &mut Command, timeout: Duration) -> Result<Out, String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    let pgid = child.id() as i32;
    let deadline = Instant::now() + timeout;
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let drained = drain(&[out.as_fd(), err.as_fd()], deadline);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(1)),
            Ok(None) => break Err(format!("{what}: still running after {timeout:?}, killed")),
            Err(e) => break Err(format!("{what}: wait: {e}")),
        }
    };
    let (bufs, status) = match (drained, status) {
        (Ok(bufs), Ok(status)) => (bufs, status),
        (Err(e), _) | (_, Err(e)) => {
            kill_group(pgid);
            let _ = child.wait();
            return Err(format!("{what}: {e}"));
        }
    };
    let [stdout, stderr]: [Vec<u8>; 2] = bufs.try_into().expect("two pipes");
    Ok(Out {
        what,
        pid: pgid as u32,
        status,
        stdout,
        stderr,
    })
}

/// [`try_run`] within [`TIMEOUT`], failing the test on a hang.
pub fn run(cmd: &mut Command) -> Out {
    try_run(cmd, TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
}

/// [`run`], asserting exit 0.
pub fn must(cmd: &mut Command) -> Out {
    run(cmd).assert_success()
}

/// Runs a clean-up command: a failure is reported on stderr, never fatal
/// (a guard must go on undoing the rest).
pub fn run_for_cleanup(cmd: &mut Command) -> bool {
    match try_run(cmd, TIMEOUT) {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            eprintln!("cleanup: {}", out.describe());
            false
        }
        Err(e) => {
            eprintln!("cleanup: {e}");
            false
        }
    }
}

/// Runs pinns with exactly `args`.
pub fn pinns<S: AsRef<OsStr>>(args: &[S]) -> Out {
    run(pinns_command().args(args))
}

/// The subcommands that take `-d DIR` after their name.
const SUBCOMMANDS: [&str; 5] = ["pin", "unpin", "list", "exec", "prune"];

/// `pinns ARGS` with `-d DIR` added after the subcommand (if any):
/// `command_in(dir, &["unpin", "-f", "x"])`, `command_in(dir, &["-f", "x", "--net"])`.
pub fn command_in<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Command {
    let mut cmd = pinns_command();
    let sub = args
        .first()
        .and_then(|a| a.as_ref().to_str())
        .filter(|a| SUBCOMMANDS.contains(a));
    let rest = match sub {
        Some(sub) => {
            cmd.arg(sub);
            &args[1..]
        }
        None => args,
    };
    cmd.arg("-d").arg(dir).args(rest);
    cmd
}

/// Runs [`command_in`].
pub fn pinns_in<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Out {
    run(&mut command_in(dir, args))
}

/// Runs a command and returns its stdout, asserting success.
pub fn sh(cmd: &str, args: &[&str]) -> String {
    must(Command::new(cmd).args(args)).stdout_text()
}

pub fn stdout(out: &Out) -> String {
    out.stdout_text()
}

pub fn stderr(out: &Out) -> String {
    out.stderr_text()
}

/// Asserts a failure with `code` and exactly one stderr line `pinns: ...`
/// (stdout may hold what was done before the failure: `prune`'s
/// `removed PATH` lines); returns that line.
pub fn assert_one_line_failure(out: &Out, code: i32) -> String {
    let err = out.stderr_text();
    assert_eq!(out.code(), Some(code), "{}", out.describe());
    assert!(
        err.starts_with("pinns: ") && err.lines().count() == 1,
        "{}: wanted one line starting `pinns: `",
        out.describe()
    );
    err
}

/// True when a test may rewrite the committed file the variable `var`
/// names (`PINNS_UPDATE_MAN=1` and the like); a test in CI (`CI` set, as
/// CI services set it) refuses, since it would then compare a file with
/// itself.
pub fn update_mode(var: &str) -> bool {
    let set = std::env::var_os(var).is_some();
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !(set && ci),
        "{var} is set under CI: the test would write the expected file and pass by \
         construction; unset {var} (it is for a developer refreshing the file)"
    );
    set
}

/// How a run ended, in words: `exit 1`, `killed by signal 9`.
pub fn how_ended(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => format!("{status}"),
    }
}

/// Reads `fds` until every one is at end of file, or fails at `deadline`
/// (a descendant still holding one open).
pub fn drain(fds: &[BorrowedFd<'_>], deadline: Instant) -> Result<Vec<Vec<u8>>, String> {
    let mut bufs = vec![Vec::new(); fds.len()];
    let mut open: Vec<bool> = vec![true; fds.len()];
    while open.iter().any(|o| *o) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("a pipe stayed open: some process still holds it".into());
        }
        let mut pfds: Vec<libc::pollfd> = fds
            .iter()
            .zip(&open)
            .map(|(fd, o)| libc::pollfd {
                fd: if *o { fd.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = left.as_millis().clamp(1, 500) as libc::c_int;
        // SAFETY: `pfds` is a valid array of pollfd for its length.
        if unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) } < 0 {
            continue; // EINTR
        }
        for (i, p) in pfds.iter().enumerate() {
            if p.fd < 0 || p.revents == 0 {
                continue;
            }
            let mut chunk = [0u8; 4096];
            // SAFETY: reading into a stack buffer of the given length.
            let r = unsafe { libc::read(p.fd, chunk.as_mut_ptr().cast(), chunk.len()) };
            if r <= 0 {
                open[i] = false;
            } else {
                bufs[i].extend_from_slice(&chunk[..r as usize]);
            }
        }
    }
    Ok(bufs)
}
