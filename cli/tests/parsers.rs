//! Property tests of the parsers that face user input: id maps,
//! sysctl keys, pin names, and the command line as a whole (a name given
//! as a word or with -f).
//!
//! For each: no input panics; whatever is accepted is well-formed (an id
//! map round-trips through its display form, a sysctl key never yields a
//! path that could leave `/proc/sys`, a name is exactly one path
//! component). Pure functions: no root, no system calls.

use std::path::{Component, Path};

use pinns::{IdMap, Kind, Sysctl, check_name};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Id maps.

/// Strings made of the characters an id map is written in, plus a few
/// that must be refused.
fn idmap_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9@-]{0,40}",
        "[0-9@ +a\\-]{0,24}",
        // Near-valid: numbers that may overflow, separators doubled.
        "(([0-9]{1,11})-([0-9]{1,11})-([0-9]{1,11})@{0,2}){1,4}",
        any::<String>(),
    ]
}

/// A valid map: up to 12 ranges, disjoint on both sides, the host side
/// laid out in another order than the container side.
fn valid_ranges() -> impl Strategy<Value = Vec<(u32, u32, u32)>> {
    prop::collection::vec((0u32..100_000, 0u32..100_000, 1u32..70_000), 1..12).prop_perturb(
        |steps, mut rng| {
            let n = steps.len();
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                order.swap(i, (rng.next_u32() as usize) % (i + 1));
            }
            let mut hosts = vec![0u32; n];
            let mut h = 0u64;
            for &i in &order {
                h += u64::from(steps[i].1);
                hosts[i] = h as u32;
                h += u64::from(steps[i].2);
            }
            let mut c = 0u64;
            steps
                .iter()
                .zip(hosts)
                .map(|(&(gap, _, size), host)| {
                    c += u64::from(gap);
                    let start = c as u32;
                    c += u64::from(size);
                    (start, host, size)
                })
                .collect()
        },
    )
}

fn render(ranges: &[(u32, u32, u32)]) -> String {
    ranges
        .iter()
        .map(|(c, h, s)| format!("{c}-{h}-{s}"))
        .collect::<Vec<_>>()
        .join("@")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn idmap_never_panics_and_accepted_maps_round_trip(text in idmap_like()) {
        if let Ok(map) = text.parse::<IdMap>() {
            let shown = map.to_string();
            prop_assert_eq!(shown.parse::<IdMap>().ok(), Some(map.clone()), "{}", shown);
            prop_assert!(!map.ranges().is_empty());
            let kernel = map.to_kernel();
            prop_assert_eq!(kernel.lines().count(), map.ranges().len());
            for (i, a) in map.ranges().iter().enumerate() {
                prop_assert!(a.size >= 1);
                // Ids are 32 bits and (u32)-1 is never valid.
                prop_assert!(u64::from(a.container) + u64::from(a.size) <= u64::from(u32::MAX));
                prop_assert!(u64::from(a.host) + u64::from(a.size) <= u64::from(u32::MAX));
                prop_assert_eq!(map.to_host(a.container), Some(a.host));
                for b in &map.ranges()[i + 1..] {
                    let apart = |x: u32, y: u32| {
                        u64::from(x) + u64::from(a.size) <= u64::from(y)
                            || u64::from(y) + u64::from(b.size) <= u64::from(x)
                    };
                    prop_assert!(apart(a.container, b.container), "{}", text);
                    prop_assert!(apart(a.host, b.host), "{}", text);
                }
            }
        }
    }

    #[test]
    fn valid_idmaps_are_accepted_exactly(ranges in valid_ranges()) {
        let text = render(&ranges);
        let map: IdMap = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(map.to_string(), text.clone());
        // CRI-O's trailing '@' means the same map.
        prop_assert_eq!(format!("{text}@").parse::<IdMap>().ok(), Some(map.clone()));
        let got: Vec<(u32, u32, u32)> =
            map.ranges().iter().map(|r| (r.container, r.host, r.size)).collect();
        prop_assert_eq!(&got, &ranges);
        for &(c, h, s) in &ranges {
            prop_assert_eq!(map.to_host(c + s - 1), Some(h + s - 1));
        }
        // Any two ranges made to overlap are refused.
        if ranges.len() >= 2 {
            let mut bad = ranges.clone();
            bad[1].0 = bad[0].0;
            prop_assert!(render(&bad).parse::<IdMap>().is_err());
        }
    }
}

