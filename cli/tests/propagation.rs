//! What pinns mounts, by how it is invoked and the propagation of the
//! mount that holds the pin directory. Invoked as CRI-O invokes it (no
//! subcommand): only the pin files (and mntns's unbindable self-bind), on
//! every host, as CRI-O's C pinns, so CRI-O's cleanup (umount each file,
//! `rm -fr DIR`) works. With `pinns pin` (the library's default): on a
//! shared holding mount only the pin files too; on a private one the type
//! directories become shared self-binds of their own (the `ip netns`
//! way), so a pin made later appears, once, in a mount namespace made
//! earlier, and the self-bind goes with the type directory's last pin.
//!
//! Each test sets the host's side up itself: a temp dir bind-mounted onto
//! itself and made shared or private, with the pin directory inside it, so
//! nothing depends on how this machine's `/` propagates.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A scratch mount of the given propagation (a temp dir bound onto
/// itself), with the pin directory `DIR` inside it, not a mount point:
/// as `/run/crio` or a CRI-O test's directory sits on a host's mount.
/// Dropping it unpins and unmounts everything under it.
struct Scratch {
    /// Its Drop takes down every mount under the temp dir, this one too.
    guard: PinDir,
    /// The mount that holds DIR.
    holder: PathBuf,
    dir: PathBuf,
}

impl Scratch {
    fn new(host: Host) -> Scratch {
        let guard = PinDir::new();
        let holder = guard.mount_as(host);
        let dir = holder.join("pods");
        Scratch { guard, holder, dir }
    }

    fn root(&self) -> &Path {
        self.guard.path()
    }

