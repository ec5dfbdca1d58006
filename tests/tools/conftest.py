"""Real temporary git repositories for the tool tests (no mocks)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from assistant.tools.approval import ApprovalDecision, ApprovalPolicy, Approver, FixedApprover
from assistant.tools.journal import UndoJournal
from assistant.tools.registry import Toolbox

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> str:
    env = dict(os.environ, **GIT_ENV, HOME=str(root.parent))
    proc = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def init_repo(root: Path, files: dict[str, bytes | str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    """Every entry under `directory` (not following symlinks): content hash and mode."""
    out: dict[str, tuple[str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(directory).as_posix()
            st = path.lstat()
            if path.is_symlink():
                out[rel] = ("link:" + os.readlink(path), st.st_mode)
            elif path.is_file():
                out[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mode)
            else:
                out[rel] = ("dir", st.st_mode)
    return out


DEFAULT_FILES: dict[str, bytes | str] = {
    "README.md": "# demo\n\nA small project.\n",
    "src/app.py": (
        "import os\n\n\n"
        "class App:\n"
        "    def __init__(self):\n"
        "        self.name = 'app'\n\n"
        "    def run(self):\n"
        "        for i in range(3):\n"
        "            print(i)\n"
        "        return 0\n"
    ),
    "src/util.py": "def helper(x):\n    return x * 2\n\n\ndef other(x):\n    return x * 2\n",
    "docs/guide.txt": "line one\r\nline two\r\nline three\r\n",
    ".gitignore": ".env\n*.log\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", DEFAULT_FILES)


MakeToolbox = Callable[..., Toolbox]


@pytest.fixture
def make_toolbox(repo: Path, tmp_path: Path) -> MakeToolbox:
    """Toolbox factory: auto-edit with a journal under tmp_path unless told otherwise."""

    def make(
        policy: ApprovalPolicy = ApprovalPolicy.AUTO_EDIT,
        approver: Approver | None = None,
        root: Path | None = None,
        journal_dir: Path | None = None,
        **kwargs: Any,
    ) -> Toolbox:
        root = root or repo
        journal = UndoJournal(root, journal_dir or tmp_path / "journal")
        return Toolbox(root, policy, approver, journal, **kwargs)

    return make


@pytest.fixture
def toolbox(make_toolbox: MakeToolbox) -> Toolbox:
    return make_toolbox()


def yes() -> FixedApprover:
    return FixedApprover(ApprovalDecision.YES)
