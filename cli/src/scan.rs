//! The first, cheapest parse: the clap definition's arguments as a table
//! of data, generated from `Cli::command()` ([`super::table`]), and a scan
//! of the command line against it. No clap code runs.
//!
//! clap builds its whole command tree on every run, then parses: cold
//! code, which would be most of a pin's user time. The table is that tree
//! built once, at development time, and kept in step by
//! `cli/tests/fast_parse.rs`, which
//! regenerates it and fails when the committed one differs (as for the man
//! pages and completions). What the scan reads is therefore the same
//! definition; what it *accepts* is a strict subset of clap's grammar:
//!
//! - `--long`, `--long=VALUE`, `--long VALUE`, `-s`, `-s VALUE`;
//! - values that are UTF-8, not empty and, when a separate word, do not
//!   start with `-`;
//! - each argument once, but for those clap appends (`-s` sysctls);
//! - the arguments the table models fully ([`Takes`]).
//!
//! Anything else (a positional word, `--`, a cluster like `-niu`, an
//! attached `-dDIR`, an unknown or repeated flag, help, version, a missing
//! required argument, a value the field's type refuses) makes the scan
//! answer `None`, and the next parse, which is clap's, takes the line: every
//! message stays clap's own. `cli/tests/fast_parse.rs` checks that whatever the
//! scan accepts, clap accepts with the same result.

use std::cell::Cell;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::ValueEnum;

use super::definition::{
    Cli, Command, HostMode, PinArgs, PinCommandArgs, TypeSelection, UnpinArgs,
};
use super::spec::{Spec, Takes};
use super::table;

/// Parses `args` (the first is the program name) from the table alone:
/// `Some` only for a line clap would read the same way.
pub fn parse(args: &[OsString]) -> Option<Cli> {
    // No program name at all (an empty argv) reads as no arguments.
    let rest = args.get(1..).unwrap_or_default();
    let command = match rest.first().map(|first| first.to_str()) {
        Some(Some("pin")) => Command::Pin(PinCommandArgs {
            // A positional word is left to clap.
            name_arg: None,
            pin: pin_args(&scan(table::PIN, &rest[1..])?)?,
        }),
        Some(Some("unpin")) => Command::Unpin(unpin_args(&scan(table::UNPIN, &rest[1..])?)?),
        // Any other word is a subcommand's name or a stray positional.
        Some(Some(first)) if !first.starts_with('-') => return None,
        Some(None) => return None,
        // CRI-O's command line: the flags of `pin` at the top level (and
        // the empty line, which clap reads as `pin` with no flags).
        _ => {
            return Some(Cli {
                command: None,
                pin: pin_args(&scan(table::TOP, rest)?)?,
            });
        }
    };
    Some(Cli {
        command: Some(command),
        // What clap gives the top level's flags of `pin` when a subcommand
        // is used: their defaults.
        pin: pin_args(&scan(table::TOP, &[])?)?,
    })
}

/// The arguments found on a line, per argument of the table.
struct Found<'a> {
    specs: &'static [Spec],
    /// Per spec: `None` if absent, else the values given (none for a flag).
    given: Vec<Option<Vec<&'a str>>>,
    /// Which specs the mapping has read (bit i for spec i): a line with an
    /// argument the mapping does not know is left to clap.
    read: Cell<u64>,
    /// Where the last lookup ended: the mapping reads the fields mostly in
    /// the table's order, so the next is usually the next spec.
    cursor: Cell<usize>,
}

fn scan<'a>(specs: &'static [Spec], args: &'a [OsString]) -> Option<Found<'a>> {
    // The read mask has a bit per spec.
    if specs.len() > 64 {
        return None;
    }
    let mut given: Vec<Option<Vec<&str>>> = specs.iter().map(|_| None).collect();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let word = word.to_str()?;
        let (i, inline) = if let Some(long) = word.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            // `--` alone has the empty name, which no spec has.
            (specs.iter().position(|s| s.long == Some(name))?, value)
        } else if let Some(short) = word.strip_prefix('-') {
            let mut chars = short.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            (specs.iter().position(|s| s.short == Some(c))?, None)
        } else {
            return None;
        };
        let value = match (&specs[i].takes, inline) {
            (Takes::Flag | Takes::OptionalEquals(_), None) => None,
            (Takes::Value | Takes::Append, Some(value)) => Some(value),
            (Takes::Value | Takes::Append, None) => {
                Some(words.next()?.to_str().filter(|v| !v.starts_with('-'))?)
            }
            (Takes::OptionalEquals(possible), Some(value)) => {
                Some(*possible.iter().find(|p| **p == value)?)
            }
            (Takes::Flag | Takes::Unmodelled, _) => return None,
        };
        if value.is_some_and(|v| v.is_empty() || v.starts_with('-')) {
            return None;
        }
        let slot = &mut given[i];
        if slot.is_some() && !matches!(specs[i].takes, Takes::Append) {
            return None;
        }
        slot.get_or_insert_with(Vec::new).extend(value);
    }
    if specs
        .iter()
        .zip(&given)
        .any(|(s, g)| s.required && g.is_none())
    {
        return None;
    }
    Some(Found {
        specs,
        given,
        read: Cell::new(0),
        cursor: Cell::new(0),
    })
}

