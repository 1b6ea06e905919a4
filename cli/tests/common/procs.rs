//! Processes: the ones a test starts, the orphans handed to it, and every
//! other as `/proc` shows it.

use std::fs;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The effective user id: these tests run as root and never skip.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Fails the test unless it runs as root.
pub fn assert_root(test: &str) {
    assert_eq!(
        euid(),
        0,
        "{test}: these tests run as root (namespaces, mounts) and never skip"
    );
}

/// A process we start, killed by pid (and reaped) when dropped.
pub struct Child(pub std::process::Child);

impl Child {
    pub fn spawn(cmd: &mut Command) -> Child {
        Child(cmd.spawn().expect("spawn"))
    }
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The children of process `pid`, those of every one of its threads, from
/// /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|task| {
            fs::read_to_string(task.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Waits (up to 20 s, a bound against a hang) until `cond` holds.
pub fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(10));
    }
}

/// A name unique to this test process and call site.
pub fn unique(tag: &str) -> String {
    format!("pinns-test-{}-{tag}", std::process::id())
}

/// Makes this test process the reaper of orphans (the helper of a killed
/// `pinns`, a container's init): they come to us, where they are seen
/// and reaped, rather than to pid 1, which is slow to reap on these
/// machines (a zombie left there would look like a survivor).
pub fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag.
        let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
        assert_eq!(r, 0, "prctl(PR_SET_CHILD_SUBREAPER)");
    });
}

/// Kills process group `pgid`, one a test made (`process_group(0)`).
pub fn kill_group(pgid: i32) {
    // SAFETY: kill(2) of a negative pid signals only that group.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// One process, from `/proc/PID/stat`.
#[derive(Debug)]
pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    pub state: char,
    /// Shown in failure messages.
    pub comm: String,
}

impl Proc {
    /// Exited and not reaped yet: it runs nothing.
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z' || self.state == 'X'
    }
}

fn parse_stat(pid: i32, stat: &str) -> Option<Proc> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let rest: Vec<&str> = stat[close + 2..].split(' ').collect();
    Some(Proc {
        pid,
        comm: stat[open + 1..close].to_string(),
        state: rest.first()?.chars().next()?,
        ppid: rest.get(1)?.parse().ok()?,
        pgrp: rest.get(2)?.parse().ok()?,
    })
}

/// Process `pid`, if it exists.
pub fn proc_of(pid: i32) -> Option<Proc> {
    parse_stat(pid, &fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process.
pub fn procs() -> Vec<Proc> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            parse_stat(pid, &fs::read_to_string(e.path().join("stat")).ok()?)
        })
        .collect()
}

/// True for a process that has exited and not been reaped yet, or is gone.
pub fn is_zombie(pid: u32) -> bool {
    proc_of(pid as i32).is_none_or(|p| p.is_zombie())
}

/// Waits until no process of group `pgid` is alive, reaping the zombies
/// handed to us; returns the survivors if some are still there at
/// `deadline`.
pub fn wait_group_gone(pgid: i32, deadline: Instant) -> Result<(), Vec<Proc>> {
    let me = std::process::id() as i32;
    loop {
        let mut alive = Vec::new();
        for p in procs().into_iter().filter(|p| p.pgrp == pgid) {
            if p.is_zombie() {
                if p.ppid == me {
                    // SAFETY: waitpid of one specific pid, our own zombie child.
                    unsafe { libc::waitpid(p.pid, std::ptr::null_mut(), libc::WNOHANG) };
                }
                continue;
            }
            alive.push(p);
        }
        if alive.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(alive);
        }
        sleep(Duration::from_micros(200));
    }
}

/// Reaps `pid`, a child of ours (a container's init, orphaned by `runc
/// run -d` and handed to us, the subreaper), once it has exited, waiting
/// up to `timeout`. Fails when it is not our child or outlives `timeout`.
pub fn reap(pid: u32, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut status = 0;
        // SAFETY: waitpid on one pid with WNOHANG; only ever reaps a child.
        let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
        if r == pid as libc::pid_t {
            return Ok(());
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(format!("waitpid({pid}): {e}"));
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{pid} has not exited after {timeout:?}"));
        }
        sleep(Duration::from_millis(5));
    }
}

/// Waits for `child` (a process group of its own, `process_group(0)`) to
/// exit; after `timeout` kills its group, so that a helper a hung command
/// forked goes too, and says so.
pub fn wait_bounded(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Result<std::process::ExitStatus, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => return Err(format!("wait: {e}")),
        }
        if Instant::now() > deadline {
            kill_group(child.id() as i32);
            let _ = child.wait();
            return Err(format!("still running after {timeout:?}, killed"));
        }
        sleep(Duration::from_millis(5));
    }
}
