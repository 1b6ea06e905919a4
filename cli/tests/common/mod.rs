//! Shared by the black-box tests: run the built binary as root under a
//! temp dir, inspect real kernel state, and undo every pin on drop.
//!
//! One copy of each helper, by what it does:
//! - [`run`]: starting `pinns` (the one constructor, [`pinns_command`]) and
//!   other programs, reading their output without ever hanging, and the
//!   assertions on how they ended;
//! - [`pin_dir`]: the temp pin directory guard;
//! - [`mounts`]: `/proc/PID/mountinfo`, unescaped, and propagation;
//! - [`procs`]: processes, process groups, reaping, waiting;
//! - [`ns`]: namespace inodes and types, as the kernel reports them;
//! - [`pins`]: what a pin directory holds, as the kernel and `list` see it;
//! - [`kernel`]: kernel profiles, to run a command as on an older kernel.

#![allow(dead_code, unused_imports)]

pub mod kernel;
pub mod mounts;
pub mod ns;
pub mod pin_dir;
pub mod pins;
pub mod procs;
pub mod run;

pub use mounts::*;
pub use ns::*;
pub use pin_dir::*;
pub use pins::*;
pub use procs::*;
pub use run::*;

use std::path::Path;

/// The repository's root, one level above this package (cli/): where the
/// library, man/, completions/, docs/, README.md, examples/, bench/ and
/// the workspace's target/ are.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the command line's package is cli/, inside the repository")
}
