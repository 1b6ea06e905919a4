//! The pod's real neighbours: what consumes a pin is not pinns
//! but the CNI plugins CRI-O runs with `CNI_NETNS=<the net pin>`, and the
//! engines that join pins by path. Each test runs one of the README's
//! scripts (`docs/cni.sh`, `docs/podman.sh`, `docs/containerd.sh`) as
//! written, with the real programs from Debian's packages
//! (`containernetworking-plugins`, `podman`, `containerd`, `runc`,
//! `busybox-static`), checks what it printed against the kernel's view,
//! and checks that the machine is left as it was found: no pins, bridges,
//! iptables rules, sysctl changes, cgroups, engine state or processes.
//! (Pins and mounts are checked under the script's own pin directory.)
//!
//! The scripts run one at a time (a lock): this process is the subreaper of
//! whatever they leave running (containerd's shims, podman's conmon), and
//! reaps it after each one, so no two may overlap. podman and containerd
//! write a little machine-wide state of their own whatever their options
//! (a blob-info cache under `/var/lib/containers`, shim sockets under
//! `/run/containerd`); their scripts run in a private mount namespace with
//! a tmpfs over those directories, so that state dies with the run.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest one script may run before it is killed and the test fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// One script at a time: each is reaped after, as a subreaper's child.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// What a script may change on the machine, read before and after it.
#[derive(Debug, PartialEq, Eq)]
struct MachineState {
    bridges: BTreeSet<String>,
    iptables: String,
    sysctls: String,
    cgroups: BTreeSet<String>,
    engine_dirs: BTreeSet<String>,
}

fn output_of(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

impl MachineState {
    fn read() -> MachineState {
        let bridges = output_of("ip", &["-o", "link", "show", "type", "bridge"])
            .lines()
            .filter_map(|l| l.split(": ").nth(1).map(str::to_string))
            .collect();
        let iptables = ["filter", "nat", "mangle"]
            .iter()
            .map(|t| output_of("iptables", &["-w", "-t", t, "-S"]))
            .collect();
        let sysctls = ["net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"]
            .iter()
            .map(|k| fs::read_to_string(Path::new("/proc/sys").join(k)).unwrap_or_default())
            .collect();
        // Every cgroup directory directly below a hierarchy's root.
        let cgroups = fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|h| fs::read_dir(h.path()).into_iter().flatten().flatten())
            .filter(|e| e.path().is_dir())
            .map(|e| e.path().display().to_string())
            .collect();
        let engine_dirs = [
            "/run/containers",
            "/var/lib/containers",
            "/run/containerd",
            "/var/lib/containerd",
            "/var/lib/cni",
            "/run/libpod",
        ]
        .iter()
        .filter(|p| Path::new(p).exists())
        .map(|p| p.to_string())
        .collect();
        MachineState {
            bridges,
            iptables,
            sysctls,
            cgroups,
            engine_dirs,
        }
    }
}

