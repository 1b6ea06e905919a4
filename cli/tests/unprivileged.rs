//! Unprivileged callers (`setpriv` to nobody) get one clear line naming
//! the step that was denied, and leave nothing behind; root's pins are
//! beyond their reach.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

fn as_nobody(args: &[&str], dir: &Path) -> Out {
    run(pinns_command_via(
        "setpriv",
        &["--reuid=65534", "--regid=65534", "--clear-groups"],
    )
    .args(args.iter().take_while(|a| **a != "@DIR"))
    .arg("-d")
    .arg(dir)
    .args(args.iter().skip_while(|a| **a != "@DIR").skip(1)))
}

fn chown_nobody(path: &Path) {
    std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
}

#[test]
fn unprivileged_callers_get_one_clear_line_and_leave_nothing() {
    let s = PinDir::named("nobody");
    // On a private mount, whatever the host's propagation, so that the
    // first privileged step of `pinns pin` is binding a type directory
    // onto itself (CRI-O's command line binds none: it fails creating).
    s.mount_as(Host::Private);
    fs::set_permissions(s.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let denied = |out: Out, step: &str| {
        let out = out.assert_refused(1).assert_says(step);
        let err = out.stderr_text();
        assert!(
            err.contains("Operation not permitted") || err.contains("Permission denied"),
            "{err}"
        );
    };
    // A fresh directory nobody owns: the first privileged step fails.
    let own = s.sub("own");
    fs::create_dir(&own).unwrap();
    chown_nobody(&own);
    s.track(&own, "x");
    denied(
        as_nobody(&["pin", "@DIR", "-f", "x", "--net"], &own),
        "onto itself",
    );
    denied(
        as_nobody(&[&["pin", "@DIR", "-f", "x"], HELPER_PIN].concat(), &own),
        "onto itself",
    );
    denied(
        as_nobody(&["@DIR", "-f", "x", "--net"], &own),
        "creating net namespace",
    );
    assert!(on_disk(&own, "x").is_empty());

    // Type directories set up by root (its pin holding them up) and handed
    // to nobody: now the namespace creation (or the id map) is what fails.
    let prepared = s.sub("prepared");
    s.track(&prepared, "seed");
    s.track(&prepared, "x");
    pinns_in(&prepared, &[&["pin", "-f", "seed"], HELPER_PIN].concat()).assert_success();
    chown_nobody(&prepared);
    for t in ["userns", "ipcns", "utsns", "netns", "mntns"] {
        chown_nobody(&prepared.join(t));
    }
    denied(
        as_nobody(&["@DIR", "-f", "x", "--net", "--ipc"], &prepared),
        "creating",
    );
    denied(
        as_nobody(&[&["@DIR", "-f", "x"], HELPER_PIN].concat(), &prepared),
        "user namespace",
    );
    denied(
        as_nobody(&["@DIR", "-f", "x", "--mnt"], &prepared),
        "mnt namespace",
    );
    assert!(
        on_disk(&prepared, "x").is_empty(),
        "{:?}",
        on_disk(&prepared, "x")
    );
    pinns_in(&prepared, &["unpin", "-f", "seed"]).assert_success();
    assert!(ns_mounts_under(s.path()).is_empty());

    // Root's pins: nobody can neither remove nor re-pin them.
    let roots = s.sub("roots");
    s.track(&roots, "r");
    pinns_in(&roots, &["-f", "r", "--net", "--uts"]).assert_success();
    let before = ns_mounts_under(&roots).len();
    denied(as_nobody(&["unpin", "@DIR", "-f", "r"], &roots), "r");
    assert_eq!(ns_mounts_under(&roots).len(), before);
    assert_eq!(on_disk(&roots, "r").len(), 2);
    as_nobody(&["list", "@DIR"], &roots).assert_success();
    pinns_in(&roots, &["unpin", "-f", "r"]).assert_success();
    assert_absent(&roots, "r");
}
