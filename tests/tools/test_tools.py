"""Behaviour of each tool through `Toolbox.call`, as the model would call it."""

from __future__ import annotations

import os
from pathlib import Path

from assistant.tools.approval import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequest,
    FixedApprover,
)
from assistant.tools.registry import Toolbox

from assistant.toolspec import EXISTING_PATH_KEY
from tests.tools.conftest import MakeToolbox, git


class Recorder:
    """An approver that answers from a script and remembers what it was asked."""

    def __init__(self, *answers: ApprovalDecision) -> None:
        self.answers = list(answers)
        self.requests: list[ApprovalRequest] = []

    def approve(self, request: ApprovalRequest) -> ApprovalDecision:
        self.requests.append(request)
        return self.answers.pop(0)


# ---------------------------------------------------------------- specs


def test_specs_from_signatures(toolbox: Toolbox) -> None:
    specs = {s.name: s for s in toolbox.specs()}
    assert set(specs) == {
        "read_file",
        "list_files",
        "search",
        "outline",
        "read_symbol",
        "find_references",
        "git_status",
        "git_diff",
        "edit_file",
        "replace_symbol",
        "insert_symbol",
        "write_file",
    }
    read = specs["read_file"].parameters
    assert read["required"] == ["path"]
    assert read["properties"]["path"][EXISTING_PATH_KEY] is True
    assert read["properties"]["start_line"]["type"] == "integer"
    edit = specs["edit_file"]
    assert edit.mutates
    assert edit.parameters["required"] == ["path", "old_text", "new_text"]
    assert edit.parameters["properties"]["replace_all"] == {
        "type": "boolean",
        "description": "replace every occurrence instead of requiring exactly one",
        "default": False,
    }
    assert EXISTING_PATH_KEY not in specs["write_file"].parameters["properties"]["path"]
    assert "Args:" not in edit.description and edit.description.startswith("Replace")


def test_read_only_hides_mutating_tools(make_toolbox: MakeToolbox) -> None:
    box = make_toolbox(ApprovalPolicy.READ_ONLY, allow_commands=True)
    assert not any(s.mutates for s in box.specs())
    box.call("read_file", {"path": "src/app.py"})
    result = box.call("edit_file", {"path": "src/app.py", "old_text": "App", "new_text": "B"})
    assert not result.ok and result.text.startswith("error: edit_file is not available")


def test_run_command_offered_only_when_enabled(make_toolbox: MakeToolbox) -> None:
    assert "run_command" not in {s.name for s in make_toolbox().specs()}
    assert "run_command" in {s.name for s in make_toolbox(allow_commands=True).specs()}
    result = make_toolbox().call("run_command", {"command": "true"})
    assert result.text.startswith("error: run_command is disabled")


# ---------------------------------------------------------------- argument checks


def test_bad_arguments_never_raise(toolbox: Toolbox) -> None:
    cases: list[tuple[str, object]] = [
        ("nope", {}),
        ("read_file", {}),
        ("read_file", {"path": 3}),
        ("read_file", {"path": "README.md", "start_line": "x"}),
        ("read_file", {"path": "README.md", "start_line": True}),
        ("read_file", {"path": "README.md", "colour": "red"}),
        ("read_file", ["README.md"]),
        ("search", {"pattern": "("}),
        ("search", {"pattern": "x", "max_results": 0}),
        ("edit_file", {"path": "README.md", "old_text": None, "new_text": "x"}),
    ]
    for name, args in cases:
        result = toolbox.call(name, args)  # type: ignore[arg-type]
        assert not result.ok, (name, args)
        assert result.text.startswith("error: "), result.text


def test_integral_float_is_accepted_as_int(toolbox: Toolbox) -> None:
    result = toolbox.call("read_file", {"path": "README.md", "start_line": 2.0})
    assert result.ok and result.text.splitlines()[1].startswith("2| ")


# ---------------------------------------------------------------- read / list / search


