//! `examples/pin_pod.rs` runs, and leaves nothing behind, even
//! when it fails part-way or panics.
//!
//! The example is compiled into this test (`#[path]`) and its `pin_pod`
//! called directly: the same code `cargo run --example pin_pod` runs,
//! without a nested cargo or a guess at where the example binary lands.
//! Needs root, as the example does.
//!
//! Each test works in its own temporary directory, and a guard
//! ([`common::PinDir`]) lazily unmounts anything still mounted under it
//! before removing it, so a broken example cannot leave mounts behind on
//! the machine either.

#[allow(dead_code)] // its `main` is the example's, not ours
#[path = "../../examples/pin_pod.rs"]
mod pin_pod;

mod common;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pinns::Kind;

use common::{Host, PinDir};

/// The mount points at or under `dir`.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    common::mounts_under(dir)
        .into_iter()
        .map(|m| m.mount_point)
        .collect()
}

/// What `dir` holds, for messages.
fn contents(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Nothing of the example is left under `dir`: no mount, no file.
fn assert_nothing_left(dir: &Path) {
    assert_eq!(
        mounts_under(dir),
        Vec::<PathBuf>::new(),
        "mounts left under {}",
        dir.display()
    );
    assert_eq!(
        contents(dir),
        Vec::<String>::new(),
        "files left in {}",
        dir.display()
    );
}

/// A DIR on a private mount of its own, where pinns makes each type
/// directory a shared self-bind (and the example must unmount them too),
/// whatever the host's propagation; with its guard.
fn on_private_mount() -> (PinDir, PathBuf) {
    let scratch = PinDir::named("example");
    scratch.mount_as(Host::Private);
    let dir = scratch.sub("pods");
    std::fs::create_dir(&dir).expect("making DIR");
    (scratch, dir)
}

fn name(test: &str) -> String {
    format!("example-{test}-{}", std::process::id())
}

#[test]
fn pins_shows_and_unpins_a_pod() {
    let scratch = PinDir::named("example");
    let dir = scratch.path();
    let name = name("ok");
    let mut out = Vec::new();

    let pinned =
        pin_pod::pin_pod(dir, &name, &mut out).unwrap_or_else(|e| panic!("pin_pod failed: {e}"));
    let out = String::from_utf8(out).expect("UTF-8 output");

    let mut kinds: Vec<Kind> = pinned.iter().map(|p| p.kind).collect();
    kinds.sort();
    assert_eq!(kinds, [Kind::Ipc, Kind::Uts, Kind::Net]);
    for pin in &pinned {
        assert_eq!(pin.path, dir.join(pin.kind.dir()).join(&name));
        assert_eq!(
            pin.source,
            pinns::Source::New,
            "{pin:?} should be a new namespace"
        );
        let own = std::fs::metadata(format!("/proc/self/ns/{}", pin.kind.name()))
            .expect("stat of our own namespace")
            .ino();
        assert_ne!(pin.inode, own, "{pin:?} is the test's own namespace");
        let shown = pin.path.display().to_string();
        assert!(
            out.contains(&format!("namespace {} at {shown}", pin.inode)),
            "the pin {shown} is not printed:\n{out}"
        );
        assert!(
            out.contains(&format!("Live {shown}")),
            "the pin {shown} is not listed as live:\n{out}"
        );
    }
    assert!(out.ends_with(&format!("unpinned {name}\n")), "{out}");
    assert_nothing_left(dir);
}

/// Fails every write, after noting whether the pod was pinned by then.
struct FailingOutput {
    dir: PathBuf,
    pinned_mounts: Option<usize>,
}

impl Write for FailingOutput {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        // Three pins plus the three type directories mounted on themselves.
        self.pinned_mounts
            .get_or_insert(mounts_under(&self.dir).len());
        Err(std::io::Error::other("the reader went away"))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn cleans_up_when_a_step_fails() {
    let (_scratch, dir) = on_private_mount();
    let dir = dir.as_path();
    let mut out = FailingOutput {
        dir: dir.to_owned(),
        pinned_mounts: None,
    };

    let result = pin_pod::pin_pod(dir, &name("fail"), &mut out);

    let e = result.expect_err("every write fails, so pin_pod must");
    assert!(e.to_string().contains("the reader went away"), "{e}");
    assert_eq!(
        out.pinned_mounts,
        Some(6),
        "the pod was not pinned before the failure"
    );
    assert_nothing_left(dir);
}

/// Panics on the first write, after noting whether the pod was pinned by
/// then.
struct PanickingOutput<'a> {
    dir: &'a Path,
    pinned_mounts: &'a Mutex<Option<usize>>,
}

impl Write for PanickingOutput<'_> {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        self.pinned_mounts
            .lock()
            .unwrap()
            .get_or_insert(mounts_under(self.dir).len());
        panic!("a bug after pinning");
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn cleans_up_when_a_step_panics() {
    let (_scratch, dir) = on_private_mount();
    let name = name("panic");
    let pinned_mounts = Mutex::new(None);

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut out = PanickingOutput {
            dir: &dir,
            pinned_mounts: &pinned_mounts,
        };
        let _ = pin_pod::pin_pod(&dir, &name, &mut out);
    }));

    assert!(result.is_err(), "the write should have panicked");
    // Three pins plus the three type directories mounted on themselves.
    assert_eq!(
        *pinned_mounts.lock().unwrap_or_else(|e| e.into_inner()),
        Some(6),
        "the pod was not pinned before the panic"
    );
    assert_nothing_left(&dir);
}

#[test]
fn leaves_type_directories_it_did_not_make() {
    // A DIR/netns set up earlier (as /run/netns is by ip netns) is not the
    // example's to remove: only its pin there is.
    let (_scratch, dir) = on_private_mount();
    let dir = dir.as_path();
    std::fs::create_dir(dir.join("netns")).expect("making netns/");

    pin_pod::pin_pod(dir, &name("keep"), &mut std::io::sink())
        .unwrap_or_else(|e| panic!("pin_pod failed: {e}"));

    assert_eq!(contents(dir), ["netns"]);
    assert_eq!(contents(&dir.join("netns")), Vec::<String>::new());
    // pinns made it a mount of its own, and unpinning its last pin took
    // that mount down again.
    assert_eq!(mounts_under(dir), Vec::<PathBuf>::new());
}

#[test]
fn tears_down_and_removes_a_directory_of_its_own() {
    // A DIR that did not exist is the example's whole: `unpin_all` takes
    // down its pins and the type directories' self-binds, and it goes.
    let (_scratch, parent) = on_private_mount();
    let dir = parent.join("own");
    let mut out = Vec::new();
    pin_pod::pin_pod(&dir, &name("own"), &mut out)
        .unwrap_or_else(|e| panic!("pin_pod failed: {e}"));
    assert!(!dir.exists(), "{} is still there", dir.display());
    assert_nothing_left(&parent);
}
