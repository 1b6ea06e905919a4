//! ip-netns parity and leaked pins, black-box and checked
//! against the kernel's view: `pinns exec` gives the command the mounts of
//! `ip netns exec` (its own mount namespace, a sysfs of the pod, the files
//! of `/etc/netns/NAME`), `pinns list` counts the processes inside each
//! pinned namespace and `--pid` tells which pins a process is in, and
//! `pinns prune` removes stale pins and nothing else, even with pins of
//! new names being made at the same time.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;

/// `/etc/netns/NAME` with some files, removed when dropped (with
/// `/etc/netns` too once empty, unless it was there before these tests).
struct EtcNetns {
    dir: PathBuf,
}

const ETC_NETNS: &str = "/etc/netns";

/// Whether `/etc/netns` existed before any test of this process made it.
fn etc_netns_was_there() -> bool {
    static THERE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *THERE.get_or_init(|| Path::new(ETC_NETNS).exists())
}

impl EtcNetns {
    fn new(name: &str, files: &[(&str, &str)]) -> EtcNetns {
        etc_netns_was_there();
        let dir = Path::new(ETC_NETNS).join(name);
        // Another test's guard may remove an empty /etc/netns between our
        // making it and making NAME in it: try again.
        let mut tries = 0;
        while let Err(e) = fs::create_dir_all(&dir) {
            tries += 1;
            assert!(tries < 10, "creating {}: {e}", dir.display());
        }
        let guard = EtcNetns { dir };
        for (file, text) in files {
            fs::write(guard.dir.join(file), text).unwrap();
        }
        guard
    }
}

impl Drop for EtcNetns {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        if !etc_netns_was_there() {
            // Fails, harmlessly, while another test still has a NAME there.
            let _ = fs::remove_dir(ETC_NETNS);
        }
    }
}

/// A bridge in the host's network namespace, deleted when dropped.
struct HostLink(String);

impl HostLink {
    fn new(tag: &str) -> HostLink {
        // At most 15 bytes (IFNAMSIZ), unique to this test process.
        let name = format!("pt{}{tag}", std::process::id() % 1_000_000);
        sh("ip", &["link", "add", &name, "type", "bridge"]);
        HostLink(name)
    }
}

impl Drop for HostLink {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
    }
}

/// The host's mounts on `/sys` and `/etc` and beneath them: id, point,
/// type and source, which `exec` must leave as they were.
fn host_sys_etc_mounts() -> Vec<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut mounts: Vec<String> = text
        .lines()
        .filter(|l| {
            let point = l.split(' ').nth(4).unwrap_or("");
            ["/sys", "/etc"]
                .iter()
                .any(|top| point == *top || point.starts_with(&format!("{top}/")))
        })
        .map(str::to_string)
        .collect();
    mounts.sort();
    mounts
}

/// Runs `sh -c SCRIPT` through `pinns exec` and returns its stdout.
fn exec_sh(d: &PinDir, args: &[&str], script: &str) -> String {
    let mut full = vec!["exec"];
    full.extend(args);
    full.extend(["--", "sh", "-c", script]);
    stdout(&d.must(&full))
}

