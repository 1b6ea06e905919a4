//! Sysctls to set inside the new namespaces before they are pinned.
//!
//! Keys are accepted in both sysctl(8) notations and checked here, without
//! a system call: every component is a plain name (nothing empty, `.`,
//! `..` or absolute can climb out of `/proc/sys`), and the key must belong
//! to a namespace the call creates anew, or writing it would change the
//! host. The write itself opens the key beneath `/proc/sys` with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, so even a symlink
//! under `/proc/sys` cannot redirect it; kernels before 5.6, which lack
//! openat2, get the same guarantee from a walk of one `openat` per
//! component, each with `O_NOFOLLOW` and checked to be on procfs.

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::Error;
use crate::kernel::{self, Call};
use crate::ns::Kind;

/// The longest hostname or domain name the kernel takes (`__NEW_UTS_LEN`).
const UTS_LEN: usize = 64;

/// `PROC_SUPER_MAGIC` from `<linux/magic.h>`: the filesystem of `/proc`.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// The longest name of one path component (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// One `KEY=VALUE` sysctl.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sysctl {
    key: String,
    path: CString,
    value: String,
    owner: Kind,
}

/// How a key is applied: a file under `/proc/sys`, or the system calls
/// the kernel notes ask for (with a user namespace, `kernel.hostname` is
/// only writable through `/proc/sys` before becoming root inside it, and
/// the IPC keys only after; the system calls work in both states).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A file beneath `/proc/sys`.
    File,
    /// sethostname(2).
    Hostname,
    /// setdomainname(2).
    Domainname,
}

impl Sysctl {
    /// The key as the user wrote it.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value to write.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The key as a path relative to `/proc/sys` (`net/ipv4/ip_forward`).
    pub fn path(&self) -> &str {
        self.path.to_str().unwrap_or_default()
    }

    /// The namespace the key lives in.
    pub fn owner(&self) -> Kind {
        self.owner
    }

    pub(crate) fn target(&self) -> Target {
        match self.path() {
            "kernel/hostname" => Target::Hostname,
            "kernel/domainname" => Target::Domainname,
            _ => Target::File,
        }
    }

    /// Applies the sysctl in the calling thread's namespaces.
    ///
    /// Async-signal-safe (no allocation), so a forked helper may call it.
    pub(crate) fn apply(&self, proc_sys: BorrowedFd<'_>) -> Result<(), Errno> {
        match self.target() {
            Target::Hostname => rustix::system::sethostname(self.value.as_bytes()),
            Target::Domainname => rustix::system::setdomainname(self.value.as_bytes()),
            Target::File => {
                let fd = open_beneath(
                    proc_sys,
                    self.path.as_c_str(),
                    OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
                )?;
                let written =
                    crate::error::restart(|| rustix::io::write(&fd, self.value.as_bytes()))?;
                if written == self.value.len() {
                    Ok(())
                } else {
                    Err(Errno::IO)
                }
            }
        }
    }
}

/// Opens `path`, relative and made of plain names, beneath the directory
/// `root` (`/proc/sys`) with `flags`, following no symlink on the way.
/// Async-signal-safe (no allocation).
fn open_beneath(root: BorrowedFd<'_>, path: &CStr, flags: OFlags) -> Result<OwnedFd, Errno> {
    // Why openat2: RESOLVE_BENEATH keeps the lookup under /proc/sys,
    // RESOLVE_NO_SYMLINKS refuses any link on the way.
    match kernel::try_call(Call::Openat2, || {
        rustix::fs::openat2(
            root,
            path,
            flags,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        )
    }) {
        // ENOSYS before 5.6; EPERM from the seccomp profiles of container
        // engines that answer so for system calls they do not know. The
        // walk is as safe, and a real refusal shows again in it.
        Err(Errno::NOSYS | Errno::PERM) => open_walk(root, path.to_bytes(), flags),
        other => other,
    }
}

