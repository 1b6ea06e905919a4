//! Pinning, black-box: the built binary run as root under a temp dir, with
//! the kernel's own view checked (nsfs inodes, `NS_GET_NSTYPE`,
//! `/proc/self/mountinfo`, `nsenter`).

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn nsenter(flag: &str, pin: &Path, cmd: &[&str]) -> String {
    let mut args = vec![format!("--{flag}={}", pin.display())];
    args.extend(cmd.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sh("nsenter", &args)
}

/// The ip_forward a new network namespace does not start with (it takes
/// the host's, or the kernel's default, by the host's
/// `net.core.devconf_inherit_init_net`): a pod's value read back proves
/// the write only if it differs.
fn not_the_fresh_ip_forward(d: &PinDir) -> &'static str {
    d.ok(&["-f", "fresh-forward", "--net"]);
    let pin = d.pin("net", "fresh-forward");
    let fresh = nsenter("net", &pin, &["cat", "/proc/sys/net/ipv4/ip_forward"]);
    d.ok(&["unpin", "-f", "fresh-forward"]);
    if fresh.trim() == "1" { "0" } else { "1" }
}

#[test]
fn crio_pod_with_sysctls() {
    let d = PinDir::new();
    let name = "6a0f4c3e-0c8e-4a57-9d0e-5b1f2c3d4e5f";
    let host = |key: &str| fs::read_to_string(format!("/proc/sys/net/ipv4/{key}")).unwrap();
    let (host_forward, host_range) = (host("ip_forward"), host("ping_group_range"));
    let forward = not_the_fresh_ip_forward(&d);
    let forward_sysctl = format!("net.ipv4.ip_forward={forward}");
    let out = d.ok(&[
        "-f",
        name,
        "-s",
        &forward_sysctl,
        "-s",
        "net.ipv4.ping_group_range=0 2147483647",
        "--ipc",
        "--uts",
        "--net",
    ]);
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "silent on success"
    );
    for (ty, flag) in [
        ("net", libc::CLONE_NEWNET),
        ("ipc", libc::CLONE_NEWIPC),
        ("uts", libc::CLONE_NEWUTS),
    ] {
        let pin = d.pin(ty, name);
        assert_eq!(ns_type(&pin), flag, "{ty} pin has the wrong type");
        assert_ne!(inode(&pin), own_ns(ty), "{ty} pin is the host's namespace");
    }
    let net = d.pin("net", name);
    assert_eq!(
        nsenter("net", &net, &["cat", "/proc/sys/net/ipv4/ip_forward"]).trim(),
        forward
    );
    let range = nsenter("net", &net, &["cat", "/proc/sys/net/ipv4/ping_group_range"]);
    assert_eq!(
        range.split_whitespace().collect::<Vec<_>>(),
        ["0", "2147483647"]
    );
    // The host's own values are untouched by a pod's sysctls, whatever
    // they are (systemd ships ping_group_range as the pod's).
    assert_eq!(host("ip_forward"), host_forward);
    assert_eq!(host("ping_group_range"), host_range);
    // Exactly three nsfs mounts, one per pin.
    assert_eq!(ns_mounts_under(d.path()).len(), 3);
}

#[test]
fn host_mode_pins_the_current_namespace() {
    let d = PinDir::new();
    d.ok(&["-f", "h", "--ipc", "--uts", "--net=host"]);
    assert_eq!(inode(&d.pin("net", "h")), own_ns("net"));
    assert_ne!(inode(&d.pin("ipc", "h")), own_ns("ipc"));
    let d2 = PinDir::new();
    d2.ok(&[
        "-f",
        "all-host",
        "-n=host",
        "--ipc=host",
        "--uts=host",
        "--cgroup=host",
        "--user=host",
        "--pid=host",
        "--time=host",
    ]);
    for ty in ["net", "ipc", "uts", "cgroup", "user", "pid", "time"] {
        assert_eq!(inode(&d2.pin(ty, "all-host")), own_ns(ty), "{ty}");
    }
    // The kernel cannot pin a mount namespace inside itself: a clear
    // refusal, and nothing left.
    let out = d2.pinns(&["-f", "mnt-host", "--net", "--mnt=host"]);
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("cannot be pinned from inside itself"), "{err}");
    assert!(!d2.pin("net", "mnt-host").exists() && !d2.pin("mnt", "mnt-host").exists());
}

