"""`--trace FILE`: one JSON line per model call, so a user can audit exactly
what the model saw and produced, and tests and benchmarks can read it."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from assistant.llm.engine import GenerationStats


class TraceWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def record(
        self,
        *,
        model: str,
        prompt: Sequence[int],
        generated: Sequence[int],
        stats: GenerationStats,
        label: str = "",
    ) -> None:
        entry = {
            "time": time.time(),
            "label": label,
            "model": model,
            "prompt_ids": list(prompt),
            "generated_ids": list(generated),
            **asdict(stats),
            "stop_reason": stats.stop_reason.value if stats.stop_reason else None,
            "tokens_per_second": round(stats.tokens_per_second, 2),
        }
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")


def read_trace(path: Path) -> list[dict[str, object]]:
    """Entries of a trace file, oldest first."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
