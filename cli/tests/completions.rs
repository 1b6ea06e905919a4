//! `pinns completions SHELL`: every script the built binary
//! prints is non-empty, offers every subcommand and the pin flags, and is
//! accepted by its shell; the scripts in `completions/` are those.
//!
//! Checked by the shells themselves: `bash -n`, `zsh -n`, `fish
//! --no-execute` and `elvish -compileonly`, and, for bash, zsh and fish,
//! by asking the loaded script to complete words: subcommands and flags,
//! and what clap cannot know, the pin names under the `-d` given (a real
//! pin, empty files, a name pinned as two types, the default `/run`) and
//! pids. bash completes through the function the script registers, fish
//! through `complete -C`, zsh in an interactive shell on a pseudo-terminal
//! (zsh/zpty), where a TAB runs the completion system. There is no
//! PowerShell in Debian, so the PowerShell script is checked for content
//! only. A missing shell is a failure naming its Debian package (`bash`,
//! `zsh`, `fish`, `elvish`), never a skip. Plain `cargo test` checks with
//! bash alone (every Debian machine has it); the other shells' checks need
//! their packages and are built only for the full suite (`cargo xtask
//! test`, feature `system-tests`).

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{PinDir, pinns_command};

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
    // One line, with the values it takes.
    let err = out.stderr_text();
    assert_eq!(
        err,
        "pinns: invalid value 'tcsh' for '<SHELL>' (possible values: bash, elvish, fish, \
         powershell, zsh; a similar value exists: 'zsh'); try 'pinns completions --help'\n"
    );
}

