//! Safe mounting: the only module that mounts or unmounts anything in a
//! shared mount namespace. (`netns_view.rs` mounts too, but only in the
//! mount namespace of its own `pinns exec` makes for the command.)
//!
//! Everything is done relative to file descriptors, never by re-resolving
//! a path the user (or an attacker sharing the directory) could swap:
//!
//! - the pin directory is opened once; each type directory beneath it is
//!   opened with `O_NOFOLLOW`, so a planted `DIR/netns -> /etc` is refused;
//! - a pin file is created with `O_CREAT | O_EXCL | O_NOFOLLOW` (or an
//!   existing empty one opened with `O_NOFOLLOW`), and the namespace is
//!   mounted onto *that open file* with `open_tree` + `move_mount`, so a
//!   racing rename or symlink swap cannot redirect the mount;
//! - before unmounting, the open path is checked to really be a namespace
//!   (`inspect`, the one view of a pin path), and it is unmounted with
//!   `MNT_DETACH | UMOUNT_NOFOLLOW` through the type directory's descriptor.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags, StatxAttributes, StatxFlags};
use rustix::io::Errno;
use rustix::mount::{
    MountFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags,
};

use crate::error::{Context, Error, Operation, Result, restart};
use crate::inspect::{self, NotAPin, PinPath};
use crate::ns::Kind;
use crate::plan::TypeDirs;

/// How many mounts may be stacked on one pin before unpin gives up.
const MAX_STACKED: usize = 64;

/// The mode of a new pin file; the namespace mounted on it shows its own.
const PIN_FILE_MODE: u32 = 0o444;

/// The mode of directories pinns creates (`DIR` and `DIR/<type>ns`).
const DIR_MODE: u32 = 0o755;

/// An open pin directory (`-d DIR`).
#[derive(Debug)]
pub struct PinDir {
    path: PathBuf,
    fd: OwnedFd,
}

/// An exclusive `flock` on the pin directory, released when dropped.
///
/// It serialises the short steps that must not interleave between
/// concurrent `pinns` on one directory: the one-time propagation set-up
/// of a type directory, and the creation or removal of one NAME's pins,
/// so a racing pin and unpin of NAME leave it whole or absent.
#[must_use]
pub struct DirLock<'a>(BorrowedFd<'a>);

impl Drop for DirLock<'_> {
    fn drop(&mut self) {
        // Unlocking a lock we hold cannot fail in a way we could act on.
        let _ = restart(|| rustix::fs::flock(self.0, FlockOperation::Unlock));
    }
}

/// The path through which the kernel reaches an open file descriptor.
fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

impl PinDir {
    /// Opens `path`, creating it (and its parents, mode 0755) when `create`
    /// is set. A symlinked `DIR` is fine (`/var/run -> /run`).
    pub fn open(path: &Path, create: bool) -> Result<PinDir> {
        let open = || {
            rustix::fs::open(
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
        };
        let fd = match open() {
            Err(Errno::NOENT) if create => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(DIR_MODE)
                    .create(path)
                    .map_err(|e| Error::Os {
                        op: format!("creating pin directory {}", path.display()),
                        path: Some(path.to_path_buf()),
                        source: e,
                    })?;
                open().and_then(|fd| {
                    // 0755 whatever the umask: other users (a container's
                    // remapped root) must be able to reach the pins.
                    chmod_dir(fd.as_fd())?;
                    Ok(fd)
                })
            }
            other => other,
        }
        .map_err(|errno| {
            Error::os_at(
                format!("opening pin directory {}", path.display()),
                path,
                errno,
            )
        })?;
        Ok(PinDir {
            path: path.to_path_buf(),
            fd,
        })
    }

    /// The pin directory's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of NAME's pin of `kind`: `DIR/<type>ns/NAME`.
    pub fn pin_path(&self, kind: Kind, name: &str) -> PathBuf {
        // One allocation rather than join's two: an unpin makes eight.
        let len = self.path.as_os_str().len() + kind.dir().len() + name.len() + 2;
        let mut path = PathBuf::with_capacity(len);
        path.push(&self.path);
        path.push(kind.dir());
        path.push(name);
        path
    }

