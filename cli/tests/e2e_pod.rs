//! End to end: a pod without a pause container.
//!
//! `pinns` pins a pod's namespaces with bind mounts and exits. Containers
//! started by runc join them by path (`linux.namespaces[].path` in
//! `config.json`), talk to each other over the pod's loopback, share its
//! hostname and IPC namespace, and come and go while the pinned namespaces
//! (and the state put into them) stay. No process holds the pod between
//! containers.
//!
//! Needs root, runc 1.1 (`runc`), a static busybox for the containers'
//! root filesystem (`busybox-static`), `nsenter`, `unshare`, `mount`,
//! `umount` (util-linux) and `ip` (iproute2). Not being root, or a missing
//! tool, is a failure: these tests never skip. `PINNS_E2E_RUNC` and `PINNS_E2E_BUSYBOX` override where runc
//! and busybox are looked for.
//!
//! Every test works in its own temporary directory (pins, runc's state root,
//! bundles, rootfs) with names that include the test process id, and a
//! `Drop` guard removes what it made even when the test fails: runc
//! containers by the ids it created, pins (`pinns unpin`), any mount left
//! under the temporary directory (lazily), the cgroups it named, and the
//! processes it started (by pid, or by the process group it gave them).
//! Every command has a timeout. The test process is the subreaper of the
//! detached containers' inits (conmon's role under CRI-O), and reaps them.

mod common;

use common::*;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Longest any single command may take before the test gives up on it.
const CMD_TIMEOUT: Duration = Duration::from_secs(20);
/// The pod's user namespace mapping (`--uid-mapping`/`--gid-mapping`).
const POD_HOST_ID: u32 = 100_000;
const POD_ID_COUNT: u32 = 65_536;
const POD_MAPPING: &str = "0-100000-65536";
/// Made in the pod's network namespace from the host side (≤ 15 chars).
const BRIDGE: &str = "br-e2e";
const PORT: u16 = 8080;

// ---------------------------------------------------------------------------
// What the containers print.

/// `key=value` lines (as printed by the containers' scripts) into a map.
fn kv(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn get<'a>(map: &'a HashMap<String, String>, key: &str, text: &str) -> &'a str {
    map.get(key)
        .unwrap_or_else(|| panic!("no `{key}=` in container output:\n{text}"))
}

// ---------------------------------------------------------------------------
// The machine: root, tools.

