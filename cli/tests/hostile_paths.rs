//! Hostile paths: whatever is planted where pinns looks (symlinks, also
//! swapped in while it runs; FIFOs, sockets, directories, hard links,
//! non-empty files at a pin path; symlinked or non-directory type
//! directories; pin directories that are files or read-only; bad names;
//! sysctl keys that try to leave `/proc/sys`) is refused with one line,
//! and nothing outside is touched, followed or mounted over.

mod common;

use std::ffi::{CString, OsStr};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;

/// A hostile thing to plant at `DIR/netns/NAME`.
enum Plant {
    SymlinkToFile,
    SymlinkToEmptyFile,
    DanglingSymlink,
    Fifo,
    Socket,
    Directory,
    HardLink,
    NonEmptyFile,
}

fn plant_and_pin(plant: Plant, extra: &[&str], why: &str) {
    let s = PinDir::named("plant");
    let dir = s.sub("d");
    let outside = s.sub("outside");
    fs::create_dir_all(dir.join("netns")).unwrap();
    fs::create_dir(&outside).unwrap();
    let secret = outside.join("secret");
    fs::write(&secret, "do not touch\n").unwrap();
    let empty = outside.join("empty");
    fs::write(&empty, "").unwrap();
    let pin = dir.join("netns").join("x");
    s.track(&dir, "x");
    let mut _listener = None;
    match plant {
        Plant::SymlinkToFile => symlink(&secret, &pin).unwrap(),
        Plant::SymlinkToEmptyFile => symlink(&empty, &pin).unwrap(),
        Plant::DanglingSymlink => symlink(outside.join("made-by-pinns"), &pin).unwrap(),
        Plant::Fifo => {
            let c = CString::new(pin.as_os_str().as_bytes()).unwrap();
            // SAFETY: mkfifo with a valid C string.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        }
        Plant::Socket => {
            _listener = Some(std::os::unix::net::UnixListener::bind(&pin).unwrap());
        }
        Plant::Directory => fs::create_dir(&pin).unwrap(),
        Plant::HardLink => fs::hard_link(&empty, &pin).unwrap(),
        Plant::NonEmptyFile => fs::write(&pin, "pid 1234\n").unwrap(),
    }
    let before = (snapshot(&pin), snapshot(&secret), snapshot(&empty));
    // ipc and uts are pinned first (creation order), then net is refused:
    // the two made must be rolled back.
    let mut args = vec!["-f", "x", "--ipc", "--uts", "--net"];
    args.extend_from_slice(extra);
    pinns_in(&dir, &args).assert_refused(1).assert_says(why);
    assert_eq!(
        before,
        (snapshot(&pin), snapshot(&secret), snapshot(&empty)),
        "something was touched"
    );
    assert!(
        !outside.join("made-by-pinns").exists(),
        "a symlink was followed"
    );
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        2,
        "outside changed"
    );
    assert!(
        ns_mounts_under(s.path()).is_empty(),
        "{:#?}",
        ns_mounts_under(s.path())
    );
    for m in [&secret, &empty, &pin] {
        assert!(!is_mount_point(m), "{} was mounted over", m.display());
    }
    for t in ["ipcns", "utsns"] {
        assert!(!dir.join(t).join("x").exists(), "{t}/x not rolled back");
    }
    // Nor does unpin touch what is not a pin: what pin refuses, unpin
    // refuses too, with the same reason (one view of a pin path), a hard
    // link to an empty file included.
    pinns_in(&dir, &["unpin", "-f", "x"])
        .assert_refused(1)
        .assert_says(&format!(
            "removing {}: not a pin (left alone): ",
            pin.display()
        ))
        .assert_says(why);
    assert_eq!(before.0, snapshot(&pin));
    assert_eq!(
        (before.1, before.2.ino),
        (snapshot(&secret), snapshot(&empty).ino)
    );
    assert!(ns_mounts_under(s.path()).is_empty());
}

