//! The command line, defined once: help, man pages, completions and the
//! table the pin and unpin lines are read from (`cli/src/table.rs`) are
//! all generated from these definitions.
//!
//! With no subcommand, the arguments are those of `pin`: the command line
//! CRI-O runs (`pinns -d DIR -f NAME --ipc --uts --net`).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use pinns::{Kind, KindSet};

/// The pin directory when `-d` is not given.
pub const DEFAULT_DIR: &str = "/run";

const ABOUT: &str = "Pin Linux namespaces to files, with no process left holding them";

// The long texts are broken into lines here, under 100 columns: clap
// prints them as they are (wrapping needs its `wrap_help` feature and the
// terminal_size crate), and roff refills them in the man pages.
const LONG_ABOUT: &str = "\
Pin Linux namespaces to files, with no process left holding them.

pinns creates new namespaces (or takes the caller's, or a running process's) and bind-mounts
each onto DIR/<type>ns/NAME, then exits: the namespaces live on, held by the mounts alone,
until `pinns unpin`. It is a drop-in for CRI-O's pinns helper (no subcommand means `pin`),
and with DIR=/run its network pins are where `ip netns` looks.

Each namespace flag asks for a new namespace; with =host (--net=host) it pins the one pinns
itself runs in instead.";

const AFTER_HELP: &str = "\
Examples:
  pinns -d /run -f pod1 --net --ipc --uts          pin a pod's namespaces (CRI-O's line)
  pinns pin pod1 --net --uts                       the same, ip netns style
  pinns exec pod1 -- ip addr                       run a command inside them
  pinns list                                       list pins, live or stale
  pinns unpin pod1                                 remove every pin of pod1
  pinns unpin --all -d /tmp/pins                   remove every pin under a directory";

// The usage lines, written out: clap's own would drop the argument of
// each option (`[-d|--dir]`) and could not say that NAME is needed in one
// of two spellings. `cli/tests/man.rs` checks each option named here against
// the definition, with its value name, and the man pages' SYNOPSIS is
// these lines. TYPE is a namespace flag: -n -i -u -c -U -m -p -t.
const USAGE: &str = "\
pinns [-d DIR] -f NAME TYPE... [OPTIONS]
       pinns COMMAND [ARGS]";

const USAGE_PIN: &str = "\
pinns pin [-d DIR] NAME TYPE... [OPTIONS]
       pinns pin [-d DIR] -f NAME TYPE... [OPTIONS]";

const USAGE_UNPIN: &str = "\
pinns unpin [-d DIR] [TYPE...] [-v] NAME
       pinns unpin [-d DIR] [TYPE...] [-v] -f NAME
       pinns unpin [-d DIR] [-v] --all";

const USAGE_LIST: &str = "\
pinns list [-d DIR] [--pid PID] [--json] [NAME]";

const USAGE_EXEC: &str = "\
pinns exec [-d DIR] [TYPE...] [--no-netns-mounts] NAME -- CMD...
       pinns exec [-d DIR] [TYPE...] [--no-netns-mounts] -f NAME [--] CMD...";

const EXEC_LONG_ABOUT: &str = "\
Run a command inside NAME's pinned namespaces (the user namespace first).

With no type flags, every pinned type of NAME is entered but a pid namespace no process has
entered yet: its first entrant becomes its PID 1, and once that exits the kernel lets no new
process in. --pid enters it on purpose. With a net pin and no mnt pin, the command runs as under
`ip netns exec`: in a new mount namespace with the pinned namespace's /sys, and each
/etc/netns/NAME/FILE over /etc/FILE (--no-netns-mounts turns this off).";

const USAGE_PRUNE: &str = "\
pinns prune [-d DIR] [--dry-run] [--json]";

const USAGE_COMPLETIONS: &str = "\
pinns completions SHELL";

/// `pinns`: pin Linux namespaces to files.
#[derive(Debug, Parser)]
#[command(
    name = "pinns",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    override_usage = USAGE,
    args_conflicts_with_subcommands = true,
    subcommand_value_name = "COMMAND",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// The subcommand; none means `pin`.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The arguments of `pin`, when no subcommand is given.
    #[command(flatten)]
    pub pin: PinArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create (or take) namespaces and pin them under `DIR/<type>ns/NAME`
    /// (the default).
    #[command(
        about = "Create (or take) namespaces and pin them under DIR/<type>ns/NAME (the default)",
        after_help = AFTER_HELP,
        override_usage = USAGE_PIN
    )]
    Pin(PinCommandArgs),
    /// Unmount and remove the pins of NAME, or every pin under DIR
    #[command(override_usage = USAGE_UNPIN)]
    Unpin(UnpinArgs),
    /// List every pinned NAME under DIR, its state, and who is inside
    #[command(override_usage = USAGE_LIST)]
    List(ListArgs),
    /// Run a command inside NAME's pinned namespaces
    #[command(override_usage = USAGE_EXEC, long_about = EXEC_LONG_ABOUT)]
    Exec(ExecArgs),
    /// Remove stale pins: empty files no namespace is mounted on
    #[command(override_usage = USAGE_PRUNE)]
    Prune(PruneArgs),
    /// Print a shell completion script
    #[command(override_usage = USAGE_COMPLETIONS)]
    Completions(CompletionsArgs),
}

