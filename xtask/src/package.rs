//! `cargo xtask package deb|rpm [-o FILE] [--no-build]`: the Debian
//! package and the RPM a node installs, built from the static binary with
//! the tools Debian ships (`dpkg-deb` from dpkg, `rpmbuild` from Debian's
//! `rpm`), so that a fresh machine compiles no packaging tool first.
//!
//! Both hold the same files ([`files`]): the binary, the man pages, the
//! bash, zsh and fish completions, the README, the CRI-O drop-in as an
//! example (never under `/etc`: a package that changed CRI-O's
//! configuration by being installed would surprise a node's operator), and
//! the licence. The binary is static, so neither depends on anything; and
//! neither has maintainer scripts or scriptlets, so installing and removing
//! them runs no code of ours. Name, version, summary and licence are the
//! `[package]` table's of the checkout's `Cargo.toml`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, root, run, run_output};

/// What a package manager shows below the one-line summary.
const LONG_DESCRIPTION: &str = "\
pinns creates Linux namespaces (network, IPC, UTS, user, cgroup, mount,
PID, time), bind-mounts each onto DIR/<type>ns/NAME and exits: the
namespaces persist with no process holding them, until `pinns unpin`.
It is a drop-in replacement for CRI-O's pinns helper (point CRI-O's
pinns_path at /usr/bin/pinns), and works the way `ip netns` does by hand:
pin, unpin, list, exec, prune.";

/// Who the Debian package names as its maintainer (a required field).
const MAINTAINER: &str = "pinns developers <pinns@localhost>";

/// The static build's target: `cargo build-static` (.cargo/config.toml)
/// names it, so the binary lands under it.
const TARGET: &str = "x86_64-unknown-linux-gnu";

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Deb,
    Rpm,
}

/// What a file is to the package manager: RPM marks documentation and
/// licences (`rpm --excludedocs` leaves the former out, never the latter).
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Program,
    Doc,
    License,
    Other,
}

/// One file of a package: where its content comes from, where it is
/// installed, its mode, and its role.
struct File {
    content: Content,
    dest: String,
    mode: u32,
    role: Role,
}

enum Content {
    Copy(PathBuf),
    /// gzip -9n of the file: Debian's policy compresses man pages.
    Gzip(PathBuf),
    Text(String),
}

/// `[package]` fields of Cargo.toml the packages carry.
struct Meta {
    name: String,
    version: String,
    description: String,
    license: String,
}

pub fn main(args: &[String]) -> Result<(), String> {
    let usage = || "usage: cargo xtask package deb|rpm [-o FILE] [--no-build]".to_string();
    let (format, rest) = args.split_first().ok_or_else(usage)?;
    let format = match format.as_str() {
        "deb" => Format::Deb,
        "rpm" => Format::Rpm,
        _ => return Err(usage()),
    };
    let mut output = None;
    let mut build = true;
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-o" | "--output" => output = Some(PathBuf::from(rest.next().ok_or_else(usage)?)),
            "--no-build" => build = false,
            _ => return Err(usage()),
        }
    }
    if build {
        run(cargo()
            .args(["build-static", "--quiet"])
            .current_dir(root()))?;
    }
    let meta = meta()?;
    let out_dir = target_dir().join(TARGET);
    let binary = out_dir.join("release/pinns");
    if !binary.is_file() {
        return Err(format!(
            "{} is missing: run `cargo build-static` (or drop --no-build)",
            binary.display()
        ));
    }
    let made = match format {
        Format::Deb => {
            let output = output.unwrap_or_else(|| {
                out_dir.join("debian").join(format!(
                    "{}_{}_{}.deb",
                    meta.name,
                    deb_version(&meta),
                    deb_arch()
                ))
            });
            deb(&meta, &binary, &output)?;
            output
        }
        Format::Rpm => {
            let output = output.unwrap_or_else(|| {
                out_dir.join("rpm").join(format!(
                    "{}-{}-1.{}.rpm",
                    meta.name,
                    rpm_version(&meta),
                    std::env::consts::ARCH
                ))
            });
            rpm(&meta, &binary, &output)?;
            output
        }
    };
    // The one line on stdout: where the package is, for a script to use.
    println!("{}", made.display());
    Ok(())
}