#[test]
fn symlink_at_pin_path_is_refused() {
    plant_and_pin(Plant::SymlinkToFile, &[], "symlink");
    plant_and_pin(Plant::SymlinkToEmptyFile, &[], "symlink");
    plant_and_pin(Plant::DanglingSymlink, &[], "symlink");
    // The helper-child path too (new user namespace owning the rest).
    plant_and_pin(
        Plant::SymlinkToEmptyFile,
        &[
            "--user",
            "--uid-mapping=0-100000-65536",
            "--gid-mapping=0-100000-65536",
            "--mnt",
        ],
        "symlink",
    );
}

#[test]
fn fifo_socket_directory_hardlink_and_nonempty_file_are_refused() {
    plant_and_pin(Plant::Fifo, &[], "not a regular file");
    plant_and_pin(Plant::Socket, &[], "not a regular file");
    plant_and_pin(Plant::Directory, &[], "directory");
    plant_and_pin(Plant::HardLink, &[], "hard links");
    plant_and_pin(Plant::NonEmptyFile, &[], "not empty");
}

#[test]
fn existing_pin_is_refused_and_kept() {
    let s = PinDir::named("twice");
    let dir = s.sub("d");
    s.track(&dir, "x");
    pinns_in(&dir, &["-f", "x", "--net"]).assert_success();
    let ino = fs::metadata(dir.join("netns/x")).unwrap().ino();
    pinns_in(&dir, &["-f", "x", "--ipc", "--net"])
        .assert_refused(1)
        .assert_says("already pinned");
    assert_eq!(fs::metadata(dir.join("netns/x")).unwrap().ino(), ino);
    assert!(!dir.join("ipcns/x").exists(), "ipc pin not rolled back");
    assert_eq!(ns_mounts_under(&dir).len(), 1);
    // And an empty single-link file (CRI-O's) is used, inode and all.
    fs::create_dir_all(dir.join("utsns")).unwrap();
    fs::write(dir.join("utsns/y"), "").unwrap();
    s.track(&dir, "y");
    pinns_in(&dir, &["-f", "y", "--uts"]).assert_success();
    assert_eq!(on_disk(&dir, "y"), [("utsns".to_string(), "live")]);
    pinns_in(&dir, &["unpin", "-f", "x"]).assert_success();
    pinns_in(&dir, &["unpin", "-f", "y"]).assert_success();
    assert_absent(&dir, "x");
    assert_absent(&dir, "y");
}

#[test]
fn symlinked_or_non_directory_type_directory_is_refused() {
    let s = PinDir::named("typedir");
    let outside = s.sub("outside");
    fs::create_dir(&outside).unwrap();
    let secret = outside.join("secret");
    fs::write(&secret, "keep\n").unwrap();
    for (i, make) in ["symlink-dir", "symlink-file", "file", "dangling"]
        .iter()
        .enumerate()
    {
        let dir = s.sub(&format!("d{i}"));
        fs::create_dir(&dir).unwrap();
        s.track(&dir, "x");
        let netns = dir.join("netns");
        match *make {
            "symlink-dir" => symlink(&outside, &netns).unwrap(),
            "symlink-file" => symlink(&secret, &netns).unwrap(),
            "file" => fs::write(&netns, "").unwrap(),
            _ => symlink(outside.join("nowhere"), &netns).unwrap(),
        }
        let before = (snapshot(&netns), snapshot(&outside), snapshot(&secret));
        pinns_in(&dir, &["-f", "x", "--ipc", "--net"])
            .assert_refused(1)
            .assert_says("not a directory");
        assert_eq!(
            before,
            (snapshot(&netns), snapshot(&outside), snapshot(&secret)),
            "{make}"
        );
        assert_eq!(
            fs::read_dir(&outside).unwrap().count(),
            1,
            "{make}: outside changed"
        );
        assert!(
            !outside.join("nowhere").exists() && !outside.join("x").exists(),
            "{make}"
        );
        assert!(
            !is_mount_point(&outside) && !is_mount_point(&secret),
            "{make}"
        );
        assert!(ns_mounts_under(s.path()).is_empty(), "{make}");
        assert!(!dir.join("ipcns/x").exists(), "{make}: ipc pin left");
        // unpin refuses to walk through it too, and touches nothing.
        pinns_in(&dir, &["unpin", "-f", "x"])
            .assert_refused(1)
            .assert_says(&format!(
                "opening {}: not a directory (a symlink or a file is never followed)",
                netns.display()
            ));
        assert_eq!(
            before,
            (snapshot(&netns), snapshot(&outside), snapshot(&secret)),
            "{make}"
        );
    }
}

