"""Running tasks: each in a fresh temp git repo, through the same agent path
`assistant edit` takes (`open_runtime`, Mode.EDIT, the edit plan with the
stub files named and attached), then its tests. With two tries a failing
first attempt gets the test output back in the same conversation.

The model is loaded once per run (per worker with an endpoint): each task
gets a new Session and Toolbox over the shared engine."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from assistant.agent.context import Mode
from assistant.agent.loop import edit_plan
from assistant.agent.runtime import ModelOptions, Runtime, open_runtime
from assistant.config import Settings
from assistant.eval.results import TaskResult, TryRecord
from assistant.eval.suite import Task
from assistant.eval.testrun import DEFAULT_TIMEOUT, run_tests
from assistant.events import AgentEvent, ToolCall, ToolCallError, ToolFinished
from assistant.llm.engine import Engine
from assistant.repo.git import GitError, run_git
from assistant.tools.approval import ApprovalPolicy

EDIT_TOOLS = ("edit_file", "write_file", "replace_symbol", "insert_symbol")
ATTACH_SHARE = 0.4  # of the context, for the attached stub files (as `edit` does)


@dataclass(frozen=True)
class RunConfig:
    tries: int = 1
    test_timeout: float = DEFAULT_TIMEOUT
    jobs: int = 1


def effective_jobs(requested: int, settings: Settings) -> int:
    """Parallel tasks need a server that serves them (`--endpoint`); one
    in-process model runs one task at a time."""
    return max(1, requested) if settings.endpoint else 1


# ---------------------------------------------------------------- task repos


def prepare_repo(task: Task, dest: Path) -> Path:
    """A fresh git repo holding the task's files, without its docs, its
    metadata and any reference solution, committed once."""
    hidden = {".meta", ".docs", "__pycache__", ".pytest_cache", ".git"}
    examples = {Path(e).as_posix() for e in task.example}

    def ignore(directory: str, names: list[str]) -> set[str]:
        rel = Path(directory).relative_to(task.directory)
        return {
            n
            for n in names
            if n in hidden or (rel / n).as_posix() in examples or n.endswith(".pyc")
        }

    shutil.copytree(task.directory, dest, ignore=ignore, symlinks=False)
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=eval", "-c", "user.email=eval@localhost", "commit", "-qm", task.slug],
    ):
        done = run_git(dest, *args)
        if not done.ok:
            raise GitError(f"git {args[0]} failed in {dest}: {done.error}")
    return dest


def restore_tests(task: Task, repo: Path) -> None:
    """Put the suite's test files back: the model must not pass by editing them."""
    for name in task.tests:
        shutil.copyfile(task.directory / name, repo / name)


# ---------------------------------------------------------------- prompts


def task_message(task: Task) -> str:
    from assistant import prompts

    text = prompts.load("eval_task").replace("{files}", ", ".join(task.solution))
    return text.replace("{instructions}", task.instructions).strip()


def retry_message(task: Task, output: str) -> str:
    from assistant import prompts

    text = prompts.load("eval_retry").replace("{files}", ", ".join(task.solution))
    return text.replace("{output}", output).strip()


def attached_files(runtime: Runtime, files: Sequence[str]) -> str:
    """The stub files as the model would read them, as `edit` attaches them."""
    parts = [runtime.toolbox.call("read_file", {"path": name}).text for name in files]
    text = "\n\n".join(parts)
    limit = int(runtime.engine.n_ctx * ATTACH_SHARE * 3)
    if len(text) > limit:
        text = text[:limit] + "\n[… files cut to fit the context]"
    return f"Files the user attached (already read):\n{text}"


# ---------------------------------------------------------------- one task


class _Counter:
    """Counts what the model did in one attempt, from the agent's events."""

    def __init__(self) -> None:
        self.calls = 0
        self.well_formed = 0
        self.failed_edits = 0

    def __call__(self, event: AgentEvent) -> None:
        if isinstance(event, ToolCall):
            self.calls += 1
            self.well_formed += 1
        elif isinstance(event, ToolCallError):
            self.calls += 1
        elif isinstance(event, ToolFinished) and event.name in EDIT_TOOLS and not event.ok:
            self.failed_edits += 1


