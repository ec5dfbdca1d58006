"""System text and repository context from real temp repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

from assistant.agent.context import git_context, project_instructions, repo_context, system_text
from tests.agent.conftest import make_repo


def test_agents_md_is_part_of_the_system_text(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path / "r", {"AGENTS.md": "Always use tabs.\n", "a.py": "def f():\n    pass\n"}
    )
    text = system_text("ask", root)
    assert "coding assistant" in text  # prompts/system.txt
    assert "Mode: question" in text  # prompts/ask.txt
    assert "Always use tabs." in text


def test_assistant_instructions_file_is_the_fallback(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {".assistant/instructions.md": "Prefer pathlib.\n"})
    assert "Prefer pathlib." in (project_instructions(root) or "")
    assert project_instructions(make_repo(tmp_path / "s", {"x.txt": "x"})) is None


def test_repo_context_has_map_and_git_state(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path / "r", {"pkg/store.py": "class Store:\n    def save(self):\n        pass\n"}
    )
    (root / "pkg" / "store.py").write_text("class Store:\n    pass\n")
    text = repo_context(root, 256).render()
    assert "pkg/store.py" in text and "class Store" in text
    assert "Git: branch main" in text and "M pkg/store.py" in text
    assert "Unstaged changes:" in text and "-    def save(self):" in text


def test_a_repo_with_no_code_and_no_commits(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    text = repo_context(root, 256).render()
    assert "no source files" in text
    assert git_context(root) == "Git: branch main (no commits yet)\n\nStatus:\n  clean\n"
    (root / "notes.txt").write_text("draft\n")
    assert git_context(root) == "Git: branch main (no commits yet)\n\nStatus:\n?? notes.txt\n"


def test_outside_git_the_context_says_so(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert git_context(plain) == "Git: not a git repository\n"