/// CRI-O's user-namespace pod: it pre-creates each pin file, empty and
/// owned by the remapped root, and pinns must use those files.
#[test]
fn crio_user_namespace_pod() {
    let d = PinDir::new();
    let name = "userpod";
    for ty in ["user", "net", "ipc", "uts"] {
        let pin = d.pin(ty, name);
        fs::create_dir_all(pin.parent().unwrap()).unwrap();
        fs::write(&pin, b"").unwrap();
        std::os::unix::fs::chown(&pin, Some(100000), Some(100000)).unwrap();
    }
    d.ok(&[
        "-f",
        name,
        "--ipc",
        "--uts",
        "--net",
        "--user",
        "--uid-mapping=0-100000-65536@",
        "--gid-mapping=0-100000-65536@",
        "-s",
        "kernel.hostname=userpod",
        "-s",
        "kernel.shmmax=65536",
    ]);
    let user = d.pin("user", name);
    assert_eq!(ns_type(&user), libc::CLONE_NEWUSER);
    let uid_map = nsenter("user", &user, &["cat", "/proc/self/uid_map"]);
    assert_eq!(
        uid_map.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    let gid_map = nsenter("user", &user, &["cat", "/proc/self/gid_map"]);
    assert_eq!(
        gid_map.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    for ty in ["net", "ipc", "uts"] {
        assert_eq!(
            owner_userns(&d.pin(ty, name)),
            inode(&user),
            "{ty} is not owned by the new user namespace"
        );
    }
    assert_eq!(
        nsenter("uts", &d.pin("uts", name), &["hostname"]).trim(),
        "userpod"
    );
    assert_eq!(
        nsenter(
            "ipc",
            &d.pin("ipc", name),
            &["cat", "/proc/sys/kernel/shmmax"]
        )
        .trim(),
        "65536"
    );
}

#[test]
fn every_type_at_once() {
    let d = PinDir::new();
    let mut args = vec![
        "-f",
        "all",
        "-U",
        "-m",
        "-n",
        "-i",
        "-u",
        "-c",
        "-p",
        "-t",
        "--uid-mapping=0-200000-1000",
        "--gid-mapping=0-200000-1000",
    ];
    // Before 6.11 a new PID namespace is refused in one line, before
    // anything is made; every other type is pinned all the same.
    let pid = common::kernel::has_pid_ns_ioctl();
    if !pid {
        let out = d.pinns(&args);
        assert_eq!(stderr(&out), common::kernel::NO_PID_NS_IOCTL);
        assert_eq!(out.status.code(), Some(1));
        assert!(fs::read_dir(d.path()).unwrap().next().is_none());
        args.retain(|a| *a != "-p");
    }
    d.ok(&args);
    let flags = [
        ("user", libc::CLONE_NEWUSER),
        ("mnt", libc::CLONE_NEWNS),
        ("net", libc::CLONE_NEWNET),
        ("ipc", libc::CLONE_NEWIPC),
        ("uts", libc::CLONE_NEWUTS),
        ("cgroup", libc::CLONE_NEWCGROUP),
        ("pid", libc::CLONE_NEWPID),
        ("time", libc::CLONE_NEWTIME),
    ];
    let user = inode(&d.pin("user", "all"));
    for (ty, flag) in flags.into_iter().filter(|(ty, _)| pid || *ty != "pid") {
        let pin = d.pin(ty, "all");
        assert_eq!(ns_type(&pin), flag, "{ty}");
        if ty != "user" {
            assert_eq!(owner_userns(&pin), user, "{ty} owner");
        }
    }
    assert_eq!(ns_mounts_under(d.path()).len(), if pid { 8 } else { 7 });
}

#[test]
fn mntns_is_one_unbindable_self_mount_after_32_parallel_pins() {
    let d = PinDir::new();
    let dir = d.path().to_str().unwrap().to_string();
    let children: Vec<_> = (0..32)
        .map(|i| {
            Command::new(PINNS)
                .args(["-d", &dir, "-f", &format!("m{i}"), "-m"])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mntns = d.path().join("mntns");
    let selfs: Vec<_> = mounts_under(d.path())
        .into_iter()
        .filter(|m| m.mount_point == mntns)
        .collect();
    assert_eq!(selfs.len(), 1, "DIR/mntns mounted {} times", selfs.len());
    assert!(
        selfs[0].optional.contains("unbindable"),
        "not unbindable: {:?}",
        selfs[0]
    );
    for i in 0..32 {
        assert_eq!(ns_type(&d.pin("mnt", &format!("m{i}"))), libc::CLONE_NEWNS);
    }
}

#[test]
fn type_dirs_are_shared_mounts_of_their_own() {
    let d = PinDir::new();
    d.ok(&["-f", "a", "--net", "--ipc"]);
    d.ok(&["-f", "b", "--net", "--ipc"]);
    for ty in ["netns", "ipcns"] {
        let dir = d.path().join(ty);
        let mounts: Vec<_> = mounts_under(d.path())
            .into_iter()
            .filter(|m| m.mount_point == dir)
            .collect();
        assert_eq!(
            mounts.len(),
            1,
            "{ty} self-bind made {} times",
            mounts.len()
        );
        assert!(
            mounts[0].optional.contains("shared:"),
            "{ty}: {:?}",
            mounts[0]
        );
    }
    // Each pin appears once.
    assert_eq!(ns_mounts_under(d.path()).len(), 4);
}

/// The helper child dies with pinns, and nothing keeps the output pipe
/// open: CRI-O reads it to end-of-file with no timeout.
#[test]
fn no_process_survives_and_output_reaches_eof() {
    let d = PinDir::new();
    let dir = d.path().to_str().unwrap().to_string();
    for args in [
        vec!["--net", "--ipc", "--uts"],
        vec![
            "--user",
            "--uid-mapping=0-100000-65536",
            "--gid-mapping=0-100000-65536",
            "--mnt",
            "--net",
            "--pid",
            "--time",
        ],
    ] {
        let mut args = args;
        // (Before 6.11 a new PID namespace is refused before the helper
        // is forked: every_type_at_once checks that.)
        if !common::kernel::has_pid_ns_ioctl() {
            args.retain(|a| *a != "--pid");
        }
        let name = format!("n{}", args.len());
        let mut child = Command::new(PINNS)
            .args(["-d", &dir, "-f", &name])
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut out = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            out.read_to_end(&mut buf).unwrap();
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !reader.is_finished() {
            assert!(
                Instant::now() < deadline,
                "stdout never reached EOF: a descendant holds it"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let status = child.wait().unwrap();
        assert!(status.success());
        // No process has pinns as its parent any more (it is gone), and
        // no process anywhere still runs the pinns binary for this name.
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(
                !(cmdline.contains(&dir) && cmdline.contains(PINNS)),
                "left running: {cmdline}"
            );
            let stat = fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let ppid = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().nth(1));
            assert_ne!(
                ppid,
                Some(pid.to_string().as_str()),
                "a child of pinns survives"
            );
        }
    }
}

#[test]
fn rollback_on_failing_sysctl_leaves_nothing() {
    let d = PinDir::new();
    let out = d.pinns(&[
        "-f",
        "rb",
        "--net",
        "--ipc",
        "--uts",
        "-s",
        "net.ipv4.no_such_key=1",
    ]);
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("net.ipv4.no_such_key"), "{err}");
    assert!(
        pin_files_under(d.path()).is_empty(),
        "{:?}",
        pin_files_under(d.path())
    );
    assert!(ns_mounts_under(d.path()).is_empty());
    // And with the helper-child path.
    let out = d.pinns(&[
        "-f",
        "rb2",
        "--user",
        "--uid-mapping=0-100000-65536",
        "--gid-mapping=0-100000-65536",
        "--mnt",
        "--net",
        "-s",
        "net.ipv4.no_such_key=1",
    ]);
    assert_one_line_failure(&out, 1);
    assert!(pin_files_under(d.path()).is_empty());
    assert!(ns_mounts_under(d.path()).is_empty());
}

#[test]
fn rollback_when_a_later_pin_is_refused() {
    let d = PinDir::new();
    // net is pinned after ipc and uts: a non-empty file at the net pin
    // path fails the call after ipc and uts were mounted.
    let net = d.pin("net", "late");
    fs::create_dir_all(net.parent().unwrap()).unwrap();
    fs::write(&net, b"keep me").unwrap();
    let out = d.pinns(&["-f", "late", "--ipc", "--uts", "--net"]);
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(fs::read(&net).unwrap(), b"keep me");
    assert_eq!(pin_files_under(d.path()), vec![net]);
    assert!(ns_mounts_under(d.path()).is_empty());
}

#[test]
fn bad_input_is_refused_and_creates_nothing() {
    let d = PinDir::new();
    let dir = d.path().join("never-made");
    let dir = dir.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["-f", "x"],
        &["--net"],
        &["-f", "", "--net"],
        &["-f", ".", "--net"],
        &["-f", "..", "--net"],
        &["-f", "a/b", "--net"],
        &["-f", "x", "--net", "host"],
        &["-f", "x", "--net", "-s", "net.ipv4.ip_forward"],
        &["-f", "x", "--net", "-s", "=1"],
        &["-f", "x", "--net", "-s", "net.ipv4.ip_forward="],
        &["-f", "x", "--net=host", "-s", "net.ipv4.ip_forward=1"],
        &["-f", "x", "--ipc", "-s", "net.ipv4.ip_forward=1"],
        &["-f", "x", "--net", "-s", "kernel.panic=1"],
        &["-f", "x", "--net", "-s", "../../../etc/x=1"],
        &["-f", "x", "--net", "-s", "net/../../kernel/x=1"],
        &["-f", "x", "--user"],
        &["-f", "x", "--user", "--uid-mapping=0-100000-65536"],
        &[
            "-f",
            "x",
            "--net",
            "--uid-mapping=0-1-1",
            "--gid-mapping=0-1-1",
        ],
        &[
            "-f",
            "x",
            "--user",
            "--uid-mapping=0-100000",
            "--gid-mapping=0-100000-1",
        ],
        &[
            "-f",
            "x",
            "--user",
            "--uid-mapping=0-100000-0",
            "--gid-mapping=0-100000-1",
        ],
        &[
            "-f",
            "x",
            "--user",
            "--uid-mapping=a-b-c",
            "--gid-mapping=0-100000-1",
        ],
        &["-f", "x", "--net=guest"],
        &["-f", "x", "--net", "--bogus"],
        &["-f", "x", "--monotonic", "5", "--net"],
        &["-f", "x", "--ipc", "--loopback"],
    ];
    for args in cases {
        let mut full = vec!["-d", dir];
        full.extend_from_slice(args);
        let out = pinns(&full);
        let err = stderr(&out);
        assert!(
            matches!(out.status.code(), Some(1) | Some(2)),
            "{args:?} exited {:?}: {err}",
            out.status.code()
        );
        assert!(!err.is_empty(), "{args:?}: no message");
        assert!(
            err.starts_with("pinns: ") || err.starts_with("error: "),
            "{args:?}: {err}"
        );
        if err.starts_with("pinns: ") {
            assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        }
        assert!(!Path::new(dir).exists(), "{args:?} created {dir}");
    }
}

#[test]
fn symlink_at_pin_path_is_refused_and_target_untouched() {
    let d = PinDir::new();
    let outside = tempfile::NamedTempFile::new().unwrap();
    fs::write(outside.path(), b"").unwrap();
    let before = fs::metadata(outside.path()).unwrap();
    let pin = d.pin("net", "sym");
    fs::create_dir_all(pin.parent().unwrap()).unwrap();
    symlink(outside.path(), &pin).unwrap();
    let out = d.pinns(&["-f", "sym", "--net"]);
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("symlink"), "{err}");
    let after = fs::metadata(outside.path()).unwrap();
    assert_eq!((before.ino(), before.len()), (after.ino(), after.len()));
    assert!(
        mountinfo("self")
            .iter()
            .all(|m| m.mount_point != outside.path()),
        "the symlink's target was mounted over"
    );
    assert!(fs::symlink_metadata(&pin).unwrap().file_type().is_symlink());
}

#[test]
fn second_pin_of_a_name_is_refused_and_the_first_still_works() {
    let d = PinDir::new();
    let forward = not_the_fresh_ip_forward(&d);
    let sysctl = format!("net.ipv4.ip_forward={forward}");
    d.ok(&["-f", "twice", "--net", "-s", &sysctl]);
    let first = inode(&d.pin("net", "twice"));
    let out = d.pinns(&["-f", "twice", "--net"]);
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("already pinned"), "{err}");
    assert_eq!(inode(&d.pin("net", "twice")), first);
    assert_eq!(ns_mounts_under(d.path()).len(), 1);
    assert_eq!(
        nsenter(
            "net",
            &d.pin("net", "twice"),
            &["cat", "/proc/sys/net/ipv4/ip_forward"]
        )
        .trim(),
        forward
    );
}