/// The directory cargo builds into, as cargo chooses it.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| root().join(d))
        .unwrap_or_else(|| root().join("target"))
}

/// The files of a package in `format`, the binary's from `binary`.
fn files(format: Format, meta: &Meta, binary: &Path) -> Result<Vec<File>, String> {
    let root = root();
    let file = |content, dest: &str, mode, role| File {
        content,
        dest: dest.to_string(),
        mode,
        role,
    };
    let src = |p: &str| Content::Copy(root.join(p));
    let doc = format!("/usr/share/doc/{}", meta.name);
    let mut files = vec![
        file(
            Content::Copy(binary.to_path_buf()),
            "/usr/bin/pinns",
            0o755,
            Role::Program,
        ),
        file(
            src("completions/pinns.bash"),
            "/usr/share/bash-completion/completions/pinns",
            0o644,
            Role::Other,
        ),
        // Each family's own place for a package's zsh completions.
        file(
            src("completions/_pinns"),
            match format {
                Format::Deb => "/usr/share/zsh/vendor-completions/_pinns",
                Format::Rpm => "/usr/share/zsh/site-functions/_pinns",
            },
            0o644,
            Role::Other,
        ),
        file(
            src("completions/pinns.fish"),
            "/usr/share/fish/vendor_completions.d/pinns.fish",
            0o644,
            Role::Other,
        ),
        file(
            src("README.md"),
            &format!("{doc}/README.md"),
            0o644,
            Role::Doc,
        ),
        file(
            src("packaging/10-pinns.conf"),
            &format!("{doc}/examples/crio.conf.d/10-pinns.conf"),
            0o644,
            Role::Doc,
        ),
    ];
    let license = fs::read_to_string(root.join("LICENSE"))
        .map_err(|e| format!("reading {}: {e}", root.join("LICENSE").display()))?;
    files.push(match format {
        // Debian's place for the licence: the copyright file, in the
        // machine-readable format, with the whole text.
        Format::Deb => file(
            Content::Text(debian_copyright(meta, &license)),
            &format!("{doc}/copyright"),
            0o644,
            Role::License,
        ),
        Format::Rpm => file(
            Content::Text(license),
            &format!("/usr/share/licenses/{}/LICENSE", meta.name),
            0o644,
            Role::License,
        ),
    });
    let mut pages: Vec<PathBuf> = fs::read_dir(root.join("man"))
        .map_err(|e| format!("reading man/: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "8"))
        .collect();
    pages.sort();
    for page in pages {
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        files.push(match format {
            Format::Deb => file(
                Content::Gzip(page),
                &format!("/usr/share/man/man8/{name}.gz"),
                0o644,
                Role::Doc,
            ),
            Format::Rpm => file(
                Content::Copy(page),
                &format!("/usr/share/man/man8/{name}"),
                0o644,
                Role::Doc,
            ),
        });
    }
    Ok(files)
}

/// The directories only this package puts files in, which it owns (and a
/// package manager removes with it): the doc and licence directories.
fn own_dirs(files: &[File], meta: &Meta) -> Vec<String> {
    let mine = [
        format!("/usr/share/doc/{}", meta.name),
        format!("/usr/share/licenses/{}", meta.name),
    ];
    let mut dirs: Vec<String> = Vec::new();
    for f in files {
        let mut dir = Path::new(&f.dest).parent();
        while let Some(d) = dir {
            let d_str = d.to_string_lossy().into_owned();
            if mine.iter().any(|m| d.starts_with(m)) && !dirs.contains(&d_str) {
                dirs.push(d_str);
            }
            dir = d.parent();
        }
    }
    dirs.sort();
    dirs
}

/// Writes `files` under `stage`, with their modes.
fn stage_files(files: &[File], stage: &Path) -> Result<(), String> {
    for f in files {
        let dest = stage.join(f.dest.trim_start_matches('/'));
        let parent = dest.parent().expect("a file has a directory");
        fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
        match &f.content {
            Content::Copy(src) => fs::copy(src, &dest)
                .map(drop)
                .map_err(|e| format!("copying {}: {e}", src.display()))?,
            Content::Text(text) => {
                fs::write(&dest, text).map_err(|e| format!("writing {}: {e}", dest.display()))?
            }
            Content::Gzip(src) => {
                // -n: no name or time stamp inside, so the same page
                // compresses to the same bytes.
                let out = run_output(Command::new("gzip").args(["-9n", "-c"]).arg(src))?;
                fs::write(&dest, out).map_err(|e| format!("writing {}: {e}", dest.display()))?
            }
        }
        fs::set_permissions(&dest, fs::Permissions::from_mode(f.mode))
            .map_err(|e| format!("chmod {}: {e}", dest.display()))?;
    }
    // Directories 0755 whatever the umask: a package installs them so.
    set_dir_modes(stage)
}

fn set_dir_modes(dir: &Path) -> Result<(), String> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", dir.display()))?;
    for entry in fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() && !path.is_symlink() {
            set_dir_modes(&path)?;
        }
    }
    Ok(())
}

