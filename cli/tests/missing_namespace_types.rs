//! Kernels without a namespace type, simulated with a seccomp filter that
//! makes `unshare(CLONE_NEW*)` (or the pidfd ioctl) fail as such a kernel
//! does: pinns names the missing kernel feature, passes any other errno on
//! as it is, and leaves nothing.

mod common;

use std::os::unix::process::CommandExt;
use std::process::Command;

use common::*;

/// Makes system call `nr` fail with `errno` in the command's process
/// (and its helper child) when its argument `arg` matches `value`:
/// `jset` tests `arg & value != 0`, otherwise `arg == value` (low 32 bits).
fn deny(cmd: &mut Command, nr: libc::c_long, arg: u32, value: u32, jset: bool, errno: i32) {
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7;
    const LD_ABS_W: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const RET_ALLOW: u32 = 0x7fff_0000;
    let f = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let prog = [
        f(LD_ABS_W, 0, 0, 4),                              // arch
        f(JEQ_K, 0, 5, ARCH),                              // else allow
        f(LD_ABS_W, 0, 0, 0),                              // syscall number
        f(JEQ_K, 0, 3, nr as u32),                         // else allow
        f(LD_ABS_W, 0, 0, 16 + 8 * arg),                   // args[arg], low half
        f(if jset { JSET_K } else { JEQ_K }, 0, 1, value), // else allow
        f(RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | errno as u32),
        f(RET_K, 0, 0, RET_ALLOW),
    ];
    // SAFETY: the closure runs in the child between fork and exec and only
    // makes two prctl calls on memory prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let fprog = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn a_kernel_without_a_namespace_type_is_named() {
    let s = PinDir::named("nokernel");
    let maps = [
        "--uid-mapping=0-100000-65536",
        "--gid-mapping=0-100000-65536",
    ];
    let cases: Vec<(Vec<&str>, libc::c_int, &str, &str)> = vec![
        (
            vec!["--user"],
            libc::CLONE_NEWUSER,
            "creating user namespace",
            "CONFIG_USER_NS",
        ),
        (
            vec!["--cgroup"],
            libc::CLONE_NEWCGROUP,
            "creating cgroup namespace",
            "CONFIG_CGROUPS",
        ),
        (
            vec!["--ipc", "--net"],
            libc::CLONE_NEWIPC,
            "creating ipc namespace",
            "CONFIG_IPC_NS",
        ),
        (
            vec!["--uts"],
            libc::CLONE_NEWUTS,
            "creating uts namespace",
            "CONFIG_UTS_NS",
        ),
        (
            vec!["--ipc", "--uts", "--net"],
            libc::CLONE_NEWNET,
            "creating net namespace",
            "CONFIG_NET_NS",
        ),
        (
            vec!["--pid"],
            libc::CLONE_NEWPID,
            "creating pid namespace",
            "CONFIG_PID_NS",
        ),
        (
            vec!["--time"],
            libc::CLONE_NEWTIME,
            "creating time namespace",
            "CONFIG_TIME_NS",
        ),
        (
            vec!["--mnt"],
            libc::CLONE_NEWNS,
            "creating mnt namespace",
            "mount namespaces",
        ),
        // The helper, after the user namespace and some others exist.
        (
            vec!["--user", "--net", "--time", "--mnt"],
            libc::CLONE_NEWTIME,
            "creating time namespace",
            "CONFIG_TIME_NS",
        ),
    ];
    // Before 6.11 a new pid namespace is refused before any unshare(2):
    // that refusal is checked below.
    let pid_ns = common::kernel::has_pid_ns_ioctl();
    let cases = cases
        .into_iter()
        .filter(|(kinds, ..)| pid_ns || !kinds.contains(&"--pid"));
    for (i, (kinds, flag, step, feature)) in cases.enumerate() {
        let dir = s.sub(&format!("d{i}"));
        s.track(&dir, "x");
        let mut args: Vec<&str> = vec!["-f", "x"];
        args.extend(&kinds);
        if kinds.contains(&"--user") {
            args.extend(maps);
        }
        // The pin, with unshare(2) of this type failing with `errno`.
        let failing_with = |errno| {
            let mut cmd = pinns_command();
            cmd.arg("-d").arg(&dir).args(&args);
            deny(&mut cmd, libc::SYS_unshare, 0, flag as u32, true, errno);
            cmd
        };
        run(&mut failing_with(libc::EINVAL))
            .assert_refused(1)
            .assert_says(step)
            .assert_says("does not support")
            .assert_says(feature);
        assert!(
            on_disk(&dir, "x").is_empty(),
            "{kinds:?}: {:?}",
            on_disk(&dir, "x")
        );
        assert!(ns_mounts_under(&dir).is_empty());
        // Any other errno is passed on as it is, not blamed on the kernel.
        run(&mut failing_with(libc::ENOSPC))
            .assert_refused(1)
            .assert_says(step)
            .assert_says("No space left on device");
        assert!(on_disk(&dir, "x").is_empty());
    }
    // A kernel without PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE (before 6.11).
    for errno in [libc::ENOTTY, libc::EINVAL] {
        let dir = s.sub(&format!("pid{errno}"));
        s.track(&dir, "x");
        let mut cmd = pinns_command();
        cmd.arg("-d").arg(&dir).args(["-f", "x", "--net", "--pid"]);
        deny(&mut cmd, libc::SYS_ioctl, 1, 0xFF06, false, errno);
        run(&mut cmd)
            .assert_refused(1)
            .assert_says("PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE")
            .assert_says("--from-pid");
        assert!(on_disk(&dir, "x").is_empty());
        assert!(ns_mounts_under(&dir).is_empty());
    }
    // The filter itself does not get in the way of a good pin.
    let dir = s.sub("control");
    s.track(&dir, "x");
    let mut cmd = pinns_command();
    cmd.arg("-d")
        .arg(&dir)
        .args(["-f", "x", "--net"])
        .args(common::kernel::has_time_ns().then_some("--time"))
        .args(pid_ns.then_some("--pid"));
    deny(
        &mut cmd,
        libc::SYS_unshare,
        0,
        libc::CLONE_NEWCGROUP as u32,
        true,
        libc::EINVAL,
    );
    run(&mut cmd).assert_success();
    pinns_in(&dir, &["unpin", "-f", "x"]).assert_success();
    assert_absent(&dir, "x");
}
