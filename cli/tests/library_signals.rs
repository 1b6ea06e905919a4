//! The library under signals: `pinns::pin` and `pinns::unpin`
//! called from a multithreaded process that installs signal handlers
//! without `SA_RESTART`, while signals keep arriving, never fail
//! spuriously. A blocking call that a handled signal interrupts fails with
//! `EINTR`: the library must restart it (`flock` on the pin directory, the
//! helper's pipes, waiting for the helper).
//!
//! Three threads pin and unpin pods of every path (a thread of ours for
//! net/ipc/uts/cgroup, the helper child for user/mnt/pid/time) into one
//! directory, while a fourth keeps taking the directory's lock as another
//! `pinns` would (so pins wait in `flock`), and a fifth sends SIGUSR1 to
//! each of the three, and SIGUSR1 to the process, every 50 µs. Every pin
//! and unpin must succeed, every pin be a namespace of the right type, and
//! no helper be left.

mod common;

use std::fs;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pinns::{Kind, Plan};

/// Handled signals, counted by the handler.
static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

/// Installs `on_signal` for `signal`, without `SA_RESTART`, so that a
/// blocking call it interrupts fails with `EINTR`.
fn install(signal: libc::c_int) {
    // SAFETY: a zeroed sigaction is valid; the handler is an extern "C"
    // function that only touches an atomic (async-signal-safe).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(signal, &sa, std::ptr::null_mut()), 0);
    }
}

fn plans(dir: &Path, name: &str) -> Vec<(Plan, Vec<Kind>)> {
    let maps = || {
        (
            "0-100000-65536".parse().expect("uid map"),
            "0-100000-65536".parse().expect("gid map"),
        )
    };
    let (uid, gid) = maps();
    vec![
        (
            Plan::builder(dir, name)
                .create(Kind::Net)
                .create(Kind::Ipc)
                .create(Kind::Uts)
                .sysctl("kernel.hostname=sig".parse().expect("sysctl"))
                .loopback(true)
                .build()
                .expect("plan"),
            vec![Kind::Net, Kind::Ipc, Kind::Uts],
        ),
        (
            Plan::builder(dir, name)
                .create(Kind::User)
                .create(Kind::Net)
                .create(Kind::Ipc)
                .uid_map(uid)
                .gid_map(gid)
                .sysctl("net.ipv4.ip_forward=1".parse().expect("sysctl"))
                .build()
                .expect("plan"),
            vec![Kind::User, Kind::Net, Kind::Ipc],
        ),
        (
            Plan::builder(dir, name)
                .create(Kind::Mnt)
                .create(Kind::Cgroup)
                .build()
                .expect("plan"),
            vec![Kind::Mnt, Kind::Cgroup],
        ),
        // A new PID namespace only where the kernel can pin one (6.11),
        // and a time namespace only from 5.6: before, they are refused
        // (cli/tests/kernels.rs checks how).
        if !common::kernel::has_time_ns() {
            (
                Plan::builder(dir, name)
                    .create(Kind::Mnt)
                    .create(Kind::Net)
                    .build()
                    .expect("plan"),
                vec![Kind::Mnt, Kind::Net],
            )
        } else if common::kernel::has_pid_ns_ioctl() {
            (
                Plan::builder(dir, name)
                    .create(Kind::Pid)
                    .create(Kind::Time)
                    .monotonic(3)
                    .build()
                    .expect("plan"),
                vec![Kind::Pid, Kind::Time],
            )
        } else {
            (
                Plan::builder(dir, name)
                    .create(Kind::Time)
                    .monotonic(3)
                    .build()
                    .expect("plan"),
                vec![Kind::Time],
            )
        },
    ]
}

const WORKERS: usize = 3;
const ROUNDS: usize = 60;

