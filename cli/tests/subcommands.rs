//! ip-netns-style use, black-box: unpin, list, exec, pid and time pins,
//! --from-pid, --loopback, propagation into other mount namespaces, and
//! `ip netns` working on our pins (and ours on its).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

fn nsenter(args: &[&str]) -> String {
    sh("nsenter", args)
}

fn flag(ty: &str, pin: &Path) -> String {
    format!("--{ty}={}", pin.display())
}

#[test]
fn fresh_pid_pin_makes_its_first_entrant_pid_1() {
    let d = PinDir::new();
    if !common::kernel::has_pid_ns_ioctl() {
        // Before 6.11: refused in one line, before anything is made.
        let out = d.pinns(&["-f", "p", "--pid"]);
        assert_eq!(stderr(&out), common::kernel::NO_PID_NS_IOCTL);
        assert_eq!(out.code(), Some(1));
        assert!(fs::read_dir(d.path()).unwrap().next().is_none());
        return;
    }
    d.must(&["-f", "p", "--pid"]);
    let pin = d.pin("pid", "p");
    assert_eq!(ns_type(&pin), libc::CLONE_NEWPID);
    assert_eq!(
        nsenter(&[&flag("pid", &pin), "sh", "-c", "echo $$"]).trim(),
        "1"
    );
    // Once that init has exited the kernel lets no one in (--pid asks to
    // enter it; with no type flags exec leaves it out).
    let out = d.pinns(&["exec", "-f", "p", "--pid", "--", "true"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Cannot allocate memory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn pid_pin_from_pid_equals_the_process_namespace() {
    let d = PinDir::new();
    let unshare = Child::spawn(
        Command::new("unshare")
            .args(["--pid", "--fork", "--kill-child", "sleep", "30"])
            .stdin(Stdio::null()),
    );
    let mut inner = Vec::new();
    wait_for(
        || {
            inner = children_of(unshare.pid());
            !inner.is_empty()
        },
        "unshare's child",
    );
    let sleeper = inner[0].to_string();
    let target = format!("/proc/{sleeper}/ns/pid");
    wait_for(
        || fs::metadata(&target).is_ok_and(|_| inode(Path::new(&target)) != own_ns("pid")),
        "the new pid ns",
    );
    d.must(&["-f", "fp", "--pid", "--from-pid", &sleeper]);
    assert_eq!(inode(&d.pin("pid", "fp")), inode(Path::new(&target)));
}

#[test]
fn time_pin_offsets_show_inside() {
    let d = PinDir::new();
    if !common::kernel::has_time_ns() {
        // Before 5.6: refused in one line, nothing left.
        let out = d.pinns(&["-f", "t", "--time", "--monotonic", "500"]);
        assert_eq!(stderr(&out), common::kernel::NO_TIME_NS);
        assert_eq!(out.code(), Some(1));
        assert!(pin_files_under(d.path()).is_empty());
        assert!(ns_mounts_under(d.path()).is_empty());
        return;
    }
    d.must(&[
        "-f",
        "t",
        "--time",
        "--boottime",
        "1000",
        "--monotonic",
        "500",
    ]);
    let pin = d.pin("time", "t");
    assert_eq!(ns_type(&pin), libc::CLONE_NEWTIME);
    let host: f64 = fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let inside = nsenter(&[&flag("time", &pin), "cat", "/proc/uptime"]);
    let inside: f64 = inside.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        (inside - host - 1000.0).abs() < 30.0,
        "uptime inside {inside}, host {host}"
    );
    let offsets = nsenter(&[&flag("time", &pin), "cat", "/proc/self/timens_offsets"]);
    let monotonic: Vec<&str> = offsets
        .lines()
        .find(|l| l.starts_with("monotonic"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(monotonic, ["monotonic", "500", "0"]);
    // Negative offsets, as unshare(1) allows.
    d.must(&["-f", "neg", "--time", "--monotonic", "-5"]);
    let offsets = nsenter(&[
        &flag("time", &d.pin("time", "neg")),
        "cat",
        "/proc/self/timens_offsets",
    ]);
    assert!(offsets.contains("-5"), "{offsets}");
}

#[test]
fn from_pid_pins_equal_the_process_and_outlive_it() {
    let d = PinDir::new();
    let mut pause = Child::spawn(
        Command::new("unshare")
            .args(["--net", "--ipc", "--uts", "sleep", "30"])
            .stdin(Stdio::null()),
    );
    let pid = pause.pid().to_string();
    let ns = |ty: &str| format!("/proc/{pid}/ns/{ty}");
    wait_for(
        || fs::metadata(ns("net")).is_ok_and(|_| inode(Path::new(&ns("net"))) != own_ns("net")),
        "unshare",
    );
    let want: Vec<u64> = ["net", "ipc", "uts"]
        .iter()
        .map(|t| inode(Path::new(&ns(t))))
        .collect();
    d.must(&["-f", "mig", "--net", "--ipc", "--uts", "--from-pid", &pid]);
    pause.0.kill().unwrap();
    pause.0.wait().unwrap();
    for (ty, want) in ["net", "ipc", "uts"].iter().zip(want) {
        let pin = d.pin(ty, "mig");
        assert_eq!(inode(&pin), want, "{ty}");
        // Still enterable after the process is gone.
        nsenter(&[&flag(ty, &pin), "true"]);
    }
    // Sysctls and mappings do not apply to existing namespaces.
    let out = d.pinns(&[
        "-f",
        "mig2",
        "--net",
        "--from-pid",
        &pid,
        "-s",
        "net.ipv4.ip_forward=1",
    ]);
    assert_one_line_failure(&out, 2);
    // A process that is gone is refused clearly.
    let out = d.pinns(&["-f", "gone", "--net", "--from-pid", "999999999"]);
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("no such process"), "{err}");
    assert!(!d.pin("net", "gone").exists());
}

#[test]
fn loopback_is_up() {
    let d = PinDir::new();
    d.must(&["-f", "lo", "--net", "--loopback"]);
    let link = nsenter(&[
        &flag("net", &d.pin("net", "lo")),
        "ip",
        "-o",
        "link",
        "show",
        "lo",
    ]);
    assert!(link.contains("UP"), "{link}");
    d.must(&["-f", "down", "--net"]);
    let link = nsenter(&[
        &flag("net", &d.pin("net", "down")),
        "ip",
        "-o",
        "link",
        "show",
        "lo",
    ]);
    assert!(
        !link.contains(",UP"),
        "a fresh namespace has lo down: {link}"
    );
}

#[test]
fn exec_runs_inside_and_passes_exit_codes() {
    let d = PinDir::new();
    d.must(&[
        "-f",
        "e",
        "--net",
        "--uts",
        "--ipc",
        "-s",
        "kernel.hostname=exec-host",
    ]);
    let out = d.must(&["exec", "-f", "e", "--", "hostname"]);
    assert_eq!(stdout(&out).trim(), "exec-host");
    let out = d.must(&["exec", "-f", "e", "--", "readlink", "/proc/self/ns/net"]);
    assert_eq!(
        stdout(&out).trim(),
        format!("net:[{}]", inode(&d.pin("net", "e")))
    );
    let out = d.pinns(&["exec", "-f", "e", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    // Only some types.
    let out = d.must(&[
        "exec",
        "-f",
        "e",
        "--uts",
        "--",
        "readlink",
        "/proc/self/ns/net",
    ]);
    assert_eq!(stdout(&out).trim(), format!("net:[{}]", own_ns("net")));
    // With a pid pin the command runs as a child, and the status still
    // passes. Before 6.11 a new one is refused in one line (cli/tests/kernels.rs
    // runs a command in a running process's pinned one on every kernel).
    if common::kernel::has_pid_ns_ioctl() {
        d.must(&["-f", "ep", "--pid", "--net"]);
        let out = d.pinns(&[
            "exec",
            "-f",
            "ep",
            "--pid",
            "--net",
            "--",
            "sh",
            "-c",
            "echo $$; exit 3",
        ]);
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(stdout(&out).trim(), "1");
    } else {
        let out = d.pinns(&["-f", "ep", "--pid", "--net"]);
        assert_eq!(stderr(&out), common::kernel::NO_PID_NS_IOCTL);
        assert!(!d.pin("net", "ep").exists());
    }
    // Not found: 127; missing pin: 1.
    let out = d.pinns(&["exec", "-f", "e", "--", "/no/such/command"]);
    assert_eq!(out.status.code(), Some(127));
    let out = d.pinns(&["exec", "-f", "nope", "--", "true"]);
    assert_one_line_failure(&out, 1);
}

#[test]
fn exec_enters_a_user_namespace_pod() {
    let d = PinDir::new();
    d.must(&[
        "-f",
        "u",
        "--user",
        "--uid-mapping=0-100000-65536",
        "--gid-mapping=0-100000-65536",
        "--net",
        "--uts",
        "--mnt",
        "-s",
        "kernel.hostname=upod",
    ]);
    let out = d.must(&[
        "exec",
        "-f",
        "u",
        "--",
        "sh",
        "-c",
        "id -u; hostname; cat /proc/self/uid_map",
    ]);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0");
    assert_eq!(lines[1], "upod");
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
}

#[test]
fn unpin_is_lazy_idempotent_and_cleans_leftovers() {
    let d = PinDir::new();
    d.must(&["-f", "u", "--net", "--ipc"]);
    let net = d.pin("net", "u");
    let ino = inode(&net);
    // A process inside keeps running, in the same namespace.
    let inside = Child::spawn(
        Command::new("nsenter")
            .arg(flag("net", &net))
            .args(["sleep", "30"]),
    );
    let link = format!("/proc/{}/ns/net", inside.pid());
    wait_for(
        || fs::metadata(&link).is_ok_and(|_| inode(Path::new(&link)) == ino),
        "nsenter",
    );
    d.must(&["unpin", "-f", "u"]);
    assert!(!net.exists() && !d.pin("ipc", "u").exists());
    assert!(ns_mounts_under(d.path()).is_empty());
    assert_eq!(
        inode(Path::new(&link)),
        ino,
        "the process was moved or killed"
    );
    // Missing is fine; so is a missing DIR.
    d.must(&["unpin", "-f", "u"]);
    let out = pinns(&[
        "unpin",
        "-d",
        d.path().join("nowhere").to_str().unwrap(),
        "-f",
        "u",
    ]);
    out.assert_success();
    // An empty leftover (a crash between create and mount) is removed.
    fs::write(&net, b"").unwrap();
    d.must(&["unpin", "-f", "u", "--net"]);
    assert!(!net.exists());
    // Only the named types.
    d.must(&["-f", "v", "--net", "--ipc"]);
    d.must(&["unpin", "-f", "v", "--ipc"]);
    assert!(d.pin("net", "v").exists() && !d.pin("ipc", "v").exists());
    // Something that is not a pin is left alone, with an error.
    fs::create_dir_all(d.path().join("utsns")).unwrap();
    fs::write(d.pin("uts", "w"), b"data").unwrap();
    let out = d.pinns(&["unpin", "-f", "w"]);
    assert_one_line_failure(&out, 1);
    assert_eq!(fs::read(d.pin("uts", "w")).unwrap(), b"data");
    fs::remove_file(d.pin("uts", "w")).unwrap();
}

#[test]
fn list_reports_live_and_stale() {
    let d = PinDir::new();
    let out = d.must(&["list", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["names"].as_array().unwrap().len(), 0);
    d.must(&["-f", "a", "--net", "--uts"]);
    d.must(&["-f", "b", "--ipc"]);
    fs::write(d.pin("net", "stale"), b"").unwrap();
    let out = d.must(&["list", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["dir"], d.path().to_str().unwrap());
    let names = doc["names"].as_array().unwrap();
    let by_name = |n: &str| {
        names
            .iter()
            .find(|e| e["name"] == n)
            .unwrap_or_else(|| panic!("{n} missing"))
    };
    let a = by_name("a")["pins"].as_array().unwrap();
    assert_eq!(a.len(), 2);
    for pin in a {
        assert_eq!(pin["state"], "live");
        let path = Path::new(pin["path"].as_str().unwrap());
        assert_eq!(pin["inode"].as_u64().unwrap(), inode(path));
    }
    let stale = &by_name("stale")["pins"][0];
    assert_eq!(stale["state"], "stale");
    assert_eq!(stale["type"], "net");
    assert_eq!(by_name("b")["pins"][0]["type"], "ipc");
    // The table has a line per pin.
    let table = stdout(&d.must(&["list"]));
    assert!(table.starts_with("NAME"), "{table}");
    assert_eq!(table.lines().count(), 1 + 4, "{table}");
    // NAME TYPE INODE STATE PROCS: a stale pin has no process count.
    assert!(
        table.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.first() == Some(&"stale") && cols[3..] == ["stale", "-"]
        }),
        "{table}"
    );
}

/// A pin made with `pinns pin` after another mount namespace bind-mounted DIR/netns (a CNI
/// plugin in a pod, say) appears there too, exactly once.
#[test]
fn later_pins_propagate_to_other_mount_namespaces_once() {
    let d = PinDir::new();
    d.must(&["pin", "-f", "first", "--net"]);
    let view = d.path().join("view");
    fs::create_dir(&view).unwrap();
    // As a CNI plugin in a pod would: its own bind of DIR/netns.
    let bind = format!(
        "mount --bind {} {} && mount --make-slave {}",
        d.path().join("netns").display(),
        view.display(),
        view.display()
    );
    let other = OtherMountNs::start(d.path(), "view", &bind);
    d.must(&["pin", "-f", "second", "--net"]);
    let seen = other.counts(&[view.join("second")]);
    assert_eq!(seen, [1], "the pin appeared {seen:?} times");
}

/// With -d /run the net pin is where `ip netns` looks, both ways round.
#[test]
fn ip_netns_works_on_our_pins_and_we_on_its() {
    let d = PinDir::new();
    let ours = unique("ours");
    let theirs = unique("theirs");
    d.track("/run", &ours);
    d.track("/run", &theirs);
    let _ip_guard = IpNetns(theirs.clone());
    let out = pinns(&["-d", "/run", "-f", &ours, "--net", "--loopback"]);
    out.assert_success();
    let list = sh("ip", &["netns", "list"]);
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().next() == Some(ours.as_str())),
        "{list}"
    );
    sh("ip", &["netns", "exec", &ours, "true"]);
    sh("ip", &["netns", "delete", &ours]);
    assert!(!Path::new("/run/netns").join(&ours).exists());

    sh("ip", &["netns", "add", &theirs]);
    let out = pinns(&["list", "-d", "/run", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["names"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == theirs.as_str())
    );
    let out = pinns(&["unpin", "-d", "/run", "-f", &theirs]);
    out.assert_success();
    assert!(!Path::new("/run/netns").join(&theirs).exists());
}

struct IpNetns(String);

impl Drop for IpNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .output();
    }
}

/// Runs `docs/SCRIPT ARGS` with the built binary as `PINNS`, asserts it
/// succeeded, and returns what it printed.
fn run_doc(script: &str, args: &[&str]) -> String {
    must(
        Command::new("sh")
            .arg(repo_root().join("docs").join(script))
            .args(args)
            .env("PINNS", PINNS),
    )
    .stdout_text()
}

/// The README's examples, run as written.
#[test]
fn readme_examples_run() {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let docs = repo_root().join("docs");
    for script in [
        "pod-namespaces.sh",
        "ip-netns-style.sh",
        "who-is-in-a-pod.sh",
        "leaked-pins.sh",
    ] {
        let text = fs::read_to_string(docs.join(script)).unwrap();
        let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
        assert!(
            readme.contains(&body),
            "README.md does not show docs/{script} as it is"
        );
    }
    let d = PinDir::new();
    let pod = unique("pod");
    let text = run_doc(
        "pod-namespaces.sh",
        &[d.path().to_str().unwrap(), pod.as_str()],
    );
    assert!(text.contains(&format!("hostname: {pod}")), "{text}");
    let ns = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix).map(str::to_string))
            .unwrap()
    };
    assert_eq!(ns("net namespace: "), ns("first process's net namespace: "));
    assert!(text.contains("br0"), "{text}");
    assert!(pin_files_under(d.path()).is_empty());

    let name = unique("blue");
    d.track("/run", &name);
    let text = run_doc("ip-netns-style.sh", &[name.as_str()]);
    assert!(
        text.contains("LOOPBACK,UP") && text.contains("127.0.0.1/8"),
        "{text}"
    );
    assert!(text.contains(" live"), "{text}");
    assert!(!Path::new("/run/netns").join(&name).exists());

    // Who is in a pod: PROCS, --pid, the pids in the JSON.
    let pod = unique("who");
    let text = run_doc(
        "who-is-in-a-pod.sh",
        &[d.path().to_str().unwrap(), pod.as_str()],
    );
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|r: &Vec<&str>| r.first() == Some(&pod.as_str()))
        .collect();
    let cols = |r: &Vec<&str>| (r[1].to_string(), r[3].to_string(), r[4].to_string());
    assert_eq!(
        rows.iter().map(cols).collect::<Vec<_>>(),
        [
            ("uts".into(), "live".into(), "1".into()),
            ("net".into(), "live".into(), "2".into()),
            ("net".into(), "live".into(), "2".into()),
        ],
        "{text}"
    );
    assert!(text.contains("\"pids\":["), "{text}");
    assert!(pin_files_under(d.path()).is_empty());

    // Leaked pins: prune removes the leftovers and keeps the notes.
    let pod = unique("leak");
    let out = must(
        Command::new("sh")
            .arg(docs.join("leaked-pins.sh"))
            .args([d.path().to_str().unwrap(), &pod])
            .env("PINNS", PINNS),
    );
    let text = stdout(&out);
    let leaked = |ty: &str| d.path().join(ty).join(format!("{pod}-leaked"));
    for ty in ["netns", "ipcns"] {
        let path = leaked(ty).display().to_string();
        assert!(text.contains(&format!("would remove {path}\n")), "{text}");
        assert!(text.contains(&format!("removed {path}\n")), "{text}");
    }
    let notes = d.path().join("netns").join(format!("{pod}-notes"));
    assert!(
        stderr(&out).contains(&format!("pinns: kept {}: not empty", notes.display())),
        "{}",
        stderr(&out)
    );
    assert!(pin_files_under(d.path()).is_empty());
}
