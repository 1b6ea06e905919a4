//! `cargo xtask vm [5.10|6.1|6.12 ...]`: the integration tests of pin,
//! unpin, list, exec, prune and the CRI-O scenarios, run on real kernels:
//! Debian's own kernel packages, booted under QEMU.
//!
//! For each kernel of [`KERNELS`] this fetches Debian's package with
//! `apt-get download`, through an apt configuration of its own under
//! `target/vm/apt` (its own sources, lists, cache and settings: the host's
//! apt is neither read nor changed), keeps the kernel image and the few
//! modules a guest needs under `target/vm/<kernel>` (a warm run downloads
//! nothing), builds a small initramfs (busybox-static, those modules, the
//! guest's init `xtask/vm/init` and the list of tests), and boots it under
//! QEMU: the host's `/` shared read-only over virtio-9p, tmpfs where tests
//! write. Inside, the already built test executables of [`TESTS`] run
//! against the built `pinns`; the serial console comes back here, and the
//! result is one line per kernel:
//!
//! ```text
//! real kernel 5.10.0-32-amd64: 46 passed, 0 failed (130 s)
//! ```
//!
//! Software emulation (TCG) always works; KVM is used only when a quick
//! probe boots a kernel with it (many machines, nested ones above all,
//! have a `/dev/kvm` that cannot run an ordinary guest). Guests run two at
//! a time, on one CPU each, each with a hard timeout ([`GUEST_TIMEOUT`]),
//! after which the QEMU this started is killed (by its pid, as a `Child`).
//! A guest's console is kept in `target/vm/<release>.log`, each line with
//! the seconds since QEMU started.
//!
//! Why a runner of our own and not a well-kept one: both boot the kernel
//! straight onto the host's root over 9p, without an initramfs of the
//! kernel's own modules. The `vmtest` crate asks for virtio, its console
//! and 9p built in (`=y`), and for qemu-guest-agent on the host, through
//! which it runs commands; Debian's kernels have all of these as modules.
//! virtme-ng (tried, from PyPI: `virtme-run --kimg` with Debian's 6.1)
//! panics unable to mount its root; its way to modules is a kernel build
//! tree or the modules installed under the host's `/lib/modules`, which
//! would change the host. What this needs instead (a cpio writer, a
//! module order read from `.modinfo`, one QEMU command line, a console
//! reader) is small enough to own.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A kernel this runs: its name on the command line, and the Debian
/// release whose `linux-image-amd64` depends on it.
struct Kernel {
    name: &'static str,
    suite: &'static str,
}

/// Linux 5.10 (Debian 11), 6.1 (Debian 12) and 6.12 (Debian 13). The
/// releases' main suites, not their security updates: a kernel changes
/// there only at a point release, and the runner is after the kernel
/// series, not its latest fix.
const KERNELS: &[Kernel] = &[
    Kernel {
        name: "5.10",
        suite: "bullseye",
    },
    Kernel {
        name: "6.1",
        suite: "bookworm",
    },
    Kernel {
        name: "6.12",
        suite: "trixie",
    },
];

/// Debian's mirror, as this machine's apt sources name it, and the keys
/// that sign its releases (Debian's `debian-archive-keyring`).
const MIRROR: &str = "http://deb.debian.org/debian";
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The tests run in each guest, by test file, with libtest's name filters
/// (none: all of the file): pinning and the CRI-O pods' pins (pin), unpin,
/// list, exec, `--from-pid`, pid and time pins and `ip netns` on our pins
/// (subcommands), exec, list and prune against `ip netns` (netns_parity),
/// the CRI-O pod with runc containers joining its pins (e2e_pod), the
/// profile table against the real kernel and the one-line refusals of
/// what a kernel lacks by nature (kernels, missing_namespace_types). Left
/// out, to keep a guest near a minute: the CRI-O scenarios of kernels.rs
/// under every profile (a profile on a real kernel adds little to the
/// real kernel alone) and propagation.rs, whose paths the pins above take.
/// About 10 s on the host; 2 to 3 minutes under TCG on a busy machine.
const TESTS: &[(&str, &[&str])] = &[
    ("pin", &[]),
    ("subcommands", &[]),
    ("netns_parity", &[]),
    ("e2e_pod", &[]),
    (
        "kernels",
        &[
            "each_profile_answers_as_its_kernel",
            "the_table_agrees_with_the_known_kernels",
            "time_and_pid_namespaces_need_their_kernels",
        ],
    ),
    ("missing_namespace_types", &[]),
];

