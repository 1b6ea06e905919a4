//! The table scan (`pinns_cli::try_table`) against the full clap
//! definition (`Cli::command()`), so that they can never drift:
//!
//! - the table the scan reads (`cli/src/table.rs`) is what the definition
//!   generates now;
//! - whatever the scan accepts, the full definition accepts with the same
//!   result (compared as `Debug` text), over a table of command lines,
//!   every argument with a range of values, and random lines;
//! - the command lines CRI-O and scripts run to pin and unpin are answered
//!   by the table (else it would be no use);
//! - for help, version and usage errors, the built binary prints exactly
//!   what the full definition prints, on the same stream, with its exit
//!   status; every usage error is one line, exit status 2.

mod common;

use std::ffi::OsString;
use std::fmt::Write as _;

use clap::{ArgAction, CommandFactory};
use pinns_cli::Cli;
use proptest::prelude::*;

fn argv(args: &[&str]) -> Vec<OsString> {
    std::iter::once("pinns")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect()
}

/// Whether the table answered a line.
#[derive(Debug, PartialEq)]
enum Answered {
    Table,
    Clap,
}

/// Parses `args` both ways; panics if the table accepts what the full
/// definition refuses or reads differently. Returns which one answered.
fn answered(args: &[&str]) -> Answered {
    let argv = argv(args);
    let full = pinns_cli::try_full(&argv);
    match (pinns_cli::try_table(&argv), &full) {
        (None, _) => Answered::Clap,
        (Some(table), Ok(full)) => {
            assert_eq!(format!("{table:?}"), format!("{full:?}"), "table: {args:?}");
            Answered::Table
        }
        (Some(table), Err(e)) => {
            panic!("{args:?}: the table accepted {table:?}; the full definition said {e}")
        }
    }
}

/// [`answered`]: whether the table answered.
fn agree(args: &[&str]) -> bool {
    answered(args) == Answered::Table
}

/// CRI-O's command lines, and what scripts and people run: the full
/// definition accepts each, and the table, where it answers, alike.
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
    &["pin", "pod", "--net", "--uts"],
    &["pin", "-d", "/tmp/p", "pod", "-f", "pod", "--net"],
    &["unpin", "pod"],
    &["unpin", "-d", "/tmp/p", "pod", "--net", "-v"],
    &["unpin", "--all", "-d", "/tmp/p"],
    &["exec", "pod", "--", "ip", "addr"],
    &["exec", "pod", "ip", "-n", "x"],
    &["exec", "-f", "pod", "ip", "-n", "x"],
    &["exec", "-nfpod", "--", "ip"],
    &["list", "pod"],
    &["list", "-d", "/tmp/p", "--json", "pod"],
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
    &["pin", "pod", "--net"],
    &["pin", "a", "-f", "b", "--net"],
    &["pin", "--net"],
    &["unpin", "pod"],
    &["unpin", "a", "-f", "b"],
    &["unpin", "--all", "pod"],
    &["unpin", "--all", "-f", "pod"],
    &["exec"],
    &["exec", "pod"],
    &["exec", "-f", "pod"],
    &["list", "a", "b"],
];

/// The pins and unpins CRI-O and scripts run, many times a day: no clap
/// code may run for them.
const TABLE_ANSWERED: &[&[&str]] = &[
    &["-d", "/var/run", "-f", "uuid", "--ipc", "--net", "--uts"],
    &[
        "-d",
        "/var/run",
        "-f",
        "uuid",
        "-s",
        "net.ipv4.ip_forward=1",
        "-s",
        "kernel.shm_rmid_forced=1",
        "--ipc",
        "--net",
        "--uts",
        "--cgroup",
    ],
    &[
        "-d",
        "/var/run",
        "-f",
        "uuid",
        "--user",
        "--uid-mapping=0-2000000-65536@",
        "--gid-mapping",
        "0-2000000-65536@",
        "--ipc=host",
        "--net",
        "--uts",
        "--mnt",
        "--pid",
        "--time",
    ],
    &[
        "--dir=/run",
        "--filename=pod",
        "-n",
        "-i",
        "-u",
        "--loopback",
        "--json",
        "-v",
    ],
    &[
        "-f",
        "p",
        "--time",
        "--monotonic",
        "5",
        "--boottime=+10",
        "--from-pid",
        "1",
        "--sysctl=a=b",
    ],
    &["-f", "x"],
    &[],
    &[
        "pin",
        "-d",
        "/run",
        "-f",
        "pod",
        "--net",
        "--ipc",
        "--uts",
        "--verbose",
    ],
    &["unpin", "-d", "/var/run", "-f", "uuid"],
    &["unpin", "--all", "-d", "/var/run"],
    &[
        "unpin",
        "--filename=uuid",
        "--net",
        "-i",
        "-u",
        "-c",
        "-U",
        "-m",
        "-p",
        "-t",
        "-v",
    ],
];