    fn dir_str(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn pin(&self, ty: &str, name: &str) -> PathBuf {
        self.dir.join(format!("{ty}ns")).join(name)
    }

    /// Runs `pinns ARGS` with `-d DIR` after the subcommand (if any).
    fn pinns(&self, args: &[&str]) -> Out {
        pinns_in(&self.dir, args)
    }

    /// Like [`Scratch::pinns`], and asserts exit 0.
    fn must(&self, args: &[&str]) -> Out {
        self.pinns(args).assert_success()
    }

    /// Every mount point under DIR (DIR included), as the kernel lists them.
    fn mounts(&self) -> Vec<MountInfo> {
        mounts_under(&self.dir)
    }

    /// The mounts whose mount point is exactly `path`.
    fn mounts_at(&self, path: &Path) -> Vec<MountInfo> {
        self.mounts()
            .into_iter()
            .filter(|m| m.mount_point == path)
            .collect()
    }
}

/// CRI-O's way: no subcommand, a pod's net, ipc and uts with a sysctl.
fn pin_pod(s: &Scratch, name: &str) {
    s.must(&[
        "-f",
        name,
        "-s",
        "net.ipv4.ping_group_range=0 2147483647",
        "--ipc",
        "--uts",
        "--net",
    ]);
}

/// The `ip netns` way: the same pod with `pinns pin`.
fn pin_pod_ip_netns(s: &Scratch, name: &str) {
    s.must(&[
        "pin",
        "-f",
        name,
        "-s",
        "net.ipv4.ping_group_range=0 2147483647",
        "--ipc",
        "--uts",
        "--net",
    ]);
}

/// Asserts that the only mounts under DIR are the pins of `names` (each
/// of net, ipc and uts, each once).
fn assert_only_pins(s: &Scratch, names: &[&str]) {
    let mut want: Vec<PathBuf> = names
        .iter()
        .flat_map(|n| ["net", "ipc", "uts"].map(|ty| s.pin(ty, n)))
        .collect();
    want.sort();
    let mounts = s.mounts();
    let mut got: Vec<PathBuf> = mounts.iter().map(|m| m.mount_point.clone()).collect();
    got.sort();
    assert_eq!(got, want, "mounted under DIR: {mounts:#?}");
    assert!(
        mounts.iter().all(|m| m.fs_type == "nsfs"),
        "not only namespaces: {mounts:#?}"
    );
}

/// Asserts the `ip netns` layout: each of the pod's type directories is
/// mounted once, shared in a peer group that neither the scratch mount
/// nor another type directory is in.
fn assert_own_shared_type_dirs(s: &Scratch) {
    let scratch = mounts_under(&s.holder)
        .into_iter()
        .find(|m| m.mount_point == s.holder)
        .expect("the scratch mount");
    let mut groups = vec![scratch.peer_group().map(str::to_string)];
    for ty in ["netns", "ipcns", "utsns"] {
        let at = s.mounts_at(&s.dir.join(ty));
        assert_eq!(at.len(), 1, "{ty} is mounted {} times: {at:#?}", at.len());
        let group = at[0]
            .peer_group()
            .unwrap_or_else(|| panic!("{ty} is not shared: {:?}", at[0]))
            .to_string();
        assert!(
            !groups.contains(&Some(group.clone())),
            "{ty} is in a peer group already used: {at:?} {groups:?}"
        );
        groups.push(Some(group));
    }
}

/// CRI-O's own suite simulates a reboot so: unmount every pin file, then
/// remove the directory. Returns how rm ended.
fn crio_wipe(dir: &Path) -> Out {
    must(
        Command::new("find")
            .arg(dir)
            .args(["-type", "f", "-exec", "umount", "{}", ";"]),
    );
    run(Command::new("rm").arg("-fr").arg(dir))
}

#[test]
fn on_a_shared_host_only_the_pins_are_mounted_and_crio_cleanup_works() {
    let s = Scratch::new(Host::Shared);
    pin_pod(&s, "pod-a");
    pin_pod(&s, "pod-b");
    assert_only_pins(&s, &["pod-a", "pod-b"]);
    // The pins themselves are what they are on any host.
    for ty in ["net", "ipc", "uts"] {
        assert_ne!(inode(&s.pin(ty, "pod-a")), own_ns(ty), "{ty}");
        assert_ne!(inode(&s.pin(ty, "pod-a")), inode(&s.pin(ty, "pod-b")));
    }
    let rm = crio_wipe(&s.dir);
    assert!(rm.status.success(), "rm -fr DIR: {}", stderr(&rm));
    assert!(!s.dir.exists());
    assert!(s.mounts().is_empty(), "{:#?}", s.mounts());
}

/// CRI-O's command line leaves only the pins on a private host too (no
/// type directory is mounted), so its cleanup works there as well.
#[test]
fn crio_way_on_a_private_host_mounts_only_the_pins_and_crio_cleanup_works() {
    let s = Scratch::new(Host::Private);
    pin_pod(&s, "pod-a");
    pin_pod(&s, "pod-b");
    assert_only_pins(&s, &["pod-a", "pod-b"]);
    let rm = crio_wipe(&s.dir);
    assert!(rm.status.success(), "rm -fr DIR: {}", stderr(&rm));
    assert!(!s.dir.exists());
    assert!(s.mounts().is_empty(), "{:#?}", s.mounts());
}

/// `pinns pin` on a shared host mounts only the pins too: they propagate
/// with the holding mount.
#[test]
fn ip_netns_way_on_a_shared_host_mounts_only_the_pins() {
    let s = Scratch::new(Host::Shared);
    pin_pod_ip_netns(&s, "pod-a");
    pin_pod_ip_netns(&s, "pod-b");
    assert_only_pins(&s, &["pod-a", "pod-b"]);
    s.must(&["unpin", "-f", "pod-a"]);
    s.must(&["unpin", "-f", "pod-b"]);
    sh("rm", &["-r", s.dir_str()]);
    assert!(s.mounts().is_empty(), "{:#?}", s.mounts());
}

/// `pinns pin` on a private host: the type directories are shared
/// self-binds, which go with their last pin, so `rm -r DIR` works after
/// the last unpin.
#[test]
fn ip_netns_way_on_a_private_host_self_binds_go_with_the_last_pin() {
    let s = Scratch::new(Host::Private);
    pin_pod_ip_netns(&s, "pod-a");
    pin_pod_ip_netns(&s, "pod-b");
    assert_own_shared_type_dirs(&s);
    assert_eq!(
        s.mounts().iter().filter(|m| m.fs_type == "nsfs").count(),
        6,
        "{:#?}",
        s.mounts()
    );
    // One pod gone: the others' pins hold the type directories up.
    s.must(&["unpin", "-f", "pod-a"]);
    assert_own_shared_type_dirs(&s);
    // Only the uts pin of the last pod: utsns's self-bind goes, not the rest.
    s.must(&["unpin", "-f", "pod-b", "--uts"]);
    assert!(
        s.mounts_at(&s.dir.join("utsns")).is_empty(),
        "{:#?}",
        s.mounts()
    );
    assert_eq!(s.mounts_at(&s.dir.join("netns")).len(), 1);
    s.must(&["unpin", "-f", "pod-b"]);
    assert!(s.mounts().is_empty(), "{:#?}", s.mounts());
    let rm = run(Command::new("rm").arg("-r").arg(&s.dir));
    assert!(rm.status.success(), "rm -r DIR: {}", stderr(&rm));
}

/// CRI-O's cleanup after `pinns pin` on a private host: each pin file
/// unmounted, then `rm -fr`, which the type directories' own mounts stop
/// (they are the `ip netns` set-up); `pinns unpin --all` takes them down.
#[test]
fn ip_netns_way_then_crio_cleanup_needs_unpin_all() {
    let s = Scratch::new(Host::Private);
    pin_pod_ip_netns(&s, "pod-a");
    let rm = crio_wipe(&s.dir);
    assert!(!rm.status.success(), "rm -fr removed mount points?");
    s.must(&["unpin", "--all"]);
    assert!(s.mounts().is_empty(), "{:#?}", s.mounts());
    sh("rm", &["-r", s.dir_str()]);
}

fn later_pin_is_seen_once(host: Host) {
    let s = Scratch::new(host);
    pin_pod_ip_netns(&s, "first");
    let viewer = OtherMountNs::start(s.root(), "view", "true");
    pin_pod_ip_netns(&s, "second");
    let paths: Vec<PathBuf> = ["first", "second"]
        .iter()
        .flat_map(|n| ["net", "ipc", "uts"].map(|ty| s.pin(ty, n)))
        .collect();
    let counts = viewer.counts(&paths);
    assert_eq!(counts, vec![1; paths.len()], "{host:?}: {paths:?}");
}

#[test]
fn shared_host_later_pin_seen_once_in_a_slave_namespace() {
    later_pin_is_seen_once(Host::Shared);
}

#[test]
fn private_host_later_pin_seen_once_in_a_slave_namespace() {
    later_pin_is_seen_once(Host::Private);
}

/// A slave-only mount is no shared one: the type directories get peer
/// groups of their own there too.
#[test]
fn slave_only_host_is_treated_as_not_shared() {
    let s = Scratch::new(Host::Slave);
    pin_pod_ip_netns(&s, "pod");
    assert_own_shared_type_dirs(&s);
    drop(s);
    later_pin_is_seen_once(Host::Slave);
}

/// On a shared host the namespace may even be made before the directory
/// exists: nothing needs to be set up first for the pins to reach it.
#[test]
fn shared_host_pins_reach_a_namespace_made_before_the_directory() {
    let s = Scratch::new(Host::Shared);
    let viewer = OtherMountNs::start(s.root(), "early", "true");
    pin_pod(&s, "pod");
    let paths: Vec<PathBuf> = ["net", "ipc", "uts"].map(|ty| s.pin(ty, "pod")).to_vec();
    assert_eq!(viewer.counts(&paths), vec![1; 3]);
}

/// A type directory an earlier pinns (or `ip netns`) made a shared
/// self-bind of its own is used as it is on a shared host: not mounted
/// again, its peer group kept, its pins still propagating once.
#[test]
fn shared_host_keeps_an_existing_self_bound_type_dir() {
    let s = Scratch::new(Host::Shared);
    let netns = s.dir.join("netns");
    fs::create_dir_all(&netns).unwrap();
    let path = netns.to_str().unwrap();
    sh("mount", &["--bind", path, path]);
    sh("mount", &["--make-private", path]);
    sh("mount", &["--make-shared", path]);
    let before = s.mounts_at(&netns);
    assert_eq!(before.len(), 1);
    pin_pod(&s, "first");
    let viewer = OtherMountNs::start(s.root(), "view", "true");
    pin_pod(&s, "second");
    let after = s.mounts_at(&netns);
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0].peer_group(), before[0].peer_group());
    // ipcns and utsns, new here, are not mounted.
    for ty in ["ipcns", "utsns"] {
        assert!(s.mounts_at(&s.dir.join(ty)).is_empty(), "{ty}");
    }
    let paths: Vec<PathBuf> = ["first", "second"]
        .iter()
        .flat_map(|n| ["net", "ipc", "uts"].map(|ty| s.pin(ty, n)))
        .collect();
    assert_eq!(viewer.counts(&paths), vec![1; paths.len()]);
    s.must(&["unpin", "-f", "first"]);
    s.must(&["unpin", "-f", "second"]);
    assert!(ns_mounts_under(&s.dir).is_empty());
}