/// The modules a guest loads, with what they depend on, unless the kernel
/// has them built in: virtio's PCI transport, 9p over it, and the bridge
/// the tests add inside pods, and overlayfs for a writable `/etc`.
const MODULES: &[&str] = &["virtio_pci", "9pnet_virtio", "9p", "overlay", "bridge"];

/// The most a guest may take, boot to power-off; killed after it. A guest
/// takes 1 to 2 minutes on a quiet 2-core machine and was seen at 5 beside
/// two CPU loops and a disk writer: a hang, not a slow machine, is what
/// this catches.
const GUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Guests at once, each on one CPU: two cores here.
const PARALLEL: usize = 2;

/// The guest's init, copied into every initramfs.
const INIT: &str = include_str!("../vm/init");

/// `cargo xtask vm [KERNEL...]`: builds the test executables, then runs
/// them on the kernels named (all of [`KERNELS`] when none is).
pub fn main(args: &[String]) -> Result<(), String> {
    let mut chosen = Vec::new();
    for arg in args {
        let kernel = KERNELS
            .iter()
            .find(|k| k.name == arg.as_str())
            .ok_or_else(|| {
                let names: Vec<&str> = KERNELS.iter().map(|k| k.name).collect();
                format!("no kernel {arg}: this runs {}", names.join(", "))
            })?;
        chosen.push(kernel);
    }
    if chosen.is_empty() {
        chosen = KERNELS.iter().collect();
    }
    run(&chosen)
}

/// The step of `cargo xtask test`: every kernel.
pub fn test_step() -> Result<(), String> {
    run(&KERNELS.iter().collect::<Vec<_>>())
}

