//! `pinns list`: a table for people, JSON for programs.

use crate::definition::ListArgs;
use crate::error::Result;
use pinns::{Entry, Kind, State};

pub fn run(args: &ListArgs) -> Result<u8> {
    let mut entries = match args.pid {
        Some(pid) => pinns::identify(&args.dir, pid)?,
        None => pinns::list(&args.dir)?,
    };
    if let Some(name) = &args.name {
        entries.retain(|entry| entry.name == *name);
    }
    if args.json {
        // A struct, not a map, so the keys keep the documented order.
        #[derive(serde::Serialize)]
        struct Report<'a> {
            dir: &'a std::path::Path,
            names: &'a [Entry],
        }
        super::print_unless_closed(&super::json(&Report {
            dir: &args.dir,
            names: &entries,
        })?)?;
    } else {
        super::print_unless_closed(&table(&entries))?;
    }
    Ok(0)
}

/// One line a pin: `NAME TYPE INODE STATE PROCS`, names aligned; PROCS is
/// how many processes are in the namespace, `-` for a path that holds
/// none; what is not a pin says why after it, in prune's words.
fn table(entries: &[Entry]) -> String {
    let rows: Vec<Row> = entries
        .iter()
        .flat_map(|entry| {
            entry.pins.iter().map(|pin| Row {
                name: &entry.name,
                kind: pin.kind,
                inode: pin.inode,
                state: pin.state,
                procs: pin.pids.len(),
                why: pin.why.as_deref(),
            })
        })
        .collect();
    render(&rows)
}

/// What the table shows of one pin (the library's `PinInfo` and the
/// name of its `Entry`).
struct Row<'a> {
    name: &'a str,
    kind: Kind,
    inode: u64,
    state: State,
    procs: usize,
    why: Option<&'a str>,
}

fn render(rows: &[Row]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let width = rows
        .iter()
        .map(|r| r.name.escape_debug().to_string().len())
        .max()
        .unwrap_or(0)
        .max(4);
    let state_of = |row: &Row| match row.state {
        State::Live => ("live", row.procs.to_string()),
        State::Stale => ("stale", "-".to_string()),
        State::NotAPin => ("not-a-pin", "-".to_string()),
        State::Dead => ("dead", row.procs.to_string()),
    };
    let state_width = rows
        .iter()
        .map(|r| state_of(r).0.len())
        .max()
        .unwrap_or(0)
        .max(5);
    let mut out = format!(
        "{:width$}  {:6}  {:>10}  {:state_width$}  PROCS\n",
        "NAME", "TYPE", "INODE", "STATE"
    );
    for row in rows {
        let (state, procs) = state_of(row);
        let why = row.why.map(|w| format!("  ({w})")).unwrap_or_default();
        out.push_str(&format!(
            "{:width$}  {:6}  {:>10}  {state:state_width$}  {procs:>5}{why}\n",
            // A name made by someone else may hold a newline: escaped,
            // it stays on its line.
            row.name.escape_debug().to_string(),
            row.kind.name(),
            row.inode
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, kind: Kind, inode: u64, state: State, procs: usize) -> Row<'_> {
        Row {
            name,
            kind,
            inode,
            state,
            procs,
            why: None,
        }
    }

    #[test]
    fn table_appends_procs_and_dashes_stale_pins() {
        let rows = [
            row("pod1", Kind::Net, 4026532179, State::Live, 2),
            row("pod1", Kind::Uts, 4026532178, State::Live, 0),
            row("gone", Kind::Net, 1573, State::Stale, 0),
        ];
        assert_eq!(
            render(&rows),
            "NAME  TYPE         INODE  STATE  PROCS\n\
             pod1  net     4026532179  live       2\n\
             pod1  uts     4026532178  live       0\n\
             gone  net           1573  stale      -\n"
        );
        assert_eq!(table(&[]), "");
    }
}
