//! SIGKILL at any moment of a helper-child pin: no process survives
//! `pinns`, nothing keeps its output open, `list` reports what is left,
//! the directory still works, and `unpin` cleans up.
//!
//! The kill moments sweep from the start of the process to a little past
//! the end of a whole pin, and the test asserts that kills landed in each
//! phase: before anything was mounted, while the pin was part made, and
//! once it was whole.

mod common;

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::*;

/// Time for one full helper-child pin, from spawn to exit.
fn calibrate(s: &PinDir) -> Duration {
    let dir = s.sub("calibrate");
    s.track(&dir, "c");
    let mut times: Vec<Duration> = (0..9)
        .map(|_| {
            let t = Instant::now();
            // Silent on success, so a blocking wait cannot fill a pipe.
            let status = pinns_command()
                .arg("-d")
                .arg(&dir)
                .args(["-f", "c"])
                .args(HELPER_PIN)
                .status()
                .expect("running pinns");
            let took = t.elapsed();
            assert!(status.success(), "calibration pin: {status}");
            must(
                pinns_command()
                    .arg("unpin")
                    .arg("-d")
                    .arg(&dir)
                    .args(["-f", "c"]),
            );
            took
        })
        .collect();
    times.sort();
    umount_all_under(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    // Nearly the fastest: the other tests load the machine most while this
    // one starts, and a pin slowed down later is only interrupted more.
    times[1]
}

/// Where in the pin a kill landed, from what it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Killed with nothing mounted under DIR.
    Before,
    /// Killed with a type directory or some pins mounted, not all.
    During,
    /// Every pin of the name live: killed after the last mount, or the
    /// pin ended first.
    After,
}

/// The namespace types of [`HELPER_PIN`].
const TYPES: [&str; 5] = ["user", "mnt", "net", "ipc", "uts"];