/// A mount-namespace pin needs an unbindable `mntns` on every host, both
/// ways; the `ip netns` way also self-binds netns on a private host.
/// Either way the last unpin takes every mount down.
#[test]
fn mntns_is_an_unbindable_self_bind_on_both_hosts() {
    for (host, sub) in [
        (Host::Shared, ""),
        (Host::Private, ""),
        (Host::Shared, "pin"),
        (Host::Private, "pin"),
    ] {
        let s = Scratch::new(host);
        let mut args = vec!["-f", "m", "--mnt", "--net"];
        if !sub.is_empty() {
            args.insert(0, sub);
        }
        s.must(&args);
        let at = s.mounts_at(&s.dir.join("mntns"));
        assert_eq!(at.len(), 1, "{host:?}: {at:#?}");
        assert!(
            at[0].optional.split(' ').any(|o| o == "unbindable"),
            "{host:?}: {:?}",
            at[0]
        );
        assert_eq!(ns_type(&s.pin("mnt", "m")), libc::CLONE_NEWNS);
        let netns_mounted = !s.mounts_at(&s.dir.join("netns")).is_empty();
        assert_eq!(
            netns_mounted,
            host == Host::Private && sub == "pin",
            "{host:?} {sub}"
        );
        s.must(&["unpin", "-f", "m"]);
        assert!(s.mounts().is_empty(), "{host:?} {sub}: {:#?}", s.mounts());
    }
}

