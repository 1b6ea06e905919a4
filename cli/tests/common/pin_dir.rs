//! The temp pin directory guard: every test pins under one, and dropping
//! it (even when the test panicked) kills the process groups the test
//! named, unpins what it pinned, lazily unmounts whatever is still mounted
//! beneath it, and removes it.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::mounts::umount_all_under;
use super::procs::{assert_root, kill_group, procs};
use super::run::{Out, command_in, pinns_command, run, sh};

/// Every namespace type directory pinns may create.
pub const TYPE_DIRS: [&str; 8] = [
    "userns", "cgroupns", "ipcns", "utsns", "netns", "pidns", "timens", "mntns",
];

/// How the mount that holds a pin directory propagates (CLI-SPEC
/// "Propagation": pinns mounts only the pins where it is shared, and
/// makes the type directories shared self-binds where it is not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// In a peer group: pins propagate with it.
    Shared,
    /// No propagation: pinns makes its own shared type directories.
    Private,
    /// A slave only (receives from a master, has no peers): pins made in
    /// it would reach no other namespace, so as for a private one.
    Slave,
}

/// A temp directory under /tmp, the pin directory (`-d`) of a test or the
/// root of several.
pub struct PinDir {
    tmp: tempfile::TempDir,
    /// (DIR, NAME) pairs to `pinns unpin` on drop, outside the temp dir
    /// (`/run/netns/NAME`) or in a sub-directory of it.
    pins: Mutex<Vec<(PathBuf, String)>>,
    /// Process groups started, killed on drop if anything is left in them.
    groups: Mutex<Vec<i32>>,
}

impl Default for PinDir {
    fn default() -> Self {
        Self::new()
    }
}

impl PinDir {
    pub fn new() -> PinDir {
        PinDir::named("test")
    }

    /// A guard whose directory's name starts `pinns-TAG-`.
    pub fn named(tag: &str) -> PinDir {
        PinDir::named_in(tag, Path::new("/tmp"))
    }

    /// Like [`PinDir::named`], inside `parent` (a scratch mount of a
    /// given propagation, say).
    pub fn named_in(tag: &str, parent: &Path) -> PinDir {
        assert_root(tag);
        PinDir {
            tmp: tempfile::Builder::new()
                .prefix(&format!("pinns-{tag}-"))
                .tempdir_in(parent)
                .expect("creating a temp dir"),
            pins: Mutex::new(Vec::new()),
            groups: Mutex::new(Vec::new()),
        }
    }

    /// A guard whose directory is a private mount of its own: where
    /// pinns makes each type directory a shared self-bind, whatever the
    /// host's propagation.
    pub fn private() -> PinDir {
        let d = PinDir::new();
        d.mount_as(Host::Private);
        d
    }

    /// Makes the temp dir a mount of its own (bound onto itself) that
    /// propagates as `host` says, whatever this machine's `/` and /tmp do,
    /// and returns the mount that then holds what is made inside it: the
    /// temp dir, or with [`Host::Slave`] its `slave`, a slave bind of the
    /// shared temp dir. The guard's Drop unmounts them with the rest.
    pub fn mount_as(&self, host: Host) -> PathBuf {
        let root = self.path().to_str().expect("UTF-8 temp dir").to_string();
        sh("mount", &["--bind", &root, &root]);
        // A bind of a shared mount joins its peer group: made private
        // first, it leaves the host's, and made shared then, it is in one
        // of its own (else what is mounted in it shows again beneath it,
        // in the host's mount it propagates to).
        sh("mount", &["--make-private", &root]);
        if host != Host::Private {
            sh("mount", &["--make-shared", &root]);
        }
        if host != Host::Slave {
            return self.path().to_path_buf();
        }
        // Made a slave, a bind of the shared temp dir leaves its peer
        // group and only receives from it.
        let holder = self.path().join("slave");
        fs::create_dir(&holder).expect("creating the slave's mount point");
        let path = holder.to_str().expect("UTF-8 temp dir");
        sh("mount", &["--bind", path, path]);
        sh("mount", &["--make-slave", path]);
        holder
    }

    /// The pin directory (`-d`).
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// `DIR/REL`: a sub-directory of a test that uses several.
    pub fn sub(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    /// `DIR/<type>ns/NAME`.
    pub fn pin(&self, ty: &str, name: &str) -> PathBuf {
        self.path().join(format!("{ty}ns")).join(name)
    }

    /// What CRI-O does before a user-namespace pod: each pin file of NAME
    /// for `types` made empty and owned by the remapped root (`owner`).
    pub fn precreate(&self, name: &str, types: &[&str], owner: u32) {
        for ty in types {
            let pin = self.pin(ty, name);
            std::fs::create_dir_all(pin.parent().unwrap()).unwrap();
            std::fs::write(&pin, b"").unwrap();
            std::os::unix::fs::chown(&pin, Some(owner), Some(owner)).unwrap();
        }
    }

    /// `pinns ARGS` with `-d DIR` added after the subcommand (if any).
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        command_in(self.path(), args)
    }

    /// Runs `pinns ARGS` with `-d DIR` added after the subcommand (if any).
    pub fn pinns<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        run(&mut self.command(args))
    }

    /// Like [`PinDir::pinns`], and asserts exit 0.
    pub fn must<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        self.pinns(args).assert_success()
    }

    /// Remembers NAME under DIR (anywhere), to unpin it on drop.
    pub fn track(&self, dir: impl AsRef<Path>, name: &str) {
        self.pins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((dir.as_ref().to_path_buf(), name.to_string()));
    }

    /// Remembers a process group the test started, to kill on drop.
    pub fn track_group(&self, pgid: i32) {
        self.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(pgid);
    }
}

/// `pinns unpin -d DIR -f NAME`, for clean-up: what it says is not looked at.
fn unpin_quietly(dir: &Path, name: &OsStr) {
    let _ = pinns_command()
        .arg("unpin")
        .arg("-d")
        .arg(dir)
        .arg("-f")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let groups = std::mem::take(&mut *self.groups.lock().unwrap_or_else(|e| e.into_inner()));
        let live: Vec<i32> = procs().iter().map(|p| p.pgrp).collect();
        for pgid in groups.into_iter().filter(|g| live.contains(g)) {
            kill_group(pgid);
        }
        let pins = std::mem::take(&mut *self.pins.lock().unwrap_or_else(|e| e.into_inner()));
        for (dir, name) in pins {
            let anything = TYPE_DIRS
                .iter()
                .any(|t| fs::symlink_metadata(dir.join(t).join(&name)).is_ok());
            if anything {
                unpin_quietly(&dir, name.as_ref());
            }
        }
        for ty in TYPE_DIRS {
            let Ok(entries) = fs::read_dir(self.path().join(ty)) else {
                continue;
            };
            for entry in entries.flatten() {
                unpin_quietly(self.path(), &entry.file_name());
            }
        }
        umount_all_under(self.path());
        // Directories a test made read-only must not stop the removal.
        let _ = fs::set_permissions(self.path(), fs::Permissions::from_mode(0o755));
        // TempDir removes the rest.
    }
}