// ---------------------------------------------------------------------------
// Sysctls.

fn sysctl_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9./=_ \\-]{0,30}",
        "(net|kernel|fs|vm|/|\\.\\.|\\.)[./]{1,2}[a-z0-9./_]{0,20}=[ -~]{0,10}",
        "(net\\.ipv4\\.conf\\.|net/ipv4/conf/|fs\\.mqueue\\.|kernel\\.)[a-z0-9./_]{0,20}=[ -~]{0,10}",
        "[\\PC]{0,20}=[\\PC]{0,10}",
        any::<String>(),
    ]
}

fn owner_of_path(path: &str) -> Option<Kind> {
    if path.starts_with("net/") {
        Some(Kind::Net)
    } else if path == "kernel/hostname" || path == "kernel/domainname" {
        Some(Kind::Uts)
    } else if path.starts_with("fs/mqueue/")
        || path.starts_with("kernel/shm")
        || path.starts_with("kernel/msg")
        || path.starts_with("kernel/sem")
    {
        Some(Kind::Ipc)
    } else {
        None
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sysctl_never_panics_and_accepted_keys_stay_beneath_proc_sys(text in sysctl_like()) {
        if let Ok(s) = text.parse::<Sysctl>() {
            let path = s.path();
            prop_assert!(!path.starts_with('/'), "{:?} -> {:?}", text, path);
            prop_assert!(!path.contains('\0'));
            let components: Vec<&str> = path.split('/').collect();
            prop_assert!(components.len() >= 2, "{:?} -> {:?}", text, path);
            for c in &components {
                prop_assert!(!c.is_empty() && *c != "." && *c != "..", "{:?} -> {:?}", text, path);
            }
            // The same, as the kernel's path walk would see it.
            for c in Path::new(path).components() {
                prop_assert!(matches!(c, Component::Normal(_)), "{:?} -> {:?}", text, path);
            }
            prop_assert_eq!(Some(s.owner()), owner_of_path(path), "{:?}", path);
            prop_assert!(!s.key().is_empty() && s.key() == s.key().trim());
            prop_assert!(!s.value().is_empty() && s.value() == s.value().trim());
            prop_assert!(!s.key().contains('='));
            // Display is KEY=VALUE, and parses back to the same sysctl.
            let shown = s.to_string();
            prop_assert_eq!(shown.parse::<Sysctl>().ok(), Some(s.clone()), "{}", shown);
        }
    }

    #[test]
    fn both_sysctl_notations_name_the_same_file(
        top in "(net|kernel\\.shm|fs\\.mqueue)",
        parts in prop::collection::vec("[a-z0-9_]{1,8}", 1..5),
        value in "[!-~]([ -~]{0,8}[!-~])?",
    ) {
        let top_path = top.replace('.', "/");
        let dotted = format!("{top}.{}={value}", parts.join("."));
        let slashed = format!("{top_path}/{}={value}", parts.join("/"));
        let (a, b) = (dotted.parse::<Sysctl>(), slashed.parse::<Sysctl>());
        match (&a, &b) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.path(), b.path());
                prop_assert_eq!(a.value(), value.as_str());
            }
            // kernel.shm alone followed by a part is kernel/shm/...: owned
            // by ipc all the same; anything refused is refused in both.
            _ => prop_assert_eq!(a.is_ok(), b.is_ok(), "{} vs {}", dotted, slashed),
        }
        // A dot inside a component: '/' in the dotted form, '.' in the other.
        let dotted = format!("net.ipv4.conf.{}/100.forwarding=1", parts[0]);
        let slashed = format!("net/ipv4/conf/{}.100/forwarding=1", parts[0]);
        prop_assert_eq!(
            dotted.parse::<Sysctl>().map(|s| s.path().to_string()).ok(),
            slashed.parse::<Sysctl>().map(|s| s.path().to_string()).ok()
        );
    }

    #[test]
    fn sysctl_keys_with_climbing_components_are_refused(
        before in prop::collection::vec("[a-z0-9_]{1,6}", 0..3),
        after in prop::collection::vec("[a-z0-9_]{1,6}", 0..3),
        bad in "(\\.\\.|\\.|)",
        slashed in any::<bool>(),
    ) {
        let mut parts: Vec<String> = vec!["net".into()];
        parts.extend(before);
        parts.push(bad);
        parts.extend(after);
        let key = if slashed { parts.join("/") } else { parts.join(".") };
        let text = format!("{key}=1");
        // Slashed: '..', '.' or '' is a component. Dotted: any of them
        // makes an empty component between dots.
        prop_assert!(text.parse::<Sysctl>().is_err(), "{} was accepted", text);
        let absolute = format!("/{key}=1");
        prop_assert!(absolute.parse::<Sysctl>().is_err(), "{} was accepted", absolute);
    }
}

