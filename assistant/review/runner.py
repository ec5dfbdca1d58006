"""One review, start to end: diff → skip → context → chunks → model → findings
→ anchoring. The model is created only when there is something to review, so
an empty or all-skipped change returns at once."""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.llm.engine import CancelToken, GenerationStats, StopReason
from assistant.review.anchor import DroppedFinding, anchor_findings
from assistant.review.chunks import (
    Chunk,
    ChunkRef,
    ReviewFile,
    chunk_file,
    has_reviewable_lines,
)
from assistant.review.context import enclosing_blocks
from assistant.review.diff import FileDiff, parse_unified_diff
from assistant.review.findings import Finding, Limits, parse_findings
from assistant.review.gitsource import DiffSpec, GitRepo
from assistant.review.model import Reviewer, ReviewRequest
from assistant.review.prompt import chunk_text, shared_text, system_prompt
from assistant.review.skip import ATTRIBUTES, SkipReason, skip_reason

# Tokens kept free besides the answer: template tokens after the user text.
MARGIN_TOKENS = 64
MIN_CHUNK_TOKENS = 256

Progress = Callable[[int, int, str], None]  # done, total, label


@dataclass(frozen=True)
class ReviewOptions:
    timeout: float | None = 120.0
    repo_map: bool = True
    repo_map_tokens: int = 1024
    instructions: str = ""
    limits: Limits = field(default_factory=Limits)
    context_lines: int = 80


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: SkipReason


class ChunkState(enum.Enum):
    DONE = "done"
    CUT_READING = "cut_reading_prompt"  # the timeout hit while the prompt was evaluated
    CUT_WRITING = "cut_writing_answer"  # the timeout hit while the answer was generated
    FAILED = "failed"  # the model raised

    @property
    def cut(self) -> bool:
        return self in (ChunkState.CUT_READING, ChunkState.CUT_WRITING)


