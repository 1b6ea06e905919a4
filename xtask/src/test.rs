//! `cargo xtask test [ARGS...]`: the full suite, every part of it run even
//! when another fails, and every failure listed at the end.
//!
//! In order: the Debian packages the suite runs programs from are
//! installed when missing ([`crate::PACKAGES`]); the library is checked as
//! a program embedding it builds it ([`LIBRARY_CHECKS`]); every test is
//! built with the command line's feature `system-tests`, which adds the
//! tests plain `cargo test` leaves out (they need those packages, start
//! daemons, or install packages); then the unit tests of the library and
//! the command line, each file of `cli/tests/` and the doctests run, each as a `cargo test` of its own, so that one
//! failing stops none of the others. Last comes one line per step and a
//! list of every failure; the exit status is 1 if there was any.
//!
//! ARGS go to every `cargo test` (`cargo xtask test -- --test-threads=1`,
//! or a filter: `cargo xtask test unpin`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use crate::{cargo, install_packages, root};

/// The library (the `pinns` package, without the command line's
/// `pinns-cli`), as a runtime embedding it builds it: its example builds
/// (the library with it), and its documentation, as docs.rs builds it,
/// and the command line's have no warning (a broken or private link, a
/// missing doc): each is run with `RUSTDOCFLAGS=-D warnings`, which only
/// rustdoc reads.
const LIBRARY_CHECKS: &[&[&str]] = &[
    &["build", "-p", "pinns", "--example", "pin_pod"],
    &[
        "doc",
        "--no-deps",
        "-p",
        "pinns",
        "--lib",
        "--features",
        "serde",
    ],
    &["doc", "--no-deps", "-p", "pinns", "-p", "pinns-cli"],
];

/// The feature that builds the full suite's tests (cli/Cargo.toml). At
/// the checkout's root `cargo test` means both packages (the workspace's
/// default members), and the feature is the command line's.
const FULL: [&str; 2] = ["--features", "pinns-cli/system-tests"];

pub fn main(args: &[String]) -> Result<ExitCode, String> {
    install_packages()?;
    let mut report = Report::default();
    for check in LIBRARY_CHECKS {
        report.cargo(
            &format!("cargo {}", check.join(" ")),
            cargo()
                .args(*check)
                .current_dir(root())
                .env("RUSTDOCFLAGS", "-D warnings"),
        );
    }
    // Everything built at once, both cores busy; the steps below then only
    // run what is built. Nothing can run if this fails.
    let built = report.cargo(
        "build the tests",
        cargo()
            .args(["test", "--no-run"])
            .args(FULL)
            .args(args)
            .current_dir(root()),
    );
    if built {
        let test = || {
            let mut cmd = cargo();
            cmd.arg("test").args(FULL).current_dir(root());
            cmd
        };
        report.cargo(
            "unit tests (src/, cli/src/)",
            test().args(["--lib", "--examples"]).args(args),
        );
        for name in test_files(&root().join("cli/tests"))? {
            report.cargo(
                &format!("cli/tests/{name}.rs"),
                test().args(["--test", &name]).args(args),
            );
        }
        report.cargo("doctests", test().arg("--doc").args(args));
    }

    // Real kernels (`cargo xtask vm`) run here: after the cargo tests,
    // which check the checkout on this machine's kernel first, and before
    // the summary, which lists their failures with the rest. Not when ARGS
    // narrow the run to some tests.
    if built && args.is_empty() {
        eprintln!("xtask: real kernels");
        let started = Started::now();
        let failures = crate::vm::test_step().err().into_iter().collect();
        report.record("real kernels (5.10, 6.1, 6.12)", started, failures);
    }

    Ok(report.summary())
}

/// The test targets cargo finds in `cli/tests/`: each `NAME.rs` directly in it
/// (its subdirectories are modules the tests share).
fn test_files(dir: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    names.sort();
    Ok(names)
}

/// What each step came to.
#[derive(Default)]
pub struct Report {
    steps: Vec<Step>,
}

struct Step {
    name: String,
    secs: u64,
    /// CPU seconds (user and system) of the processes it ran: on a shared
    /// machine the wall time says more about the neighbours than about the
    /// step, this does not.
    cpu: u64,
    /// Empty when the step passed: else the tests that failed, or how the
    /// command ended when it named none.
    failures: Vec<String>,
}

