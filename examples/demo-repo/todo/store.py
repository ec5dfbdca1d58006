"""Persistence: tasks live in one JSON file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from todo.models import Priority, Task


class TaskNotFound(KeyError):
    pass


class TaskStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tasks: list[Task] = []
        if path.exists():
            self.load()

    def load(self) -> None:
        data = json.loads(self.path.read_text(encoding="utf-8"))
        self.tasks = [Task.from_dict(item) for item in data["tasks"]]

    def save(self) -> None:
        # Write to a temporary file first so a crash never leaves half a file.
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"tasks": [t.to_dict() for t in self.tasks]}, indent=2))
        os.replace(tmp, self.path)

    def next_id(self) -> int:
        return max((t.id for t in self.tasks), default=0) + 1

    def add(self, title: str, priority: Priority = Priority.NORMAL) -> Task:
        task = Task(id=self.next_id(), title=title, priority=priority)
        self.tasks.append(task)
        self.save()
        return task

    def get(self, task_id: int) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise TaskNotFound(task_id)

    def complete(self, task_id: int) -> Task:
        task = self.get(task_id)
        task.done = True
        self.save()
        return task

    def pending(self) -> list[Task]:
        """Open tasks, most important first."""
        return sorted(
            (t for t in self.tasks if not t.done), key=lambda t: (-t.priority, t.id)
        )
