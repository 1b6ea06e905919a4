//! Every kernel CRI-O runs on, from 4.18 up: the CRI-O and `ip netns`
//! scenarios run under each kernel profile (`common::kernel`: 4.18, 5.4,
//! 5.10, 5.14, 6.1 and the running kernel), with what the kernel then
//! holds checked from outside the profile: namespace types and inodes,
//! mountinfo, what nsenter and `ip netns` see. What a kernel lacks by
//! nature (a time namespace before 5.6, a PID namespace with no process
//! before 6.11) is refused in one line that names it, and nothing is left.
//!
//! A profile's expectations are what the kernel the profile stands for
//! does, and the kernel underneath too: run under an outer profile
//! (`cargo xtask kernel 6.1 -- …`), the running profile is that one's.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::kernel::{self, Profile};
use common::*;

/// `pinns ARGS` under `profile`, with `-d DIR` after the subcommand.
fn under(p: &Profile, dir: &Path, args: &[&str]) -> Out {
    let mut cmd = command_in(dir, args);
    p.apply(&mut cmd);
    run(&mut cmd)
}

/// [`under`], asserting success.
fn must_under(p: &Profile, dir: &Path, args: &[&str]) -> Out {
    let out = under(p, dir, args);
    assert!(
        out.status.success(),
        "[{p}] pinns {args:?} failed ({:?}): {}",
        out.code(),
        stderr(&out)
    );
    out
}

fn nsenter(ty: &str, pin: &Path, cmd: &[&str]) -> String {
    let mut args = vec![format!("--{ty}={}", pin.display())];
    args.extend(cmd.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sh("nsenter", &args)
}

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

fn host_sysctl(path: &str) -> String {
    fs::read_to_string(Path::new("/proc/sys").join(path))
        .unwrap()
        .trim()
        .to_string()
}

/// The errno a raw call left, as a probe's result (0 for success).
fn errno_of(result: libc::c_long) -> u8 {
    if result >= 0 {
        return 0;
    }
    std::io::Error::last_os_error()
        .raw_os_error()
        .map_or(254, |e| e.min(254) as u8)
}

/// The filter itself: every call, flag and ioctl newer than a profile
/// fails as that kernel fails it, and what the profile has still works
/// as on the kernel underneath.
#[test]
fn each_profile_answers_as_its_kernel() {
    let enosys = libc::ENOSYS as u8;
    for p in kernel::profiles() {
        for &(name, nr, since) in kernel::SYSCALLS {
            if p.has_syscall(name) {
                continue;
            }
            // The filter answers before the kernel runs anything, so the
            // arguments do not matter.
            // SAFETY: a raw system call, in the probe's child.
            let got = unsafe { p.probe(|| errno_of(libc::syscall(nr, -1, 0, 0, 0, 0, 0))) };
            assert_eq!(got, enosys, "[{p}] {name} (Linux {since})");
        }
        // Calls the profile has reach the kernel: openat2 opens `/`.
        let openat2 = || {
            let how: [u64; 3] = [(libc::O_PATH | libc::O_CLOEXEC) as u64, 0, 0];
            // SAFETY: openat2(2) with a valid path and open_how of 24 bytes.
            errno_of(unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    libc::AT_FDCWD,
                    c"/".as_ptr(),
                    how.as_ptr(),
                    24usize,
                )
            })
        };
        // clone3 with no arguments: EINVAL from a kernel that has it.
        // SAFETY: clone3(2) with size 0 fails before anything is cloned.
        let clone3 = || errno_of(unsafe { libc::syscall(libc::SYS_clone3, 0usize, 0usize) });
        for (name, call) in [
            ("openat2", &openat2 as &dyn Fn() -> u8),
            ("clone3", &clone3),
        ] {
            // SAFETY: the probes make raw system calls only.
            let (got, here) = unsafe { (p.probe(call), kernel::probe_here(call)) };
            let want = if p.has_syscall(name) { here } else { enosys };
            assert_eq!(got, want, "[{p}] {name}");
        }
        // Flags: setns(2) of a bad descriptor is EBADF from the kernel,
        // EINVAL from a profile without the namespace type.
        let setns_time =
            // SAFETY: setns(2) on descriptor -1 changes nothing.
            || errno_of(unsafe { libc::syscall(libc::SYS_setns, -1, libc::CLONE_NEWTIME) });
        // SAFETY: the probes make raw system calls only.
        let (got, here) = unsafe { (p.probe(setns_time), kernel::probe_here(setns_time)) };
        let want = if p.has_time_ns() {
            here
        } else {
            libc::EINVAL as u8
        };
        assert_eq!(got, want, "[{p}] setns(CLONE_NEWTIME)");
        // SAFETY: as above; the unshare happens in the probe's child.
        let (got, here) = unsafe {
            (
                p.probe(kernel::time_ns_probe),
                kernel::probe_here(kernel::time_ns_probe),
            )
        };
        assert_eq!(got, if p.has_time_ns() { here } else { 1 }, "[{p}] unshare");
        // Ioctls: EBADF from the kernel, ENOTTY from a profile without them.
        for &(name, request, since) in kernel::IOCTLS {
            // SAFETY: ioctl(2) on descriptor -1 changes nothing.
            let call = || errno_of(unsafe { libc::syscall(libc::SYS_ioctl, -1, request as u64) });
            // SAFETY: the probes make raw system calls only.
            let (got, here) = unsafe { (p.probe(call), kernel::probe_here(call)) };
            let want = if p.release >= since {
                here
            } else {
                libc::ENOTTY as u8
            };
            assert_eq!(got, want, "[{p}] {name}");
        }
        // And the ioctl pinns uses, on a real pidfd.
        // SAFETY: the probes make raw system calls only.
        let (got, here) = unsafe {
            (
                p.probe(kernel::pid_ns_ioctl_probe),
                kernel::probe_here(kernel::pid_ns_ioctl_probe),
            )
        };
        assert_eq!(
            got,
            if p.has_pid_ns_ioctl() { here } else { 1 },
            "[{p}] PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE"
        );
    }
}