#[test]
fn bad_names_are_usage_errors_that_touch_nothing() {
    let s = PinDir::named("names");
    let dir = s.sub("d");
    let long = "n".repeat(256);
    for (name, why) in [
        ("..", "it is . or .."),
        (".", "it is . or .."),
        ("a/b", "it contains '/'"),
        ("/", "it contains '/'"),
        ("../escape", "it contains '/'"),
        ("", "it is empty"),
        (long.as_str(), "it is longer than 255 bytes"),
    ] {
        let said =
            format!("pinns: invalid pin name '{name}': {why} (a name is one path component)\n");
        for sub in [None, Some("pin"), Some("unpin"), Some("exec")] {
            let mut cmd = pinns_command();
            cmd.args(sub).arg("-d").arg(&dir).args(["-f", name]);
            match sub {
                Some("unpin") => cmd.arg("--net"),
                Some("exec") => cmd.args(["--", "true"]),
                _ => cmd.args([
                    "--net",
                    "--user",
                    "--uid-mapping=0-100000-65536",
                    "--gid-mapping=0-100000-65536",
                ]),
            };
            let out = run(&mut cmd).assert_refused(2);
            assert_eq!(out.stderr_text(), said, "{sub:?}");
            assert!(!dir.exists(), "{name:?}: DIR was created");
            assert!(!s.path().join("escape").exists());
        }
    }
    // Control characters: one line on stderr, the name shown escaped,
    // exit 2, nothing made; a newline would split `list`'s table.
    for name in ["a\nb", "tab\there", "\x1b[31mred", "cr\r"] {
        for sub in [None, Some("pin"), Some("unpin"), Some("exec")] {
            let mut cmd = pinns_command();
            cmd.args(sub).arg("-d").arg(&dir).args(["-f", name]);
            match sub {
                Some("exec") => cmd.args(["--", "true"]),
                _ => cmd.arg("--net"),
            };
            let out = run(&mut cmd).assert_refused(2);
            assert_eq!(
                out.stderr_text(),
                format!(
                    "pinns: invalid pin name '{}': it contains a control character \
                     (a name is one path component)\n",
                    name.escape_debug()
                ),
                "{sub:?} {name:?}"
            );
            assert!(!dir.exists(), "{name:?}: DIR was created");
        }
    }
    assert!(pinns::check_name("a\0b").is_err());
    assert!(pinns::check_name(&long).is_err());
    assert!(pinns::check_name("..").is_err());
    // 255 bytes is a valid file name, and works.
    let max = "m".repeat(255);
    s.track(&dir, &max);
    pinns_in(&dir, &["-f", &max, "--net"]).assert_success();
    pinns_in(&dir, &["unpin", "-f", &max]).assert_success();
    assert_absent(&dir, &max);
}

#[test]
fn pin_directory_that_is_a_file_or_read_only_is_refused() {
    let s = PinDir::named("baddir");
    // A regular file, and a path through one.
    let file = s.sub("file");
    fs::write(&file, "data\n").unwrap();
    let before = snapshot(&file);
    for dir in [file.clone(), file.join("sub")] {
        pinns_in(&dir, &["-f", "x", "--net"])
            .assert_refused(1)
            .assert_says("pin directory");
        pinns_in(
            &dir,
            &[
                "-f",
                "x",
                "--net",
                "--user",
                "--uid-mapping=0-100000-65536",
                "--gid-mapping=0-100000-65536",
            ],
        )
        .assert_refused(1);
        assert_eq!(snapshot(&file), before);
    }
    // Read-only file systems: mode 0555 does not stop root, a read-only
    // mount does. Empty, then with the type directories already there
    // (so the namespaces are made and the pin file fails).
    let ro = s.sub("ro");
    fs::create_dir(&ro).unwrap();
    mount_tmpfs(&ro, "ro");
    s.track(&ro, "x");
    pinns_in(&ro, &["-f", "x", "--net"])
        .assert_refused(1)
        .assert_says("Read-only file system");
    pinns_in(&ro.join("sub"), &["-f", "x", "--net"])
        .assert_refused(1)
        .assert_says("Read-only file system");

    let ro2 = s.sub("ro2");
    fs::create_dir(&ro2).unwrap();
    mount_tmpfs(&ro2, "rw");
    for t in ["userns", "ipcns", "utsns", "netns", "mntns"] {
        fs::create_dir(ro2.join(t)).unwrap();
    }
    remount_ro(&ro2);
    s.track(&ro2, "x");
    pinns_in(&ro2, &["-f", "x", "--ipc", "--uts", "--net"])
        .assert_refused(1)
        .assert_says("Read-only file system");
    pinns_in(&ro2, &[&["-f", "x"], HELPER_PIN].concat())
        .assert_refused(1)
        .assert_says("Read-only file system");
    for root in [&ro, &ro2] {
        assert!(
            ns_mounts_under(root).is_empty(),
            "{:#?}",
            ns_mounts_under(root)
        );
        assert_eq!(on_disk(root, "x"), Vec::<(String, &str)>::new());
    }
}