def test_read_file_numbers_and_ranges(toolbox: Toolbox) -> None:
    result = toolbox.call("read_file", {"path": "src/app.py", "start_line": 4, "end_line": 5})
    assert result.ok
    assert result.text.splitlines() == [
        "src/app.py (lines 4-5 of 11)",
        "4| class App:",
        "5|     def __init__(self):",
    ]
    past = toolbox.call("read_file", {"path": "src/app.py", "start_line": 50})
    assert past.text == "error: start_line 50 is past the end of src/app.py (11 lines)"


def test_read_file_caps_long_files(repo: Path, toolbox: Toolbox) -> None:
    (repo / "long.txt").write_text("".join(f"row {i}\n" for i in range(1000)))
    result = toolbox.call("read_file", {"path": "long.txt"})
    assert result.ok
    assert "lines 1-400 of 1000" in result.text
    assert result.text.endswith("call read_file with start_line=401 to continue]")


def test_read_file_reports_crlf_and_hides_cr(toolbox: Toolbox) -> None:
    result = toolbox.call("read_file", {"path": "docs/guide.txt"})
    assert "CRLF" in result.text.splitlines()[0]
    assert "\r" not in result.text


def test_read_missing_file_suggests_paths(toolbox: Toolbox) -> None:
    result = toolbox.call("read_file", {"path": "src/ap.py"})
    assert result.text.startswith("error: no such file: src/ap.py")
    assert "src/app.py" in result.text


def test_list_files_uses_repo_listing(repo: Path, toolbox: Toolbox) -> None:
    (repo / "debug.log").write_text("ignored\n")
    (repo / "image.bin").write_bytes(b"\0\1\2")
    result = toolbox.call("list_files", {})
    assert result.text.splitlines() == [
        "5 files:",
        ".gitignore",
        "README.md",
        "docs/guide.txt",
        "src/app.py",
        "src/util.py",
    ]
    assert toolbox.call("list_files", {"glob": "*.py"}).text.splitlines()[1:] == [
        "src/app.py",
        "src/util.py",
    ]
    assert toolbox.call("list_files", {"glob": "docs/"}).text.splitlines()[1:] == ["docs/guide.txt"]
    assert toolbox.call("list_files", {"glob": "*.rs"}).text == "0 files matching '*.rs'"


def test_search_results_and_caps(toolbox: Toolbox) -> None:
    result = toolbox.call("search", {"pattern": r"return x \* 2"})
    assert result.text.splitlines() == [
        "2 matches in 1 file:",
        "src/util.py:2: return x * 2",
        "src/util.py:6: return x * 2",
    ]
    capped = toolbox.call("search", {"pattern": "e", "max_results": 2})
    assert len(capped.text.splitlines()) == 4 and "[cut at 2 results" in capped.text
    only_docs = toolbox.call("search", {"pattern": "line", "glob": "docs/*.txt"})
    assert only_docs.text.splitlines()[1] == "docs/guide.txt:1: line one"
    none = toolbox.call("search", {"pattern": "zebra"})
    assert none.ok and none.text.startswith("no matches")


def test_git_status_and_diff(repo: Path, toolbox: Toolbox) -> None:
    assert toolbox.call("git_status", {}).text == "clean working tree (main)"
    assert toolbox.call("git_diff", {}).text == "no unstaged changes"
    toolbox.call("read_file", {"path": "src/util.py"})
    toolbox.call(
        "edit_file", {"path": "src/util.py", "old_text": "def helper", "new_text": "def h"}
    )
    assert " M src/util.py" in toolbox.call("git_status", {}).text
    assert "+def h(x):" in toolbox.call("git_diff", {}).text
    git(repo, "add", "src/util.py")
    assert "+def h(x):" in toolbox.call("git_diff", {"staged": True}).text


# ---------------------------------------------------------------- edit_file


def test_edit_requires_read_and_detects_staleness(repo: Path, toolbox: Toolbox) -> None:
    args = {"path": "src/util.py", "old_text": "def helper(x):", "new_text": "def helper(y):"}
    first = toolbox.call("edit_file", args)
    assert first.text.startswith("error: you have not read src/util.py")
    toolbox.call("read_file", {"path": "src/util.py"})
    (repo / "src/util.py").write_text("def helper(x):\n    return 3\n")
    stale = toolbox.call("edit_file", args)
    assert stale.text.startswith("error: src/util.py changed on disk since you last read it")
    toolbox.call("read_file", {"path": "src/util.py"})
    assert toolbox.call("edit_file", args).ok
    # Its own edit does not make the file stale.
    again = toolbox.call(
        "edit_file", {"path": "src/util.py", "old_text": "return 3", "new_text": "return 4"}
    )
    assert again.ok, again.text