fn find_tool(name: &str, env: Option<&str>) -> Option<PathBuf> {
    if let Some(p) = env.and_then(std::env::var_os) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain([
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ])
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| {
            fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// True when the ELF file at `path` has no program interpreter (PT_INTERP),
/// i.e. it runs in a root filesystem without libraries.
fn is_static_elf(path: &Path) -> bool {
    let Ok(b) = fs::read(path) else { return false };
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return false; // not 64-bit little-endian ELF: don't guess
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    (0..phnum).all(|i| {
        let o = phoff + i * phentsize;
        o + 4 <= b.len() && u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) != 3
    })
}

#[derive(Clone)]
struct Tools {
    runc: PathBuf,
    busybox: PathBuf,
    ip: PathBuf,
    nsenter: PathBuf,
    unshare: PathBuf,
    mount: PathBuf,
    umount: PathBuf,
}

/// The tools, or a failure naming the one missing: these tests never skip.
fn tools(test: &str) -> Tools {
    assert_root(test);
    let need = |name: &str, env: Option<&str>, pkg: &str| {
        find_tool(name, env)
            .unwrap_or_else(|| panic!("{test}: `{name}` not found: install Debian's `{pkg}`"))
    };
    let t = Tools {
        runc: need("runc", Some("PINNS_E2E_RUNC"), "runc"),
        busybox: need("busybox", Some("PINNS_E2E_BUSYBOX"), "busybox-static"),
        ip: need("ip", None, "iproute2"),
        nsenter: need("nsenter", None, "util-linux"),
        unshare: need("unshare", None, "util-linux"),
        mount: need("mount", None, "mount"),
        umount: need("umount", None, "mount"),
    };
    assert!(
        is_static_elf(&t.busybox),
        "{}: not a static binary; the containers' rootfs has no libraries: install `busybox-static`",
        t.busybox.display()
    );
    t
}

// ---------------------------------------------------------------------------
// Namespaces and mounts as seen from the host.

fn is_nsfs_mount(path: &Path) -> bool {
    mountinfo("self")
        .iter()
        .any(|m| m.mount_point == path && m.fs_type == "nsfs")
}

// ---------------------------------------------------------------------------
// A pod: its temporary directory, pins, rootfs, containers; cleaned on drop.

/// Namespace kinds pinned by these tests, with their OCI names.
const KINDS: [(&str, &str); 4] = [
    ("user", "user"),
    ("net", "network"),
    ("ipc", "ipc"),
    ("uts", "uts"),
];

struct Pod {
    t: Tools,
    /// Pin name, also the prefix of container ids and cgroup paths.
    name: String,
    /// `pinns -d`.
    dir: PathBuf,
    /// `runc --root`.
    state: PathBuf,
    rootfs: PathBuf,
    containers: Vec<String>,
    /// Pids of detached containers' inits, which we reap.
    inits: Vec<u32>,
    children: Vec<std::process::Child>,
    /// Dropped last, after `Drop::drop` has unmounted everything under it.
    tmp: tempfile::TempDir,
}

impl Pod {
    fn new(test: &str) -> Pod {
        let t = tools(test);
        become_subreaper();
        let name = format!("e2e-{}-{test}", std::process::id());
        let tmp = tempfile::Builder::new()
            .prefix(&format!("pinns-{name}-"))
            .tempdir()
            .expect("tempdir");
        // The containers' root user is uid 100000 on the host in the user
        // namespace test: it must be able to reach the rootfs.
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let pod = Pod {
            dir: tmp.path().join("pins"),
            state: tmp.path().join("runc"),
            rootfs: tmp.path().join("rootfs"),
            t,
            name,
            containers: vec![],
            inits: vec![],
            children: vec![],
            tmp,
        };
        fs::create_dir(&pod.state).unwrap();
        fs::create_dir(pod.tmp.path().join("logs")).unwrap();
        pod.make_rootfs();
        pod
    }

    /// A minimal root filesystem: static busybox and its applets, readable
    /// by everyone (whatever the umask) so that a container whose root is
    /// uid 100000 on the host can use it.
    fn make_rootfs(&self) {
        let r = &self.rootfs;
        for d in ["", "bin", "dev", "etc", "proc", "sys", "tmp", "root"] {
            fs::create_dir_all(r.join(d)).unwrap();
            fs::set_permissions(r.join(d), fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::copy(&self.t.busybox, r.join("bin/busybox")).unwrap();
        fs::set_permissions(r.join("bin/busybox"), fs::Permissions::from_mode(0o755)).unwrap();
        let list = must(Command::new(&self.t.busybox).arg("--list")).stdout_text();
        for applet in list
            .split_whitespace()
            .filter(|a| *a != "busybox" && !a.contains('/'))
        {
            symlink("busybox", r.join("bin").join(applet)).unwrap();
        }
        fs::write(
            r.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        )
        .unwrap();
        fs::write(r.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        for f in ["etc/passwd", "etc/group"] {
            fs::set_permissions(r.join(f), fs::Permissions::from_mode(0o644)).unwrap();
        }
    }

    fn pin_path(&self, kind: &str) -> PathBuf {
        self.dir.join(format!("{kind}ns")).join(&self.name)
    }

    fn pinns(&self) -> Command {
        let mut c = pinns_command();
        c.arg("-d").arg(&self.dir).arg("-f").arg(&self.name);
        c
    }

    /// `pinns -d DIR -f NAME ARGS...`: must succeed silently and leave no
    /// process behind.
    fn pin(&self, args: &[&str]) {
        let out = must(self.pinns().args(args));
        assert_eq!(
            out.stdout_text(),
            "",
            "pinns printed on stdout without --json"
        );
        for (kind, _) in KINDS {
            let p = self.pin_path(kind);
            if p.exists() {
                assert!(is_nsfs_mount(&p), "{} is not an nsfs mount", p.display());
                let left = pids_in_ns(kind, inode(&p));
                assert!(
                    left.is_empty(),
                    "processes left in the pinned {kind} namespace: {left:?}"
                );
            }
        }
    }

    fn unpin(&self) {
        let mut c = pinns_command();
        c.args(["unpin", "-d"])
            .arg(&self.dir)
            .arg("-f")
            .arg(&self.name);
        must(&mut c);
    }

    fn nsenter(&self, kind: &str) -> Command {
        let mut c = Command::new(&self.t.nsenter);
        c.arg(format!("--{kind}={}", self.pin_path(kind).display()));
        c
    }

    /// `ip ARGS` inside the pinned network namespace, from the host side.
    fn pod_ip(&self, args: &[&str]) -> Out {
        let mut c = self.nsenter("net");
        c.arg("--").arg(&self.t.ip).args(args);
        run(&mut c)
    }

    fn pinned_hostname(&self) -> String {
        let mut c = self.nsenter("uts");
        c.args(["--", "cat", "/proc/sys/kernel/hostname"]);
        must(&mut c).stdout_text().trim().to_string()
    }

    fn pin_inos(&self) -> HashMap<&'static str, u64> {
        KINDS
            .iter()
            .filter(|(k, _)| self.pin_path(k).exists())
            .map(|(k, _)| (*k, inode(&self.pin_path(k))))
            .collect()
    }

    fn container_id(&self, role: &str) -> String {
        format!("{}-{role}", self.name)
    }

    /// Writes the bundle for container `role` and returns (id, bundle dir).
    /// The container joins every pin of the pod that exists, with a pid and
    /// mount namespace of its own, and runs `sh -c script`.
    fn bundle(&mut self, role: &str, script: &str, env: &[(&str, &str)]) -> (String, PathBuf) {
        let id = self.container_id(role);
        let bundle = self.tmp.path().join("bundles").join(role);
        fs::create_dir_all(&bundle).unwrap();
        let mut namespaces = vec![json!({"type": "pid"}), json!({"type": "mount"})];
        for (kind, oci) in KINDS {
            let p = self.pin_path(kind);
            if p.exists() {
                namespaces.push(json!({"type": oci, "path": p}));
            }
        }
        let mut env_list = vec!["PATH=/bin".to_string(), "HOME=/root".to_string()];
        env_list.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
        let mut config = json!({
            "ociVersion": "1.0.2-dev",
            "process": {
                "terminal": false,
                "user": {"uid": 0, "gid": 0},
                "args": ["/bin/sh", "-c", script],
                "env": env_list,
                "cwd": "/",
                "capabilities": {
                    "bounding": caps, "effective": caps, "permitted": caps, "ambient": caps
                },
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
                "noNewPrivileges": true
            },
            "root": {"path": self.rootfs, "readonly": true},
            // No "hostname": runc would set it in the pinned UTS namespace.
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
                {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                 "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
                // Mounted after joining the pod's IPC namespace: its queues.
                {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                 "options": ["nosuid", "noexec", "nodev"]},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                 "options": ["nosuid", "noexec", "nodev", "ro"]},
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "nodev", "mode=1777", "size=16m"]}
            ],
            "linux": {
                "namespaces": namespaces,
                "cgroupsPath": format!("/{id}"),
                "resources": {"devices": [{"allow": false, "access": "rwm"}]},
                "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                    "/proc/sysrq-trigger"]
            }
        });
        if self.pin_path("user").exists() {
            // runc 1.1 wants the mappings even when it joins a user namespace.
            let map = json!([{"containerID": 0, "hostID": POD_HOST_ID, "size": POD_ID_COUNT}]);
            config["linux"]["uidMappings"] = map.clone();
            config["linux"]["gidMappings"] = map;
        }
        fs::write(
            bundle.join("config.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .unwrap();
        self.containers.push(id.clone());
        (id, bundle)
    }

    fn runc(&self) -> Command {
        let mut c = Command::new(&self.t.runc);
        c.arg("--root").arg(&self.state);
        c
    }

    /// `runc run -d`: starts container `role` in the background, its output
    /// going to logs/ROLE.{out,err}. Returns its id.
    fn run_detached(&mut self, role: &str, script: &str, env: &[(&str, &str)]) -> String {
        let (id, bundle) = self.bundle(role, script, env);
        let logs = self.tmp.path().join("logs");
        let mut c = self.runc();
        c.args(["run", "-d", "-b"]).arg(&bundle).arg(&id);
        c.stdin(Stdio::null())
            .stdout(fs::File::create(logs.join(format!("{role}.out"))).unwrap())
            .stderr(fs::File::create(logs.join(format!("{role}.err"))).unwrap());
        let what = format!("{c:?}");
        let mut child = c
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
        let status = wait_bounded(&mut child, CMD_TIMEOUT)
            .unwrap_or_else(|e| panic!("{what}: {e}\n{}", self.logs(role)));
        assert!(
            status.success(),
            "runc run -d {id}: {status}\n{}",
            self.logs(role)
        );
        let pid = self.container_pid(&id);
        self.inits.push(pid);
        id
    }

    fn logs(&self, role: &str) -> String {
        let logs = self.tmp.path().join("logs");
        let read =
            |ext: &str| fs::read_to_string(logs.join(format!("{role}.{ext}"))).unwrap_or_default();
        format!(
            "{role} stdout: {}\n{role} stderr: {}",
            read("out"),
            read("err")
        )
    }

    /// `runc run` in the foreground: returns the container's stdout.
    fn run(&mut self, role: &str, script: &str, env: &[(&str, &str)]) -> String {
        let (id, bundle) = self.bundle(role, script, env);
        let mut c = self.runc();
        c.args(["run", "-b"]).arg(&bundle).arg(&id);
        must(&mut c).stdout_text()
    }

    fn state(&self, id: &str) -> Option<Value> {
        let out = run(self.runc().args(["state", id]));
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("runc state JSON"))
    }

    fn container_pid(&self, id: &str) -> u32 {
        let st = self
            .state(id)
            .unwrap_or_else(|| panic!("container {id} does not exist"));
        assert_eq!(st["status"], "running", "container {id}: {st}");
        st["pid"].as_u64().expect("pid") as u32
    }

    /// Stops (SIGKILL: a pid 1 ignores TERM) and deletes container `id`.
    fn stop(&self, id: &str) {
        let pid = self.container_pid(id);
        must(self.runc().args(["kill", id, "KILL"]));
        reap(pid, CMD_TIMEOUT).unwrap_or_else(|e| panic!("container {id}'s init: {e}"));
        wait_for(
            || self.state(id).is_none_or(|s| s["status"] == "stopped"),
            &format!("container {id} to stop"),
        );
        must(self.runc().args(["delete", id]));
        assert!(
            self.state(id).is_none(),
            "container {id} still exists after delete"
        );
    }

    /// Mounts a fresh mqueue filesystem of the host's IPC namespace (left
    /// mounted on failure, for `Drop` to unmount) and returns the queue
    /// names in it, and in /dev/mqueue if the host has one.
    fn host_queues(&mut self) -> Vec<String> {
        let mnt = self.tmp.path().join("host-mqueue");
        fs::create_dir_all(&mnt).unwrap();
        must(
            Command::new(&self.t.mount)
                .args(["-t", "mqueue", "mqueue"])
                .arg(&mnt),
        );
        let mut names: Vec<String> = fs::read_dir(&mnt)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        must(Command::new(&self.t.umount).arg(&mnt));
        if let Ok(dir) = fs::read_dir("/dev/mqueue") {
            names.extend(dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()));
        }
        names
    }

    /// Asserts that no process is in any of the pod's pinned namespaces.
    fn assert_no_pod_process(&self, inos: &HashMap<&'static str, u64>) {
        for (kind, ino) in inos {
            let left = pids_in_ns(kind, *ino);
            assert!(
                left.is_empty(),
                "processes still in the pod's {kind} namespace: {left:?}"
            );
        }
    }

    /// A process we started in a process group of its own (a pause-like
    /// process): its group is killed on drop.
    fn adopt(&mut self, child: std::process::Child) -> u32 {
        let pid = child.id();
        self.children.push(child);
        pid
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        for id in self.containers.iter().rev() {
            if self.state.join(id).exists() {
                run_for_cleanup(self.runc().args(["kill", id, "KILL"]));
                run_for_cleanup(self.runc().args(["delete", "-f", id]));
            }
        }
        // The inits a test did not stop and reap itself: still our children.
        let me = std::process::id() as i32;
        for pid in &self.inits {
            if proc_of(*pid as i32).is_some_and(|p| p.ppid == me) {
                if let Err(e) = reap(*pid, Duration::from_secs(5)) {
                    eprintln!("cleanup: container init: {e}");
                }
            }
        }
        for child in &mut self.children {
            kill_group(child.id() as i32);
            let _ = child.wait();
        }
        if self.dir.exists() {
            let mut c = pinns_command();
            c.args(["unpin", "-d"])
                .arg(&self.dir)
                .arg("-f")
                .arg(&self.name);
            if !run_for_cleanup(&mut c) {
                eprintln!("cleanup: pinns unpin failed; unmounting by hand");
            }
        }
        // Whatever is still mounted under our directory (pins if unpin
        // failed, pinns' shared type directories, a host mqueue): lazily,
        // deepest first, a few rounds for stacked mounts.
        for _ in 0..4 {
            let mut under: Vec<PathBuf> = mounts_under(self.tmp.path())
                .into_iter()
                .map(|m| m.mount_point)
                .collect();
            if under.is_empty() {
                break;
            }
            under.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
            for p in under {
                run_for_cleanup(Command::new(&self.t.umount).arg("-l").arg(&p));
            }
        }
        // Cgroups runc made for our containers (cgroupsPath "/ID"), if a
        // delete did not happen: /sys/fs/cgroup/ID on cgroup v2, and
        // /sys/fs/cgroup/CONTROLLER/ID on v1 and hybrid layouts.
        let cgroup = Path::new("/sys/fs/cgroup");
        let mut parents = vec![cgroup.to_path_buf()];
        if let Ok(dir) = fs::read_dir(cgroup) {
            parents.extend(dir.flatten().map(|e| e.path()));
        }
        for parent in parents {
            for id in &self.containers {
                let _ = fs::remove_dir(parent.join(id));
            }
        }
        // TempDir removes the files.
    }
}

