//! Installing like a node tool (issue 14): the Debian package as a node
//! operator gets it, the crate as a registry takes it, and the completion
//! scripts the package ships kept in step with the command line.
//!
//! The package test builds the static binary (`cargo build-static`) and
//! the `.deb` (`cargo deb`, from the cargo-deb crate, which `cargo xtask
//! setup` installs under `target/tools`), installs it with
//! `dpkg -i`, uses it as a user would, and purges it; a guard purges it
//! even when the test fails. It refuses to run where a `pinns` package is
//! already installed: it would replace someone's install.
//!
//! After changing the command line, refresh the committed completions with
//!
//! ```sh
//! PINNS_UPDATE_COMPLETIONS=1 cargo test --test package
//! ```

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Where `cargo xtask setup` installs cargo-deb.
fn cargo_deb() -> PathBuf {
    let local = Path::new(ROOT).join("target/tools/bin/cargo-deb");
    assert!(
        local.exists(),
        "{} is missing: run `cargo xtask setup` (the README's test command does)",
        local.display()
    );
    local
}

/// Runs `cmd` to its end, asserting success. No time limit, unlike
/// `common::run`: a cargo build here takes minutes.
fn run_to_end(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn cargo() -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    // The checkout's own target directory: cargo lets go of it while the
    // tests run, and what the suite built for them is reused.
    cmd.current_dir(ROOT);
    cmd
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The completion scripts the package ships are what `pinns completions`
/// prints now.
#[test]
fn committed_completions_match_the_command_line() {
    let update = update_mode("PINNS_UPDATE_COMPLETIONS");
    for (shell, file) in [
        ("bash", "pinns.bash"),
        ("zsh", "_pinns"),
        ("fish", "pinns.fish"),
    ] {
        let out = run_to_end(pinns_command().args(["completions", shell]));
        let path = Path::new(ROOT).join("completions").join(file);
        if update {
            fs::write(&path, &out.stdout).unwrap();
        }
        let committed = fs::read(&path).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "completions/{file} is stale: run PINNS_UPDATE_COMPLETIONS=1 cargo test --test package"
        );
    }
}

/// Purges the package on drop if this test installed it.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg")
            .args(["--purge", "pinns"])
            .stdin(Stdio::null())
            .output();
    }
}

fn package_installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Status}", "pinns"])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout == b"installed")
}