#[test]
fn the_cheap_parse_answers_the_common_lines_as_clap_does() {
    for args in ANSWERED {
        answered(args);
        if let Err(e) = pinns_cli::try_full(&argv(args)) {
            panic!("{args:?}: {}", pinns_cli::message(&e));
        }
    }
    for args in TABLE_ANSWERED {
        assert_eq!(answered(args), Answered::Table, "{args:?}");
    }
}

/// The name, given as a word or with -f, as the command sees it: one
/// name, and for `exec -f NAME`, every word the command's.
#[test]
fn a_name_given_as_a_word_or_with_f_is_one_name() {
    use pinns_cli::Command;
    let parse = |args: &[&str]| {
        pinns_cli::parse(argv(args))
            .unwrap_or_else(|e| panic!("{args:?}: {}", pinns_cli::message(&e)))
    };
    for args in [
        &["pin", "pod", "--net"][..],
        &["pin", "-f", "pod", "--net"],
        &["pin", "pod", "-f", "pod", "-n"],
    ] {
        let Some(Command::Pin(pin)) = parse(args).command else {
            panic!("{args:?}")
        };
        assert_eq!(pin.pin.name.as_deref(), Some("pod"), "{args:?}");
        assert_eq!(pin.name_arg, None, "{args:?}");
    }
    for args in [
        &["unpin", "pod"][..],
        &["unpin", "-f", "pod"],
        &["unpin", "--net", "pod", "-v"],
    ] {
        let Some(Command::Unpin(unpin)) = parse(args).command else {
            panic!("{args:?}")
        };
        assert_eq!(unpin.name.as_deref(), Some("pod"), "{args:?}");
        assert!(!unpin.all, "{args:?}");
    }
    let Some(Command::Unpin(all)) = parse(&["unpin", "--all", "-d", "/p"]).command else {
        panic!()
    };
    assert!(all.all && all.name.is_none());
    let exec = |args: &[&str]| {
        let Some(Command::Exec(exec)) = parse(args).command else {
            panic!("{args:?}")
        };
        let words: Vec<String> = exec
            .command
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        (exec.name.unwrap(), words, exec.types.net)
    };
    let cmd = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    assert_eq!(
        exec(&["exec", "pod", "--", "ip", "-n", "x"]),
        ("pod".into(), cmd(&["ip", "-n", "x"]), false)
    );
    assert_eq!(
        exec(&["exec", "pod", "ip", "-n", "x"]),
        ("pod".into(), cmd(&["ip", "-n", "x"]), false)
    );
    assert_eq!(
        exec(&["exec", "--net", "pod", "--", "ip"]),
        ("pod".into(), cmd(&["ip"]), true)
    );
    assert_eq!(
        exec(&["exec", "-f", "pod", "ip", "-n", "x"]),
        ("pod".into(), cmd(&["ip", "-n", "x"]), false)
    );
    assert_eq!(
        exec(&["exec", "-nfpod", "ip", "-n"]),
        ("pod".into(), cmd(&["ip", "-n"]), true)
    );
    assert_eq!(
        exec(&["exec", "--filename=pod", "-n", "--", "ip"]),
        ("pod".into(), cmd(&["ip"]), true)
    );
    assert_eq!(
        exec(&["exec", "-d", "/p", "-f", "pod", "sh", "-c", "true"]),
        ("pod".into(), cmd(&["sh", "-c", "true"]), false)
    );
    let Some(Command::List(list)) = parse(&["list", "pod"]).command else {
        panic!()
    };
    assert_eq!(list.name.as_deref(), Some("pod"));
}