// ---------------------------------------------------------------------------
// Container scripts.

/// Container "server": creates a POSIX message queue in the pod's IPC
/// namespace, then serves TOKEN and its hostname on 127.0.0.1:8080.
const SERVER: &str = r#"set -e
touch "/dev/mqueue/$QUEUE"
mkdir -p /tmp/www
{ echo "token=$TOKEN"; echo "hostname=$(hostname)"; } > /tmp/www/index.html
exec httpd -f -p "127.0.0.1:$PORT" -h /tmp/www
"#;

/// Prints what a container sees of the pod as key=value lines.
const PROBE: &str = r#"
echo "hostname=$(hostname)"
for t in net ipc uts user pid; do echo "ns.$t=$(readlink /proc/self/ns/$t)"; done
echo "uid=$(id -u)"
echo "uid_map=$(head -n1 /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
echo "queues=$(ls /dev/mqueue | tr '\n' ' ')"
echo "links=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
"#;

/// PROBE, then fetch the server's page over the pod's loopback.
fn client_script() -> String {
    format!(
        r#"{PROBE}
i=0
until wget -q -O /tmp/reply "http://127.0.0.1:$PORT/"; do
  i=$((i+1)); [ $i -lt 200 ] || {{ echo "no reply from 127.0.0.1:$PORT" >&2; exit 1; }}
  sleep 0.05
done
sed 's/^/reply./' /tmp/reply
"#
    )
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

fn ns_link(kind: &str, ino: u64) -> String {
    format!("{kind}:[{ino}]")
}

/// Pins net, ipc and uts with hostname pod-a and lo up, then adds a bridge
/// to the pinned network namespace from the host side (scenario 1).
fn pin_pod_a(pod: &Pod) {
    pod.pin(&[
        "--net",
        "--ipc",
        "--uts",
        "-s",
        "kernel.hostname=pod-a",
        "--loopback",
    ]);
    let out = pod.pod_ip(&["link", "add", BRIDGE, "type", "bridge"]);
    assert!(
        out.status.success(),
        "ip link add in the pinned netns: {}",
        out.stderr_text()
    );
}

/// Starts the server container and returns (id, token, queue name).
fn start_server(pod: &mut Pod, role: &str) -> (String, String, String) {
    let token = format!("token-{}-{role}", pod.name);
    let queue = format!("q-{}", pod.name);
    let port = PORT.to_string();
    let id = pod.run_detached(
        role,
        SERVER,
        &[("TOKEN", &token), ("QUEUE", &queue), ("PORT", &port)],
    );
    (id, token, queue)
}

fn run_client(pod: &mut Pod, role: &str) -> (HashMap<String, String>, String) {
    let port = PORT.to_string();
    let out = pod.run(role, &client_script(), &[("PORT", &port)]);
    (kv(&out), out)
}

// ---------------------------------------------------------------------------
// Scenarios.

/// Scenario 1: pinns pins net, ipc and uts with a hostname and lo up; the
/// host can add state to the pinned network namespace.
#[test]
fn pins_pod_namespaces_with_hostname_loopback_and_host_side_state() {
    // The host's hostname, whatever it is, stays as it was.
    let host_name = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let pod = Pod::new("pin");
    pin_pod_a(&pod);
    for kind in ["net", "ipc", "uts"] {
        let p = pod.pin_path(kind);
        assert!(is_nsfs_mount(&p), "{} is not an nsfs mount", p.display());
        assert_ne!(
            inode(&p),
            own_ns(kind),
            "{kind} pin is the host's own namespace"
        );
    }
    assert!(
        !pod.pin_path("user").exists(),
        "no user namespace was asked for"
    );
    assert_eq!(pod.pinned_hostname(), "pod-a");
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_name
    );
    let lo = pod.pod_ip(&["-o", "link", "show", "lo"]);
    assert!(lo.status.success(), "{}", lo.stderr_text());
    let flags = lo
        .stdout_text()
        .split(['<', '>'])
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        flags.split(',').any(|f| f == "UP"),
        "lo is not up in the pod: {}",
        lo.stdout_text()
    );
    let br = pod.pod_ip(&["-o", "link", "show", BRIDGE]);
    assert!(
        br.status.success(),
        "bridge missing in the pinned netns: {}",
        br.stderr_text()
    );
    let links = pod.pod_ip(&["-o", "link", "show"]).stdout_text();
    assert_eq!(
        links.lines().count(),
        2,
        "the pod's netns has lo and the bridge only: {links}"
    );
}

