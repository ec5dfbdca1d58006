"""Each test model, loaded with exactly the product's load parameters
(settings → runtime.engine_config → LlamaEngine.load, threads and extra
buffers left to their defaults), evaluates a prompt of more than 600 tokens
in a child process. On an AMX CPU this is the test that died with SIGSEGV
(llama.cpp #20824: the first decode in the AMX buffer type); run in a child,
a native crash is a failed test with the signal named, not a lost run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.agent.probe import run_probe
from assistant.llm import hardware

MODELS = ("tiny_gemma4", "tiny_gemma4_e4b_arch", "smollm2")


def _product_env() -> dict[str, str]:
    env = dict(os.environ)
    # The suite pins one thread for speed on a loaded box; the product's own
    # default (free cores) and buffer choice are what is under test here.
    env.pop("ASSISTANT_THREADS", None)
    env.pop("ASSISTANT_EXTRA_BUFFERS", None)
    return env


@pytest.mark.parametrize("name", MODELS)
def test_a_model_loads_and_decodes_700_tokens_in_a_child(
    name: str, test_models: dict[str, Path]
) -> None:
    outcome = run_probe(test_models[name], tokens=700, timeout=400, env=_product_env())
    assert outcome.returncode == 0, f"{name}: {outcome.error}"
    report = outcome.report
    assert report is not None
    assert report.prompt_tokens == 700
    assert report.generated_tokens >= 1
    plan = hardware.plan_load(hardware.cpu_report())
    assert report.load_plan == plan.summary
    assert "AMX" not in report.weight_buffers
    assert report.weight_buffers, "llama.cpp's load log names where the weights went"
    assert set(report.weight_buffers) <= {"CPU", "CPU_Mapped", "CPU_REPACK"}


def test_extra_buffers_off_reaches_llama_cpp(smollm2_path: Path) -> None:
    """The setting is applied for real: llama.cpp's own model parameters say so,
    and no weight goes into an extra buffer type."""
    env = _product_env() | {"ASSISTANT_EXTRA_BUFFERS": "off"}
    outcome = run_probe(smollm2_path, tokens=64, timeout=300, env=env)
    assert outcome.report is not None, outcome.error
    assert outcome.report.load_plan.startswith("CPU (extra_buffers = off")
    assert "CPU_REPACK" not in outcome.report.weight_buffers


def test_use_extra_bufts_is_set_on_the_loaded_model(smollm2_path: Path) -> None:
    from assistant.llm.llama import EngineConfig, LlamaEngine

    for setting, expected in ((hardware.ExtraBuffers.OFF, False), (hardware.ExtraBuffers.ON, True)):
        engine = LlamaEngine.load(
            smollm2_path, EngineConfig(n_ctx=256, n_threads=1, extra_buffers=setting)
        )
        try:
            assert engine._llama.model_params.use_extra_bufts is expected
            assert engine.load_plan.use_extra_buffers is expected
        finally:
            engine.close()
    # and the library's default is left as it was
    import llama_cpp

    assert llama_cpp.llama_model_default_params().use_extra_bufts is True


def test_a_child_killed_by_a_signal_is_named(tmp_path: Path, smollm2_path: Path) -> None:
    """No CPU here crashes llama.cpp, so the crash itself is simulated: a
    sitecustomize makes the probe's interpreter kill itself with SIGSEGV, a
    real signal death of a real child process."""
    (tmp_path / "sitecustomize.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"
    )
    env = _product_env() | {"PYTHONPATH": str(tmp_path)}
    outcome = run_probe(smollm2_path, tokens=64, timeout=120, env=env)
    assert outcome.report is None
    assert outcome.returncode == -11
    assert outcome.error == "killed by SIGSEGV while loading or decoding"


def _doctor(cwd: Path, model: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", "doctor"],
        capture_output=True,
        text=True,
        env=_product_env() | {"ASSISTANT_MODEL": str(model), "COLUMNS": "250"} | env,
        cwd=cwd,
        timeout=300,
    )


def test_doctor_names_what_killed_the_first_decode(tmp_path: Path, smollm2_path: Path) -> None:
    """`assistant doctor` survives the crash of its probe and says what killed
    it; the doctor process itself arms the crash only for its children."""
    (tmp_path / "sitecustomize.py").write_text(
        "import os, signal\n"
        "if os.environ.get('CRASH_CHILD') == '1':\n"
        "    os.kill(os.getpid(), signal.SIGSEGV)\n"
        "os.environ['CRASH_CHILD'] = '1'\n"
    )
    done = _doctor(tmp_path, smollm2_path, {"PYTHONPATH": str(tmp_path)})
    assert done.returncode == 3, done.stdout + done.stderr
    assert "killed by SIGSEGV while loading or decoding" in done.stdout
    assert "ASSISTANT_EXTRA_BUFFERS=off" in done.stdout


def test_doctor_explains_the_cpu_path(tmp_path: Path, smollm2_path: Path) -> None:
    done = _doctor(tmp_path, smollm2_path, {})
    assert done.returncode == 0, done.stdout + done.stderr
    report = hardware.cpu_report()
    out = " ".join(done.stdout.replace("│", " ").split())
    assert "llama.cpp CPU features" in out
    for feature in sorted(report.features)[:3]:
        assert feature in out
    assert f"weights load into {hardware.plan_load(report).buffer_types[0]}" in out
    assert "first decode ok: 256-token prompt" in out
