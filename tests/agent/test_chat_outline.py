"""Chat's /outline on a real runtime (the tiny Gemma 4 model, a real repo):
the file's definitions for the user, nothing sent to the model."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from assistant.tools.approval import ApprovalPolicy

from assistant.agent.context import Mode
from assistant.agent.runtime import ModelOptions, open_runtime
from assistant.cli.chat import HELP, ChatApp
from assistant.ui.render import PlainRenderer
from tests.agent.conftest import make_repo


@pytest.fixture
def app(tmp_path: Path, tiny_gemma4_path: Path) -> ChatApp:
    root = make_repo(
        tmp_path / "repo",
        {
            "shop/cart.py": (
                "class Cart:\n"
                "    @property\n"
                "    def total(self):\n"
                "        return 0\n"
                "\n"
                "\n"
                "def main():\n"
                "    pass\n"
            ),
            "notes.txt": "hello\n",
        },
    )
    opts = ModelOptions(model=str(tiny_gemma4_path), ctx=2048, threads=1, max_tokens=16)
    runtime = open_runtime(opts, root=root, mode=Mode.CHAT, policy=ApprovalPolicy.ASK)
    return ChatApp(runtime, PlainRenderer(io.StringIO(), io.StringIO(), show_thoughts=False))


def output(app: ChatApp) -> str:
    renderer = app.renderer
    assert isinstance(renderer, PlainRenderer)
    text = renderer.out.getvalue() + renderer.err.getvalue()  # type: ignore[attr-defined]
    renderer.out.truncate(0), renderer.out.seek(0)  # type: ignore[attr-defined]
    renderer.err.truncate(0), renderer.err.seek(0)  # type: ignore[attr-defined]
    return text


def test_slash_outline_shows_definitions_and_sends_nothing(app: ChatApp) -> None:
    assert "/outline PATH" in HELP
    ids_before = list(app.runtime.session.ids)
    assert app.command("/outline shop/cart.py")
    text = output(app)
    assert "shop/cart.py (python, 8 lines, 3 definitions):" in text
    assert "class Cart: class Cart" in text
    assert "2-4   method Cart.total: def total(self)" in text
    assert "function main: def main()" in text
    assert app.command("/outline shop/missing.py")
    assert "shop/missing.py" in output(app)
    assert app.command("/outline notes.txt")
    assert "no parser" in output(app)
    assert app.command("/outline")
    assert "usage: /outline PATH" in output(app)
    assert list(app.runtime.session.ids) == ids_before  # the model saw none of it
    # The system prompt teaches the symbol tools, since they are offered.
    assert "replace_symbol" in app.runtime.session.system
    app.runtime.close()
