//! `pinns unpin`: one NAME's pins, or with `--all` every pin under DIR and
//! the mounts pinns made there.

use crate::definition::UnpinArgs;
use crate::error::{Error, Result};
use pinns::{Removed, Unpinned};

pub fn run(args: &UnpinArgs) -> Result<u8> {
    if args.all {
        let done = pinns::unpin_all(&args.dir)?;
        if args.verbose {
            let mut lines = report(&done.unpinned);
            for dir in &done.unmounted {
                lines.push_str(&format!("unmounted {}\n", dir.display()));
            }
            if lines.is_empty() {
                lines = format!("nothing to unpin under {}\n", args.dir.display());
            }
            super::print_unless_closed(&lines)?;
        }
        return Ok(0);
    }
    let name = args
        .name
        .as_deref()
        .ok_or_else(|| Error::Usage("a pin name is required: -f/--filename NAME".into()))?;
    let removed = pinns::unpin(&args.dir, name, args.types.kinds())?;
    if args.verbose {
        let lines = if removed.is_empty() {
            format!(
                "nothing named '{}' to unpin under {}\n",
                name.escape_debug(),
                args.dir.display()
            )
        } else {
            report(&removed)
        };
        super::print_unless_closed(&lines)?;
    }
    Ok(0)
}

/// One line per path removed.
fn report(removed: &[Unpinned]) -> String {
    removed
        .iter()
        .map(|u| {
            let what = match u.removed {
                Removed::Pin => "unpinned",
                Removed::Stale => "removed stale",
            };
            format!("{what} {} pin {}\n", u.kind, u.path.display())
        })
        .collect()
}