    /// Takes the directory's lock, waiting for it.
    pub fn lock(&self) -> Result<DirLock<'_>> {
        // Blocks while another pinns holds it: a signal may interrupt.
        restart(|| rustix::fs::flock(&self.fd, FlockOperation::LockExclusive))
            .with(|| format!("locking pin directory {}", self.path.display()))?;
        Ok(DirLock(self.fd.as_fd()))
    }

    /// Opens the type directory of `kind`, or `None` when it does not exist.
    /// A symlink or any other non-directory there is refused.
    pub fn type_dir(&self, kind: Kind) -> Result<Option<OwnedFd>> {
        // Why O_NOFOLLOW: DIR/netns is ours to trust only if it is a real
        // directory; a symlink to /etc must not become the pin's home.
        match rustix::fs::openat(
            &self.fd,
            kind.dir(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::NOTDIR | Errno::LOOP) => Err(Error::NotADirectory {
                path: self.path.join(kind.dir()),
            }),
            Err(errno) => {
                let path = self.path.join(kind.dir());
                Err(Error::os_at(
                    format!("opening {}", path.display()),
                    path,
                    errno,
                ))
            }
        }
    }

    /// Opens the type directory of each of `kinds` (creating it when
    /// missing), in order, each set up for pinning as `setup` says.
    ///
    /// With [`TypeDirs::SharedSelfBind`] (the `ip netns` way): where the
    /// mount that holds a type directory is shared (systemd's default, and
    /// every Kubernetes node's), pins made in it already propagate to the
    /// mount namespaces that bind-mounted it earlier, and nothing is
    /// mounted. Only where that mount is not shared is the directory made
    /// a mount of its own, shared in a peer group of its own (bind to
    /// itself, private, then shared), so a pin made later still appears in
    /// those namespaces, exactly once. With [`TypeDirs::PinsOnly`] (CRI-O's
    /// C pinns) no type directory is mounted, whatever the propagation.
    ///
    /// `mntns` is an unbindable self-bind either way: a mount namespace can
    /// only be pinned where the pin cannot propagate into the namespace
    /// itself. A type directory that is a mount of its own already (an
    /// earlier pinns, `ip netns`) is used as it is.
    ///
    /// The propagation is read from the kernel at most once per call, under
    /// the directory lock, and only when some directory is not a mount of
    /// its own yet.
    pub fn prepare_type_dirs(
        &self,
        kinds: impl IntoIterator<Item = Kind>,
        setup: TypeDirs,
    ) -> Result<Vec<OwnedFd>> {
        let mut lock: Option<DirLock<'_>> = None;
        let mut shared: Option<bool> = None;
        let mut fds = Vec::new();
        for kind in kinds {
            let fd = self.open_or_make_type_dir(kind)?;
            fds.push(self.prepare_one(kind, fd, setup, &mut shared, &mut || {
                if lock.is_none() {
                    lock = Some(self.lock()?);
                }
                Ok(())
            })?);
        }
        Ok(fds)
    }

    /// Under the lock the caller holds: each of `fds` (from
    /// [`PinDir::prepare_type_dirs`], opened before the lock) if it is
    /// still the type directory at its path, else the type directory set
    /// up again. A concurrent unpin of the last pin of a type directory
    /// may have taken its self-bind down meanwhile, and a pin made in a
    /// detached mount would be seen nowhere.
    pub fn recheck_type_dirs(
        &self,
        kinds: &[Kind],
        fds: Vec<OwnedFd>,
        setup: TypeDirs,
        _lock: &DirLock<'_>,
    ) -> Result<Vec<OwnedFd>> {
        let mut shared: Option<bool> = None;
        let mut out = Vec::with_capacity(fds.len());
        for (&kind, fd) in kinds.iter().zip(fds) {
            let display = || format!("inspecting {}", self.path.join(kind.dir()).display());
            let want = StatxFlags::INO | StatxFlags::MNT_ID;
            let held = rustix::fs::statx(&fd, "", AtFlags::EMPTY_PATH, want).with(display)?;
            let now = rustix::fs::statx(&self.fd, kind.dir(), AtFlags::SYMLINK_NOFOLLOW, want)
                .with(display)?;
            let same = |a: &rustix::fs::Statx, b: &rustix::fs::Statx| {
                (a.stx_ino, a.stx_dev_major, a.stx_dev_minor, a.stx_mnt_id)
                    == (b.stx_ino, b.stx_dev_major, b.stx_dev_minor, b.stx_mnt_id)
            };
            if same(&held, &now) {
                out.push(fd);
                continue;
            }
            drop(fd);
            let fd = self.open_or_make_type_dir(kind)?;
            out.push(self.prepare_one(kind, fd, setup, &mut shared, &mut || Ok(()))?);
        }
        Ok(out)
    }

    /// Sets one type directory up (see [`PinDir::prepare_type_dirs`]);
    /// `lock` takes the directory lock (or knows it is held) before any
    /// change.
    fn prepare_one(
        &self,
        kind: Kind,
        fd: OwnedFd,
        setup: TypeDirs,
        shared: &mut Option<bool>,
        lock: &mut dyn FnMut() -> Result<()>,
    ) -> Result<OwnedFd> {
        let probe = self.probe(&fd, kind)?;
        // Fast path, no lock: set up by us or an earlier pinns already.
        // (A pinns killed between a self-bind and its propagation change
        // leaves a mount root of the wrong propagation: repaired below,
        // under the lock.)
        if probe.root && !half_set_up(fd.as_fd(), kind) {
            return Ok(fd);
        }
        // CRI-O's footprint: only mntns is ever mounted.
        if kind != Kind::Mnt && !probe.root && setup == TypeDirs::PinsOnly {
            return Ok(fd);
        }
        lock()?;
        if kind != Kind::Mnt && !probe.root {
            // Not a mount root: the mount that holds it is the one that
            // holds DIR, the same for every type directory, so it is asked
            // about once. A shared one needs nothing mounted, and no pinns
            // self-binds a directory there, so the descriptor opened
            // before the lock still names the right mount.
            let is_shared = match *shared {
                Some(known) => known,
                None => *shared.insert(holder_is_shared(fd.as_fd(), probe.mount)),
            };
            if is_shared {
                return Ok(fd);
            }
            // Pins made here already (the `PinsOnly` way) would be hidden
            // under a self-bind, which does not carry the mounts beneath
            // it: such a directory stays as it is, its pins in plain view.
            let display = || self.path.join(kind.dir()).display().to_string();
            if has_mount_inside(fd.as_fd(), &display)? {
                return Ok(fd);
            }
        }
        self.self_bind_locked(kind)
    }

    /// Under the lock the caller holds: takes down the self-bind of the
    /// type directory of `kind` when nothing is mounted in it any more,
    /// and says whether it did.
    ///
    /// Only a self-bind is taken down, a mount of that very directory onto
    /// itself (what pinns and `ip netns add` make), never a mount of
    /// anything else there; and only when no entry of the directory is a
    /// mount point, so no pin is ever taken down with it. The files in it
    /// stay: they are the directory's own, seen again once it is gone.
    pub fn drop_self_bind_locked(&self, kind: Kind, _lock: &DirLock<'_>) -> Result<bool> {
        let display = || self.path.join(kind.dir()).display().to_string();
        let Some(fd) = self.type_dir(kind)? else {
            return Ok(false);
        };
        if !self.probe(&fd, kind)?.root || !self.is_self_bind(&fd, kind)? {
            return Ok(false);
        }
        if has_mount_inside(fd.as_fd(), &display)? {
            return Ok(false);
        }
        drop(fd);
        // Through DIR's descriptor and with UMOUNT_NOFOLLOW: only the
        // type directory's own name is looked up, literally. MNT_DETACH:
        // a concurrent pinns may still hold the directory open (it looks
        // again under this lock before it pins there).
        let path = format!("{}/{}", fd_path(self.fd.as_fd()), kind.dir());
        rustix::mount::unmount(path.as_str(), UnmountFlags::DETACH | UnmountFlags::NOFOLLOW)
            .with(|| format!("unmounting {}", display()))?;
        Ok(true)
    }

    /// Whether the type directory open at `fd`, a mount root, is a mount of
    /// itself: the inode the mount shows is the one DIR's entry names
    /// (readdir sees the directory beneath any mount), on DIR's device.
    fn is_self_bind(&self, fd: &OwnedFd, kind: Kind) -> Result<bool> {
        let inspecting = || format!("inspecting {}", self.path.display());
        let mounted = rustix::fs::fstat(fd).with(inspecting)?;
        let parent = rustix::fs::fstat(&self.fd).with(inspecting)?;
        if mounted.st_dev != parent.st_dev {
            return Ok(false);
        }
        let readable = rustix::fs::openat(
            &self.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with(inspecting)?;
        let want = std::ffi::CString::new(kind.dir()).expect("no NUL in a type dir");
        for entry in rustix::fs::Dir::read_from(&readable).with(inspecting)? {
            let entry = entry.with(inspecting)?;
            if entry.file_name() == want.as_c_str() {
                return Ok(entry.ino() == mounted.st_ino);
            }
        }
        Ok(false)
    }

    /// Opens the type directory of `kind`, creating it (mode 0755) when
    /// missing.
    fn open_or_make_type_dir(&self, kind: Kind) -> Result<OwnedFd> {
        let display = || self.path.join(kind.dir()).display().to_string();
        if let Some(fd) = self.type_dir(kind)? {
            return Ok(fd);
        }
        let made = match rustix::fs::mkdirat(&self.fd, kind.dir(), Mode::from_raw_mode(DIR_MODE)) {
            Ok(()) => true,
            Err(Errno::EXIST) => false,
            Err(errno) => return Err(Error::os(format!("creating {}", display()), errno)),
        };
        let fd = self
            .type_dir(kind)?
            .ok_or_else(|| Error::os(format!("opening {}", display()), Errno::NOENT))?;
        if made {
            chmod_dir(fd.as_fd()).with(|| format!("setting the mode of {}", display()))?;
        }
        Ok(fd)
    }

    /// Makes the type directory of `kind` a mount of its own of the right
    /// propagation, unless a concurrent pinns just did; the caller holds
    /// the directory lock.
    fn self_bind_locked(&self, kind: Kind) -> Result<OwnedFd> {
        let display = || self.path.join(kind.dir()).display().to_string();
        // Reopen under the lock: another pinns may have self-bound the
        // directory meanwhile, and a descriptor opened before would name the
        // directory beneath that mount, where no pin is seen.
        let fd = self
            .type_dir(kind)?
            .ok_or_else(|| Error::os(format!("opening {}", display()), Errno::NOENT))?;
        if self.probe(&fd, kind)?.root {
            if half_set_up(fd.as_fd(), kind) {
                for &step in propagation_steps(kind) {
                    rustix::mount::mount_change(fd_path(fd.as_fd()).as_str(), step)
                        .with(|| format!("setting mount propagation of {}", display()))?;
                }
            }
            return Ok(fd);
        }
        // Why a detached clone: a pinns killed between a self-bind and its
        // propagation change would leave a mount root of the wrong
        // propagation, which every later pinns takes as set up. The clone
        // gets its propagation first and is attached last: all or nothing.
        if kind != Kind::Mnt && attach_shared_self_bind(fd.as_fd(), &display)? {
            return self
                .type_dir(kind)?
                .ok_or_else(|| Error::os(format!("opening {}", display()), Errno::NOENT));
        }
        let path = fd_path(fd.as_fd());
        // Why a self-bind: propagation is a property of mounts, so the
        // directory must be a mount of its own before it can have one.
        rustix::mount::mount_bind(path.as_str(), path.as_str())
            .with(|| format!("bind-mounting {} onto itself", display()))?;
        // Reopen: the old descriptor still names the directory under the
        // new mount, not the mount itself.
        let fd = self
            .type_dir(kind)?
            .ok_or_else(|| Error::os(format!("opening {}", display()), Errno::NOENT))?;
        let path = fd_path(fd.as_fd());
        for &step in propagation_steps(kind) {
            rustix::mount::mount_change(path.as_str(), step)
                .with(|| format!("setting mount propagation of {}", display()))?;
        }
        Ok(fd)
    }

    /// Whether the type directory is a mount point of its own, and the id
    /// of the mount it is on.
    fn probe(&self, fd: &OwnedFd, kind: Kind) -> Result<Probe> {
        // The mount id comes with the same statx: the unique one where the
        // kernel has it (6.8+, what statmount takes), else the reused one
        // mountinfo shows (5.8+).
        let want = StatxFlags::MNT_ID | StatxFlags::from_bits_retain(STATX_MNT_ID_UNIQUE);
        let stx = rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, want)
            .with(|| format!("inspecting {}", self.path.join(kind.dir()).display()))?;
        let mount = if stx.stx_mask & STATX_MNT_ID_UNIQUE != 0 {
            Some(MountId::Unique(stx.stx_mnt_id))
        } else if stx.stx_mask & StatxFlags::MNT_ID.bits() != 0 {
            Some(MountId::Reused(stx.stx_mnt_id))
        } else {
            None
        };
        if stx
            .stx_attributes_mask
            .contains(StatxAttributes::MOUNT_ROOT)
        {
            let root = stx.stx_attributes.contains(StatxAttributes::MOUNT_ROOT);
            return Ok(Probe { root, mount });
        }
        // Kernels before 5.8 do not report mount roots: compare the mount
        // ids of the directory and its parent instead.
        let id = mount_id(fd.as_fd())?;
        Ok(Probe {
            root: id != mount_id(self.fd.as_fd())?,
            mount: Some(MountId::Reused(id)),
        })
    }
}

