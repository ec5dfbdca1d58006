"""The launcher that runs a task's tests inside the eval sandbox.

Run as a script (`python -I confine.py CONFIG_JSON`), never imported by the
package: it uses the standard library only, so nothing from the task folder
or the package can change what it does. `assistant/eval/sandbox.py` starts it
and describes what each mode confines.

Mode "namespaces": started by `unshare --user --map-root-user --net --mount
--pid --fork --kill-child --mount-proc`, so it is process 1 of a new PID
namespace, in its own network namespace (only a loopback interface, brought
up here) and its own mount namespace, where it:
- mounts a fresh, empty tmpfs on /tmp, /var/tmp, /dev/shm and /run;
- binds the task folder and the scratch folder (HOME, TMPDIR, output) back at
  their own paths, writable;
- remounts every other mount read-only (/proc and /sys excepted), so a write
  anywhere else fails with "Read-only file system";
- runs the command as its child, with no capabilities (an empty bounding
  set, no_new_privs), so it cannot undo any of this; when that ends, it
  exits, and the kernel kills every process left in the namespace.

Mode "process" (no user namespaces): it makes itself a child subreaper, so
every orphaned descendant (a `setsid` daemon too) becomes its child, and when
the command ends, or on SIGTERM, it kills all its descendants.

Exit status: the command's; 128+N when the command died of signal N; 125
(with a line on stderr) when the sandbox could not be set up."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import re
import signal
import socket
import struct
import sys

SETUP_FAILED = 125
MARK = "assistant-sandbox:"

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_RELATIME = 1 << 21
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
LAST_CAP = 63  # above the kernel's last capability, PR_CAPBSET_DROP says EINVAL
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 1
TMPFS_OPTIONS = "size=256m,mode=1777"
# Fresh and empty in the sandbox: the temp folders, and /run, where the
# system's daemons keep their Unix sockets (a socket file needs no writable
# mount to be connected to, so read-only alone would leave them reachable).
FRESH = ("/tmp", "/var/tmp", "/dev/shm", "/run")
NOT_REMOUNTED = ("/proc", "/sys")  # kernel interfaces, not files a test keeps

_LIBC: list[ctypes.CDLL] = []  # loaded when the launcher runs, not when imported


def _libc() -> ctypes.CDLL:
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def _arg(text: str | None) -> bytes | None:
    return os.fsencode(text) if text is not None else None


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None
) -> None:
    if _libc().mount(_arg(source), _arg(target), _arg(fstype), ctypes.c_ulong(flags), _arg(data)):
        code = ctypes.get_errno()
        raise OSError(code, f"mount {target}: {os.strerror(code)}")


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _mount_points() -> list[str]:
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
        for line in fh:
            field = line.split()[4]
            points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field))
    return sorted(set(points), key=len)


def _kept_flags(path: str) -> int:
    """The flags a remount must repeat: the kernel refuses to drop ones it locked."""
    have = os.statvfs(path).f_flag
    flags = 0
    for st, ms in (
        (os.ST_NOSUID, MS_NOSUID),
        (os.ST_NODEV, MS_NODEV),
        (os.ST_NOEXEC, MS_NOEXEC),
        (os.ST_NOATIME, MS_NOATIME),
        (os.ST_NODIRATIME, MS_NODIRATIME),
        (os.ST_RELATIME, MS_RELATIME),
    ):
        if have & st:
            flags |= ms
    return flags


def _confine_files(keep: list[str]) -> None:
    fds = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in keep}
    writable: set[str] = set()
    for top in FRESH:
        if os.path.isdir(top) and not os.path.islink(top):
            _mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_OPTIONS)
            writable.add(top)
    for path, fd in fds.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
        os.close(fd)
        writable.add(path)
    for point in _mount_points():
        if any(_under(point, top) for top in (*writable, *NOT_REMOUNTED)):
            continue
        if _under(point, "/dev") and point != "/dev":
            continue  # /dev/pts, /dev/mqueue: devices, not files
        try:
            flags = _kept_flags(point)
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, None)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                continue  # a mount hidden under another one: not reachable by path
            raise


def _loopback_up() -> None:
    """The new network namespace has a loopback interface, down: tests that
    talk to a server of their own on 127.0.0.1 still work; nothing else exists."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def _drop_privileges(required: bool) -> None:
    """Empty the capability bounding set and forbid new privileges before the
    tests start: they run as root of the user namespace, and with its
    capabilities they could remount / read-write or unmount the fresh /tmp.
    Without capabilities they cannot; a user namespace of their own does not
    help them, since the kernel locks the mounts it copies into it."""
    libc = _libc()
    for cap in range(LAST_CAP + 1):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            code = ctypes.get_errno()
            if code == errno.EINVAL:
                break  # past the last capability this kernel knows
            if required:
                raise OSError(code, f"prctl(PR_CAPBSET_DROP, {cap})")
            break  # not privileged in the first place: nothing to drop
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 and required:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def _children_of(parents: set[int]) -> set[int]:
    found: set[int] = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        if ppid in parents:
            found.add(int(name))
    return found


def _kill_descendants() -> None:
    """Kill every process below this one. Orphans come back to this process
    (it is a subreaper), so repeating until none is left gets them all."""
    me = os.getpid()
    for _ in range(100):
        tree: set[int] = set()
        layer = _children_of({me})
        while layer:
            tree |= layer
            layer = _children_of(layer) - tree
        if not tree:
            return
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break


def main() -> int:
    config = json.loads(sys.argv[1])
    mode = config["mode"]
    try:
        if mode == "namespaces":
            _confine_files([config["task"], config["scratch"]])
            with contextlib.suppress(OSError):  # no loopback: still no network
                _loopback_up()
        elif _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        os.chdir(config["task"])
    except OSError as exc:
        sys.stderr.write(f"{MARK} cannot set up the sandbox: {exc}\n")
        return SETUP_FAILED

    child = os.fork()
    if child == 0:
        try:
            _drop_privileges(required=mode == "namespaces")
        except OSError as exc:
            sys.stderr.write(f"{MARK} cannot set up the sandbox: {exc}\n")
            os._exit(SETUP_FAILED)
        try:
            os.execv(config["argv"][0], config["argv"])
        finally:
            os._exit(127)

    def stop(signum: int, frame: object) -> None:
        _kill_descendants()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    status = 0
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            break
    _kill_descendants()  # in a PID namespace the kernel would too, when this exits
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