fn run(kernels: &[&Kernel]) -> Result<(), String> {
    let binaries = build_tests()?;
    let dir = vm_dir();
    let prepared = prepare(&dir, kernels)?;
    let accel = if kvm_works(&prepared[0]) {
        "kvm"
    } else {
        "tcg"
    };
    let queue = Mutex::new(prepared.iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(prepared.len()) {
            s.spawn(|| {
                loop {
                    let Some(kernel) = queue.lock().unwrap().next() else {
                        break;
                    };
                    let verdict = boot(&dir, kernel, &binaries, accel);
                    // One line per kernel as it ends, on stdout: what
                    // the test command shows of this step.
                    println!("{}", verdict.line());
                    results.lock().unwrap().push(verdict);
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let failed: Vec<&str> = results
        .iter()
        .filter(|v| !v.ok())
        .map(|v| v.release.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("real kernels failed: {}", failed.join(", ")))
    }
}

/// Where all of this lives: `target/vm`.
fn vm_dir() -> PathBuf {
    crate::root().join("target/vm")
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The executables of [`TESTS`] (and `pinns`, which they run), built as
/// `cargo test` builds them: nothing to do after `cargo test`.
fn build_tests() -> Result<Vec<(String, PathBuf)>, String> {
    let mut cmd = Command::new(cargo());
    // The full suite's feature: e2e_pod is one of its tests.
    cmd.args(["test", "--quiet", "--no-run", "--message-format=json"])
        .args(["--features", "system-tests"])
        .current_dir(crate::root())
        .stderr(Stdio::inherit());
    let tests: Vec<&str> = TESTS.iter().map(|(t, _)| *t).collect();
    for t in &tests {
        cmd.args(["--test", t]);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("running cargo test --no-run: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo test --no-run failed: {}", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut found = Vec::new();
    for line in text.lines() {
        let Some(exe) = json_string(line, "executable") else {
            continue;
        };
        let Some(name) = tests.iter().find(|t| {
            Path::new(&exe)
                .file_name()
                .and_then(|f| f.to_str())
                .and_then(|f| f.strip_prefix(**t))
                .is_some_and(|rest| rest.starts_with('-'))
        }) else {
            continue;
        };
        found.push((name.to_string(), PathBuf::from(exe)));
    }
    for t in &tests {
        if !found.iter().any(|(n, _)| n == t) {
            return Err(format!("cargo test --no-run named no executable for {t}"));
        }
    }
    found.sort_by_key(|(n, _)| tests.iter().position(|t| t == n));
    Ok(found)
}

/// The string value of `"key":"…"` in one line of cargo's JSON, when it
/// has no escapes (paths under the checkout have none).
fn json_string(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let len = line[start..].find('"')?;
    let value = &line[start..start + len];
    (!value.contains('\\')).then(|| value.to_string())
}

// ---------------------------------------------------------------------------
// Kernels: fetched, unpacked, and the modules a guest needs picked out.

/// A kernel ready to boot: `target/vm/<name>/` holds `vmlinuz` (and
/// `vmlinux`, see [`uncompressed`]), the
/// modules in load order (`modules/order` names them) and `release`,
/// written last, which marks the directory whole.
struct Prepared {
    release: String,
    dir: PathBuf,
}

impl Prepared {
    /// The kernel QEMU starts: the uncompressed one when there is one.
    fn image(&self) -> PathBuf {
        let elf = self.dir.join("vmlinux");
        if elf.exists() {
            elf
        } else {
            self.dir.join("vmlinuz")
        }
    }
}

fn prepare(dir: &Path, kernels: &[&Kernel]) -> Result<Vec<Prepared>, String> {
    let missing: Vec<&&Kernel> = kernels
        .iter()
        .filter(|k| !dir.join(k.name).join("release").exists())
        .collect();
    if !missing.is_empty() {
        let apt = Apt::new(&dir.join("apt"))?;
        apt.update()?;
        for kernel in missing {
            let deb = apt.download(kernel.suite, &dir.join("debs"))?;
            unpack(&deb, &dir.join(kernel.name))?;
        }
        // What is kept is the unpacked kernels (about 10 MB each); the
        // packages and lists (half a gigabyte) serve a fetch only.
        for scratch in ["debs", "apt"] {
            let path = dir.join(scratch);
            std::fs::remove_dir_all(&path)
                .map_err(|e| format!("removing {}: {e}", path.display()))?;
        }
    }
    kernels
        .iter()
        .map(|k| {
            let kdir = dir.join(k.name);
            let release = std::fs::read_to_string(kdir.join("release"))
                .map_err(|e| format!("reading {}: {e}", kdir.join("release").display()))?;
            Ok(Prepared {
                release: release.trim().to_string(),
                dir: kdir,
            })
        })
        .collect()
}

/// apt with a configuration of its own: `APT_CONFIG` names a file that
/// points every directory apt reads or writes under `target/vm/apt`
/// (configuration parts included, so none of the host's is read), with
/// one sources list of the releases of [`KERNELS`].
struct Apt {
    config: PathBuf,
}

impl Apt {
    fn new(dir: &Path) -> Result<Apt, String> {
        for sub in [
            "conf.d",
            "sources.d",
            "preferences.d",
            "lists/partial",
            "cache/archives/partial",
        ] {
            mkdir(&dir.join(sub))?;
        }
        let sources: String = KERNELS
            .iter()
            .map(|k| format!("deb [signed-by={KEYRING}] {MIRROR} {} main\n", k.suite))
            .collect();
        write(&dir.join("sources.list"), sources.as_bytes())?;
        write(&dir.join("status"), b"")?;
        let d = dir.display();
        let config = format!(
            "Dir::Etc::Main \"{d}/apt.conf.main\";\n\
             Dir::Etc::Parts \"{d}/conf.d\";\n\
             Dir::Etc::SourceList \"{d}/sources.list\";\n\
             Dir::Etc::SourceParts \"{d}/sources.d\";\n\
             Dir::Etc::Preferences \"{d}/preferences\";\n\
             Dir::Etc::PreferencesParts \"{d}/preferences.d\";\n\
             Dir::State \"{d}\";\n\
             Dir::State::Lists \"{d}/lists\";\n\
             Dir::State::status \"{d}/status\";\n\
             Dir::Cache \"{d}/cache\";\n\
             Dir::Cache::pkgcache \"\";\n\
             Dir::Cache::srcpkgcache \"\";\n\
             APT::Architecture \"amd64\";\n\
             APT::Architectures {{ \"amd64\"; }};\n\
             Acquire::Languages \"none\";\n\
             APT::Sandbox::User \"root\";\n"
        );
        let path = dir.join("apt.conf");
        write(&path, config.as_bytes())?;
        Ok(Apt { config: path })
    }

    fn cmd(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("APT_CONFIG", &self.config).arg("-q");
        cmd
    }

    fn update(&self) -> Result<(), String> {
        eprintln!("xtask: fetching Debian's package lists for the kernels");
        let out = self
            .cmd("apt-get")
            .args(["-qq", "update"])
            .output()
            .map_err(|e| format!("running apt-get update: {e}"))?;
        check(&out, "apt-get update (own sources, under target/vm/apt)")
    }

    /// Downloads the kernel `linux-image-amd64` of `suite` depends on
    /// into `into`, and returns the `.deb`.
    fn download(&self, suite: &str, into: &Path) -> Result<PathBuf, String> {
        let out = self
            .cmd("apt-cache")
            .args(["show", &format!("linux-image-amd64/{suite}")])
            .output()
            .map_err(|e| format!("running apt-cache: {e}"))?;
        check(&out, "apt-cache show linux-image-amd64")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let package = text
            .lines()
            .find_map(|l| l.strip_prefix("Depends: "))
            .and_then(|d| d.split([' ', ',']).next())
            .ok_or_else(|| format!("linux-image-amd64 of {suite} depends on no kernel"))?
            .to_string();
        mkdir(into)?;
        eprintln!("xtask: downloading {package} ({suite})");
        let out = self
            .cmd("apt-get")
            .args(["download", &format!("{package}/{suite}")])
            .current_dir(into)
            .output()
            .map_err(|e| format!("running apt-get download: {e}"))?;
        check(&out, &format!("apt-get download {package}"))?;
        std::fs::read_dir(into)
            .map_err(|e| format!("listing {}: {e}", into.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| f.starts_with(&format!("{package}_")) && f.ends_with(".deb"))
            })
            .ok_or_else(|| format!("apt-get download left no {package}_*.deb"))
    }
}

/// Unpacks `deb` into a scratch directory, keeps the kernel image and
/// the closure of [`MODULES`] in `into`, and drops the rest (hundreds of
/// megabytes of modules no guest loads).
fn unpack(deb: &Path, into: &Path) -> Result<(), String> {
    let scratch = into.with_extension("unpacked");
    let _ = std::fs::remove_dir_all(&scratch);
    let ok = into.with_extension("new");
    let _ = std::fs::remove_dir_all(&ok);
    run_quiet(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&scratch))?;
    let vmlinuz = find_entry(&scratch.join("boot"), |f| f.starts_with("vmlinuz-"))?;
    let release = vmlinuz
        .file_name()
        .and_then(|f| f.to_str())
        .and_then(|f| f.strip_prefix("vmlinuz-"))
        .expect("found by that prefix")
        .to_string();
    let tree = ["lib/modules", "usr/lib/modules"]
        .iter()
        .map(|m| scratch.join(m).join(&release))
        .find(|p| p.is_dir())
        .ok_or_else(|| format!("{} has no modules for {release}", deb.display()))?;
    let modules = module_closure(&tree)?;
    mkdir(&ok.join("modules"))?;
    std::fs::copy(&vmlinuz, ok.join("vmlinuz"))
        .map_err(|e| format!("copying {}: {e}", vmlinuz.display()))?;
    if let Some(elf) = uncompressed(&vmlinuz)? {
        write(&ok.join("vmlinux"), &elf)?;
    }
    let mut order = String::new();
    for (name, data) in &modules {
        write(&ok.join("modules").join(format!("{name}.ko")), data)?;
        order.push_str(&format!("{name}.ko\n"));
    }
    write(&ok.join("modules/order"), order.as_bytes())?;
    write(&ok.join("release"), format!("{release}\n").as_bytes())?;
    let _ = std::fs::remove_dir_all(into);
    std::fs::rename(&ok, into).map_err(|e| format!("renaming {}: {e}", ok.display()))?;
    std::fs::remove_dir_all(&scratch).map_err(|e| format!("removing {}: {e}", scratch.display()))
}

/// The kernel inside the compressed image `vmlinuz`, when it is an ELF
/// file QEMU can start directly (it has a PVH entry note, as Debian's
/// kernels do): emulated, a kernel unpacking itself takes 3 to 20 seconds
/// of each boot, depending on how busy the machine is.
fn uncompressed(vmlinuz: &Path) -> Result<Option<Vec<u8>>, String> {
    let image =
        std::fs::read(vmlinuz).map_err(|e| format!("reading {}: {e}", vmlinuz.display()))?;
    // The payload is the first compressed stream in the image.
    let formats: [(&[u8], &str); 2] = [(b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd")];
    let Some((at, tool)) = formats
        .iter()
        .filter_map(|(magic, tool)| {
            let at = image.windows(magic.len()).position(|w| w == *magic)?;
            Some((at, *tool))
        })
        .min()
    else {
        return Ok(None);
    };
    // Without the tool (xz-utils, zstd) the compressed image still boots.
    let Ok(mut child) = Command::new(tool)
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return Ok(None);
    };
    let mut stdin = child.stdin.take().expect("piped");
    let payload = image[at..].to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&payload);
    });
    // The stream is followed by the rest of the image, which the tool
    // calls trailing garbage: its status says nothing, the output does.
    let out = child
        .wait_with_output()
        .map_err(|e| format!("running {tool}: {e}"))?;
    let _ = feeder.join();
    let elf = out.stdout;
    // A PVH note: namesz 4, any descsz, type 0x12 (XEN_ELFNOTE_PHYS32_ENTRY), "Xen".
    let pvh = elf
        .windows(16)
        .any(|w| w[..4] == [4, 0, 0, 0] && w[8..12] == [0x12, 0, 0, 0] && &w[12..16] == b"Xen\0");
    Ok((elf.starts_with(b"\x7fELF") && pvh).then_some(elf))
}

fn find_entry(dir: &Path, wanted: impl Fn(&str) -> bool) -> Result<PathBuf, String> {
    std::fs::read_dir(dir)
        .map_err(|e| format!("listing {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().and_then(|f| f.to_str()).is_some_and(&wanted))
        .ok_or_else(|| format!("nothing wanted in {}", dir.display()))
}

/// [`MODULES`] and what they depend on, dependencies first, decompressed,
/// leaving out what `modules.builtin` lists. The package carries no
/// `modules.dep` (depmod writes it on install), so the dependencies come
/// from each module's own `.modinfo` (`depends=`).
fn module_closure(tree: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let builtin_text = std::fs::read_to_string(tree.join("modules.builtin"))
        .map_err(|e| format!("reading {}: {e}", tree.join("modules.builtin").display()))?;
    let builtin: HashSet<String> = builtin_text
        .lines()
        .filter_map(|l| l.rsplit('/').next()?.strip_suffix(".ko"))
        .map(module_name)
        .collect();
    let mut files = HashMap::new();
    index_modules(&tree.join("kernel"), &mut files)?;
    let mut done = Vec::new();
    let mut seen = HashSet::new();
    for m in MODULES {
        visit(m, &builtin, &files, &mut seen, &mut done)?;
    }
    Ok(done)
}

/// A module's name as the kernel compares them (`-` and `_` alike).
fn module_name(file_stem: &str) -> String {
    file_stem.replace('-', "_")
}

fn index_modules(dir: &Path, files: &mut HashMap<String, PathBuf>) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("listing {}: {e}", dir.display()))? {
        let path = entry
            .map_err(|e| format!("listing {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            index_modules(&path, files)?;
        } else if let Some(f) = path.file_name().and_then(|f| f.to_str())
            && let Some((stem, _)) = f.split_once(".ko")
        {
            files.insert(module_name(stem), path.clone());
        }
    }
    Ok(())
}

fn visit(
    name: &str,
    builtin: &HashSet<String>,
    files: &HashMap<String, PathBuf>,
    seen: &mut HashSet<String>,
    done: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), String> {
    let name = module_name(name);
    if builtin.contains(&name) || !seen.insert(name.clone()) {
        return Ok(());
    }
    let path = files
        .get(&name)
        .ok_or_else(|| format!("the kernel package has no module {name}"))?;
    let data = read_module(path)?;
    for dep in modinfo(&data, "depends")
        .split(',')
        .filter(|d| !d.is_empty())
    {
        visit(dep, builtin, files, seen, done)?;
    }
    done.push((name, data));
    Ok(())
}

/// A module file's contents, decompressed (Debian compresses them with
/// xz from 6.2 on; busybox's insmod loads only plain ones).
fn read_module(path: &Path) -> Result<Vec<u8>, String> {
    let tool = match path.extension().and_then(|e| e.to_str()) {
        Some("xz") => "xz",
        Some("zst") => "zstd",
        Some("gz") => "gzip",
        _ => return std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display())),
    };
    let out = Command::new(tool)
        .arg("-dc")
        .arg(path)
        .output()
        .map_err(|e| format!("running {tool} on {}: {e}", path.display()))?;
    check(&out, &format!("{tool} -dc {}", path.display()))?;
    Ok(out.stdout)
}

/// The value of `key=` in a module's `.modinfo` strings (NUL-separated);
/// empty when it has none.
fn modinfo(data: &[u8], key: &str) -> String {
    let needle = format!("\0{key}=");
    let needle = needle.as_bytes();
    data.windows(needle.len())
        .position(|w| w == needle)
        .map(|at| {
            let rest = &data[at + needle.len()..];
            let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
            String::from_utf8_lossy(&rest[..end]).into_owned()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The initramfs: a cpio ("newc") of busybox, the modules, init and tests.

struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn new() -> Cpio {
        Cpio {
            out: Vec::new(),
            ino: 0,
        }
    }

    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.ino += 1;
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            1, // nlink
            0, // mtime
            u32::try_from(data.len()).expect("initramfs files are small"),
            0, // devmajor
            0, // devminor
            rdev.0,
            rdev.1,
            u32::try_from(name.len() + 1).expect("short names"),
            0, // check
        ];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040_755, (0, 0), b"");
    }

    fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100_000 | mode, (0, 0), data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), b"");
        self.out
    }
}