/// A fresh, empty directory for staging, beside the package.
fn scratch(output: &Path, what: &str) -> Result<PathBuf, String> {
    let parent = output.parent().unwrap_or(Path::new("."));
    let dir = parent.join(format!(".{what}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Debian versions sort `~` before anything, as a Cargo pre-release
/// (`1.0.0-rc.1`) sorts before its release; `-` would split off a
/// Debian revision. The `-1` is the package's revision.
fn deb_version(meta: &Meta) -> String {
    format!("{}-1", meta.version.replace('-', "~"))
}

/// RPM's Version cannot hold `-`; `~` sorts before the release there too.
fn rpm_version(meta: &Meta) -> String {
    meta.version.replace('-', "~")
}

fn deb_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// debian/copyright in the machine-readable format
/// (copyright-format 1.0), the licence's full text in its own paragraph.
fn debian_copyright(meta: &Meta, license: &str) -> String {
    let mut text = format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: {}\n\
         \n\
         Files: *\n\
         Copyright: pinns developers\n\
         License: {}\n\
         \n\
         License: {}\n",
        meta.name, meta.license, meta.license
    );
    text.push_str(&continuation_lines(license.trim_matches('\n')));
    text
}

/// A multi-line field's continuation lines in a Debian control file: each
/// line indented by a space, an empty line written ` .`.
fn continuation_lines(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim().is_empty() {
                " .\n".to_string()
            } else {
                format!(" {l}\n")
            }
        })
        .collect()
}

