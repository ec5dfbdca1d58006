"""How llama.cpp runs on this machine: which weight buffer types a model is
loaded into, and how many threads compute. Decided here, in one place, from
what llama.cpp itself reports (its CPU feature list and the CPU backend's
extra buffer types), never from a guess about the CPU.

Two facts drive it:
- llama.cpp builds with the CPU's own instruction set (GGML_NATIVE). On a CPU
  with AMX (Intel Sapphire Rapids and later) quantized weights go into the
  "AMX" extra buffer type, and the first decode of the pinned llama.cpp
  segfaults there (https://github.com/ggml-org/llama.cpp/issues/20824).
  llama.cpp's only switch is all-or-nothing (`use_extra_bufts`, which also
  turns off the ordinary "CPU_REPACK" layouts), so it is turned off only
  where AMX is among the extra buffer types.
- llama.cpp's threads wait for each other at every graph node. With more
  threads than free cores, one descheduled thread stalls all of them for a
  scheduler time slice, and generation gets 10-40x slower, not 2x. So the
  thread count follows the cores that are free right now, re-read while a
  long answer is generated.

The functions that decide are pure (reports in, plan out) and tested with
simulated reports; the readers below them are the only parts that touch
llama.cpp or /proc."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

UPSTREAM_AMX_BUG = "https://github.com/ggml-org/llama.cpp/issues/20824"

# Extra buffer types known to crash the pinned llama.cpp, and why.
UNSAFE_BUFFER_TYPES = {
    "AMX": f"llama.cpp's AMX kernels segfault at the first decode of quantized weights ({UPSTREAM_AMX_BUG})",
}


class ExtraBuffers(StrEnum):
    """The `extra_buffers` setting."""

    AUTO = "auto"  # on, unless llama.cpp offers a buffer type known to crash
    ON = "on"  # llama.cpp's default: AMX and CPU_REPACK where offered
    OFF = "off"  # plain CPU buffers only


@dataclass(frozen=True)
class CpuReport:
    """What llama.cpp says about this CPU."""

    features: frozenset[str]  # e.g. AVX2, AVX512, AMX_INT8, NEON (llama_print_system_info)
    extra_buffer_types: tuple[str, ...]  # the CPU backend's, in llama.cpp's order of preference

    @property
    def has_amx(self) -> bool:
        return "AMX" in self.extra_buffer_types or "AMX_INT8" in self.features


@dataclass(frozen=True)
class LoadPlan:
    """How weights are loaded: the value of `use_extra_bufts`, the buffer types
    weights may go into (first fit wins; plain "CPU" takes the rest), and why."""

    use_extra_buffers: bool
    buffer_types: tuple[str, ...]
    reason: str

    @property
    def summary(self) -> str:
        return f"{', '.join(self.buffer_types)} ({self.reason})"


def plan_load(report: CpuReport, setting: ExtraBuffers = ExtraBuffers.AUTO) -> LoadPlan:
    unsafe = [name for name in report.extra_buffer_types if name in UNSAFE_BUFFER_TYPES]
    if setting is ExtraBuffers.ON:
        reason = "extra_buffers = on"
        if unsafe:
            reason += f"; {unsafe[0]} is known to crash: {UNSAFE_BUFFER_TYPES[unsafe[0]]}"
        return LoadPlan(True, (*report.extra_buffer_types, "CPU"), reason)
    if setting is ExtraBuffers.OFF:
        return LoadPlan(False, ("CPU",), "extra_buffers = off")
    if unsafe:
        return LoadPlan(
            False,
            ("CPU",),
            f"{unsafe[0]} is off: {UNSAFE_BUFFER_TYPES[unsafe[0]]}; llama.cpp's switch "
            "is all-or-nothing, so CPU_REPACK is off too",
        )
    if report.extra_buffer_types:
        return LoadPlan(True, (*report.extra_buffer_types, "CPU"), "llama.cpp's default")
    return LoadPlan(True, ("CPU",), "llama.cpp offers no extra buffer types here")


def server_flags(plan: LoadPlan) -> tuple[str, ...]:
    """The same plan for a `llama-server` built from the same llama.cpp on the
    same machine: `--no-repack` is its `use_extra_bufts = false`
    (common/arg.cpp, env LLAMA_ARG_REPACK)."""
    return () if plan.use_extra_buffers else ("--no-repack",)


def parse_system_info(text: str) -> frozenset[str]:
    """The features llama_print_system_info() reports as on: `AVX2 = 1 | …`."""
    return frozenset(m.group(1) for m in re.finditer(r"([A-Z][A-Z0-9_]*) = 1\b", text))


# -- threads --------------------------------------------------------------------


@dataclass(frozen=True)
class CpuLoad:
    """Runnable tasks on the machine that are not this process's own."""

    others_running: int