/// The initramfs of `kernel`, its test list `tests` as `/tests`. The
/// kernel opens `/dev/console` for init before anything is mounted, so
/// the node is in the archive.
fn initramfs(kernel: &Prepared, tests: &str, keep: &str) -> Result<Vec<u8>, String> {
    let busybox = std::fs::read("/bin/busybox")
        .map_err(|e| format!("reading /bin/busybox (Debian's busybox-static): {e}"))?;
    let mut cpio = Cpio::new();
    for d in ["bin", "dev", "modules"] {
        cpio.dir(d);
    }
    cpio.entry("dev/console", 0o020_600, (5, 1), b"");
    cpio.file("bin/busybox", 0o755, &busybox);
    cpio.file("init", 0o755, INIT.as_bytes());
    cpio.file("tests", 0o644, tests.as_bytes());
    cpio.file("keep", 0o644, keep.as_bytes());
    let mods = kernel.dir.join("modules");
    let order = std::fs::read_to_string(mods.join("order"))
        .map_err(|e| format!("reading {}: {e}", mods.join("order").display()))?;
    cpio.file("modules/order", 0o644, order.as_bytes());
    for m in order.lines() {
        let data = std::fs::read(mods.join(m))
            .map_err(|e| format!("reading {}: {e}", mods.join(m).display()))?;
        cpio.file(&format!("modules/{m}"), 0o644, &data);
    }
    Ok(cpio.finish())
}