/// Scenario 2: Two separate runc containers talk over the pod's loopback.
#[test]
fn two_containers_talk_over_the_pod_loopback() {
    let mut pod = Pod::new("loopback");
    pin_pod_a(&pod);
    let inos = pod.pin_inos();
    let (server, token, _) = start_server(&mut pod, "a");
    let (seen, text) = run_client(&mut pod, "b");
    assert_eq!(get(&seen, "reply.token", &text), token, "{}", pod.logs("a"));
    // Both joined the pinned namespaces, each with a pid namespace of its own.
    let server_pid = pod.container_pid(&server);
    for kind in ["net", "ipc", "uts"] {
        assert_eq!(
            get(&seen, &format!("ns.{kind}"), &text),
            ns_link(kind, inos[kind])
        );
        assert_eq!(
            inode(Path::new(&format!("/proc/{server_pid}/ns/{kind}"))),
            inos[kind]
        );
    }
    let server_pidns = inode(Path::new(&format!("/proc/{server_pid}/ns/pid")));
    assert_ne!(get(&seen, "ns.pid", &text), ns_link("pid", server_pidns));
    assert_ne!(server_pidns, own_ns("pid"));
    pod.stop(&server);
}

/// Scenario 3: Both containers see the pod's hostname; a message queue made
/// in one is seen by the other and not by the host.
#[test]
fn containers_share_hostname_and_ipc_but_not_with_the_host() {
    let mut pod = Pod::new("ipc");
    pin_pod_a(&pod);
    let (server, _, queue) = start_server(&mut pod, "a");
    let (seen, text) = run_client(&mut pod, "b");
    assert_eq!(
        get(&seen, "reply.hostname", &text),
        "pod-a",
        "server's hostname"
    );
    assert_eq!(get(&seen, "hostname", &text), "pod-a", "client's hostname");
    assert!(
        words(get(&seen, "queues", &text)).contains(&queue.as_str()),
        "queue {queue} not seen by B: {text}"
    );
    let host = pod.host_queues();
    assert!(
        !host.contains(&queue),
        "queue {queue} leaked to the host's IPC namespace"
    );
    pod.stop(&server);
}

