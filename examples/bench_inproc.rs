//! The benchmark's in-process pinner: pins a pod's net, ipc and uts
//! namespaces through the library, as a runtime embedding it would, and
//! unpins them, many times in one warm process. `bench/run.sh` builds it
//! with the library alone and drives it; see bench/README.md.
//!
//! ```text
//! cargo build --release -p pinns --example bench_inproc
//! bench_inproc serve DIR          one request per stdin line, `pin NAME` or
//!                                 `unpin NAME`; answers `<ns> <status>` per line
//! bench_inproc count DIR PINS UNPINS
//!                                 pin `warm` and unpin it, then pin c0..c<PINS-1>
//!                                 and unpin the first UNPINS of them; leaves the
//!                                 rest pinned, for the caller to remove
//! ```
//!
//! `serve` times each library call from inside the process (the plan built,
//! then [`pinns::pin`]; or [`pinns::unpin`]), so the figure is what an
//! embedder pays per pod, with no process start-up in it. `count` is for
//! callgrind: the counts of `count DIR 1 0` minus `count DIR 0 0` are the
//! user-space instructions of one pin in a process that has pinned before,
//! whatever its threads did, and `1 1` minus `1 0` those of one unpin.
//!
//! Needs root (`CAP_SYS_ADMIN`). DIR must be a directory the caller removes
//! (the first pin sets up its type directories, as `pinns` does).

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use pinns::{Kind, KindSet, Plan};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["serve", dir] => serve(Path::new(dir)),
        ["count", dir, pins, unpins] => match (pins.parse(), unpins.parse()) {
            (Ok(pins), Ok(unpins)) => count(Path::new(dir), pins, unpins),
            _ => Err("count: PINS and UNPINS are numbers".into()),
        },
        _ => Err("usage: bench_inproc serve DIR | count DIR PINS UNPINS".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_inproc: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The pod pin under test: new net, ipc and uts namespaces, nothing else,
/// as `pinns -d DIR -f NAME --net --ipc --uts` (and the C floor) pin them.
fn pin_pod(dir: &Path, name: &str) -> pinns::Result<()> {
    let plan = Plan::builder(dir, name)
        .create(Kind::Net)
        .create(Kind::Ipc)
        .create(Kind::Uts)
        .build()?;
    pinns::pin(&plan).map(drop)
}

/// Every pin of NAME, as `pinns unpin -d DIR -f NAME` removes them.
fn unpin_pod(dir: &Path, name: &str) -> pinns::Result<()> {
    pinns::unpin(dir, name, KindSet::EMPTY).map(drop)
}

/// Answers each request with the nanoseconds the call took and 0, or 1
/// when it failed (the error goes to stderr); the driver keeps time out of
/// its own hands, as `timeit` does for the processes measured beside.
fn serve(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let (op, name) = line
            .split_once(' ')
            .ok_or("serve: a request is `pin NAME` or `unpin NAME`")?;
        let start = Instant::now();
        let result = match op {
            "pin" => pin_pod(dir, name),
            "unpin" => unpin_pod(dir, name),
            _ => return Err(format!("serve: unknown request {op:?}").into()),
        };
        let ns = start.elapsed().as_nanos();
        let status = match result {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("bench_inproc: {op} {name}: {e}");
                1
            }
        };
        // The standard output is line-buffered: each answer leaves now.
        writeln!(out, "{ns} {status}")?;
    }
    Ok(())
}

/// The most pins `count` makes: a few suffice to check that the
/// difference per call is steady.
const COUNT_MAX: usize = 4;

/// A warm-up pin and unpin, then PINS pins and UNPINS unpins, each run the
/// same way whatever the counts, so that differences between two runs
/// under callgrind are the calls alone.
fn count(dir: &Path, pins: usize, unpins: usize) -> Result<(), Box<dyn std::error::Error>> {
    // The names are made whatever the counts, so that their formatting
    // is in every run alike.
    let names: Vec<String> = (0..COUNT_MAX).map(|i| format!("c{i}")).collect();
    if pins > COUNT_MAX {
        return Err(format!("count: at most {COUNT_MAX} pins").into());
    }
    pin_pod(dir, "warm")?;
    unpin_pod(dir, "warm")?;
    for name in &names[..pins] {
        pin_pod(dir, name)?;
    }
    for name in &names[..unpins.min(pins)] {
        unpin_pod(dir, name)?;
    }
    Ok(())
}
