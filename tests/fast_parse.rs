//! The cheap parse (`pinns::parse`, issue 12) against the full clap
//! definition (`Cli::command()`), so that the two can never drift:
//!
//! - whatever the cheap parse accepts, the full one accepts with the same
//!   result (compared as `Debug` text), over a table of command lines and
//!   random ones;
//! - the command lines CRI-O and scripts run are answered by the cheap
//!   parse (else it would be no use);
//! - for help, version and usage errors, the built binary prints exactly
//!   what the full definition prints, on the same stream, with its exit
//!   status.

use std::ffi::OsString;
use std::process::Command;

use clap::Parser;
use pinns::cli::Cli;
use proptest::prelude::*;

const PINNS: &str = env!("CARGO_BIN_EXE_pinns");

fn argv(args: &[&str]) -> Vec<OsString> {
    std::iter::once("pinns")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect()
}

/// Parses `args` both ways; panics if the cheap parse accepts what the full
/// one refuses or reads differently. Returns whether the cheap one answered.
fn agree(args: &[&str]) -> bool {
    let argv = argv(args);
    let fast = pinns::parse::try_fast(&argv);
    let full = Cli::try_parse_from(&argv);
    match (fast, full) {
        (None, _) => false,
        (Some(fast), Ok(full)) => {
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{args:?}");
            true
        }
        (Some(fast), Err(e)) => {
            panic!("{args:?}: the cheap parse accepted {fast:?}; the full one said {e}")
        }
    }
}

/// CRI-O's command lines, and what scripts and people run: the cheap
/// parse must answer each, as the full one would.
const ANSWERED: &[&[&str]] = &[
    &[
        "-d",
        "/var/run",
        "-f",
        "uuid",
        "-s",
        "net.ipv4.ip_forward=1",
        "--ipc",
        "--net",
        "--uts",
    ],
    &[
        "-d",
        "/var/run",
        "-f",
        "uuid",
        "-s",
        "k=v",
        "-s",
        "kernel.shm_rmid_forced=1",
        "--ipc",
        "--net",
        "--uts",
    ],
    &[
        "-d", "/var/run", "-f", "uuid", "--ipc", "--net", "--uts", "--cgroup",
    ],
    &[
        "-d",
        "/var/run",
        "-f",
        "uuid",
        "--user",
        "--uid-mapping=0-2000000-65536@",
        "--gid-mapping=0-2000000-65536@",
        "--ipc",
        "--net",
        "--uts",
    ],
    &[
        "-d",
        "/var/run",
        "-f",
        "uuid",
        "--ipc=host",
        "--net=host",
        "--uts",
    ],
    &["-d", "/run", "-f", "pod", "--net", "--ipc", "--uts"],
    &["-f", "pod", "-niu", "-s", "kernel.hostname=a"],
    &["--filename=s4", "--net=host", "--ipc"],
    &[
        "-f",
        "t",
        "--time",
        "--boottime",
        "1000",
        "--monotonic",
        "-5",
    ],
    &[
        "-f",
        "p",
        "--pid",
        "--from-pid",
        "42",
        "--json",
        "-v",
        "--loopback",
    ],
    &[
        "-dDIR",
        "-fNAME",
        "-m",
        "-p",
        "-t",
        "-c",
        "-U",
        "--sysctl=a=b=c d",
    ],
    &["-d", "unpin", "-f", "list", "--net"],
    &["-f", "x"],
    &[],
    &["pin", "-d", "/run", "-f", "pod", "--net", "--ipc", "--uts"],
    &[
        "pin",
        "-f",
        "s5",
        "-n",
        "-i",
        "-u",
        "-s",
        "net.ipv4.conf.all.forwarding=1",
    ],
    &["unpin", "-d", "/var/run", "-f", "uuid"],
    &["unpin", "-f", "uuid", "--net", "-i", "-v"],
    &["list"],
    &["list", "-d", "/run", "--json"],
    &["exec", "-d", "/run", "-f", "pod", "--", "ip", "addr"],
    &[
        "exec", "-f", "pod", "--net", "ip", "-brief", "link", "--help",
    ],
    &["completions", "bash"],
    &["completions", "zsh"],
];

