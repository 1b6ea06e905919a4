//! Pinning, black-box: the built binary run as root under a temp dir, with
//! the kernel's own view checked (nsfs inodes, `NS_GET_NSTYPE`,
//! `/proc/self/mountinfo`, `nsenter`).

mod common;

use std::ffi::OsStr;
use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
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
    d.must(&["-f", "fresh-forward", "--net"]);
    let pin = d.pin("net", "fresh-forward");
    let fresh = nsenter("net", &pin, &["cat", "/proc/sys/net/ipv4/ip_forward"]);
    d.must(&["unpin", "-f", "fresh-forward"]);
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
    let out = d.must(&[
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
    d.must(&["-f", "h", "--ipc", "--uts", "--net=host"]);
    assert_eq!(inode(&d.pin("net", "h")), own_ns("net"));
    assert_ne!(inode(&d.pin("ipc", "h")), own_ns("ipc"));
    let d2 = PinDir::new();
    d2.must(&[
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
    d.precreate(name, &["user", "net", "ipc", "uts"], 100000);
    let mut args = vec![
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
    ];
    // Before 6.1 the pod's root may not write its IPC sysctls: one line,
    // nothing pinned; the pod without that sysctl is checked as usual.
    let ipc_sysctl = common::kernel::ipc_sysctls_in_user_ns();
    if !ipc_sysctl {
        let out = d.pinns(&args);
        assert_eq!(stderr(&out), common::kernel::NO_IPC_SYSCTL_IN_USER_NS);
        assert_eq!(out.code(), Some(1));
        assert!(ns_mounts_under(d.path()).is_empty());
        args.truncate(args.len() - 2);
    }
    d.must(&args);
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
    if ipc_sysctl {
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
        assert_eq!(out.code(), Some(1));
        assert!(fs::read_dir(d.path()).unwrap().next().is_none());
        args.retain(|a| *a != "-p");
    }
    // Before 5.6 a new time namespace is refused in one line, nothing left.
    let time = common::kernel::has_time_ns();
    if !time {
        let out = d.pinns(&args);
        assert_eq!(stderr(&out), common::kernel::NO_TIME_NS);
        assert_eq!(out.code(), Some(1));
        assert!(pin_files_under(d.path()).is_empty());
        assert!(ns_mounts_under(d.path()).is_empty());
        args.retain(|a| *a != "-t");
    }
    d.must(&args);
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
    let pinned = |ty: &str| (pid || ty != "pid") && (time || ty != "time");
    for (ty, flag) in flags.into_iter().filter(|(ty, _)| pinned(ty)) {
        let pin = d.pin(ty, "all");
        assert_eq!(ns_type(&pin), flag, "{ty}");
        if ty != "user" {
            assert_eq!(owner_userns(&pin), user, "{ty} owner");
        }
    }
    assert_eq!(
        ns_mounts_under(d.path()).len(),
        8 - usize::from(!pid) - usize::from(!time)
    );
}

#[test]
fn mntns_is_one_unbindable_self_mount_after_32_parallel_pins() {
    let d = PinDir::new();
    let dir = d.path().to_str().unwrap().to_string();
    let children: Vec<_> = (0..32)
        .map(|i| {
            pinns_command()
                .args(["-d", &dir, "-f", &format!("m{i}"), "-m"])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
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

/// With `pinns pin`, on a private holding mount (set up here, so the
/// host's own propagation does not matter; on a shared one only the pins
/// are mounted, which cli/tests/propagation.rs checks) each type directory is
/// one shared self-bind, however many pins it holds.
#[test]
fn type_dirs_are_shared_mounts_of_their_own() {
    let d = PinDir::private();
    d.must(&["pin", "-f", "a", "--net", "--ipc"]);
    d.must(&["pin", "-f", "b", "--net", "--ipc"]);
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

/// The helper child dies with pinns, and nothing keeps pinns's output
/// open: CRI-O reads stdout and stderr combined, through one pipe, to end
/// of file with no timeout. This test is a child subreaper and starts
/// pinns in a process group of its own, so a process pinns left behind is
/// handed to the test rather than to pid 1, and is seen by its group, alive
/// or a zombie not reaped.
#[test]
fn no_process_survives_and_output_reaches_eof() {
    become_subreaper();
    let d = PinDir::new();
    for args in [
        vec!["--net", "--ipc", "--uts"],
        vec![
            "--user", UID_MAP, GID_MAP, "--mnt", "--net", "--pid", "--time",
        ],
    ] {
        let mut args = args;
        // (Before 6.11 a new PID namespace is refused before the helper
        // is forked, and before 5.6 a time namespace by the helper:
        // every_type_at_once checks both.)
        if !common::kernel::has_pid_ns_ioctl() {
            args.retain(|a| *a != "--pid");
        }
        if !common::kernel::has_time_ns() {
            args.retain(|a| *a != "--time");
        }
        let name = format!("n{}", args.len());
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        // The command, and with it this process's copies of the write end,
        // is dropped once pinns has started.
        let mut child = d
            .command(&[&["-f", name.as_str()][..], &args].concat())
            .stdout(Stdio::from(write.try_clone().unwrap()))
            .stderr(Stdio::from(write))
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id() as i32;
        d.track_group(pgid);
        let output = drain(&[read.as_fd()], Instant::now() + Duration::from_secs(10))
            .unwrap_or_else(|e| {
                let group: Vec<Proc> = procs().into_iter().filter(|p| p.pgrp == pgid).collect();
                panic!("{args:?}: output never reached end of file ({e}): {group:#?}")
            });
        let status = child.wait().unwrap();
        assert!(status.success(), "{args:?}: {status}");
        assert_eq!(output, [Vec::<u8>::new()], "{args:?}: printed on success");
        // pinns reaps its helper before it exits: once pinns is reaped,
        // nothing of its group is left, not even a zombie.
        let left: Vec<Proc> = procs().into_iter().filter(|p| p.pgrp == pgid).collect();
        assert!(left.is_empty(), "{args:?}: left behind by pinns: {left:#?}");
        // Nor does any process anywhere still run pinns for this DIR.
        let dir = d.path().to_str().unwrap();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(
                !(cmdline.contains(dir) && cmdline.contains(PINNS)),
                "left running: {cmdline}"
            );
        }
        check_whole(
            d.path(),
            &name,
            &args
                .iter()
                .filter_map(|a| a.strip_prefix("--").filter(|t| !t.contains('=')))
                .collect::<Vec<_>>(),
        )
        .unwrap();
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

/// What a bad command line must print: pinns's own one line, or the
/// first line of clap's usage error (the rest is clap's usage text).
enum Says {
    Line(&'static str),
    Clap(&'static str),
}

#[test]
fn bad_input_is_refused_and_creates_nothing() {
    use Says::{Clap, Line};
    let d = PinDir::new();
    let dir = d.path().join("never-made");
    let dir = dir.to_str().unwrap();
    let cases: &[(&[&str], Says)] = &[
        (
            &["-f", "x"],
            Line("no namespace type given: name at least one (for example --net)"),
        ),
        (
            &["--net"],
            Line("a pin name is required: -f NAME; try 'pinns --help'"),
        ),
        (
            &["-f", "", "--net"],
            Line("invalid pin name '': it is empty (a name is one path component)"),
        ),
        (
            &["-f", ".", "--net"],
            Line("invalid pin name '.': it is . or .. (a name is one path component)"),
        ),
        (
            &["-f", "..", "--net"],
            Line("invalid pin name '..': it is . or .. (a name is one path component)"),
        ),
        (
            &["-f", "a/b", "--net"],
            Line("invalid pin name 'a/b': it contains '/' (a name is one path component)"),
        ),
        (
            &["-f", "x", "--net", "host"],
            Clap("the subcommand 'host' cannot be used with:"),
        ),
        (
            &["-f", "x", "--net", "-s", "net.ipv4.ip_forward"],
            Line("invalid sysctl 'net.ipv4.ip_forward': expected KEY=VALUE"),
        ),
        (
            &["-f", "x", "--net", "-s", "=1"],
            Line("invalid sysctl '=1': the key is empty"),
        ),
        (
            &["-f", "x", "--net", "-s", "net.ipv4.ip_forward="],
            Line("invalid sysctl 'net.ipv4.ip_forward=': the value is empty"),
        ),
        (
            &["-f", "x", "--net=host", "-s", "net.ipv4.ip_forward=1"],
            Line(
                "sysctl net.ipv4.ip_forward belongs to the net namespace, which this call \
                 does not create anew (writing it would change the host's); add --net",
            ),
        ),
        (
            &["-f", "x", "--ipc", "-s", "net.ipv4.ip_forward=1"],
            Line(
                "sysctl net.ipv4.ip_forward belongs to the net namespace, which this call \
                 does not create anew (writing it would change the host's); add --net",
            ),
        ),
        (
            &["-f", "x", "--net", "-s", "kernel.panic=1"],
            Line(
                "invalid sysctl 'kernel.panic=1': only net.*, kernel.shm*, kernel.msg*, \
                 kernel.sem*, fs.mqueue.*, kernel.hostname and kernel.domainname belong to \
                 a namespace pinns creates",
            ),
        ),
        (
            &["-f", "x", "--net", "-s", "../../../etc/x=1"],
            Line("invalid sysctl '../../../etc/x=1': component '' would leave /proc/sys"),
        ),
        (
            &["-f", "x", "--net", "-s", "net/../../kernel/x=1"],
            Line("invalid sysctl 'net/../../kernel/x=1': component '..' would leave /proc/sys"),
        ),
        (
            &["-f", "x", "--user"],
            Line("a new user namespace (--user) needs both --uid-mapping and --gid-mapping"),
        ),
        (
            &["-f", "x", "--user", "--uid-mapping=0-100000-65536"],
            Line("a new user namespace (--user) needs both --uid-mapping and --gid-mapping"),
        ),
        (
            &[
                "-f",
                "x",
                "--net",
                "--uid-mapping=0-1-1",
                "--gid-mapping=0-1-1",
            ],
            Line("--uid-mapping and --gid-mapping need a new user namespace (--user)"),
        ),
        (
            &[
                "-f",
                "x",
                "--user",
                "--uid-mapping=0-100000",
                "--gid-mapping=0-100000-1",
            ],
            Line("invalid id mapping '0-100000': '0-100000' is not CONTAINER-HOST-SIZE"),
        ),
        (
            &[
                "-f",
                "x",
                "--user",
                "--uid-mapping=0-100000-0",
                "--gid-mapping=0-100000-1",
            ],
            Line("invalid id mapping '0-100000-0': size in '0-100000-0' must be at least 1"),
        ),
        (
            &[
                "-f",
                "x",
                "--user",
                "--uid-mapping=a-b-c",
                "--gid-mapping=0-100000-1",
            ],
            Line("invalid id mapping 'a-b-c': container id 'a' in 'a-b-c' is not a number"),
        ),
        (
            &["-f", "x", "--net=guest"],
            Clap("invalid value 'guest' for '--net[=host]'"),
        ),
        (
            &["-f", "x", "--net", "--bogus"],
            Clap("unexpected argument '--bogus' found"),
        ),
        (
            &["-f", "x", "--monotonic", "5", "--net"],
            Line("--monotonic and --boottime need a new time namespace (--time)"),
        ),
        (
            &["-f", "x", "--ipc", "--loopback"],
            Line("--loopback needs a new network namespace (--net)"),
        ),
    ];
    for (args, says) in cases {
        let mut full = vec!["-d", dir];
        full.extend_from_slice(args);
        let out = pinns(&full);
        match says {
            Line(line) => {
                let err = out.assert_refused(2).stderr_text();
                assert_eq!(err, format!("pinns: {line}\n"), "{args:?}");
            }
            Clap(first) => {
                // clap's usage error, as one line (cli::message): its
                // words, then the pointer to --help.
                assert_eq!(out.code(), Some(2), "{args:?}: {}", stderr(&out));
                assert!(out.stdout.is_empty(), "{args:?}: {}", stdout(&out));
                let err = stderr(&out);
                assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
                assert!(
                    err.starts_with(&format!("pinns: {first}")),
                    "{args:?}: {err}"
                );
                assert!(err.ends_with("; try 'pinns --help'\n"), "{args:?}: {err}");
            }
        }
        assert!(!Path::new(dir).exists(), "{args:?} created {dir}");
    }
}

/// A pin directory that cannot be opened is a failure at run time (1),
/// not a usage error, and makes nothing.
#[test]
fn unusable_pin_directory_is_a_runtime_failure() {
    let d = PinDir::new();
    let file = d.path().join("a-file");
    fs::write(&file, "data\n").unwrap();
    for dir in [file.clone(), file.join("sub")] {
        let out = pinns(&[
            OsStr::new("-d"),
            dir.as_os_str(),
            OsStr::new("-f"),
            OsStr::new("x"),
            OsStr::new("--net"),
        ]);
        let err = out.assert_refused(1).stderr_text();
        assert_eq!(
            err,
            format!(
                "pinns: opening pin directory {}: Not a directory\n",
                dir.display()
            )
        );
    }
    assert_eq!(fs::read(&file).unwrap(), b"data\n");
    assert!(ns_mounts_under(d.path()).is_empty());
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
    d.must(&["-f", "twice", "--net", "-s", &sysctl]);
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
    d.must(&["-f", "s1", "-niu", "-s", "kernel.hostname=a"]);
    d.must(&["-f", "s2", "--net", "--sysctl", "net.ipv4.ip_forward=1"]);
    d.must(&["-f", "s3", "--net", "--sysctl=net.ipv4.ip_forward=1"]);
    d.must(&["--filename=s4", "--net=host", "--ipc"]);
    d.must(&[
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
    out.assert_success();
    assert_eq!(ns_type(&real.join("netns/p")), libc::CLONE_NEWNET);
    let out = pinns(&["unpin", "-d", link.to_str().unwrap(), "-f", "p"]);
    out.assert_success();
    assert!(!real.join("netns/p").exists());
}

#[test]
fn json_output_names_each_pin() {
    let d = PinDir::new();
    let out = d.must(&["-f", "j", "--net", "--ipc=host", "--json"]);
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

/// CRI-O 1.21 to 1.23 pass every sysctl of a pod in one `-s` argument,
/// quoted items joined by `+` (their getSysctlForPinns), on the exact
/// command lines those releases build: 1.21 with short type flags, 1.22
/// and 1.23 with long ones. Both sysctls are set in the pod, and both
/// parsers (the table's and clap's) read the line.
#[test]
fn crio_1_21_to_1_23_joined_sysctls() {
    let d = PinDir::new();
    let dir = d.path().to_str().unwrap().to_string();
    let joined = "'net.ipv4.ip_forward=1'+'kernel.shm_rmid_forced=1'";
    let lines: [(&str, Vec<&str>); 2] = [
        ("1.21", vec!["-i", "-u", "-n"]),
        ("1.23", vec!["--ipc", "--uts", "--net"]),
    ];
    for (release, types) in lines {
        let name = format!("crio-{release}");
        let mut argv = vec!["-d", dir.as_str(), "-f", name.as_str(), "-s", joined];
        argv.extend(types);
        // The table reads it (what a pin's start-up runs), as one value.
        let full: Vec<std::ffi::OsString> = std::iter::once("pinns")
            .chain(argv.iter().copied())
            .map(Into::into)
            .collect();
        let table = pinns_cli::try_table(&full).expect("the table reads CRI-O's line");
        assert_eq!(table.pin.sysctls, [joined], "{release}");
        run(pinns_command().args(&argv)).assert_silent_success();
        assert_eq!(
            nsenter(
                "net",
                &d.pin("net", &name),
                &["cat", "/proc/sys/net/ipv4/ip_forward"]
            )
            .trim(),
            "1",
            "{release}"
        );
        assert_eq!(
            nsenter(
                "ipc",
                &d.pin("ipc", &name),
                &["cat", "/proc/sys/kernel/shm_rmid_forced"]
            )
            .trim(),
            "1",
            "{release}"
        );
        d.must(&["unpin", "-f", &name]);
    }
    // Through clap too (an attached `-s=` is the table's to leave).
    let out = d.pinns(&[
        "-f",
        "clap",
        &format!("--sysctl={joined}"),
        "--net",
        "--ipc",
        "-v",
    ]);
    out.assert_success();
    assert_eq!(
        nsenter(
            "net",
            &d.pin("net", "clap"),
            &["cat", "/proc/sys/net/ipv4/ip_forward"]
        )
        .trim(),
        "1"
    );
    // Half the shape is no list: a usage error naming the argument.
    let out = d.pinns(&["-f", "half", "-s", "'net.ipv4.ip_forward=1'+", "--net"]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr_text());
    assert!(!d.pin("net", "half").exists());
}
