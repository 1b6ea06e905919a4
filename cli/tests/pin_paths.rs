//! One view of a pin path, and what removes pins: `list` and `prune`
//! agree on every path, `unpin --all` (the library's `unpin_all`) leaves a
//! directory `rm -r` removes, and `unpin`/`pin -v` say what they did.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::process::Command;

use common::*;

/// A symlink and a 3-byte file in netns/, beside a live and a stale pin:
/// `list` and `prune --dry-run` say the same of each, in the same words,
/// and neither calls the two strangers stale.
#[test]
fn list_and_prune_agree_on_every_path() {
    let d = PinDir::new();
    d.must(&["-f", "live", "--net"]);
    let netns = d.path().join("netns");
    symlink(netns.join("live"), netns.join("link")).unwrap();
    fs::write(netns.join("three"), b"abc").unwrap();
    fs::write(netns.join("stale"), b"").unwrap();

    let doc: serde_json::Value =
        serde_json::from_slice(&d.must(&["list", "--json"]).stdout).unwrap();
    let listed = |name: &str| {
        let entry = doc["names"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {doc}"));
        let pin = &entry["pins"][0];
        (
            pin["state"].as_str().unwrap().to_string(),
            pin["why"].as_str().map(str::to_string),
        )
    };
    let pruned: serde_json::Value =
        serde_json::from_slice(&d.must(&["prune", "--dry-run", "--json"]).stdout).unwrap();
    let kept = |name: &str| {
        let path = netns.join(name);
        pruned["kept"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["path"] == path.to_str().unwrap())
            .map(|k| k["why"].as_str().unwrap().to_string())
    };
    let removed: Vec<&str> = pruned["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();

    assert_eq!(listed("live"), ("live".into(), None));
    assert_eq!(listed("stale"), ("stale".into(), None));
    assert_eq!(removed, [netns.join("stale").to_str().unwrap()]);
    for (name, why) in [("link", "a symlink"), ("three", "not empty (3 bytes)")] {
        assert_eq!(
            listed(name),
            ("not-a-pin".into(), Some(why.into())),
            "{name}"
        );
        assert_eq!(kept(name).as_deref(), Some(why), "{name}: {pruned}");
    }
    // The table and prune's stderr, for people, in the same words.
    let table = d.must(&["list"]).stdout_text();
    let out = d.must(&["prune", "--dry-run"]);
    for (name, why) in [("link", "a symlink"), ("three", "not empty (3 bytes)")] {
        let row = table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name}: {table}"));
        assert!(
            row.contains("not-a-pin") && row.ends_with(&format!("({why})")),
            "{row}"
        );
        assert!(
            out.stderr_text()
                .contains(&format!("kept {}: {why}", netns.join(name).display())),
            "{}",
            out.stderr_text()
        );
    }
    // unpin refuses them in those words too, and removes the stale file.
    d.pinns(&["unpin", "-f", "three"])
        .assert_refused(1)
        .assert_says("not empty (3 bytes)");
    d.must(&["unpin", "-f", "stale"]);
    assert!(!netns.join("stale").exists());
}

/// `unpin --all` on a private mount after the `ip netns` way, with pins of
/// several types (mnt too) and names, a stale file and a stranger: every
/// pin and every mount pinns made goes, and `rm -r DIR` works.
#[test]
fn unpin_all_leaves_a_directory_rm_removes() {
    let d = PinDir::private();
    let dir = d.sub("pods");
    for (name, types) in [
        ("a", &["--net", "--ipc"][..]),
        ("b", &["--net", "--uts", "--mnt"][..]),
    ] {
        let mut args = vec!["pin", "-f", name];
        args.extend_from_slice(types);
        pinns_in(&dir, &args).assert_success();
    }
    fs::write(dir.join("netns/stale"), b"").unwrap();
    assert!(!mounts_under(&dir).is_empty());
    let out = pinns_in(&dir, &["unpin", "--all", "-v"]).assert_success();
    let text = out.stdout_text();
    for line in [
        format!("unpinned net pin {}", dir.join("netns/a").display()),
        format!("unpinned mnt pin {}", dir.join("mntns/b").display()),
        format!(
            "removed stale net pin {}",
            dir.join("netns/stale").display()
        ),
        format!("unmounted {}", dir.join("mntns").display()),
        format!("unmounted {}", dir.join("netns").display()),
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
    }
    let left = mounts_under(&dir);
    assert!(left.is_empty(), "left mounted: {left:#?}");
    must(Command::new("rm").arg("-r").arg(&dir));
    // Again, on nothing: nothing to do, said so with -v, exit 0.
    let out = pinns_in(&dir, &["unpin", "--all", "-v"]).assert_success();
    assert_eq!(
        out.stdout_text(),
        format!("nothing to unpin under {}\n", dir.display())
    );
}

/// `--all` takes no name and no type: a usage error, exit 2, nothing done.
#[test]
fn unpin_all_refuses_a_name_or_a_type() {
    let d = PinDir::new();
    d.must(&["-f", "keep", "--net"]);
    for extra in [&["-f", "keep"][..], &["--net"][..]] {
        let mut args = vec!["unpin", "--all"];
        args.extend_from_slice(extra);
        assert_eq!(d.pinns(&args).code(), Some(2), "{args:?}");
    }
    assert_eq!(ns_type(&d.pin("net", "keep")), libc::CLONE_NEWNET);
}

/// `-v` says what unpin removed, or that there was nothing; pin says
/// where each namespace came from.
#[test]
fn verbose_says_what_was_done() {
    let d = PinDir::new();
    let out = d.must(&["unpin", "-f", "typo", "-v"]);
    assert_eq!(
        out.stdout_text(),
        format!(
            "nothing named 'typo' to unpin under {}\n",
            d.path().display()
        )
    );
    // A process of our own (killed and reaped on drop, even on a panic).
    struct Child(std::process::Child);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Child(Command::new("sleep").arg("600").spawn().unwrap());
    let pid = child.0.id().to_string();
    let out = d.must(&["-f", "p", "--net", "--from-pid", &pid, "-v"]);
    let pinned = d.pin("net", "p");
    assert_eq!(
        out.stdout_text(),
        format!(
            "pinned net namespace {} of process {pid} at {}\n",
            inode(&pinned),
            pinned.display()
        )
    );
    drop(child);
    let out = d.must(&["-f", "h", "--uts=host", "--ipc", "-v"]);
    let text = out.stdout_text();
    assert!(text.contains("pinned host uts namespace"), "{text}");
    assert!(text.contains("pinned new ipc namespace"), "{text}");
    // Only what was there: one line for p's net pin, none for the others.
    let out = d.must(&["unpin", "-f", "p", "-v"]);
    assert_eq!(
        out.stdout_text(),
        format!("unpinned net pin {}\n", pinned.display())
    );
    d.must(&["unpin", "-f", "h"]);
}

/// `list` of a directory that does not exist: nothing, exit 0, as
/// `ip netns list` without /run/netns.
#[test]
fn list_of_a_missing_directory_is_empty() {
    let d = PinDir::new();
    let missing = d.sub("no/such/dir");
    let out = pinns(&["list", "-d", missing.to_str().unwrap()]);
    out.assert_silent_success();
    let out = pinns(&["list", "-d", missing.to_str().unwrap(), "--json"]).assert_success();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["names"], serde_json::json!([]));
}