/// Lines the full definition must handle: help, version, errors, and a
/// few the cheap parse would be tempted to accept wrongly.
const LEFT_TO_CLAP: &[&[&str]] = &[
    &["-h"],
    &["--help"],
    &["-V"],
    &["--version"],
    &["pin", "--help"],
    &["pin", "-h"],
    &["unpin", "--help"],
    &["unpin", "-h"],
    &["list", "--help"],
    &["exec", "--help"],
    &["completions", "--help"],
    &["unpin"],
    &["unpin", "--bogus"],
    &["unpin", "-f"],
    &["unpin", "--version"],
    &["list", "extra"],
    &["exec", "-f", "pod"],
    &["completions"],
    &["completions", "tcsh"],
    &["bogus"],
    &["help"],
    &["unpn", "-f", "x"],
    &["-f", "x", "unpin"],
    &["-f", "x", "--net", "list"],
    &["-f", "x", "--net", "host"],
    &["-f", "x", "--net", "--net"],
    &["-f", "x", "--netns"],
    &["-f", "x", "--net="],
    &["-f", "x", "--net=hots"],
    &["-f"],
    &["-d"],
    &["-f", "x", "--from-pid", "-1"],
    &["-f", "x", "--from-pid", "nope"],
    &["-f", "x", "--monotonic", "1.5"],
    &["--", "unpin"],
    &["-f", "x", "-h"],
    &["-f", "x", "--version"],
    &["-f", "x", "-d", "a", "-d", "b"],
];

#[test]
fn the_cheap_parse_answers_the_common_lines_as_clap_does() {
    for args in ANSWERED {
        assert!(agree(args), "not answered by the cheap parse: {args:?}");
    }
}

#[test]
fn help_version_and_errors_are_left_to_the_full_definition() {
    for args in LEFT_TO_CLAP {
        let answered = agree(args);
        // Those the full definition refuses must not be answered cheaply
        // (`agree` checks that); the rest may be, if equal.
        if Cli::try_parse_from(argv(args)).is_err() {
            assert!(!answered, "{args:?}");
        }
    }
}

/// The binary prints, for each line the full definition refuses (or
/// answers with help or version), exactly clap's text on clap's stream,
/// and exits with clap's status.
#[test]
fn the_binary_prints_what_the_full_definition_prints() {
    for args in LEFT_TO_CLAP {
        let Err(err) = Cli::try_parse_from(argv(args)) else {
            continue;
        };
        let out = Command::new(PINNS).args(*args).output().unwrap();
        let (want_out, want_err) = if err.use_stderr() {
            (String::new(), err.to_string())
        } else {
            (err.to_string(), String::new())
        };
        assert_eq!(out.status.code(), Some(err.exit_code()), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), want_out, "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), want_err, "{args:?}");
    }
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "pin", "unpin", "list", "exec", "completions", "prune", "help",
            "-d", "--dir", "-f", "--filename", "-n", "--net", "--net=host", "--net=",
            "-i", "--ipc", "--ipc=host", "-u", "--uts", "-c", "--cgroup", "-U", "--user",
            "--user=host", "-m", "--mnt", "-p", "--pid", "-t", "--time", "-s", "--sysctl",
            "--uid-mapping", "--uid-mapping=0-1-2", "--gid-mapping", "--from-pid",
            "--loopback", "--monotonic", "--boottime", "--json", "-v", "--verbose", "--",
            "-", "-h", "--help", "-V", "--version", "bash", "fish", "host", "1", "-1",
            "-niu", "-dx", "-fy", "--dry-run", "--no-netns-mounts",
        ])
        .prop_map(str::to_string),
        1 => "[a-z0-9=./@\\-]{0,12}",
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn any_line_the_cheap_parse_accepts_the_full_one_reads_alike(
        args in prop::collection::vec(token(), 0..8)
    ) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        agree(&args);
    }
}
