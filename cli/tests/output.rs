//! What the binary writes, and what happens when it cannot: a report into a
//! closed pipe, output a reader stopped reading, an empty argv, and the
//! help a person reads.

mod common;

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

use common::{
    Out, PINNS, PinDir, ns_mounts_under, pin_files_under, pinns, pinns_command, pinns_command_via,
    run,
};

/// A pipe's write end whose read end is already closed: every write to it
/// fails with `EPIPE` (or raises SIGPIPE), whatever the timing.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are new and owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    write
}

/// Runs the binary with `args`, its standard output a closed pipe.
fn into_closed_pipe(args: &[&str]) -> Out {
    let out = pinns_command()
        .args(args)
        .stdout(closed_pipe())
        .output()
        .expect("run pinns");
    Out {
        what: format!("pinns {args:?} > a closed pipe"),
        pid: 0,
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

#[test]
fn a_report_that_cannot_be_written_undoes_the_pins_and_exits_1() {
    for report in ["--json", "-v"] {
        let dir = PinDir::new();
        let path = dir.path().to_str().unwrap();
        let out = into_closed_pipe(&["-d", path, "-f", "p", "--net", "--ipc", "--uts", report]);
        // Killed by SIGPIPE, it would have no exit code and leave the pins.
        out.assert_refused(1)
            .assert_says("writing to standard output: Broken pipe");
        assert!(
            ns_mounts_under(dir.path()).is_empty(),
            "{report}: pins left"
        );
        assert_eq!(pin_files_under(dir.path()), Vec::<PathBuf>::new());
    }
}

#[test]
fn other_output_into_a_closed_pipe_ends_quietly_with_0() {
    let dir = PinDir::new();
    dir.must(&["-f", "p", "--uts"]);
    let path = dir.path().to_str().unwrap();
    for args in [
        &["completions", "bash"][..],
        &["list", "-d", path],
        &["list", "-d", path, "--json"],
        &["--help"],
    ] {
        into_closed_pipe(args).assert_silent_success();
    }
    // The pin is still there: only its listing went unread.
    assert_eq!(ns_mounts_under(dir.path()).len(), 1);
}

#[test]
fn completions_into_head_exit_0_quietly() {
    // `bash -c SCRIPT PINNS`: the script's $0 is the binary.
    let script = "set -o pipefail; \"$0\" completions bash | head -1";
    let out = run(&mut pinns_command_via("bash", &["-c", script])).assert_success();
    assert_eq!(out.stderr_text(), "");
    assert_eq!(out.stdout_text().lines().count(), 1);
}

#[test]
fn a_command_exec_runs_has_sigpipe_at_its_default() {
    let dir = PinDir::new();
    dir.must(&["-f", "p", "--uts"]);
    let out = dir.must(&[
        "exec",
        "-f",
        "p",
        "--",
        "grep",
        "^SigIgn:",
        "/proc/self/status",
    ]);
    let text = out.stdout_text();
    let mask = text.trim().trim_start_matches("SigIgn:").trim();
    let mask = u64::from_str_radix(mask, 16).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(
        mask & 1 << (libc::SIGPIPE - 1),
        0,
        "SIGPIPE ignored: {text}"
    );
}

#[test]
fn an_empty_argv_is_no_arguments() {
    // posix_spawn with an argv of no words at all, which no Command can
    // make: the kernel hands the program an empty name and nothing else
    // (Linux 5.18+), and pinns reads that as a pin with no name.
    let program = std::ffi::CString::new(PINNS).unwrap();
    let argv: [*mut libc::c_char; 1] = [std::ptr::null_mut()];
    let envp: [*mut libc::c_char; 1] = [std::ptr::null_mut()];
    let mut pid = 0;
    // SAFETY: the path is NUL-terminated and argv and envp are
    // NULL-terminated arrays, all alive across the call.
    let r = unsafe {
        libc::posix_spawn(
            &mut pid,
            program.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            argv.as_ptr(),
            envp.as_ptr(),
        )
    };
    assert_eq!(
        r,
        0,
        "posix_spawn: {}",
        std::io::Error::from_raw_os_error(r)
    );
    let mut status = 0;
    // SAFETY: waits for the child just spawned, writing its status here.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    // A panic would abort (signal 6); a pin without a name is a usage error.
    assert!(libc::WIFEXITED(status), "status {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), 2);
}

/// Every help text the binary prints, `-h` and `--help`, of every command.
fn helps() -> Vec<(String, String)> {
    let mut all = Vec::new();
    for sub in ["", "pin", "unpin", "list", "exec", "prune", "completions"] {
        for flag in ["-h", "--help"] {
            let args: Vec<&str> = [sub, flag].into_iter().filter(|a| !a.is_empty()).collect();
            let out = pinns(&args).assert_success();
            all.push((args.join(" "), out.stdout_text()));
        }
    }
    all
}

#[test]
fn help_fits_100_columns_and_lists_each_flag_once() {
    for (args, text) in helps() {
        for line in text.lines() {
            assert!(
                line.chars().count() <= 100,
                "pinns {args}: a line of {} columns:\n{line}",
                line.chars().count()
            );
        }
        assert!(
            !text.contains("ossible values"),
            "pinns {args} shows a value list:\n{text}"
        );
        if ["-h", "--help", "pin -h", "pin --help"].contains(&args.as_str()) {
            let net = text.lines().filter(|l| l.contains("-n, --net")).count();
            assert_eq!(net, 1, "pinns {args}:\n{text}");
            // The one value a namespace flag takes is a literal, not a
            // placeholder.
            assert!(
                text.contains("-n, --net[=host]") && !text.contains("<host>"),
                "pinns {args}:\n{text}"
            );
            assert!(
                text.contains("0-100000-65536"),
                "pinns {args}: no mapping example:\n{text}"
            );
        }
    }
}
