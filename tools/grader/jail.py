"""The Linux calls that build one notebook's sandbox (namespaces, mounts, capabilities, limits).

Runs inside the kernel zygote (``zygote.py``), which bubblewrap has already put
in a read-only view of the system with no home folder and no network. These
are thin ``ctypes`` wrappers: each raises ``OSError`` naming what failed.
"""
from __future__ import annotations

import ctypes
import os
import resource

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
MNT_DETACH = 2

# <sched.h>
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
# <sys/mount.h>
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
# <sys/prctl.h>
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 38, 36
_CAP_LAST = 63


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()   # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def make_mounts_private() -> None:
    """Mounts made from now on stay in this mount namespace."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def tmpfs(target: str, size: int, mode: str = "0755", owner: tuple[int, int] | None = None,
          readonly: bool = False) -> None:
    flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if readonly else 0)
    data = f"size={max(int(size), 4096)},mode={mode}"
    if owner is not None:
        data += f",uid={owner[0]},gid={owner[1]}"
    mount("tmpfs", target, "tmpfs", flags, data)


def bind(source: str, target: str) -> None:
    mount(source, target, None, MS_BIND | MS_REC)


def unmount(target: str) -> None:
    _check(_libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")


# statvfs's ST_* flags -> mount's MS_* flags: a remount must repeat the flags a
# mount inherited from a more privileged namespace (the kernel locks them).
_KEEP_FLAGS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
               os.ST_NOATIME: 1024, os.ST_NODIRATIME: 2048, os.ST_RELATIME: 1 << 21}


def remount_readonly(target: str) -> None:
    """Make one mount point read-only in this mount namespace only (a bind remount)."""
    current = os.statvfs(target).f_flag
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
    for st, ms in _KEEP_FLAGS.items():
        if current & st:
            flags |= ms
    mount(None, target, None, flags)


def mount_proc() -> None:
    """A /proc that shows only this PID namespace."""
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def map_user(inside: int, outside_uid: int, outside_gid: int) -> None:
    """After unshare(CLONE_NEWUSER): this process is uid and gid `inside` in its new namespace."""
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{inside} {outside_uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{inside} {outside_gid} 1")


def become(uid: int, gid: int) -> None:
    """Switch to an unprivileged uid (only as root); the process stays readable by itself in /proc."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    set_dumpable(True)


def set_dumpable(on: bool) -> None:
    _check(_libc.prctl(PR_SET_DUMPABLE, int(on), 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def die_with_parent(signum: int) -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def adopt_orphans() -> None:
    """Orphaned descendants are re-parented to this process (used without PID namespace)."""
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """No capabilities, now or after any exec (also sets no_new_privs)."""
    for cap in range(_CAP_LAST + 1):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:   # EINVAL: no such cap
            _check(-1, f"prctl(PR_CAPBSET_DROP, {cap})")
    header = _CapHeader(0x20080522, 0)          # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def set_limits(*, address_space: int | None, processes: int | None, file_size: int | None,
               cpu_seconds: int | None) -> None:
    """rlimits of this process (inherited by everything it starts)."""
    def lim(kind, value, hard=None):
        if value is not None:
            resource.setrlimit(kind, (int(value), int(value if hard is None else hard)))
    lim(resource.RLIMIT_AS, address_space)
    lim(resource.RLIMIT_NPROC, processes)
    lim(resource.RLIMIT_FSIZE, file_size)
    lim(resource.RLIMIT_CPU, cpu_seconds, None if cpu_seconds is None else cpu_seconds + 5)
    lim(resource.RLIMIT_CORE, 0)