impl Report {
    /// Runs `cmd` as the step `name`, its output passed through as it
    /// comes; libtest's `test NAME ... FAILED` lines on stdout name its
    /// failures. Returns whether it passed.
    pub fn cargo(&mut self, name: &str, cmd: &mut Command) -> bool {
        eprintln!("xtask: {name}");
        let started = Started::now();
        let failures = run_tee(cmd);
        let passed = failures.is_empty();
        self.record(name, started, failures);
        passed
    }

    /// Adds a step run some other way, started at `started`, with its
    /// failures (none: it passed).
    pub fn record(&mut self, name: &str, started: Started, failures: Vec<String>) {
        let step = Step {
            name: name.to_string(),
            secs: started.at.elapsed().as_secs(),
            cpu: children_cpu().saturating_sub(started.cpu),
            failures,
        };
        eprintln!("xtask: {}", step.line());
        self.steps.push(step);
    }

    /// Prints every step's line, then every failure, and gives the exit
    /// status: 1 when anything failed.
    fn summary(&self) -> ExitCode {
        let failed: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| !s.failures.is_empty())
            .collect();
        let total: u64 = self.steps.iter().map(|s| s.secs).sum();
        let cpu: u64 = self.steps.iter().map(|s| s.cpu).sum();
        eprintln!(
            "\nxtask: summary ({} steps, {total} s, {cpu} s of CPU)",
            self.steps.len()
        );
        for step in &self.steps {
            eprintln!("  {}", step.line());
        }
        if failed.is_empty() {
            eprintln!("xtask: all {} steps passed", self.steps.len());
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "xtask: {} of {} steps failed:",
            failed.len(),
            self.steps.len()
        );
        for step in failed {
            for failure in &step.failures {
                eprintln!("  {}: {failure}", step.name);
            }
        }
        ExitCode::FAILURE
    }
}

impl Step {
    fn line(&self) -> String {
        let verdict = if self.failures.is_empty() {
            "ok".to_string()
        } else {
            format!("FAILED ({})", self.failures.len())
        };
        format!(
            "{:<10} {:>5} s {:>5} s CPU  {}",
            verdict, self.secs, self.cpu, self.name
        )
    }
}

/// When a step started: the clock, and the CPU time of this process's
/// finished children.
#[derive(Clone, Copy)]
pub struct Started {
    at: Instant,
    cpu: u64,
}

impl Started {
    pub fn now() -> Started {
        Started {
            at: Instant::now(),
            cpu: children_cpu(),
        }
    }
}

/// `struct timeval`, as `struct rusage` begins with two of them.
#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}

/// `struct rusage` (x86_64 and every 64-bit Linux ABI): two timevals, then
/// fourteen longs this needs none of.
#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    rest: [i64; 14],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

/// CPU seconds, user and system, of every child (and their descendants)
/// this process has waited for so far.
fn children_cpu() -> u64 {
    const RUSAGE_CHILDREN: i32 = -1;
    let mut usage = Rusage {
        utime: Timeval { sec: 0, usec: 0 },
        stime: Timeval { sec: 0, usec: 0 },
        rest: [0; 14],
    };
    // SAFETY: `usage` is a valid, writable `struct rusage` for the call.
    if unsafe { getrusage(RUSAGE_CHILDREN, &mut usage) } != 0 {
        return 0;
    }
    let secs = |t: &Timeval| t.sec as f64 + t.usec as f64 / 1e6;
    (secs(&usage.utime) + secs(&usage.stime)).round() as u64
}

/// Runs `cmd`, copying its stdout to ours line by line and its stderr
/// straight through; returns its failures: the tests libtest reported
/// `FAILED`, or, when it named none, how the command ended.
fn run_tee(cmd: &mut Command) -> Vec<String> {
    let mut child = match cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) => return vec![format!("running {cmd:?}: {e}")],
    };
    let mut failed = Vec::new();
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let mut out = std::io::stdout();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let _ = out.write_all(&line);
                let _ = out.flush();
                let text = String::from_utf8_lossy(&line);
                if let Some(test) = text
                    .trim_end()
                    .strip_prefix("test ")
                    .and_then(|t| t.strip_suffix(" ... FAILED"))
                {
                    failed.push(test.to_string());
                }
            }
        }
    }
    match child.wait() {
        Ok(status) if status.success() => failed,
        Ok(status) if failed.is_empty() => vec![format!("{status}")],
        Ok(_) => failed,
        Err(e) => vec![format!("waiting for {cmd:?}: {e}")],
    }
}