/// [`open_beneath`] for kernels without openat2 (before 5.6): one
/// `openat` per component, relative to the directory the last one opened,
/// each with `O_NOFOLLOW` (a symlinked directory fails with `ENOTDIR`, a
/// symlinked file with `ELOOP`), and each checked with `fstatfs` to still
/// be on procfs (`EXDEV` otherwise), so neither a link nor a mount on the
/// way can lead the write out of `/proc/sys`. `.` and `..` are refused
/// (`EINVAL`), though a parsed key never has them. Async-signal-safe: each
/// name is copied into a buffer on the stack to be NUL-terminated.
fn open_walk(root: BorrowedFd<'_>, path: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
    let mut dir: Option<OwnedFd> = None;
    let mut rest = path;
    loop {
        let (name, next) = match rest.iter().position(|b| *b == b'/') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if name.is_empty() || name == b"." || name == b".." {
            return Err(Errno::INVAL);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::NAMETOOLONG);
        }
        let mut buf = [0u8; NAME_MAX + 1];
        buf[..name.len()].copy_from_slice(name);
        let c_name = CStr::from_bytes_until_nul(&buf).map_err(|_| Errno::INVAL)?;
        let at = dir.as_ref().map_or(root, |fd| fd.as_fd());
        let step_flags = match next {
            Some(_) => OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            None => flags | OFlags::NOFOLLOW,
        };
        let fd = rustix::fs::openat(at, c_name, step_flags, Mode::empty())?;
        if rustix::fs::fstatfs(&fd)?.f_type != PROC_SUPER_MAGIC {
            return Err(Errno::XDEV);
        }
        match next {
            Some(next) => {
                dir = Some(fd);
                rest = next;
            }
            None => return Ok(fd),
        }
    }
}

/// Turns a key in either sysctl(8) notation into a path under `/proc/sys`.
///
/// The notation is told by the first separator, as sysctl(8) does: in the
/// dotted form a `/` stands for a literal dot (`eth0/100` is `eth0.100`);
/// in the slashed form dots are literal.
fn key_to_path(key: &str) -> Result<String, String> {
    let slashed = key
        .find(['.', '/'])
        .is_some_and(|i| key.as_bytes()[i] == b'/');
    let components: Vec<String> = if slashed {
        key.split('/').map(str::to_string).collect()
    } else {
        key.split('.').map(|c| c.replace('/', ".")).collect()
    };
    if components.len() < 2 {
        return Err("it names no sysctl file".into());
    }
    for c in &components {
        if c.is_empty() || c == "." || c == ".." {
            return Err(format!("component '{c}' would leave /proc/sys"));
        }
    }
    Ok(components.join("/"))
}

/// The namespace that owns the sysctl at `path`, if it is namespaced at all.
fn owner_of(path: &str) -> Option<Kind> {
    let (top, rest) = path.split_once('/')?;
    match top {
        "net" => Some(Kind::Net),
        "fs" if rest.starts_with("mqueue/") => Some(Kind::Ipc),
        "kernel" => match rest {
            "hostname" | "domainname" => Some(Kind::Uts),
            _ if rest.starts_with("shm") || rest.starts_with("msg") || rest.starts_with("sem") => {
                Some(Kind::Ipc)
            }
            _ => None,
        },
        _ => None,
    }
}

impl Sysctl {
    /// Parses one sysctl argument as `pinns -s` takes it: `KEY=VALUE`, or
    /// the form CRI-O 1.21 to 1.23 pass all of a pod's sysctls in, one
    /// argument of quoted items joined by `+`
    /// (`'net.ipv4.ip_forward=1'+'kernel.shm_rmid_forced=1'`).
    ///
    /// The second form is taken only when the whole argument has that
    /// shape: it starts with a quote, which no valid key does, so no
    /// `KEY=VALUE` that parses today changes meaning. Each item is then a
    /// `KEY=VALUE` of its own (those releases refuse a `+` inside one).
    ///
    /// ```
    /// use pinns::Sysctl;
    ///
    /// let one = Sysctl::parse_arg("net.ipv4.ip_forward=1")?;
    /// let crio = Sysctl::parse_arg("'net.ipv4.ip_forward=1'+'kernel.shm_rmid_forced=1'")?;
    /// assert_eq!(one.len(), 1);
    /// assert_eq!(crio[1].key(), "kernel.shm_rmid_forced");
    /// # Ok::<(), pinns::Error>(())
    /// ```
    pub fn parse_arg(arg: &str) -> Result<Vec<Sysctl>, Error> {
        match quoted_items(arg) {
            Some(items) => items.into_iter().map(str::parse).collect(),
            None => Ok(vec![arg.parse()?]),
        }
    }
}

