//! Installing like a node tool: the Debian package as a node
//! operator gets it, the RPM beside it, the crate as a registry takes it,
//! and the completion scripts the packages ship kept in step with the
//! command line.
//!
//! The package tests build each package as the README says
//! (`cargo xtask package deb|rpm`: the static binary, packaged by Debian's
//! `dpkg-deb` and `rpmbuild`) and check what it holds. The `.deb` is then
//! installed on this machine with `dpkg -i`, used as a user would, and
//! purged; a guard purges it even when the test fails, and the test
//! refuses to run where a `pinns` package is already installed (it would
//! replace someone's install). The `.rpm` is installed with Debian's
//! `rpm` into a scratch root of its own (never the machine's), run there,
//! and erased. Both need Debian packages (rpm, man-db, bash-completion)
//! and change the host, so they are built only for the full suite
//! (`cargo xtask test`, feature `system-tests`); plain `cargo test` runs
//! the other two.
//!
//! After changing the command line, refresh the committed completions with
//!
//! ```sh
//! PINNS_UPDATE_COMPLETIONS=1 cargo test --test package
//! ```

mod common;

use common::*;
use std::fs;
use std::process::{Command, Output, Stdio};

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
    for want in ["Cargo.toml", "README.md", "src/lib.rs", "LICENSE"] {
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

/// The packages' tests: they need Debian's rpm, man-db and
/// bash-completion, and install a package on this machine.
#[cfg(feature = "system-tests")]
mod packages {
    use super::*;
    use std::path::{Path, PathBuf};

    /// `cargo xtask package FORMAT -o OUT`, as the README builds a package
    /// (the static binary first, then the package from it).
    fn build_package(format: &str, out: &Path) {
        run_to_end(cargo().args(["xtask", "package", format, "-o"]).arg(out));
        assert!(out.is_file(), "no {}", out.display());
    }

    /// The man pages the packages ship: every `man/*.8`.
    fn man_pages() -> Vec<String> {
        let mut pages: Vec<String> = fs::read_dir(repo_root().join("man"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".8"))
            .collect();
        pages.sort();
        pages
    }

    /// The whole text of the licence, as the repository has it.
    fn license_text() -> String {
        fs::read_to_string(repo_root().join("LICENSE")).unwrap()
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

    /// The value of `field` in a Debian control paragraph, continuation lines
    /// included (as they are written, each starting with a space).
    fn control_field(paragraph: &str, field: &str) -> Option<String> {
        let mut lines = paragraph.lines();
        let first = lines.find_map(|l| l.strip_prefix(&format!("{field}:")))?;
        let mut value = first.trim().to_string();
        for l in lines.take_while(|l| l.starts_with(' ')) {
            value.push('\n');
            value.push_str(l);
        }
        Some(value)
    }

    /// Build the `.deb`, read it, install it, use it, purge it: nothing of it
    /// is left.
    #[test]
    fn debian_package_installs_works_and_purges() {
        assert!(
            !package_installed() && !Path::new("/usr/bin/pinns").exists(),
            "a pinns package (or /usr/bin/pinns) is already installed here; \
             this test installs and purges its own, so it will not replace it"
        );
        let out_dir = tempfile::tempdir().unwrap();
        let deb = out_dir.path().join("pinns.deb");
        build_package("deb", &deb);

        // The control file: Cargo's name, version and summary; depends on
        // nothing (the binary is static).
        let control = text(&run_to_end(
            Command::new("dpkg-deb").arg("--field").arg(&deb),
        ));
        let field = |name: &str| control_field(&control, name);
        assert_eq!(field("Package").as_deref(), Some("pinns"), "{control}");
        assert_eq!(
            field("Version"),
            Some(format!("{}-1", env!("CARGO_PKG_VERSION"))),
            "{control}"
        );
        assert_eq!(field("Architecture").as_deref(), Some("amd64"), "{control}");
        let description = field("Description").unwrap_or_default();
        assert!(
            description.starts_with(&format!("{}\n ", env!("CARGO_PKG_DESCRIPTION"))),
            "{control}"
        );
        for relation in [
            "Depends",
            "Pre-Depends",
            "Recommends",
            "Suggests",
            "Conflicts",
            "Breaks",
        ] {
            assert_eq!(field(relation), None, "{control}");
        }
        // No maintainer scripts, no conffiles (it changes no configuration,
        // CRI-O's least of all): the control archive is the control file and
        // the checksums.
        let info = text(&run_to_end(
            Command::new("dpkg-deb").arg("--info").arg(&deb),
        ));
        for script in [
            "preinst",
            "postinst",
            "prerm",
            "postrm",
            "conffiles",
            "triggers",
        ] {
            assert!(!info.contains(script), "the package has {script}:\n{info}");
        }
        // The files, exactly, all root's (directories aside: dpkg lists them
        // for every file).
        let contents = text(&run_to_end(
            Command::new("dpkg-deb").arg("--contents").arg(&deb),
        ));
        let mut held: Vec<String> = Vec::new();
        for line in contents.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.get(1), Some(&"root/root"), "{line}");
            let path = fields.last().unwrap().trim_start_matches('.');
            if !path.ends_with('/') {
                held.push(path.to_string());
            }
        }
        let mut want: Vec<String> = [
            "/usr/bin/pinns",
            "/usr/share/bash-completion/completions/pinns",
            "/usr/share/zsh/vendor-completions/_pinns",
            "/usr/share/fish/vendor_completions.d/pinns.fish",
            "/usr/share/doc/pinns/README.md",
            "/usr/share/doc/pinns/copyright",
            "/usr/share/doc/pinns/examples/crio.conf.d/10-pinns.conf",
        ]
        .map(String::from)
        .to_vec();
        want.extend(
            man_pages()
                .iter()
                .map(|p| format!("/usr/share/man/man8/{p}.gz")),
        );
        held.sort();
        want.sort();
        assert_eq!(held, want);

        let _installed = Installed;
        run_to_end(Command::new("dpkg").arg("-i").arg(&deb));
        let files: Vec<PathBuf> = text(&run_to_end(Command::new("dpkg").args(["-L", "pinns"])))
            .lines()
            .map(PathBuf::from)
            .collect();
        for want in &want {
            assert!(
                files.iter().any(|f| f == Path::new(want)),
                "no {want}: {files:?}"
            );
        }
        // Every installed file matches the package's checksums (md5sums).
        let verify = run_to_end(Command::new("dpkg").args(["--verify", "pinns"]));
        assert_eq!(text(&verify), "", "dpkg --verify");

        // The copyright file is machine-readable (copyright-format 1.0) and
        // carries the whole licence, line for line.
        let copyright = fs::read_to_string("/usr/share/doc/pinns/copyright").unwrap();
        let paragraphs: Vec<&str> = copyright.split("\n\n").collect();
        assert!(
            paragraphs[0].starts_with(
                "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
            ),
            "{copyright}"
        );
        let license = env!("CARGO_PKG_LICENSE");
        let files_paragraph = paragraphs
            .iter()
            .find(|p| p.starts_with("Files: *\n"))
            .unwrap_or_else(|| panic!("no `Files: *` paragraph:\n{copyright}"));
        assert_eq!(
            control_field(files_paragraph, "License").as_deref(),
            Some(license)
        );
        let text_paragraph = paragraphs
            .iter()
            .find(|p| p.starts_with(&format!("License: {license}\n")))
            .unwrap_or_else(|| panic!("no stand-alone License paragraph:\n{copyright}"));
        let carried: Vec<String> = text_paragraph
            .lines()
            .skip(1)
            .map(|l| match l.strip_prefix(' ') {
                Some(".") => String::new(),
                Some(l) => l.to_string(),
                None => panic!("not a continuation line: {l:?}"),
            })
            .collect();
        let original: Vec<String> = license_text()
            .trim_matches('\n')
            .lines()
            .map(|l| if l.trim().is_empty() { "" } else { l }.to_string())
            .collect();
        assert!(
            carried == original,
            "the licence text differs:\n{copyright}"
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
        for page in man_pages() {
            let page = page.trim_end_matches(".8");
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
        let out_dir = tempfile::tempdir().unwrap();
        let package = out_dir.path().join("pinns.rpm");
        build_package("rpm", &package);
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
        // and the CRI-O drop-in as an example, the licence, nothing under
        // /etc; and the directories that are its alone, so that erasing it
        // removes them.
        let own_dirs = [
            "/usr/share/doc/pinns",
            "/usr/share/doc/pinns/examples",
            "/usr/share/doc/pinns/examples/crio.conf.d",
            "/usr/share/licenses/pinns",
        ];
        let mut files: Vec<String> = [
            "/usr/bin/pinns",
            "/usr/share/bash-completion/completions/pinns",
            "/usr/share/zsh/site-functions/_pinns",
            "/usr/share/fish/vendor_completions.d/pinns.fish",
            "/usr/share/doc/pinns/README.md",
            "/usr/share/doc/pinns/examples/crio.conf.d/10-pinns.conf",
            "/usr/share/licenses/pinns/LICENSE",
        ]
        .map(String::from)
        .to_vec();
        files.extend(
            man_pages()
                .iter()
                .map(|p| format!("/usr/share/man/man8/{p}")),
        );
        let mut listed: Vec<String> = rpm(&["-qlp", package])
            .lines()
            .map(str::to_string)
            .collect();
        let mut want: Vec<String> = files.clone();
        want.extend(own_dirs.map(String::from));
        listed.sort();
        want.sort();
        assert_eq!(listed, want);
        // Marked as they are: the licence (%license), the documentation
        // (%doc: the man pages, the README, the example).
        assert_eq!(
            rpm(&["-qpL", package]).trim(),
            "/usr/share/licenses/pinns/LICENSE"
        );
        let mut docs: Vec<String> = rpm(&["-qpd", package])
            .lines()
            .map(str::to_string)
            .collect();
        docs.sort();
        let mut want_docs: Vec<String> = files
            .iter()
            .filter(|f| f.starts_with("/usr/share/man/") || f.starts_with("/usr/share/doc/"))
            .cloned()
            .collect();
        want_docs.sort();
        assert_eq!(docs, want_docs);
        // Modes and owners: root's, the binary executable, directories 0755.
        let modes = rpm(&[
            "-qp",
            "--qf",
            "[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\\n]",
            package,
        ]);
        for line in modes.lines() {
            let (mode_owner, path) = line.rsplit_once(' ').unwrap();
            let want_mode = if own_dirs.contains(&path) {
                "drwxr-xr-x root:root"
            } else if path == "/usr/bin/pinns" {
                "-rwxr-xr-x root:root"
            } else {
                "-rw-r--r-- root:root"
            };
            assert_eq!(mode_owner, want_mode, "{line}");
        }
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
        for file in &files {
            assert!(
                root_dir.path().join(&file[1..]).is_file(),
                "{file} not installed"
            );
        }
        assert_eq!(
            fs::read_to_string(root_dir.path().join("usr/share/licenses/pinns/LICENSE")).unwrap(),
            license_text()
        );
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

        // Erased, no file is left but the database's, nor the directories it
        // owns; the shared ones rpm made for the files (/usr/bin…) stay, empty:
        // on a real system other packages own them.
        must(Command::new("rpm").args(db).args(["-e", "pinns"]));
        let out = run(Command::new("rpm").args(db).args(["-q", "pinns"]));
        assert!(!out.status.success(), "still installed after erase");
        let left: Vec<PathBuf> = walk(root_dir.path())
            .into_iter()
            .filter(|p| !p.is_dir() && !p.starts_with(root_dir.path().join("var/lib/rpm")))
            .collect();
        assert!(left.is_empty(), "left after erase: {left:?}");
        for dir in own_dirs {
            assert!(
                !root_dir.path().join(&dir[1..]).exists(),
                "{dir} left after erase"
            );
        }
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

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }
}
