//! The `pinns` command line: the binary's, built with the `cli` feature.
//!
//! - `definition`: the clap definition, the one source of `--help`, the
//!   man pages, the shell completions and the parse table;
//! - `scan`: the lines CRI-O and scripts run to pin and unpin, read from
//!   that table (`table`, generated; `spec`, what it records) with no
//!   clap code; everything else goes to clap itself, so every message and
//!   exit status is clap's;
//! - `commands`: one file per subcommand, turning its arguments into
//!   library calls and printing the result.

mod commands;
mod definition;
mod scan;
mod spec;
#[rustfmt::skip]
mod table;

use std::ffi::OsString;

use clap::Parser;
use clap::error::ErrorKind;

pub use definition::{
    Cli, Command, CompletionsArgs, DEFAULT_DIR, ExecArgs, HostMode, ListArgs, PinArgs, PruneArgs,
    TypeSelection, UnpinArgs,
};

/// The whole of `pinns`: parses this process's arguments, runs the
/// command, and returns the exit status (0 ok, 1 failure, 2 usage).
pub fn main() -> u8 {
    // A closed standard output must be an error a write returns, not a
    // signal that kills the process: a pin whose report cannot be written
    // is undone before exiting 1 (commands::pin), and other output into a
    // closed pipe (`pinns completions bash | head -1`) ends quietly with 0.
    // A command `pinns exec` runs gets SIGPIPE back at its default: the
    // standard library resets it in every child it starts.
    // SAFETY: setting a signal to SIG_IGN installs no handler, and no
    // other thread exists yet to race with.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // Usage errors exit 2 from here, with clap's message.
    let cli = parse(std::env::args_os());
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            commands::print_error(&err.to_string());
            if err.is_usage() { 2 } else { 1 }
        }
    }
}

/// Parses `args` (the first is the program name) as `Cli::parse_from`
/// does, from the table when the line allows: on help, version or a usage
/// error, clap's message is printed and the process exits.
fn parse<I, T>(args: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    match scan::parse(&args) {
        Some(cli) => cli,
        None => Cli::try_parse_from(args).unwrap_or_else(|err| exit_with(err)),
    }
}

/// Prints what clap answered instead of a command line (help, a version,
/// a usage error) and exits with clap's status.
fn exit_with(err: clap::Error) -> ! {
    if !is_help(&err) {
        err.exit()
    }
    let text = message(&err);
    // Help into a closed pipe (`pinns --help | head -1`) ends quietly.
    let _ = if err.use_stderr() {
        std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes())
    } else {
        std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
    };
    std::process::exit(err.exit_code())
}

fn is_help(err: &clap::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// The text `pinns` prints for what clap answered instead of a command
/// line: clap's own, except that help names the one value a namespace flag
/// takes as the literal it is, `--net[=host]`. (clap brackets every value
/// name, `--net[=<host>]`, which reads like a placeholder for a host's
/// name.)
pub fn message(err: &clap::Error) -> String {
    let text = err.render().to_string();
    if !is_help(err) {
        return text;
    }
    // In `-h`'s aligned column, the two characters go back as padding.
    text.replace("[=<host>] ", "[=host]   ")
        .replace("[=<host>]", "[=host]")
}

/// The table alone: `Some` only for a line it accepts, which the full
/// definition accepts too, with the same result; `None` for anything else.
pub fn try_table(args: &[OsString]) -> Option<Cli> {
    scan::parse(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_argv_reads_as_no_arguments() {
        // The kernel gives a program started with no argv an empty name
        // (Linux 5.18+); a library caller can still pass nothing at all.
        let empty: [OsString; 0] = [];
        let table = try_table(&empty).expect("the table answers an empty line");
        let full = Cli::try_parse_from(empty).expect("clap reads an empty line");
        assert_eq!(format!("{table:?}"), format!("{full:?}"));
    }
}
