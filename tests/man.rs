//! The man pages in `man/`: generated, committed, and checked.
//!
//! A page is clap_mangen's rendering of the clap definition in `src/cli/definition.rs`
//! (NAME, SYNOPSIS, DESCRIPTION, OPTIONS and, in pinns(8), the list of
//! subcommands) followed by its hand-written sections, kept in
//! `man/extra/<page>.roff` (EXIT STATUS, FILES, NOTES, EXAMPLES, SEE ALSO,
//! in that order: the order of man-pages(7)). Edit the help text in
//! `src/cli/definition.rs` or a fragment in `man/extra/`, never `man/*.8`, and refresh
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
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use pinns::cli::Cli;

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
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
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
        ".\\\" Generated from src/cli/definition.rs and man/extra/{name}.roff: do not edit.\n\
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
    let mut lines = Vec::new();
    for line in generated.lines() {
        if line == AQ[0] {
            if seen_aq {
                continue;
            }
            seen_aq = true;
        } else if line == AQ[1] && lines.last() != Some(&AQ[0]) {
            continue;
        }
        lines.push(line.trim_end());
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.replace(".br\n\n.br\n", ".sp\n")
        .replace("[=\\fI<host>\\fR]", "[=\\fBhost\\fR]")
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
        "{}\nThe man pages are generated from src/cli/definition.rs and man/extra/*.roff; \
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
        let out = std::process::Command::new(tool)
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
