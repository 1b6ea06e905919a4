//! The shell completion scripts `pinns completions SHELL` prints (and
//! `completions/` holds): clap_complete's, from the definition, and for
//! bash, zsh and fish, what clap cannot know: a pin name completes to
//! every NAME under the `-d` given on the line (`-f NAME` and the NAME
//! word), and a pid to the processes of `/proc` (`--from-pid`, `list
//! --pid`). The shell code for that is in `complete/pinns.{bash,zsh,fish}`,
//! with the definition's facts filled in: which options take a value in
//! the next word, which take a name or a pid, which subcommands take the
//! NAME word, the type directories.

use clap::{Arg, CommandFactory};
use clap_complete::Shell;

use super::definition::{Cli, DEFAULT_DIR};
use pinns::Kind;

const BASH: &str = include_str!("complete/pinns.bash");
const ZSH: &str = include_str!("complete/pinns.zsh");
const FISH: &str = include_str!("complete/pinns.fish");

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut cli = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cli, "pinns", &mut out);
    let generated = String::from_utf8_lossy(&out).into_owned();
    cli.build();
    let facts = Facts::of(&cli);
    match shell {
        Shell::Bash => bash(&generated, &facts),
        Shell::Zsh => zsh(&generated, &facts),
        Shell::Fish => fish(&generated, &facts),
        _ => generated,
    }
}

/// What the scripts need to know of the definition.
struct Facts {
    /// Each subcommand, with its arguments; "" for the CRI-O line.
    commands: Vec<(String, Vec<Arg>)>,
}

impl Facts {
    fn of(cli: &clap::Command) -> Facts {
        let mut commands = vec![(String::new(), cli.get_arguments().cloned().collect())];
        for sub in cli.get_subcommands() {
            commands.push((
                sub.get_name().to_string(),
                sub.get_arguments().cloned().collect(),
            ));
        }
        Facts { commands }
    }

    /// `SUB:-x` and `SUB:--long` for each option of `SUB` that `pick`s.
    fn options(&self, pick: impl Fn(&Arg) -> bool) -> Vec<String> {
        let mut out = Vec::new();
        for (sub, args) in &self.commands {
            for arg in args.iter().filter(|a| !a.is_positional() && pick(a)) {
                out.extend(arg.get_short().map(|c| format!("{sub}:-{c}")));
                out.extend(arg.get_long().map(|l| format!("{sub}:--{l}")));
            }
        }
        out
    }

    /// The options that take their value as the next word.
    fn takes_value(&self) -> Vec<String> {
        self.options(|a| {
            a.get_num_args().is_some_and(|n| n.min_values() > 0) && !a.is_require_equals_set()
        })
    }

    /// The options whose value is named `value` (`NAME`, `PID`).
    fn valued(&self, value: &str) -> Vec<String> {
        self.options(|a| value_is(a, value) && a.get_action().takes_values())
    }

    /// The subcommands that take a NAME word.
    fn name_word(&self) -> Vec<String> {
        (self.commands.iter())
            .filter(|(sub, args)| {
                !sub.is_empty()
                    && args
                        .iter()
                        .any(|a| a.is_positional() && value_is(a, "NAME"))
            })
            .map(|(sub, _)| sub.clone())
            .collect()
    }

    /// The subcommands whose one word is NAME.
    fn only_name_word(&self) -> Vec<String> {
        (self.commands.iter())
            .filter(|(sub, args)| {
                let mut words = args.iter().filter(|a| a.is_positional()).peekable();
                !sub.is_empty() && words.peek().is_some() && words.all(|a| value_is(a, "NAME"))
            })
            .map(|(sub, _)| sub.clone())
            .collect()
    }

    fn subcommands(&self) -> Vec<String> {
        (self.commands.iter())
            .filter(|(sub, _)| !sub.is_empty())
            .map(|(sub, _)| sub.clone())
            .collect()
    }
}

fn value_is(arg: &Arg, value: &str) -> bool {
    arg.get_value_names().is_some_and(|names| names == [value])
}

/// `{netns,ipcns,...}`: every type directory, as a brace expansion.
fn type_dirs() -> String {
    let dirs: Vec<&str> = Kind::ALL.iter().map(|k| k.dir()).collect();
    format!("{{{}}}", dirs.join(","))
}

/// `template` with the definition's facts filled in, alternatives joined
/// by `sep` (a `case` pattern's `|`, or fish's space).
fn fill(template: &str, facts: &Facts, sep: &str, quote: fn(&str) -> String) -> String {
    let join = |items: Vec<String>| items.iter().map(|i| quote(i)).collect::<Vec<_>>().join(sep);
    template
        .replace("@@TAKES_VALUE@@", &join(facts.takes_value()))
        .replace("@@NAME_OPTIONS@@", &join(facts.valued("NAME")))
        .replace("@@PID_OPTIONS@@", &join(facts.valued("PID")))
        .replace("@@NAME_WORD@@", &join(facts.name_word()))
        .replace("@@SUBCOMMANDS@@", &join(facts.subcommands()))
        .replace("@@TYPE_DIRS@@", &type_dirs())
        .replace("@@DEFAULT_DIR@@", DEFAULT_DIR)
}