/// Every usage error is one line on stderr, `pinns: WHAT; try 'pinns
/// [SUB] --help'`, and exit status 2, whatever clap or pinns found wrong.
#[test]
fn every_usage_error_is_one_line_and_exit_2() {
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["unpin", "pod", "--bogus"],
            "unexpected argument '--bogus' found",
            "pinns unpin",
        ),
        (
            &["-f", "x", "--netns"],
            "unexpected argument '--netns' found (a similar argument exists: '--net')",
            "pinns",
        ),
        (&["bogus"], "unrecognized subcommand 'bogus'", "pinns"),
        (&["unpin"], "a pin name is required", "pinns unpin"),
        (&["pin", "--net"], "a pin name is required", "pinns pin"),
        (&["exec", "pod"], "no command given", "pinns exec"),
        (&[], "a pin name is required", "pinns"),
        (
            &["unpin", "a", "-f", "b"],
            "two names given, 'a' and -f 'b'",
            "pinns unpin",
        ),
        (
            &["unpin", "--all", "pod"],
            "--all removes every pin under DIR",
            "pinns unpin",
        ),
        (
            &["-f", "x", "--net", "--net"],
            "the argument '--net[=host]' cannot be used multiple times",
            "pinns",
        ),
        (
            &["-f", "x", "--from-pid", "nope"],
            "invalid value 'nope' for '--from-pid <PID>'",
            "pinns",
        ),
        (
            &["completions", "tcsh"],
            "invalid value 'tcsh' for '<SHELL>' (possible values: bash, elvish, fish, powershell, zsh",
            "pinns completions",
        ),
        (
            &["unpin", "-f"],
            "a value is required for '--filename <NAME>' but none was supplied",
            "pinns unpin",
        ),
        (
            &["list", "a", "b"],
            "unexpected argument 'b' found",
            "pinns list",
        ),
        (
            &["-f", "x", "--net=hots"],
            "invalid value 'hots' for '--net[=host]'",
            "pinns",
        ),
    ];
    for (args, what, sub) in cases {
        let out = common::pinns(args);
        let err = out.stderr_text();
        assert_eq!(out.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line:\n{err}");
        assert!(
            err.starts_with(&format!("pinns: {what}")),
            "{args:?}: {err}"
        );
        assert!(
            err.ends_with(&format!("; try '{sub} --help'\n")),
            "{args:?}: {err}"
        );
    }
}

/// Each argument of the commands the table covers, spelt every way, alone
/// and after `-f x`, with values of every kind: whatever a cheap parse
/// accepts, clap reads alike. (This is where a value parser or a
/// `requires` the table cannot see would show.)
#[test]
fn every_argument_with_every_kind_of_value_reads_as_clap_reads_it() {
    const VALUES: &[&str] = &[
        "x",
        "host",
        "hots",
        "0",
        "42",
        "+3",
        "-1",
        "4294967296",
        "1.5",
        "a=b",
        " ",
        "ü",
        "/r/un",
        "",
        "--net",
        "-",
    ];
    let cli = built();
    for sub in ["", "pin", "unpin"] {
        let cmd = if sub.is_empty() {
            &cli
        } else {
            cli.find_subcommand(sub).unwrap()
        };
        let prefix: Vec<&str> = [sub].into_iter().filter(|s| !s.is_empty()).collect();
        for arg in cmd.get_arguments() {
            let mut spellings: Vec<String> = arg
                .get_long()
                .map(|l| format!("--{l}"))
                .into_iter()
                .collect();
            spellings.extend(arg.get_short().map(|c| format!("-{c}")));
            for spelling in &spellings {
                for lead in [&[][..], &["-f", "x"][..]] {
                    let line = |rest: &[&str]| agree(&[&prefix[..], lead, rest].concat());
                    line(&[spelling]);
                    for value in VALUES {
                        line(&[spelling, value]);
                        line(&[&format!("{spelling}={value}")]);
                        line(&[spelling, value, spelling, value]);
                    }
                }
            }
        }
    }
}

/// The full definition, built (defaults and deferred arguments filled in).
fn built() -> clap::Command {
    let mut cli = Cli::command();
    cli.build();
    cli
}

const TABLE: &str = "src/table.rs";

