//! The clap definition's arguments, as data (see `super::scan`).
//! GENERATED from `Cli::command()` by `cli/tests/fast_parse.rs`, which fails
//! while this file is out of date. Do not edit; refresh it with
//!   PINNS_UPDATE_PARSE_TABLE=1 cargo test --test fast_parse

use super::spec::Spec;
use super::spec::Takes::*;

/// `pinns [flags of pin]`.
pub const TOP: &[Spec] = &[
    Spec { id: "dir", short: Some('d'), long: Some("dir"), takes: Value, required: false, default: Some("/run") },
    Spec { id: "name", short: Some('f'), long: Some("filename"), takes: Value, required: false, default: None },
    Spec { id: "net", short: Some('n'), long: Some("net"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "ipc", short: Some('i'), long: Some("ipc"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "uts", short: Some('u'), long: Some("uts"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "cgroup", short: Some('c'), long: Some("cgroup"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "user", short: Some('U'), long: Some("user"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "mnt", short: Some('m'), long: Some("mnt"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "pid", short: Some('p'), long: Some("pid"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "time", short: Some('t'), long: Some("time"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "sysctls", short: Some('s'), long: Some("sysctl"), takes: Append, required: false, default: None },
    Spec { id: "uid_mapping", short: None, long: Some("uid-mapping"), takes: Value, required: false, default: None },
    Spec { id: "gid_mapping", short: None, long: Some("gid-mapping"), takes: Value, required: false, default: None },
    Spec { id: "from_pid", short: None, long: Some("from-pid"), takes: Value, required: false, default: None },
    Spec { id: "loopback", short: None, long: Some("loopback"), takes: Flag, required: false, default: None },
    Spec { id: "monotonic", short: None, long: Some("monotonic"), takes: Value, required: false, default: None },
    Spec { id: "boottime", short: None, long: Some("boottime"), takes: Value, required: false, default: None },
    Spec { id: "json", short: None, long: Some("json"), takes: Flag, required: false, default: None },
    Spec { id: "verbose", short: Some('v'), long: Some("verbose"), takes: Flag, required: false, default: None },
    Spec { id: "help", short: Some('h'), long: Some("help"), takes: Unmodelled, required: false, default: None },
    Spec { id: "version", short: Some('V'), long: Some("version"), takes: Unmodelled, required: false, default: None },
];

/// `pinns pin`.
pub const PIN: &[Spec] = &[
    Spec { id: "name_arg", short: None, long: None, takes: Unmodelled, required: false, default: None },
    Spec { id: "dir", short: Some('d'), long: Some("dir"), takes: Value, required: false, default: Some("/run") },
    Spec { id: "name", short: Some('f'), long: Some("filename"), takes: Value, required: false, default: None },
    Spec { id: "net", short: Some('n'), long: Some("net"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "ipc", short: Some('i'), long: Some("ipc"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "uts", short: Some('u'), long: Some("uts"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "cgroup", short: Some('c'), long: Some("cgroup"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "user", short: Some('U'), long: Some("user"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "mnt", short: Some('m'), long: Some("mnt"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "pid", short: Some('p'), long: Some("pid"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "time", short: Some('t'), long: Some("time"), takes: OptionalEquals(&["host"]), required: false, default: None },
    Spec { id: "sysctls", short: Some('s'), long: Some("sysctl"), takes: Append, required: false, default: None },
    Spec { id: "uid_mapping", short: None, long: Some("uid-mapping"), takes: Value, required: false, default: None },
    Spec { id: "gid_mapping", short: None, long: Some("gid-mapping"), takes: Value, required: false, default: None },
    Spec { id: "from_pid", short: None, long: Some("from-pid"), takes: Value, required: false, default: None },
    Spec { id: "loopback", short: None, long: Some("loopback"), takes: Flag, required: false, default: None },
    Spec { id: "monotonic", short: None, long: Some("monotonic"), takes: Value, required: false, default: None },
    Spec { id: "boottime", short: None, long: Some("boottime"), takes: Value, required: false, default: None },
    Spec { id: "json", short: None, long: Some("json"), takes: Flag, required: false, default: None },
    Spec { id: "verbose", short: Some('v'), long: Some("verbose"), takes: Flag, required: false, default: None },
    Spec { id: "help", short: Some('h'), long: Some("help"), takes: Unmodelled, required: false, default: None },
];

/// `pinns unpin`.
pub const UNPIN: &[Spec] = &[
    Spec { id: "dir", short: Some('d'), long: Some("dir"), takes: Value, required: false, default: Some("/run") },
    Spec { id: "name", short: Some('f'), long: Some("filename"), takes: Value, required: false, default: None },
    Spec { id: "name_arg", short: None, long: None, takes: Unmodelled, required: false, default: None },
    Spec { id: "all", short: None, long: Some("all"), takes: Flag, required: false, default: None },
    Spec { id: "net", short: Some('n'), long: Some("net"), takes: Flag, required: false, default: None },
    Spec { id: "ipc", short: Some('i'), long: Some("ipc"), takes: Flag, required: false, default: None },
    Spec { id: "uts", short: Some('u'), long: Some("uts"), takes: Flag, required: false, default: None },
    Spec { id: "cgroup", short: Some('c'), long: Some("cgroup"), takes: Flag, required: false, default: None },
    Spec { id: "user", short: Some('U'), long: Some("user"), takes: Flag, required: false, default: None },
    Spec { id: "mnt", short: Some('m'), long: Some("mnt"), takes: Flag, required: false, default: None },
    Spec { id: "pid", short: Some('p'), long: Some("pid"), takes: Flag, required: false, default: None },
    Spec { id: "time", short: Some('t'), long: Some("time"), takes: Flag, required: false, default: None },
    Spec { id: "verbose", short: Some('v'), long: Some("verbose"), takes: Flag, required: false, default: None },
    Spec { id: "help", short: Some('h'), long: Some("help"), takes: Unmodelled, required: false, default: None },
];
