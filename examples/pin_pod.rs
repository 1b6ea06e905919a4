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
//! when it ends, even when a step fails or panics. In a directory of its
//! own, [`pinns::unpin_all`] takes down every pin and every mount pinns made
//! there, and the directory is removed. In a directory given (shared with
//! others, like `/run`), [`pinns::unpin`] takes down the pod's pins (and a
//! type directory's self-bind once its last pin is gone); the type
//! directories the example created are removed, and those that existed
//! before, like `/run/netns`, are left.
//!
//! `cli/tests/example.rs` runs [`pin_pod`] itself, including a failing run.

use std::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pinns::{Kind, KindSet, Pinned, Plan};

/// The namespaces of a pod that CRI-O pins without a user namespace.
pub const POD_KINDS: [Kind; 3] = [Kind::Net, Kind::Ipc, Kind::Uts];

fn main() -> ExitCode {
    // A directory of our own under the temporary one: made (and so torn
    // down whole) by the example.
    let temp;
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => match tempfile::tempdir() {
            Ok(dir) => {
                temp = dir;
                temp.path().join("pods")
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

/// Undoes what [`pin_pod`] made, when finished or dropped.
struct Cleanup {
    dir: PathBuf,
    name: String,
    /// `DIR` did not exist: it is all ours, torn down and removed whole.
    made_dir: bool,
    /// Each `DIR/<type>ns` that did not exist, removed once empty.
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
        if self.made_dir {
            // Every pin, then the mounts pinns made: nothing is left
            // mounted, so the directory goes as any other.
            pinns::unpin_all(&self.dir).map_err(|e| format!("tearing down: {e}"))?;
            return remove(&self.dir, |p| std::fs::remove_dir_all(p));
        }
        // Lazily, as `pinns unpin` does: a process still inside keeps
        // running. A pin that was never made is not an error.
        let mut errors = Vec::new();
        if let Err(e) = pinns::unpin(&self.dir, &self.name, KindSet::EMPTY) {
            errors.push(format!("unpinning {}: {e}", self.name));
        }
        errors.extend(
            self.made_type_dirs
                .iter()
                .filter_map(|dir| remove(dir, |p| std::fs::remove_dir(p)).err()),
        );
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// Removes `path` with `how`; one already gone is fine.
fn remove(path: &Path, how: fn(&Path) -> std::io::Result<()>) -> Result<(), String> {
    match how(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("removing {}: {e}", path.display())),
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