#[test]
fn exec_gives_the_command_the_mounts_of_ip_netns_exec() {
    let d = PinDir::new();
    let name = unique("view");
    // Files that exist on the host, so that there is something to replace.
    for etc in ["/etc/resolv.conf", "/etc/hosts"] {
        assert!(Path::new(etc).exists(), "{etc} is missing on this host");
    }
    let resolv = format!("nameserver 192.0.2.53\n# {name}\n");
    let hosts = format!("192.0.2.1 {name}\n");
    let _etc = EtcNetns::new(
        &name,
        &[
            ("resolv.conf", &resolv),
            ("hosts", &hosts),
            ("no-such-file-in-etc", "skipped\n"),
        ],
    );
    let host_link = HostLink::new("h");
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap();
    let host_mounts = host_sys_etc_mounts();

    // A pod with lo, a bridge of its own and (unused until the end) a
    // mount namespace pin.
    d.must(&["-f", &name, "--net", "--loopback", "--mnt"]);
    d.must(&[
        "exec", "-f", &name, "--net", "--", "ip", "link", "add", "podbr0", "type", "bridge",
    ]);

    let script = "ls /sys/class/net; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hosts; \
                  echo ---; readlink /proc/self/ns/mnt; test ! -e /etc/no-such-file-in-etc";
    let out = exec_sh(&d, &["-f", &name, "--net"], script);
    let parts: Vec<&str> = out.split("---\n").collect();
    assert_eq!(parts.len(), 4, "{out}");
    let links: Vec<&str> = parts[0].lines().collect();
    assert!(links.contains(&"lo"), "{out}");
    assert!(links.contains(&"podbr0"), "{out}");
    assert!(
        !links.contains(&host_link.0.as_str()),
        "the host's {} shows inside: {out}",
        host_link.0
    );
    assert_eq!(parts[1], resolv);
    assert_eq!(parts[2], hosts);
    let host_mnt = fs::read_link("/proc/self/ns/mnt").unwrap();
    assert_ne!(
        parts[3].trim(),
        host_mnt.to_str().unwrap(),
        "not a mount namespace of its own"
    );

    // Nothing came back to the host.
    assert_eq!(host_sys_etc_mounts(), host_mounts);
    assert_eq!(fs::read_to_string("/etc/resolv.conf").unwrap(), host_resolv);

    // --no-netns-mounts: the network namespace alone, the host's mounts.
    let out = exec_sh(
        &d,
        &["-f", &name, "--net", "--no-netns-mounts"],
        "ls /sys/class/net; echo ---; cat /etc/resolv.conf",
    );
    let (links, resolv_seen) = out.split_once("---\n").unwrap();
    assert!(links.lines().any(|l| l == host_link.0), "{out}");
    assert_eq!(resolv_seen, host_resolv);
    let out = exec_sh(
        &d,
        &["-f", &name, "--net", "--no-netns-mounts"],
        "readlink /proc/self/ns/mnt",
    );
    assert_eq!(out.trim(), host_mnt.to_str().unwrap());

    // With the mnt pin entered, the pinned mount namespace as it is.
    let mnt_pin = d.pin("mnt", &name);
    let out = exec_sh(
        &d,
        &["-f", &name],
        "readlink /proc/self/ns/mnt; echo ---; cat /etc/resolv.conf",
    );
    let (mnt_seen, resolv_seen) = out.split_once("---\n").unwrap();
    assert_eq!(mnt_seen.trim(), format!("mnt:[{}]", inode(&mnt_pin)));
    assert_eq!(resolv_seen, host_resolv);
    assert_eq!(host_sys_etc_mounts(), host_mounts);
}

/// A pod with a user namespace and no mount pin: the mounts are made
/// before the user namespace is entered, so the command, root in the pod,
/// still gets the pod's sysfs and the /etc/netns files.
#[test]
fn exec_gives_a_user_namespace_pod_the_same_mounts() {
    let d = PinDir::new();
    let name = unique("userview");
    let resolv = format!("nameserver 192.0.2.54\n# {name}\n");
    let _etc = EtcNetns::new(&name, &[("resolv.conf", &resolv)]);
    let host_mounts = host_sys_etc_mounts();
    d.must(&[
        "-f",
        &name,
        "--user",
        "--uid-mapping=0-100000-65536",
        "--gid-mapping=0-100000-65536",
        "--net",
        "--loopback",
    ]);
    let out = exec_sh(
        &d,
        &["-f", &name],
        "id -u; echo ---; ls /sys/class/net; echo ---; cat /etc/resolv.conf",
    );
    let parts: Vec<&str> = out.split("---\n").collect();
    assert_eq!(parts, ["0\n", "lo\n", resolv.as_str()], "{out}");
    assert_eq!(host_sys_etc_mounts(), host_mounts);
}

