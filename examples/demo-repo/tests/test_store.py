from datetime import date

from todo.models import Priority, Task
from todo.store import TaskStore


def test_add_and_reload(tmp_path):
    store = TaskStore(tmp_path / "tasks.json")
    store.add("write the report", Priority.HIGH)
    again = TaskStore(tmp_path / "tasks.json")
    assert [t.title for t in again.tasks] == ["write the report"]


def test_pending_sorted_by_priority(tmp_path):
    store = TaskStore(tmp_path / "tasks.json")
    store.add("low", Priority.LOW)
    store.add("high", Priority.HIGH)
    assert [t.title for t in store.pending()] == ["high", "low"]


def test_overdue():
    task = Task(id=1, title="x", due=date(2020, 1, 1))
    assert task.is_overdue(date(2021, 1, 1))
    assert not task.is_overdue(date(2019, 1, 1))
