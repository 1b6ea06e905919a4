//! A pinned PID namespace is never spent by accident: `exec` with no type
//! flags leaves out one no process has entered yet (the command would
//! become its init, and once that exits no process gets in), `--pid`
//! enters it on purpose, and `list` shows one whose init has exited as
//! `dead`, asking the kernel without spending a namespace that still
//! waits for its init.

mod common;

use common::*;

/// The state and process count `list --json` gives NAME's pid pin.
fn pid_pin(d: &PinDir, name: &str) -> (String, usize) {
    let doc: serde_json::Value =
        serde_json::from_slice(&d.must(&["list", "--json"]).stdout).unwrap();
    let entry = doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {doc}"));
    let pin = entry["pins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == "pid")
        .unwrap_or_else(|| panic!("no pid pin: {entry}"));
    (
        pin["state"].as_str().unwrap().to_string(),
        pin["pids"].as_array().unwrap().len(),
    )
}

#[test]
fn exec_leaves_an_unentered_pid_namespace_alone_and_list_shows_a_dead_one() {
    let d = PinDir::new();
    d.must(&["-f", "pod", "--pid", "--net"]);
    let pid_ns = inode(&d.pin("pid", "pod"));
    let net_ns = inode(&d.pin("net", "pod"));

    // Waiting for its init: live, no process; asking did not spend it.
    assert_eq!(pid_pin(&d, "pod"), ("live".into(), 0));
    assert_eq!(pid_pin(&d, "pod"), ("live".into(), 0));

    // No type flags: the net pin is entered, the pid one left alone.
    let out = d.must(&[
        "exec",
        "-f",
        "pod",
        "--",
        "sh",
        "-c",
        "readlink /proc/self/ns/net /proc/self/ns/pid",
    ]);
    assert_eq!(
        out.stdout_text(),
        format!("net:[{net_ns}]\npid:[{}]\n", own_ns("pid"))
    );
    assert_eq!(pid_pin(&d, "pod"), ("live".into(), 0));

    // --pid enters it on purpose: the command is its init.
    let out = d.must(&[
        "exec",
        "-f",
        "pod",
        "--pid",
        "--",
        "sh",
        "-c",
        "echo $$; readlink /proc/self/ns/pid",
    ]);
    assert_eq!(out.stdout_text(), format!("1\npid:[{pid_ns}]\n"));

    // That init has exited: dead, in the table too.
    assert_eq!(pid_pin(&d, "pod"), ("dead".into(), 0));
    let table = d.must(&["list"]).stdout_text();
    let row = table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("pid"))
        .unwrap_or_else(|| panic!("{table}"));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["pod", "pid", &pid_ns.to_string(), "dead", "0"]
    );
    // exec with no flags still runs (in the net namespace); --pid fails
    // as the kernel does, saying why.
    let out = d.must(&["exec", "-f", "pod", "--", "readlink", "/proc/self/ns/net"]);
    assert_eq!(out.stdout_text(), format!("net:[{net_ns}]\n"));
    let out = d.pinns(&["exec", "-f", "pod", "--pid", "--", "true"]);
    assert_eq!(out.code(), Some(126), "{}", out.stderr_text());
    assert!(
        out.stderr_text().contains("first process has exited"),
        "{}",
        out.stderr_text()
    );
    // With the net pin gone, nothing is left to enter unasked: said so.
    d.must(&["unpin", "-f", "pod", "--net"]);
    let out = d.pinns(&["exec", "-f", "pod", "--", "true"]);
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr_text()
            .contains("its only pin, a pid namespace, has no process in it"),
        "{}",
        out.stderr_text()
    );
    d.must(&["unpin", "-f", "pod"]);
}

/// A pid namespace with its init running is entered with the rest, and
/// listed live with its processes.
#[test]
fn exec_enters_a_running_pid_namespace() {
    let d = PinDir::new();
    d.must(&["-f", "pod", "--pid", "--net"]);
    let pid_ns = inode(&d.pin("pid", "pod"));
    // An init that stays: started in the namespace, in its own group.
    let mut init = d.command(&["exec", "-f", "pod", "--pid", "--", "sleep", "600"]);
    std::os::unix::process::CommandExt::process_group(&mut init, 0);
    // Killed (its group: pinns and the init) and reaped on drop, even on
    // a panic, before the pin directory's guard unpins.
    struct Init(std::process::Child);
    impl Drop for Init {
        fn drop(&mut self) {
            // SAFETY: kill(2) of the process group this test started.
            unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
            let _ = self.0.wait();
        }
    }
    let _init = Init(init.spawn().unwrap());
    // Until the init shows in /proc (bounded: the kernel makes it at once).
    let mut tries = 0;
    while pids_in_ns("pid", pid_ns).is_empty() {
        tries += 1;
        assert!(tries < 1000, "the init never appeared");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(pid_pin(&d, "pod"), ("live".into(), 1));
    let out = d.must(&["exec", "-f", "pod", "--", "readlink", "/proc/self/ns/pid"]);
    assert_eq!(out.stdout_text(), format!("pid:[{pid_ns}]\n"));
}