/// Starts `cmd`, killed and reaped on drop, and waits until its net
/// namespace is `ino`.
fn inside(cmd: &mut Command, ino: u64) -> Child {
    let child = Child::spawn(cmd.stdin(Stdio::null()).stdout(Stdio::null()));
    let link = format!("/proc/{}/ns/net", child.pid());
    wait_for(
        || fs::metadata(&link).is_ok_and(|_| inode(Path::new(&link)) == ino),
        "a process inside the pod",
    );
    child
}

fn pids_of(doc: &serde_json::Value, name: &str, ty: &str) -> Vec<u64> {
    doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == name)
        .flat_map(|e| e["pins"].as_array().unwrap())
        .find(|p| p["type"] == ty)
        .unwrap_or_else(|| panic!("no {ty} pin of {name}: {doc}"))["pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect()
}

#[test]
fn list_counts_processes_and_identifies_a_process() {
    let d = PinDir::new();
    d.must(&["-f", "pod", "--net", "--uts"]);
    d.must(&["-f", "empty", "--net"]);
    fs::write(d.pin("net", "leak"), b"").unwrap();
    let net = d.pin("net", "pod");
    let ino = inode(&net);
    let by_nsenter = inside(
        Command::new("nsenter")
            .arg(format!("--net={}", net.display()))
            .args(["sleep", "30"]),
        ino,
    );
    let by_exec = inside(
        pinns_command().args([
            "exec",
            "-d",
            d.path().to_str().unwrap(),
            "-f",
            "pod",
            "--",
            "sleep",
            "30",
        ]),
        ino,
    );
    let (a, b) = (u64::from(by_nsenter.pid()), u64::from(by_exec.pid()));

    let doc: serde_json::Value =
        serde_json::from_slice(&d.must(&["list", "--json"]).stdout).unwrap();
    let mut both = vec![a, b];
    both.sort();
    assert_eq!(pids_of(&doc, "pod", "net"), both);
    assert_eq!(pids_of(&doc, "pod", "uts"), [b]);
    assert_eq!(pids_of(&doc, "empty", "net"), Vec::<u64>::new());
    assert_eq!(pids_of(&doc, "leak", "net"), Vec::<u64>::new());

    // The table: the old columns, then PROCS.
    let table = stdout(&d.must(&["list"]));
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["NAME", "TYPE", "INODE", "STATE", "PROCS"],
        "{table}"
    );
    let row = |name: &str, ty: &str| {
        rows.iter()
            .find(|r| r[0] == name && r[1] == ty)
            .unwrap_or_else(|| panic!("no {name} {ty} in {table}"))
            .clone()
    };
    assert_eq!(row("pod", "net")[3..], ["live", "2"]);
    assert_eq!(row("pod", "uts")[3..], ["live", "1"]);
    assert_eq!(row("empty", "net")[3..], ["live", "0"]);
    assert_eq!(row("leak", "net")[3..], ["stale", "-"]);
    assert_eq!(row("pod", "net")[2], ino.to_string());

    // --pid: only the pins the process is in (ip netns identify).
    let table = stdout(&d.must(&["list", "--pid", &a.to_string()]));
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 1, "{table}");
    assert_eq!(rows[0][..2], ["pod", "net"]);
    let out = d.must(&["list", "--pid", &b.to_string(), "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pins = doc["names"][0]["pins"].as_array().unwrap();
    assert_eq!(doc["names"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(pins.len(), 2, "{doc}");
    // In no pin: nothing printed, success.
    let out = d.must(&["list", "--pid", &std::process::id().to_string()]);
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    // No such process: one line, exit 1.
    let out = d.pinns(&["list", "--pid", "999999999"]);
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("no such process"), "{err}");

    drop(by_nsenter);
    drop(by_exec);
    let doc: serde_json::Value =
        serde_json::from_slice(&d.must(&["list", "--json"]).stdout).unwrap();
    assert_eq!(pids_of(&doc, "pod", "net"), Vec::<u64>::new());
}

/// Every kind of thing prune must leave alone, planted under `d`.
fn plant_keepers(d: &PinDir) -> Vec<PathBuf> {
    let netns = d.path().join("netns");
    let full = netns.join("full");
    fs::write(&full, b"data").unwrap();
    let outside = d.path().join("outside-empty");
    fs::write(&outside, b"").unwrap();
    let link = netns.join("link");
    symlink(&outside, &link).unwrap();
    let dir = netns.join("dir");
    fs::create_dir(&dir).unwrap();
    let hard = netns.join("hard");
    fs::write(&hard, b"").unwrap();
    // (A second link in the same directory: DIR/netns is a mount of its
    // own, and a hard link cannot cross mounts.)
    let hard2 = netns.join("hard2");
    fs::hard_link(&hard, &hard2).unwrap();
    // An empty file with another empty file bind-mounted on it: a mount of
    // something that is not a namespace (PinDir unmounts it on drop).
    let mounted = netns.join("mounted");
    fs::write(&mounted, b"").unwrap();
    sh(
        "mount",
        &[
            "--bind",
            outside.to_str().unwrap(),
            mounted.to_str().unwrap(),
        ],
    );
    vec![full, link, dir, hard, mounted, hard2]
}

#[test]
fn prune_removes_stale_pins_and_nothing_else() {
    let d = PinDir::new();
    d.must(&["-f", "live", "--net", "--ipc"]);
    let live: Vec<PathBuf> = ["net", "ipc"].iter().map(|t| d.pin(t, "live")).collect();
    let live_inodes: Vec<u64> = live.iter().map(|p| inode(p)).collect();
    let stale = [d.pin("net", "stale"), d.pin("ipc", "stale")];
    for p in &stale {
        fs::write(p, b"").unwrap();
    }
    let keepers = plant_keepers(&d);

    // --dry-run: says what it would do, does nothing.
    let out = d.must(&["prune", "--dry-run"]);
    let mut said: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    said.sort();
    let mut want: Vec<String> = stale
        .iter()
        .map(|p| format!("would remove {}", p.display()))
        .collect();
    want.sort();
    assert_eq!(said, want);
    assert!(stale.iter().all(|p| p.exists()));
    let err = stderr(&out);
    for k in &keepers {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("pinns: kept {}: ", k.display()))),
            "{} not reported as kept: {err}",
            k.display()
        );
    }
    assert_eq!(err.lines().count(), keepers.len(), "{err}");

    // For real.
    let out = d.must(&["prune"]);
    let mut said: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    said.sort();
    let want: Vec<String> = want
        .iter()
        .map(|l| l.replacen("would remove", "removed", 1))
        .collect();
    assert_eq!(said, want);
    assert!(stale.iter().all(|p| !p.exists()));
    for k in &keepers {
        assert!(
            fs::symlink_metadata(k).is_ok(),
            "{} was removed",
            k.display()
        );
    }
    assert_eq!(fs::read(&keepers[0]).unwrap(), b"data");
    assert!(
        fs::symlink_metadata(&keepers[1])
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        mounts_under(d.path())
            .iter()
            .any(|m| m.mount_point == keepers[4])
    );
    for (p, ino) in live.iter().zip(&live_inodes) {
        assert_eq!(inode(p), *ino, "{} changed", p.display());
    }
    assert_eq!(ns_mounts_under(d.path()).len(), 2);

    // --json, after a new leftover.
    fs::write(&stale[0], b"").unwrap();
    let out = d.must(&["prune", "--json"]);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["dir"], d.path().to_str().unwrap());
    assert_eq!(
        doc["removed"],
        serde_json::json!([stale[0].to_str().unwrap()])
    );
    let kept = doc["kept"].as_array().unwrap();
    assert_eq!(kept.len(), keepers.len(), "{doc}");
    let why = |p: &Path| {
        kept.iter()
            .find(|k| k["path"] == p.to_str().unwrap())
            .unwrap_or_else(|| panic!("{} not kept: {doc}", p.display()))["why"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(why(&keepers[0]), "not empty (4 bytes)");
    assert_eq!(why(&keepers[1]), "a symlink");
    assert_eq!(why(&keepers[2]), "a directory");
    assert_eq!(why(&keepers[3]), "the file has 2 hard links");
    assert!(why(&keepers[4]).contains("not a namespace"));
    assert_eq!(why(&keepers[5]), "the file has 2 hard links");
    assert!(!stale[0].exists());

    // Nothing stale: nothing said, success. A missing DIR likewise.
    let out = d.must(&["prune"]);
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    let out = pinns(&["prune", "-d", d.path().join("nowhere").to_str().unwrap()]);
    let out = out.assert_success();
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    // The live pins still hold their namespaces.
    d.must(&["exec", "-f", "live", "--", "true"]);
}

#[test]
fn prune_fails_on_a_type_directory_it_may_not_trust() {
    let d = PinDir::new();
    let elsewhere = d.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(elsewhere.join("x"), b"").unwrap();
    symlink(&elsewhere, d.path().join("netns")).unwrap();
    fs::create_dir(d.path().join("utsns")).unwrap();
    fs::write(d.pin("uts", "stale"), b"").unwrap();
    let out = d.pinns(&["prune"]);
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("not a directory"), "{err}");
    // The symlink's target is untouched; the rest was still pruned.
    assert!(elsewhere.join("x").exists());
    assert!(!d.pin("uts", "stale").exists());
    assert_eq!(
        stdout(&out),
        format!("removed {}\n", d.pin("uts", "stale").display())
    );
}