#[test]
fn every_spelling_a_script_may_use() {
    let d = PinDir::new();
    d.ok(&["-f", "s1", "-niu", "-s", "kernel.hostname=a"]);
    d.ok(&["-f", "s2", "--net", "--sysctl", "net.ipv4.ip_forward=1"]);
    d.ok(&["-f", "s3", "--net", "--sysctl=net.ipv4.ip_forward=1"]);
    d.ok(&["--filename=s4", "--net=host", "--ipc"]);
    d.ok(&[
        "pin",
        "-f",
        "s5",
        "-n",
        "-i",
        "-u",
        "-s",
        "net.ipv4.conf.all.forwarding=1",
    ]);
    for name in ["s1", "s2", "s3", "s5"] {
        assert_ne!(inode(&d.pin("net", name)), own_ns("net"), "{name}");
    }
    assert_eq!(
        nsenter("uts", &d.pin("uts", "s1"), &["hostname"]).trim(),
        "a"
    );
    assert_eq!(inode(&d.pin("net", "s4")), own_ns("net"));
    // `--net host` (with a space) is a usage error, never a new namespace.
    let out = d.pinns(&["-f", "s6", "--net", "host"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!d.pin("net", "s6").exists());
}

#[test]
fn help_and_version() {
    for flag in ["-h", "--help"] {
        let out = pinns(&[flag]);
        assert!(out.status.success());
        assert!(stdout(&out).contains("--filename"));
    }
    let out = pinns(&["--version"]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("pinns "));
}

#[test]
fn symlinked_dir_is_fine() {
    // /var/run -> /run on most systems.
    let d = PinDir::new();
    let real = d.path().join("run");
    fs::create_dir(&real).unwrap();
    let link = d.path().join("varrun");
    symlink(&real, &link).unwrap();
    let out = pinns(&["-d", link.to_str().unwrap(), "-f", "p", "--net", "--ipc"]);
    assert_success(&out, &["-d", "varrun"]);
    assert_eq!(ns_type(&real.join("netns/p")), libc::CLONE_NEWNET);
    let out = pinns(&["unpin", "-d", link.to_str().unwrap(), "-f", "p"]);
    assert_success(&out, &["unpin"]);
    assert!(!real.join("netns/p").exists());
}

#[test]
fn json_output_names_each_pin() {
    let d = PinDir::new();
    let out = d.ok(&["-f", "j", "--net", "--ipc=host", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["name"], "j");
    assert_eq!(doc["dir"], d.path().to_str().unwrap());
    let pins = doc["pins"].as_array().unwrap();
    assert_eq!(pins.len(), 2);
    for pin in pins {
        let path = Path::new(pin["path"].as_str().unwrap());
        assert_eq!(pin["inode"].as_u64().unwrap(), inode(path));
        let ty = pin["type"].as_str().unwrap();
        assert_eq!(pin["host"].as_bool().unwrap(), ty == "ipc");
        assert_eq!(path, d.pin(ty, "j"));
    }
}