/// What [`PinDir::probe`] found about a type directory.
#[derive(Clone, Copy, Debug)]
struct Probe {
    /// It is a mount point of its own.
    root: bool,
    /// The mount it is on, when the kernel said.
    mount: Option<MountId>,
}

/// A mount's id, of one of the kernel's two kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MountId {
    /// Never reused (`STATX_MNT_ID_UNIQUE`, Linux 6.8), as statmount(2)
    /// takes it.
    Unique(u64),
    /// Reused once the mount is gone, as the first field of
    /// `/proc/self/mountinfo` and `mnt_id:` in fdinfo show it.
    Reused(u64),
}

/// `STATX_MNT_ID_UNIQUE` from `<linux/stat.h>` (Linux 6.8).
const STATX_MNT_ID_UNIQUE: u32 = 0x4000;

/// statmount(2)'s number (Linux 6.8): 457 on every architecture of the
/// kernel's common syscall table (`include/uapi/asm-generic/unistd.h`,
/// `arch/x86/entry/syscalls/syscall_64.tbl`); the libc crate has no
/// constant for it on most of them.
const SYS_STATMOUNT: libc::c_long = 457;

/// `STATMOUNT_MNT_BASIC` from `<linux/mount.h>`: the mount's ids,
/// attributes and propagation.
const STATMOUNT_MNT_BASIC: u64 = 0x2;

