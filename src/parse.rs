//! Parsing the command line: the table scan first, then clap.
//!
//! 1. [`scan`]: the definition as a table of data, generated from it ahead
//!    of time; no clap code runs. It answers the lines CRI-O and scripts
//!    run to pin and unpin, which is most of what pinns ever parses.
//! 2. Everything else goes to the full definition, `Cli::parse`: other
//!    subcommands, help, version and every error, so every message, and
//!    its exit status, is clap's own.
//!
//! There is no second parser to drift: `tests/fast_parse.rs` regenerates
//! the table from the definition and checks that whatever the scan
//! accepts, clap accepts with the same result.

mod scan;
#[rustfmt::skip]
mod table;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::Cli;

/// Parses this process's arguments as `Cli::parse()` does: on help,
/// version or a usage error, clap prints its message and exits.
pub fn parse() -> Cli {
    parse_from(std::env::args_os())
}

/// Parses `args` (the first is the program name) as `Cli::parse_from`
/// does, from the table when the line allows.
pub fn parse_from<I, T>(args: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    match scan::parse(&args) {
        Some(cli) => cli,
        None => Cli::parse_from(args),
    }
}

/// The table alone: `Some` only for a line it accepts, which the full
/// definition accepts too, with the same result; `None` for anything else.
pub fn try_table(args: &[OsString]) -> Option<Cli> {
    scan::parse(args)
}