/// The host's directories the guest must see as they are, one a line:
/// the checkout and the directory the test executables and `pinns` were
/// built in. Either may lie where the guest mounts a tmpfs (a checkout
/// under /tmp, as a CI's fresh clone may be), so init carries them over
/// those mounts.
fn kept_dirs(binaries: &[(String, PathBuf)]) -> String {
    let root = crate::root();
    let mut dirs = vec![root.clone()];
    // target/debug/deps/NAME-HASH: target/debug holds `pinns` too.
    for (_, exe) in binaries {
        if let Some(built) = exe.parent().and_then(Path::parent)
            && !dirs.iter().any(|d| built.starts_with(d))
        {
            dirs.push(built.to_path_buf());
        }
    }
    dirs.iter().map(|d| format!("{}\n", d.display())).collect()
}

/// The script PID 1 runs in the guest, in the binary's package (cli/, of
/// the checkout) as cargo runs its tests there, then powers off. Its lines are what [`Verdict`] reads.
fn tests_script(binaries: &[(String, PathBuf)]) -> String {
    let mut s = String::new();
    s.push_str("export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
    s.push_str("export HOME=/root RUST_BACKTRACE=1\n");
    s.push_str(&format!(
        "cd {}\n",
        quote(&crate::root().join("cli").display().to_string())
    ));
    s.push_str("echo \"pinns-vm: release $(uname -r), up $(cut -d' ' -f1 /proc/uptime) s\"\n");
    for (name, exe) in binaries {
        let filters: Vec<String> = TESTS
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, f)| f.iter().map(|f| quote(f)).collect())
            .unwrap_or_default();
        s.push_str(&format!(
            "{} --test-threads=2 --color=never {} </dev/null 2>&1\n\
             echo \"pinns-vm: exit {name} $? $(cut -d' ' -f1 /proc/uptime)\"\n",
            quote(&exe.display().to_string()),
            filters.join(" ")
        ));
    }
    s.push_str("echo 'pinns-vm: done'\nexec /bin/busybox reboot -f\n");
    s
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