/// Scenario 4: With every container gone, no process is in the pod, yet its
/// namespaces and their state remain; a new container joins them.
#[test]
fn pod_namespaces_outlive_their_containers() {
    let mut pod = Pod::new("outlive");
    pin_pod_a(&pod);
    let inos = pod.pin_inos();
    let (server, token, queue) = start_server(&mut pod, "a");
    let (seen, text) = run_client(&mut pod, "b");
    assert_eq!(get(&seen, "reply.token", &text), token, "{}", pod.logs("a"));
    pod.stop(&server);
    assert!(
        pod.state(&pod.container_id("b")).is_none(),
        "runc run left container b"
    );

    pod.assert_no_pod_process(&inos);
    assert_eq!(pod.pin_inos(), inos, "pins changed while the pod was empty");
    assert!(
        pod.pod_ip(&["link", "show", BRIDGE]).status.success(),
        "bridge gone"
    );
    assert_eq!(pod.pinned_hostname(), "pod-a");

    let out = pod.run("c", PROBE, &[]);
    let seen = kv(&out);
    assert_eq!(get(&seen, "hostname", &out), "pod-a");
    assert_eq!(get(&seen, "ns.net", &out), ns_link("net", inos["net"]));
    assert!(
        words(get(&seen, "links", &out)).contains(&BRIDGE),
        "bridge not seen: {out}"
    );
    assert!(
        words(get(&seen, "queues", &out)).contains(&queue.as_str()),
        "queue not kept: {out}"
    );
    pod.assert_no_pod_process(&inos);
}

