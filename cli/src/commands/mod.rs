//! The subcommands: each turns its parsed arguments into library calls and
//! prints the result. `cli::main` only parses and maps the outcome to an
//! exit status.

mod completions;
mod exec;
mod list;
mod pin;
mod prune;
mod unpin;

use crate::definition::{Cli, Command};
use crate::error::{Error, Result};

/// Runs the command line `cli` and returns the exit status: 0, unless a
/// command passes one through (`exec`).
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        // CRI-O's command line leaves what its C pinns leaves: the pins.
        None => pin::run(&cli.pin, pinns::TypeDirs::PinsOnly),
        Some(Command::Pin(args)) => pin::run(&args.pin, pinns::TypeDirs::SharedSelfBind),
        Some(Command::Unpin(args)) => unpin::run(&args),
        Some(Command::List(args)) => list::run(&args),
        Some(Command::Exec(args)) => exec::run(&args),
        Some(Command::Prune(args)) => prune::run(&args),
        Some(Command::Completions(args)) => completions::run(&args),
    }
}

/// Writes `text` to standard output. Every failure is an error, a closed
/// pipe (`EPIPE`) included: for output whose loss matters (a pin's report).
fn print(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|err| Error::Io {
            what: "writing to standard output",
            err,
        })
}

/// Writes `text` to standard output, where a reader that has gone (a
/// closed pipe: `pinns list | head -1`) is not a failure: what it did not
/// read, it did not want.
fn print_unless_closed(text: &str) -> Result<()> {
    match print(text) {
        Err(e) if e.is_closed_pipe() => Ok(()),
        other => other,
    }
}

/// Writes `pinns: MESSAGE` and a newline to standard error, in one write
/// where it fits. A standard error that cannot be written (closed, full,
/// `EIO`) is ignored: the exit status still tells the failure, and
/// `eprintln!` would panic, turning exit 1 into an abort.
pub fn print_error(message: &str) {
    use std::io::Write;
    let line = format!("pinns: {message}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `value` as one line of JSON.
fn json(value: &impl serde::Serialize) -> Result<String> {
    // Only a path that is not UTF-8 can fail here.
    let text =
        serde_json::to_string(value).map_err(|e| Error::Failed(format!("printing JSON: {e}")))?;
    Ok(format!("{text}\n"))
}