// ---------------------------------------------------------------------------
// Booting.

/// The QEMU command line of a guest, minus what is per run.
fn qemu(kernel: &Prepared, initrd: Option<&Path>, accel: &str) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-nodefaults", "-no-user-config", "-display", "none"])
        .args(["-no-reboot", "-serial", "stdio", "-m", "1024"])
        // One CPU: TCG runs several as threads, and then a guest's kernel
        // patching its own code (static keys) may run a half-patched
        // instruction (seen: an int3 oops in 6.12 with two).
        .args(["-smp", "1", "-machine", "pc", "-accel", accel])
        // qboot, not SeaBIOS: it starts the kernel at once, where SeaBIOS
        // takes seconds under TCG.
        .args(["-bios", "qboot.rom"])
        // Under KVM the host's CPU; under TCG everything TCG emulates, so
        // that the host's binaries find the instructions they expect.
        .args(["-cpu", if accel == "kvm" { "host" } else { "max" }])
        .arg("-kernel")
        .arg(kernel.image())
        // panic=-1: a panic reboots, which -no-reboot turns into an exit.
        // no_timer_check: the kernel's boot-time check that the timer
        // ticks in time fails when an emulated CPU is starved (seen: 5.10
        // panicking "IO-APIC + timer doesn't work" on a loaded machine).
        .args([
            "-append",
            "console=ttyS0 quiet loglevel=1 panic=-1 no_timer_check",
        ])
        .args([
            "-fsdev",
            "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device",
            "virtio-9p-pci,fsdev=root,mount_tag=hostroot",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(initrd) = initrd {
        cmd.arg("-initrd").arg(initrd);
    }
    cmd
}

/// Whether KVM can run a guest here: the first kernel, booted under KVM
/// with no root, must print its banner within seconds (it then panics,
/// and QEMU exits). Where KVM is missing or broken this fails fast or
/// hangs, and is killed.
fn kvm_works(kernel: &Prepared) -> bool {
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return false;
    }
    let mut cmd = qemu(kernel, None, "kvm");
    let Ok(mut child) = cmd.spawn() else {
        return false;
    };
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("Linux version") {
                let _ = tx.send(());
                return;
            }
        }
    });
    let works = rx.recv_timeout(Duration::from_secs(5)).is_ok();
    let _ = child.kill();
    let _ = child.wait();
    works
}