@dataclass
class ChunkReport:
    label: str
    state: ChunkState = ChunkState.DONE
    ref: ChunkRef | None = None
    prompt_tokens: int = 0
    loaded_tokens: int = 0  # restored from the disk prefix cache
    reused_tokens: int = 0  # already in the KV cache (earlier chunk of this run)
    evaluated_tokens: int = 0
    generated_tokens: int = 0
    seconds: float = 0.0
    kept: int = 0
    dropped: int = 0
    invalid: int = 0

    @property
    def done(self) -> bool:
        return self.state is ChunkState.DONE

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens not evaluated: loaded from disk, else re-used in memory."""
        return self.loaded_tokens or self.reused_tokens


@dataclass(frozen=True)
class TokenTotals:
    prompt: int = 0
    cached: int = 0
    evaluated: int = 0
    generated: int = 0


@dataclass
class ReviewResult:
    findings: list[Finding] = field(default_factory=list)
    reviewed: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    chunks: list[ChunkReport] = field(default_factory=list)  # started, in order
    not_started: list[ChunkRef] = field(default_factory=list)  # never sent (timeout)
    dropped: list[DroppedFinding] = field(default_factory=list)  # findings outside the diff
    invalid: int = 0
    clamped: int = 0
    bad_answers: int = 0  # answers that were not a findings object at all
    incomplete: str | None = None  # why the review stopped early (timeout, model failure)
    cut: list[str] = field(default_factory=list)  # chunks whose answer hit the token limit
    model_used: bool = False
    seconds: float = 0.0
    sources: dict[str, list[str]] = field(default_factory=dict)  # new-side lines, for snippets

    @property
    def total_chunks(self) -> int:
        return len(self.chunks)

    @property
    def planned_chunks(self) -> int:
        return len(self.chunks) + len(self.not_started)

    @property
    def dropped_outside_diff(self) -> int:
        return len(self.dropped)

    @property
    def stopped_in(self) -> ChunkReport | None:
        """The chunk the timeout (or a failing model) stopped in, if any."""
        return next((c for c in self.chunks if not c.done), None)

    @property
    def tokens(self) -> TokenTotals:
        """Tokens processed, the chunk cut by the timeout included."""
        return TokenTotals(
            prompt=sum(c.prompt_tokens for c in self.chunks),
            cached=sum(c.cached_tokens for c in self.chunks),
            evaluated=sum(c.evaluated_tokens for c in self.chunks),
            generated=sum(c.generated_tokens for c in self.chunks),
        )


def _decode(content: bytes) -> str:
    return content.decode("utf-8", "replace")


def collect_files(
    repo: GitRepo, spec: DiffSpec, context_lines: int = 80
) -> tuple[list[ReviewFile], list[SkippedFile]]:
    """Changed files to review (with their new content and context) and the skipped."""
    diffs: list[FileDiff] = parse_unified_diff(repo.diff_text(spec))
    attrs = repo.attributes([d.path for d in diffs], ATTRIBUTES)
    keep: list[ReviewFile] = []
    skipped: list[SkippedFile] = []
    for diff in diffs:
        content = None if diff.new_path is None else repo.new_content(spec, diff.new_path)
        reason = skip_reason(diff, attrs.get(diff.path, {}), content)
        if reason is not None or content is None:
            skipped.append(SkippedFile(diff.path, reason or SkipReason.UNREADABLE))
            continue
        item = ReviewFile(diff, _decode(content).splitlines())
        item.blocks = enclosing_blocks(diff.path, content, diff.hunks, context_lines)
        keep.append(item)
    return keep, skipped


def _repo_map(root: Path, focus: list[str], budget: int) -> str:
    if budget <= 0:
        return ""
    try:
        from assistant.repo.repomap import RepoMap

        repo_map = RepoMap(root)
        try:
            return repo_map.build(budget_tokens=budget, focus_files=focus).text
        finally:
            repo_map.close()
    except Exception:  # the map only helps; a review without it is still a review
        return ""


class _Deadline:
    """Cancels generation when the time budget is spent."""

    def __init__(self, seconds: float | None, cancel: CancelToken) -> None:
        self.cancel = cancel
        self.end = None if seconds is None else time.monotonic() + seconds
        self._timer: threading.Timer | None = None
        if seconds is not None:
            self._timer = threading.Timer(max(0.0, seconds), cancel.cancel)
            self._timer.daemon = True
            self._timer.start()

    @property
    def expired(self) -> bool:
        return self.cancel.cancelled or (self.end is not None and time.monotonic() >= self.end)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    @property
    def seconds_left(self) -> float | None:
        return None if self.end is None else self.end - time.monotonic()


# The pace is judged only after this long and this many tokens of reading: the
# first batch pays for warm-up (page faults on a model just mapped).
PACE_MIN_SECONDS = 2.0
PACE_MIN_TOKENS = 64


class _Pace:
    """Stops a review that cannot finish before its deadline as soon as that
    is clear, instead of spending the whole timeout (a loaded laptop may read
    at a tenth of its quiet rate). The projection counts only the prompt tokens
    still to read, at the rate measured so far: a lower bound on the time
    needed, so a review that could finish is never stopped."""

    def __init__(self, deadline: _Deadline, timeout: float | None, pending: list[int]) -> None:
        self.deadline = deadline
        self.timeout = timeout
        self.pending = pending  # tokens to read, per chunk not yet done
        self.read_tokens = 0
        self.read_seconds = 0.0
        self.gave_up: str | None = None
        self._chunk_start = 0.0
        self._chunk_done = 0

    def start_chunk(self) -> None:
        self._chunk_start = time.monotonic()
        self._chunk_done = 0

    def progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        self.read_tokens += done - self._chunk_done
        self.read_seconds += now - self._chunk_start
        self._chunk_start, self._chunk_done = now, done
        later = sum(self.pending[1:])
        self.check(total - done + later)

    def finish_chunk(self) -> None:
        if self.pending:
            self.pending.pop(0)

    def check(self, tokens_left: int) -> bool:
        """Whether the review can still finish; gives up (and cancels) if not."""
        left = self.deadline.seconds_left
        if self.gave_up or left is None or tokens_left <= 0:
            return self.gave_up is None
        if self.read_seconds < PACE_MIN_SECONDS or self.read_tokens < PACE_MIN_TOKENS:
            return True
        rate = self.read_tokens / self.read_seconds
        need = tokens_left / rate
        if need <= left:
            return True
        chunks = len(self.pending)
        self.gave_up = (
            f"the model reads {rate:.0f} tokens/s on this machine now, so the {chunks} "
            f"chunk(s) left need at least {need:.0f} s just to read, and "
            f"{max(0.0, left):.0f} s of the {self.timeout:g} s timeout remain"
        )
        self.deadline.cancel.cancel()
        return False


def run_review(
    repo: GitRepo,
    spec: DiffSpec,
    make_reviewer: Callable[[], Reviewer],
    options: ReviewOptions | None = None,
    progress: Progress | None = None,
) -> ReviewResult:
    options = options or ReviewOptions()
    started = time.monotonic()
    cancel = CancelToken()
    deadline = _Deadline(options.timeout, cancel)
    result = ReviewResult()
    try:
        files, result.skipped = collect_files(repo, spec, options.context_lines)
        result.reviewed = [f.diff.path for f in files]
        for item in files:
            result.sources[item.diff.path] = item.lines
        if files:
            _review_files(repo, files, make_reviewer, options, deadline, result, progress)
    finally:
        deadline.stop()
        result.seconds = time.monotonic() - started
    return result


def _review_files(
    repo: GitRepo,
    files: list[ReviewFile],
    make_reviewer: Callable[[], Reviewer],
    options: ReviewOptions,
    deadline: _Deadline,
    result: ReviewResult,
    progress: Progress | None,
) -> None:
    reviewer = make_reviewer()
    result.model_used = True
    try:
        if deadline.expired:
            result.incomplete = f"timed out after {options.timeout:g} s (loading the model)"
            return
        system = system_prompt(options.limits, options.instructions)
        fixed = reviewer.system_tokens(system) + reviewer.max_answer_tokens() + MARGIN_TOKENS
        map_budget = min(options.repo_map_tokens, (reviewer.n_ctx - fixed) // 4)
        shared = ""
        if options.repo_map and map_budget > 0:
            shared = shared_text(_repo_map(repo.root, [f.diff.path for f in files], map_budget))
        budget = reviewer.n_ctx - fixed - reviewer.count_tokens(shared)
        budget -= reviewer.count_tokens(chunk_text(""))
        if budget < MIN_CHUNK_TOKENS:
            shared = ""
            budget = reviewer.n_ctx - fixed - reviewer.count_tokens(chunk_text(""))
        if budget < MIN_CHUNK_TOKENS:
            result.incomplete = (
                f"the {reviewer.n_ctx}-token context leaves no room for the diff; raise --ctx"
            )
            return
        chunks: list[Chunk] = []
        for item in files:
            chunks.extend(c for c in chunk_file(item, budget, reviewer.count_tokens))
        chunks = [c for c in chunks if has_reviewable_lines(c)]
        prefix = reviewer.system_tokens(system) + reviewer.count_tokens(shared)
        pending = [reviewer.count_tokens(chunk_text(c.text)) for c in chunks]
        if pending:
            pending[0] += prefix  # read once; later chunks find it in the KV cache
        pace = _Pace(deadline, options.timeout, pending)
        for index, chunk in enumerate(chunks):
            if progress is not None:
                progress(index, len(chunks), chunk.label)
            if index and not pace.check(sum(pace.pending)):
                result.incomplete = f"stopped early, before {chunk.label}: {pace.gave_up}"
                result.not_started = [c.ref for c in chunks[index:]]
                return
            if deadline.expired:
                result.incomplete = (
                    f"timed out after {options.timeout:g} s "
                    f"({index} of {len(chunks)} chunks reviewed)"
                )
                result.not_started = [c.ref for c in chunks[index:]]
                return
            _review_chunk(reviewer, system, shared, chunk, options, deadline, result, pace)
            pace.finish_chunk()
            if result.incomplete:
                result.not_started = [c.ref for c in chunks[index + 1 :]]
                return
        if progress is not None:
            progress(len(chunks), len(chunks), "")
        if result.cut:
            result.incomplete = (
                f"{len(result.cut)} answer(s) cut at the {reviewer.max_answer_tokens()}-token "
                f"limit ({', '.join(result.cut[:3])}"
                + (", …" if len(result.cut) > 3 else "")
                + "); findings after the cut were lost"
            )
    finally:
        reviewer.close()


def _review_chunk(
    reviewer: Reviewer,
    system: str,
    shared: str,
    chunk: Chunk,
    options: ReviewOptions,
    deadline: _Deadline,
    result: ReviewResult,
    pace: _Pace,
) -> None:
    request = ReviewRequest(
        system, shared, chunk_text(chunk.text), (chunk.path,), on_progress=pace.progress
    )
    pace.start_chunk()
    started = time.monotonic()
    try:
        reply = reviewer.review(request, deadline.cancel)
    except Exception as exc:  # a failing model must not block the commit
        failed = ChunkReport(
            chunk.label, ChunkState.FAILED, chunk.ref, seconds=time.monotonic() - started
        )
        result.chunks.append(failed)
        result.incomplete = f"the model failed on {chunk.label}: {exc}"
        return
    report = ChunkReport(chunk.label, ref=chunk.ref, seconds=reply.seconds)
    if reply.stats is not None:
        _take_stats(report, reply.stats)
    result.chunks.append(report)
    if reply.cancelled:
        report.state = _cut_state(reply.stats)
        where = "reading the prompt" if report.state is ChunkState.CUT_READING else "answering"
        if pace.gave_up:
            result.incomplete = f"stopped early (in {chunk.label}, {where}): {pace.gave_up}"
        else:
            result.incomplete = f"timed out after {options.timeout:g} s (in {chunk.label}, {where})"
        return
    parsed = parse_findings(reply.text, request.files, options.limits)
    lines = {chunk.path: len(result.sources.get(chunk.path, []))}
    anchored = anchor_findings(parsed.findings, {chunk.path: chunk.hunks}, lines, chunk.label)
    report.kept, report.dropped, report.invalid = (
        len(anchored.kept),
        len(anchored.dropped),
        parsed.invalid,
    )
    if reply.cut or parsed.truncated:
        result.cut.append(chunk.label)
    result.findings.extend(anchored.kept)
    result.dropped.extend(anchored.dropped)
    result.invalid += parsed.invalid
    if parsed.errors and not parsed.findings and not parsed.invalid and not parsed.truncated:
        result.bad_answers += 1
    result.clamped += anchored.clamped


def _take_stats(report: ChunkReport, stats: GenerationStats) -> None:
    report.prompt_tokens = stats.prompt_tokens
    report.loaded_tokens = stats.loaded_tokens
    report.reused_tokens = stats.reused_tokens
    report.evaluated_tokens = stats.evaluated_tokens
    report.generated_tokens = stats.generated_tokens


def _cut_state(stats: GenerationStats | None) -> ChunkState:
    """Where a cancelled chunk stopped: still reading its prompt, or answering."""
    if stats is None or stats.stop_reason is not StopReason.CANCELLED:
        return ChunkState.CUT_WRITING
    cached = stats.loaded_tokens or stats.reused_tokens
    unread = stats.prompt_tokens - cached - stats.evaluated_tokens
    reading = stats.generated_tokens == 0 and unread > 0
    return ChunkState.CUT_READING if reading else ChunkState.CUT_WRITING
