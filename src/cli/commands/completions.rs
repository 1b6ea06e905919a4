//! `pinns completions SHELL`: a completion script from the clap definition.

use clap::CommandFactory;

use crate::cli::definition::{Cli, CompletionsArgs};
use crate::error::Result;

pub fn run(args: &CompletionsArgs) -> Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "pinns", &mut script);
    super::print_unless_closed(&String::from_utf8_lossy(&script))?;
    Ok(0)
}
