//! `pinns unpin`.

use crate::cli::definition::UnpinArgs;
use crate::error::Result;
use crate::mount::Removed;

pub fn run(args: &UnpinArgs) -> Result<u8> {
    let removed = crate::unpin::unpin(&args.dir, &args.name, args.types.kinds())?;
    if args.verbose {
        let lines: String = removed
            .iter()
            .filter(|(_, _, r)| *r != Removed::Missing)
            .map(|(kind, path, r)| {
                let what = if *r == Removed::Pin {
                    "unpinned"
                } else {
                    "removed stale"
                };
                format!("{what} {kind} pin {}\n", path.display())
            })
            .collect();
        super::print_unless_closed(&lines)?;
    }
    Ok(0)
}
