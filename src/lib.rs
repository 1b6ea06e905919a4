//! Pin Linux namespaces to files, so they outlive every process.
//!
//! A namespace lives as long as something refers to it, and a bind mount of
//! `/proc/<pid>/ns/<type>` onto an ordinary file is such a reference. This
//! crate creates namespaces (or takes the caller's, or a running process's)
//! and bind-mounts each onto `DIR/<type>ns/NAME`: CRI-O's layout, and with
//! `DIR = /run` the network pins are where `ip netns` looks. A pod's
//! namespaces then persist with no "pause" process holding them.
//!
//! The `pinns` command line (its own crate, `pinns-cli`, beside this one)
//! is a thin layer over these functions:
//! [`pin`](fn@pin) (with a [`Plan`]), [`unpin`](fn@unpin) (and
//! [`unpin_all`], the teardown of a whole directory), [`list`](fn@list)
//! (and [`identify`]), [`enter`](fn@enter) (and [`enter_with`]) and
//! [`prune`](fn@prune). All of them see a pin path the same way,
//! [`inspect`](fn@inspect)'s: missing, live, stale, or not a pin and why
//! ([`PinPath`]).
//!
//! What pinning mounts besides the pins is chosen per [`Plan`]
//! ([`TypeDirs`]): the `ip netns` set-up of the type directories (the
//! default, and `pinns pin`'s), or CRI-O's footprint, the pin files alone
//! (`pinns` with no subcommand, as CRI-O runs it). Either way, once the
//! last pin of a directory is gone ([`unpin`](fn@unpin), [`unpin_all`],
//! [`prune`](fn@prune)), nothing pinns mounted is left there.
//!
//! # Features
//!
//! `pinns = "0.1"` builds with rustix and libc alone; no feature is on by
//! default.
//!
//! - `serde`: `Serialize` for the results ([`Pinned`], [`Entry`],
//!   [`Pruned`], ...), as the command line prints them with `--json`.
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
//! for gone in pinns::unpin("/run", "pod-a", pinns::KindSet::EMPTY)? {
//!     println!("unpinned {}", gone.path.display());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Everything here needs root (`CAP_SYS_ADMIN`): it mounts and unshares.

#![deny(clippy::undocumented_unsafe_blocks)]

mod enter;
mod error;
mod helper;
mod idmap;
mod inspect;
mod kernel;
mod list;
mod mount;
mod netns_view;
mod ns;
mod pidns;
mod pin;
mod plan;
mod prune;
mod sysctl;
mod unpin;

pub use enter::{Entered, enter, enter_with};
pub use error::{Conflict, Error, Feature, Operation, Result};
pub use idmap::{IdMap, IdRange};
pub use inspect::{NotAPin, PinPath, inspect};
pub use list::{Entry, PinInfo, State, identify, list};
pub use mount::Removed;
pub use ns::{Kind, KindSet};
pub use pin::{Creator, Pinned, pin, pin_with};
pub use plan::{Plan, PlanBuilder, Source, TypeDirs, check_name};
pub use prune::{Kept, Pruned, prune};
pub use sysctl::Sysctl;
pub use unpin::{TornDown, Unpinned, unpin, unpin_all};