/// `struct mnt_id_req` of statmount(2), its first version (24 bytes).
#[repr(C)]
struct MntIdReq {
    size: u32,
    spare: u32,
    mnt_id: u64,
    param: u64,
}

/// `struct statmount` of statmount(2) up to its propagation fields, and the
/// reserve after them, so the kernel's fixed part (512 bytes) fits whole.
#[repr(C)]
struct Statmount {
    size: u32,
    mnt_opts: u32,
    mask: u64,
    sb_dev_major: u32,
    sb_dev_minor: u32,
    sb_magic: u64,
    sb_flags: u32,
    fs_type: u32,
    mnt_id: u64,
    mnt_parent_id: u64,
    mnt_id_old: u32,
    mnt_parent_id_old: u32,
    mnt_attr: u64,
    mnt_propagation: u64,
    mnt_peer_group: u64,
    mnt_master: u64,
    propagate_from: u64,
    mnt_root: u32,
    mnt_point: u32,
    spare: [u64; 50],
}

/// The propagation of the mount with unique id `id` (`MS_SHARED`,
/// `MS_SLAVE`, `MS_PRIVATE`, `MS_UNBINDABLE` bits), from statmount(2).
fn statmount_propagation(id: u64) -> rustix::io::Result<u64> {
    let req = MntIdReq {
        size: std::mem::size_of::<MntIdReq>() as u32,
        spare: 0,
        mnt_id: id,
        param: STATMOUNT_MNT_BASIC,
    };
    let mut buf = std::mem::MaybeUninit::<Statmount>::zeroed();
    // SAFETY: statmount(2) reads `req`, which lives across the call, and
    // writes at most `size_of::<Statmount>()` bytes into `buf`, which has
    // that many; all-zero bytes are a valid `Statmount`.
    let r = unsafe {
        libc::syscall(
            SYS_STATMOUNT,
            &req as *const MntIdReq,
            buf.as_mut_ptr(),
            std::mem::size_of::<Statmount>(),
            0u32,
        )
    };
    if r < 0 {
        return Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO));
    }
    // SAFETY: zeroed above, and the kernel wrote only valid integers.
    let sm = unsafe { buf.assume_init() };
    if sm.mask & STATMOUNT_MNT_BASIC == 0 {
        return Err(Errno::NOSYS);
    }
    Ok(sm.mnt_propagation)
}

