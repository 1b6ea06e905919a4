//! `pinns`: parse, run, exit. Everything else is in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Usage errors exit 2 from here, with clap's message.
    let cli = pinns::cli::Cli::parse();
    match pinns::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("pinns: {err}");
            ExitCode::from(if err.is_usage() { 2 } else { 1 })
        }
    }
}
