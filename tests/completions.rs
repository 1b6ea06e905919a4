//! `pinns completions SHELL`: every script the built binary
//! prints is non-empty, offers every subcommand and the pin flags, and is
//! accepted by its shell.
//!
//! Checked by the shells themselves: `bash -n`, `zsh -n`, `fish
//! --no-execute` and `elvish -compileonly`, and, for bash and fish, by
//! asking the loaded script to complete a word. There is no PowerShell in
//! Debian, so the PowerShell script is checked for content only. A missing
//! shell is a failure naming its Debian package (`bash`, `zsh`, `fish`,
//! `elvish`), never a skip. Plain `cargo test` checks with bash alone (every
//! Debian machine has it); the other shells' checks need their packages and
//! are built only for the full suite (`cargo xtask test`, feature
//! `system-tests`).

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use common::pinns_command;

/// Every subcommand, which every script must offer.
const SUBCOMMANDS: [&str; 6] = ["pin", "unpin", "list", "exec", "prune", "completions"];

/// A few options, among them the CRI-O flags every script must know.
const OPTIONS: [&str; 5] = ["filename", "uid-mapping", "sysctl", "loopback", "from-pid"];

/// The script `pinns completions shell` prints.
fn script(shell: &str) -> String {
    script_as("pinns", shell)
}

/// The script pinns prints when started as `arg0`.
fn script_as(arg0: &str, shell: &str) -> String {
    let out = pinns_command()
        .arg0(arg0)
        .args(["completions", shell])
        .output()
        .unwrap_or_else(|e| panic!("running pinns completions {shell}: {e}"));
    assert!(
        out.status.success(),
        "pinns completions {shell}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "pinns completions {shell} wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("a completion script is UTF-8");
    assert!(
        !text.trim().is_empty(),
        "pinns completions {shell} printed nothing"
    );
    for word in SUBCOMMANDS.iter().chain(&OPTIONS) {
        assert!(
            text.contains(word),
            "the {shell} completion script never mentions `{word}`"
        );
    }
    text
}

/// Runs `shell` with `args`, failing with the package to install when the
/// shell is missing and with its output when it exits non-zero.
fn run_shell(shell: &str, package: &str, args: &[&str]) -> Output {
    let out = Command::new(shell)
        .args(args)
        .env("HOME", std::env::temp_dir())
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| panic!("running {shell}: {e}: install the Debian package `{package}`"));
    assert!(
        out.status.success(),
        "{shell} {args:?}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes `text` to `name` in a new temporary directory, which lives as long
/// as the returned guard.
fn write_temp(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("making a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("writing the script");
    let path = path.to_str().expect("a UTF-8 temporary path").to_owned();
    (dir, path)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = common::pinns(&["completions", "tcsh"]);
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    // clap's usage error: its first line, then the values it takes.
    let err = out.stderr_text();
    let mut lines = err.lines();
    assert_eq!(
        lines.next(),
        Some("error: invalid value 'tcsh' for '<SHELL>'"),
        "{err}"
    );
    assert_eq!(
        lines.next(),
        Some("  [possible values: bash, elvish, fish, powershell, zsh]"),
        "{err}"
    );
}

#[test]
fn bash_script_parses_and_completes() {
    let (_dir, path) = write_temp("pinns.bash", &script("bash"));
    run_shell("bash", "bash", &["-n", &path]);

    // Load it as bash-completion would and complete `pinns un` and
    // `pinns completions `: the function clap names `_pinns` fills COMPREPLY.
    let probe = format!(
        r#"source {path}
complete -p pinns >/dev/null || exit 3
reply() {{
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}
    COMPREPLY=()
    _pinns pinns "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
    printf '%s\n' "${{COMPREPLY[@]}}"
}}
echo '# un'; reply pinns un
echo '# shells'; reply pinns completions ''
echo '# pin flags'; reply pinns pin --uid"#
    );
    let out = stdout(&run_shell(
        "bash",
        "bash",
        &["--norc", "--noprofile", "-c", &probe],
    ));
    let section = |title: &str| -> Vec<String> {
        out.split(&format!("# {title}\n"))
            .nth(1)
            .unwrap_or("")
            .lines()
            .take_while(|l| !l.starts_with("# "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(section("un"), ["unpin"], "completing `pinns un`:\n{out}");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(
            section("shells").iter().any(|w| w == shell),
            "completing `pinns completions ` does not offer {shell}:\n{out}"
        );
    }
    assert_eq!(
        section("pin flags"),
        ["--uid-mapping"],
        "completing `pinns pin --uid`:\n{out}"
    );
}

#[cfg(feature = "system-tests")]
#[test]
fn zsh_script_parses() {
    let text = script("zsh");
    assert!(
        text.starts_with("#compdef pinns"),
        "a zsh completion file starts with `#compdef pinns`"
    );
    let (_dir, path) = write_temp("_pinns", &text);
    run_shell("zsh", "zsh", &["-n", &path]);
}

#[cfg(feature = "system-tests")]
#[test]
fn fish_script_parses_and_completes() {
    let (_dir, path) = write_temp("pinns.fish", &script("fish"));
    run_shell("fish", "fish", &["--no-execute", &path]);

    let probe = format!(
        "source {path}; echo '# un'; complete -C 'pinns un'; \
         echo '# flags'; complete -C 'pinns --uid'"
    );
    let out = stdout(&run_shell("fish", "fish", &["--no-config", "-c", &probe]));
    assert!(
        out.contains("# un\nunpin\tUnmount and remove the pins of NAME\n"),
        "completing `pinns un`:\n{out}"
    );
    assert!(
        out.contains("# flags\n--uid-mapping\t"),
        "completing `pinns --uid`:\n{out}"
    );
}

#[cfg(feature = "system-tests")]
#[test]
fn elvish_script_compiles() {
    // Outside an interactive session Elvish has no `edit:` module, so the
    // completer is assigned to a map of our own for the compile check.
    let text = script("elvish");
    let target = "edit:completion:arg-completer[pinns]";
    assert!(text.contains(target), "the elvish script sets {target}");
    let checkable = format!(
        "var arg-completer = [&]\n{}",
        text.replace("edit:completion:arg-completer", "arg-completer")
    );
    let (_dir, path) = write_temp("pinns.elv", &checkable);
    run_shell("elvish", "elvish", &["-norc", "-compileonly", &path]);
}

#[test]
fn powershell_script_registers_a_completer() {
    // No PowerShell to run it with here: check what it registers.
    let text = script("powershell");
    assert!(
        text.contains("Register-ArgumentCompleter") && text.contains("-CommandName 'pinns'"),
        "the PowerShell script registers no completer for pinns:\n{text}"
    );
}

#[test]
fn scripts_name_the_binary_pinns() {
    // Completions hang off the command's name, whatever name or path the
    // binary was started by (a package installs it as /usr/bin/pinns, a
    // developer runs target/debug/pinns or a copy).
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (renamed, named) = (script_as("/opt/other/pinns-renamed", shell), script(shell));
        let differs = renamed.lines().zip(named.lines()).find(|(a, b)| a != b);
        assert!(
            renamed == named,
            "the {shell} script depends on how the binary was started: {differs:?}"
        );
    }
    assert!(script("bash").contains("complete -F _pinns"));
    assert!(script("fish").contains("complete -c pinns"));
}
