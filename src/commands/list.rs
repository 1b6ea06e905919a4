//! `pinns list`: a table for people, JSON for programs.

use crate::cli::ListArgs;
use crate::error::Result;
use crate::list::{Entry, State};

pub fn run(args: &ListArgs) -> Result<u8> {
    let entries = crate::list(&args.dir)?;
    if args.json {
        // A struct, not a map, so the keys keep the documented order.
        #[derive(serde::Serialize)]
        struct Report<'a> {
            dir: &'a std::path::Path,
            names: &'a [Entry],
        }
        super::print_json(&Report {
            dir: &args.dir,
            names: &entries,
        })?;
    } else {
        super::print(&table(&entries))?;
    }
    Ok(0)
}

/// One line a pin: `NAME TYPE INODE STATE`, names aligned.
fn table(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return String::new();
    }
    let width = entries
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!("{:width$}  {:6}  {:>10}  STATE\n", "NAME", "TYPE", "INODE");
    for entry in entries {
        for pin in &entry.pins {
            let state = match pin.state {
                State::Live => "live",
                State::Stale => "stale",
            };
            out.push_str(&format!(
                "{:width$}  {:6}  {:>10}  {state}\n",
                entry.name,
                pin.kind.name(),
                pin.inode
            ));
        }
    }
    out
}
