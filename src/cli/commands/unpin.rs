//! `pinns unpin`.

use crate::cli::definition::UnpinArgs;
use crate::error::Result;
use crate::mount::Removed;

pub fn run(args: &UnpinArgs) -> Result<u8> {
    let removed = match &args.name {
        Some(name) => crate::unpin::unpin(&args.dir, name, args.types.kinds())?,
        // --all: every name found under DIR (`cli::resolve` allows no
        // name only with it).
        None => {
            let mut removed = Vec::new();
            for entry in crate::list::list(&args.dir)? {
                removed.extend(crate::unpin::unpin(
                    &args.dir,
                    &entry.name,
                    args.types.kinds(),
                )?);
            }
            removed
        }
    };
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
