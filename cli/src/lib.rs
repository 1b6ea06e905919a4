//! The `pinns` command line, over the `pinns` library's public API. It is
//! this crate's library, not part of the binary alone, so that the binary
//! and the tests that check the definition (the man pages, the
//! completions, the parse table) share one copy; it is no API, and its
//! items may change in any release.
//!
//! - `definition`: the clap definition, the one source of `--help`, the
//!   man pages, the shell completions and the parse table;
//! - `scan`: the lines CRI-O and scripts run to pin and unpin, read from
//!   that table (`table`, generated; `spec`, what it records) with no
//!   clap code; everything else goes to clap itself, whose usage errors
//!   `message` turns into one line each, exit status 2;
//! - `complete`: the shell completion scripts, clap's with pin names and
//!   pids completed from the system;
//! - `commands`: one file per subcommand, turning its arguments into
//!   library calls and printing the result;
//! - `error`: what a command failed with, the library's answer or the
//!   command line's own.

#![deny(clippy::undocumented_unsafe_blocks)]

mod commands;
mod complete;
mod definition;
mod error;
mod scan;
mod spec;
#[rustfmt::skip]
mod table;

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};

pub use definition::{
    Cli, Command, CompletionsArgs, DEFAULT_DIR, ExecArgs, HostMode, ListArgs, PinArgs,
    PinCommandArgs, PruneArgs, TypeSelection, UnpinArgs,
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
    let cli = parse(std::env::args_os()).unwrap_or_else(|err| exit_with(err));
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            commands::print_error(&err.to_string());
            if err.is_usage() { 2 } else { 1 }
        }
    }
}

/// Parses `args` (the first is the program name) into the command line
/// `commands::run` takes: from the table when the line allows, else by
/// clap, then with the pin name given once ([`resolve`]). `Err` is what
/// to print instead (help, a version, a usage error), as [`message`]
/// renders it.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match scan::parse(&args) {
        Some(cli) => cli,
        None => parse_full(&args)?,
    };
    resolve(cli)
}

/// clap's parse, where `exec -f NAME WORD...` keeps every word for the
/// command: clap alone would take the first word for NAME and read the
/// next ones as pinns options until the command starts (`exec -f pod ip
/// -n x` would turn `-n` into `--net`). So that line is read with `--`
/// before the first word, which makes every word from there the
/// command's.
fn parse_full(args: &[OsString]) -> Result<Cli, clap::Error> {
    let mut cmd = Cli::command();
    let matches = match exec_command_start(&cmd, args) {
        Some(at) => {
            let mut args = args.to_vec();
            args.insert(at, "--".into());
            cmd.try_get_matches_from_mut(args)
        }
        None => cmd.try_get_matches_from_mut(args),
    };
    let matches = matches.map_err(|e| with_usage(e, &cmd, args))?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// `err` with the usage of the subcommand the line names, where clap gave
/// it none (`unpin -f` with no value): [`message`] points to that
/// subcommand's `--help`.
fn with_usage(mut err: clap::Error, cli: &clap::Command, args: &[OsString]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue};
    if err.get(ContextKind::Usage).is_some() {
        return err;
    }
    let sub = args.get(1).and_then(|a| a.to_str());
    if let Some(usage) = sub
        .and_then(|sub| cli.find_subcommand(sub))
        .and_then(|sub| sub.get_overridden_usage())
    {
        let usage = ContextValue::StyledStr(format!("Usage: {usage}").into());
        err.insert(ContextKind::Usage, usage);
    }
    err
}