def test_edit_ambiguous_and_replace_all(repo: Path, toolbox: Toolbox) -> None:
    toolbox.call("read_file", {"path": "src/util.py"})
    args = {"path": "src/util.py", "old_text": "return x * 2", "new_text": "return x + x"}
    ambiguous = toolbox.call("edit_file", args)
    assert ambiguous.text.startswith("error: old_text matches 2 places in src/util.py (lines 2, 6")
    result = toolbox.call("edit_file", {**args, "replace_all": True})
    assert result.ok
    assert (repo / "src/util.py").read_text().count("return x + x") == 2


def test_edit_no_match_gives_did_you_mean(toolbox: Toolbox) -> None:
    toolbox.call("read_file", {"path": "src/app.py"})
    result = toolbox.call(
        "edit_file",
        {"path": "src/app.py", "old_text": "for j in range(3):\n    print(j)", "new_text": "x"},
    )
    assert result.text.startswith("error: old_text was not found in src/app.py")
    assert "Did you mean lines 9-10?" in result.text
    assert "10|             print(i)" in result.text


def test_edit_trailing_whitespace_matcher(repo: Path, toolbox: Toolbox) -> None:
    toolbox.call("read_file", {"path": "src/util.py"})
    result = toolbox.call(
        "edit_file",
        {"path": "src/util.py", "old_text": "def other(x):   \n", "new_text": "def other(z):\n"},
    )
    assert result.ok and "trailing whitespace ignored" in result.text
    assert "def other(z):\n    return x * 2\n" in (repo / "src/util.py").read_text()


def test_edit_indentation_flexible_reindents(repo: Path, toolbox: Toolbox) -> None:
    toolbox.call("read_file", {"path": "src/app.py"})
    result = toolbox.call(
        "edit_file",
        {
            "path": "src/app.py",
            "old_text": "for i in range(3):\n    print(i)\nreturn 0",
            "new_text": "for i in range(3):\n    if i:\n        print(i)\nreturn 1",
        },
    )
    assert result.ok and "indentation-flexible" in result.text
    assert (
        (repo / "src/app.py")
        .read_text()
        .endswith(
            "        for i in range(3):\n"
            "            if i:\n"
            "                print(i)\n"
            "        return 1\n"
        )
    )


def test_edit_whitespace_normalised_maps_indent(repo: Path, toolbox: Toolbox) -> None:
    toolbox.call("read_file", {"path": "src/util.py"})
    result = toolbox.call(
        "edit_file",
        {
            "path": "src/util.py",
            "old_text": "def helper(x):\n  return   x * 2",
            "new_text": "def helper(x):\n  y = x\n  return y * 2",
        },
    )
    assert result.ok and "whitespace-normalised" in result.text
    assert (
        (repo / "src/util.py")
        .read_text()
        .startswith("def helper(x):\n    y = x\n    return y * 2\n")
    )


def test_edit_strips_copied_line_numbers(repo: Path, toolbox: Toolbox) -> None:
    toolbox.call("read_file", {"path": "src/util.py"})
    result = toolbox.call(
        "edit_file",
        {
            "path": "src/util.py",
            "old_text": "5| def other(x):\n6|     return x * 2",
            "new_text": "5| def other(x):\n6|     return x * 3",
        },
    )
    assert result.ok and "line-number prefixes removed" in result.text
    assert (repo / "src/util.py").read_text().endswith("def other(x):\n    return x * 3\n")


