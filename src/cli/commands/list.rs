//! `pinns list`: a table for people, JSON for programs.

use crate::cli::definition::ListArgs;
use crate::error::Result;
use crate::list::{Entry, PinInfo, State};

pub fn run(args: &ListArgs) -> Result<u8> {
    let mut entries = match args.pid {
        Some(pid) => crate::list::identify(&args.dir, pid)?,
        None => crate::list::list(&args.dir)?,
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
    if entries.is_empty() {
        return String::new();
    }
    let width = entries
        .iter()
        .map(|e| e.name.escape_debug().to_string().len())
        .max()
        .unwrap_or(0)
        .max(4);
    let state_of = |pin: &PinInfo| match pin.state {
        State::Live => ("live", pin.pids.len().to_string()),
        State::Stale => ("stale", "-".to_string()),
        State::NotAPin => ("not-a-pin", "-".to_string()),
        State::Dead => ("dead", pin.pids.len().to_string()),
    };
    let pins = || {
        entries
            .iter()
            .flat_map(|e| e.pins.iter().map(move |p| (e, p)))
    };
    let state_width = pins()
        .map(|(_, p)| state_of(p).0.len())
        .max()
        .unwrap_or(0)
        .max(5);
    let mut out = format!(
        "{:width$}  {:6}  {:>10}  {:state_width$}  PROCS\n",
        "NAME", "TYPE", "INODE", "STATE"
    );
    for (entry, pin) in pins() {
        let (state, procs) = state_of(pin);
        let why = pin
            .why
            .as_deref()
            .map(|w| format!("  ({w})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:width$}  {:6}  {:>10}  {state:state_width$}  {procs:>5}{why}\n",
            // A name made by someone else may hold a newline: escaped,
            // it stays on its line.
            entry.name.escape_debug().to_string(),
            pin.kind.name(),
            pin.inode
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::PinInfo;
    use crate::ns::Kind;

    fn pin(kind: Kind, inode: u64, state: State, pids: &[u32]) -> PinInfo {
        PinInfo {
            kind,
            path: format!("/run/{}/x", kind.dir()).into(),
            inode,
            state,
            why: None,
            pids: pids.to_vec(),
        }
    }

    #[test]
    fn table_appends_procs_and_dashes_stale_pins() {
        let entries = [
            Entry {
                name: "pod1".into(),
                pins: vec![
                    pin(Kind::Net, 4026532179, State::Live, &[10, 20]),
                    pin(Kind::Uts, 4026532178, State::Live, &[]),
                ],
            },
            Entry {
                name: "gone".into(),
                pins: vec![pin(Kind::Net, 1573, State::Stale, &[])],
            },
        ];
        assert_eq!(
            table(&entries),
            "NAME  TYPE         INODE  STATE  PROCS\n\
             pod1  net     4026532179  live       2\n\
             pod1  uts     4026532178  live       0\n\
             gone  net           1573  stale      -\n"
        );
        assert_eq!(table(&[]), "");
    }
}