/// `cli/src/table.rs` as the definition generates it now.
fn render_table() -> String {
    let cli = built();
    let mut out = String::from(
        "//! The clap definition's arguments, as data (see `super::scan`).\n\
         //! GENERATED from `Cli::command()` by `cli/tests/fast_parse.rs`, which fails\n\
         //! while this file is out of date. Do not edit; refresh it with\n\
         //!   PINNS_UPDATE_PARSE_TABLE=1 cargo test --test fast_parse\n\
         \n\
         use super::spec::Spec;\n\
         use super::spec::Takes::*;\n",
    );
    for (name, sub) in [("TOP", ""), ("PIN", "pin"), ("UNPIN", "unpin")] {
        let cmd = if sub.is_empty() {
            &cli
        } else {
            cli.find_subcommand(sub).unwrap()
        };
        for group in cmd.get_groups() {
            assert!(
                !group.is_required_set() && group.clone().is_multiple(),
                "group {} of `{sub}`: the table does not model required or exclusive groups",
                group.get_id()
            );
        }
        let line = if sub.is_empty() {
            "pinns [flags of pin]".to_string()
        } else {
            format!("pinns {sub}")
        };
        writeln!(out, "\n/// `{line}`.\npub const {name}: &[Spec] = &[").unwrap();
        for arg in cmd.get_arguments() {
            let (takes, default) = takes(cmd, arg);
            let required = arg.is_required_set();
            writeln!(
                out,
                "    Spec {{ id: {:?}, short: {:?}, long: {:?}, takes: {takes}, required: {required}, default: {default:?} }},",
                arg.get_id().as_str(),
                arg.get_short(),
                arg.get_long(),
            )
            .unwrap();
        }
        out.push_str("];\n");
    }
    out
}

/// How the table records `arg`: what it takes, and its default.
fn takes(cmd: &clap::Command, arg: &clap::Arg) -> (String, Option<String>) {
    let num = arg.get_num_args().expect("built");
    let (min, max) = (num.min_values(), num.max_values());
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .flat_map(|p| {
            p.get_name_and_aliases()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    // (No argument reads the environment: clap's `env` feature is off.)
    let unmodelled = arg.get_index().is_some()
        || arg.get_value_delimiter().is_some()
        || arg.get_value_terminator().is_some()
        || arg.is_last_set()
        || arg.is_exclusive_set()
        || arg.is_global_set()
        || arg.is_ignore_case_set()
        || arg.is_trailing_var_arg_set()
        || !cmd.get_arg_conflicts_with(arg).is_empty();
    let one_value = min == 1 && max == 1 && !arg.is_require_equals_set() && defaults.len() <= 1;
    let modelled = match arg.get_action() {
        _ if unmodelled => None,
        ArgAction::SetTrue if max == 0 => Some(("Flag".to_string(), None)),
        ArgAction::Set if one_value => Some(("Value".to_string(), defaults.first().cloned())),
        ArgAction::Append if one_value && defaults.is_empty() => Some(("Append".to_string(), None)),
        ArgAction::Set
            if min == 0
                && max == 1
                && arg.is_require_equals_set()
                && !possible.is_empty()
                && defaults.is_empty() =>
        {
            Some((format!("OptionalEquals(&{possible:?})"), None))
        }
        _ => None,
    };
    modelled.unwrap_or(("Unmodelled".to_string(), None))
}

#[test]
fn the_table_is_what_the_definition_generates() {
    let want = render_table();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(TABLE);
    if common::update_mode("PINNS_UPDATE_PARSE_TABLE") {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap();
    assert!(
        have == want,
        "{TABLE} is stale: run PINNS_UPDATE_PARSE_TABLE=1 cargo test --test fast_parse\n--- want:\n{want}"
    );
}

#[test]
fn help_version_and_errors_are_left_to_the_full_definition() {
    for args in LEFT_TO_CLAP {
        let answered = agree(args);
        // Those the full definition refuses must not be answered cheaply
        // (`agree` checks that); the rest may be, if equal.
        if pinns_cli::try_full(&argv(args)).is_err() {
            assert!(!answered, "{args:?}");
        }
    }
}

/// The binary prints, for each line the full definition refuses (or
/// answers with help or version), exactly clap's text on clap's stream
/// (help with its one rewrite, `cli::message`), and exits with clap's
/// status.
#[test]
fn the_binary_prints_what_the_full_definition_prints() {
    for args in LEFT_TO_CLAP {
        let Err(err) = pinns_cli::parse(argv(args)) else {
            continue;
        };
        let out = common::pinns(args);
        let text = pinns_cli::message(&err);
        let (want_out, want_err) = if err.use_stderr() {
            (String::new(), text)
        } else {
            (text, String::new())
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
            "-niu", "-dx", "-fy", "--dry-run", "--no-netns-mounts", "--all", "pod",
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
