"""The task model."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date


class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3


@dataclass
class Task:
    id: int
    title: str
    priority: Priority = Priority.NORMAL
    due: date | None = None
    done: bool = False
    tags: list[str] = field(default_factory=list)

    def is_overdue(self, today: date) -> bool:
        """A task is overdue when it is not done and its due date has passed."""
        return not self.done and self.due is not None and self.due < today

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "priority": self.priority.name.lower(),
            "due": self.due.isoformat() if self.due else None,
            "done": self.done,
            "tags": list(self.tags),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Task:
        due = data.get("due")
        return cls(
            id=int(data["id"]),  # type: ignore[arg-type]
            title=str(data["title"]),
            priority=Priority[str(data.get("priority", "normal")).upper()],
            due=date.fromisoformat(due) if isinstance(due, str) else None,
            done=bool(data.get("done", False)),
            tags=[str(t) for t in data.get("tags", [])],  # type: ignore[union-attr]
        )