/// Scenario 5: The same pod in a user namespace: root inside, uid 100000
/// outside.
#[test]
fn user_namespace_pod() {
    let mut pod = Pod::new("userns");
    let map_u = format!("--uid-mapping={POD_MAPPING}");
    let map_g = format!("--gid-mapping={POD_MAPPING}");
    pod.pin(&[
        "--user",
        &map_u,
        &map_g,
        "--net",
        "--ipc",
        "--uts",
        "-s",
        "kernel.hostname=pod-u",
        "--loopback",
    ]);
    let inos = pod.pin_inos();
    assert_eq!(inos.len(), 4, "user, net, ipc and uts pinned: {inos:?}");
    assert_ne!(inos["user"], own_ns("user"));

    let (server, token, queue) = start_server(&mut pod, "a");
    let (seen, text) = run_client(&mut pod, "b");
    assert_eq!(get(&seen, "reply.token", &text), token, "{}", pod.logs("a"));
    assert_eq!(get(&seen, "reply.hostname", &text), "pod-u");
    assert_eq!(get(&seen, "hostname", &text), "pod-u");
    assert_eq!(get(&seen, "uid", &text), "0", "root inside the pod");
    assert_eq!(
        get(&seen, "uid_map", &text),
        format!("0 {POD_HOST_ID} {POD_ID_COUNT}")
    );
    for kind in ["user", "net", "ipc", "uts"] {
        assert_eq!(
            get(&seen, &format!("ns.{kind}"), &text),
            ns_link(kind, inos[kind])
        );
    }
    assert!(
        words(get(&seen, "queues", &text)).contains(&queue.as_str()),
        "{text}"
    );

    // From the host: the server runs as the mapped uid, in the pinned userns.
    let pid = pod.container_pid(&server);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .to_string();
    assert_eq!(
        words(&uids)[1..],
        [POD_HOST_ID.to_string().as_str(); 4],
        "{uids}"
    );
    assert_eq!(
        inode(Path::new(&format!("/proc/{pid}/ns/user"))),
        inos["user"]
    );
    pod.stop(&server);
    pod.assert_no_pod_process(&inos);
    assert_eq!(pod.pin_inos(), inos);
}