/// The items of `'A'+'B'+...` when `arg` is wholly of that shape (each
/// item quoted, holding no quote itself, not empty), else `None`.
fn quoted_items(arg: &str) -> Option<Vec<&str>> {
    let inner = arg.strip_prefix('\'')?.strip_suffix('\'')?;
    let items: Vec<&str> = inner.split("'+'").collect();
    items
        .iter()
        .all(|item| !item.is_empty() && !item.contains('\''))
        .then_some(items)
}

impl std::str::FromStr for Sysctl {
    type Err = Error;

    fn from_str(text: &str) -> Result<Sysctl, Error> {
        let invalid = |why: &str| Error::InvalidArgument {
            what: "sysctl",
            value: text.to_string(),
            why: why.to_string(),
        };
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| invalid("expected KEY=VALUE"))?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(invalid("the key is empty"));
        }
        if value.is_empty() {
            return Err(invalid("the value is empty"));
        }
        if text.contains('\0') {
            return Err(invalid("it contains a NUL byte"));
        }
        let path = key_to_path(key).map_err(|why| invalid(&why))?;
        let owner = owner_of(&path).ok_or_else(|| {
            invalid(
                "only net.*, kernel.shm*, kernel.msg*, kernel.sem*, fs.mqueue.*, \
                 kernel.hostname and kernel.domainname belong to a namespace pinns creates",
            )
        })?;
        if matches!(path.as_str(), "kernel/hostname" | "kernel/domainname") && value.len() > UTS_LEN
        {
            return Err(invalid("the value is longer than 64 bytes"));
        }
        Ok(Sysctl {
            key: key.to_string(),
            path: CString::new(path).map_err(|_| invalid("it contains a NUL byte"))?,
            value: value.to_string(),
            owner,
        })
    }
}