/// Whether the mount the open directory `dir` is on is shared (it has a
/// peer group), as the kernel says: statmount(2) where the kernel has it,
/// else that mount's line of `/proc/self/mountinfo`. Not knowing counts as
/// not shared, which takes the `ip netns` way, right on every host.
fn holder_is_shared(dir: BorrowedFd<'_>, mount: Option<MountId>) -> bool {
    if let Some(MountId::Unique(id)) = mount {
        // Why statmount first: one call, whatever the number of mounts,
        // where mountinfo on a node with thousands of pins is a long read.
        if let Ok(propagation) = statmount_propagation(id) {
            return propagation & libc::MS_SHARED != 0;
        }
    }
    // mountinfo names mounts by their reused ids.
    let id = match mount {
        Some(MountId::Reused(id)) => Some(id),
        _ => mount_id(dir).ok(),
    };
    id.and_then(|id| mountinfo_shared(id).ok().flatten())
        .unwrap_or(false)
}

/// Whether the mount with reused id `id` is shared, from its line of
/// `/proc/self/mountinfo` (a `shared:N` optional field), reading no further
/// than that line; `None` when no line has that id.
fn mountinfo_shared(id: u64) -> std::io::Result<Option<bool>> {
    use std::io::BufRead;
    let file = std::fs::File::open("/proc/self/mountinfo")?;
    // The kernel hands mountinfo out about a page per read whatever the
    // buffer, so a larger one than the default would save nothing.
    let mut lines = std::io::BufReader::new(file);
    let mut line = Vec::with_capacity(256);
    let want = format!("{id} ");
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        if !line.starts_with(want.as_bytes()) {
            continue;
        }
        // ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE ...
        return Ok(Some(
            line.split(|&b| b == b' ')
                .skip(6)
                .take_while(|field| *field != b"-")
                .any(|field| field.starts_with(b"shared:")),
        ));
    }
}

/// Whether the mount at the open directory `dir` may be unbindable:
/// cloning an unbindable mount fails (`EINVAL`), so only a clone made
/// proves it is not. (A caller that may not clone gets true: nothing to
/// repair that it could repair.) Kernels without open_tree (before 5.2)
/// are asked through the mount table instead.
fn is_unbindable(dir: BorrowedFd<'_>) -> bool {
    let flags = OpenTreeFlags::OPEN_TREE_CLONE
        | OpenTreeFlags::OPEN_TREE_CLOEXEC
        | OpenTreeFlags::AT_EMPTY_PATH;
    // The clone, if made, is detached and vanishes when dropped.
    match rustix::mount::open_tree(dir, "", flags) {
        Ok(_) => false,
        Err(Errno::NOSYS) => listed_unbindable(dir).unwrap_or(true),
        Err(_) => true,
    }
}