/// The `.deb`: a staged tree with `DEBIAN/control` and `DEBIAN/md5sums`,
/// archived by `dpkg-deb` with every file owned by root.
fn deb(meta: &Meta, binary: &Path, output: &Path) -> Result<(), String> {
    let files = files(Format::Deb, meta, binary)?;
    make_parent(output)?;
    let stage = scratch(output, "deb")?;
    let result = (|| {
        stage_files(&files, &stage)?;
        let control_dir = stage.join("DEBIAN");
        fs::create_dir(&control_dir).map_err(|e| format!("creating DEBIAN/: {e}"))?;
        // Installed-Size, in KiB, as dpkg-gencontrol counts it: each file
        // rounded up to a whole KiB.
        let kib: u64 = files
            .iter()
            .map(|f| {
                let len = fs::metadata(stage.join(f.dest.trim_start_matches('/')))
                    .map(|m| m.len())
                    .unwrap_or(0);
                len.div_ceil(1024)
            })
            .sum();
        let control = format!(
            "Package: {}\n\
             Version: {}\n\
             Architecture: {}\n\
             Maintainer: {MAINTAINER}\n\
             Installed-Size: {kib}\n\
             Section: admin\n\
             Priority: optional\n\
             Description: {}\n{}",
            meta.name,
            deb_version(meta),
            deb_arch(),
            meta.description,
            continuation_lines(LONG_DESCRIPTION)
        );
        write_mode(&control_dir.join("control"), &control, 0o644)?;
        // md5sums: what `debsums` and `dpkg --verify` check installed
        // files against.
        let rel: Vec<&str> = files
            .iter()
            .map(|f| f.dest.trim_start_matches('/'))
            .collect();
        let sums = run_output(
            Command::new("md5sum")
                .arg("--")
                .args(&rel)
                .current_dir(&stage),
        )?;
        write_mode(
            &control_dir.join("md5sums"),
            &String::from_utf8_lossy(&sums),
            0o644,
        )?;
        fs::set_permissions(&control_dir, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod DEBIAN/: {e}"))?;
        run_output(
            Command::new("dpkg-deb")
                .args(["--root-owner-group", "-Zxz", "--build"])
                .arg(&stage)
                .arg(output),
        )
        .map(drop)
    })();
    let _ = fs::remove_dir_all(&stage);
    result
}

/// The `.rpm`: a spec file listing the staged tree, built by `rpmbuild
/// -bb` in a scratch `_topdir` of its own.
fn rpm(meta: &Meta, binary: &Path, output: &Path) -> Result<(), String> {
    let files = files(Format::Rpm, meta, binary)?;
    make_parent(output)?;
    let top = scratch(output, "rpm")?;
    let result = (|| {
        let stage = top.join("stage");
        stage_files(&files, &stage)?;
        let mut listed = String::new();
        for dir in own_dirs(&files, meta) {
            listed.push_str(&format!("%dir {dir}\n"));
        }
        for f in &files {
            let tag = match f.role {
                Role::Doc => "%doc ",
                Role::License => "%license ",
                Role::Program | Role::Other => "",
            };
            listed.push_str(&format!("{tag}{}\n", f.dest));
        }
        let spec = format!(
            "Name: {name}\n\
             Version: {version}\n\
             Release: 1\n\
             Summary: {summary}\n\
             License: {license}\n\
             # The binary is static and nothing runs a script: no\n\
             # requirement is found or added but rpmlib's own.\n\
             AutoReqProv: no\n\
             \n\
             # A static, stripped binary: no debuginfo package, no\n\
             # build-id links, none of the distribution's post-install\n\
             # rewriting (stripping, compressing man pages).\n\
             %global debug_package %{{nil}}\n\
             %global _build_id_links none\n\
             %global __os_install_post %{{nil}}\n\
             # gzip: every rpm reads it, RHEL 8's included.\n\
             %global _binary_payload w9.gzdio\n\
             \n\
             %description\n\
             {description}\n\
             \n\
             %install\n\
             cp -a '{stage}/.' '%{{buildroot}}/'\n\
             \n\
             %files\n\
             %defattr(-,root,root,-)\n\
             {listed}",
            name = meta.name,
            version = rpm_version(meta),
            summary = meta.description,
            license = meta.license,
            description = LONG_DESCRIPTION,
            stage = stage.display(),
        );
        let spec_path = top.join("pinns.spec");
        write_mode(&spec_path, &spec, 0o644)?;
        let rpms = top.join("RPMS");
        run_output(
            Command::new("rpmbuild")
                .arg("-bb")
                .arg("--define")
                .arg(format!("_topdir {}", top.display()))
                .arg("--define")
                .arg(format!("_rpmdir {}", rpms.display()))
                .arg("--define")
                .arg("_build_name_fmt %{NAME}.rpm")
                .arg(&spec_path),
        )?;
        let built = rpms.join(format!("{}.rpm", meta.name));
        fs::rename(&built, output)
            .or_else(|_| fs::copy(&built, output).map(drop))
            .map_err(|e| format!("moving {} to {}: {e}", built.display(), output.display()))
    })();
    let _ = fs::remove_dir_all(&top);
    result
}

fn make_parent(output: &Path) -> Result<(), String> {
    match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => {
            fs::create_dir_all(p).map_err(|e| format!("creating {}: {e}", p.display()))
        }
        _ => Ok(()),
    }
}

fn write_mode(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

/// Reads `name`, `version`, `description` and `license` from the
/// `[package]` table of the checkout's Cargo.toml. Each is a one-line
/// basic string there; cli/tests/package.rs checks that the packages carry
/// what Cargo sees.
fn meta() -> Result<Meta, String> {
    let path = root().join("Cargo.toml");
    let text = fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let field = |key: &str| package_field(&text, key);
    Ok(Meta {
        name: field("name")?,
        version: field("version")?,
        description: field("description")?,
        license: field("license")?,
    })
}

/// The one-line string `key = "..."` of the `[package]` table in `text`.
fn package_field(text: &str, key: &str) -> Result<String, String> {
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if !in_package || k.trim() != key {
            continue;
        }
        let v = v.trim();
        return v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains(['"', '\\']))
            .map(str::to_string)
            .ok_or_else(|| format!("Cargo.toml: {key} is not a plain one-line string: {v}"));
    }
    Err(format!("Cargo.toml: no {key} in [package]"))
}