/// unpin, list, prune and exec do not care how DIR is mounted.
#[test]
fn unpin_list_prune_and_exec_work_alike_on_both_hosts() {
    for host in [Host::Shared, Host::Private] {
        let s = Scratch::new(host);
        pin_pod(&s, "a");
        pin_pod(&s, "b");
        // exec enters the pinned namespace.
        let out = s.must(&[
            "exec",
            "-f",
            "a",
            "--net",
            "--",
            "readlink",
            "/proc/self/ns/net",
        ]);
        assert_eq!(
            stdout(&out).trim(),
            format!("net:[{}]", inode(&s.pin("net", "a"))),
            "{host:?}"
        );
        // list sees both, live.
        fs::write(s.pin("net", "stale"), b"").unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(&s.must(&["list", "--json"]).stdout).unwrap();
        let names = doc["names"].as_array().unwrap();
        for name in ["a", "b"] {
            let entry = names
                .iter()
                .find(|e| e["name"] == name)
                .unwrap_or_else(|| panic!("{host:?}: {name} not listed: {doc}"));
            let pins = entry["pins"].as_array().unwrap();
            assert_eq!(pins.len(), 3, "{host:?}: {entry}");
            assert!(pins.iter().all(|p| p["state"] == "live"), "{entry}");
        }
        // prune removes the stale file, and no live pin.
        let out = s.must(&["prune"]);
        assert_eq!(
            stdout(&out).trim(),
            format!("removed {}", s.pin("net", "stale").display()),
            "{host:?}"
        );
        assert_eq!(ns_mounts_under(&s.dir).len(), 6, "{host:?}");
        // unpin takes one pod down, everywhere it propagated.
        let viewer = OtherMountNs::start(s.root(), "view", "true");
        s.must(&["unpin", "-f", "a"]);
        let gone: Vec<PathBuf> = ["net", "ipc", "uts"].map(|ty| s.pin(ty, "a")).to_vec();
        assert_eq!(viewer.counts(&gone), vec![0; 3], "{host:?}");
        assert!(gone.iter().all(|p| !p.exists()), "{host:?}");
        s.must(&["unpin", "-f", "b"]);
        assert!(ns_mounts_under(&s.dir).is_empty(), "{host:?}");
        assert!(pin_files_under(&s.dir).is_empty(), "{host:?}");
    }
}

/// Many pinns at once into a DIR that does not exist yet, on a shared
/// mount: every one succeeds, and only the pins are mounted.
#[test]
fn concurrent_pins_on_a_shared_host_all_succeed() {
    let s = Scratch::new(Host::Shared);
    let names: Vec<String> = (0..24).map(|i| format!("pod-{i}")).collect();
    std::thread::scope(|scope| {
        let runs: Vec<_> = names
            .iter()
            .map(|name| {
                let s = &s;
                scope.spawn(move || s.pinns(&["-f", name, "--net", "--ipc", "--uts"]))
            })
            .collect();
        for run in runs {
            run.join().unwrap().assert_success();
        }
    });
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_only_pins(&s, &names);
}