#[test]
fn pin_and_unpin_survive_signals_in_a_multithreaded_caller() {
    let dir = common::PinDir::new();
    install(libc::SIGUSR1);
    install(libc::SIGCHLD);
    let threads: Mutex<Vec<libc::pthread_t>> = Mutex::new(Vec::new());
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let pins = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..WORKERS {
            let (threads, done, stop, failures, pins) = (&threads, &done, &stop, &failures, &pins);
            let dir = dir.path();
            scope.spawn(move || {
                // SAFETY: pthread_self has no preconditions.
                threads
                    .lock()
                    .unwrap()
                    .push(unsafe { libc::pthread_self() });
                for round in 0..ROUNDS {
                    let name = format!("w{w}-{round}");
                    let all = plans(dir, &name);
                    let (plan, kinds) = &all[(w + round) % all.len()];
                    match pinns::pin(plan) {
                        Ok(pinned) => {
                            pins.fetch_add(1, Ordering::Relaxed);
                            let mut got: Vec<Kind> = pinned.iter().map(|p| p.kind).collect();
                            let mut want = kinds.clone();
                            got.sort_by_key(|k| k.name());
                            want.sort_by_key(|k| k.name());
                            if got != want {
                                failures
                                    .lock()
                                    .unwrap()
                                    .push(format!("{name}: pinned {got:?}, not {want:?}"));
                            }
                            for p in &pinned {
                                let f = fs::File::open(&p.path).expect("opening a pin");
                                // SAFETY: NS_GET_NSTYPE takes no argument.
                                let t = unsafe { libc::ioctl(f.as_raw_fd(), (0xb7 << 8) | 0x3) };
                                if t != common::clone_flag(p.kind.name()) {
                                    failures.lock().unwrap().push(format!(
                                        "{name}: {} is not a {} namespace",
                                        p.path.display(),
                                        p.kind
                                    ));
                                }
                            }
                        }
                        Err(e) => failures.lock().unwrap().push(format!("pin {name}: {e}")),
                    }
                    if let Err(e) = pinns::unpin(dir, &name, pinns::KindSet::EMPTY) {
                        failures.lock().unwrap().push(format!("unpin {name}: {e}"));
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
                // Stay alive until the signaller stops: it signals this
                // thread by its pthread_t, which must stay valid.
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        }
        // Another pinns, as far as the lock goes: holds DIR's lock for 2 ms
        // of every 5, so pins wait in flock(2) and are interrupted there.
        scope.spawn(|| {
            let lock_dir = loop {
                match fs::File::open(dir.path()) {
                    Ok(f) => break f,
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            };
            while !stop.load(Ordering::SeqCst) {
                // SAFETY: flock of a descriptor we own; EINTR just retries.
                while unsafe { libc::flock(lock_dir.as_raw_fd(), libc::LOCK_EX) } != 0 {}
                std::thread::sleep(Duration::from_millis(2));
                // SAFETY: as above.
                unsafe { libc::flock(lock_dir.as_raw_fd(), libc::LOCK_UN) };
                std::thread::sleep(Duration::from_millis(3));
            }
        });
        // The signaller.
        scope.spawn(|| {
            while done.load(Ordering::SeqCst) < WORKERS {
                for t in threads.lock().unwrap().iter() {
                    // SAFETY: every registered thread stays alive until
                    // `stop` is set below.
                    unsafe { libc::pthread_kill(*t, libc::SIGUSR1) };
                }
                // SAFETY: kill(2) of our own process with a handled signal.
                unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
                std::thread::sleep(Duration::from_micros(50));
            }
            stop.store(true, Ordering::SeqCst);
        });
    });
    let failures = failures.into_inner().unwrap();
    let handled = HANDLED.load(Ordering::Relaxed);
    eprintln!(
        "library under signals: {} pins and unpins in {:.1?}, {handled} signals handled, {} failures",
        pins.load(Ordering::Relaxed),
        start.elapsed(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(pins.load(Ordering::Relaxed), WORKERS * ROUNDS);
    assert!(handled > 1000, "only {handled} signals arrived");
    // No helper left: every child of this process was reaped.
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() } as u32;
    let left: Vec<u32> = fs::read_dir("/proc")
        .expect("reading /proc")
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(e.path().join("stat")).ok()?;
            let ppid: u32 = stat[stat.rfind(')')? + 2..]
                .split(' ')
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == me).then_some(pid)
        })
        .collect();
    assert!(left.is_empty(), "children left: {left:?}");
    assert!(common::ns_mounts_under(dir.path()).is_empty());
}