/// The table against what each of those kernels is known to lack (the
/// calls strace's fault injection failed for them), written out apart
/// from the table so that a wrong row shows.
#[test]
fn the_table_agrees_with_the_known_kernels() {
    use common::kernel::Release;
    let lacks: &[(Release, &[&str], &[&str])] = &[
        (
            Release(4, 18),
            &[
                "open_tree",
                "move_mount",
                "fsopen",
                "fsconfig",
                "fsmount",
                "fspick",
                "pidfd_open",
                "pidfd_getfd",
                "clone3",
                "openat2",
                "close_range",
                "mount_setattr",
                "faccessat2",
            ],
            &[],
        ),
        (
            Release(5, 4),
            &[
                "openat2",
                "close_range",
                "mount_setattr",
                "faccessat2",
                "pidfd_getfd",
            ],
            &["open_tree", "move_mount", "pidfd_open"],
        ),
        (
            Release(5, 10),
            &["mount_setattr"],
            &[
                "openat2",
                "close_range",
                "faccessat2",
                "clone3",
                "pidfd_getfd",
            ],
        ),
        (
            Release(5, 14),
            &["process_mrelease"],
            &["mount_setattr", "memfd_secret"],
        ),
        (
            Release(6, 1),
            &["fchmodat2", "statmount"],
            &["set_mempolicy_home_node"],
        ),
    ];
    for (release, missing, present) in lacks {
        let p = Profile::new(*release);
        for name in *missing {
            assert!(!p.has_syscall(name), "{release} has no {name}");
        }
        for name in *present {
            assert!(p.has_syscall(name), "{release} has {name}");
        }
        assert_eq!(p.has_time_ns(), *release >= Release(5, 6), "{release}");
        assert!(!p.has_pid_ns_ioctl(), "{release}");
    }
    assert!(Profile::new(Release(6, 11)).has_pid_ns_ioctl());
}