def run_task(
    task: Task,
    engine: Engine,
    settings: Settings,
    opts: ModelOptions,
    config: RunConfig,
) -> TaskResult:
    result = TaskResult(task.slug)
    with tempfile.TemporaryDirectory(prefix=f"assistant-eval-{task.slug}-") as tmp:
        repo = prepare_repo(task, Path(tmp) / task.slug)
        plan = edit_plan(task.solution)
        runtime = open_runtime(
            opts,
            root=repo,
            mode=Mode.EDIT,
            policy=ApprovalPolicy.AUTO_EDIT,
            focus_files=task.solution,
            plan=plan,
            engine=engine,
            settings=settings,
        )
        try:
            message = f"{attached_files(runtime, task.solution)}\n\n{task_message(task)}"
            for attempt in range(config.tries):
                counter = _Counter()
                start = time.monotonic()
                turn = runtime.agent.run(message, counter, plan)
                agent_seconds = time.monotonic() - start
                restore_tests(task, repo)
                tests = run_tests(repo, task.tests, config.test_timeout)
                stats = turn.stats
                result.tries.append(
                    TryRecord(
                        outcome=turn.outcome.value,
                        passed=tests.passed,
                        test_status=tests.status.value,
                        tool_calls=counter.calls,
                        well_formed=counter.well_formed,
                        failed_edits=counter.failed_edits,
                        tokens_in=stats.evaluated_tokens,
                        tokens_out=stats.generated_tokens,
                        agent_seconds=round(agent_seconds, 3),
                        test_seconds=round(tests.seconds, 3),
                        generation_ms=round(stats.generation_ms, 1),
                        test_output=tests.output,
                    )
                )
                if tests.passed or attempt + 1 >= config.tries:
                    break
                message = retry_message(task, tests.output)
        finally:
            runtime.close()
    return result


# ---------------------------------------------------------------- a run

EngineFactory = Callable[[], Engine]
OnResult = Callable[[TaskResult], None]
OnStart = Callable[[Task], None]


def run_suite(
    tasks: Sequence[Task],
    load: EngineFactory,
    settings: Settings,
    opts: ModelOptions,
    config: RunConfig,
    on_result: OnResult,
    on_start: OnStart = lambda task: None,
) -> list[TaskResult]:
    """Run `tasks`, `config.jobs` at a time, each worker on its own engine
    from `load` (one in-process model: one worker). A task the harness fails
    on is recorded with its error and the run goes on; `on_result` sees each
    result as it finishes (in the caller's thread order for one worker)."""
    results: list[TaskResult] = []
    lock = threading.Lock()
    local = threading.local()
    engines: list[Engine] = []

    def engine() -> Engine:
        if getattr(local, "engine", None) is None:
            local.engine = load()
            with lock:
                engines.append(local.engine)
        loaded: Engine = local.engine
        return loaded

    def one(task: Task) -> None:
        on_start(task)
        try:
            result = run_task(task, engine(), settings, opts, config)
        except Exception as exc:  # one task's failure is recorded; the run goes on
            result = TaskResult(task.slug, error=f"{type(exc).__name__}: {exc}")
        with lock:
            results.append(result)
            on_result(result)

    try:
        if config.jobs <= 1:
            for task in tasks:
                one(task)
        else:
            with ThreadPoolExecutor(config.jobs, thread_name_prefix="eval") as pool:
                list(pool.map(one, tasks))
    finally:
        for loaded in engines:
            loaded.close()
    return results


def pending(tasks: Sequence[Task], done: set[str], limit: int | None) -> list[Task]:
    """The tasks still to run: of the first `limit` tasks (all when None),
    those not in `done`, so a resumed `--limit` run covers the same tasks."""
    chosen = tasks if limit is None else tasks[: max(0, limit)]
    return [t for t in chosen if t.slug not in done]
