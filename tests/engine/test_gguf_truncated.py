"""A truncated GGUF is named as such everywhere (issues 11 and 15): `model info`
said `unexpected error: unpack requires a buffer of 8 bytes` for a header cut
short, and printed a full table with exit 0 for a file cut inside its tensor
data; `doctor` accepted it. Now: "truncated: N of M bytes; download again",
exit 3, in `model info`, `doctor` and load. Real files: prefixes of the test
models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import ModelLoadError
from assistant.llm.gguf import read_gguf_info
from assistant.llm.llama import EngineConfig, LlamaEngine


def _cut(source: Path, target: Path, size: int) -> Path:
    with open(source, "rb") as src, open(target, "wb") as dst:
        dst.write(src.read(size))
    return target


def _vocab_offset(path: Path) -> int:
    """A byte inside the tokenizer's string array (the `unpack` crash)."""
    data = path.read_bytes()[:4_000_000]
    return data.index(b"tokenizer.ggml.tokens") + 2000


@pytest.mark.parametrize("model", ["tiny_gemma4", "smollm2"])
def test_every_cut_is_reported_as_truncated(
    model: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    source: Path = request.getfixturevalue(f"{model}_path")
    whole = read_gguf_info(source)
    assert whole.needed_size <= whole.file_size
    full = source.stat().st_size
    for size in (8, 30, 1000, _vocab_offset(source), full * 6 // 10, whole.needed_size - 1):
        cut = _cut(source, tmp_path / f"cut-{size}.gguf", size)
        with pytest.raises(ModelLoadError, match="truncated") as info:
            read_gguf_info(cut)
        assert "download again" in info.value.message and f"{size}" in info.value.message
        assert info.value.exit_code == 3
        cut.unlink()


def test_tensor_data_cut_says_how_much(tiny_gemma4_path: Path, tmp_path: Path) -> None:
    need = read_gguf_info(tiny_gemma4_path).needed_size
    cut = _cut(tiny_gemma4_path, tmp_path / "cut.gguf", need * 6 // 10)
    with pytest.raises(ModelLoadError) as info:
        read_gguf_info(cut)
    assert info.value.message.endswith(
        f"is truncated: {need * 6 // 10} of {need} bytes; download again"
    )


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300", **(env or {})},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("fraction", [0.6, 0.00002])
def test_model_info_and_doctor_exit_3(
    tiny_gemma4_path: Path, tmp_path: Path, fraction: float
) -> None:
    size = int(tiny_gemma4_path.stat().st_size * fraction)
    cut = _cut(tiny_gemma4_path, tmp_path / "cut.gguf", size)
    out = _cli("model", "info", str(cut))
    assert out.returncode == 3 and out.stdout == ""
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "truncated" in lines[0] and "download again" in lines[0]
    out = _cli("doctor", env={"ASSISTANT_MODEL": str(cut)})
    assert out.returncode == 3
    assert "truncated" in out.stdout and "Traceback" not in out.stderr


def test_load_refuses_before_llama_cpp(tiny_gemma4_path: Path, tmp_path: Path) -> None:
    need = read_gguf_info(tiny_gemma4_path).needed_size
    cut = _cut(tiny_gemma4_path, tmp_path / "cut.gguf", need - 4096)
    with pytest.raises(ModelLoadError, match=f"truncated: {need - 4096} of {need} bytes"):
        LlamaEngine.load(cut, EngineConfig(n_ctx=256))


def test_whole_files_still_load_and_report(tiny_gemma4_path: Path) -> None:
    out = _cli("model", "info", str(tiny_gemma4_path), "--json")
    assert out.returncode == 0, out.stderr
    out = _cli("doctor", env={"ASSISTANT_MODEL": str(tiny_gemma4_path)})
    assert out.returncode == 0, out.stdout + out.stderr
