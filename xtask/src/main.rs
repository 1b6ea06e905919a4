//! `cargo xtask test [ARGS...]`: the project's one test command.
//!
//! The suite runs real programs from Debian's packages (runc, podman,
//! containerd, the CNI plugins, the shells whose completions it checks,
//! mandoc…). On a fresh Debian machine with only the Rust toolchain, this
//! installs whichever of those packages are missing (as root, with
//! apt-get), and cargo-deb and cargo-generate-rpm (which package pinns as
//! a `.deb` and an `.rpm`; not in Debian) under `target/tools`, inside the
//! checkout; then it checks the library as a program embedding it builds
//! it ([`LIBRARY_CHECKS`]), runs `cargo test ARGS...` and exits with the
//! first failure's status. `cargo xtask setup` only installs.
//!
//! `cargo xtask kernel RELEASE -- CMD...` runs CMD (and everything it
//! starts) as on kernel RELEASE (`4.18`, `5.4`, `5.10`, `5.14`, `6.1`,
//! `running`, or any `major.minor`): system calls, flags and ioctls newer
//! than it fail as that kernel fails them. The profiles and the table
//! behind them are in `cli/tests/common/kernel.rs`, shared with the
//! tests.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The kernel profiles, one file for the tests and this command.
#[path = "../../cli/tests/common/kernel.rs"]
mod kernel;

/// `cargo xtask vm`: the tests on real kernels under QEMU.
mod vm;

/// cargo-deb, one of the two cargo tools the tests run (cli/tests/package.rs),
/// at a fixed version, built without its optional debug-symbol support, and
/// unoptimised: that builds in a third of the time (about a minute on two
/// cores), and packaging takes the same second and a half (the
/// compression is liblzma's C either way).
const CARGO_DEB: &[&str] = &[
    "cargo-deb",
    "--version",
    "3.8.0",
    "--locked",
    "--debug",
    "--no-default-features",
    "--features",
    "lzma",
];

/// cargo-generate-rpm, the other (cli/tests/package.rs), at a fixed version,
/// unoptimised (about a minute on two cores; packaging still takes well
/// under a second). Its features are not optional: the compressors and
/// PGP signing always come along.
const CARGO_GENERATE_RPM: &[&str] = &[
    "cargo-generate-rpm",
    "--version",
    "0.21.1",
    "--locked",
    "--debug",
];

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
        "rpm -qp, -i --root and -e, for the RPM's test (cli/tests/package.rs)",
    ),
    (
        "bash-completion",
        "the Debian package's bash completion, loaded",
    ),
    ("zsh", "completion scripts, checked by each shell"),
    ("fish", "completion scripts, checked by each shell"),
    ("elvish", "completion scripts, checked by each shell"),
    ("gcc", "C programs the tests and the bench build"),
];

/// The library (the `pinns` package, without the command line's), as a
/// runtime embedding it builds it: it compiles, its example builds, and
/// its documentation, as docs.rs builds it, and the command line's have
/// no warning (a broken or private link, a missing doc): each is run with
/// `RUSTDOCFLAGS=-D warnings`, which only rustdoc reads.
const LIBRARY_CHECKS: &[&[&str]] = &[
    &["check", "-p", "pinns", "--lib"],
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
    &["doc", "--no-deps", "-p", "pinns-cli"],
];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    let result = match task.as_deref() {
        Some("test") => setup()
            .and_then(|()| check_library())
            .and_then(|()| cargo_test(&rest))
            // The real kernels come after the tests, whatever those said;
            // not when ARGS narrow the run to some tests.
            .and_then(|code| {
                rest.is_empty()
                    .then(vm::test_step)
                    .unwrap_or(Ok(()))
                    .map(|()| code)
            }),
        Some("vm") => vm::main(&rest).map(|()| ExitCode::SUCCESS),
        Some("setup") => setup().map(|()| ExitCode::SUCCESS),
        Some("kernel") => as_kernel(&rest),
        _ => {
            eprintln!(
                "usage: cargo xtask test [CARGO TEST ARGS...] | cargo xtask setup \
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

/// Installs what is missing; nothing when all is there.
fn setup() -> Result<(), String> {
    install_packages()?;
    install_tool("cargo-deb", CARGO_DEB)?;
    install_tool("cargo-generate-rpm", CARGO_GENERATE_RPM)
}

/// The checkout's root: this crate lives in `xtask/`.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_path_buf()
}

/// Installs the cargo tool `name` (`cargo install ARGS`) into
/// `target/tools`, where cli/tests/package.rs looks, unless it is there.
fn install_tool(name: &str, args: &[&str]) -> Result<(), String> {
    let tools = root().join("target/tools");
    if tools.join("bin").join(name).exists() {
        return Ok(());
    }
    eprintln!("xtask: installing {name} into {}", tools.display());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo)
        .args(["install", "--quiet", "--root"])
        .arg(&tools)
        .args(args))
}

/// Installs the missing Debian packages.
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

/// Runs [`LIBRARY_CHECKS`], stopping at the first that fails.
fn check_library() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for args in LIBRARY_CHECKS {
        run(Command::new(&cargo)
            .args(*args)
            .current_dir(root())
            .env("RUSTDOCFLAGS", "-D warnings"))?;
    }
    Ok(())
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

/// `cargo test ARGS` at the checkout's root, where it means the library and
/// the command line (the workspace's default members), wherever this runs.
fn cargo_test(args: &[String]) -> Result<ExitCode, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .arg("test")
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("running cargo test: {e}"))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("running {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

unsafe extern "C" {
    fn geteuid() -> u32;
}