#[test]
fn sigkill_at_any_moment_leaves_no_process_and_unpin_cleans_up() {
    become_subreaper();
    let s = PinDir::named("crash");
    let full = calibrate(&s);
    // Sweeps of the kill moment from 0 to a little past the pin's end.
    // The machine's load changes as other tests come and go, so each sweep
    // ends a little past the earliest moment the last one saw pinns finish.
    const SWEEPS: u32 = 6;
    const STEPS: u32 = 50;
    const TRIALS: u32 = SWEEPS * STEPS;
    let mut span = full.mul_f64(1.15);
    let mut spans = Vec::new();
    let mut outcomes: BTreeMap<String, u32> = Default::default();
    let mut phases: BTreeMap<Phase, u32> = Default::default();
    let mut finished_before_kill = 0;
    let mut earliest_finish: Option<Duration> = None;
    for i in 0..TRIALS {
        if i % STEPS == 0 && i > 0 {
            span = match earliest_finish.take() {
                Some(d) => d.mul_f64(1.15),
                None => span.mul_f64(1.3),
            };
        }
        if i % STEPS == 0 {
            spans.push(span);
        }
        let delay = span * (i % STEPS) / STEPS;
        let dir = s.sub(&format!("t{i}"));
        s.track(&dir, "p");
        s.track(&dir, "q");
        let what = format!("trial {i} (kill after {delay:?})");
        let mut child = pinns_command()
            .arg("-d")
            .arg(&dir)
            .args(["-f", "p"])
            .args(HELPER_PIN)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("starting pinns");
        let pgid = child.id() as i32;
        s.track_group(pgid);
        let start = Instant::now();
        while start.elapsed() < delay {
            if delay.saturating_sub(start.elapsed()) > Duration::from_micros(300) {
                sleep(Duration::from_micros(100));
            } else {
                std::hint::spin_loop();
            }
        }
        // Only pinns itself: its helper must die on its own.
        // SAFETY: kill(2) of our own child, not yet reaped.
        unsafe { libc::kill(pgid, libc::SIGKILL) };
        let status = child.wait().expect("waiting for pinns");
        let finished = status.code() == Some(0);
        if finished {
            finished_before_kill += 1;
            earliest_finish = Some(earliest_finish.map_or(delay, |d| d.min(delay)));
        }
        // Nobody may keep pinns's stdout or stderr open (CRI-O reads them
        // to end of file), and no process of its group may survive.
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(5);
        if let Err(e) = drain(&[out.as_fd(), err.as_fd()], deadline) {
            panic!(
                "{what}: {e}; processes of the group: {:?}",
                wait_group_gone(pgid, Instant::now())
            );
        }
        if let Err(survivors) = wait_group_gone(pgid, deadline) {
            panic!("{what}: processes survived pinns: {survivors:#?}");
        }

        // list reports whatever is left, live or stale, and exits 0.
        let disk = on_disk(&dir, "p");
        let list = listed(&dir);
        let mut from_list: Vec<(String, String)> = list
            .iter()
            .filter(|(n, _)| n == "p")
            .flat_map(|(_, pins)| pins.clone())
            .collect();
        from_list.sort();
        let mut expected: Vec<(String, String)> = disk
            .iter()
            .map(|(t, st)| (t.trim_end_matches("ns").to_string(), st.to_string()))
            .collect();
        expected.sort();
        assert_eq!(
            from_list, expected,
            "{what}: list disagrees with the kernel"
        );
        if finished {
            check_whole(&dir, "p", &TYPES).unwrap_or_else(|e| panic!("{what}: exit 0, but {e}"));
        }
        let mounted_any = dir.exists() && !mounts_under(&dir).is_empty();
        let phase = if check_whole(&dir, "p", &TYPES).is_ok() {
            Phase::After
        } else if mounted_any {
            Phase::During
        } else {
            Phase::Before
        };
        *phases.entry(phase).or_default() += 1;
        let type_dirs = TYPE_DIRS.iter().filter(|t| dir.join(t).is_dir()).count();
        let mounted = TYPE_DIRS
            .iter()
            .filter(|t| is_mount_point(&dir.join(t)))
            .count();
        let key = format!(
            "{} type dirs, {mounted} mounted; pins: {}",
            if dir.exists() {
                type_dirs.to_string()
            } else {
                "no DIR, 0".into()
            },
            if disk.is_empty() {
                "none".to_string()
            } else {
                disk.iter()
                    .map(|(t, st)| format!("{t}:{st}"))
                    .collect::<Vec<_>>()
                    .join(",")
            }
        );
        *outcomes.entry(key).or_default() += 1;

        // The directory still works: a second pin succeeds, and the type
        // directories have the right propagation even after the crash.
        must(
            pinns_command()
                .arg("-d")
                .arg(&dir)
                .args(["-f", "q"])
                .args(HELPER_PIN),
        );
        assert_propagation(&dir);

        // unpin leaves no file and no mount of NAME behind.
        for name in ["p", "q"] {
            must(
                pinns_command()
                    .arg("unpin")
                    .arg("-d")
                    .arg(&dir)
                    .args(["-f", name]),
            );
            assert_absent(&dir, name);
        }
        let left: Vec<MountInfo> = mounts_under(&dir)
            .into_iter()
            .filter(|m| !TYPE_DIRS.iter().any(|t| m.mount_point == dir.join(t)))
            .collect();
        assert!(left.is_empty(), "{what}: mounts left: {left:#?}");
        umount_all_under(&dir);
        std::fs::remove_dir_all(&dir).expect("removing the trial directory");
    }
    eprintln!(
        "crash: {TRIALS} trials in sweeps over {spans:?} (full pin {full:?}), \
         {finished_before_kill} finished before the kill; phases {phases:?}; left behind: {outcomes:#?}"
    );
    for phase in [Phase::Before, Phase::During, Phase::After] {
        assert!(
            phases.get(&phase).is_some_and(|n| *n > 0),
            "no kill landed {phase:?} the mounts: {phases:?}; the sweep misses a phase"
        );
    }
}