def test_edit_preserves_crlf_bom_and_utf16(repo: Path, toolbox: Toolbox) -> None:
    (repo / "bom.txt").write_bytes(b"\xef\xbb\xbfalpha\r\nbeta\r\n")
    (repo / "wide.txt").write_bytes("\ufeffé one\r\ntwo\r\n".encode("utf-16-le"))
    for rel in ("bom.txt", "wide.txt", "docs/guide.txt"):
        toolbox.call("read_file", {"path": rel})
    assert toolbox.call(
        "edit_file", {"path": "bom.txt", "old_text": "beta\n", "new_text": "beta\ngamma\n"}
    ).ok
    assert (repo / "bom.txt").read_bytes() == b"\xef\xbb\xbfalpha\r\nbeta\r\ngamma\r\n"
    assert toolbox.call("edit_file", {"path": "wide.txt", "old_text": "two", "new_text": "2"}).ok
    assert (repo / "wide.txt").read_bytes() == "\ufeffé one\r\n2\r\n".encode("utf-16-le")
    assert toolbox.call(
        "edit_file", {"path": "docs/guide.txt", "old_text": "line two\r\n", "new_text": "2\r\n"}
    ).ok
    assert (repo / "docs/guide.txt").read_bytes() == b"line one\r\n2\r\nline three\r\n"


def test_edit_mixed_line_endings_keeps_untouched_lines(repo: Path, toolbox: Toolbox) -> None:
    (repo / "mixed.txt").write_bytes(b"a\r\nb\nc\r\n")
    toolbox.call("read_file", {"path": "mixed.txt"})
    result = toolbox.call("edit_file", {"path": "mixed.txt", "old_text": "b\n", "new_text": "B\n"})
    assert result.ok
    assert (repo / "mixed.txt").read_bytes() == b"a\r\nB\nc\r\n"


def test_edit_keeps_file_mode(repo: Path, toolbox: Toolbox) -> None:
    script = repo / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o751)
    toolbox.call("read_file", {"path": "run.sh"})
    assert toolbox.call("edit_file", {"path": "run.sh", "old_text": "hi", "new_text": "yo"}).ok
    assert script.stat().st_mode & 0o777 == 0o751


def test_edit_through_symlink_inside_repo(repo: Path, toolbox: Toolbox) -> None:
    (repo / "link.py").symlink_to("src/util.py")
    toolbox.call("read_file", {"path": "link.py"})
    result = toolbox.call(
        "edit_file", {"path": "link.py", "old_text": "def other", "new_text": "def another"}
    )
    assert result.ok and result.path == "src/util.py"
    assert (repo / "link.py").is_symlink()
    assert "def another" in (repo / "src/util.py").read_text()


# ---------------------------------------------------------------- write_file


def test_write_creates_and_overwrites(repo: Path, toolbox: Toolbox) -> None:
    created = toolbox.call("write_file", {"path": "pkg/sub/new.py", "content": "x = 1"})
    assert created.ok and created.text == "ok: created pkg/sub/new.py (1 line)\nsyntax: ok (python)"
    assert (repo / "pkg/sub/new.py").read_bytes() == b"x = 1\n"
    overwrite = toolbox.call("write_file", {"path": "docs/guide.txt", "content": "new"})
    assert overwrite.text.startswith("error: you have not read docs/guide.txt")
    toolbox.call("read_file", {"path": "docs/guide.txt"})
    assert toolbox.call("write_file", {"path": "docs/guide.txt", "content": "one\ntwo"}).ok
    assert (repo / "docs/guide.txt").read_bytes() == b"one\r\ntwo\r\n"


def test_write_refuses_directory(toolbox: Toolbox) -> None:
    result = toolbox.call("write_file", {"path": "src", "content": "x"})
    assert result.text.startswith("error: src is a directory")


# ---------------------------------------------------------------- approvals


