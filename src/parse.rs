//! Parsing the command line while building as little of its clap
//! definition as the line allows, in three steps, each answering only the
//! lines it reads exactly as clap would and passing the rest on:
//!
//! 1. [`scan`]: the definition as a table of data, generated from it ahead
//!    of time; no clap code runs. It answers the lines CRI-O and scripts
//!    run to pin and unpin.
//! 2. [`fast`]: clap itself, with only the part of the definition the
//!    first argument selects, made from the same derive definitions in
//!    `cli.rs`. clap builds the whole command tree before it parses: for
//!    `pinns -d DIR -f NAME --net` that is every subcommand as well as the
//!    flags of `pin`, and for `pinns list` the flags of `pin` too (the top
//!    level flattens them, for CRI-O's command line). So this step builds,
//!    for a subcommand's name, the top level with its subcommands and none
//!    of the flags of `pin` (clap then builds the arguments of that one
//!    subcommand only, see [`Lazy`](crate::cli::Lazy)); for anything
//!    else, the flags of `pin` alone.
//! 3. The full definition, `Cli::parse`, for help, version and every error
//!    (a subcommand name later in the line, an unknown flag, a missing
//!    value): every message, and its exit status, is clap's own, exactly
//!    as without this module.
//!
//! There is no second parser to drift: `tests/fast_parse.rs` regenerates
//! the table from the definition and checks that whatever steps 1 and 2
//! accept, step 3 accepts with the same result.

mod scan;
#[rustfmt::skip]
mod table;

use std::ffi::OsString;

use clap::{Args, FromArgMatches, Parser, Subcommand};

use crate::cli::{Cli, Command, DEFAULT_DIR, PinArgs};

/// Parses this process's arguments as `Cli::parse()` does: on help,
/// version or a usage error, clap prints its message and exits.
pub fn parse() -> Cli {
    parse_from(std::env::args_os())
}

/// Parses `args` (the first is the program name) as `Cli::parse_from`
/// does, building as little of the definition as the line allows.
pub fn parse_from<I, T>(args: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(cli) = scan::parse(&args) {
        return cli;
    }
    // This process exits right after the command: what clap built is left
    // for the exit to reclaim, as C tools leave their last allocations.
    // Dropping it took ~10k instructions, a tenth of a pin.
    match fast(&args, Built::Leak) {
        Some(cli) => {
            std::mem::forget(args);
            cli
        }
        None => Cli::parse_from(args),
    }
}

/// Whether [`fast`] frees what clap built.
#[derive(Clone, Copy, PartialEq)]
enum Built {
    Free,
    Leak,
}

/// Step 1 alone, the table: `Some` only for a line it accepts, which the
/// full definition accepts too, with the same result; `None` for anything
/// else, left to the next step.
pub fn try_table(args: &[OsString]) -> Option<Cli> {
    scan::parse(args)
}

/// Step 2 alone, the cheap clap parse: `Some` only for a line it accepts,
/// which the full definition accepts too, with the same result; `None` for
/// anything else (help, version, any error), to be parsed in full.
pub fn try_fast(args: &[OsString]) -> Option<Cli> {
    fast(args, Built::Free)
}

fn fast(args: &[OsString], built: Built) -> Option<Cli> {
    let done = |command: clap::Command, matches: clap::ArgMatches| {
        if built == Built::Leak {
            std::mem::forget(command);
            std::mem::forget(matches);
        }
    };
    let first = args.get(1).and_then(|a| a.to_str());
    if first.is_some_and(Command::has_subcommand) {
        // The top level of the full definition minus the flags of `pin`:
        // after a subcommand's name, they could not be given anyway
        // (`args_conflicts_with_subcommands`).
        let top = clap::Command::new("pinns")
            .disable_help_flag(true)
            .disable_help_subcommand(true);
        let mut top = Command::augment_subcommands(top);
        let mut matches = top.try_get_matches_from_mut(args).ok()?;
        let command = Command::from_arg_matches_mut(&mut matches).ok()?;
        done(top, matches);
        Some(Cli {
            command: Some(command),
            // What clap gives the flattened flags when a subcommand is used:
            // their defaults.
            pin: PinArgs {
                dir: DEFAULT_DIR.into(),
                ..PinArgs::default()
            },
        })
    } else {
        // No subcommand: CRI-O's command line, the flags of `pin` alone.
        let cmd = clap::Command::new("pinns").disable_help_flag(true);
        let mut cmd = PinArgs::augment_args(cmd);
        let mut matches = cmd.try_get_matches_from_mut(args).ok()?;
        let pin = PinArgs::from_arg_matches_mut(&mut matches).ok()?;
        done(cmd, matches);
        Some(Cli { command: None, pin })
    }
}
