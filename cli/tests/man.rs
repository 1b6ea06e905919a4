//! The man pages in `man/`: generated, committed, and checked.
//!
//! A page is clap_mangen's rendering of the clap definition in `cli/src/definition.rs`
//! (NAME, SYNOPSIS, DESCRIPTION, OPTIONS and, in pinns(8), the list of
//! subcommands) followed by its hand-written sections, kept in
//! `man/extra/<page>.roff` (EXIT STATUS, FILES, NOTES, EXAMPLES, SEE ALSO,
//! in that order: the order of man-pages(7)). Edit the help text in
//! `cli/src/definition.rs` or a fragment in `man/extra/`, never `man/*.8`, and refresh
//! the pages with
//!
//! ```text
//! PINNS_UPDATE_MAN=1 cargo test --test man
//! ```
//!
//! These tests then fail when a committed page differs from what the
//! current sources generate, when a page lacks a hand-written section, when
//! an example in a page is not a command line `pinns` accepts, and when
//! `mandoc -T lint -W warning` or `groff -ww -z -man` says anything at all
//! about a page (Debian packages `mandoc` and `groff-base`; a missing tool
//! is a failure, never a skip). The two linters' checks need those packages,
//! so they are built only for the full suite (`cargo xtask test`, feature
//! `system-tests`); plain `cargo test` runs the rest.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use clap::{CommandFactory, Parser};
use pinns_cli::Cli;

/// The manual section: pinns mounts and unshares, an administrator's tool.
const SECTION: &str = "8";

/// The date of the last non-trivial change to the pages (the `.TH` date).
/// A fixed date keeps the output reproducible: bump it with such a change.
const DATE: &str = "2026-12-01";

/// The hand-written sections every page has, in the order it has them.
const HAND_WRITTEN: [&str; 5] = ["EXIT STATUS", "FILES", "NOTES", "EXAMPLES", "SEE ALSO"];

/// How to bring the committed pages up to date.
const REFRESH: &str = "PINNS_UPDATE_MAN=1 cargo test --test man";

fn man_dir() -> PathBuf {
    common::repo_root().join("man")
}

fn extra_dir() -> PathBuf {
    man_dir().join("extra")
}

/// Every page, by file name (`pinns.8`, `pinns-pin.8`, ...), as the
/// current sources generate it.
fn generate() -> BTreeMap<String, String> {
    let mut root = Cli::command();
    // Sets each subcommand's display name (`pinns-pin`) and bin name
    // (`pinns pin`), which its page's title and synopsis use.
    root.build();
    let mut pages = BTreeMap::new();
    let subcommands: Vec<clap::Command> = root
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .cloned()
        .collect();
    for cmd in std::iter::once(root).chain(subcommands) {
        let (file, page) = render(cmd);
        pages.insert(file, page);
    }
    pages
}

/// One page: the generated sections, then `man/extra/<page>.roff`.
fn render(cmd: clap::Command) -> (String, String) {
    let has_subcommands = cmd.get_subcommands().any(|sub| !sub.is_hide_set());
    let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned();
    let man = clap_mangen::Man::new(cmd)
        .title(name.to_uppercase())
        .section(SECTION)
        .date(DATE)
        // A subcommand has no version of its own: say whose pages these are.
        .source(concat!("pinns ", env!("CARGO_PKG_VERSION")))
        .manual("System Manager's Manual");
    let fragment_path = extra_dir().join(format!("{name}.roff"));
    let fragment = fs::read_to_string(&fragment_path).unwrap_or_else(|e| {
        panic!(
            "reading the hand-written sections of {name}({SECTION}) from {}: {e}",
            fragment_path.display()
        )
    });

    let mut out: Vec<u8> = format!(
        ".\\\" Generated from cli/src/definition.rs and man/extra/{name}.roff: do not edit.\n\
         .\\\" To refresh: {REFRESH}\n"
    )
    .into_bytes();
    // Not `Man::render`: its EXTRA section (the `after_help` examples) and
    // VERSION section would duplicate EXAMPLES and the `.TH` line.
    (|| {
        man.render_title(&mut out)?;
        man.render_name_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        man.render_options_section(&mut out)?;
        if has_subcommands {
            man.render_subcommands_section(&mut out)?;
        }
        std::io::Result::Ok(())
    })()
    .expect("rendering into memory");
    let mut page = tidy(&String::from_utf8(out).expect("clap_mangen writes UTF-8"));
    page.push_str(&fragment);
    if !page.ends_with('\n') {
        page.push('\n');
    }
    (format!("{name}.{SECTION}"), page)
}

