"""The CPU path (llm/hardware.py): which buffer types weights load into and
how many threads compute, decided from what llama.cpp reports.

The decision is tested with simulated reports: an AMX CPU cannot be had here,
so its report is written out as llama.cpp would give it. The names come from
the vendored llama.cpp of the pinned llama-cpp-python 0.3.36:
ggml/src/ggml-cpu/ggml-cpu.cpp (ggml_backend_cpu_get_extra_buffer_types puts
"AMX" before "CPU_REPACK"; the feature list says "AMX_INT8 = 1"),
ggml/src/ggml-cpu/amx/amx.cpp (buffer type name "AMX") and
ggml/src/ggml-cpu/repack.cpp ("CPU_REPACK"). The readers are tested against
this machine's real llama.cpp and /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.llm import hardware
from assistant.llm.hardware import CpuLoad, CpuReport, ExtraBuffers, ThreadGovernor

# llama_print_system_info() as the pinned llama.cpp prints it on a Sapphire
# Rapids Xeon (GGML_NATIVE build): the shape of ggml-cpu.cpp's feature list.
SAPPHIRE_RAPIDS_INFO = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | "
    "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
AMX = CpuReport(hardware.parse_system_info(SAPPHIRE_RAPIDS_INFO), ("AMX", "CPU_REPACK"))
AVX512 = CpuReport(frozenset({"AVX2", "AVX512", "REPACK"}), ("CPU_REPACK",))
GRAVITON = CpuReport(frozenset({"NEON", "ARM_FMA", "DOTPROD", "REPACK"}), ("CPU_REPACK",))
APPLE = CpuReport(frozenset({"NEON", "ARM_FMA", "MATMUL_INT8"}), ())
AMX_ONLY_FEATURE = CpuReport(frozenset({"AMX_INT8"}), ("CPU_REPACK",))
ALL_REPORTS = (AMX, AVX512, GRAVITON, APPLE, AMX_ONLY_FEATURE)


def test_system_info_is_parsed_into_features() -> None:
    assert {"AVX512", "AMX_INT8", "REPACK", "AVX2"} <= AMX.features
    assert "SSE3" in AMX.features
    assert hardware.parse_system_info("CPU : AVX = 0 | NEON = 1 |") == {"NEON"}


def test_the_amx_buffer_is_never_chosen_by_default() -> None:
    for report in ALL_REPORTS:
        plan = hardware.plan_load(report)
        assert "AMX" not in plan.buffer_types, report
    plan = hardware.plan_load(AMX)
    assert plan.use_extra_buffers is False
    assert plan.buffer_types == ("CPU",)
    assert "20824" in plan.reason and "CPU_REPACK is off too" in plan.reason


def test_the_ordinary_repack_is_kept_where_it_is_safe() -> None:
    for report in (AVX512, GRAVITON):
        plan = hardware.plan_load(report)
        assert plan.use_extra_buffers is True
        assert plan.buffer_types == ("CPU_REPACK", "CPU")
    assert hardware.plan_load(APPLE) == hardware.LoadPlan(
        True, ("CPU",), "llama.cpp offers no extra buffer types here"
    )


def test_a_user_can_force_either_way() -> None:
    forced = hardware.plan_load(AMX, ExtraBuffers.ON)
    assert forced.use_extra_buffers is True
    assert forced.buffer_types == ("AMX", "CPU_REPACK", "CPU")
    assert "known to crash" in forced.reason
    off = hardware.plan_load(AVX512, ExtraBuffers.OFF)
    assert (off.use_extra_buffers, off.buffer_types) == (False, ("CPU",))


def test_this_machines_llama_cpp_is_read_for_real() -> None:
    import llama_cpp

    report = hardware.cpu_report()
    info = llama_cpp.llama_print_system_info().decode()
    assert report.features == hardware.parse_system_info(info)
    assert report.has_amx == ("AMX" in report.extra_buffer_types or "AMX_INT8" in info)
    # llama.cpp names its extra buffer types from a fixed set.
    assert set(report.extra_buffer_types) <= {"AMX", "CPU_REPACK", "KLEIDIAI", "SpacemiT"}
    if "REPACK" in report.features:
        assert "CPU_REPACK" in report.extra_buffer_types


# -- threads ----------------------------------------------------------------------


def test_threads_follow_the_free_cores() -> None:
    assert hardware.threads_for(8, None, CpuLoad(0)) == 8
    assert hardware.threads_for(8, None, CpuLoad(1)) == 7
    assert hardware.threads_for(2, None, CpuLoad(1)) == 1
    assert hardware.threads_for(2, None, CpuLoad(5)) == 1
    assert hardware.threads_for(4, None, None) == 4  # the system does not say: all cores
    assert hardware.threads_for(4, 3, CpuLoad(4)) == 3  # the user's own choice stands


def test_usable_cores_respect_a_cpuset() -> None:
    assert hardware.usable_cores(8, None) == 8
    assert hardware.usable_cores(8, 2) == 2
    assert hardware.usable_cores(4, 16) == 4
    cpuinfo = "".join(f"processor : {i}\nphysical id : 0\ncore id : {i // 2}\n\n" for i in range(8))
    assert hardware.physical_cores(cpuinfo) == 4  # hyper-threads count once


def _fake_proc(root: Path, procs_running: int, own_states: str) -> Path:
    (root / "stat").parent.mkdir(parents=True, exist_ok=True)
    (root / "stat").write_text(f"cpu  1 2 3\nprocs_running {procs_running}\nprocs_blocked 0\n")
    for index, state in enumerate(own_states):
        task = root / "self" / "task" / str(100 + index)
        task.mkdir(parents=True)
        # a comm with a space and a parenthesis: the state follows the last ')'
        (task / "stat").write_text(f"{100 + index} (llama (x) y) {state} 1 2 3\n")
    return root


def test_cpu_load_subtracts_this_process_own_threads(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path / "proc", procs_running=4, own_states="RRS")
    assert hardware.read_cpu_load(proc, samples=1) == CpuLoad(2)
    quiet = _fake_proc(tmp_path / "quiet", procs_running=1, own_states="RS")
    assert hardware.read_cpu_load(quiet, samples=1) == CpuLoad(0)
    assert hardware.read_cpu_load(tmp_path / "none", samples=1) is None


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="Linux /proc only")
def test_a_busy_process_is_seen_by_the_real_reader() -> None:
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        seen = [hardware.read_cpu_load() for _ in range(5)]
    finally:
        busy.kill()
        busy.wait()
    assert all(load is not None for load in seen)
    assert max(load.others_running for load in seen if load is not None) >= 1


def test_the_governor_asks_the_reader_unless_threads_are_set() -> None:
    loads = iter([CpuLoad(0), CpuLoad(1), CpuLoad(3)])
    governor = ThreadGovernor(4, None, reader=lambda: next(loads))
    assert [governor.threads_now() for _ in range(3)] == [4, 3, 1]
    fixed = ThreadGovernor(4, 2, reader=lambda: pytest.fail("not read when threads are set"))
    assert fixed.threads_now() == 2


# -- the first decode note ------------------------------------------------------------


def test_a_run_that_died_in_its_first_decode_is_reported_once(tmp_path: Path) -> None:
    notes = tmp_path / "first-decode"
    # A real child process leaves the note and dies by SIGSEGV, as the AMX path does.
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from assistant.llm import hardware\n"
        "hardware.mark_first_decode(Path(sys.argv[1]),"
        " hardware.FirstDecode(os.getpid(), 'model.gguf', 'AMX, CPU_Mapped'))\n"
        "os.kill(os.getpid(), signal.SIGSEGV)\n"
    )
    child = subprocess.run([sys.executable, "-c", code, str(notes)])
    assert child.returncode == -11
    found = hardware.take_crashed_first_decodes(notes)
    assert [(f.model, f.buffers) for f in found] == [("model.gguf", "AMX, CPU_Mapped")]
    assert "ASSISTANT_EXTRA_BUFFERS=off" in found[0].describe()
    assert hardware.take_crashed_first_decodes(notes) == []  # said once


def test_a_live_run_note_and_a_cleared_note_are_left_alone(tmp_path: Path) -> None:
    notes = tmp_path / "first-decode"
    hardware.mark_first_decode(notes, hardware.FirstDecode(os.getpid(), "m.gguf", "CPU"))
    assert hardware.take_crashed_first_decodes(notes) == []  # this process is alive
    assert (notes / str(os.getpid())).exists()
    hardware.clear_first_decode(notes)
    assert not (notes / str(os.getpid())).exists()
