//! How the table (`super::table`) records an argument of the clap
//! definition: the part of clap's model the scan (`super::scan`) reads.

/// One argument of a command, as the table records it.
#[derive(Debug)]
pub struct Spec {
    /// clap's id: the field's name.
    pub id: &'static str,
    /// `-x`.
    pub short: Option<char>,
    /// `--name`.
    pub long: Option<&'static str>,
    /// What the argument takes.
    pub takes: Takes,
    /// Whether clap refuses a line without it.
    pub required: bool,
    /// clap's `default_value`, used when the argument is absent.
    pub default: Option<&'static str>,
}

/// How an argument takes values, as far as the scan models it.
#[derive(Debug)]
pub enum Takes {
    /// A flag (`ArgAction::SetTrue`): no value.
    Flag,
    /// Exactly one value (`ArgAction::Set`).
    Value,
    /// One value per occurrence, repeatable (`ArgAction::Append`).
    Append,
    /// `--x` alone, or `--x=V` with V one of these (`num_args = 0..=1`,
    /// `require_equals`).
    OptionalEquals(&'static [&'static str]),
    /// Anything the scan does not model (help, version, positionals,
    /// conflicts, environment variables…): a line that uses it is clap's.
    /// When `required` is also set, every line of the command is clap's.
    Unmodelled,
}
