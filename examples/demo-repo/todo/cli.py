"""Command line: add, list and complete tasks."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from todo.models import Priority
from todo.store import TaskNotFound, TaskStore

DEFAULT_FILE = Path("tasks.json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="todo", description="A tiny task tracker")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a task")
    add.add_argument("title")
    add.add_argument("--priority", choices=["low", "normal", "high"], default="normal")
    add.add_argument("--due", type=date.fromisoformat)
    sub.add_parser("list", help="show open tasks")
    done = sub.add_parser("done", help="mark a task as done")
    done.add_argument("id", type=int)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    store = TaskStore(args.file)
    if args.command == "add":
        task = store.add(args.title, Priority[args.priority.upper()])
        if args.due:
            task.due = args.due
            store.save()
        print(f"added #{task.id}: {task.title}")
    elif args.command == "list":
        today = date.today()
        for task in store.pending():
            flag = " (overdue)" if task.is_overdue(today) else ""
            print(f"#{task.id} [{task.priority.name.lower()}] {task.title}{flag}")
    elif args.command == "done":
        try:
            task = store.complete(args.id)
        except TaskNotFound:
            print(f"no task #{args.id}")
            return 1
        print(f"done #{task.id}: {task.title}")
    return 0