/// A `pinns` killed between self-binding `DIR/mntns` and making it
/// unbindable leaves a plain bind mount there: the next pinns repairs it
/// rather than taking it as set up.
#[test]
fn half_set_up_mntns_is_repaired() {
    let s = PinDir::named("mntns");
    let dir = s.sub("d");
    let mntns = dir.join("mntns");
    fs::create_dir_all(&mntns).unwrap();
    let c = CString::new(mntns.as_os_str().as_bytes()).unwrap();
    // SAFETY: mount(2) with valid C strings: a plain self-bind, as the
    // first step of the set-up leaves it.
    let r = unsafe {
        libc::mount(
            c.as_ptr(),
            c.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    s.track(&dir, "x");
    pinns_in(&dir, &["-f", "x", "--mnt", "--net"]).assert_success();
    assert_propagation(&dir);
    assert_eq!(
        mounts_under(&dir)
            .iter()
            .filter(|m| m.mount_point == mntns)
            .count(),
        1,
        "mntns bound a second time"
    );
    pinns_in(&dir, &["unpin", "-f", "x"]).assert_success();
    assert_absent(&dir, "x");
}

fn mount_tmpfs(at: &Path, opts: &str) {
    let c = CString::new(at.as_os_str().as_bytes()).unwrap();
    let flags = if opts == "ro" { libc::MS_RDONLY } else { 0 };
    // SAFETY: mount(2) with valid C strings and no data.
    let r = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            c.as_ptr(),
            c"tmpfs".as_ptr(),
            flags,
            std::ptr::null(),
        )
    };
    assert_eq!(
        r,
        0,
        "mounting tmpfs on {}: {}",
        at.display(),
        std::io::Error::last_os_error()
    );
}

fn remount_ro(at: &Path) {
    let c = CString::new(at.as_os_str().as_bytes()).unwrap();
    // SAFETY: mount(2) remount with valid C strings.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            c.as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_RDONLY,
            std::ptr::null(),
        )
    };
    assert_eq!(
        r,
        0,
        "remounting {} read-only: {}",
        at.display(),
        std::io::Error::last_os_error()
    );
}

