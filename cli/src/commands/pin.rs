//! `pinns [pin]`: the CRI-O command line.

use crate::definition::PinArgs;
use crate::error::{Error, Result};
use pinns::{Creator, Pinned, Plan, Source, Sysctl, TypeDirs};

/// Builds the plan from the flags, checking all of them before any work.
pub fn plan(args: &PinArgs, type_dirs: TypeDirs) -> Result<Plan> {
    let name = args
        .name
        .as_deref()
        .ok_or_else(|| Error::Usage("a pin name is required: -f/--filename NAME".into()))?;
    let mut builder = Plan::builder(&args.dir, name).type_dirs(type_dirs);
    for (kind, host) in args.kinds() {
        builder = if host {
            builder.host(kind)
        } else {
            builder.create(kind)
        };
    }
    for arg in &args.sysctls {
        for sysctl in Sysctl::parse_arg(arg)? {
            builder = builder.sysctl(sysctl);
        }
    }
    if let Some(map) = &args.uid_mapping {
        builder = builder.uid_map(map.parse()?);
    }
    if let Some(map) = &args.gid_mapping {
        builder = builder.gid_map(map.parse()?);
    }
    if let Some(pid) = args.from_pid {
        builder = builder.from_pid(pid);
    }
    if let Some(secs) = args.monotonic {
        builder = builder.monotonic(secs);
    }
    if let Some(secs) = args.boottime {
        builder = builder.boottime(secs);
    }
    Ok(builder.loopback(args.loopback).build()?)
}

/// Pins as the flags say; `type_dirs` is CRI-O's footprint for its command
/// line (no subcommand), the `ip netns` set-up for `pinns pin`.
pub fn run(args: &PinArgs, type_dirs: TypeDirs) -> Result<u8> {
    let plan = plan(args, type_dirs)?;
    // This process exits next: its own thread may stay in the new
    // namespaces, which spares starting another.
    let pinned = pinns::pin_with(&plan, Creator::CallingThread)?;
    // All or nothing: exit 1 must leave nothing, so a report that cannot
    // be written, to a closed pipe too, undoes the pins (each is this
    // call's: pin refuses a path that already holds one).
    report(args, &plan, &pinned).map_err(|err| {
        let kinds = pinned.iter().map(|p| p.kind).collect();
        match pinns::unpin(plan.dir(), plan.name(), kinds) {
            Ok(_) => err,
            Err(teardown) => Error::Many(vec![err, teardown.into()]),
        }
    })?;
    Ok(0)
}

/// Prints what was pinned, as `--json` or `-v` ask.
fn report(args: &PinArgs, plan: &Plan, pinned: &[Pinned]) -> Result<()> {
    if args.json {
        // A struct, not a map, so the keys keep the documented order.
        #[derive(serde::Serialize)]
        struct Report<'a> {
            name: &'a str,
            dir: &'a std::path::Path,
            pins: &'a [Pinned],
        }
        let report = Report {
            name: plan.name(),
            dir: plan.dir(),
            pins: pinned,
        };
        super::print(&super::json(&report)?)?;
    } else if args.verbose {
        let lines: String = pinned
            .iter()
            .map(|p| {
                let (origin, of) = match p.source {
                    Source::New => ("new ", String::new()),
                    Source::Host => ("host ", String::new()),
                    Source::Process(pid) => ("", format!(" of process {pid}")),
                };
                format!(
                    "pinned {origin}{} namespace {}{of} at {}\n",
                    p.kind,
                    p.inode,
                    p.path.display()
                )
            })
            .collect();
        super::print(&lines)?;
    }
    Ok(())
}