// ---------------------------------------------------------------------------
// Names.

fn name_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z./\\-]{0,6}",
        "[a-z\n\t\u{7f}\u{85}]{1,6}",
        "[\\PC]{0,20}",
        "[a-z]{250,260}",
        "[a-z\u{e9}]{120,130}",
        any::<String>(),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("a\0b".to_string()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn check_name_accepts_exactly_one_path_component(name in name_like()) {
        let expected = !name.is_empty()
            && name != "."
            && name != ".."
            && !name.contains('/')
            && !name.chars().any(char::is_control)
            && name.len() <= 255;
        let got = check_name(&name);
        prop_assert_eq!(got.is_ok(), expected, "{:?}: {:?}", name, got.err().map(|e| e.to_string()));
        if let Err(e) = got {
            prop_assert!(e.is_invalid());
            prop_assert!(!e.to_string().contains('\n'), "a one-line message");
        } else {
            let comps: Vec<Component<'_>> = Path::new(&name).components().collect();
            prop_assert_eq!(comps, vec![Component::Normal(name.as_ref())]);
        }
    }
}

// ---------------------------------------------------------------------------
// The command line: a name given as a word or with -f.

/// `args` as the binary parses them, `Debug` text or the error's kind.
fn parse_line(args: &[&str]) -> Result<String, clap::error::ErrorKind> {
    let argv: Vec<std::ffi::OsString> = std::iter::once("pinns")
        .chain(args.iter().copied())
        .map(Into::into)
        .collect();
    pinns_cli::parse(argv)
        .map(|cli| format!("{cli:?}"))
        .map_err(|e| e.kind())
}

proptest! {
    // Each case runs clap's full parse eight times: fewer cases.
    #![proptest_config(ProptestConfig { cases: 300, ..config() })]

    #[test]
    fn a_name_as_a_word_or_with_f_is_the_same_line(name in name_like(), other in name_like()) {
        // A word that starts with '-' is an option, not a name.
        prop_assume!(!name.starts_with('-'));
        for (word, flag) in [
            (vec!["pin", &name, "--net"], vec!["pin", "-f", &name, "--net"]),
            (vec!["unpin", &name], vec!["unpin", "-f", &name]),
            (vec!["exec", &name, "--", "true"], vec!["exec", "-f", &name, "true"]),
        ] {
            prop_assert_eq!(parse_line(&word), parse_line(&flag), "{:?} / {:?}", word, flag);
            prop_assert!(parse_line(&word).is_ok(), "{:?}", word);
        }
        // Both, differing: a usage error, whichever comes first.
        prop_assume!(name != other && !other.starts_with('-'));
        for args in [
            vec!["pin", &name, "-f", &other, "--net"],
            vec!["unpin", "-f", &other, &name],
        ] {
            prop_assert_eq!(
                parse_line(&args),
                Err(clap::error::ErrorKind::ArgumentConflict),
                "{:?}",
                args
            );
        }
    }
}