/// Where in `args` the first word of `exec -f NAME WORD...` is, when no
/// `--` comes before it: the options are read by the definition of
/// `exec` (which take a value, short and long), as clap reads them. A
/// line this cannot read is left as it is, to clap.
fn exec_command_start(cli: &clap::Command, args: &[OsString]) -> Option<usize> {
    if args.get(1)? != "exec" {
        return None;
    }
    let exec = cli.find_subcommand("exec")?;
    let takes_value = |arg: &clap::Arg| arg.get_action().takes_values();
    let mut named = false;
    let mut at = 2;
    while let Some(word) = args.get(at) {
        let word = word.to_str()?;
        if word == "--" {
            return None;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (long, value) = match long.split_once('=') {
                Some((long, _)) => (long, true),
                None => (long, false),
            };
            let arg = exec.get_arguments().find(|a| a.get_long() == Some(long))?;
            named |= arg.get_id() == "name";
            if takes_value(arg) && !value {
                at += 1;
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (i, c) in shorts.char_indices() {
                let arg = exec.get_arguments().find(|a| a.get_short() == Some(c))?;
                named |= arg.get_id() == "name";
                if takes_value(arg) {
                    // The value is the rest of the word, or the next one.
                    if i + c.len_utf8() == shorts.len() {
                        at += 1;
                    }
                    break;
                }
            }
        } else {
            return named.then_some(at);
        }
        at += 1;
    }
    None
}

/// The name of `pin`, `unpin` and `exec`, given as NAME or as `-f NAME`,
/// folded into the field `-f` fills, and what the definition cannot say
/// checked: a name, and only one, is given (or `unpin --all`); `exec` has
/// a command.
pub fn resolve(mut cli: Cli) -> Result<Cli, clap::Error> {
    match &mut cli.command {
        None if cli.pin.name.is_none() => {
            return Err(usage(
                None,
                ErrorKind::MissingRequiredArgument,
                "a pin name is required: -f NAME",
            ));
        }
        None => {}
        Some(Command::Pin(args)) => {
            args.pin.name = one_name("pin", args.name_arg.take(), args.pin.name.take())?;
            if args.pin.name.is_none() {
                return Err(usage(
                    Some("pin"),
                    ErrorKind::MissingRequiredArgument,
                    "a pin name is required: pinns pin NAME TYPE...",
                ));
            }
        }
        Some(Command::Unpin(args)) => {
            args.name = one_name("unpin", args.name_arg.take(), args.name.take())?;
            match (&args.name, args.all) {
                (Some(name), true) => {
                    return Err(usage(
                        Some("unpin"),
                        ErrorKind::ArgumentConflict,
                        &format!("--all removes every pin under DIR: it takes no name ('{name}')"),
                    ));
                }
                (None, false) => {
                    return Err(usage(
                        Some("unpin"),
                        ErrorKind::MissingRequiredArgument,
                        "a pin name is required: pinns unpin NAME (or --all for every pin)",
                    ));
                }
                (None, true) if !args.types.kinds().is_empty() => {
                    return Err(usage(
                        Some("unpin"),
                        ErrorKind::ArgumentConflict,
                        "--all removes every pin under DIR, of every type: it takes no type flag",
                    ));
                }
                _ => {}
            }
        }
        Some(Command::Exec(args)) => {
            match (&args.name, args.name_arg.take()) {
                // With -f, every word is the command's.
                (Some(_), Some(word)) => args.command.insert(0, word.into()),
                (None, word) => args.name = word,
                (Some(_), None) => {}
            }
            if args.name.is_none() {
                return Err(usage(
                    Some("exec"),
                    ErrorKind::MissingRequiredArgument,
                    "a pin name is required: pinns exec NAME -- CMD...",
                ));
            }
            if args.command.is_empty() {
                return Err(usage(
                    Some("exec"),
                    ErrorKind::MissingRequiredArgument,
                    "no command given: pinns exec NAME -- CMD...",
                ));
            }
        }
        Some(_) => {}
    }
    Ok(cli)
}

/// The one name `word` (NAME) and `flag` (-f NAME) give: either, or both
/// if they agree.
fn one_name(
    sub: &str,
    word: Option<String>,
    flag: Option<String>,
) -> Result<Option<String>, clap::Error> {
    match (word, flag) {
        (Some(word), Some(flag)) if word != flag => Err(usage(
            Some(sub),
            ErrorKind::ArgumentConflict,
            &format!("two names given, '{word}' and -f '{flag}': give one"),
        )),
        (word, flag) => Ok(word.or(flag)),
    }
}

/// A usage error of `pinns` or of its subcommand `sub`, as clap makes
/// them (so that [`message`] renders it as every other).
fn usage(sub: Option<&str>, kind: ErrorKind, text: &str) -> clap::Error {
    let mut cli = Cli::command();
    cli.build();
    match sub.and_then(|sub| cli.find_subcommand_mut(sub)) {
        Some(sub) => sub.error(kind, text),
        None => cli.error(kind, text),
    }
}

/// Prints what [`parse`] answered instead of a command line (help, a
/// version, a usage error) and exits with clap's status (2 for usage).
fn exit_with(err: clap::Error) -> ! {
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
/// line.
///
/// A usage error is one line, as every other error of pinns: `pinns: WHAT;
/// try 'pinns SUB --help'`, with what clap says on further lines (the
/// values an argument takes, a similar argument) folded into it. clap's
/// own block (the error, a blank, the usage, a blank, a pointer to
/// `--help`) would be the one error of pinns that is not a line.
///
/// Help is clap's, but for the one value a namespace flag takes, shown (in
/// help and errors) as the literal it is, `--net[=host]`: clap brackets every value name,
/// `--net[=<host>]`, which reads like a placeholder for a host's name.
pub fn message(err: &clap::Error) -> String {
    let text = err.render().to_string();
    if is_help(err) {
        // In `-h`'s aligned column, the two characters go back as padding.
        return text
            .replace("[=<host>] ", "[=host]   ")
            .replace("[=<host>]", "[=host]");
    }
    if !err.use_stderr() {
        // A version.
        return text;
    }
    one_line(&text).replace("[=<host>]", "[=host]")
}

/// clap's rendering of a usage error, as one line.
fn one_line(text: &str) -> String {
    let mut lines = text.lines();
    let head = lines.next().unwrap_or_default();
    let head = head.strip_prefix("error: ").unwrap_or(head).trim_end();
    let mut details = Vec::new();
    let mut command = "pinns".to_string();
    for line in lines.map(str::trim) {
        if let Some(usage) = line.strip_prefix("Usage: ") {
            // The words before the first argument: `pinns unpin`.
            command = usage
                .split(' ')
                .take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
                .collect::<Vec<_>>()
                .join(" ");
            break;
        }
        if line.is_empty() || line.starts_with("For more information") {
            continue;
        }
        let line = line.strip_prefix("tip: ").unwrap_or(line);
        let line = line
            .strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
            .unwrap_or(line);
        details.push(line);
    }
    let what = if details.is_empty() {
        head.to_string()
    } else if let Some(head) = head.strip_suffix(':') {
        // `the following required arguments were not provided:` and a list.
        format!("{head}: {}", details.join(", "))
    } else {
        format!("{head} ({})", details.join("; "))
    };
    format!("pinns: {what}; try '{command} --help'\n")
}

/// The table alone: `Some` only for a line it accepts, which the full
/// definition accepts too, with the same result; `None` for anything else.
/// (Before [`resolve`], as clap's own parse.)
pub fn try_table(args: &[OsString]) -> Option<Cli> {
    scan::parse(args)
}

/// clap alone, as `parse` uses it when the table does not answer (before
/// [`resolve`]).
pub fn try_full(args: &[OsString]) -> Result<Cli, clap::Error> {
    parse_full(args)
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
        let full = try_full(&empty).expect("clap reads an empty line");
        assert_eq!(format!("{table:?}"), format!("{full:?}"));
    }
}