impl fmt::Display for Sysctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crio_quoted_list_only_when_wholly_of_that_shape() {
        let keys = |arg: &str| {
            Sysctl::parse_arg(arg).map(|v| {
                v.iter()
                    .map(|s| format!("{}={}", s.key(), s.value()))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            keys("'net.ipv4.ip_forward=1'+'kernel.shm_rmid_forced=1'").unwrap(),
            ["net.ipv4.ip_forward=1", "kernel.shm_rmid_forced=1"]
        );
        assert_eq!(
            keys("'net.ipv4.ip_forward=1'").unwrap(),
            ["net.ipv4.ip_forward=1"]
        );
        // Values with spaces and `=` stay whole inside an item.
        assert_eq!(
            keys("'net.ipv4.ping_group_range=0 2147483647'+'kernel.hostname=a=b'").unwrap(),
            [
                "net.ipv4.ping_group_range=0 2147483647",
                "kernel.hostname=a=b"
            ]
        );
        // Plain KEY=VALUE means what it always meant, a `+` or quote in
        // the value included.
        assert_eq!(
            keys("kernel.hostname=a+b").unwrap(),
            ["kernel.hostname=a+b"]
        );
        assert_eq!(
            keys("kernel.domainname='x'+'y'").unwrap(),
            ["kernel.domainname='x'+'y'"]
        );
        // Half the shape is no list: refused as the plain key it is.
        for arg in [
            "'net.ipv4.ip_forward=1",
            "'net.ipv4.ip_forward=1'+",
            "''",
            "'a'b'",
            "'net.ipv4.ip_forward=1'+''",
        ] {
            assert!(keys(arg).is_err(), "{arg}");
        }
    }

    fn parse(text: &str) -> Sysctl {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn both_notations() {
        let s = parse("net.ipv4.conf.eth0/100.forwarding=1");
        assert_eq!(s.path(), "net/ipv4/conf/eth0.100/forwarding");
        assert_eq!(s.owner(), Kind::Net);
        let s = parse("net/ipv4/conf/eth0.100/forwarding=1");
        assert_eq!(s.path(), "net/ipv4/conf/eth0.100/forwarding");
        assert_eq!(parse("kernel.shmmax=1").owner(), Kind::Ipc);
        assert_eq!(parse("kernel.msgmnb=1").owner(), Kind::Ipc);
        assert_eq!(parse("kernel.sem=1 2 3 4").owner(), Kind::Ipc);
        assert_eq!(parse("fs.mqueue.msg_max=20").owner(), Kind::Ipc);
        assert_eq!(parse("kernel.hostname=pod").target(), Target::Hostname);
        assert_eq!(parse("kernel/domainname=x").target(), Target::Domainname);
    }

    #[test]
    fn value_keeps_equals_and_spaces() {
        let s = parse("net.ipv4.ping_group_range=0 2147483647");
        assert_eq!(s.value(), "0 2147483647");
        assert_eq!(parse("net.core.x=a=b").value(), "a=b");
    }

    /// The walk kernels without openat2 use: it reaches a key of
    /// `/proc/sys`, and refuses a symlink (of a directory or of the file)
    /// and anything not on procfs.
    #[test]
    fn walk_stays_on_procfs_and_follows_no_symlink() {
        use std::os::unix::fs::symlink;
        let open_dir = |path: &std::path::Path| {
            rustix::fs::open(
                path,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .unwrap()
        };
        let proc_sys = open_dir("/proc/sys".as_ref());
        let fd = open_walk(proc_sys.as_fd(), b"kernel/ostype", OFlags::RDONLY).unwrap();
        let mut buf = [0u8; 16];
        let n = rustix::io::read(&fd, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"Linux\n");
        assert_eq!(
            open_walk(proc_sys.as_fd(), b"kernel/no-such-key", OFlags::RDONLY).err(),
            Some(Errno::NOENT)
        );
        for bad in [
            &b"kernel/../kernel/ostype"[..],
            b"kernel//ostype",
            b"./kernel/ostype",
        ] {
            assert_eq!(
                open_walk(proc_sys.as_fd(), bad, OFlags::RDONLY).err(),
                Some(Errno::INVAL),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }

        let tmp = std::env::temp_dir().join(format!("pinns-walk-{}", std::process::id()));
        std::fs::create_dir_all(tmp.join("dir")).unwrap();
        std::fs::write(tmp.join("dir/file"), b"").unwrap();
        symlink("dir", tmp.join("dirlink")).unwrap();
        symlink("dir/file", tmp.join("filelink")).unwrap();
        let root = open_dir(&tmp);
        let result = |path: &[u8]| open_walk(root.as_fd(), path, OFlags::RDONLY).err();
        let (via_dirlink, via_filelink, off_procfs) = (
            result(b"dirlink/file"),
            result(b"filelink"),
            result(b"dir/file"),
        );
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_eq!(via_dirlink, Some(Errno::NOTDIR));
        assert_eq!(via_filelink, Some(Errno::LOOP));
        assert_eq!(off_procfs, Some(Errno::XDEV));
    }

    #[test]
    fn refuses_escapes_and_host_keys() {
        for bad in [
            "=1",
            "net.ipv4.ip_forward=",
            "noequals",
            "../../../etc/x=1",
            "net/../../kernel/x=1",
            "/etc/passwd=1",
            "net..ipv4=1",
            "net.=1",
            "net=1",
            "kernel.panic=1",
            "vm.swappiness=1",
            "fs.file-max=1",
            "net/./x=1",
            "net.x\0y=1",
        ] {
            assert!(bad.parse::<Sysctl>().is_err(), "{bad:?} was accepted");
        }
    }
}