/// CRI-O's everyday pod: net, ipc and uts with sysctls (its
/// `default_sysctls` favourite, ping_group_range, among them) and lo up.
#[test]
fn crio_pod_with_sysctls_under_every_profile() {
    // Not the ip_forward a new network namespace starts with (the host's,
    // or the kernel's default, by `net.core.devconf_inherit_init_net`), so
    // that seeing it proves the write.
    let host_forward = host_sysctl("net/ipv4/ip_forward");
    let fresh = PinDir::new();
    fresh.must(&["-f", "fresh", "--net"]);
    let fresh_forward = nsenter(
        "net",
        &fresh.pin("net", "fresh"),
        &["cat", "/proc/sys/net/ipv4/ip_forward"],
    );
    drop(fresh);
    let forward = if fresh_forward.trim() == "1" {
        "0"
    } else {
        "1"
    };
    let host_range = host_sysctl("net/ipv4/ping_group_range");
    let host_name = host_sysctl("kernel/hostname");
    for p in kernel::profiles() {
        let d = PinDir::new();
        let name = "6a0f4c3e-0c8e-4a57-9d0e-5b1f2c3d4e5f";
        let sysctl = format!("net.ipv4.ip_forward={forward}");
        let out = must_under(
            &p,
            d.path(),
            &[
                "-s",
                &sysctl,
                "-s",
                "net.ipv4.ping_group_range=0 2147483647",
                "-s",
                "kernel.shmmni=2048",
                "-s",
                "kernel.hostname=pod-k",
                "-f",
                name,
                "--ipc",
                "--net",
                "--uts",
                "--loopback",
            ],
        );
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "[{p}]");
        for (ty, flag) in [
            ("net", libc::CLONE_NEWNET),
            ("ipc", libc::CLONE_NEWIPC),
            ("uts", libc::CLONE_NEWUTS),
        ] {
            let pin = d.pin(ty, name);
            assert_eq!(ns_type(&pin), flag, "[{p}] {ty}");
            assert_ne!(inode(&pin), own_ns(ty), "[{p}] {ty} is the host's");
        }
        let net = d.pin("net", name);
        let cat = |ty: &str, file: &str| {
            nsenter(ty, &d.pin(ty, name), &["cat", file])
                .trim()
                .to_string()
        };
        assert_eq!(
            cat("net", "/proc/sys/net/ipv4/ip_forward"),
            forward,
            "[{p}]"
        );
        assert_eq!(
            words(&cat("net", "/proc/sys/net/ipv4/ping_group_range")),
            ["0", "2147483647"],
            "[{p}]"
        );
        assert_eq!(cat("ipc", "/proc/sys/kernel/shmmni"), "2048", "[{p}]");
        assert_eq!(cat("uts", "/proc/sys/kernel/hostname"), "pod-k", "[{p}]");
        let lo = nsenter("net", &net, &["ip", "-o", "link", "show", "lo"]);
        assert!(lo.contains(",UP"), "[{p}] lo is down: {lo}");
        // The host's own values are untouched.
        assert_eq!(host_sysctl("net/ipv4/ip_forward"), host_forward, "[{p}]");
        assert_eq!(
            host_sysctl("net/ipv4/ping_group_range"),
            host_range,
            "[{p}]"
        );
        assert_eq!(host_sysctl("kernel/hostname"), host_name, "[{p}]");
        assert_eq!(ns_mounts_under(d.path()).len(), 3, "[{p}]");

        // A key this kernel lacks: one line, and nothing of the pod left.
        let out = under(
            &p,
            d.path(),
            &[
                "-f",
                "bad",
                "--net",
                "--ipc",
                "-s",
                "net.ipv4.no_such_key=1",
            ],
        );
        assert_eq!(
            stderr(&out),
            "pinns: setting sysctl net.ipv4.no_such_key: No such file or directory\n",
            "[{p}]"
        );
        assert_eq!(out.status.code(), Some(1), "[{p}]");
        assert!(!d.pin("net", "bad").exists() && !d.pin("ipc", "bad").exists());
        assert_eq!(ns_mounts_under(d.path()).len(), 3, "[{p}]");
    }
}

