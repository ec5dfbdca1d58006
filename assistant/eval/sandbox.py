"""How far eval can confine the code it runs (the model's, with the task's
tests), and the command line that does it.

Three levels, the best the platform allows without root:
- NAMESPACES (Linux with unprivileged user namespaces and util-linux
  `unshare`): no network (an empty network namespace), every file outside
  the task folder read-only or a fresh tmpfs (/tmp, /var/tmp, /dev/shm), a
  fresh empty HOME and TMPDIR, and every process the run started killed at
  its end, `setsid` ones too (a PID namespace).
- PROCESS (other Linux): fresh HOME and TMPDIR; every process killed at the
  end (the launcher is a child subreaper); the network blocked in Python
  processes only (an audit hook, inherited by Python children through
  `sitecustomize`); files outside the task folder NOT protected.
- GROUP (macOS, other systems): fresh HOME and TMPDIR, the process group
  killed at the end (a `setsid` child escapes), the Python-only network
  block; files NOT protected.

`eval run` refuses anything below NAMESPACES unless the user passes
`--unconfined` (see cli/eval.py)."""

from __future__ import annotations

import enum
import functools
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LAUNCHER = Path(__file__).with_name("confine.py")
UNSHARE_ARGS = (
    "--user",
    "--map-root-user",
    "--net",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
)
PROBE_TIMEOUT = 30.0

# Every Python process of the run (the test process and its Python children,
# through PYTHONPATH) refuses connections off the loopback and name lookups.
GUARD = """
import ipaddress, sys
def _assistant_eval_guard(event, args):
    if event == "socket.getaddrinfo" and args[0] not in ("localhost", "127.0.0.1", "::1", None):
        raise OSError("network access is disabled in eval tests")
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple):
            try:
                loopback = ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise OSError("network access is disabled in eval tests")
sys.addaudithook(_assistant_eval_guard)
"""


class Confinement(enum.Enum):
    NAMESPACES = "namespaces"
    PROCESS = "process"
    GROUP = "group"

    @property
    def confines_files_and_network(self) -> bool:
        return self is Confinement.NAMESPACES

    def describe(self) -> str:
        return {
            Confinement.NAMESPACES: (
                "user, network, mount and PID namespaces: no network, files outside the "
                "task folder read-only, every process killed at the end"
            ),
            Confinement.PROCESS: (
                "no user namespaces: every process is killed at the end and Python processes "
                "cannot use the network, but files outside the task folder are not protected "
                "and other programs can use the network"
            ),
            Confinement.GROUP: (
                "no namespaces on this system: only the process group is killed at the end "
                "(a setsid child escapes), Python processes cannot use the network, files "
                "outside the task folder are not protected"
            ),
        }[self]


def launcher_command(mode: Confinement, task: Path, scratch: Path, argv: list[str]) -> list[str]:
    """The command that runs `argv` in `task` under `mode`. GROUP needs no
    launcher: the caller's own process group is all there is."""
    if mode is Confinement.GROUP:
        return argv
    config = json.dumps(
        {"mode": mode.value, "task": str(task), "scratch": str(scratch), "argv": argv}
    )
    launch = [sys.executable, "-I", str(LAUNCHER), config]
    if mode is Confinement.NAMESPACES:
        unshare = shutil.which("unshare") or "unshare"
        return [unshare, *UNSHARE_ARGS, *launch]
    return launch


def write_guard(scratch: Path) -> Path:
    """The folder to put on PYTHONPATH: its sitecustomize installs the guard."""
    folder = scratch / "guard"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    return folder


@functools.cache
def confinement() -> Confinement:
    """The best level this machine gives, found by trying it once."""
    if not sys.platform.startswith("linux"):
        return Confinement.GROUP
    if shutil.which("unshare") and _works(Confinement.NAMESPACES):
        return Confinement.NAMESPACES
    return Confinement.PROCESS if _works(Confinement.PROCESS) else Confinement.GROUP


def _works(mode: Confinement) -> bool:
    with tempfile.TemporaryDirectory(prefix="assistant-eval-probe-") as tmp:
        task, scratch = Path(tmp) / "task", Path(tmp) / "scratch"
        task.mkdir()
        scratch.mkdir()
        probe = [sys.executable, "-I", "-c", "open('probe', 'w').write('ok')"]
        try:
            done = subprocess.run(
                launcher_command(mode, task, scratch, probe),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=PROBE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0 and (task / "probe").is_file()
