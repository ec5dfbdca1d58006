"""`assistant eval run | compare | fetch`: measure a model on coding tasks
(see `assistant.eval`). Rendering lives here; the harness does not print."""

from __future__ import annotations

import enum
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assistant.agent.runtime import ModelOptions, load_engine, settings_for
from assistant.cli.options import model_options
from assistant.errors import UsageError
from assistant.eval.results import RunFile, Summary, TaskResult, load_run, summarize
from assistant.eval.suite import Task, load_suite
from assistant.eval.testrun import DEFAULT_TIMEOUT, require_pytest
from assistant.llm.engine import Engine
from assistant.terminal import printable

eval_app = typer.Typer(
    help="Measure a model on coding tasks: run a suite, compare two runs, fetch the benchmark.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


class ToolSet(enum.StrEnum):
    """The tools a run offers the model."""

    SYMBOLS = "symbols"
    BASIC = "basic"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _mark(flag: bool) -> str:
    return "[green]pass[/]" if flag else "[red]fail[/]"


def results_table(results: list[TaskResult], tries: int, title: str) -> Table:
    table = Table(title=title)
    for column in ("task", "try 1", *(["try 2"] if tries > 1 else []), "calls ok/all"):
        table.add_column(column)
    for column in ("failed edits", "tokens in/out", "time", "tok/s", "outcome"):
        table.add_column(column, justify="right" if column != "outcome" else "left")
    for r in results:
        cells = [escape(r.slug), _mark(r.pass1)]
        if tries > 1:
            cells.append(_mark(r.pass2) if len(r.tries) > 1 or r.pass1 else "—")
        cells += [
            f"{r.well_formed}/{r.tool_calls}",
            str(r.failed_edits),
            f"{r.tokens_in}/{r.tokens_out}",
            f"{r.seconds:.1f}s",
            f"{r.tokens_per_second:.1f}",
            # An error can quote the model or a test's output: text, never markup.
            r.outcome if not r.error else f"[red]error: {escape(printable(r.error))}[/]",
        ]
        table.add_row(*cells)
    return table


def summary_line(summary: Summary) -> str:
    return (
        f"{summary.tasks} tasks · pass@1 {_pct(summary.pass1)} · pass@2 {_pct(summary.pass2)} · "
        f"well-formed calls {_pct(summary.well_formed_rate)} · failed edits {summary.failed_edits} · "
        f"median {summary.median_seconds:.1f}s per task · {summary.tokens_per_second:.1f} tok/s"
    )


def _default_suite() -> Path:
    from assistant.eval.fetch import POLYGLOT_COMMIT, evals_dir

    fetched = evals_dir() / f"polyglot-benchmark-{POLYGLOT_COMMIT[:12]}"
    if fetched.is_dir():
        return fetched
    raise UsageError(
        "give --suite DIR (e.g. examples/evals), or download the benchmark with `assistant eval fetch`"
    )


@eval_app.command("run")
@model_options
def eval_run(
    suite: Annotated[
        Path | None,
        typer.Option(
            "--suite", help="Suite folder (default: the benchmark `eval fetch` downloaded)."
        ),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Tasks at once; more than 1 needs --endpoint.")
    ] = 1,
    tries: Annotated[
        int,
        typer.Option(
            "--tries", min=1, max=2, help="2: a failed task gets its test output and one more try."
        ),
    ] = 1,
    limit: Annotated[
        int | None, typer.Option("--limit", min=0, help="Run only the first K tasks.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines: one per task, then the summary.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the results file here.")
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume", help="Continue this results file: skip its finished tasks, add the rest."
        ),
    ] = None,
    test_timeout: Annotated[
        float, typer.Option("--test-timeout", min=1.0, help="Seconds a task's tests may run.")
    ] = DEFAULT_TIMEOUT,
    tools: Annotated[
        ToolSet,
        typer.Option(
            "--tools",
            help="symbols: edit_file plus the symbol tools (replace_symbol, …); "
            "basic: without the symbol tools, to compare.",
        ),
    ] = ToolSet.SYMBOLS,
    unconfined: Annotated[
        bool,
        typer.Option(
            "--unconfined",
            help="Run the tests even where their files and network cannot be confined.",
        ),
    ] = False,
    *,
    opts: ModelOptions,
) -> None:
    """Run each task of a suite in a fresh temp git repo through `edit`, then its tests."""
    # The runner brings the agent and the tools: loaded when a run starts, not
    # with the CLI (tests/cli/test_startup.py).
    from assistant.eval.runner import RunConfig, effective_jobs, pending, run_suite
    from assistant.eval.sandbox import confinement

    require_pytest()
    opts = replace(opts, symbol_tools=tools is ToolSet.SYMBOLS)
    level = confinement()
    if not level.confines_files_and_network:
        if not unconfined:
            raise UsageError(
                "eval runs the code the model writes, and this machine cannot confine it "
                f"({level.describe()}); pass --unconfined to run it anyway"
            )
        err.print(f"note: running unconfined: {level.describe()}", highlight=False)
    suite = suite or _default_suite()
    tasks: list[Task] = load_suite(suite)
    settings = settings_for(None, opts)
    n_jobs = effective_jobs(jobs, settings)
    if jobs > 1 and n_jobs == 1:
        err.print(
            "note: -j needs --endpoint (a server); one in-process model runs one task at a time"
        )
    previous = load_run(resume) if resume else None
    done = {r.slug for r in previous.results} if previous else set()
    todo = pending(tasks, done, limit)
    path = output or resume
    run = RunFile(
        model=settings.model or "",
        suite=str(suite.resolve()),
        tries=tries,
        settings={
            "n_ctx": settings.n_ctx,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "max_steps": opts.max_steps,
            "think": opts.think,
            "endpoint": settings.endpoint,
            "tools": tools.value,
        },
        results=list(previous.results) if previous else [],
    )
    if done:
        err.print(f"resuming {resume}: {len(done)} tasks done, {len(todo)} to run")

    def started(task: Task) -> None:
        if not as_json:
            err.print(f"[dim]running {task.slug}…[/]", highlight=False)

    def finished(result: TaskResult) -> None:
        run.results.append(result)
        if path:
            run.save(path)
        if as_json:
            print(json.dumps({"type": "task", **result.to_json()}), flush=True)

    def load() -> Engine:
        return load_engine(settings, verbose=opts.verbose, trace=opts.trace)

    config = RunConfig(tries=tries, test_timeout=test_timeout, jobs=n_jobs)
    if todo:
        run_suite(todo, load, settings, opts, config, finished, started)
    order = {t.slug: n for n, t in enumerate(tasks)}
    run.results.sort(key=lambda r: order.get(r.slug, len(order)))
    if path:
        run.save(path)
    summary = summarize(run.results)
    if as_json:
        print(json.dumps({"type": "summary", **summary.to_json()}), flush=True)
        return
    out.print(results_table(run.results, tries, f"eval: {Path(run.suite).name}"))
    out.print(summary_line(summary), highlight=False)
    if path:
        err.print(f"results: {path}", highlight=False)


