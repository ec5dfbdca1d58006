"""`review` on the command line: formats, --fail-on, and never in the way."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from assistant.cli import hook, review
from tests.review.conftest import canned, commit_all, finding, git, run_cli, write

app = typer.Typer()
review.register(app)
hook.register(app)
runner = CliRunner()

ANSWER = {
    "findings": [
        finding("app/store.py", 15, "error", message="returns None for an empty key"),
        finding("app/store.py", 16, "warning", category="style", suggestion="raise KeyError"),
        finding("app/store.py", 1, "error", message="outside the diff"),
    ]
}


@pytest.fixture
def in_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(repo)
    return repo


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["review", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("fail_on", "code"), [("info", 1), ("warning", 1), ("error", 1), ("never", 0)]
)
def test_fail_on_thresholds(in_repo: Path, tmp_path: Path, fail_on: str, code: int) -> None:
    replay = canned(tmp_path, ANSWER)
    exit_code, _ = invoke(
        "--staged", "--replay", str(replay), "--fail-on", fail_on, "--format", "json"
    )
    assert exit_code == code


def test_fail_on_above_the_worst_finding(in_repo: Path, tmp_path: Path) -> None:
    replay = canned(tmp_path, {"findings": [finding("app/store.py", 15, "warning")]})
    assert invoke("--staged", "--replay", str(replay), "--fail-on", "error")[0] == 0
    assert invoke("--staged", "--replay", str(replay), "--fail-on", "warning")[0] == 1


def test_json_report(in_repo: Path, tmp_path: Path) -> None:
    code, out = invoke("--staged", "--replay", str(canned(tmp_path, ANSWER)), "--format", "json")
    data = json.loads(out)
    assert [(f["line"], f["severity"]) for f in data["findings"]] == [
        (15, "error"),
        (16, "warning"),
    ]
    assert data["findings"][1]["suggestion"] == "raise KeyError"
    assert data["summary"]["dropped_outside_diff"] == 1 and data["summary"]["complete"]
    assert code == 1


def test_sarif_report(in_repo: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "out" / "review.sarif"
    code, _ = invoke(
        "--staged",
        "--replay",
        str(canned(tmp_path, ANSWER)),
        "--format",
        "sarif",
        "-o",
        str(out_file),
        "--fail-on",
        "never",
    )
    assert code == 0
    sarif = json.loads(out_file.read_text())
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    levels = []
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert (
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/store.py"
        )
        assert region["startLine"] <= region["endLine"]
        levels.append(result["level"])
    assert levels == ["error", "warning"]


def test_rich_report_shows_file_line_and_snippet(in_repo: Path, tmp_path: Path) -> None:
    code, out = invoke("--staged", "--replay", str(canned(tmp_path, ANSWER)), "--fail-on", "never")
    assert "app/store.py:15" in out and "returns None for an empty key" in out
    assert "if key == ''" in out  # the code snippet
    assert "1 dropped outside the diff" in " ".join(out.split())
    assert code == 0


def test_empty_staged_diff_exits_at_once_without_a_model(git_repo: Path) -> None:
    write(git_repo, {"a.py": "x = 1\n"})
    commit_all(git_repo)
    proc = run_cli(git_repo, "review", "--staged", "--model", "/nonexistent/model.gguf", "--strict")
    assert proc.returncode == 0, proc.stderr
    assert "nothing staged to review" in proc.stderr  # not "0 finding(s) in 0 file(s)"


def test_missing_model_warns_and_lets_through(in_repo: Path) -> None:
    code, out = invoke("--staged", "--model", "/nonexistent/model.gguf")
    # Run by hand, not by the hook: no talk of a commit (issue 15).
    assert code == 0 and "review skipped" in out and "commit allowed" not in out


def test_missing_model_with_strict_fails(in_repo: Path) -> None:
    code, out = invoke("--staged", "--model", "/nonexistent/model.gguf", "--strict")
    assert code == 3 and "not found" in out


def test_broken_model_file_warns(in_repo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    code, out = invoke("--staged", "--model", str(broken))
    assert code == 0 and "review skipped" in out


def test_usage_errors(in_repo: Path) -> None:
    assert invoke("--staged", "--range", "a..b")[0] == 2
    assert invoke("--range", "nope..HEAD")[0] == 2


def test_not_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = invoke("--staged")
    assert code == 2 and "not inside a git work tree" in out


def test_readme_review_section_names_every_flag() -> None:
    """README documents every flag of `review` and `hook install` (issue 15:
    README matches what the CLI does, flag for flag)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Review before you commit")
    section = readme[start : readme.index("\n## ", start + 1)]
    command = typer.main.get_command(app)
    assert isinstance(command, click.Group)
    hook_group = command.commands["hook"]
    assert isinstance(hook_group, click.Group)
    for cmd in (command.commands["review"], hook_group.commands["install"]):
        for param in cmd.params:
            if not isinstance(param, click.Option) or param.hidden or param.name == "help":
                continue
            names = [*param.opts, *param.secondary_opts]
            assert any(f"{name}" in section for name in names), (cmd.name, names)
    assert "--verbose" in section


def test_escape_sequences_from_the_model_or_the_file_are_shown_not_obeyed(
    repo: Path, tmp_path: Path
) -> None:
    """A finding's text is the model's, and the quoted lines are the file's:
    an ESC in either would clear the screen or retitle the terminal the hook
    runs in. The report shows them (␛); the JSON keeps the exact text."""
    evil = "bad\x1b[2J\x1b]0;pwned\x07 input"
    lines = [f"value_{i} = {i}\n" for i in range(1, 21)]
    lines[9] = "banner = '\x1b[2J'\n"
    write(repo, {"evil.py": "".join(lines)})
    commit_all(repo, "a file with an escape sequence in it")
    lines[10] = "value_11 = 110\n"
    write(repo, {"evil.py": "".join(lines)})
    git(repo, "add", "evil.py")
    answer = {"findings": [finding("evil.py", 11, message=evil, suggestion=evil)]}
    replay = canned(tmp_path, answer)
    proc = run_cli(repo, "review", "--staged", "--replay", str(replay), "--fail-on", "never")
    shown = proc.stdout + proc.stderr
    assert "evil.py:11" in shown, shown
    assert "\x1b[2J" not in shown and "\x1b]0;" not in shown and "\x07" not in shown
    assert "bad␛[2J␛]0;pwned␇ input" in " ".join(shown.split())  # message and suggestion
    assert "'␛[2J'" in shown  # the quoted source line
    proc = run_cli(repo, "review", "--staged", "--replay", str(replay), "--format", "json")
    assert json.loads(proc.stdout)["findings"][0]["message"] == evil