#[test]
fn symlink_swapped_in_while_pinning_never_redirects_the_mount() {
    let s = PinDir::named("swap");
    let dir = s.sub("d");
    let outside = s.sub("outside");
    fs::create_dir(&outside).unwrap();
    // An empty single-link file would pass every check if it were
    // followed: the juiciest target.
    let empty = outside.join("empty");
    fs::write(&empty, "").unwrap();
    let secret = outside.join("secret");
    fs::write(&secret, "secret\n").unwrap();
    s.track(&dir, "x");
    // Make the type directories first, so the race is on the pin file.
    pinns_in(&dir, &["-f", "seed", "--net", "--uts"]).assert_success();
    pinns_in(&dir, &["unpin", "-f", "seed"]).assert_success();
    let before = (snapshot(&empty), snapshot(&secret));
    let pin_paths = [dir.join("netns/x"), dir.join("utsns/x")];

    let stop = AtomicBool::new(false);
    let swaps = AtomicUsize::new(0);
    let (mut pinned, mut refused, mut unpin_refused) = (0, 0, 0);
    const RUNS: usize = 150;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut n = 0usize;
            let mut rng = 0x9E37_79B9_7F4A_7C15u64;
            // A pause of 0 to ~50 µs, different each time, so that pinns
            // meets the symlink, the empty path, and every moment between.
            let mut pause = || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let until = Instant::now() + Duration::from_nanos(rng % 50_000);
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
            };
            while !stop.load(Ordering::Relaxed) {
                for p in &pin_paths {
                    let target = if n % 2 == 0 { &empty } else { &secret };
                    let _ = symlink(target, p);
                    pause();
                    // Removes a symlink, or pinns's fresh file (which an
                    // attacker sharing the directory may do too); a mount
                    // point cannot be removed.
                    let _ = fs::remove_file(p);
                    pause();
                }
                n += 1;
            }
            swaps.store(n, Ordering::Relaxed);
        });
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for i in 0..RUNS {
                let kinds: &[&str] = if i % 3 == 2 {
                    &[
                        "--user",
                        "--uid-mapping=0-100000-65536",
                        "--gid-mapping=0-100000-65536",
                        "--uts",
                        "--net",
                    ]
                } else {
                    &["--uts", "--net"]
                };
                let out = pinns_in(&dir, &[&["-f", "x"], kinds].concat());
                if out.code() == Some(0) {
                    pinned += 1;
                } else {
                    out.assert_refused(1);
                    refused += 1;
                }
                for m in [&empty, &secret] {
                    assert!(
                        !is_mount_point(m),
                        "run {i}: {} was mounted over",
                        m.display()
                    );
                }
                // Unpin until nothing of x is left (the swapper may plant
                // a symlink that unpin refuses to touch, then remove it).
                let mut tries = 0;
                loop {
                    let out = pinns_in(&dir, &["unpin", "-f", "x"]);
                    if out.code() == Some(0) && ns_mounts_under(&dir).is_empty() {
                        break;
                    }
                    if out.code() != Some(0) {
                        out.assert_refused(1).assert_says("not a pin");
                        unpin_refused += 1;
                    }
                    tries += 1;
                    assert!(tries < 200, "run {i}: unpin never got through");
                }
            }
        }));
        stop.store(true, Ordering::Relaxed);
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    });
    let _ = pin_paths.iter().map(fs::remove_file).count();
    assert_eq!(
        before,
        (snapshot(&empty), snapshot(&secret)),
        "an outside file was touched"
    );
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 2);
    assert!(ns_mounts_under(s.path()).is_empty());
    eprintln!(
        "swap: {RUNS} pins against {} swap cycles: {pinned} pinned, {refused} refused, {unpin_refused} unpins refused",
        swaps.load(Ordering::Relaxed)
    );
    assert!(
        pinned > 0 && refused > 0,
        "the race was not exercised: {pinned} pinned, {refused} refused"
    );
}

