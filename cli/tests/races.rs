//! Races: many `pinns` at once on one fresh directory, and pins and
//! unpins of one NAME at once, leave every NAME whole or absent, and the
//! type directories set up once with the right propagation.

mod common;

use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;

/// Runs `jobs` through `workers` threads at once; `job(i)` returns an Out.
fn parallel<T: Send>(jobs: usize, workers: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::with_capacity(jobs));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs {
                        break;
                    }
                    let r = job(i);
                    results.lock().unwrap().push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn two_hundred_concurrent_pins_of_distinct_names_all_succeed() {
    const N: usize = 200;
    let s = PinDir::named("many");
    // On a private mount, whatever the host's propagation: there the
    // type directories are made shared self-binds, which is the race.
    s.mount_as(Host::Private);
    let dir = s.sub("d"); // fresh: the type directories race to be set up
    let names: Vec<String> = (0..N).map(|i| format!("pod-{i}")).collect();
    for n in &names {
        s.track(&dir, n);
    }
    // `pinns pin`: the `ip netns` set-up, whose self-binds race.
    let outs = parallel(N, 24, |i| {
        pinns_in(&dir, &["pin", "-f", &names[i], "-m", "--net"])
    });
    for out in outs {
        let out = out.assert_success();
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    }
    let list = listed(&dir);
    assert_eq!(list.len(), N, "list shows {} names", list.len());
    for (name, pins) in &list {
        assert_eq!(
            pins,
            &[
                ("net".to_string(), "live".to_string()),
                ("mnt".to_string(), "live".to_string())
            ],
            "{name}"
        );
    }
    // Nothing in the mount table under DIR but the two type directories
    // and one mount per pin.
    let under = mounts_under(&dir);
    let mut expected: Vec<PathBuf> = vec![dir.join("netns"), dir.join("mntns")];
    for n in &names {
        expected.push(dir.join("netns").join(n));
        expected.push(dir.join("mntns").join(n));
    }
    let mut got: Vec<PathBuf> = under.iter().map(|m| m.mount_point.clone()).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "the mount table under DIR");
    assert_propagation(&dir);

    let outs = parallel(N, 24, |i| pinns_in(&dir, &["unpin", "-f", &names[i]]));
    for out in outs {
        out.assert_success();
    }
    assert!(listed(&dir).is_empty());
    let mut under: Vec<PathBuf> = mounts_under(&dir)
        .into_iter()
        .map(|m| m.mount_point)
        .collect();
    under.sort();
    // The last unpin of each type directory took its self-bind down.
    assert_eq!(under, Vec::<PathBuf>::new(), "left mounted");
    for t in ["netns", "mntns"] {
        assert_eq!(
            fs::read_dir(dir.join(t)).unwrap().count(),
            0,
            "{t} not empty"
        );
    }
    umount_all_under(&dir);
    assert!(mounts_under(&dir).is_empty());
}

#[test]
fn concurrent_pin_and_unpin_of_one_name_leave_it_whole_or_absent() {
    const ROUNDS: usize = 25;
    const PAIRS: usize = 8; // 16 processes in flight, 200 pairs in all
    let s = PinDir::named("pair");
    let dir = s.sub("d");
    s.track(&dir, "pod");
    let mut pinned = 0;
    let mut refused = 0;
    let mut whole = 0;
    let mut absent = 0;
    for round in 0..ROUNDS {
        let outs = parallel(2 * PAIRS, 2 * PAIRS, |i| {
            if i % 2 == 0 {
                pinns_in(&dir, &["-f", "pod", "--net", "--ipc", "--uts"])
            } else {
                pinns_in(&dir, &["unpin", "-f", "pod"])
            }
        });
        for (i, out) in outs.into_iter().enumerate() {
            if i % 2 == 1 {
                out.assert_success();
            } else if out.code() == Some(0) {
                pinned += 1;
            } else {
                out.assert_refused(1).assert_says("already pinned");
                refused += 1;
            }
        }
        let disk = on_disk(&dir, "pod");
        let nsfs = ns_mounts_under(&dir);
        match disk.len() {
            0 => {
                absent += 1;
                assert!(
                    nsfs.is_empty(),
                    "round {round}: mounts without files: {nsfs:#?}"
                );
            }
            3 => {
                whole += 1;
                assert!(
                    disk.iter().all(|(_, st)| *st == "live"),
                    "round {round}: {disk:?}"
                );
                assert_eq!(nsfs.len(), 3, "round {round}: {nsfs:#?}");
            }
            _ => panic!("round {round}: NAME half pinned: {disk:?}"),
        }
        assert_propagation(&dir);
    }
    pinns_in(&dir, &["unpin", "-f", "pod"]).assert_success();
    assert_absent(&dir, "pod");
    eprintln!(
        "pin/unpin: {} pairs; pins made {pinned}, refused as already pinned {refused}; ends whole {whole}, absent {absent}",
        ROUNDS * PAIRS
    );
    umount_all_under(&dir);
    assert!(mounts_under(s.path()).is_empty());
}
