"""Bad model files: each a one-line error with what to do, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import ModelLoadError, ModelNotFoundError
from assistant.llm.gguf import read_gguf_info
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.protocols.detect import protocol_for_template


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def test_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="assistant model pull"):
        LlamaEngine.load(tmp_path / "nope.gguf")


def test_not_a_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(ModelLoadError, match="not a GGUF"):
        LlamaEngine.load(bad)


def test_truncated_gguf(tmp_path: Path, tiny_gemma4_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gemma4_path.read_bytes()[:20_000_000])
    with pytest.raises(ModelLoadError):
        LlamaEngine.load(cut, EngineConfig(n_ctx=256))


def test_corrupt_header(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(4096))
    with pytest.raises(ModelLoadError):
        read_gguf_info(bad)
    with pytest.raises(ModelLoadError):
        LlamaEngine.load(bad, EngineConfig(n_ctx=256))


def test_unsupported_architecture(tmp_path: Path) -> None:
    import gguf
    import numpy as np

    path = tmp_path / "alien.gguf"
    writer = gguf.GGUFWriter(str(path), "alien9000")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert read_gguf_info(path).architecture == "alien9000"
    with pytest.raises(ModelLoadError, match=r"alien9000|cannot load"):
        LlamaEngine.load(path, EngineConfig(n_ctx=256))


def test_model_info_reads_metadata(tiny_gemma4_path: Path, smollm2_path: Path) -> None:
    tiny = read_gguf_info(tiny_gemma4_path)
    assert tiny.architecture == "gemma4"
    assert protocol_for_template(tiny.chat_template) == "gemma4"
    assert tiny.chat_template and "<|tool_call>" in tiny.chat_template
    smol = read_gguf_info(smollm2_path)
    assert smol.architecture == "llama"
    assert smol.quantization == "Q4_1"
    assert 130_000_000 < smol.parameter_count < 140_000_000
    assert protocol_for_template(smol.chat_template) == "generic"


def test_cli_model_info_json(tiny_gemma4_path: Path) -> None:
    import json

    out = run_cli("model", "info", str(tiny_gemma4_path), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["protocol"] == "gemma4"
    assert data["architecture"] == "gemma4"
    assert data["chat_template"] is True


@pytest.mark.parametrize(
    ("content", "code"),
    [(None, 3), (b"hello", 3), (b"GGUF" + b"\x03\0\0\0" + b"\xff" * 64, 3)],
)
def test_cli_errors_are_one_line(tmp_path: Path, content: bytes | None, code: int) -> None:
    path = tmp_path / "m.gguf"
    if content is not None:
        path.write_bytes(content)
    out = run_cli("model", "info", str(path))
    assert out.returncode == code
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")


def test_no_model_anywhere_says_how_to_get_one(tmp_path: Path) -> None:
    from assistant.config import load_settings
    from assistant.llm.models import resolve_model_path

    settings = load_settings(None, user_file=tmp_path / "none.toml", environ={})
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_path(settings)
    assert "assistant model pull" in info.value.message and "--model" in info.value.message
    assert info.value.exit_code == 3