fn quoted(word: &str) -> String {
    format!("'{word}'")
}

/// bash: the functions, and `_pinns_complete` registered in place of
/// clap's `_pinns`, which it calls for everything but names and pids.
fn bash(generated: &str, facts: &Facts) -> String {
    let generated = generated.replace("complete -F _pinns ", "complete -F _pinns_complete ");
    // The registration comes last: the functions go before it.
    let at = generated
        .rfind("\nif [[ \"${BASH_VERSINFO[0]}\"")
        .unwrap_or(generated.len());
    let (head, tail) = generated.split_at(at);
    format!("{head}{}{tail}", fill(BASH, facts, "|", quoted))
}

/// zsh: clap's `_arguments` specs of a name or a pid call the functions,
/// and the top level's options stop at the subcommand's name (`-A '-*'`):
/// else they would take the subcommand's words for their own (`pinns list
/// --pid ` would offer the pin flag's `host`, not pids), since the CRI-O
/// line gives the top level the options of `pin`.
fn zsh(generated: &str, facts: &Facts) -> String {
    let generated = generated.replacen(
        "_arguments \"${_arguments_options[@]}\" : \\",
        "_arguments \"${_arguments_options[@]}\" -A '-*' : \\",
        1,
    );
    let lines: Vec<&str> = generated.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        // An optional NAME word before exec's command words: zsh would
        // offer the command for both. The NAME word is what comes first.
        let line = match line.strip_prefix("'::name") {
            Some(rest) if lines.get(i + 1).is_some_and(|l| l.starts_with("'*::")) => {
                format!("':name{rest}")
            }
            _ => line.to_string(),
        };
        let line = if line.ends_with(":NAME:_default' \\")
            || line.starts_with("'::name")
            || line.starts_with("':name")
        {
            line.replace(":_default' \\", ":_pinns_names' \\")
        } else if line.ends_with(":PID:_default' \\") {
            line.replace(":_default' \\", ":_pinns_pids' \\")
        } else {
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    // The functions go before the last lines, which call `_pinns`.
    let at = out
        .rfind("\nif [ \"$funcstack[1]\" = \"_pinns\" ]")
        .unwrap_or(out.len());
    let (head, tail) = out.split_at(at);
    format!("{head}\n{}{tail}", fill(ZSH, facts, "|", |w| w.to_string()))
}

/// fish: the options of a name or a pid offer them (and no files), and the
/// subcommands with a NAME word offer names where it goes.
fn fish(generated: &str, facts: &Facts) -> String {
    let names = facts.valued("NAME");
    let pids = facts.valued("PID");
    // clap's test for "no subcommand yet" fails on a line ending in an
    // option whose value is being completed (`pinns -f `: argparse wants
    // the value): read the line again without that option.
    let generated = generated.replacen(
        "    argparse -s (__fish_pinns_global_optspecs) -- $cmd 2>/dev/null\n    or return\n",
        "    argparse -s (__fish_pinns_global_optspecs) -- $cmd 2>/dev/null\n    \
         or argparse -s (__fish_pinns_global_optspecs) -- $cmd[1..-2] 2>/dev/null\n    \
         or return\n",
        1,
    );
    let mut out = String::new();
    for line in generated.lines() {
        let key = fish_key(line);
        let line = match key {
            Some(key) if names.contains(&key) => {
                format!("{} -x -a '(__pinns_names)'", line.trim_end_matches(" -r"))
            }
            Some(key) if pids.contains(&key) => {
                format!("{} -x -a '(__pinns_pids)'", line.trim_end_matches(" -r"))
            }
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&fill(FISH, facts, " ", quoted));
    for sub in facts.name_word() {
        out.push_str(&format!(
            "complete -c pinns -n \"__fish_pinns_using_subcommand {sub}; and __pinns_wants_name\" -f -a '(__pinns_names)'\n"
        ));
    }
    // Where NAME is the only word, no word is a file.
    for sub in facts.only_name_word() {
        out.push_str(&format!(
            "complete -c pinns -n \"__fish_pinns_using_subcommand {sub}\" -f\n"
        ));
    }
    out
}

/// `SUB:--long` of a line of clap's fish script that completes an option
/// taking a value (`-r`), if it is one.
fn fish_key(line: &str) -> Option<String> {
    if !line.ends_with(" -r") {
        return None;
    }
    let rest = line.strip_prefix("complete -c pinns -n \"")?;
    let (condition, rest) = rest.split_once('"')?;
    let sub = match condition.strip_prefix("__fish_pinns_using_subcommand ") {
        Some(sub) => sub,
        None if condition == "__fish_pinns_needs_command" => "",
        None => return None,
    };
    let long = rest.split(" -l ").nth(1)?.split(' ').next()?;
    Some(format!("{sub}:--{long}"))
}