/// CRI-O's user-namespace pod: pin files pre-created and chowned to the
/// remapped root, the mappings, sysctls written as that root.
#[test]
fn crio_user_namespace_pod_under_every_profile() {
    for p in kernel::profiles() {
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
            "net.ipv4.ping_group_range=0 65535",
            "-s",
            "kernel.shmmax=65536",
        ];
        // The running kernel's permission, whatever the profile: before
        // 6.1 one line, nothing pinned, and the pod then without it.
        let ipc_sysctl = kernel::ipc_sysctls_in_user_ns();
        if !ipc_sysctl {
            let out = under(&p, d.path(), &args);
            assert_eq!(stderr(&out), kernel::NO_IPC_SYSCTL_IN_USER_NS, "[{p}]");
            assert_eq!(out.code(), Some(1), "[{p}]");
            assert!(ns_mounts_under(d.path()).is_empty(), "[{p}]");
            args.truncate(args.len() - 2);
        }
        must_under(&p, d.path(), &args);
        let user = d.pin("user", name);
        assert_eq!(ns_type(&user), libc::CLONE_NEWUSER, "[{p}]");
        for map in ["uid_map", "gid_map"] {
            let text = nsenter("user", &user, &["cat", &format!("/proc/self/{map}")]);
            assert_eq!(words(&text), ["0", "100000", "65536"], "[{p}] {map}");
        }
        for ty in ["net", "ipc", "uts"] {
            assert_eq!(owner_userns(&d.pin(ty, name)), inode(&user), "[{p}] {ty}");
        }
        let cat = |ty: &str, file: &str| {
            nsenter(ty, &d.pin(ty, name), &["cat", file])
                .trim()
                .to_string()
        };
        assert_eq!(cat("uts", "/proc/sys/kernel/hostname"), "userpod", "[{p}]");
        if ipc_sysctl {
            assert_eq!(cat("ipc", "/proc/sys/kernel/shmmax"), "65536", "[{p}]");
        }
        // Group ids as the pod sees them, and as the host does.
        let user_flag = format!("--user={}", user.display());
        let net_flag = format!("--net={}", d.pin("net", name).display());
        let range = "/proc/sys/net/ipv4/ping_group_range";
        let inside = sh("nsenter", &[&user_flag, &net_flag, "cat", range]);
        assert_eq!(words(&inside), ["0", "65535"], "[{p}]");
        assert_eq!(words(&cat("net", range)), ["100000", "165535"], "[{p}]");
        assert_eq!(ns_mounts_under(d.path()).len(), 4, "[{p}]");
    }
}

