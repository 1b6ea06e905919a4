//! `pinns exec`: run a command inside NAME's pinned namespaces.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Command;

use crate::definition::ExecArgs;
use crate::error::{Error, Result};

/// Exit status when the command could not be run (as env(1) and nsenter(1)).
const CANNOT_RUN: u8 = 126;
/// Exit status when the command was not found.
const NOT_FOUND: u8 = 127;

pub fn run(args: &ExecArgs) -> Result<u8> {
    // `cli::resolve` gives exec a name, as -f or NAME.
    let name = args.name.as_deref().unwrap_or_default();
    let entered = pinns::enter_with(&args.dir, name, args.types.kinds(), !args.no_netns_mounts)?;
    let (program, rest) = (args.command.split_first())
        .ok_or_else(|| Error::Usage("no command given: pinns exec NAME -- CMD...".into()))?;
    let mut command = Command::new(program);
    command.args(rest);
    let shown = program.to_string_lossy();
    let failed = |e: std::io::Error| {
        // The kernel's ENOMEM here means the pinned pid namespace's init
        // has exited, after which it lets no process in.
        let hint =
            if entered.kinds.contains(pinns::Kind::Pid) && e.raw_os_error() == Some(libc::ENOMEM) {
                " (the pid namespace's first process has exited; the kernel lets no new process in)"
            } else {
                ""
            };
        super::print_error(&format!(
            "executing {shown}: {}{hint}",
            crate::error::describe(&e)
        ));
        if e.kind() == std::io::ErrorKind::NotFound {
            NOT_FOUND
        } else {
            CANNOT_RUN
        }
    };
    if !entered.needs_child {
        // Nothing left for us to do: become the command, as nsenter does.
        let e = command.exec();
        return Ok(failed(e));
    }
    // A pid or time namespace holds only our children: run the command as
    // one, wait, and pass its status on (128+N for a signal, as shells do).
    let status = match command.status() {
        Ok(status) => status,
        Err(e) => return Ok(failed(e)),
    };
    let code = match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => return Err(Error::Failed(format!("{shown}: ended without a status"))),
    };
    Ok(code.clamp(0, 255) as u8)
}