/// Waits up to `grace` for every orphan handed to us to exit, reaping
/// each; kills (by pid: they descend from us) and reports those that do
/// not. Runs only while no other command of ours is running (the lock).
fn reap_orphans(grace: Duration) -> Vec<String> {
    let deadline = Instant::now() + grace;
    loop {
        // SAFETY: waitpid with WNOHANG on any child; only scripts' orphans
        // are our children here (one script at a time, after it ended).
        while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
        let left = children_of(std::process::id());
        if left.is_empty() {
            return Vec::new();
        }
        if Instant::now() > deadline {
            let named = left
                .iter()
                .map(|pid| {
                    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                    format!("{pid} {}", comm.trim())
                })
                .collect();
            for pid in &left {
                // SAFETY: kill(2) on a pid that is our own child.
                unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
            }
            while unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) } > 0 {}
            return named;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The output of one script run.
struct Run {
    stdout: String,
    stderr: String,
}

/// Runs `docs/SCRIPT ARGS` with `PINNS` set to the built binary; with
/// `private`, inside a private mount namespace with a tmpfs over each of
/// those directories. Fails on a non-zero exit, a timeout, a process left
/// behind or any change to the machine.
fn run_script(script: &str, args: &[&str], private: &[&str]) -> Run {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    become_subreaper();
    let path = repo_root().join("docs").join(script);
    let before = MachineState::read();

    let mut cmd = if private.is_empty() {
        let mut cmd = Command::new("sh");
        cmd.arg(&path);
        cmd
    } else {
        // The machine-wide directories become tmpfs in a mount namespace
        // of the script's own, made beforehand so that they exist.
        let mounts: String = private
            .iter()
            .map(|d| format!("mkdir -p {d} && mount -t tmpfs tmpfs {d} && "))
            .collect();
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!("{mounts}exec sh \"$0\" \"$@\""))
            .arg(&path);
        cmd
    };
    cmd.args(args)
        .env("PINNS", PINNS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let child = cmd.spawn().expect("run the script");
    let pgid = child.id();
    let watchdog = std::thread::spawn(move || {
        let deadline = Instant::now() + SCRIPT_TIMEOUT;
        while Instant::now() < deadline {
            if fs::metadata(format!("/proc/{pgid}")).is_err() || is_zombie(pgid) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: kill(2) of the process group we made for the script.
        unsafe { libc::kill(-(pgid as libc::pid_t), libc::SIGKILL) };
        true
    });
    let out = child.wait_with_output().expect("wait for the script");
    let timed_out = watchdog.join().unwrap();
    let left = reap_orphans(Duration::from_secs(10));
    let run = Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for d in private {
        // Made above only to mount the private tmpfs on; empty here.
        if !before.engine_dirs.contains(*d) {
            let _ = fs::remove_dir(d);
        }
    }
    let after = MachineState::read();
    assert!(!timed_out, "{script} ran over {SCRIPT_TIMEOUT:?}");
    assert!(
        out.status.success(),
        "{script} failed ({:?}):\n{}\n{}",
        out.status,
        run.stdout,
        run.stderr
    );
    assert!(left.is_empty(), "{script} left processes behind: {left:?}");
    assert_eq!(before, after, "{script} changed the machine");
    run
}

/// The README shows the script as it is.
fn assert_in_readme(script: &str) {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let text = fs::read_to_string(repo_root().join("docs").join(script)).unwrap();
    assert!(
        readme.contains(&text),
        "README.md does not show docs/{script} as it is"
    );
}

/// The line of `text` that starts with `prefix`, without it.
fn line_after<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line `{prefix}…` in:\n{text}"))
}

/// CNI: two pinned pods on one bridge (bridge + host-local), a ping
/// across, portmap reaching a pod's port from the "host", CHECK with the
/// prevResult, DEL twice, all inside a "host" network namespace pinned for
/// the purpose, so the machine's own network is never touched.
#[test]
fn cni_plugins_wire_pinned_pods_to_a_bridge() {
    assert_in_readme("cni.sh");
    let d = PinDir::new();
    let run = run_script("cni.sh", &[d.path().to_str().unwrap()], &[]);
    let out = &run.stdout;
    let addrs = line_after(out, "pod-a ");
    assert!(
        addrs.contains(", pod-b 192.0.2.") && addrs.contains(", host 192.0.2.1"),
        "{out}"
    );
    assert!(
        out.contains("1 received"),
        "no ping across the bridge: {out}"
    );
    assert!(out.contains("hello from pod-a"), "portmap: {out}");
    assert!(out.contains("CHECK pod-a: ok"), "{out}");
    assert!(
        out.contains("DEL pod-a (1): ok") && out.contains("DEL pod-a (2): ok"),
        "{out}"
    );
    assert!(pin_files_under(d.path()).is_empty(), "pins left");
    assert!(ns_mounts_under(d.path()).is_empty(), "pins left mounted");
}

/// podman: two containers join one pinned pod by path and talk over its
/// loopback, share its hostname and IPC namespace, and go; the pod stays.
/// Without --loopback, 127.0.0.1 is unreachable in the joined namespace.
#[test]
fn podman_containers_join_a_pinned_pod() {
    assert_in_readme("podman.sh");
    let d = PinDir::new();
    let pod = unique("podman");
    let run = run_script(
        "podman.sh",
        &[d.path().to_str().unwrap(), &pod],
        &["/var/lib/containers", "/run/containers"],
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    let out = &run.stdout;
    // The client's hostname, the server's page, and the message queue the
    // server made, seen from the client: one UTS, net and IPC namespace.
    assert_eq!(lines.first(), Some(&pod.as_str()), "{out}");
    assert!(out.contains(&format!("hello from {pod}")), "{out}");
    assert!(out.contains("from-web"), "IPC not shared: {out}");
    // After both containers: the pins are live, the hostname kept.
    for ty in ["net", "ipc", "uts"] {
        assert!(
            lines.iter().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() >= 4 && f[0] == pod && f[1] == ty && f[3] == "live"
            }),
            "{ty} pin not live after the containers went: {out}"
        );
    }
    assert!(lines.iter().filter(|l| **l == pod).count() >= 2, "{out}");
    assert!(
        out.contains("Network is unreachable") && out.contains("without --loopback: no connection"),
        "{out}"
    );
    assert!(pin_files_under(d.path()).is_empty(), "pins left");
}

/// containerd: the same pod through `ctr run --with-ns`, against a daemon
/// the script starts and stops by its pid.
#[test]
fn containerd_containers_join_a_pinned_pod() {
    assert_in_readme("containerd.sh");
    let d = PinDir::new();
    let pod = unique("ctr");
    let run = run_script(
        "containerd.sh",
        &[d.path().to_str().unwrap(), &pod],
        &["/run/containerd"],
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            pod.as_str(),
            &format!("hello from {pod}"),
            "from-web",
            pod.as_str()
        ],
        "{}",
        run.stderr
    );
    assert!(pin_files_under(d.path()).is_empty(), "pins left");
}