/// `=host` pins the caller's own namespaces; `--from-pid` a running
/// process's, which outlive it.
#[test]
fn host_mode_and_from_pid_under_every_profile() {
    for p in kernel::profiles() {
        let d = PinDir::new();
        let mut args = vec![
            "-f",
            "h",
            "--net=host",
            "--ipc=host",
            "--uts=host",
            "--cgroup=host",
            "--user=host",
            "--pid=host",
        ];
        let mut types = vec!["net", "ipc", "uts", "cgroup", "user", "pid"];
        // (Before 5.6 there is no time link to pin; a profile cannot
        // take the link away, so it is asked for only where it exists.)
        if p.has_time_ns() && kernel::has_time_ns() {
            args.push("--time=host");
            types.push("time");
        }
        must_under(&p, d.path(), &args);
        for ty in &types {
            assert_eq!(inode(&d.pin(ty, "h")), own_ns(ty), "[{p}] {ty}");
        }

        // A pod's pause process, its sleep PID 1 of a PID namespace.
        let pause = Child::spawn(
            Command::new("unshare")
                .args([
                    "--net",
                    "--ipc",
                    "--uts",
                    "--pid",
                    "--fork",
                    "--kill-child",
                    "sleep",
                    "30",
                ])
                .stdin(Stdio::null()),
        );
        let mut sleeper = 0;
        wait_for(
            || {
                sleeper = children_of(pause.pid()).first().copied().unwrap_or(0);
                sleeper != 0
                    && fs::read_link(format!("/proc/{sleeper}/ns/pid"))
                        .is_ok_and(|l| l != fs::read_link("/proc/self/ns/pid").unwrap())
            },
            "the pause process",
        );
        let ns = |ty: &str| PathBuf::from(format!("/proc/{sleeper}/ns/{ty}"));
        let want: Vec<u64> = ["net", "ipc", "uts", "pid"]
            .iter()
            .map(|t| inode(&ns(t)))
            .collect();
        let pid = sleeper.to_string();
        must_under(
            &p,
            d.path(),
            &[
                "-f",
                "mig",
                "--net",
                "--ipc",
                "--uts",
                "--pid",
                "--from-pid",
                &pid,
            ],
        );
        for (ty, want) in ["net", "ipc", "uts", "pid"].iter().zip(&want) {
            assert_eq!(inode(&d.pin(ty, "mig")), *want, "[{p}] {ty}");
        }
        // Entering the pid pin puts the command in the pod's PID
        // namespace (as a child of pinns).
        let out = must_under(
            &p,
            d.path(),
            &[
                "exec",
                "-f",
                "mig",
                "--pid",
                "--",
                "readlink",
                "/proc/self/ns/pid",
            ],
        );
        assert_eq!(stdout(&out).trim(), format!("pid:[{}]", want[3]), "[{p}]");
        drop(pause);
        for ty in ["net", "ipc", "uts"] {
            nsenter(ty, &d.pin(ty, "mig"), &["true"]);
        }
        assert_eq!(ns_mounts_under(d.path()).len(), types.len() + 4, "[{p}]");
    }
}

/// Mount and cgroup pins, the unbindable `mntns`, and pins made later
/// reaching a mount namespace that bind-mounted the directory earlier,
/// once (`pinns pin`, the `ip netns` set-up).
#[test]
fn mnt_and_cgroup_pins_and_propagation_under_every_profile() {
    for p in kernel::profiles() {
        let d = PinDir::new();
        must_under(
            &p,
            d.path(),
            &["pin", "-f", "m", "--mnt", "--cgroup", "--net"],
        );
        assert_eq!(ns_type(&d.pin("mnt", "m")), libc::CLONE_NEWNS, "[{p}]");
        assert_eq!(
            ns_type(&d.pin("cgroup", "m")),
            libc::CLONE_NEWCGROUP,
            "[{p}]"
        );
        let mntns = d.path().join("mntns");
        let selfs: Vec<MountInfo> = mounts_under(d.path())
            .into_iter()
            .filter(|m| m.mount_point == mntns)
            .collect();
        assert_eq!(selfs.len(), 1, "[{p}] {selfs:?}");
        assert!(selfs[0].optional.contains("unbindable"), "[{p}] {selfs:?}");
        let inside = nsenter(
            "mount",
            &d.pin("mnt", "m"),
            &["readlink", "/proc/self/ns/mnt"],
        );
        assert_eq!(
            inside.trim(),
            format!("mnt:[{}]", inode(&d.pin("mnt", "m"))),
            "[{p}]"
        );

        // A pinns killed between self-binding mntns and making it
        // unbindable left it half set up: the next one repairs it, whether
        // or not the kernel can clone mounts to tell.
        let half = d.path().join("half");
        let half_mntns = half.join("mntns");
        fs::create_dir_all(&half_mntns).unwrap();
        let half_path = half_mntns.to_str().unwrap();
        sh("mount", &["--bind", half_path, half_path]);
        d.track(&half, "m");
        must_under(&p, &half, &["-f", "m", "--mnt", "--net"]);
        let selfs: Vec<MountInfo> = mounts_under(&half)
            .into_iter()
            .filter(|m| m.mount_point == half_mntns)
            .collect();
        assert_eq!(selfs.len(), 1, "[{p}] {selfs:?}");
        assert!(selfs[0].is_unbindable(), "[{p}] not repaired: {selfs:?}");
        // Likewise a type directory that the classic steps (kernels without
        // mount_setattr) left bound to itself but not yet shared.
        if !p.has_syscall("mount_setattr") {
            let half = d.path().join("half-net");
            let half_netns = half.join("netns");
            fs::create_dir_all(&half_netns).unwrap();
            let path = half_netns.to_str().unwrap();
            sh("mount", &["--bind", path, path]);
            sh("mount", &["--make-private", path]);
            d.track(&half, "n");
            must_under(&p, &half, &["pin", "-f", "n", "--net"]);
            let selfs: Vec<MountInfo> = mounts_under(&half)
                .into_iter()
                .filter(|m| m.mount_point == half_netns)
                .collect();
            assert_eq!(selfs.len(), 1, "[{p}] {selfs:?}");
            assert!(
                selfs[0].peer_group().is_some(),
                "[{p}] not repaired: {selfs:?}"
            );
        }

        let view = d.path().join("view");
        fs::create_dir(&view).unwrap();
        let bind = format!(
            "mount --bind {} {} && mount --make-slave {}",
            d.path().join("netns").display(),
            view.display(),
            view.display()
        );
        let other = OtherMountNs::start(d.path(), "view", &bind);
        must_under(&p, d.path(), &["pin", "-f", "later", "--net"]);
        let seen = other.counts(&[view.join("later")]);
        assert_eq!(seen, [1], "[{p}] the later pin appeared {seen:?} times");
    }
}