/// `--<type>[=host]`: a new namespace, or the caller's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HostMode {
    // (No doc comment: clap would list it under every namespace flag.)
    Host,
}

/// `--uid-mapping` and `--gid-mapping`, in full.
const MAP_HELP_UID: &str = "\
Uid mapping of the new user namespace: CONTAINER-HOST-SIZE maps SIZE uids, from CONTAINER
inside the namespace to HOST outside it. Several ranges are joined with @, as CRI-O passes
them (a trailing @ is fine): 0-100000-65536 maps uids 0-65535 to 100000-165535, and
0-1000-1@1-100000-65535 maps 0 to 1000 and the rest from 100000 on.";

const MAP_HELP_GID: &str = "\
Gid mapping of the new user namespace, in the format of --uid-mapping: CONTAINER-HOST-SIZE
maps SIZE gids, several ranges joined with @ (0-100000-65536).";

// The arguments structs have plain comments, not doc comments: clap would
// take a doc comment as the description of the subcommand they belong to.

// The arguments of the `pin` subcommand: those of the CRI-O line, and the
// name as a word of its own, as `ip netns add NAME` takes it. (The CRI-O
// line, with no subcommand, takes no word: one there is a subcommand's
// name or a mistake.)
#[derive(Debug, Args, Default)]
pub struct PinCommandArgs {
    /// Pin name, as -f NAME gives it
    #[arg(value_name = "NAME")]
    pub name_arg: Option<String>,

    #[command(flatten)]
    pub pin: PinArgs,
}

// The arguments of `pin`, on the CRI-O line or after the subcommand.
#[derive(Debug, Args, Default)]
pub struct PinArgs {
    /// Pin directory; created (0755) if missing
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = DEFAULT_DIR)]
    pub dir: PathBuf,

    /// Pin name: one path component (pins are `DIR/<type>ns/NAME`).
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "NAME",
        help = "Pin name: one path component (pins are DIR/<type>ns/NAME)"
    )]
    pub name: Option<String>,

    /// New network namespace (=host: the one pinns runs in)
    #[arg(short = 'n', long, value_name = "host", num_args = 0..=1, require_equals = true, hide_possible_values = true)]
    pub net: Option<Option<HostMode>>,

    /// New IPC namespace (=host: the one pinns runs in)
    #[arg(short = 'i', long, value_name = "host", num_args = 0..=1, require_equals = true, hide_possible_values = true)]
    pub ipc: Option<Option<HostMode>>,

    /// New UTS namespace (=host: the one pinns runs in)
    #[arg(short = 'u', long, value_name = "host", num_args = 0..=1, require_equals = true, hide_possible_values = true)]
    pub uts: Option<Option<HostMode>>,

    /// New cgroup namespace (=host: the one pinns runs in)
    #[arg(short = 'c', long, value_name = "host", num_args = 0..=1, require_equals = true, hide_possible_values = true)]
    pub cgroup: Option<Option<HostMode>>,

    /// New user namespace, owning the new others (needs --uid/--gid-mapping)
    #[arg(short = 'U', long, value_name = "host", num_args = 0..=1, require_equals = true, hide_possible_values = true)]
    pub user: Option<Option<HostMode>>,

    /// New mount namespace (pinned in DIR/mntns, an unbindable mount)
    #[arg(short = 'm', long, value_name = "host", num_args = 0..=1, require_equals = true, hide_possible_values = true)]
    pub mnt: Option<Option<HostMode>>,

    /// New PID namespace, pinned before any process is in it
    #[arg(short = 'p', long, value_name = "host", num_args = 0..=1, require_equals = true, hide_possible_values = true)]
    pub pid: Option<Option<HostMode>>,

    /// New time namespace (see --monotonic, --boottime)
    #[arg(short = 't', long, value_name = "host", num_args = 0..=1, require_equals = true, hide_possible_values = true)]
    pub time: Option<Option<HostMode>>,

    /// Set a sysctl inside the new namespaces before pinning (repeatable)
    #[arg(short = 's', long = "sysctl", value_name = "KEY=VALUE")]
    pub sysctls: Vec<String>,

    /// Uid mapping of the new user namespace, e.g. 0-100000-65536.
    #[arg(
        long = "uid-mapping",
        value_name = "MAP",
        help = "Uid mapping of the new user namespace, e.g. 0-100000-65536",
        long_help = MAP_HELP_UID
    )]
    pub uid_mapping: Option<String>,

    /// Gid mapping of the new user namespace, e.g. 0-100000-65536.
    #[arg(
        long = "gid-mapping",
        value_name = "MAP",
        help = "Gid mapping of the new user namespace, e.g. 0-100000-65536",
        long_help = MAP_HELP_GID
    )]
    pub gid_mapping: Option<String>,

    /// Pin the namespaces of a running process instead of creating new ones
    #[arg(long = "from-pid", value_name = "PID")]
    pub from_pid: Option<u32>,

    /// Bring lo up inside the new network namespace
    #[arg(long)]
    pub loopback: bool,

    /// CLOCK_MONOTONIC offset of the new time namespace, in seconds
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub monotonic: Option<i64>,

    /// CLOCK_BOOTTIME offset of the new time namespace, in seconds
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub boottime: Option<i64>,

    /// On success, print one JSON object: each pin's type, path and inode
    #[arg(long)]
    pub json: bool,

    /// Print each pin made
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

