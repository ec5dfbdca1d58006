"""examples/team-server/serve.sh starts a real llama-server (built from the
vendored llama.cpp) that answers /completion, with llama.cpp's extra buffer
types off exactly where the CPU has AMX (llama.cpp #20824), and REPACK=on|off
to force either way."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "examples" / "team-server" / "serve.sh"


def _cpu_has_amx() -> bool:
    try:
        return " amx_int8" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def _serve(binary: Path, model: Path, log: Path, repack: str | None) -> tuple[str, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_")}
    env |= {
        "LLAMA_SERVER": str(binary),
        "HOST": "127.0.0.1",
        "SLOTS": "1",
        "CTX": "1024",
        "CACHE_RAM_MIB": "64",
    }
    if repack is not None:
        env["REPACK"] = repack
    process = subprocess.Popen(
        ["sh", str(SERVE), str(model), str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text(errors="replace")[-2000:]
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(f"serve.sh's server never became healthy: {log.read_text()[-2000:]}")
        # exec: the script's pid is the server's; its command line is what serve.sh chose
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        answer = httpx.post(
            f"{url}/completion", json={"prompt": "Hello", "n_predict": 8}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["tokens_predicted"] >= 1
        return cmdline, log.read_text(errors="replace")
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="reads Linux /proc")
def test_serve_sh_answers_and_turns_repack_off_only_on_amx(
    server_binary: Path, smollm2_path: Path, tmp_path: Path
) -> None:
    cmdline, _ = _serve(server_binary, smollm2_path, tmp_path / "auto.log", None)
    assert ("--no-repack" in cmdline.split()) == _cpu_has_amx()


def test_serve_sh_repack_off_is_applied(
    server_binary: Path, smollm2_path: Path, tmp_path: Path
) -> None:
    cmdline, log = _serve(server_binary, smollm2_path, tmp_path / "off.log", "off")
    assert "--no-repack" in cmdline.split()
    assert "CPU_REPACK model buffer" not in log
    assert "AMX model buffer" not in log