/// Whether `/proc/self/mountinfo` lists the mount of the open file `fd`
/// (found by its mount id) with the optional field `field` (`unbindable`,
/// or a prefix such as `shared:`); `None` when it cannot tell.
fn listed_with(fd: BorrowedFd<'_>, field: &str) -> Option<bool> {
    let id = mount_id(fd).ok()?;
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let line = table
        .lines()
        .find(|l| l.split(' ').next().and_then(|f| f.parse::<u64>().ok()) == Some(id))?;
    // The optional fields come after the sixth and end at " - ".
    let (fields, _) = line.split_once(" - ")?;
    Some(fields.split(' ').skip(6).any(|f| f.starts_with(field)))
}

fn listed_unbindable(fd: BorrowedFd<'_>) -> Option<bool> {
    listed_with(fd, "unbindable")
}

/// The classic propagation changes that finish a type directory's
/// self-bind: unbindable for `mntns`; for the others private first, to
/// leave the peer group the bind inherited from its parent, then shared,
/// to start a peer group of its own.
fn propagation_steps(kind: Kind) -> &'static [MountPropagationFlags] {
    if kind == Kind::Mnt {
        &[MountPropagationFlags::UNBINDABLE]
    } else {
        &[
            MountPropagationFlags::PRIVATE,
            MountPropagationFlags::SHARED,
        ]
    }
}

/// Whether a type directory that is a mount root was left half set up, by
/// a pinns killed between its self-bind and its propagation change:
/// `mntns` not unbindable, or, where the set-up is in classic steps
/// (kernels without mount_setattr, before 5.12), another one not shared.
/// With mount_setattr the set-up is all or nothing (see
/// [`attach_shared_self_bind`]), and nothing is looked up.
fn half_set_up(dir: BorrowedFd<'_>, kind: Kind) -> bool {
    if kind == Kind::Mnt {
        return !is_unbindable(dir);
    }
    !has_mount_setattr() && listed_with(dir, "shared:") == Some(false)
}

/// Whether the kernel has mount_setattr(2) (5.12), asked once per process:
/// a call with a zero size fails with `EINVAL` there, before it looks at
/// anything, and with `ENOSYS` on kernels without it.
fn has_mount_setattr() -> bool {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| {
        // SAFETY: mount_setattr(2) with size 0 reads no memory and
        // changes nothing: it fails on the size first.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                -1,
                c"".as_ptr(),
                0,
                std::ptr::null::<MountAttr>(),
                0usize,
            )
        };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS)
    })
}

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Sets the propagation of the (detached) mount open at `tree`.
fn set_propagation(tree: BorrowedFd<'_>, propagation: libc::c_ulong) -> rustix::io::Result<()> {
    let attr = MountAttr {
        attr_set: 0,
        attr_clr: 0,
        propagation,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr(2) reads `size` bytes of `attr`, which lives
    // across the call, and the NUL-terminated empty path.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO));
    }
    Ok(())
}