impl PinArgs {
    /// Each type flag given, with whether it asked for the host's namespace.
    pub fn kinds(&self) -> Vec<(Kind, bool)> {
        [
            (Kind::User, self.user),
            (Kind::Cgroup, self.cgroup),
            (Kind::Ipc, self.ipc),
            (Kind::Uts, self.uts),
            (Kind::Net, self.net),
            (Kind::Pid, self.pid),
            (Kind::Time, self.time),
            (Kind::Mnt, self.mnt),
        ]
        .into_iter()
        .filter_map(|(kind, flag)| flag.map(|mode| (kind, mode == Some(HostMode::Host))))
        .collect()
    }
}

// Type flags that only select kinds (for unpin and exec).
#[derive(Debug, Args, Default)]
pub struct TypeSelection {
    /// Network namespace
    #[arg(short = 'n', long)]
    pub net: bool,
    /// IPC namespace
    #[arg(short = 'i', long)]
    pub ipc: bool,
    /// UTS namespace
    #[arg(short = 'u', long)]
    pub uts: bool,
    /// Cgroup namespace
    #[arg(short = 'c', long)]
    pub cgroup: bool,
    /// User namespace
    #[arg(short = 'U', long)]
    pub user: bool,
    /// Mount namespace
    #[arg(short = 'm', long)]
    pub mnt: bool,
    /// PID namespace
    #[arg(short = 'p', long)]
    pub pid: bool,
    /// Time namespace
    #[arg(short = 't', long)]
    pub time: bool,
}

impl TypeSelection {
    /// The selected kinds; empty means all.
    pub fn kinds(&self) -> KindSet {
        [
            (Kind::User, self.user),
            (Kind::Cgroup, self.cgroup),
            (Kind::Ipc, self.ipc),
            (Kind::Uts, self.uts),
            (Kind::Net, self.net),
            (Kind::Pid, self.pid),
            (Kind::Time, self.time),
            (Kind::Mnt, self.mnt),
        ]
        .into_iter()
        .filter_map(|(kind, on)| on.then_some(kind))
        .collect()
    }
}

// The arguments of `unpin`. The name may be given as a word (NAME) or
// with -f; `cli::resolve` folds the word into `name`, refuses two that
// differ, and a name together with --all.
#[derive(Debug, Args)]
pub struct UnpinArgs {
    /// Pin directory
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = "/run")]
    pub dir: PathBuf,

    /// Pin name (or give it as NAME)
    #[arg(short = 'f', long = "filename", value_name = "NAME")]
    pub name: Option<String>,

    /// Pin name, as -f NAME gives it
    #[arg(value_name = "NAME")]
    pub name_arg: Option<String>,

    /// Every pin under DIR, then the mounts pinns made there
    #[arg(long)]
    pub all: bool,

    /// The types to unpin; none named means every type
    #[command(flatten)]
    pub types: TypeSelection,

    /// Print each pin removed, or that there was none
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

// The arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Pin directory
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = "/run")]
    pub dir: PathBuf,

    /// Show only the pins of this name
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// PID is a process: show only pins of namespaces it is in (ip netns identify)
    #[arg(long = "pid", value_name = "PID")]
    pub pid: Option<u32>,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

// The arguments of `exec`. The name is the first word, or -f's value; with
// -f, every word is the command's (`pinns exec -f pod ip -n x` runs `ip -n
// x`, as it did before NAME could be a word). `cli::resolve` folds NAME
// into `name` and checks that a command is left.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Pin directory
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = "/run")]
    pub dir: PathBuf,

    /// Pin name (or give it as NAME); then every word is the command's
    #[arg(short = 'f', long = "filename", value_name = "NAME")]
    pub name: Option<String>,

    /// Pin name, as -f NAME gives it
    #[arg(value_name = "NAME")]
    pub name_arg: Option<String>,

    /// The types to enter; none named means every pinned type but a pid namespace no
    /// process has entered yet (its first entrant would become its PID 1)
    #[command(flatten)]
    pub types: TypeSelection,

    /// Leave the mounts as they are: no new /sys, no /etc/netns/NAME files
    #[arg(long = "no-netns-mounts")]
    pub no_netns_mounts: bool,

    /// The command and its arguments
    #[arg(
        value_name = "CMD",
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_hint = clap::ValueHint::CommandWithArguments
    )]
    pub command: Vec<OsString>,
}

// The arguments of `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Pin directory
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = "/run")]
    pub dir: PathBuf,

    /// Say what would be removed, and remove nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// Print JSON: what was removed and what was kept, and why
    #[arg(long)]
    pub json: bool,
}

// The arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, elvish, fish, powershell or zsh
    #[arg(value_enum, hide_possible_values = true)]
    pub shell: clap_complete::Shell,
}