/// statmount(2)'s number (457 on every architecture of the kernel's
/// common syscall table).
const SYS_STATMOUNT: u32 = 457;

/// Makes `cmd` run as on a kernel without statmount (before 6.8): a
/// seccomp filter answers it ENOSYS, for the program and its children.
fn without_statmount(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // Offsets in `struct seccomp_data`: the syscall number, then the arch.
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    let filter = vec![
        stmt(load, ARCH),
        jeq(AUDIT_ARCH_X86_64, 0, 3),
        stmt(load, NR),
        jeq(SYS_STATMOUNT, 0, 1),
        stmt(ret, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ];
    let filter: &'static [libc::sock_filter] = filter.leak();
    // SAFETY: between fork and exec the closure only makes two prctl
    // calls, which are async-signal-safe, on a filter that lives forever.
    unsafe {
        cmd.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &prog as *const libc::sock_fprog,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Kernels before 6.8 have no statmount: the propagation is read from
/// `/proc/self/mountinfo` instead, with the same outcome on every host.
/// The full suite (`system-tests`, which has strace) also traces pinns to
/// see that it asked, was told ENOSYS, and read mountinfo.
#[test]
fn without_statmount_mountinfo_decides_alike() {
    for host in [Host::Shared, Host::Private, Host::Slave] {
        let s = Scratch::new(host);
        let trace = s.root().join("trace");
        let mut cmd = traced(&trace);
        cmd.args([
            "pin",
            "-d",
            s.dir_str(),
            "-f",
            "pod",
            "--net",
            "--ipc",
            "--uts",
        ]);
        run(without_statmount(&mut cmd)).assert_success();
        // pinns asked, was told ENOSYS, and read mountinfo instead. It
        // asks only with a mount id statmount takes, which statx gives from
        // 6.8 on: an older kernel is not asked at all.
        #[cfg(feature = "system-tests")]
        {
            let trace = fs::read_to_string(&trace).unwrap();
            let asked = trace
                .lines()
                .any(|l| l.contains("syscall_0x1c9(") && l.contains("ENOSYS"));
            let unique_ids = common::kernel::Release::running() >= common::kernel::Release(6, 8);
            assert_eq!(asked, unique_ids, "{host:?}: {trace}");
            assert!(trace.contains("/proc/self/mountinfo"), "{host:?}: {trace}");
        }
        match host {
            Host::Shared => assert_only_pins(&s, &["pod"]),
            Host::Private | Host::Slave => assert_own_shared_type_dirs(&s),
        }
    }
}

/// A pin made while the last pin of its type directory is unpinned: the
/// unpin takes the directory's self-bind down, and the pin, which may have
/// opened the directory through it, still lands where everyone sees it.
#[test]
fn pin_racing_the_last_unpin_of_a_self_bound_dir_stays_visible() {
    let s = Scratch::new(Host::Private);
    for round in 0..20 {
        let (gone, kept) = (format!("gone-{round}"), format!("kept-{round}"));
        s.must(&["pin", "-f", &gone, "--net"]);
        std::thread::scope(|scope| {
            let unpin = scope.spawn(|| s.pinns(&["unpin", "-f", &gone]));
            let pin = scope.spawn(|| s.pinns(&["pin", "-f", &kept, "--net"]));
            unpin.join().unwrap().assert_success();
            pin.join().unwrap().assert_success();
        });
        let pin = s.pin("net", &kept);
        assert_eq!(ns_type(&pin), libc::CLONE_NEWNET, "round {round}");
        s.must(&["unpin", "-f", &kept]);
        assert!(s.mounts().is_empty(), "round {round}: {:#?}", s.mounts());
    }
}

/// pinns under `strace -f -o TRACE` in the full suite; plain pinns in
/// plain `cargo test`, which needs no strace.
fn traced(trace: &Path) -> Command {
    if cfg!(feature = "system-tests") {
        let trace = trace.to_str().unwrap();
        pinns_command_via("strace", &["-f", "-qq", "-o", trace])
    } else {
        pinns_command()
    }
}
