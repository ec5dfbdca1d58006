"""`assistant review [--staged | --range A..B | PATH…]`.

Never in the way of a commit: when the model is missing, fails or runs past
`--timeout`, the review warns on stderr and exits 0, unless `--strict`. Exit 1
means a finding at or above `--fail-on`; 2 bad usage or not a repository."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from assistant.errors import AssistantError, UsageError
from assistant.review import hook
from assistant.review.findings import Limits
from assistant.review.gitsource import DiffMode, DiffSpec, GitRepo
from assistant.review.model import REPLAY_ENV
from assistant.review.report import (
    FailOn,
    OutputFormat,
    print_dropped,
    print_rich,
    print_summary,
    print_trace,
    render_text,
)

if TYPE_CHECKING:  # the runner and reviewers load when a review runs
    from assistant.review.model import Reviewer
    from assistant.review.runner import ReviewResult

DEFAULT_REPLAY_CTX = 8192
DEFAULT_ANSWER_TOKENS = 1024
DEFAULT_TIMEOUT = 120.0
WATCHDOG_GRACE = 10.0  # beyond --timeout, for what cannot be cancelled (model loading)


class ModelUnavailable(AssistantError):
    """The model could not be loaded or run; the review is skipped."""

    def __init__(self, cause: AssistantError | Exception) -> None:
        message = cause.message if isinstance(cause, AssistantError) else str(cause)
        super().__init__(message)
        self.exit_code = cause.exit_code if isinstance(cause, AssistantError) else 1


def reviewer_factory(
    *,
    repo_root: Path,
    model: Path | None,
    replay: Path | None,
    endpoint: str | None = None,
    ctx: int | None,
    threads: int | None,
    limits: Limits,
    trace: Path | None,
    prefix_cache: bool = True,
    cache_dir: Path | None = None,
    max_answer_tokens: int = DEFAULT_ANSWER_TOKENS,
) -> Callable[[], Reviewer]:
    """Builds the reviewer only when called: an empty change never loads a model."""

    def make() -> Reviewer:
        from assistant.review.model import LlamaReviewer, ReplayReviewer

        try:
            if replay is not None:
                return ReplayReviewer(replay, ctx or DEFAULT_REPLAY_CTX)
            from assistant.agent.runtime import ModelOptions, load_engine, settings_for

            opts = ModelOptions(
                model=str(model) if model else None, ctx=ctx, threads=threads, endpoint=endpoint
            )
            settings = settings_for(repo_root, opts)
            engine = load_engine(
                settings,
                trace=trace,
                prefix_cache_dir=cache_dir if (prefix_cache and cache_dir) else prefix_cache,
            )
            template = Path(settings.chat_template) if settings.chat_template else None
            try:
                return LlamaReviewer(engine, limits, max_answer_tokens, template_path=template)
            except Exception:
                engine.close()
                raise
        except AssistantError as exc:  # config errors too: a review never blocks on them
            raise ModelUnavailable(exc) from exc
        except Exception as exc:  # a chat template that raises, a broken llama.cpp build
            raise ModelUnavailable(exc) from exc

    return make


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "no details"
    return f"{type(exc).__name__}: {text[:300]}"


def build_spec(staged: bool, range_: str | None, paths: list[str]) -> DiffSpec:
    if staged and range_:
        raise UsageError("give either --staged or --range, not both")
    if range_:
        return DiffSpec.parse_range(range_, tuple(paths))
    return DiffSpec(DiffMode.STAGED if staged else DiffMode.WORKTREE, paths=tuple(paths))


def _progress(console: Console) -> Callable[[int, int, str], None]:
    # On a terminal every chunk is announced (a one-chunk review can take a
    # minute); in logs only multi-chunk reviews, as before.
    least = 1 if console.is_terminal else 2

    def report(done: int, total: int, label: str) -> None:
        if total >= least and label and done < total:
            console.print(
                f"review: [{done + 1}/{total}] {label}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )

    return report


def _watchdog(timeout: float | None, strict: bool) -> threading.Timer | None:
    """Last resort for what the timeout cannot cancel (a model load that hangs):
    warn and leave with the lenient exit status."""
    if timeout is None or timeout <= 0:
        return None

    def fire() -> None:
        sys.stderr.write(
            f"warning: review still running {timeout + WATCHDOG_GRACE:g} s after start; "
            + ("failing (--strict)\n" if strict else "commit not reviewed\n")
        )
        sys.stderr.flush()
        os._exit(1 if strict else 0)

    timer = threading.Timer(timeout + WATCHDOG_GRACE, fire)
    timer.daemon = True
    timer.start()
    return timer


def _in_hook() -> bool:
    """Whether git is committing: our hook, the pre-commit framework (PRE_COMMIT)
    or git's hook environment. Only then does "commit allowed" mean something."""
    return any(name in os.environ for name in (hook.VERDICT_ENV, "PRE_COMMIT", "GIT_INDEX_FILE"))