/// `list`, `exec`, `prune` and `unpin` on a pod.
#[test]
fn list_exec_prune_unpin_under_every_profile() {
    for p in kernel::profiles() {
        let d = PinDir::new();
        must_under(
            &p,
            d.path(),
            &[
                "-f",
                "pod",
                "--net",
                "--ipc",
                "--uts",
                "-s",
                "kernel.hostname=kpod",
            ],
        );
        let doc: serde_json::Value =
            serde_json::from_slice(&must_under(&p, d.path(), &["list", "--json"]).stdout).unwrap();
        let names = doc["names"].as_array().unwrap();
        assert_eq!(names.len(), 1, "[{p}] {doc}");
        let pins = names[0]["pins"].as_array().unwrap();
        assert_eq!(pins.len(), 3, "[{p}] {doc}");
        for pin in pins {
            let ty = pin["type"].as_str().unwrap();
            assert_eq!(pin["state"], "live", "[{p}] {doc}");
            assert_eq!(pin["inode"], inode(&d.pin(ty, "pod")), "[{p}] {ty}");
        }

        let out = must_under(
            &p,
            d.path(),
            &[
                "exec",
                "-f",
                "pod",
                "--",
                "sh",
                "-c",
                "readlink /proc/self/ns/net; hostname",
            ],
        );
        assert_eq!(
            stdout(&out),
            format!("net:[{}]\nkpod\n", inode(&d.pin("net", "pod"))),
            "[{p}]"
        );
        let out = under(
            &p,
            d.path(),
            &["exec", "-f", "pod", "--", "sh", "-c", "exit 7"],
        );
        assert_eq!(out.status.code(), Some(7), "[{p}]");

        // A leftover of a crash between creating a pin file and mounting
        // on it: listed stale, pruned; the live pins are kept.
        let stale = d.pin("net", "stale");
        fs::write(&stale, b"").unwrap();
        let table = stdout(&must_under(&p, d.path(), &["list"]));
        assert!(
            table
                .lines()
                .any(|l| words(l).first() == Some(&"stale") && l.contains(" stale")),
            "[{p}] {table}"
        );
        let out = must_under(&p, d.path(), &["prune"]);
        assert_eq!(
            stdout(&out),
            format!("removed {}\n", stale.display()),
            "[{p}]"
        );
        assert!(!stale.exists(), "[{p}]");
        assert_eq!(ns_mounts_under(d.path()).len(), 3, "[{p}]");

        must_under(&p, d.path(), &["unpin", "-f", "pod"]);
        assert!(ns_mounts_under(d.path()).is_empty(), "[{p}]");
        assert!(pin_files_under(d.path()).is_empty(), "[{p}]");
        // Nothing left is not an error.
        must_under(&p, d.path(), &["unpin", "-f", "pod"]);
    }
}