/// The library's view agrees with what the command line made.
#[test]
fn inspect_names_each_kind_of_path() {
    use pinns::{Kind, NotAPin, PinPath};
    let d = PinDir::new();
    d.must(&["-f", "live", "--net"]);
    let netns = d.path().join("netns");
    fs::write(netns.join("stale"), b"").unwrap();
    fs::create_dir(netns.join("dir")).unwrap();
    assert_eq!(
        pinns::inspect(d.path(), Kind::Net, "live").unwrap(),
        PinPath::Live {
            inode: inode(&d.pin("net", "live"))
        }
    );
    assert!(matches!(
        pinns::inspect(d.path(), Kind::Net, "stale").unwrap(),
        PinPath::Stale { .. }
    ));
    assert!(matches!(
        pinns::inspect(d.path(), Kind::Net, "dir").unwrap(),
        PinPath::NotAPin {
            why: NotAPin::Directory,
            ..
        }
    ));
    assert_eq!(
        pinns::inspect(d.path(), Kind::Ipc, "live").unwrap(),
        PinPath::Missing
    );
    assert!(pinns::inspect(d.path(), Kind::Net, "a/b").is_err());
}

/// `enter` in a process with more threads (this test harness) refuses in
/// one line before entering anything: setns(2) would move one thread.
#[test]
fn enter_refuses_a_multithreaded_process() {
    let d = PinDir::new();
    d.must(&["-f", "pod", "--net"]);
    let before = own_ns("net");
    let err =
        pinns::enter(d.path(), "pod", pinns::KindSet::EMPTY).expect_err("this process has threads");
    let text = err.to_string();
    assert!(text.contains("threads") && !text.contains('\n'), "{text}");
    assert_eq!(own_ns("net"), before);
    assert_eq!(
        std::fs::read_link("/proc/thread-self/ns/net").unwrap(),
        std::path::PathBuf::from(format!("net:[{before}]"))
    );
}

/// The library's two footprints on a private mount: `TypeDirs::PinsOnly`
/// mounts the pin files alone, the default self-binds the type
/// directories; `unpin_all` then leaves nothing mounted either way.
#[test]
fn library_footprints_and_teardown() {
    use pinns::{Kind, Plan, TypeDirs};
    let d = PinDir::private();
    for (sub, setup, self_bound) in [
        ("crio", TypeDirs::PinsOnly, false),
        ("ipnetns", TypeDirs::SharedSelfBind, true),
    ] {
        let dir = d.sub(sub);
        let plan = Plan::builder(&dir, "pod")
            .create(Kind::Net)
            .create(Kind::Uts)
            .type_dirs(setup)
            .build()
            .unwrap();
        let pinned = pinns::pin(&plan).unwrap();
        assert_eq!(pinned.len(), 2);
        let mounted: Vec<_> = mounts_under(&dir)
            .into_iter()
            .map(|m| m.mount_point)
            .collect();
        for ty in ["netns", "utsns"] {
            assert_eq!(
                mounted.contains(&dir.join(ty)),
                self_bound,
                "{sub}: {mounted:?}"
            );
            assert!(
                mounted.contains(&dir.join(ty).join("pod")),
                "{sub}: {mounted:?}"
            );
        }
        let done = pinns::unpin_all(&dir).unwrap();
        assert_eq!(done.unpinned.len(), 2, "{sub}: {done:?}");
        assert_eq!(
            done.unmounted.len(),
            if self_bound { 2 } else { 0 },
            "{sub}"
        );
        assert!(mounts_under(&dir).is_empty(), "{sub}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