impl<'a> Found<'a> {
    /// The values of `id` if the table has it with `takes` of that kind
    /// (`None` otherwise: the mapping and the table disagree, clap decides).
    fn get(&self, id: &str, kind: fn(&Takes) -> bool) -> Option<Option<&[&'a str]>> {
        let n = self.specs.len();
        let start = self.cursor.get();
        let i = (start..n + start)
            .map(|i| i % n)
            .find(|i| self.specs[*i].id == id)?;
        self.cursor.set(i + 1);
        if !kind(&self.specs[i].takes) {
            return None;
        }
        self.read.set(self.read.get() | 1 << i);
        Some(self.given[i].as_deref())
    }

    fn flag(&self, id: &str) -> Option<bool> {
        Some(self.get(id, |t| matches!(t, Takes::Flag))?.is_some())
    }

    /// A one-value argument: what was given, else the default.
    fn value(&self, id: &str) -> Option<Option<&'a str>> {
        let values = self.get(id, |t| matches!(t, Takes::Value))?;
        // `get` left the cursor just past the spec.
        let default = self.specs[self.cursor.get() - 1].default;
        Some(values.map(|v| v[0]).or(default))
    }

    fn values(&self, id: &str) -> Option<Vec<String>> {
        let values = self.get(id, |t| matches!(t, Takes::Append))?;
        Some(
            values
                .unwrap_or_default()
                .iter()
                .map(|v| v.to_string())
                .collect(),
        )
    }

    /// `--type[=host]`: absent, given alone, or given `=host`.
    fn mode(&self, id: &str) -> Option<Option<Option<HostMode>>> {
        let values = self.get(id, |t| matches!(t, Takes::OptionalEquals(_)))?;
        Some(match values {
            None => None,
            Some([]) => Some(None),
            Some([value]) => Some(Some(HostMode::from_str(value, false).ok()?)),
            Some(_) => return None,
        })
    }

    /// Whether the mapping read every argument the line gave.
    fn all_read(&self) -> bool {
        let read = self.read.get();
        (self.given.iter().enumerate()).all(|(i, g)| g.is_none() || read & 1 << i != 0)
    }
}

/// `value` parsed as clap's value parsers for integers do (`str::parse`).
fn number<T: std::str::FromStr>(value: Option<&str>) -> Option<Option<T>> {
    value
        .map(|v| v.parse().ok())
        .map_or(Some(None), |n| n.map(Some))
}

fn pin_args(found: &Found<'_>) -> Option<PinArgs> {
    let args = PinArgs {
        dir: PathBuf::from(found.value("dir")??),
        name: found.value("name")?.map(str::to_string),
        net: found.mode("net")?,
        ipc: found.mode("ipc")?,
        uts: found.mode("uts")?,
        cgroup: found.mode("cgroup")?,
        user: found.mode("user")?,
        mnt: found.mode("mnt")?,
        pid: found.mode("pid")?,
        time: found.mode("time")?,
        sysctls: found.values("sysctls")?,
        uid_mapping: found.value("uid_mapping")?.map(str::to_string),
        gid_mapping: found.value("gid_mapping")?.map(str::to_string),
        from_pid: number(found.value("from_pid")?)?,
        loopback: found.flag("loopback")?,
        monotonic: number(found.value("monotonic")?)?,
        boottime: number(found.value("boottime")?)?,
        json: found.flag("json")?,
        verbose: found.flag("verbose")?,
    };
    found.all_read().then_some(args)
}

fn unpin_args(found: &Found<'_>) -> Option<UnpinArgs> {
    let args = UnpinArgs {
        dir: PathBuf::from(found.value("dir")??),
        name: found.value("name")?.map(str::to_string),
        name_arg: None,
        all: found.flag("all")?,
        types: TypeSelection {
            net: found.flag("net")?,
            ipc: found.flag("ipc")?,
            uts: found.flag("uts")?,
            cgroup: found.flag("cgroup")?,
            user: found.flag("user")?,
            mnt: found.flag("mnt")?,
            pid: found.flag("pid")?,
            time: found.flag("time")?,
        },
        verbose: found.flag("verbose")?,
    };
    // `--all` with a name or a type, or neither a name nor `--all`: a
    // usage error, which `cli::resolve` words.
    let usage = args.all == args.name.is_some() || (args.all && !args.types.kinds().is_empty());
    (found.all_read() && !usage).then_some(args)
}