def usable_cores(physical: int, affinity: int | None) -> int:
    """Cores llama.cpp may use: physical cores (hyper-threads slow it down),
    within the CPUs this process may run on (a container's cpuset)."""
    cores = physical if affinity is None else min(physical, affinity)
    return max(1, cores)


def threads_for(cores: int, configured: int | None, load: CpuLoad | None) -> int:
    """Threads for the next evaluation. A configured count is the user's
    choice and is kept; otherwise one thread per core that is free now."""
    if configured is not None:
        return max(1, configured)
    busy = 0 if load is None else max(0, load.others_running)
    return max(1, min(cores, cores - busy))


def physical_cores(cpuinfo: str | None = None) -> int:
    """Physical cores (llama.cpp is slower with hyper-threads than without)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    physical = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical = value.strip()
        elif key == "core id":
            cores.add((physical, value.strip()))
    return max(1, len(cores) or (os.cpu_count() or 1))


def affinity_cores() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def default_cores() -> int:
    return usable_cores(physical_cores(), affinity_cores())


def _procs_running(proc: Path) -> int | None:
    try:
        for line in (proc / "stat").read_text().splitlines():
            if line.startswith("procs_running "):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _own_running(proc: Path) -> int:
    """This process's threads in state R (its own waiting llama.cpp threads
    may still be spinning, and the thread reading is running)."""
    count = 0
    with contextlib.suppress(OSError):
        for task in (proc / "self" / "task").iterdir():
            with contextlib.suppress(OSError):
                stat = (task / "stat").read_text()
                # comm may hold spaces and parentheses: the state follows the last ')'.
                if stat[stat.rindex(")") + 2 : stat.rindex(")") + 3] == "R":
                    count += 1
    return max(1, count)


def read_cpu_load(proc: Path = Path("/proc"), samples: int = 3) -> CpuLoad | None:
    """Other runnable tasks now (Linux: the kernel's procs_running, less this
    process's own running threads), the least of a few samples so that a task
    that ran for a moment does not count; None where the system does not say."""
    seen: list[int] = []
    for index in range(samples):
        total = _procs_running(proc)
        if total is None:
            return None
        seen.append(max(0, total - _own_running(proc)))
        if index + 1 < samples:
            time.sleep(0.0005)
    return CpuLoad(min(seen))


class ThreadGovernor:
    """Sets llama.cpp's thread count before each evaluation, and every
    `recheck` generated tokens, to the cores free at that moment."""

    def __init__(
        self,
        cores: int,
        configured: int | None,
        recheck: int = 32,
        reader: Callable[[], CpuLoad | None] = read_cpu_load,
    ) -> None:
        self.cores = cores
        self.configured = configured
        self.recheck = recheck
        self._reader = reader

    def threads_now(self) -> int:
        if self.configured is not None:
            return threads_for(self.cores, self.configured, None)
        return threads_for(self.cores, None, self._reader())


# -- asking llama.cpp -------------------------------------------------------------


def _extra_buffer_type_names() -> tuple[str, ...]:
    """The CPU backend's extra buffer types, as llama.cpp's own loader lists
    them (make_cpu_buft_list: ggml_backend_dev_get_extra_bufts)."""
    from llama_cpp import _ggml

    lib = _ggml.libggml
    void_p = ctypes.c_void_p
    lib.ggml_backend_dev_by_type.restype = void_p
    lib.ggml_backend_dev_by_type.argtypes = [ctypes.c_int]
    lib.ggml_backend_dev_backend_reg.restype = void_p
    lib.ggml_backend_dev_backend_reg.argtypes = [void_p]
    lib.ggml_backend_reg_get_proc_address.restype = void_p
    lib.ggml_backend_reg_get_proc_address.argtypes = [void_p, ctypes.c_char_p]
    lib.ggml_backend_buft_name.restype = ctypes.c_char_p
    lib.ggml_backend_buft_name.argtypes = [void_p]
    device_type_cpu = 0  # GGML_BACKEND_DEVICE_TYPE_CPU
    device = lib.ggml_backend_dev_by_type(device_type_cpu)
    if not device:
        return ()
    reg = lib.ggml_backend_dev_backend_reg(device)
    address = lib.ggml_backend_reg_get_proc_address(reg, b"ggml_backend_dev_get_extra_bufts")
    if not address:
        return ()
    get_extra = ctypes.CFUNCTYPE(ctypes.POINTER(void_p), void_p)(address)
    array = get_extra(device)
    names: list[str] = []
    index = 0
    while array and array[index]:
        names.append(lib.ggml_backend_buft_name(array[index]).decode(errors="replace"))
        index += 1
    return tuple(names)


_report: CpuReport | None = None


def cpu_report() -> CpuReport:
    """llama.cpp's own view of this CPU (read once per process)."""
    global _report
    if _report is None:
        import llama_cpp

        llama_cpp.llama_backend_init()
        info = llama_cpp.llama_print_system_info().decode(errors="replace")
        _report = CpuReport(parse_system_info(info), _extra_buffer_type_names())
    return _report


@contextlib.contextmanager
def model_params_for(plan: LoadPlan) -> Iterator[None]:
    """While a `llama_cpp.Llama` is built, its model parameters follow `plan`.
    llama-cpp-python 0.3.36 has no keyword for `use_extra_bufts`: its Llama
    starts from llama_model_default_params(), so that is where it is set."""
    import llama_cpp.llama_cpp as low

    original = low.llama_model_default_params

    def params() -> Any:
        value = original()
        value.use_extra_bufts = plan.use_extra_buffers
        return value

    low.llama_model_default_params = params
    try:
        yield
    finally:
        low.llama_model_default_params = original


# -- a crash at the first decode ------------------------------------------------


@dataclass(frozen=True)
class FirstDecode:
    """A note left on disk while a model's first decode runs. A native crash
    there kills the process with no Python left to explain it; the next run
    finds the note and says what died, where, and what to try."""

    pid: int
    model: str
    buffers: str

    def describe(self) -> str:
        return (
            f"an earlier run (pid {self.pid}) died during the first decode of {self.model} "
            f"with weights in {self.buffers}; `assistant doctor` checks it in a child process"
            + (
                ", and `ASSISTANT_EXTRA_BUFFERS=off` avoids llama.cpp's extra buffer types"
                if self.buffers not in ("CPU", "")
                else ""
            )
        )


def mark_first_decode(directory: Path, note: FirstDecode) -> None:
    """One file per process, so that concurrent runs keep their own notes."""
    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / str(note.pid)
        tmp = directory / f".{note.pid}.tmp"
        tmp.write_text(f"{note.model}\n{note.buffers}\n", encoding="utf-8")
        os.replace(tmp, target)


def clear_first_decode(directory: Path) -> None:
    with contextlib.suppress(OSError):
        (directory / str(os.getpid())).unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: it exists
        return True
    return True


def take_crashed_first_decodes(directory: Path) -> list[FirstDecode]:
    """Notes of runs that died in their first decode (each removed once
    read); a note whose process still runs is left alone."""
    found: list[FirstDecode] = []
    with contextlib.suppress(OSError):
        for entry in sorted(directory.iterdir()):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if pid == os.getpid() or _alive(pid):
                continue
            with contextlib.suppress(OSError, ValueError):
                model, buffers = entry.read_text(encoding="utf-8").split("\n")[:2]
                found.append(FirstDecode(pid, model, buffers))
            with contextlib.suppress(OSError):
                entry.unlink()
    return found