def test_ask_policy_yes_no_always_quit(repo: Path, make_toolbox: MakeToolbox) -> None:
    approver = Recorder(ApprovalDecision.NO, ApprovalDecision.YES, ApprovalDecision.ALWAYS)
    box = make_toolbox(ApprovalPolicy.ASK, approver)
    box.call("read_file", {"path": "src/util.py"})
    args = {"path": "src/util.py", "old_text": "def helper", "new_text": "def h1"}
    declined = box.call("edit_file", args)
    assert declined.text.startswith("error: the user declined")
    assert "def helper" in (repo / "src/util.py").read_text()
    assert approver.requests[0].diff.startswith("--- a/src/util.py\n+++ b/src/util.py\n")
    assert box.call("edit_file", args).ok
    assert box.call("edit_file", {**args, "old_text": "def h1", "new_text": "def h2"}).ok
    assert box.policy is ApprovalPolicy.AUTO_EDIT  # "always"
    assert box.call("edit_file", {**args, "old_text": "def h2", "new_text": "def h3"}).ok
    assert len(approver.requests) == 3
    quitter = make_toolbox(ApprovalPolicy.ASK, Recorder(ApprovalDecision.QUIT))
    quitter.call("read_file", {"path": "src/util.py"})
    stopped = quitter.call("edit_file", {**args, "old_text": "def h3", "new_text": "def h4"})
    assert stopped.text.startswith("error: the user stopped") and quitter.quit_requested


def test_ask_without_approver_refuses(make_toolbox: MakeToolbox) -> None:
    box = make_toolbox(ApprovalPolicy.ASK, None)
    result = box.call("write_file", {"path": "new.txt", "content": "x"})
    assert result.text.startswith("error: create new.txt (1 line) needs the user's approval")


def test_run_command_always_asks(repo: Path, make_toolbox: MakeToolbox) -> None:
    approver = Recorder(ApprovalDecision.ALWAYS, ApprovalDecision.NO)
    box = make_toolbox(ApprovalPolicy.AUTO_EDIT, approver, allow_commands=True)
    ran = box.call("run_command", {"command": "echo hello; exit 3"})
    assert ran.ok and ran.text == "exit code 3\nhello\n"
    declined = box.call("run_command", {"command": "touch made"})
    assert declined.text.startswith("error: the user declined")
    assert not (repo / "made").exists()
    assert [r.command for r in approver.requests] == ["echo hello; exit 3", "touch made"]


def test_run_command_timeout_and_cap(make_toolbox: MakeToolbox) -> None:
    box = make_toolbox(
        approver=FixedApprover(ApprovalDecision.YES), allow_commands=True, command_timeout=0.5
    )
    slow = box.call("run_command", {"command": "echo start; sleep 30"})
    assert slow.text.startswith("error: `echo start; sleep 30` timed out after 0.5 s")
    assert "start" in slow.text
    big = box.call("run_command", {"command": "yes x | head -c 50000"})
    assert big.ok and "[cut: first" in big.text and len(big.text) < 11_000


# ---------------------------------------------------------------- dry run


def test_dry_run_writes_nothing_and_combines_diffs(repo: Path, make_toolbox: MakeToolbox) -> None:
    before = (repo / "src/util.py").read_bytes()
    box = make_toolbox(ApprovalPolicy.AUTO_EDIT, dry_run=True)
    box.call("read_file", {"path": "src/util.py"})
    first = box.call("edit_file", {"path": "src/util.py", "old_text": "helper", "new_text": "h"})
    assert first.ok and first.text.endswith("(dry run: nothing was written)")
    # A later edit sees the earlier (virtual) one.
    second = box.call(
        "edit_file", {"path": "src/util.py", "old_text": "def h(", "new_text": "def k("}
    )
    assert second.ok, second.text
    created = box.call("write_file", {"path": "new.txt", "content": "n"})
    assert created.ok
    assert box.call("read_file", {"path": "new.txt"}).text.endswith("1| n")
    assert (repo / "src/util.py").read_bytes() == before
    assert not (repo / "new.txt").exists()
    combined = box.pending_diff()
    assert "-def helper(x):\n+def k(x):\n" in combined
    assert "--- /dev/null\n+++ b/new.txt\n" in combined
    assert len(box.journal) == 0


def test_state_file_persists_reads(repo: Path, make_toolbox: MakeToolbox, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    make_toolbox(state_path=state).call("read_file", {"path": "README.md"})
    later = make_toolbox(state_path=state)
    result = later.call("edit_file", {"path": "README.md", "old_text": "demo", "new_text": "Demo"})
    assert result.ok, result.text
    assert os.path.exists(state)