/// Fixes to clap_mangen 0.3's output, which mandoc would flag:
///
/// - every section it renders separately repeats the `.ie`/`.el` lines that
///   define the `Aq` string: keep the first pair;
/// - it sets off a list of possible values with `.br`, an empty line and
///   `.br` ("skipping paragraph macro: br before sp"): `.sp` is what is meant;
/// - the synopsis line ends in a space;
/// - an optional `=host` is set as a placeholder (`[=\fI<host>\fR]`):
///   it is the literal value, bold, as `--help` shows it.
fn tidy(generated: &str) -> String {
    const AQ: [&str; 2] = [".ie \\n(.g .ds Aq \\(aq", ".el .ds Aq '"];
    let mut seen_aq = false;
    let mut lines: Vec<String> = Vec::new();
    let mut in_synopsis = false;
    for line in generated.lines() {
        if line.starts_with(".SH ") {
            in_synopsis = line == ".SH SYNOPSIS";
        } else if in_synopsis && !line.starts_with('.') {
            lines.push(synopsis_fonts(line.trim_end()));
            continue;
        }
        if line == AQ[0] {
            if seen_aq {
                continue;
            }
            seen_aq = true;
        } else if line == AQ[1] && lines.last().map(String::as_str) != Some(AQ[0]) {
            continue;
        }
        lines.push(line.trim_end().to_string());
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.replace(".br\n\n.br\n", ".sp\n")
        .replace("[=\\fI<host>\\fR]", "[=\\fBhost\\fR]")
}

/// A synopsis line of clap_mangen's (`\\fBpinns unpin\\fR [\\-d DIR] NAME`)
/// with its options bold (`\\-d`, `\\-\\-all`) and its placeholders
/// italic (`DIR`, `NAME`, `KEY=VALUE`).
fn synopsis_fonts(line: &str) -> String {
    let (name, rest) = match line.split_once("\\fR") {
        Some((name, rest)) if name.starts_with("\\fB") => (format!("{name}\\fR"), rest),
        _ => (String::new(), line),
    };
    let chars: Vec<char> = rest.chars().collect();
    let mut out = name;
    let mut i = 0;
    let starts_word = |i: usize| i == 0 || " [|".contains(chars[i - 1]);
    while i < chars.len() {
        let at = &chars[i..];
        if starts_word(i) && at.starts_with(&['\\', '-']) {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_alphanumeric() || chars[j] == '-' || chars[j] == '\\')
            {
                j += 1;
            }
            out.push_str(&format!(
                "\\fB{}\\fR",
                chars[i..j].iter().collect::<String>()
            ));
            i = j;
        } else if starts_word(i) && chars[i].is_ascii_uppercase() {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_uppercase() || chars[j] == '=' || chars[j] == '_')
            {
                j += 1;
            }
            out.push_str(&format!(
                "\\fI{}\\fR",
                chars[i..j].iter().collect::<String>()
            ));
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The committed pages, by file name.
fn committed() -> BTreeMap<String, String> {
    let mut pages = BTreeMap::new();
    let Ok(entries) = fs::read_dir(man_dir()) else {
        return pages;
    };
    for entry in entries {
        let path = entry.expect("listing man/").path();
        if path.extension().is_some_and(|ext| ext == SECTION) {
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            pages.insert(file, text);
        }
    }
    pages
}

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn committed_pages_are_up_to_date() {
    let generated = generate();
    let committed = committed();

    if common::update_mode("PINNS_UPDATE_MAN") {
        fs::create_dir_all(man_dir()).expect("creating man/");
        for (file, page) in &generated {
            if committed.get(file) != Some(page) {
                fs::write(man_dir().join(file), page)
                    .unwrap_or_else(|e| panic!("writing man/{file}: {e}"));
                eprintln!("wrote man/{file}");
            }
        }
        for file in committed.keys().filter(|f| !generated.contains_key(*f)) {
            fs::remove_file(man_dir().join(file))
                .unwrap_or_else(|e| panic!("removing man/{file}: {e}"));
            eprintln!("removed man/{file}: no such subcommand");
        }
        return;
    }

    let mut problems = Vec::new();
    for (file, page) in &generated {
        match committed.get(file) {
            None => problems.push(format!("man/{file} is missing")),
            Some(text) if text != page => {
                let line = text
                    .lines()
                    .zip(page.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| text.lines().count().min(page.lines().count()))
                    + 1;
                problems.push(format!("man/{file} is out of date (from line {line})"));
            }
            Some(_) => {}
        }
    }
    for file in committed.keys().filter(|f| !generated.contains_key(*f)) {
        problems.push(format!("man/{file} documents no subcommand"));
    }
    assert!(
        problems.is_empty(),
        "{}\nThe man pages are generated from cli/src/definition.rs and man/extra/*.roff; \
         refresh them with:\n\n    {REFRESH}\n",
        problems.join("\n")
    );
}

#[test]
fn every_fragment_belongs_to_a_page() {
    let generated = generate();
    for entry in fs::read_dir(extra_dir()).expect("listing man/extra/") {
        let path = entry.expect("listing man/extra/").path();
        if path.extension().is_some_and(|ext| ext == "roff") {
            let stem = path.file_stem().unwrap().to_string_lossy();
            assert!(
                generated.contains_key(&format!("{stem}.{SECTION}")),
                "{} is the fragment of no page: pages are {:?}",
                path.display(),
                generated.keys().collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn every_page_has_the_hand_written_sections_in_order() {
    for (file, page) in generate() {
        let headings: Vec<String> = page
            .lines()
            .filter_map(|line| line.strip_prefix(".SH "))
            .map(|h| h.trim().trim_matches('"').to_owned())
            .collect();
        let positions: Vec<Option<usize>> = HAND_WRITTEN
            .iter()
            .map(|want| headings.iter().position(|h| h == want))
            .collect();
        for (want, at) in HAND_WRITTEN.iter().zip(&positions) {
            assert!(
                at.is_some(),
                "{file} has no {want} section: it has {headings:?}"
            );
        }
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "{file}: the hand-written sections should come in the order {HAND_WRITTEN:?}, \
             not {headings:?}"
        );
    }
}

/// What the SEE ALSO section of every page refers to, at least.
const SEE_ALSO: [&str; 5] = [
    "unshare (1)",
    "nsenter (1)",
    "ip\\-netns (8)",
    "crio (8)",
    "namespaces (7)",
];

#[test]
fn every_page_refers_to_the_related_tools() {
    for (file, page) in generate() {
        let see_also = page
            .split_once(".SH \"SEE ALSO\"")
            .unwrap_or_else(|| panic!("{file} has no SEE ALSO section"))
            .1;
        for want in SEE_ALSO {
            assert!(
                see_also.contains(&format!(".BR {want}")),
                "{file}: SEE ALSO should cite {}",
                want.replace("\\-", "-").replace(' ', "")
            );
        }
    }
}

/// The text lines of a page's example blocks (`.EX` ... `.EE`), unescaped,
/// with a line ending in `\` joined to the next as a shell would.
fn example_lines(page: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut inside = false;
    let mut continued = false;
    for line in page.lines() {
        match line.trim_end() {
            ".EX" => inside = true,
            ".EE" => inside = false,
            text if inside && !text.starts_with('.') => {
                let text = text
                    .replace("\\-", "-")
                    .replace("\\(aq", "'")
                    .replace("\\e", "\\");
                let (text, next_continues) = match text.strip_suffix('\\') {
                    Some(head) => (head.to_owned(), true),
                    None => (text, false),
                };
                match lines.last_mut() {
                    Some(last) if continued => last.push_str(&text),
                    _ => lines.push(text),
                }
                continued = next_continues;
            }
            _ => {}
        }
    }
    lines
}

/// A command line's words up to the first shell operator, with 'single
/// quotes' removed: enough for the examples, which use nothing else.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            c if quoted => word.get_or_insert_with(String::new).push(c),
            ' ' | '\t' => words.extend(word.take()),
            '|' | ';' | '&' | '>' | '<' => break,
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[test]
fn every_example_command_line_parses() {
    let mut checked = 0;
    for (file, page) in generate() {
        for line in example_lines(&page) {
            // The examples show root's prompt `# ` and a user's `$ `.
            let line = line.trim_start();
            let command = line
                .strip_prefix("# ")
                .or_else(|| line.strip_prefix("$ "))
                .unwrap_or(line);
            if !command.starts_with("pinns ") {
                continue;
            }
            let argv = words(command);
            if let Err(e) = Cli::try_parse_from(&argv) {
                panic!("{file}: the example `{command}` does not parse ({argv:?}):\n{e}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} example command lines found");
}

/// Runs `tool` with `args` and then the page's path, and fails on any
/// diagnostic, naming the Debian package that provides a missing tool.
#[cfg(feature = "system-tests")]
fn lint(tool: &str, package: &str, args: &[&str]) {
    let dir = tempfile::tempdir().expect("making a temporary directory");
    let mut failures = Vec::new();
    for (file, page) in generate() {
        let path = dir.path().join(&file);
        fs::write(&path, &page).expect("writing a page to the temporary directory");
        let out = Command::new(tool)
            .args(args)
            .arg(&path)
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap_or_else(|e| {
                panic!("running {tool}: {e} (install the Debian package `{package}`)")
            });
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() || !said.trim().is_empty() {
            failures.push(format!("{file} ({}):\n{said}", out.status));
        }
    }
    assert!(
        failures.is_empty(),
        "`{tool} {}` complains:\n{}",
        args.join(" "),
        failures.join("\n")
    );
}

#[cfg(feature = "system-tests")]
#[test]
fn pages_pass_mandoc_lint() {
    lint("mandoc", "mandoc", &["-T", "lint", "-W", "warning"]);
}

#[cfg(feature = "system-tests")]
#[test]
fn pages_pass_groff_warnings() {
    lint("groff", "groff-base", &["-ww", "-z", "-man"]);
}

// ---------------------------------------------------------------------------
// The usage lines, which are each command's `-h` Usage and its page's
// SYNOPSIS.

/// Every command (`pinns` and each subcommand) with its usage lines.
fn usages() -> Vec<(String, clap::Command)> {
    let mut root = Cli::command();
    root.build();
    let mut all = vec![("pinns".to_string(), root.clone())];
    for sub in root.get_subcommands() {
        all.push((format!("pinns {}", sub.get_name()), sub.clone()));
    }
    all
}

/// A usage word without the brackets, bars and dots around it.
fn bare(word: &str) -> &str {
    word.trim_matches(|c| "[]|".contains(c))
        .trim_end_matches("...")
}

#[test]
fn usage_lines_name_the_definitions_options_with_their_values() {
    for (name, cmd) in usages() {
        let usage = cmd
            .get_overridden_usage()
            .unwrap_or_else(|| panic!("`{name}` has no usage lines of its own"))
            .to_string();
        for line in usage.lines().map(str::trim) {
            assert!(
                line.starts_with(&format!("{name} ")),
                "`{name}`: a usage line of another command: {line}"
            );
            let words: Vec<&str> = line.split(' ').map(bare).collect();
            for (i, word) in words.iter().enumerate() {
                if !word.starts_with('-') || *word == "--" {
                    continue;
                }
                let arg = cmd
                    .get_arguments()
                    .find(|a| match word.strip_prefix("--") {
                        Some(long) => a.get_long() == Some(long),
                        None => a.get_short().map(|c| format!("-{c}")).as_deref() == Some(word),
                    })
                    .unwrap_or_else(|| panic!("`{name}` has no option {word}: {line}"));
                let separate = arg.get_action().takes_values() && !arg.is_require_equals_set();
                if separate {
                    let value = arg.get_value_names().unwrap()[0].as_str();
                    assert_eq!(
                        words.get(i + 1).copied(),
                        Some(value),
                        "`{name}`: {word} without its value {value}: {line}"
                    );
                }
            }
        }
        // A command that takes a name shows it, as a word where it may be one.
        let takes_word = cmd
            .get_positionals()
            .any(|a| a.get_value_names().is_some_and(|v| v == ["NAME"]));
        if takes_word {
            assert!(
                usage
                    .lines()
                    .any(|l| l.split(' ').map(bare).any(|w| w == "NAME") && !l.contains("-f NAME")),
                "`{name}` takes NAME as a word, but no usage line shows it:\n{usage}"
            );
        }
    }
}

#[test]
fn help_and_synopsis_show_the_usage_lines_with_their_arguments() {
    let pages = generate();
    for (name, mut cmd) in usages() {
        let usage = cmd.get_overridden_usage().unwrap().to_string();
        let help = cmd.render_help().to_string();
        assert!(
            help.contains(&format!("Usage: {usage}")),
            "`{name} -h` does not show its usage lines:\n{help}"
        );
        let file = format!("{}.{SECTION}", name.replace(' ', "-"));
        let synopsis = pages[&file]
            .split_once(".SH SYNOPSIS\n")
            .and_then(|(_, rest)| rest.split_once("\n.SH "))
            .map(|(synopsis, _)| synopsis.to_string())
            .unwrap_or_else(|| panic!("{file} has no SYNOPSIS"));
        assert_eq!(
            synopsis.lines().filter(|l| *l != ".br").count(),
            usage.lines().count(),
            "{file}: a SYNOPSIS line per usage line:\n{synopsis}"
        );
        if cmd.get_arguments().any(|a| a.get_short() == Some('d')) {
            assert!(
                synopsis.contains("\\fB\\-d\\fR \\fIDIR\\fR"),
                "{file}: the SYNOPSIS drops -d's DIR:\n{synopsis}"
            );
        }
    }
    let pin = pages["pinns-pin.8"].clone();
    assert!(pin.contains("\\fBpinns pin\\fR [\\fB\\-d\\fR \\fIDIR\\fR] \\fINAME\\fR"));
}

// ---------------------------------------------------------------------------
// The documentation around the pages: the README and docs/, which say the
// same as the pages and the definition.

fn repo_file(path: &str) -> String {
    let full = common::repo_root().join(path);
    fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The documents a user reads: the README, the contract, the pages' own
/// README.
const DOCUMENTS: [&str; 3] = ["README.md", "docs/CLI.md", "man/README.md"];

#[test]
fn every_link_stays_in_the_repository() {
    let root = fs::canonicalize(common::repo_root()).unwrap();
    for doc in DOCUMENTS {
        let text = repo_file(doc);
        assert!(
            !text.contains("shared/CLI-SPEC"),
            "{doc} points outside the repository"
        );
        let base = root.join(doc).parent().unwrap().to_path_buf();
        for target in text
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split_once(')'))
        {
            let target = target.0;
            let path = target.split('#').next().unwrap();
            if path.is_empty() {
                continue;
            }
            assert!(
                !path.contains("://") && !path.starts_with('/'),
                "{doc}: a link outside the repository: {target}"
            );
            let full = fs::canonicalize(base.join(path))
                .unwrap_or_else(|e| panic!("{doc}: a link to nothing, {target}: {e}"));
            assert!(
                full.starts_with(&root),
                "{doc}: a link outside the repository: {target}"
            );
        }
    }
    let readme = repo_file("README.md");
    assert!(
        readme.contains("](docs/CLI.md)"),
        "the README links no contract"
    );
    assert!(readme.contains("](LICENSE)"), "the README names no licence");
}

#[test]
fn the_contract_in_the_repository_covers_the_definition() {
    let contract = repo_file("docs/CLI.md");
    for (name, cmd) in usages() {
        if name != "pinns" {
            assert!(
                contract.contains(&format!("{name} ")),
                "docs/CLI.md never shows `{name}`"
            );
        }
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long().filter(|l| !["help", "version"].contains(l)) {
                assert!(
                    contract.contains(&format!("--{long}")),
                    "docs/CLI.md does not document `{name} --{long}`"
                );
            }
        }
    }
}

/// Whether `text` (markdown or roff) shows the cleanup of a directory of
/// pins: `pinns unpin --all -d DIR`, then `rm -r`.
fn shows_the_cleanup(text: &str) -> bool {
    let text = text.replace("\\-", "-");
    let at = text
        .find("unpin --all -d ")
        .or_else(|| text.find("unpin -d DIR --all"));
    at.is_some_and(|at| text[at..].contains("rm -r"))
}

#[test]
fn one_cleanup_advice_everywhere() {
    let pages = generate();
    let mut texts: Vec<(String, String)> = DOCUMENTS
        .iter()
        .map(|doc| (doc.to_string(), repo_file(doc)))
        .collect();
    texts.extend(
        pages
            .iter()
            .map(|(file, page)| (format!("man/{file}"), page.clone())),
    );
    for (file, text) in &texts {
        let plain = text.replace("\\-", "-");
        for wrong in ["umount -l DIR", "umount -l", "mountpoint -q", "&& rm -r"] {
            assert!(!plain.contains(wrong), "{file} still advises `{wrong}`");
        }
    }
    for file in [
        "README.md",
        "docs/CLI.md",
        "man/pinns.8",
        "man/pinns-unpin.8",
    ] {
        let (_, text) = texts.iter().find(|(f, _)| f == file).unwrap();
        assert!(
            shows_the_cleanup(text),
            "{file} does not advise `pinns unpin --all -d DIR`, then `rm -r DIR`"
        );
    }
}

#[test]
fn exec_says_what_it_enters_by_default() {
    let mut cli = Cli::command();
    cli.build();
    let help = cli
        .find_subcommand_mut("exec")
        .unwrap()
        .render_long_help()
        .to_string();
    // The words, whatever the line breaks and emphasis between them.
    let words = |text: &str| {
        let text = text.replace("\\-", "-").replace("**", "");
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    for (what, text) in [
        ("pinns exec --help", words(&help)),
        ("pinns-exec(8)", words(&generate()["pinns-exec.8"])),
        ("docs/CLI.md", words(&repo_file("docs/CLI.md"))),
        ("README.md", words(&repo_file("README.md"))),
    ] {
        assert!(
            text.contains("no process has entered yet"),
            "{what} does not say that a pid namespace nobody entered is skipped"
        );
        assert!(
            text.contains("--pid"),
            "{what} does not say that --pid enters it"
        );
    }
}

/// The README's install steps from a clone, run into a bare prefix: each
/// makes the directories it needs, as on a stock system where
/// `/usr/local/share/man/man8` does not exist.
#[test]
fn the_readme_install_steps_work_on_a_bare_prefix() {
    let readme = repo_file("README.md");
    let section = readme
        .split_once("### From a clone, without packaging")
        .expect("the README has no install from a clone")
        .1;
    let block = section
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("no install block")
        .0;
    let steps: Vec<&str> = block
        .lines()
        .filter(|l| l.starts_with("install "))
        .collect();
    assert!(steps.len() >= 5, "{block}");
    let prefix = tempfile::tempdir().unwrap();
    let usr_local = prefix.path().join("usr/local");
    for step in &steps {
        let step = step
            .replace(
                "target/x86_64-unknown-linux-gnu/release/pinns",
                common::PINNS,
            )
            .replace("/usr/local", usr_local.to_str().unwrap());
        let out = Command::new("sh")
            .args(["-c", &step])
            .current_dir(common::repo_root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{step}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for file in [
        "bin/pinns",
        "share/man/man8/pinns.8",
        "share/man/man8/pinns-exec.8",
        "share/bash-completion/completions/pinns",
        "share/zsh/site-functions/_pinns",
        "share/fish/vendor_completions.d/pinns.fish",
    ] {
        assert!(usr_local.join(file).is_file(), "{file} was not installed");
    }
    assert!(
        !readme.contains("cargo install pinns`") || readme.contains("not published"),
        "the README offers `cargo install pinns`, which finds nothing"
    );
}

/// The README's first demo, run as written (as root, the built binary for
/// `target/release/pinns`, a directory on a private mount for
/// `/tmp/pinns-demo`: where `pinns pin` makes the type directories
/// self-binds, as on a host whose `/` is not shared) ends clean: its last
/// line, `rm -r`, succeeds, and nothing is left mounted.
#[test]
fn the_readme_demo_ends_clean() {
    let readme = repo_file("README.md");
    let block = readme
        .split_once("## Two commands")
        .and_then(|(_, rest)| rest.split_once("```sh\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the README has no demo")
        .0;
    let scratch = common::PinDir::named("demo");
    let root = scratch.mount_as(common::Host::Private);
    let demo = root.join("pinns-demo");
    let lines: Vec<String> = block
        .lines()
        .filter(|l| !l.starts_with("cargo "))
        .map(|l| {
            l.replace("target/release/pinns", common::PINNS)
                .replace("/tmp/pinns-demo", demo.to_str().unwrap())
        })
        .collect();
    assert!(
        lines.last().is_some_and(|l| l.starts_with("rm -r ")),
        "the demo does not end with rm -r:\n{block}"
    );
    for line in &lines {
        let out = Command::new("sh").args(["-c", line]).output().unwrap();
        assert!(
            out.status.success(),
            "`{line}`: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!demo.exists());
    let left: Vec<_> = common::mounts_under(&root)
        .into_iter()
        .filter(|m| m.mount_point != root)
        .map(|m| m.mount_point)
        .collect();
    assert!(left.is_empty(), "left mounted: {left:?}");
}
