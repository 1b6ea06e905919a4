//! The subcommands: each turns its parsed arguments into library calls and
//! prints the result. `main.rs` only parses and maps the outcome to an exit
//! status.

mod completions;
mod exec;
mod list;
mod pin;
mod prune;
mod unpin;

use crate::cli::{Cli, Command};
use crate::error::Result;

/// Runs the command line `cli` and returns the exit status: 0, unless a
/// command passes one through (`exec`).
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        None => pin::run(&cli.pin),
        Some(Command::Pin(args)) => pin::run(&args),
        Some(Command::Unpin(args)) => unpin::run(&args),
        Some(Command::List(args)) => list::run(&args),
        Some(Command::Exec(args)) => exec::run(&args),
        Some(Command::Prune(args)) => prune::run(&args),
        Some(Command::Completions(args)) => completions::run(&args),
    }
}

/// Writes `text` to standard output; a closed pipe is not our failure.
fn print(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(crate::error::Error::os(
            "writing to standard output",
            rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO),
        )),
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

/// Prints `value` as one line of JSON.
fn print_json(value: &impl serde::Serialize) -> Result<()> {
    // Only a path that is not UTF-8 can fail here.
    let text = serde_json::to_string(value)
        .map_err(|e| crate::error::Error::Refused(format!("printing JSON: {e}")))?;
    print(&format!("{text}\n"))
}
