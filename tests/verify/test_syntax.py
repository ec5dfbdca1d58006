"""The syntax check of a change, for every repo-map language: a new error is
reported with its line, an error the file already had is not blamed."""

from __future__ import annotations

from pathlib import Path

import pytest
from assistant.tools.approval import ApprovalPolicy
from assistant.tools.journal import UndoJournal
from assistant.tools.registry import Toolbox

from assistant.repo.repomap.languages import LANGUAGES
from assistant.repo.syntax import check_syntax

# (language, path, good text, text with an error on line 3)
CASES = [
    (
        "python",
        "a.py",
        "def f(x):\n    y = x\n    return y\n",
        "def f(x):\n    y = x\n    return (y\n",
    ),
    (
        "javascript",
        "a.js",
        "function f(x) {\n  const y = x;\n  return y;\n}\n",
        "function f(x) {\n  const y = x;\n  return y +;\n}\n",
    ),
    (
        "typescript",
        "a.ts",
        "function f(x: number): number {\n  const y = x;\n  return y;\n}\n",
        "function f(x: number): number {\n  const y = x;\n  return y +;\n}\n",
    ),
    (
        "tsx",
        "a.tsx",
        "function F(): JSX.Element {\n  const y = 1;\n  return <div>{y}</div>;\n}\n",
        "function F(): JSX.Element {\n  const y = 1;\n  return <div>{y}</div;\n}\n",
    ),
    (
        "go",
        "a.go",
        "package main\n\nfunc f(x int) int {\n\treturn x\n}\n",
        "package main\n\nfunc f(x int) int {\n\treturn x +\n}\n",
    ),
    (
        "rust",
        "a.rs",
        "fn f(x: i32) -> i32 {\n    let y = x;\n    y\n}\n",
        "fn f(x: i32) -> i32 {\n    let y = x;\n    let z = ;\n}\n",
    ),
    (
        "java",
        "A.java",
        "class A {\n  int f(int x) {\n    return x;\n  }\n}\n",
        "class A {\n  int f(int x) {\n    return x +;\n  }\n}\n",
    ),
    (
        "c",
        "a.c",
        "int f(int x) {\n  int y = x;\n  return y;\n}\n",
        "int f(int x) {\n  int y = x;\n  return y +;\n}\n",
    ),
    (
        "cpp",
        "a.cpp",
        "int f(int x) {\n  int y = x;\n  return y;\n}\n",
        "int f(int x) {\n  int y = x;\n  return y +;\n}\n",
    ),
    (
        "ruby",
        "a.rb",
        "def f(x)\n  y = x\n  y\nend\n",
        "def f(x)\n  y = x\n  y)\nend\n",
    ),
    (
        "c_sharp",
        "A.cs",
        "class A {\n  int F(int x) {\n    return x;\n  }\n}\n",
        "class A {\n  int F(int x) {\n    return x +;\n  }\n}\n",
    ),
    (
        "php",
        "a.php",
        "<?php\nfunction f($x) {\n  return $x;\n}\n",
        "<?php\nfunction f($x) {\n  return $x +;\n}\n",
    ),
    (
        "bash",
        "a.sh",
        "f() {\n  echo hi\n  return 0\n}\n",
        "f() {\n  echo hi\n  if [ 1 ]; then\n}\n",
    ),
]


def test_every_repo_map_language_has_a_case() -> None:
    assert {case[0] for case in CASES} == set(LANGUAGES)


@pytest.mark.parametrize(("language", "path", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_new_error_is_reported_with_its_line(language: str, path: str, good: str, bad: str) -> None:
    report = check_syntax(path, good, bad)
    assert report.language == language
    assert not report.ok
    first = report.new_issues[0]
    assert first.line in (3, 4), report.message  # the broken line, or where the parser gave up
    assert f"line {first.line}: syntax error" in report.message
    assert "warning: this change introduced a syntax error" in report.message
    assert f">{first.line}|" in report.message.replace(" ", "")  # the context marks the line


@pytest.mark.parametrize(("language", "path", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_clean_change_is_ok(language: str, path: str, good: str, bad: str) -> None:
    report = check_syntax(path, None, good)
    assert report.ok and report.checked, report.message
    assert report.message == f"syntax: ok ({language})"


@pytest.mark.parametrize(("language", "path", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_old_error_is_not_blamed(language: str, path: str, good: str, bad: str) -> None:
    # The file was already broken; the change adds a comment-free line elsewhere.
    header = {"php": "<?php\n", "go": "package main\n"}.get(language, "")
    before = bad
    after = bad + "\n" if not header else bad.replace(header, header + "\n", 1)
    report = check_syntax(path, before, after)
    assert report.ok, report.message
    assert report.old_issues >= 1
    assert "no new errors" in report.message


def test_fixing_an_error_is_ok() -> None:
    report = check_syntax("a.py", "x = (1,\n", "x = (1,)\n")
    assert report.ok and report.old_issues == 1


def test_a_second_identical_error_is_blamed() -> None:
    before = "x = (1,\ny = 2\n"
    after = "x = (1,\ny = 2\nz = [\n"
    report = check_syntax("a.py", before, after)
    assert not report.ok


def test_other_languages_are_not_checked_and_say_so() -> None:
    report = check_syntax("notes.txt", "a", "b {")
    assert not report.checked and report.ok
    assert report.message == "syntax: not checked (no parser for notes.txt)"


# ---------------------------------------------------------------- through the real tools


def test_edit_that_breaks_syntax_is_applied_reported_and_undoable(tmp_path: Path) -> None:
    from tests.tools.conftest import init_repo

    repo = init_repo(tmp_path / "repo", {"app.py": "def f(x):\n    y = x\n    return y\n"})
    box = Toolbox(repo, ApprovalPolicy.AUTO_EDIT, None, UndoJournal(repo, tmp_path / "journal"))
    box.call("read_file", {"path": "app.py"})
    result = box.call(
        "edit_file", {"path": "app.py", "old_text": "return y", "new_text": "return (y"}
    )
    assert result.ok  # applied anyway: the model gets to fix it
    assert (repo / "app.py").read_text().endswith("return (y\n")
    assert "warning: this change introduced a syntax error in app.py (python)" in result.text
    assert "line 3: syntax error" in result.text
    assert "> 3|" in result.text or ">3|" in result.text
    (outcome,) = box.undo()
    assert outcome.reverted
    assert (repo / "app.py").read_text() == "def f(x):\n    y = x\n    return y\n"


def test_write_file_reports_new_and_old_errors(tmp_path: Path) -> None:
    from tests.tools.conftest import init_repo

    repo = init_repo(tmp_path / "repo", {"bad.py": "x = (1,\n", "notes.txt": "hi\n"})
    box = Toolbox(repo, ApprovalPolicy.AUTO_EDIT, None, UndoJournal(repo, tmp_path / "journal"))
    created = box.call("write_file", {"path": "new.go", "content": "package main\nfunc f( {\n"})
    assert created.ok and "line 2: syntax error" in created.text
    box.call("read_file", {"path": "bad.py"})
    kept = box.call("write_file", {"path": "bad.py", "content": "# still broken\nx = (1,\n"})
    assert kept.ok and "syntax: no new errors (python; the file had 1 syntax error(s)" in kept.text
    box.call("read_file", {"path": "notes.txt"})
    other = box.call("write_file", {"path": "notes.txt", "content": "(("})
    assert other.text.endswith("syntax: not checked (no parser for notes.txt)")
