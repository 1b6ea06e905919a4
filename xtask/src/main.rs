//! `cargo xtask`: the project's test command and its helpers.
//!
//! - `cargo xtask test [ARGS...]`: the full suite ([`test`]). Plain `cargo
//!   test` is the hermetic part of it, which needs only root and the
//!   built binary.
//! - `cargo xtask setup`: only installs the Debian packages the full suite
//!   runs programs from ([`PACKAGES`]), when they are missing.
//! - `cargo xtask package deb|rpm`: the Debian package and the RPM
//!   ([`package`]), built with dpkg-deb and rpmbuild.
//! - `cargo xtask kernel RELEASE -- CMD...` runs CMD (and everything it
//!   starts) as on kernel RELEASE (`4.18`, `5.4`, `5.10`, `5.14`, `6.1`,
//!   `running`, or any `major.minor`): system calls, flags and ioctls newer
//!   than it fail as that kernel fails them. The profiles and the table
//!   behind them are in `cli/tests/common/kernel.rs`, shared with the tests.

mod package;
mod test;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The kernel profiles, one file for the tests and this command.
#[path = "../../cli/tests/common/kernel.rs"]
mod kernel;

/// `cargo xtask vm`: the tests on real kernels under QEMU.
mod vm;

/// Every Debian package the test suite runs a program from, with why.
const PACKAGES: &[(&str, &str)] = &[
    ("util-linux", "nsenter, unshare, setpriv, mount"),
    ("iproute2", "ip netns, ip link"),
    ("runc", "containers joining pins (cli/tests/e2e_pod.rs)"),
    ("busybox-static", "the containers' root filesystem"),
    ("podman", "cli/tests/neighbours.rs, docs/podman.sh"),
    ("containerd", "cli/tests/neighbours.rs, docs/containerd.sh"),
    (
        "containernetworking-plugins",
        "cli/tests/neighbours.rs, docs/cni.sh",
    ),
    ("iptables", "the CNI portmap plugin"),
    ("iputils-ping", "docs/cni.sh"),
    ("curl", "docs/cni.sh"),
    ("jq", "docs/cni.sh"),
    ("strace", "fault injection (cli/tests/faults.rs)"),
    ("mandoc", "man page lint (cli/tests/man.rs)"),
    ("groff-base", "man page lint (cli/tests/man.rs)"),
    ("man-db", "man -w, for the Debian package's test"),
    (
        "rpm",
        "rpmbuild, which builds the .rpm (cargo xtask package rpm), and \
         rpm -qp, -i --root and -e, which test it (cli/tests/package.rs)",
    ),
    (
        "bash-completion",
        "the Debian package's bash completion, loaded",
    ),
    ("zsh", "completion scripts, checked by each shell"),
    ("fish", "completion scripts, checked by each shell"),
    ("elvish", "completion scripts, checked by each shell"),
    ("gcc", "the linker cargo runs, and the bench's C programs"),
    (
        "qemu-system-x86",
        "Debian's kernels booted under QEMU (cargo xtask vm), with qboot",
    ),
    ("xz-utils", "6.12's kernel modules, unpacked for the guests"),
    ("zstd", "6.12's kernel image, unpacked to boot it directly"),
];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    let result = match task.as_deref() {
        Some("test") => test::main(&rest),
        Some("setup") => install_packages().map(|()| ExitCode::SUCCESS),
        Some("vm") => vm::main(&rest).map(|()| ExitCode::SUCCESS),
        Some("package") => package::main(&rest).map(|()| ExitCode::SUCCESS),
        Some("kernel") => as_kernel(&rest),
        _ => {
            eprintln!(
                "usage: cargo xtask test [CARGO TEST ARGS...] | cargo xtask setup \
                 | cargo xtask package deb|rpm [-o FILE] [--no-build] \
                 | cargo xtask kernel RELEASE -- CMD... | cargo xtask vm [5.10|6.1|6.12...]"
            );
            return ExitCode::from(2);
        }
    };
    result.unwrap_or_else(|err| {
        eprintln!("xtask: {err}");
        ExitCode::FAILURE
    })
}

/// The checkout's root: this crate lives in `xtask/`.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_path_buf()
}

/// Installs the missing Debian packages; nothing when all are there.
fn install_packages() -> Result<(), String> {
    let missing = missing_packages()?;
    if missing.is_empty() {
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        return Err(format!(
            "the tests run as root, and these Debian packages are missing: {}",
            missing.join(" ")
        ));
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    // Wait for another apt or dpkg run rather than fail at once.
    let lock = ["-o", "DPkg::Lock::Timeout=300", "-qq"];
    run(Command::new("apt-get").args(lock).arg("update"))?;
    run(Command::new("apt-get")
        .args(lock)
        .args(["install", "-y"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    let still = missing_packages()?;
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!("still missing after apt-get: {}", still.join(" ")))
    }
}

/// The packages of [`PACKAGES`] that dpkg does not have installed.
fn missing_packages() -> Result<Vec<String>, String> {
    let names: Vec<&str> = PACKAGES.iter().map(|(name, _)| *name).collect();
    // Unknown packages make dpkg-query exit 1; its output still lists the
    // known ones, so read the output whatever the status.
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${db:Status-Status}\n"])
        .args(&names)
        .output()
        .map_err(|e| format!("running dpkg-query (a Debian machine is needed): {e}"))?;
    let listed = String::from_utf8_lossy(&out.stdout);
    let installed: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.strip_suffix(" installed"))
        .map(|p| p.split(':').next().unwrap_or(p))
        .collect();
    Ok(names
        .into_iter()
        .filter(|n| !installed.contains(n))
        .map(str::to_string)
        .collect())
}

/// `kernel RELEASE [--] CMD...`: installs RELEASE's filter in this
/// (single-threaded) process, then becomes CMD, which inherits it.
fn as_kernel(args: &[String]) -> Result<ExitCode, String> {
    let usage = || "usage: cargo xtask kernel RELEASE -- CMD...".to_string();
    let (release, rest) = args.split_first().ok_or_else(usage)?;
    let rest = rest.strip_prefix(&["--".to_string()]).unwrap_or(rest);
    let (program, program_args) = rest.split_first().ok_or_else(usage)?;
    let profile = kernel::Profile::named(release)
        .ok_or_else(|| format!("not a kernel release: {release} (try 4.18, 6.1 or running)"))?;
    profile
        .install()
        .map_err(|e| format!("installing the {profile} profile: {e}"))?;
    let err = Command::new(program).args(program_args).exec();
    Err(format!("running {program}: {err}"))
}

/// The cargo running this, for the commands it starts.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `cmd`, its output going where ours goes.
fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("running {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

/// Runs `cmd` and returns its stdout; on failure, the error carries its
/// stderr too.
fn run_output(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("running {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{cmd:?} failed: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

unsafe extern "C" {
    fn geteuid() -> u32;
}
