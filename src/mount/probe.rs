//! What the kernel says of mounts: whether a directory is a mount point,
//! the id of the mount it is on (statx, or `/proc/self/fdinfo`), whether
//! that mount is shared or unbindable (statmount, or
//! `/proc/self/mountinfo`), whether anything is mounted in a directory.
//!
//! May touch: nothing. It reads; the one clone it makes (open_tree, to
//! learn whether a mount may be bound) is detached and gone when dropped.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, Mode, OFlags, StatxAttributes, StatxFlags};
use rustix::io::Errno;
use rustix::mount::OpenTreeFlags;

use super::PinDir;
use crate::error::{Context, Error, Result};
use crate::kernel::{self, Call};
use crate::ns::Kind;

impl PinDir {
    /// Whether the type directory is a mount point of its own, and the id
    /// of the mount it is on.
    pub(super) fn probe(&self, fd: &OwnedFd, kind: Kind) -> Result<Probe> {
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
pub(super) struct Probe {
    /// It is a mount point of its own.
    pub(super) root: bool,
    /// The mount it is on, when the kernel said.
    pub(super) mount: Option<MountId>,
}

/// A mount's id, of one of the kernel's two kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MountId {
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
/// `MS_SLAVE`, `MS_PRIVATE`, `MS_UNBINDABLE` bits), from statmount(2);
/// `None` when it cannot say (a kernel without it, before 6.8).
fn statmount_propagation(id: u64) -> Option<u64> {
    if kernel::lacks(Call::Statmount) {
        return None;
    }
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
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        kernel::saw(Call::Statmount, errno);
        return None;
    }
    // SAFETY: zeroed above, and the kernel wrote only valid integers.
    let sm = unsafe { buf.assume_init() };
    (sm.mask & STATMOUNT_MNT_BASIC != 0).then_some(sm.mnt_propagation)
}

/// Whether the mount the open directory `dir` is on is shared (it has a
/// peer group), as the kernel says: statmount(2) where the kernel has it,
/// else that mount's line of `/proc/self/mountinfo`. Not knowing counts as
/// not shared, which takes the `ip netns` way, right on every host.
pub(super) fn holder_is_shared(dir: BorrowedFd<'_>, mount: Option<MountId>) -> bool {
    if let Some(MountId::Unique(id)) = mount {
        // Why statmount first: one call, whatever the number of mounts,
        // where mountinfo on a node with thousands of pins is a long read.
        if let Some(propagation) = statmount_propagation(id) {
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
pub(super) fn is_unbindable(dir: BorrowedFd<'_>) -> bool {
    let flags = OpenTreeFlags::OPEN_TREE_CLONE
        | OpenTreeFlags::OPEN_TREE_CLOEXEC
        | OpenTreeFlags::AT_EMPTY_PATH;
    // The clone, if made, is detached and vanishes when dropped.
    match kernel::try_call(Call::OpenTree, || rustix::mount::open_tree(dir, "", flags)) {
        Ok(_) => false,
        Err(Errno::NOSYS) => listed_unbindable(dir).unwrap_or(true),
        Err(_) => true,
    }
}

/// Whether `/proc/self/mountinfo` lists the mount of the open file `fd`
/// (found by its mount id) with the optional field `field` (`unbindable`,
/// or a prefix such as `shared:`); `None` when it cannot tell.
pub(super) fn listed_with(fd: BorrowedFd<'_>, field: &str) -> Option<bool> {
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

/// Whether any entry of the directory open at `dir` is a mount point (a
/// live pin or another mount). A kernel that does not report mount points
/// (before 5.8) counts any entry as one.
pub(super) fn has_mount_inside(dir: BorrowedFd<'_>, display: &dyn Fn() -> String) -> Result<bool> {
    let reading = || format!("reading {}", display());
    let readable = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with(reading)?;
    // Dir::new takes the descriptor as it is; read_from would ask its
    // flags (fcntl) and open the directory once more.
    for entry in rustix::fs::Dir::new(readable).with(reading)? {
        let entry = entry.with(reading)?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        // Live pins come first in the usual case: the first answers.
        let stx = match rustix::fs::statx(dir, name, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::empty())
        {
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
