"""The review prompt's texts: a fixed part (instructions and output schema,
identical on every commit, so its KV state comes from the disk prefix cache),
a part shared by every chunk of one run (the repo map) and the chunk."""

from __future__ import annotations

import json

from assistant import prompts
from assistant.review.findings import Limits, findings_schema

REPO_MAP_HEADER = (
    "Repository map (definitions elsewhere in the repository, for reference only; "
    "do not review it):\n"
)
CHUNK_FOOTER = "\n\nReview the change above. Answer with the JSON object only."


def system_prompt(limits: Limits | None = None, instructions: str = "") -> str:
    """Fixed text: `prompts/review.txt` with the schema, then project guidelines."""
    schema = json.dumps(findings_schema(None, limits), separators=(", ", ": "))
    text = prompts.load("review").replace("{schema}", schema).strip()
    if instructions.strip():
        text += "\n\nProject review guidelines:\n" + instructions.strip()
    return text


def shared_text(repo_map: str) -> str:
    return REPO_MAP_HEADER + repo_map.strip() + "\n\n" if repo_map.strip() else ""


def chunk_text(body: str) -> str:
    return body + CHUNK_FOOTER