/// Makes the directory open at `dir` a mount of itself, shared in a peer
/// group of its own, in one step: a detached clone (open_tree) is made
/// private, to leave any peer group it inherited, then shared, and only
/// then attached (move_mount). False on kernels without these calls
/// (before 5.12), which use the classic steps.
fn attach_shared_self_bind(dir: BorrowedFd<'_>, display: &dyn Fn() -> String) -> Result<bool> {
    let flags = OpenTreeFlags::OPEN_TREE_CLONE
        | OpenTreeFlags::OPEN_TREE_CLOEXEC
        | OpenTreeFlags::AT_EMPTY_PATH;
    let tree = match rustix::mount::open_tree(dir, "", flags) {
        Ok(tree) => tree,
        Err(Errno::NOSYS) => return Ok(false),
        Err(errno) => {
            return Err(Error::os(
                format!("bind-mounting {} onto itself", display()),
                errno,
            ));
        }
    };
    for propagation in [libc::MS_PRIVATE, libc::MS_SHARED] {
        match set_propagation(tree.as_fd(), propagation) {
            Ok(()) => {}
            Err(Errno::NOSYS) => return Ok(false),
            Err(errno) => {
                return Err(Error::os(
                    format!("setting mount propagation of {}", display()),
                    errno,
                ));
            }
        }
    }
    rustix::mount::move_mount(
        &tree,
        "",
        dir,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
    .with(|| format!("bind-mounting {} onto itself", display()))?;
    Ok(true)
}

/// Sets a directory pinns made to 0755, whatever the umask, through its
/// descriptor (the path could have been swapped for a symlink meanwhile).
fn chmod_dir(fd: BorrowedFd<'_>) -> rustix::io::Result<()> {
    rustix::fs::chmod(fd_path(fd).as_str(), Mode::from_raw_mode(DIR_MODE))
}

/// Whether any entry of the directory open at `dir` is a mount point (a
/// live pin or another mount). A kernel that does not report mount points
/// (before 5.8) counts any entry as one.
fn has_mount_inside(dir: BorrowedFd<'_>, display: &dyn Fn() -> String) -> Result<bool> {
    let reading = || format!("reading {}", display());
    let readable = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with(reading)?;
    for entry in rustix::fs::Dir::read_from(&readable).with(reading)? {
        let entry = entry.with(reading)?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        // Live pins come first in the usual case: the first answers.
        let stx = match rustix::fs::statx(
            &readable,
            name,
            AtFlags::SYMLINK_NOFOLLOW,
            StatxFlags::empty(),
        ) {
            Ok(stx) => stx,
            Err(Errno::NOENT) => continue,
            Err(errno) => return Err(Error::os(reading(), errno)),
        };
        if !stx
            .stx_attributes_mask
            .contains(StatxAttributes::MOUNT_ROOT)
            || stx.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The names in the type directory open at `type_dir` (UTF-8 ones: pin
/// names are checked strings, so nothing else is a pin of ours).
pub fn names_in(type_dir: BorrowedFd<'_>, display: &Path) -> Result<Vec<String>> {
    // O_PATH cannot be read: open the same directory for reading,
    // relative to the checked descriptor.
    let readable = rustix::fs::openat(
        type_dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with(|| format!("opening {}", display.display()))?;
    let mut names = Vec::new();
    for entry in
        rustix::fs::Dir::read_from(&readable).with(|| format!("reading {}", display.display()))?
    {
        let entry = entry.with(|| format!("reading {}", display.display()))?;
        let file_name = entry.file_name();
        if file_name == c"." || file_name == c".." {
            continue;
        }
        if let Ok(name) = file_name.to_str() {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// The mount id of an open file, from `/proc/self/fdinfo` (Linux 3.15+).
fn mount_id(fd: BorrowedFd<'_>) -> Result<u64> {
    let path = format!("/proc/self/fdinfo/{}", fd.as_raw_fd());
    let text = std::fs::read_to_string(&path).with(|| format!("reading {path}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("mnt_id:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            let why = io::Error::new(io::ErrorKind::InvalidData, "no mnt_id line");
            Error::io(format!("reading {path}"), why)
        })
}

/// A pin file opened (or made) to mount a namespace on.
#[derive(Debug)]
pub struct PinFile {
    fd: OwnedFd,
}

/// Opens the pin file `name` in the type directory `dir`, creating it when
/// missing. An existing file is used only if it is a stale pin (an empty
/// regular file with a single link: CRI-O pre-creates and chowns those
/// for user namespaces); an existing pin, a symlink, a directory, or
/// anything else is refused, and nothing is mounted over it.
pub fn open_pin_file(dir: BorrowedFd<'_>, name: &str, display: &Path) -> Result<PinFile> {
    // Why O_EXCL|O_NOFOLLOW: the file we mount onto is the one we made,
    // never one a symlink planted at the path points to.
    match rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(PIN_FILE_MODE),
    ) {
        Ok(fd) => return Ok(PinFile { fd }),
        Err(Errno::EXIST) => {}
        Err(errno) => {
            return Err(Error::os_at(
                format!("creating {}", display.display()),
                display,
                errno,
            ));
        }
    }
    // O_PATH opens a FIFO or socket without side effects, and with
    // O_NOFOLLOW a symlink as itself; the look below is at that inode.
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with(|| format!("opening {}", display.display()))?;
    let path = display.to_path_buf();
    match inspect::of_fd(fd.as_fd(), display)? {
        // The O_PATH descriptor is enough to mount onto, and it is the
        // very inode just checked.
        PinPath::Stale { .. } => Ok(PinFile { fd }),
        PinPath::Live { .. } => Err(Error::AlreadyPinned { path }),
        PinPath::NotAPin { why, .. } => Err(Error::NotAPin {
            op: Operation::Pin,
            path,
            why,
        }),
        // Removed between the two opens: the descriptor holds it still,
        // but the name is gone, and a mount on it would be out of reach.
        PinPath::Missing => Err(Error::os_at(
            format!("pinning at {}: removed meanwhile", path.display()),
            path,
            Errno::NOENT,
        )),
    }
}

/// Bind-mounts the namespace open at `ns` onto the pin file.
pub fn bind(ns: BorrowedFd<'_>, target: &PinFile, what: impl Fn() -> String) -> Result<()> {
    // Why the new mount API: open_tree clones the nsfs mount from the
    // descriptor and move_mount attaches it to the open pin file, with no
    // path looked up in between.
    let tree = rustix::mount::open_tree(
        ns,
        "",
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_EMPTY_PATH,
    );
    match tree {
        Ok(tree) => rustix::mount::move_mount(
            &tree,
            "",
            &target.fd,
            "",
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
        )
        .with(what),
        // Kernels before 5.2: the classic bind mount, still through the
        // descriptors' /proc/self/fd links rather than the user's path.
        Err(Errno::NOSYS) => rustix::mount::mount(
            fd_path(ns).as_str(),
            fd_path(target.fd.as_fd()).as_str(),
            "",
            MountFlags::BIND,
            None,
        )
        .with(what),
        Err(errno) => Err(Error::os(what(), errno)),
    }
}

/// What unpinning removed at a pin path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Removed {
    /// A pinned namespace, now unmounted (lazily) and its file removed.
    Pin,
    /// A stale pin: an empty file no namespace was mounted on.
    Stale,
}

/// Unmounts (lazily) and removes the pin `name` in the type directory
/// `dir`; `None` when nothing is there. Only a namespace is unmounted and
/// only a stale pin's file removed; anything else at the path is refused
/// and left alone.
pub fn remove_pin(dir: BorrowedFd<'_>, name: &str, display: &Path) -> Result<Option<Removed>> {
    let mut removed = None;
    for _ in 0..MAX_STACKED {
        // What is at the path (a mount point shows what is mounted there),
        // held by an O_PATH descriptor, which opens nothing: the look is
        // at that inode.
        let file = match rustix::fs::openat(
            dir,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(file) => file,
            Err(Errno::NOENT) => return Ok(removed),
            Err(errno) => {
                return Err(Error::os(
                    format!("inspecting {}", display.display()),
                    errno,
                ));
            }
        };
        let found = inspect::of_fd(file.as_fd(), display)?;
        // The descriptor would hold a mount (and its namespace) a little
        // longer: let go of it first.
        drop(file);
        match found {
            PinPath::Missing => return Ok(removed),
            PinPath::NotAPin { why, .. } => {
                return Err(Error::NotAPin {
                    op: Operation::Unpin,
                    path: display.to_path_buf(),
                    why,
                });
            }
            PinPath::Live { .. } => {
                // Through the directory's descriptor, so only the last
                // component is looked up, and UMOUNT_NOFOLLOW keeps even
                // that one literal. MNT_DETACH: processes inside the
                // namespace keep running.
                let path = format!("{}/{name}", fd_path(dir));
                rustix::mount::unmount(
                    path.as_str(),
                    UnmountFlags::DETACH | UnmountFlags::NOFOLLOW,
                )
                .with(|| format!("unmounting {}", display.display()))?;
                removed = Some(Removed::Pin);
                // Under a namespace pin is the empty file it was mounted
                // on: remove it at once. EBUSY means another mount was
                // stacked there too; go round again to look at it.
                match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => return Ok(removed),
                    Err(Errno::BUSY) => continue,
                    Err(errno) => {
                        return Err(Error::os(format!("removing {}", display.display()), errno));
                    }
                }
            }
            PinPath::Stale { .. } => {
                return match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => Ok(removed.or(Some(Removed::Stale))),
                    // Still a mount point: something other than a
                    // namespace is mounted there (a kernel that does not
                    // report mount points), not ours to take down.
                    Err(Errno::BUSY) => Err(Error::NotAPin {
                        op: Operation::Unpin,
                        path: display.to_path_buf(),
                        why: NotAPin::OtherMount,
                    }),
                    Err(errno) => Err(Error::os(format!("removing {}", display.display()), errno)),
                };
            }
        }
    }
    Err(Error::TooManyMounts {
        path: display.to_path_buf(),
        max: MAX_STACKED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's ids of the mount `path` is on: the unique one, the
    /// reused one as statx gives it, and as fdinfo does.
    fn ids(path: &str) -> (OwnedFd, u64, u64) {
        let fd = rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).unwrap();
        let stx = |mask: u32| {
            let flags = StatxFlags::from_bits_retain(mask);
            let stx = rustix::fs::statx(&fd, "", AtFlags::EMPTY_PATH, flags).unwrap();
            assert_ne!(stx.stx_mask & mask, 0, "{path}: statx without {mask:#x}");
            stx.stx_mnt_id
        };
        let unique = stx(STATX_MNT_ID_UNIQUE);
        let reused = stx(StatxFlags::MNT_ID.bits());
        assert_eq!(mount_id(fd.as_fd()).unwrap(), reused, "{path}: fdinfo");
        (fd, unique, reused)
    }

    /// statmount and mountinfo say the same of the mounts every machine
    /// has, by each kind of id, and mountinfo's line for each is found.
    #[test]
    fn statmount_and_mountinfo_agree() {
        for path in ["/", "/proc", "/sys", "/dev"] {
            let (fd, unique, reused) = ids(path);
            let by_statmount = statmount_propagation(unique).unwrap() & libc::MS_SHARED != 0;
            let by_mountinfo = mountinfo_shared(reused).unwrap();
            assert_eq!(by_mountinfo, Some(by_statmount), "{path}");
            assert_eq!(
                holder_is_shared(fd.as_fd(), Some(MountId::Reused(reused))),
                by_statmount,
                "{path}"
            );
            assert_eq!(
                holder_is_shared(fd.as_fd(), Some(MountId::Unique(unique))),
                by_statmount,
                "{path}"
            );
        }
        // No mount has id 0: the fallback reads to the end and says so.
        assert_eq!(mountinfo_shared(0).unwrap(), None);
    }
}