/// What a guest did.
struct Verdict {
    release: String,
    passed: u32,
    failed: u32,
    /// Failed tests, and binaries that ended without a summary.
    failures: Vec<String>,
    /// Why the run as a whole is void (no boot, timeout, crash).
    broken: Option<String>,
    secs: u64,
    log: PathBuf,
}

impl Verdict {
    fn ok(&self) -> bool {
        self.broken.is_none() && self.failed == 0 && self.failures.is_empty()
    }

    fn line(&self) -> String {
        let mut line = format!(
            "real kernel {}: {} passed, {} failed ({} s)",
            self.release, self.passed, self.failed, self.secs
        );
        if let Some(why) = &self.broken {
            line.push_str(&format!(": {why}"));
        }
        for f in &self.failures {
            line.push_str(&format!("\n  failed: {f}"));
        }
        if !self.ok() {
            line.push_str(&format!("\n  console log: {}", self.log.display()));
        }
        line
    }
}

fn boot(dir: &Path, kernel: &Prepared, binaries: &[(String, PathBuf)], accel: &str) -> Verdict {
    let start = Instant::now();
    let log = dir.join(format!("{}.log", kernel.release));
    let mut verdict = Verdict {
        release: kernel.release.clone(),
        passed: 0,
        failed: 0,
        failures: Vec::new(),
        broken: None,
        secs: 0,
        log: log.clone(),
    };
    match guest(dir, kernel, binaries, accel, &log) {
        Ok(lines) => read_console(&lines, binaries, &mut verdict),
        Err(e) => verdict.broken = Some(e),
    }
    verdict.secs = start.elapsed().as_secs();
    verdict
}

