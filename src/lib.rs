//! Pin Linux namespaces to files, so they outlive every process.
//!
//! A namespace lives as long as something refers to it, and a bind mount of
//! `/proc/<pid>/ns/<type>` onto an ordinary file is such a reference. This
//! crate creates namespaces (or takes the caller's, or a running process's)
//! and bind-mounts each onto `DIR/<type>ns/NAME`: CRI-O's layout, and with
//! `DIR = /run` the network pins are where `ip netns` looks. A pod's
//! namespaces then persist with no "pause" process holding them.
//!
//! The `pinns` command line is a thin layer over these functions:
//! [`pin`](fn@pin) (with a [`Plan`]), [`unpin`](fn@unpin), [`list`](fn@list)
//! (and [`identify`]), [`enter`](fn@enter) (and [`enter_with`]) and
//! [`prune`](fn@prune).
//!
//! ```no_run
//! use pinns::{Kind, Plan};
//!
//! # fn main() -> Result<(), pinns::Error> {
//! // A pod's network, IPC and UTS namespaces, with loopback up and a
//! // hostname, pinned under /run/{net,ipc,uts}ns/pod-a.
//! let plan = Plan::builder("/run", "pod-a")
//!     .create(Kind::Net)
//!     .create(Kind::Ipc)
//!     .create(Kind::Uts)
//!     .sysctl("kernel.hostname=pod-a".parse()?)
//!     .loopback(true)
//!     .build()?;
//! for pin in pinns::pin(&plan)? {
//!     println!("{} namespace {} at {}", pin.kind, pin.inode, pin.path.display());
//! }
//! pinns::unpin("/run".as_ref(), "pod-a", pinns::KindSet::EMPTY)?;
//! # Ok(())
//! # }
//! ```
//!
//! Everything here needs root (`CAP_SYS_ADMIN`): it mounts and unshares.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod cli;
pub mod commands;
mod enter;
mod error;
mod helper;
pub mod idmap;
mod list;
pub mod mount;
mod netns_view;
mod ns;
pub mod parse;
mod pin;
mod plan;
mod prune;
pub mod sysctl;
mod unpin;

pub use enter::{Entered, enter, enter_with};
pub use error::{Error, Result};
pub use idmap::IdMap;
pub use list::{Entry, PinInfo, State, identify, list};
pub use mount::Removed;
pub use ns::{Kind, KindSet};
pub use pin::{Creator, Pinned, pin, pin_with};
pub use plan::{Plan, PlanBuilder, Source, check_name};
pub use prune::{Kept, Pruned, prune};
pub use sysctl::Sysctl;
pub use unpin::unpin;
