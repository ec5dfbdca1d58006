"""Chat's /test and /lint on a real runtime (the tiny Gemma 4 model, real
pytest in a real repo): the check runs, a failure becomes the model's next
message, and the rounds follow `fix_rounds`."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from assistant.tools.approval import ApprovalPolicy

from assistant.agent.context import Mode
from assistant.agent.runtime import ModelOptions, open_runtime
from assistant.cli.chat import ChatApp
from assistant.ui.render import PlainRenderer
from tests.agent.conftest import make_repo

PYTEST = f"{sys.executable} -m pytest -x -q -p no:cacheprovider"


@pytest.fixture
def app(tmp_path: Path, tiny_gemma4_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChatApp:
    root = make_repo(
        tmp_path / "repo",
        {
            "calc.py": "def add(a, b):\n    return a - b\n",
            "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
        },
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "assistant").mkdir(parents=True)
    (tmp_path / "xdg" / "assistant" / "config.toml").write_text("fix_rounds = 1\n")
    opts = ModelOptions(
        model=str(tiny_gemma4_path), ctx=2048, threads=1, max_tokens=24, max_steps=1
    )
    runtime = open_runtime(opts, root=root, mode=Mode.CHAT, policy=ApprovalPolicy.READ_ONLY)
    out, err = io.StringIO(), io.StringIO()
    return ChatApp(runtime, PlainRenderer(out, err, show_thoughts=False))


def output(app: ChatApp) -> str:
    renderer = app.renderer
    assert isinstance(renderer, PlainRenderer)
    return renderer.out.getvalue() + renderer.err.getvalue()  # type: ignore[attr-defined]


def test_slash_test_runs_the_loop_and_feeds_the_failure(app: ChatApp) -> None:
    assert app.runtime.settings.fix_rounds == 1
    turns_before = app.runtime.session.turns
    assert app.command(f"/test {PYTEST}")
    text = output(app)
    # One line per check: the first and the one after the fix round (issue 21).
    assert text.count("✗ round 1/2: ") == 1 and text.count("✗ round 2/2: ") == 1, text
    assert "1 failed (test_calc.py::test_add)" in text
    assert "assert add(2, 3) == 5" in text
    assert "still fail" in text and "assistant undo" in text
    assert app.runtime.session.turns == turns_before + 1  # one fix round, capped
    transcript = app.runtime.session.transcript(max_chars=10**6)
    assert "The tests fail:" in transcript and "Fix the code, not the tests." in transcript
    app.runtime.close()


def test_slash_lint_without_a_command_says_how_to_set_one(app: ChatApp) -> None:
    app.command("/lint")
    assert "no lint command: /lint CMD, or set lint_command" in output(app)
    app.command("/lint echo {files}")
    assert "nothing to check" in output(app)
    app.runtime.close()