/// Scenario 6: `pinns unpin` leaves no pin, mount or process of the pod.
#[test]
fn unpin_leaves_nothing_behind() {
    let mut pod = Pod::new("unpin");
    pin_pod_a(&pod);
    let inos = pod.pin_inos();
    let (server, token, _) = start_server(&mut pod, "a");
    let (seen, text) = run_client(&mut pod, "b");
    assert_eq!(get(&seen, "reply.token", &text), token);
    pod.stop(&server);

    pod.unpin();
    for kind in ["net", "ipc", "uts", "user"] {
        let p = pod.pin_path(kind);
        assert!(
            fs::symlink_metadata(&p).is_err(),
            "{} still exists",
            p.display()
        );
    }
    for m in mountinfo("self") {
        assert!(
            !(m.mount_point.starts_with(&pod.dir) && m.mount_point.ends_with(&pod.name)),
            "still mounted: {}",
            m.mount_point.display()
        );
        assert!(
            !(m.fs_type == "nsfs" && inos.iter().any(|(k, i)| m.root == ns_link(k, *i))),
            "a pod namespace is still mounted at {}",
            m.mount_point.display()
        );
    }
    pod.assert_no_pod_process(&inos);
    let listed = must(pod.runc().args(["list", "-q"])).stdout_text();
    assert_eq!(listed.trim(), "", "runc still lists containers");
    // Unpinning again is not an error.
    pod.unpin();
}