/// prune takes the lock pin takes around creating a file and mounting onto
/// it: pins of new names made while prune runs in a loop all succeed and
/// stay live, while real leftovers planted meanwhile are removed.
#[test]
fn prune_never_harms_pins_made_at_the_same_time() {
    const WORKERS: usize = 6;
    const PINS_EACH: usize = 8;
    let d = Arc::new(PinDir::new());
    // Type directories set up first, as on a node.
    d.must(&["-f", "first", "--net", "--uts"]);
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let pruner = {
        let (d, stop, rounds) = (d.clone(), stop.clone(), rounds.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let n = rounds.fetch_add(1, Ordering::Relaxed);
                let leftover = d.pin("net", &format!("leftover-{n}"));
                fs::write(&leftover, b"").unwrap();
                let out = d.pinns(&["prune"]);
                out.assert_success();
                assert!(!leftover.exists(), "{} was not pruned", leftover.display());
            }
        })
    };
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let d = d.clone();
            std::thread::spawn(move || {
                for i in 0..PINS_EACH {
                    let name = format!("race-{w}-{i}");
                    let out = d.pinns(&["-f", &name, "--net", "--uts"]);
                    out.assert_success();
                }
            })
        })
        .collect();
    let results: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
    stop.store(true, Ordering::Relaxed);
    let pruned = pruner.join();
    for r in results {
        r.expect("a pin failed");
    }
    pruned.expect("prune failed");
    assert!(rounds.load(Ordering::Relaxed) >= 2, "prune hardly ran");

    let doc: serde_json::Value =
        serde_json::from_slice(&d.must(&["list", "--json"]).stdout).unwrap();
    for w in 0..WORKERS {
        for i in 0..PINS_EACH {
            let name = format!("race-{w}-{i}");
            let entry = doc["names"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == name.as_str())
                .unwrap_or_else(|| panic!("{name} is gone: {doc}"));
            let pins = entry["pins"].as_array().unwrap();
            assert_eq!(pins.len(), 2, "{name}: {entry}");
            assert!(pins.iter().all(|p| p["state"] == "live"), "{name}: {entry}");
        }
    }
    assert_eq!(
        ns_mounts_under(d.path()).len(),
        2 * (WORKERS * PINS_EACH + 1)
    );
}
