//! `pinns prune`: remove stale pins, saying what was removed and kept.

use crate::definition::PruneArgs;
use crate::error::{Error, Result};

pub fn run(args: &PruneArgs) -> Result<u8> {
    let pruned = pinns::prune(&args.dir, args.dry_run)?;
    if args.json {
        super::print_unless_closed(&super::json(&pruned)?)?;
    } else {
        let verb = if args.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let lines: String = pruned
            .removed
            .iter()
            .map(|path| format!("{verb} {}\n", path.display()))
            .collect();
        super::print_unless_closed(&lines)?;
        for kept in &pruned.kept {
            super::print_error(&format!("kept {}: {}", kept.path.display(), kept.why));
        }
    }
    Error::collect(pruned.failed.into_iter().map(Error::from).collect()).map(|()| 0)
}
