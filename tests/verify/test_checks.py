"""Check commands run for real (real subprocesses, real pytest in temp repos):
timeouts, huge output, clipping to what matters, and the fix loop's rounds."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.agent.checks import CheckCommand, CheckKind, clip_output, run_check
from assistant.agent.fixloop import FixReport, configured_checks, feedback, fix_loop
from assistant.config import load_settings
from assistant.events import CheckFinished, Outcome, TurnFinished
from assistant.llm.engine import GenerationStats

PYTEST = f"{sys.executable} -m pytest -x -q -p no:cacheprovider"

SOURCE = "def add(a, b):\n    return a - b\n"
TESTS = (
    "from calc import add\n\n\n"
    "def test_add():\n"
    "    assert add(2, 3) == 5\n\n\n"
    "def test_zero():\n"
    "    assert add(0, 0) == 0\n"
)


def make_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "calc.py").write_text(SOURCE)
    (root / "test_calc.py").write_text(TESTS)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def test_real_pytest_failure_is_clipped_to_the_assertion(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    result = run_check(CheckCommand(CheckKind.TEST, PYTEST), root)
    assert result is not None and not result.ok and result.exit_code == 1
    out = result.output
    assert "assert add(2, 3) == 5" in out
    assert "E       assert -1 == 5" in out
    assert "FAILED test_calc.py::test_add" in out  # the short summary
    assert "test_calc.py:5" in out  # where it failed
    assert "platform linux" not in out and "rootdir" not in out  # the header is noise


def test_passing_check(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    result = run_check(CheckCommand(CheckKind.TEST, PYTEST), root)
    assert result is not None and result.ok and result.exit_code == 0


def test_hanging_check_times_out_and_leaves_nothing_running(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    command = f"sleep 60 & echo $! > {marker}; echo started; wait"
    start = time.monotonic()
    result = run_check(CheckCommand(CheckKind.TEST, command), tmp_path, timeout=1.0)
    assert time.monotonic() - start < 15
    assert result is not None and result.timed_out and not result.ok
    assert result.exit_code is None
    assert "started" in result.output and "[timed out after 1 s]" in result.output
    pid = int(marker.read_text())
    time.sleep(0.2)
    assert (
        not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    )


def test_ten_megabytes_of_output_are_clipped(tmp_path: Path) -> None:
    script = "import sys\nfor i in range(200000): sys.stdout.write(f'line {i:07d} ' + 'x' * 40 + '\\n')\nprint('the real error: boom')\nsys.exit(3)\n"
    (tmp_path / "noisy.py").write_text(script)
    result = run_check(CheckCommand(CheckKind.TEST, f"{sys.executable} noisy.py"), tmp_path)
    assert result is not None and result.exit_code == 3
    assert result.output_bytes > 10_000_000
    assert len(result.output) <= 4100
    assert result.output.rstrip().endswith("the real error: boom")


def test_check_gets_no_stdin(tmp_path: Path) -> None:
    command = f'{sys.executable} -c "import sys; print(repr(sys.stdin.read()))"'
    result = run_check(CheckCommand(CheckKind.TEST, command), tmp_path, timeout=20)
    assert result is not None and result.ok and result.output.strip() == "''"


def test_lint_output_keeps_the_error_lines_and_files_are_quoted(tmp_path: Path) -> None:
    (tmp_path / "a b.py").write_text("x = 1\n")
    command = (
        f"{sys.executable} -c \"import sys; print('checking'); "
        "[print(f'{p}:1:1: E999 bad thing') for p in sys.argv[1:]]; sys.exit(1)\" {files}"
    )
    result = run_check(CheckCommand(CheckKind.LINT, command), tmp_path, ["a b.py"])
    assert result is not None and result.exit_code == 1
    assert result.output == "a b.py:1:1: E999 bad thing"
    assert run_check(CheckCommand(CheckKind.LINT, command), tmp_path, []) is None


def test_clip_keeps_a_long_pytest_summary_within_the_limit() -> None:
    body = "=== FAILURES ===\n" + "\n".join(f"E   assert {i} == 0" for i in range(5000))
    text = body + "\n=== short test summary info ===\nFAILED t.py::test_x - assert\n"
    out = clip_output(text, CheckKind.TEST, 1000)
    assert len(out) <= 1000 and out.endswith("FAILED t.py::test_x - assert")


# ---------------------------------------------------------------- the loop (real pytest)


def turn(changed: tuple[str, ...] = ("calc.py",), outcome: Outcome = Outcome.DONE) -> TurnFinished:
    return TurnFinished("ok", outcome, 1, 1, changed, GenerationStats())


def test_fix_loop_feeds_the_failure_back_and_stops_when_fixed(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    messages: list[str] = []
    checks: list[CheckFinished] = []

    def fixer(message: str) -> TurnFinished:  # a stand-in for the model: fixes on round 2
        messages.append(message)
        if len(messages) == 2:
            (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
        return turn()

    report = fix_loop(
        fixer,
        [CheckCommand(CheckKind.TEST, PYTEST)],
        root,
        ["calc.py"],
        rounds=3,
        on_check=checks.append,
    )
    assert report.passed and report.rounds == 2
    assert [c.round for c in checks] == [0, 1, 2]
    assert [c.ok for c in checks] == [False, False, True]
    assert messages[0].startswith("The tests fail:")
    assert "E       assert -1 == 5" in messages[0]
    assert "Fix the code, not the tests." in messages[0]


def test_fix_loop_rounds_are_capped(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    calls: list[str] = []
    checks: list[CheckFinished] = []
    report = fix_loop(
        lambda m: calls.append(m) or turn(),
        [CheckCommand(CheckKind.TEST, PYTEST)],
        root,
        ["calc.py"],
        rounds=2,
        on_check=checks.append,
    )
    assert not report.passed and report.rounds == 2 and len(calls) == 2
    assert [c.round for c in checks] == [0, 1, 2]
    zero = fix_loop(
        lambda m: calls.append(m) or turn(),
        [CheckCommand(CheckKind.TEST, PYTEST)],
        root,
        ["calc.py"],
        rounds=0,
        on_check=checks.append,
    )
    assert not zero.passed and zero.rounds == 0 and len(calls) == 2


def test_fix_loop_stops_when_the_user_quits(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    report = fix_loop(
        lambda m: turn((), Outcome.CANCELLED),
        [CheckCommand(CheckKind.TEST, PYTEST)],
        root,
        ["calc.py"],
        rounds=5,
        on_check=lambda e: None,
    )
    assert isinstance(report, FixReport) and report.stopped and report.rounds == 1


def test_feedback_names_lint_and_tests() -> None:
    from assistant.agent.checks import CheckResult

    lint = CheckResult(CheckKind.LINT, "ruff check a.py", 1, "a.py:1:1: F401 unused")
    test = CheckResult(CheckKind.TEST, "pytest", None, "[timed out after 5 s]", timed_out=True)
    text = feedback([lint, test])
    assert text.startswith("The linter reports errors and the tests fail:")
    assert "$ ruff check a.py  (exit code 1)\na.py:1:1: F401 unused" in text
    assert "$ pytest  (timed out)" in text


def test_commands_from_the_repo_config_need_trust(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".assistant.toml").write_text('test_command = "rm -rf ~"\nlint_command = "x"\n')
    user = tmp_path / "user.toml"
    user.write_text("")
    settings = load_settings(repo, user_file=user, environ={})
    assert configured_checks(settings, use_config=True) == []
    assert any(
        "lint_command, test_command; ignored until you trust it" in n for n in settings.notes
    )
    given = configured_checks(settings, test="pytest -q", use_config=False)
    assert given == [CheckCommand(CheckKind.TEST, "pytest -q")]
    user.write_text('test_command = "pytest -x -q"\nlint_command = "ruff check {files}"\n')
    (repo / ".assistant.toml").write_text("")
    trusted = configured_checks(load_settings(repo, user_file=user, environ={}), use_config=True)
    assert trusted == [
        CheckCommand(CheckKind.LINT, "ruff check {files}"),
        CheckCommand(CheckKind.TEST, "pytest -x -q"),
    ]


@pytest.mark.parametrize("bad", ["fix_rounds = -1", "check_timeout = 0"])
def test_bad_check_settings_are_usage_errors(tmp_path: Path, bad: str) -> None:
    from assistant.errors import UsageError

    user = tmp_path / "user.toml"
    user.write_text(bad + "\n")
    with pytest.raises(UsageError):
        load_settings(None, user_file=user, environ={})


@pytest.mark.parametrize("verbose", [False, True])
def test_each_round_is_one_line_and_the_output_shows_once(tmp_path: Path, verbose: bool) -> None:
    """Issue 21 (2): the user saw the whole test output on every round. Real
    pytest fails three times here; the user gets one line per round naming what
    failed, the output once (every round with --verbose)."""
    import io

    from assistant.cli.verify import CheckDisplay
    from assistant.ui.render import PlainRenderer

    root = make_project(tmp_path / "p")
    out, err = io.StringIO(), io.StringIO()
    display = CheckDisplay(PlainRenderer(out, err), as_json=False, rounds=2, verbose=verbose)
    report = fix_loop(
        lambda message: TurnFinished("", Outcome.DONE, 1, 0, (), GenerationStats()),
        [CheckCommand(CheckKind.TEST, PYTEST)],
        root,
        ["calc.py"],
        rounds=2,
        on_check=display,
    )
    assert not report.passed and report.rounds == 2
    lines = err.getvalue().splitlines()
    assert lines == [
        f"warning: ✗ round {n}/3: {PYTEST}: 1 failed (test_calc.py::test_add)" for n in (1, 2, 3)
    ]
    assert out.getvalue().count("E       assert -1 == 5") == (3 if verbose else 1)
