//! `pinns completions SHELL`: a completion script from the clap definition
//! (`cli::complete`).

use crate::definition::CompletionsArgs;
use crate::error::Result;

pub fn run(args: &CompletionsArgs) -> Result<u8> {
    super::print_unless_closed(&crate::complete::script(args.shell))?;
    Ok(0)
}