def _emit(
    result: ReviewResult,
    fmt: OutputFormat,
    output: Path | None,
    err: Console,
    *,
    verbose: bool,
    hook_note: str,
) -> None:
    if fmt is OutputFormat.RICH and output is None:
        print_rich(result, Console(), verbose=verbose, hook_note=hook_note)
        return
    text = render_text(result, fmt if fmt is not OutputFormat.RICH else OutputFormat.JSON)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        print_summary(result, err, verbose=verbose, hook_note=hook_note)
        return
    sys.stdout.write(text)
    sys.stdout.flush()
    if result.incomplete:
        err.print(
            f"warning: review incomplete: {result.incomplete}"
            + (f"; {hook_note}" if hook_note else ""),
            markup=False,
            soft_wrap=True,
        )
    if verbose:
        print_dropped(result, err)


def _add_lint(root: Path, result: Any, err: Console) -> None:
    """`--lint`: the configured lint_command's errors on the reviewed files, as
    findings (category lint). Its absence is a note, never a blocked commit."""
    from assistant.config import load_settings
    from assistant.review.lint import lint_findings

    settings = load_settings(root)
    command = settings.lint_command
    if not command:
        err.print(
            "note: --lint: no lint_command configured (`assistant config detect` proposes one)",
            markup=False,
            soft_wrap=True,
        )
        return
    findings, problem = lint_findings(root, result.reviewed, command, float(settings.check_timeout))
    result.findings.extend(findings)
    if problem:
        err.print(f"warning: {problem}", markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("review")
    def review_command(
        paths: Annotated[
            list[str] | None,
            typer.Argument(help="Limit the review to these paths (work tree vs HEAD by default)."),
        ] = None,
        staged: Annotated[
            bool, typer.Option("--staged", help="Review the staged changes (index vs HEAD).")
        ] = False,
        range_: Annotated[
            str | None,
            typer.Option("--range", help="Review a revision range, e.g. main..HEAD."),
        ] = None,
        output_format: Annotated[
            OutputFormat, typer.Option("--format", help="rich, json or sarif (SARIF 2.1.0).")
        ] = OutputFormat.RICH,
        fail_on: Annotated[
            FailOn,
            typer.Option("--fail-on", help="Exit 1 if a finding at or above this severity."),
        ] = FailOn.ERROR,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write the JSON/SARIF report here.")
        ] = None,
        model: Annotated[
            Path | None, typer.Option("--model", "-m", help="GGUF model file.")
        ] = None,
        endpoint: Annotated[
            str | None,
            typer.Option("--endpoint", help="A llama-server URL to use instead of a local model."),
        ] = None,
        ctx: Annotated[
            int | None, typer.Option("--ctx", help="Context size in tokens (default: settings).")
        ] = None,
        threads: Annotated[int | None, typer.Option("--threads", help="CPU threads.")] = None,
        timeout: Annotated[
            float, typer.Option("--timeout", help="Give up after this many seconds (0: never).")
        ] = DEFAULT_TIMEOUT,
        strict: Annotated[
            bool,
            typer.Option(
                "--strict", help="Fail (non-zero) when the model is missing, fails or times out."
            ),
        ] = False,
        trace: Annotated[
            Path | None,
            typer.Option("--trace", help="Append model calls to this JSONL file; show cache use."),
        ] = None,
        instructions: Annotated[
            Path | None,
            typer.Option(
                "--instructions", help="Project review guidelines (part of the cached prefix)."
            ),
        ] = None,
        repo_map: Annotated[
            bool, typer.Option("--repo-map/--no-repo-map", help="Include the repository map.")
        ] = True,
        max_findings: Annotated[
            int, typer.Option("--max-findings", help="At most this many findings per chunk.")
        ] = Limits.max_findings,
        max_answer_tokens: Annotated[
            int, typer.Option("--max-answer-tokens", hidden=True, min=1)
        ] = DEFAULT_ANSWER_TOKENS,
        prefix_cache: Annotated[
            bool, typer.Option("--prefix-cache/--no-prefix-cache", hidden=True)
        ] = True,
        cache_dir: Annotated[Path | None, typer.Option("--cache-dir", hidden=True)] = None,
        lint: Annotated[
            bool,
            typer.Option(
                "--lint", help="Also run lint_command on the reviewed files (findings: lint)."
            ),
        ] = False,
        replay: Annotated[
            Path | None,
            typer.Option(
                "--replay",
                hidden=True,
                envvar=REPLAY_ENV,
                help="Test seam: answer from this file of canned model output.",
            ),
        ] = None,
    ) -> None:
        """Review a change with the local model; findings anchored to the diff."""
        from assistant.cli.options import verbose_requested  # the root --verbose
        from assistant.review.runner import ReviewOptions, run_review

        verbose = verbose_requested()
        err = Console(stderr=True)
        watchdog = _watchdog(timeout if timeout > 0 else None, strict)
        try:
            spec = build_spec(staged, range_, list(paths or []))
            repo = GitRepo.discover(Path.cwd())
            if max_findings < 1:
                raise UsageError("--max-findings must be at least 1")
            limits = Limits(max_findings=max_findings)
            guidelines = ""
            if instructions is not None:
                try:
                    guidelines = instructions.read_text(encoding="utf-8")
                except OSError as exc:
                    raise UsageError(f"cannot read --instructions {instructions}: {exc}") from exc
            factory = reviewer_factory(
                repo_root=repo.root,
                model=model,
                replay=replay,
                endpoint=endpoint,
                ctx=ctx,
                threads=threads,
                limits=limits,
                trace=trace,
                prefix_cache=prefix_cache,
                cache_dir=cache_dir,
                max_answer_tokens=max_answer_tokens,
            )
            options = ReviewOptions(
                timeout=timeout if timeout > 0 else None,
                repo_map=repo_map,
                instructions=guidelines,
                limits=limits,
            )
            try:
                result = run_review(repo, spec, factory, options, _progress(err))
            except ModelUnavailable as exc:
                if strict:
                    raise
                err.print(
                    f"warning: review skipped: {exc.message}"
                    + ("; commit allowed" if _in_hook() else ""),
                    markup=False,
                    soft_wrap=True,
                )
                raise typer.Exit(0) from None
            except (AssistantError, typer.Exit):
                raise
            except Exception as exc:  # never a traceback, never a blocked commit
                if strict or spec.mode is not DiffMode.STAGED:
                    raise AssistantError(f"review failed: {_one_line(exc)}") from exc
                err.print(
                    f"warning: review failed: {_one_line(exc)}; commit allowed",
                    markup=False,
                    soft_wrap=True,
                )
                raise typer.Exit(0) from None
            if lint:
                _add_lint(repo.root, result, err)
            if trace is not None:
                print_trace(result, err)
            nothing = not result.reviewed and not result.skipped and not result.findings
            if nothing and not result.incomplete and output_format is OutputFormat.RICH:
                what = {
                    DiffMode.STAGED: "nothing staged to review",
                    DiffMode.WORKTREE: "no changes to review",
                }.get(spec.mode, "no changes to review in that range")
                err.print(what, markup=False)
                raise typer.Exit(0)
            block = bool(result.incomplete and strict) or fail_on.triggered_by(result.findings)
            # A hook run that lets the commit through says so in the incomplete line.
            hook_note = "commit allowed" if result.incomplete and not block and _in_hook() else ""
            _emit(result, output_format, output, err, verbose=verbose, hook_note=hook_note)
            if block:
                hook.write_verdict(block=True)
                raise typer.Exit(1)
        except AssistantError as exc:
            err.print(f"error: {exc.message}", markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        finally:
            if watchdog is not None:
                watchdog.cancel()


__all__ = ["register"]