/// A time namespace needs 5.6, a PID namespace with no process 6.11:
/// pinned where the kernel has them, refused in one line naming the
/// kernel where it does not, with nothing left.
#[test]
fn time_and_pid_namespaces_need_their_kernels() {
    for p in kernel::profiles() {
        let d = PinDir::new();
        let out = under(
            &p,
            d.path(),
            &["-f", "t", "--net", "--time", "--monotonic", "5"],
        );
        if p.has_time_ns() && kernel::has_time_ns() {
            assert!(out.status.success(), "[{p}] {}", stderr(&out));
            let pin = d.pin("time", "t");
            assert_eq!(ns_type(&pin), libc::CLONE_NEWTIME, "[{p}]");
            let offsets = nsenter("time", &pin, &["cat", "/proc/self/timens_offsets"]);
            assert!(
                offsets.lines().any(|l| words(l) == ["monotonic", "5", "0"]),
                "[{p}] {offsets}"
            );
        } else {
            assert_eq!(stderr(&out), kernel::NO_TIME_NS, "[{p}]");
            assert_eq!(out.status.code(), Some(1), "[{p}]");
            assert!(pin_files_under(d.path()).is_empty(), "[{p}]");
            assert!(ns_mounts_under(d.path()).is_empty(), "[{p}]");
        }

        let d = PinDir::new();
        let out = under(&p, d.path(), &["-f", "p", "--net", "--pid"]);
        if p.has_pid_ns_ioctl() && kernel::has_pid_ns_ioctl() {
            assert!(out.status.success(), "[{p}] {}", stderr(&out));
            let pin = d.pin("pid", "p");
            assert_eq!(ns_type(&pin), libc::CLONE_NEWPID, "[{p}]");
            // Its first entrant is its PID 1.
            let first = nsenter("pid", &pin, &["sh", "-c", "echo $$"]);
            assert_eq!(first.trim(), "1", "[{p}]");
        } else {
            assert_eq!(stderr(&out), kernel::NO_PID_NS_IOCTL, "[{p}]");
            assert_eq!(out.status.code(), Some(1), "[{p}]");
            // Refused before anything was made: not even a type directory.
            let made: Vec<_> = fs::read_dir(d.path()).unwrap().flatten().collect();
            assert!(made.is_empty(), "[{p}] {made:?}");
            assert!(mounts_under(d.path()).is_empty(), "[{p}]");
        }
    }
}

