//! A type directory (`DIR/<type>ns`) as a mount of itself: made where
//! pins would not otherwise propagate (the `ip netns` way) and for `mntns`
//! always (unbindable), repaired when a killed pinns left it half set up,
//! and taken down with the directory's last pin.
//!
//! May touch: the type directories' own mounts (a bind of a directory onto
//! itself and its propagation), under the pin directory's lock; never a
//! pin, never a mount of anything else.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags};
use rustix::io::Errno;
use rustix::mount::{MountPropagationFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags};

use super::probe::{has_mount_inside, holder_is_shared, is_unbindable, listed_with};
use super::{DirLock, PinDir, fd_path};
use crate::error::{Context, Error, Result};
use crate::kernel::{self, Call};
use crate::ns::Kind;
use crate::plan::TypeDirs;

impl PinDir {
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
            let fd = self
                .prepare_one(kind, fd, setup, &mut shared, &mut || {
                    if lock.is_none() {
                        lock = Some(self.lock()?);
                    }
                    Ok(())
                })
                .map_err(|e| e.at(self.path.join(kind.dir())))?;
            fds.push(fd);
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
            let fd = self
                .prepare_one(kind, fd, setup, &mut shared, &mut || Ok(()))
                .map_err(|e| e.at(self.path.join(kind.dir())))?;
            out.push(fd);
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
        for entry in rustix::fs::Dir::new(readable).with(inspecting)? {
            let entry = entry.with(inspecting)?;
            if entry.file_name() == want.as_c_str() {
                return Ok(entry.ino() == mounted.st_ino);
            }
        }
        Ok(false)
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
    !kernel::has_mount_setattr() && listed_with(dir, "shared:") == Some(false)
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
    let tree = match kernel::try_call(Call::OpenTree, || rustix::mount::open_tree(dir, "", flags)) {
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
        match kernel::try_call(Call::MountSetattr, || {
            set_propagation(tree.as_fd(), propagation)
        }) {
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