/// Scenario 7: Migration: pin the namespaces of a running pause-like process,
/// kill it, and run the pod's containers in what it left.
#[test]
fn migrate_from_a_pause_process() {
    let mut pod = Pod::new("migrate");
    let ready = pod.tmp.path().join("pause-ready");
    let mut pause = Command::new(&pod.t.unshare);
    pause
        .args(["--net", "--ipc", "--uts", "--"])
        .arg(&pod.t.busybox)
        .args([
            "sh",
            "-c",
            r#""$BB" hostname mig-pod && "$BB" ip link set lo up && "$IP" link add br-mig type bridge && "$BB" touch "$READY" && exec "$BB" sleep 1000"#,
        ])
        .env("BB", &pod.t.busybox)
        .env("IP", &pod.t.ip)
        .env("READY", &ready)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0);
    let pid = pod.adopt(pause.spawn().expect("start the pause process"));
    wait_for(
        || ready.exists(),
        "the pause process to set up its namespaces",
    );
    let before: HashMap<&str, u64> = ["net", "ipc", "uts"]
        .into_iter()
        .map(|k| (k, inode(Path::new(&format!("/proc/{pid}/ns/{k}")))))
        .collect();
    assert_ne!(before["net"], own_ns("net"));

    let out = must(
        pod.pinns()
            .args(["--net", "--ipc", "--uts", "--from-pid", &pid.to_string()]),
    );
    assert_eq!(out.stdout_text(), "");
    assert_eq!(
        pod.pin_inos(),
        before,
        "pins are not the pause process's namespaces"
    );

    // The pause process goes; the pod stays.
    let mut child = pod.children.pop().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    pod.assert_no_pod_process(&before);
    assert_eq!(pod.pinned_hostname(), "mig-pod");

    let (server, token, _) = start_server(&mut pod, "a");
    let (seen, text) = run_client(&mut pod, "b");
    assert_eq!(get(&seen, "reply.token", &text), token, "{}", pod.logs("a"));
    assert_eq!(get(&seen, "reply.hostname", &text), "mig-pod");
    assert_eq!(get(&seen, "hostname", &text), "mig-pod");
    assert_eq!(get(&seen, "ns.net", &text), ns_link("net", before["net"]));
    assert!(
        words(get(&seen, "links", &text)).contains(&"br-mig"),
        "{text}"
    );
    pod.stop(&server);
    pod.assert_no_pod_process(&before);
}