/// With `-d /run`, `ip netns` works on our pins and we on its.
#[test]
fn ip_netns_scenarios_under_every_profile() {
    let run_dir = Path::new("/run");
    for p in kernel::profiles() {
        let tag = p.release.to_string().replace('.', "-");
        let ours = unique(&format!("k{tag}"));
        let guard = PinDir::new();
        guard.track(run_dir, &ours);
        must_under(&p, run_dir, &["-f", &ours, "--net", "--loopback"]);
        let pin = run_dir.join("netns").join(&ours);
        let list = sh("ip", &["netns", "list"]);
        assert!(
            list.lines()
                .any(|l| words(l).first() == Some(&ours.as_str())),
            "[{p}] {list}"
        );
        let lo = sh(
            "ip",
            &["netns", "exec", &ours, "ip", "-o", "link", "show", "lo"],
        );
        assert!(lo.contains(",UP"), "[{p}] {lo}");
        // `pinns exec` gives the command what `ip netns exec` does: the
        // pod's own sysfs.
        let out = must_under(
            &p,
            run_dir,
            &["exec", "-f", &ours, "--", "ls", "/sys/class/net"],
        );
        assert_eq!(stdout(&out), "lo\n", "[{p}]");

        // A process inside: `pinns list --pid` and `ip netns identify`
        // agree on where it is.
        let mut sleep = pinns_command();
        sleep.args(["exec", "-d", "/run", "-f", &ours, "--", "sleep", "30"]);
        let inside = Child::spawn(p.apply(&mut sleep).stdin(Stdio::null()));
        let link = format!("/proc/{}/ns/net", inside.pid());
        wait_for(
            || fs::metadata(&link).is_ok_and(|_| inode(Path::new(&link)) == inode(&pin)),
            "the process in the pod",
        );
        let pid = inside.pid().to_string();
        let table = stdout(&must_under(&p, run_dir, &["list", "--pid", &pid]));
        assert!(
            table
                .lines()
                .any(|l| words(l).first() == Some(&ours.as_str())),
            "[{p}] {table}"
        );
        assert_eq!(sh("ip", &["netns", "identify", &pid]).trim(), ours, "[{p}]");
        drop(inside);
        sh("ip", &["netns", "delete", &ours]);
        assert!(!pin.exists(), "[{p}]");

        // And ours on `ip netns add`'s.
        let theirs = unique(&format!("i{tag}"));
        guard.track(run_dir, &theirs);
        sh("ip", &["netns", "add", &theirs]);
        let theirs_pin = run_dir.join("netns").join(&theirs);
        let out = must_under(
            &p,
            run_dir,
            &["exec", "-f", &theirs, "--", "readlink", "/proc/self/ns/net"],
        );
        assert_eq!(
            stdout(&out).trim(),
            format!("net:[{}]", inode(&theirs_pin)),
            "[{p}]"
        );
        must_under(&p, run_dir, &["unpin", "-f", &theirs, "--net"]);
        assert!(!theirs_pin.exists(), "[{p}]");
    }
}

/// Bad input is refused as on the running kernel, under every profile:
/// the same line, the same status, and nothing left.
#[test]
fn bad_input_is_refused_alike_under_every_profile() {
    let cases: &[&[&str]] = &[
        &["-f", "../x", "--net"],
        &["-f", "x", "--net", "-s", "kernel.panic=1"],
        &["-f", "x", "--net", "-s", "../../../etc/x=1"],
        &["-f", "x", "--net=host", "-s", "net.ipv4.ip_forward=1"],
        &["-f", "x", "--net", "--user"],
        &["-f", "link", "--net", "--ipc"],
        &["-f", "taken", "--net", "--ipc"],
        &["-f", "x", "--net", "--from-pid", "999999999"],
        &["-f", "x", "--mnt=host", "--net"],
    ];
    let set_up = |d: &PinDir| {
        // A symlink at a pin path, and a pin already there.
        fs::create_dir_all(d.path().join("netns")).unwrap();
        symlink("/etc/hostname", d.pin("net", "link")).unwrap();
        d.must(&["-f", "taken", "--ipc"]);
    };
    let reference = PinDir::new();
    set_up(&reference);
    let want: Vec<(String, Option<i32>)> = cases
        .iter()
        .map(|args| {
            let out = reference.pinns(args);
            (stderr(&out), out.status.code())
        })
        .collect();
    for p in kernel::profiles() {
        let d = PinDir::new();
        set_up(&d);
        let before = pin_files_under(d.path()).len();
        for (args, (err, code)) in cases.iter().zip(&want) {
            let out = under(&p, d.path(), args);
            let shown = err.replace(reference.path().to_str().unwrap(), "DIR");
            assert_eq!(
                stderr(&out).replace(d.path().to_str().unwrap(), "DIR"),
                shown,
                "[{p}] {args:?}"
            );
            assert_eq!(out.status.code(), *code, "[{p}] {args:?}");
            assert!(matches!(code, Some(1 | 2)), "{args:?}: {code:?}");
            assert_eq!(shown.lines().count(), 1, "{args:?}: {shown}");
        }
        assert_eq!(pin_files_under(d.path()).len(), before, "[{p}]");
        assert_eq!(ns_mounts_under(d.path()).len(), 1, "[{p}]");
        assert_eq!(
            fs::read_link(d.pin("net", "link")).unwrap(),
            Path::new("/etc/hostname")
        );
    }
}