/// A pin directory to complete names from: a real pin (`live`, net), a
/// name pinned as two types (`both`: empty files in netns and ipcns, as a
/// crashed pin leaves them), a stale one (`stale`, utsns), and a file
/// outside the type directories (`other/nope`), which is no pin; and a
/// name in the default directory, `/run/netns/NAME`, unique to this run.
struct Scratch {
    dir: PinDir,
    /// The name under `/run/netns`, removed on drop.
    in_run: String,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = PinDir::named("complete");
        dir.must(&["pin", "live", "--net"]);
        for (ty, name) in [("net", "both"), ("ipc", "both"), ("uts", "stale")] {
            let path = dir.pin(ty, name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "").unwrap();
        }
        std::fs::create_dir_all(dir.sub("other")).unwrap();
        std::fs::write(dir.sub("other/nope"), "").unwrap();
        // Unique to this test: the tests of this file run at once.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let in_run = format!("pinns-complete-{}-{n}x", std::process::id());
        std::fs::create_dir_all("/run/netns").unwrap();
        std::fs::write(Path::new("/run/netns").join(&in_run), "").unwrap();
        Scratch { dir, in_run }
    }

    fn path(&self) -> &str {
        self.dir.path().to_str().expect("a UTF-8 temporary path")
    }

    /// The lines to complete (the word at the end, maybe empty) and what
    /// each must offer exactly (`Some`), or at least (the pids, `None`:
    /// this process's pid among them).
    fn cases(&self) -> Vec<(String, Option<Vec<String>>)> {
        let d = self.path();
        let names = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
        let all = names(&["both", "live", "stale"]);
        vec![
            (format!("pinns unpin -d {d} "), all.clone()),
            (format!("pinns unpin -d {d} s"), names(&["stale"])),
            (format!("pinns -d {d} -f "), all.clone()),
            (format!("pinns pin --dir {d} -f b"), names(&["both"])),
            (format!("pinns exec -d {d} "), all.clone()),
            (format!("pinns exec -d {d} --net -f l"), names(&["live"])),
            (format!("pinns list -d {d} "), all.clone()),
            (format!("pinns pin -d {d} "), all.clone()),
            (
                format!("pinns unpin {}", &self.in_run[..self.in_run.len() - 1]),
                names(&[&self.in_run]),
            ),
            ("pinns --from-pid ".to_string(), None),
            ("pinns list --pid ".to_string(), None),
        ]
    }

    /// Checks what `shell` offered for each of [`Scratch::cases`].
    fn check(&self, shell: &str, offered: &[Vec<String>]) {
        let me = std::process::id().to_string();
        for ((line, want), got) in self.cases().iter().zip(offered) {
            let mut got = got.clone();
            got.sort();
            got.dedup();
            match want {
                Some(want) => assert_eq!(&got, want, "{shell}: completing `{line}`"),
                None => assert!(
                    got.contains(&me)
                        && got.contains(&"1".to_string())
                        && got.iter().all(|p| p.parse::<u32>().is_ok()),
                    "{shell}: completing `{line}` should offer pids, {me} among them: {got:?}"
                ),
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(Path::new("/run/netns").join(&self.in_run));
    }
}

/// Sections `# N` of a probe's output, each a list of words.
fn sections(out: &str, n: usize) -> Vec<Vec<String>> {
    (0..n)
        .map(|i| {
            out.split(&format!("# {i}\n"))
                .nth(1)
                .unwrap_or("")
                .lines()
                .take_while(|l| !l.starts_with("# "))
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// Runs a bash probe with the script loaded: `reply WORDS...` prints what
/// the function the script registers for `pinns` offers for the last word.
fn bash_probe(path: &str, body: &str) -> String {
    let probe = format!(
        r#"source {path}
complete -p pinns >/dev/null || exit 3
fn=$(complete -p pinns | sed 's/.* -F \([^ ]*\) .*/\1/')
reply() {{
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}
    COMPREPLY=()
    "$fn" pinns "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
    printf '%s\n' "${{COMPREPLY[@]}}"
}}
{body}"#
    );
    stdout(&run_shell(
        "bash",
        "bash",
        &["--norc", "--noprofile", "-c", &probe],
    ))
}

#[test]
fn bash_script_parses_and_completes() {
    let (_dir, path) = write_temp("pinns.bash", &script("bash"));
    run_shell("bash", "bash", &["-n", &path]);

    let out = bash_probe(
        &path,
        "echo '# 0'; reply pinns un\n\
         echo '# 1'; reply pinns completions ''\n\
         echo '# 2'; reply pinns pin --uid",
    );
    let found = sections(&out, 3);
    assert_eq!(found[0], ["unpin"], "completing `pinns un`:\n{out}");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(
            found[1].iter().any(|w| w == shell),
            "completing `pinns completions ` does not offer {shell}:\n{out}"
        );
    }
    assert_eq!(
        found[2],
        ["--uid-mapping"],
        "completing `pinns pin --uid`:\n{out}"
    );
}

#[test]
fn bash_completes_pin_names_and_pids() {
    let scratch = Scratch::new();
    let (_dir, path) = write_temp("pinns.bash", &script("bash"));
    let cases = scratch.cases();
    let body: String = (cases.iter().enumerate())
        .map(|(i, (line, _))| {
            // bash splits the line into words; the last may be empty.
            let mut words: Vec<String> = line.split(' ').map(|w| format!("'{w}'")).collect();
            if line.ends_with(' ') {
                words.pop();
                words.push("''".into());
            }
            format!("echo '# {i}'; reply {}\n", words.join(" "))
        })
        .collect();
    let out = bash_probe(&path, &body);
    scratch.check("bash", &sections(&out, cases.len()));
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

/// What an interactive zsh, with the script in its `fpath`, offers on a
/// TAB after each of `lines`: every word the completion system adds
/// (`compadd`, which records them in a file). The shell runs on a
/// pseudo-terminal (zsh/zpty); each line ends in a key bound to a widget
/// that completes it, clears it and writes a marker, which the probe
/// waits for (up to a minute) before it types anything more.
#[cfg(feature = "system-tests")]
fn zsh_offers(lines: &[String]) -> Vec<Vec<String>> {
    let tmp = tempfile::tempdir().expect("making a temporary directory");
    let dir = tmp.path();
    let fpath = dir.join("fpath");
    std::fs::create_dir(&fpath).unwrap();
    std::fs::write(fpath.join("_pinns"), script("zsh")).unwrap();
    let hits = dir.join("hits");
    let rc = format!(
        r#"PS1='%% '
bindkey -e
fpath=({fpath} $fpath)
autoload -Uz compinit && compinit -u -D
compadd() {{
    local -a hits
    builtin compadd -O hits "$@"
    (( $#hits )) && print -rl -- $hits >> "$PINNS_HITS"
    builtin compadd "$@"
}}
# Completes the line, then clears it and says so: nothing is typed while
# the completion runs (zsh's completion gives up early when input is
# pending, which would make what is offered hang on the timing).
probe-complete() {{
    zle complete-word
    BUFFER=
    print done > "$PINNS_MARK"
}}
zle -N probe-complete
bindkey '^T' probe-complete
print ready > {dir}/ready
"#,
        fpath = fpath.display(),
        dir = dir.display()
    );
    std::fs::write(dir.join(".zshrc"), rc).unwrap();
    let mut probe = format!(
        r#"zmodload zsh/zpty || exit 3
wait_for() {{ local i; for i in {{1..600}}; do [[ -e $1 ]] && return 0; sleep 0.1; done; print -u2 "no $1"; exit 4 }}
export ZDOTDIR={dir} PINNS_HITS
zpty shell zsh -i
wait_for {dir}/ready
"#,
        dir = dir.display()
    );
    for (i, line) in lines.iter().enumerate() {
        let marker = dir.join(format!("done{i}"));
        let hits_i = format!("{}{i}", hits.display());
        probe.push_str(&format!(
            "zpty -w -n shell $'PINNS_HITS={hits_i} PINNS_MARK={marker}\\r'\n\
             zpty -w -n shell {line}$'\\x14'\n\
             wait_for {marker}\n",
            line = shell_quote(line),
            marker = marker.display()
        ));
    }
    probe.push_str("zpty -d shell\n");
    run_shell("zsh", "zsh", &["-f", "-c", &probe]);
    (0..lines.len())
        .map(|i| {
            std::fs::read_to_string(format!("{}{i}", hits.display()))
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[cfg(feature = "system-tests")]
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(feature = "system-tests")]
#[test]
fn zsh_completes_subcommands_flags_pin_names_and_pids() {
    let scratch = Scratch::new();
    let mut lines: Vec<String> = scratch.cases().into_iter().map(|(l, _)| l).collect();
    let fixed = ["pinns un", "pinns pin --uid", "pinns unpin -d /tmp pod --n"];
    lines.extend(fixed.iter().map(|l| l.to_string()));
    // The completion system may add a word more than once (a pass per
    // matching style): what counts is the set.
    let offered: Vec<Vec<String>> = (zsh_offers(&lines).into_iter())
        .map(|mut words| {
            words.sort();
            words.dedup();
            words
        })
        .collect();
    let n = scratch.cases().len();
    scratch.check("zsh", &offered[..n]);
    assert_eq!(offered[n], ["unpin"], "zsh: completing `pinns un`");
    assert_eq!(
        offered[n + 1],
        ["--uid-mapping"],
        "zsh: completing `pinns pin --uid`"
    );
    assert_eq!(
        offered[n + 2],
        ["--net"],
        "zsh: completing `pinns unpin -d /tmp pod --n`"
    );
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
        out.contains("# un\nunpin\tUnmount and remove the pins of NAME, or every pin under DIR\n"),
        "completing `pinns un`:\n{out}"
    );
    assert!(
        out.contains("# flags\n--uid-mapping\t"),
        "completing `pinns --uid`:\n{out}"
    );
}

#[cfg(feature = "system-tests")]
#[test]
fn fish_completes_pin_names_and_pids() {
    let scratch = Scratch::new();
    let (_dir, path) = write_temp("pinns.fish", &script("fish"));
    let cases = scratch.cases();
    let mut probe = format!("source {path}\n");
    for (i, (line, _)) in cases.iter().enumerate() {
        probe.push_str(&format!(
            "echo '# {i}'; complete -C {} | string replace -r '\\t.*' ''\n",
            shell_quote(line)
        ));
    }
    // (`string` answers 1 when it replaced nothing: not a failure here.)
    probe.push_str("true\n");
    let out = stdout(&run_shell("fish", "fish", &["--no-config", "-c", &probe]));
    scratch.check("fish", &sections(&out, cases.len()));
    // Past the NAME of unpin, no word is a file.
    let past = format!("pinns unpin -d {} live ", scratch.path());
    let out = stdout(&run_shell(
        "fish",
        "fish",
        &[
            "--no-config",
            "-c",
            &format!("source {path}; complete -C {}", shell_quote(&past)),
        ],
    ));
    assert_eq!(out, "", "fish: completing `{past}`");
}

/// The scripts in `completions/`, which the packages install, are what
/// `pinns completions` prints now. Refresh them with
/// `PINNS_UPDATE_COMPLETIONS=1 cargo test --test completions`.
#[test]
fn committed_scripts_are_up_to_date() {
    let dir = common::repo_root().join("completions");
    for (shell, file) in [
        ("bash", "pinns.bash"),
        ("zsh", "_pinns"),
        ("fish", "pinns.fish"),
    ] {
        let text = script(shell);
        let path = dir.join(file);
        if common::update_mode("PINNS_UPDATE_COMPLETIONS") {
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "completions/{file} is stale: run PINNS_UPDATE_COMPLETIONS=1 cargo test --test completions"
        );
    }
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
