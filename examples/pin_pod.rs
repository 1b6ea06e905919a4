//! Pin a pod's network, IPC and UTS namespaces with the library, show them,
//! and unpin them: what `pinns -d DIR -f NAME --net --ipc --uts` and
//! `pinns unpin -d DIR -f NAME` do, without the command line.
//!
//! ```text
//! sudo cargo run --example pin_pod            # under a new temporary directory
//! sudo cargo run --example pin_pod -- /run    # or under DIR (here, ip netns sees it)
//! ```
//!
//! Needs root (`CAP_SYS_ADMIN`). Everything the example makes is undone
//! when it ends, even when a step fails or panics: the pins, and the type
//! directories (`DIR/netns`, ...) it created, which `pinns` leaves mounted
//! on themselves (so a temporary directory could not otherwise be removed).
//! Type directories that existed before, like `/run/netns`, are left as they
//! were found.
//!
//! `tests/example.rs` runs [`pin_pod`] itself, including a failing run.

use std::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pinns::{Kind, KindSet, Pinned, Plan};

/// The namespaces of a pod that CRI-O pins without a user namespace.
pub const POD_KINDS: [Kind; 3] = [Kind::Net, Kind::Ipc, Kind::Uts];

fn main() -> ExitCode {
    // The temporary directory, if we make one, must outlive `pin_pod`'s
    // clean-up, which unmounts what would stop its removal.
    let temp;
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => match tempfile::tempdir() {
            Ok(dir) => {
                temp = dir;
                temp.path().to_owned()
            }
            Err(e) => {
                eprintln!("pin_pod: making a temporary directory: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    // A name of our own, so that pinning under /run disturbs no real pod.
    let name = format!("pin-pod-example-{}", std::process::id());
    match pin_pod(&dir, &name, &mut std::io::stdout().lock()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pin_pod: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Pins NAME's net, ipc and uts namespaces under `dir`, writes them and
/// their listing to `out`, and unpins them. Returns the pins it made (gone
/// by then). On any error, or a panic, the guard undoes what was made.
pub fn pin_pod(dir: &Path, name: &str, out: &mut dyn Write) -> Result<Vec<Pinned>, Box<dyn Error>> {
    let cleanup = Cleanup::new(dir, name);

    // A new namespace of each kind, the loopback interface up, and the
    // pod's hostname set inside its new UTS namespace before pinning.
    let mut plan = Plan::builder(dir, name);
    for kind in POD_KINDS {
        plan = plan.create(kind);
    }
    let plan = plan
        .loopback(true)
        .sysctl("kernel.hostname=pod-example".parse()?)
        .build()?;
    let pinned = pinns::pin(&plan)?;

    writeln!(out, "pinned:")?;
    for pin in &pinned {
        writeln!(
            out,
            "  {:4} namespace {} at {}",
            pin.kind,
            pin.inode,
            pin.path.display()
        )?;
    }
    // The namespaces now live on with no process in them, held by the
    // bind mounts alone: `pinns list` sees them as live.
    writeln!(out, "listed:")?;
    for entry in pinns::list(dir)?.iter().filter(|e| e.name == name) {
        for pin in &entry.pins {
            writeln!(
                out,
                "  {:4} {:?} {}",
                pin.kind,
                pin.state,
                pin.path.display()
            )?;
        }
    }

    cleanup.finish()?;
    writeln!(out, "unpinned {name}")?;
    Ok(pinned)
}

/// Undoes what [`pin_pod`] made, when finished or dropped: the pins of
/// NAME, then the directories that did not exist before.
struct Cleanup {
    dir: PathBuf,
    name: String,
    /// `DIR` itself when it did not exist, and each `DIR/<type>ns` that did
    /// not: made by `pinns::pin`, so ours to unmount and remove.
    made_dir: bool,
    made_type_dirs: Vec<PathBuf>,
    done: bool,
}

impl Cleanup {
    fn new(dir: &Path, name: &str) -> Cleanup {
        let absent = |path: &Path| path.symlink_metadata().is_err();
        Cleanup {
            dir: dir.to_owned(),
            name: name.to_owned(),
            made_dir: absent(dir),
            made_type_dirs: POD_KINDS
                .iter()
                .map(|kind| dir.join(kind.dir()))
                .filter(|path| absent(path))
                .collect(),
            done: false,
        }
    }

    /// Undoes everything, reporting every step that failed.
    fn finish(mut self) -> Result<(), String> {
        self.undo()
    }

    fn undo(&mut self) -> Result<(), String> {
        self.done = true;
        let mut errors = Vec::new();
        // Lazily, as `pinns unpin` does: a process still inside keeps
        // running. A pin that was never made is not an error.
        if let Err(e) = pinns::unpin(&self.dir, &self.name, KindSet::EMPTY) {
            errors.push(format!("unpinning {}: {e}", self.name));
        }
        for type_dir in &self.made_type_dirs {
            // `pinns` made it a bind mount of itself (the `ip netns` way):
            // `umount -l DIR/netns`, then it can be removed. EINVAL: it
            // never became a mount point, as when pinning failed early.
            match rustix::mount::unmount(
                type_dir,
                rustix::mount::UnmountFlags::DETACH | rustix::mount::UnmountFlags::NOFOLLOW,
            ) {
                Ok(()) | Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOENT) => {}
                Err(e) => errors.push(format!("unmounting {}: {e}", type_dir.display())),
            }
            match std::fs::remove_dir(type_dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => errors.push(format!("removing {}: {e}", type_dir.display())),
            }
        }
        if self.made_dir {
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => errors.push(format!("removing {}: {e}", self.dir.display())),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.undo() {
                eprintln!("pin_pod: cleaning up: {e}");
            }
        }
    }
}
