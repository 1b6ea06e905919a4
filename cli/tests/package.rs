//! Installing like a node tool: the Debian package as a node
//! operator gets it, the RPM beside it, the crate as a registry takes it,
//! and the completion scripts the packages ship kept in step with the
//! command line.
//!
//! The Debian package test builds the static binary (`cargo build-static`)
//! and the `.deb` (`cargo deb`, from the cargo-deb crate, which `cargo
//! xtask setup` installs under `target/tools`), installs it with
//! `dpkg -i`, uses it as a user would, and purges it; a guard purges it
//! even when the test fails. It refuses to run where a `pinns` package is
//! already installed: it would replace someone's install.
//!
//! The RPM test builds the `.rpm` from the same binary (`cargo
//! generate-rpm`, from the cargo-generate-rpm crate, installed beside
//! cargo-deb), reads it with Debian's `rpm`, installs it into a scratch
//! root of its own (never the machine's), runs the installed binary, and
//! erases it.
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

/// Where `cargo xtask setup` installs cargo-deb.
fn cargo_deb() -> PathBuf {
    tool("cargo-deb")
}

/// Where `cargo xtask setup` installs the cargo tool `name`.
fn tool(name: &str) -> PathBuf {
    let local = repo_root().join("target/tools/bin").join(name);
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
    cmd.current_dir(repo_root());
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
        let path = repo_root().join("completions").join(file);
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
            // The binary's package, whose Cargo.toml holds the metadata.
            .args(["deb", "-p", "pinns-cli", "--no-build"])
            .args(["--target", "x86_64-unknown-linux-gnu"])
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

/// Runs `rpm ARGS` (Debian's rpm, which warns on stderr that dpkg is the
/// system's package manager) and returns its stdout.
fn rpm(args: &[&str]) -> String {
    must(Command::new("rpm").args(args)).stdout_text()
}

/// Build the `.rpm`, read it, install it into a scratch root, use the
/// installed binary, erase it: nothing of it is left.
#[test]
fn rpm_package_installs_into_a_scratch_root_works_and_erases() {
    let generate_rpm = tool("cargo-generate-rpm");
    run_to_end(cargo().arg("build-static").arg("--quiet"));
    let out_dir = tempfile::tempdir().unwrap();
    let package = out_dir.path().join("pinns.rpm");
    run_to_end(
        cargo()
            .env("PATH", path_with(generate_rpm.parent().unwrap()))
            // The binary's package, by its directory (as this tool takes
            // it), whose Cargo.toml holds the metadata.
            .args(["generate-rpm", "-p", "cli"])
            .args(["--target", "x86_64-unknown-linux-gnu"])
            .args(["--payload-compress", "gzip", "-o"])
            .arg(&package),
    );
    let package = package.to_str().unwrap();

    // Name, version, license and summary are Cargo's.
    let info = rpm(&[
        "-qp",
        "--qf",
        "%{NAME} %{VERSION} %{LICENSE}\\n%{SUMMARY}\\n",
        package,
    ]);
    assert_eq!(
        info,
        format!(
            "pinns {} {}\n{}\n",
            env!("CARGO_PKG_VERSION"),
            env!("CARGO_PKG_LICENSE"),
            env!("CARGO_PKG_DESCRIPTION")
        )
    );
    // What it holds: the binary, the man pages, the completions, the README
    // and the CRI-O drop-in as an example, nothing under /etc.
    let listed: Vec<String> = rpm(&["-qlp", package])
        .lines()
        .map(str::to_string)
        .collect();
    let mut want: Vec<String> = [
        "/usr/bin/pinns",
        "/usr/share/bash-completion/completions/pinns",
        "/usr/share/zsh/site-functions/_pinns",
        "/usr/share/fish/vendor_completions.d/pinns.fish",
        "/usr/share/doc/pinns/README.md",
        "/usr/share/doc/pinns/examples/crio.conf.d/10-pinns.conf",
    ]
    .map(String::from)
    .to_vec();
    for page in fs::read_dir(repo_root().join("man")).unwrap() {
        let name = page.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".8") {
            want.push(format!("/usr/share/man/man8/{name}"));
        }
    }
    let mut sorted = listed.clone();
    sorted.sort();
    want.sort();
    assert_eq!(sorted, want);
    // No scriptlet, no trigger, no configuration file, and only rpmlib's
    // own features required: the binary is static, and nothing needs a
    // shell.
    assert_eq!(rpm(&["-qp", "--scripts", package]), "", "scriptlets");
    assert_eq!(rpm(&["-qp", "--triggers", package]), "", "triggers");
    assert_eq!(rpm(&["-qpc", package]).trim(), "", "config files");
    let requires = rpm(&["-qpR", package]);
    assert!(
        !requires.trim().is_empty() && requires.lines().all(|r| r.starts_with("rpmlib(")),
        "requires: {requires}"
    );

    // Into an empty scratch root, with its own database (never the
    // machine's), without --nodeps: nothing it requires is missing there.
    let root_dir = tempfile::tempdir().unwrap();
    let root = root_dir.path().to_str().unwrap();
    let db = ["--root", root, "--dbpath", "/var/lib/rpm"];
    must(Command::new("rpm").args(db).arg("--initdb"));
    must(Command::new("rpm").args(db).args(["-i", package]));
    assert_eq!(
        rpm(&[&db[..], &["-q", "pinns"]].concat()).trim(),
        format!("pinns-{}-1.x86_64", env!("CARGO_PKG_VERSION"))
    );
    for file in &listed {
        assert!(
            root_dir.path().join(&file[1..]).is_file(),
            "{file} not installed"
        );
    }
    // rpm's own check of every installed file against the package.
    must(Command::new("rpm").args(db).args(["-V", "pinns"]));

    // The static binary runs in a root that has nothing else in it.
    let version =
        must(Command::new("chroot").args([root, "/usr/bin/pinns", "--version"])).stdout_text();
    assert_eq!(
        version.trim(),
        format!("pinns {}", env!("CARGO_PKG_VERSION"))
    );
    // And, from its installed path, pins and unpins a pod.
    let installed = root_dir.path().join("usr/bin/pinns");
    let d = PinDir::new();
    let dir = d.path().to_str().unwrap();
    must(Command::new(&installed).args(["-d", dir, "-f", "pod", "--net", "--ipc", "--uts"]));
    for ty in ["net", "ipc", "uts"] {
        let pin = d.pin(ty, "pod");
        assert_ne!(inode(&pin), own_ns(ty), "{ty} pin is not a new namespace");
        ns_type(&pin);
    }
    must(Command::new(&installed).args(["unpin", "-d", dir, "-f", "pod"]));
    assert!(pin_files_under(d.path()).is_empty());
    assert!(ns_mounts_under(d.path()).is_empty());

    // Erased, no file is left but the database's; the directories rpm made
    // for the files stay, empty (the package does not own them).
    must(Command::new("rpm").args(db).args(["-e", "pinns"]));
    let out = run(Command::new("rpm").args(db).args(["-q", "pinns"]));
    assert!(!out.status.success(), "still installed after erase");
    let left: Vec<PathBuf> = walk(root_dir.path())
        .into_iter()
        .filter(|p| !p.is_dir() && !p.starts_with(root_dir.path().join("var/lib/rpm")))
        .collect();
    assert!(left.is_empty(), "left after erase: {left:?}");
}

/// Every path under `dir`, depth first.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.is_symlink() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
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
    for want in ["Cargo.toml", "README.md", "src/lib.rs"] {
        assert!(
            list.lines().any(|l| l == want),
            "{want} not packaged:\n{list}"
        );
    }
    // The library alone: the command line is its own package (cli/).
    for unwanted in ["bench/", ".ci/", "xtask/", ".cargo/", "cli/", "src/main.rs"] {
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