#[test]
fn hostile_entries_do_not_trouble_list() {
    let s = PinDir::named("list");
    let dir = s.sub("d");
    s.track(&dir, "real");
    pinns_in(&dir, &["-f", "real", "--net"]).assert_success();
    let netns = dir.join("netns");
    let c = CString::new(netns.join("fifo").as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    symlink(netns.join("real"), netns.join("link")).unwrap();
    symlink("/proc/self/ns/net", netns.join("proclink")).unwrap();
    fs::create_dir(netns.join("dir")).unwrap();
    fs::write(netns.join(OsStr::from_bytes(b"bad\xffutf8")), "").unwrap();
    fs::write(netns.join("file"), "x").unwrap();
    let list = listed(&dir);
    let find = |n: &str| {
        list.iter()
            .find(|(name, _)| name == n)
            .map(|(_, p)| p.clone())
    };
    assert_eq!(find("real"), Some(vec![("net".into(), "live".into())]));
    // None is a stale pin: each is something else, which prune keeps.
    for n in ["fifo", "link", "proclink", "dir", "file"] {
        assert_eq!(
            find(n),
            Some(vec![("net".into(), "not-a-pin".into())]),
            "{n}"
        );
    }
    // The table form too: a header, then one row per entry, sorted, with
    // the inode of what is there (the namespace's for a live pin, the
    // entry's own, unfollowed, for the rest), and why what is not a pin
    // is not, in prune's words. A name that is not UTF-8 cannot be a
    // pin's, and is not shown.
    let table = pinns_in(&dir, &["list"]).assert_success().stdout_text();
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let ino = |n: &str| {
        fs::symlink_metadata(netns.join(n))
            .unwrap()
            .ino()
            .to_string()
    };
    let live = inode(&netns.join("real")).to_string();
    let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let want = [
        row(&["NAME", "TYPE", "INODE", "STATE", "PROCS"]),
        row(&[
            "dir",
            "net",
            &ino("dir"),
            "not-a-pin",
            "-",
            "(a",
            "directory)",
        ]),
        row(&[
            "fifo",
            "net",
            &ino("fifo"),
            "not-a-pin",
            "-",
            "(not",
            "a",
            "regular",
            "file)",
        ]),
        row(&[
            "file",
            "net",
            &ino("file"),
            "not-a-pin",
            "-",
            "(not",
            "empty",
            "(1",
            "bytes))",
        ]),
        row(&[
            "link",
            "net",
            &ino("link"),
            "not-a-pin",
            "-",
            "(a",
            "symlink)",
        ]),
        row(&[
            "proclink",
            "net",
            &ino("proclink"),
            "not-a-pin",
            "-",
            "(a",
            "symlink)",
        ]),
        row(&["real", "net", &live, "live", "0"]),
    ];
    assert_eq!(rows, want, "the table:\n{table}");
}

#[test]
fn escaping_sysctl_keys_are_refused_before_anything_is_made() {
    let s = PinDir::named("sysctl");
    let dir = s.sub("d");
    // The component that would leave /proc/sys, or the keys' rule.
    let why = |key: &str| {
        let leaves = match key {
            "net/./ipv4/ip_forward=1" => Some("."),
            "net/../../kernel/x=1" | "net/ipv4/conf/../../../../etc/shadow=1" => Some(".."),
            "kernel.panic=1" | "vm.overcommit_memory=1" => None,
            _ => Some(""),
        };
        match leaves {
            Some(c) => {
                format!("pinns: invalid sysctl '{key}': component '{c}' would leave /proc/sys\n")
            }
            None => format!(
                "pinns: invalid sysctl '{key}': only net.*, kernel.shm*, kernel.msg*, \
                 kernel.sem*, fs.mqueue.*, kernel.hostname and kernel.domainname belong to a \
                 namespace pinns creates\n"
            ),
        }
    };
    for key in [
        "../../../etc/x=1",
        "net/../../kernel/x=1",
        "/etc/passwd=1",
        "net.ipv4.conf.all/../../x=1",
        "net/./ipv4/ip_forward=1",
        "net//ipv4/ip_forward=1",
        "net.ipv4..ip_forward=1",
        "net/ipv4/conf/../../../../etc/shadow=1",
        "kernel.panic=1",
        "vm.overcommit_memory=1",
    ] {
        for flags in [&["--net", "--ipc", "--uts"][..], HELPER_PIN] {
            let out = pinns_in(&dir, &[&["-f", "x", "-s", key], flags].concat());
            assert_eq!(out.assert_refused(2).stderr_text(), why(key), "{flags:?}");
            assert!(!dir.exists(), "{key}: DIR was created");
        }
    }
    // Keys of a namespace taken from the host would change the host's.
    for (flags, key, ty) in [
        (&["--net=host"][..], "net.ipv4.ip_forward=1", "net"),
        (&["--uts=host", "--net"][..], "kernel.hostname=evil", "uts"),
    ] {
        let out = pinns_in(&dir, &[&["-f", "x", "-s", key], flags].concat());
        let sysctl = key.split('=').next().unwrap();
        assert_eq!(
            out.assert_refused(2).stderr_text(),
            format!(
                "pinns: sysctl {sysctl} belongs to the {ty} namespace, which this call does not \
                 create anew (writing it would change the host's); add --{ty}\n"
            )
        );
    }
    assert!(!dir.exists());
    assert!(ns_mounts_under(s.path()).is_empty());
}