/// Boots the guest and returns its console, line by line (also written to
/// `log`), once it has powered off; fails when it outlives
/// [`GUEST_TIMEOUT`], after killing it.
fn guest(
    dir: &Path,
    kernel: &Prepared,
    binaries: &[(String, PathBuf)],
    accel: &str,
    log: &Path,
) -> Result<Vec<String>, String> {
    let initrd = dir.join(format!("{}.initramfs", kernel.release));
    let keep = kept_dirs(binaries);
    write(&initrd, &initramfs(kernel, &tests_script(binaries), &keep)?)?;
    let mut child = qemu(kernel, Some(&initrd), accel)
        .spawn()
        .map_err(|e| format!("starting qemu-system-x86_64 (Debian's qemu-system-x86): {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let mut file =
        std::fs::File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let (lines, errors) = std::thread::scope(|s| {
        let errors = s.spawn(|| {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
            text
        });
        let started = Instant::now();
        let lines = s.spawn(move || {
            let mut lines = Vec::new();
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
                // The log says when each line came, from QEMU's start.
                let _ = write!(file, "[{:6.1}] ", started.elapsed().as_secs_f64());
                let _ = file.write_all(&buf);
                let line = String::from_utf8_lossy(&buf);
                lines.push(line.trim_end_matches(['\n', '\r']).to_string());
                buf.clear();
            }
            lines
        });
        let deadline = start_deadline();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Ok(None) => {
                    // Ours, by pid: the QEMU this function started.
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(format!(
                        "no power-off within {} s, killed",
                        GUEST_TIMEOUT.as_secs()
                    ));
                }
                Err(e) => break Err(format!("waiting for qemu: {e}")),
            }
        };
        (
            status.map(|_| lines.join().expect("the reader does not panic")),
            errors.join().expect("the reader does not panic"),
        )
    });
    let _ = std::fs::remove_file(&initrd);
    let lines = lines?;
    let errors = errors.trim();
    if !errors.is_empty() && !lines.iter().any(|l| l.starts_with("pinns-vm: done")) {
        return Err(format!("qemu: {}", errors.lines().last().unwrap_or(errors)));
    }
    Ok(lines)
}

fn start_deadline() -> Instant {
    Instant::now() + GUEST_TIMEOUT
}

/// Reads the guest's console: libtest's summaries (`test result: …`), the
/// failed tests (`test NAME ... FAILED`), and the init's own lines.
fn read_console(lines: &[String], binaries: &[(String, PathBuf)], v: &mut Verdict) {
    let mut exited = Vec::new();
    let mut done = false;
    let mut summarised = HashSet::new();
    for line in lines {
        // The script runs the binaries in order, one at a time.
        let current = binaries.get(exited.len()).map(|(n, _)| n.as_str());
        if let Some(r) = line.strip_prefix("pinns-vm: release ") {
            v.release = r.split(',').next().unwrap_or(r).trim().to_string();
        } else if let Some(why) = line.strip_prefix("pinns-vm: boot failed: ") {
            v.broken = Some(format!("boot failed: {why}"));
        } else if let Some(rest) = line.strip_prefix("pinns-vm: exit ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(code)) = (parts.next(), parts.next()) {
                exited.push(name.to_string());
                if code != "0" && !summarised.contains(name) {
                    v.failures
                        .push(format!("{name}: exit {code} without a test summary"));
                }
            }
        } else if line.starts_with("pinns-vm: done") {
            done = true;
        } else if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |word: &str| {
                rest.split(';')
                    .find_map(|p| {
                        p.trim()
                            .strip_suffix(word)?
                            .trim()
                            .rsplit(' ')
                            .next()?
                            .parse::<u32>()
                            .ok()
                    })
                    .unwrap_or(0)
            };
            v.passed += count("passed");
            v.failed += count("failed");
            if let Some(name) = current {
                summarised.insert(name.to_string());
            }
        } else if let Some(test) = line
            .strip_prefix("test ")
            .and_then(|t| t.strip_suffix(" ... FAILED"))
        {
            let name = current.unwrap_or("?");
            v.failures.push(format!("{name}: {test}"));
        }
    }
    if let Some(panic) = lines.iter().find(|l| l.contains("Kernel panic")) {
        v.broken = Some(panic.trim().to_string());
    }
    if v.broken.is_none() && !done {
        v.broken = Some(match exited.last() {
            Some(last) => format!("the guest stopped after {last}, before the end"),
            None => "the guest ran no test (did it boot?)".to_string(),
        });
    }
}

// ---------------------------------------------------------------------------
// Small helpers.

fn mkdir(path: &Path) -> Result<(), String> {
    std::fs::create_dir_all(path).map_err(|e| format!("creating {}: {e}", path.display()))
}

fn write(path: &Path, data: &[u8]) -> Result<(), String> {
    std::fs::write(path, data).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn check(out: &std::process::Output, what: &str) -> Result<(), String> {
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "{what} failed ({}): {}",
        out.status,
        err.lines().last().unwrap_or("").trim()
    ))
}

fn run_quiet(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("running {cmd:?}: {e}"))?;
    check(&out, &format!("{cmd:?}"))
}