@eval_app.command("compare")
def eval_compare(
    first: Annotated[Path, typer.Argument(help="A results file (eval run -o).")],
    second: Annotated[Path, typer.Argument(help="Another results file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Two runs side by side, task by task."""
    a, b = load_run(first), load_run(second)
    by_a = {r.slug: r for r in a.results}
    by_b = {r.slug: r for r in b.results}
    slugs = list(by_a) + [s for s in by_b if s not in by_a]
    if as_json:
        rows = [
            {
                "slug": s,
                "a": by_a[s].to_json() if s in by_a else None,
                "b": by_b[s].to_json() if s in by_b else None,
            }
            for s in slugs
        ]
        print(
            json.dumps(
                {
                    "a": str(first),
                    "b": str(second),
                    "tasks": rows,
                    "summary": {
                        "a": summarize(a.results).to_json(),
                        "b": summarize(b.results).to_json(),
                    },
                }
            )
        )
        return
    table = Table(
        title=f"A: {first.name} ({Path(a.model).name})  ·  B: {second.name} ({Path(b.model).name})"
    )
    for column in (
        "task",
        "A pass@1",
        "A pass@2",
        "B pass@1",
        "B pass@2",
        "A time",
        "B time",
        "A outcome",
        "B outcome",
    ):
        table.add_column(column)
    for slug in slugs:
        ra, rb = by_a.get(slug), by_b.get(slug)
        table.add_row(
            slug,
            _mark(ra.pass1) if ra else "—",
            _mark(ra.pass2) if ra else "—",
            _mark(rb.pass1) if rb else "—",
            _mark(rb.pass2) if rb else "—",
            f"{ra.seconds:.1f}s" if ra else "—",
            f"{rb.seconds:.1f}s" if rb else "—",
            ra.outcome if ra else "—",
            rb.outcome if rb else "—",
        )
    out.print(table)
    out.print(f"A {first}: {summary_line(summarize(a.results))}", highlight=False)
    out.print(f"B {second}: {summary_line(summarize(b.results))}", highlight=False)


@eval_app.command("fetch")
def eval_fetch(
    size: Annotated[int | None, typer.Option("--size", help="The archive's size in bytes.")] = None,
    sha256: Annotated[str | None, typer.Option("--sha256", help="The archive's sha256.")] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Another copy of the same archive.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again.")] = False,
) -> None:
    """Download the aider polyglot benchmark (one archive, size and sha256
    checked) into the user cache. Uses the network, like `model pull`."""
    from assistant.eval.fetch import fetch, pinned_archive

    archive = pinned_archive(size, sha256, url)
    err.print(f"downloading {archive.url}", highlight=False)
    root = fetch(archive, force=force)
    out.print(f"[green]ready:[/] {root}", highlight=False)
    print(
        f"run it with: assistant eval run --suite {root} --tries 2 -o results.json", file=sys.stderr
    )


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
