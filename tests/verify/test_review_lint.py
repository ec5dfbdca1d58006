"""`review --lint`: the user's lint_command on the staged files, reported as
findings with category lint (the model is replayed; the linter is a real
subprocess)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assistant.cli import review
from assistant.review.findings import MODEL_CATEGORIES, Category, findings_grammar
from tests.review.conftest import canned, repo  # noqa: F401 (the fixture)

app = typer.Typer()
review.register(app)
app.command("noop")(lambda: None)  # keep `review` a subcommand

LINTER = (
    f'{sys.executable} -c "import sys; '
    "[print(f'{p}:3:5: F401 unused import') for p in sys.argv[1:]]; "
    "print('other.py:1:1: E1 not reviewed'); sys.exit(1)\" {files}"
)


def test_lint_errors_become_findings(
    repo: Path,  # noqa: F811 (the fixture)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "xdg" / "assistant"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f"lint_command = {json.dumps(LINTER)}\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(repo)
    replay = canned(tmp_path, {"findings": []})
    result = CliRunner().invoke(
        app, ["review", "--staged", "--lint", "--replay", str(replay), "--format", "json"]
    )
    data = json.loads(result.output[result.output.index("{") :])
    lint = [f for f in data["findings"] if f["category"] == "lint"]
    assert lint == [
        {
            "file": "app/store.py",
            "line": 3,
            "end_line": 3,
            "severity": "warning",
            "category": "lint",
            "message": "F401 unused import",
        }
    ]
    assert result.exit_code == 0  # warnings do not block at the default --fail-on error


def test_the_model_cannot_claim_lint() -> None:
    assert Category.LINT not in MODEL_CATEGORIES
    assert '"\\"lint\\""' not in findings_grammar(["a.py"]) and "lint" not in findings_grammar(
        ["a.py"]
    )