/// Build the `.deb`, install it, use it, purge it: nothing of it is left.
#[test]
fn debian_package_installs_works_and_purges() {
    assert!(
        !package_installed() && !Path::new("/usr/bin/pinns").exists(),
        "a pinns package (or /usr/bin/pinns) is already installed here; \
         this test installs and purges its own, so it will not replace it"
    );
    let cargo_deb = cargo_deb();
    run_to_end(cargo().arg("build-static").arg("--quiet"));
    let out_dir = tempfile::tempdir().unwrap();
    let deb = out_dir.path().join("pinns.deb");
    run_to_end(
        cargo()
            .arg("--quiet")
            .env("PATH", path_with(cargo_deb.parent().unwrap()))
            .args(["deb", "--no-build", "--target", "x86_64-unknown-linux-gnu"])
            .arg("--output")
            .arg(&deb),
    );

    // What the package holds: no maintainer scripts, no conffiles (it
    // changes no configuration, CRI-O's least of all).
    let control = text(&run_to_end(
        Command::new("dpkg-deb").arg("--info").arg(&deb),
    ));
    for script in ["preinst", "postinst", "prerm", "postrm", "conffiles"] {
        assert!(
            !control.contains(script),
            "the package has {script}:\n{control}"
        );
    }
    let contents = text(&run_to_end(
        Command::new("dpkg-deb").arg("--contents").arg(&deb),
    ));
    assert!(!contents.contains("./etc/"), "{contents}");

    let _installed = Installed;
    run_to_end(Command::new("dpkg").arg("-i").arg(&deb));
    let files: Vec<PathBuf> = text(&run_to_end(Command::new("dpkg").args(["-L", "pinns"])))
        .lines()
        .map(PathBuf::from)
        .collect();
    for want in [
        "/usr/bin/pinns",
        "/usr/share/bash-completion/completions/pinns",
        "/usr/share/zsh/vendor-completions/_pinns",
        "/usr/share/fish/vendor_completions.d/pinns.fish",
        "/usr/share/doc/pinns/examples/crio.conf.d/10-pinns.conf",
        "/usr/share/doc/pinns/copyright",
    ] {
        assert!(
            files.iter().any(|f| f == Path::new(want)),
            "no {want}: {files:?}"
        );
    }
    assert!(
        files.iter().any(|f| f
            .to_string_lossy()
            .starts_with("/usr/share/doc/pinns/README")),
        "{files:?}"
    );

    // The binary: the static build, its version.
    let version = text(&run_to_end(Command::new("/usr/bin/pinns").arg("--version")));
    assert_eq!(
        version.trim(),
        format!("pinns {}", env!("CARGO_PKG_VERSION"))
    );
    let elf = fs::read("/usr/bin/pinns").unwrap();
    assert!(!contains(&elf, b"/lib64/ld-linux"), "not a static binary");

    // man finds every page; bash's completion loader finds the script.
    for page in [
        "pinns",
        "pinns-pin",
        "pinns-unpin",
        "pinns-list",
        "pinns-exec",
        "pinns-prune",
        "pinns-completions",
    ] {
        let out = run_to_end(Command::new("man").args(["-w", page]));
        assert!(
            text(&out).starts_with("/usr/share/man/man8/"),
            "{page}: {}",
            text(&out)
        );
    }
    let complete = text(&run_to_end(Command::new("bash").args([
        "-c",
        ". /usr/share/bash-completion/bash_completion && _completion_loader pinns; complete -p pinns",
    ])));
    assert!(complete.trim_end().ends_with(" pinns"), "{complete}");
    let words = text(&run_to_end(Command::new("bash").args([
        "-c",
        ". /usr/share/bash-completion/bash_completion && _completion_loader pinns; \
         COMP_WORDS=(pinns unp) COMP_CWORD=1 COMP_LINE='pinns unp' COMP_POINT=9 \
         && $(complete -p pinns | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p') pinns unp pinns \
         && printf '%s\\n' \"${COMPREPLY[@]}\"",
    ])));
    assert!(words.lines().any(|w| w == "unpin"), "{words}");

    // The installed binary pins and unpins a pod.
    let d = PinDir::new();
    let dir = d.path().to_str().unwrap();
    run_to_end(Command::new("/usr/bin/pinns").args([
        "-d",
        dir,
        "-f",
        "pod",
        "--net",
        "--ipc",
        "--uts",
        "--loopback",
    ]));
    for ty in ["net", "ipc", "uts"] {
        let pin = d.pin(ty, "pod");
        assert_ne!(inode(&pin), own_ns(ty), "{ty} pin is not a new namespace");
        ns_type(&pin);
    }
    run_to_end(Command::new("/usr/bin/pinns").args(["unpin", "-d", dir, "-f", "pod"]));
    assert!(pin_files_under(d.path()).is_empty());
    assert!(ns_mounts_under(d.path()).is_empty());

    // Purged, nothing of it is left.
    run_to_end(Command::new("dpkg").args(["--purge", "pinns"]));
    assert!(!package_installed());
    for f in &files {
        let kept = f.is_dir() && !f.starts_with("/usr/share/doc/pinns");
        assert!(kept || !f.exists(), "{} is left after purge", f.display());
    }
}

/// `cargo package` succeeds: the crate builds from what a registry gets.
#[test]
fn crate_packages_for_a_registry() {
    let list = text(&run_to_end(cargo().args([
        "package",
        "--list",
        "--allow-dirty",
        "-p",
        "pinns",
    ])));
    for want in [
        "Cargo.toml",
        "README.md",
        "src/lib.rs",
        "src/main.rs",
        "man/pinns.8",
    ] {
        assert!(
            list.lines().any(|l| l == want),
            "{want} not packaged:\n{list}"
        );
    }
    for unwanted in ["bench/", ".ci/", "xtask/", ".cargo/"] {
        assert!(
            !list.lines().any(|l| l.starts_with(unwanted)),
            "{unwanted} packaged:\n{list}"
        );
    }
    run_to_end(cargo().args(["package", "--allow-dirty", "--quiet", "-p", "pinns"]));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}
