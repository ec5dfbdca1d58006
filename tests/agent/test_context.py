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


def test_instruction_files_are_read_with_read_file_confinement(tmp_path: Path) -> None:
    """A symlink out of the repo, /dev/zero, a FIFO and a hard link never reach
    the prompt (and never hang or eat memory); a plain file inside does."""
    import os

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n")
    root = make_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    (root / "AGENTS.md").symlink_to(secret)
    assert project_instructions(root) is None
    (root / "AGENTS.md").unlink()
    (root / "AGENTS.md").symlink_to("/dev/zero")
    assert project_instructions(root) is None
    (root / "AGENTS.md").unlink()
    (root / ".assistant").mkdir()
    os.mkfifo(root / ".assistant/instructions.md")
    assert project_instructions(root) is None  # returns at once: no writer needed
    (root / ".assistant/instructions.md").unlink()
    os.link(secret, root / ".assistant/instructions.md")
    assert project_instructions(root) is None
    (root / ".assistant/instructions.md").unlink()
    (root / "docs").mkdir()
    (root / "docs/agents.md").write_text("Use tabs.\n")
    (root / "AGENTS.md").symlink_to("docs/agents.md")  # inside the repo: fine
    assert "Use tabs." in (project_instructions(root) or "")
