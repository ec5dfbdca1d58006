"""In-process llama.cpp engine: load a GGUF, evaluate prompts with KV-cache
re-use, stream generated token ids.

The engine knows nothing of chat formats or tools. It keeps the token sequence
its KV cache holds; each call evaluates only the part of the prompt that is not
already there (or not restorable from the disk prefix cache)."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import time
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from assistant.errors import ModelLoadError, ModelNotFoundError
from assistant.llm import hardware
from assistant.llm.engine import (
    CancelToken,
    GeneratedToken,
    GenerationRequest,
    GenerationStats,
    StopReason,
    TokenStops,
    check_prompt,
    common_prefix_length,
)
from assistant.llm.hardware import LoadPlan, ThreadGovernor

# EngineConfig and physical_cores live in load_params.py (light to import,
# for `config show`) and stay importable from here.
from assistant.llm.load_params import EngineConfig, physical_cores, resolve_config
from assistant.llm.prefix_cache import PrefixCache
from assistant.llm.sampling import Sampler
from assistant.llm.trace import TraceWriter

if TYPE_CHECKING:  # imports llama_cpp, which the engine loads lazily
    from assistant.llm.llama_tokenizer import LlamaTokenizer

GGUF_MAGIC = b"GGUF"
_WEIGHT_BUFFER = re.compile(r"(\S+) model buffer size\s*=")
KV_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}  # ggml_type ids


class _LlamaLog:
    """Routes llama.cpp's own log: silent unless verbose, last lines kept so a
    load failure can say what llama.cpp said."""

    lines: ClassVar[deque[str]] = deque(maxlen=50)
    # "<buffer type> model buffer size = …" lines of the last load: where the
    # weights went (CPU_Mapped, CPU_REPACK, AMX…); kept apart, the ring above
    # is long gone past them once the context is made.
    weight_buffers: ClassVar[list[str]] = []
    verbose: ClassVar[bool] = False
    _installed: ClassVar[Any] = None

    @classmethod
    def install(cls, verbose: bool) -> None:
        import llama_cpp

        cls.verbose = verbose
        if cls._installed is not None:
            return

        @llama_cpp.llama_log_callback
        def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            line = text.decode("utf-8", errors="replace")
            cls.lines.append(line)
            match = _WEIGHT_BUFFER.search(line)
            if match and match.group(1) not in cls.weight_buffers:
                cls.weight_buffers.append(match.group(1))
            if cls.verbose:
                os.write(2, text)

        cls._installed = callback  # keep the ctypes callback alive
        llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))

    @classmethod
    def last_error(cls) -> str:
        for line in reversed(cls.lines):
            text = line.strip()
            if text and ("error" in text.lower() or "failed" in text.lower()):
                return text
        return ""


def check_gguf_file(path: Path) -> None:
    """Fail with one clear line before llama.cpp gets a file it would choke on."""
    if not path.exists():
        raise ModelNotFoundError(
            f"model file not found: {path}. Run `assistant model pull` or pass --model PATH."
        )
    if not path.is_file():
        raise ModelLoadError(f"model path is not a file: {path}")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelLoadError(f"{path} is not a GGUF model file (bad magic {magic!r})")
    from assistant.llm.gguf import read_gguf_info

    read_gguf_info(path)  # a truncated or corrupt header: one line, before llama.cpp


def model_identity(path: Path) -> str:
    """Stable id of a model file for cache keys: size, mtime and a hash of its head."""
    stat = path.stat()
    with open(path, "rb") as fh:
        head = hashlib.sha256(fh.read(1 << 20)).hexdigest()[:16]
    return f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}:{head}"


class LlamaEngine:
    def __init__(
        self,
        llama: Any,
        path: Path,
        config: EngineConfig,
        trace: TraceWriter | None,
        load_plan: LoadPlan,
        governor: ThreadGovernor,
        threads: int,
    ):
        from assistant.llm.llama_tokenizer import LlamaTokenizer

        self._llama = llama
        self.path = path
        self.config = config
        self.trace = trace
        self.load_plan = load_plan
        self._governor = governor
        self.threads = threads  # what llama.cpp computes with now
        self.weight_buffers: tuple[str, ...] = ()  # where llama.cpp put the weights
        self._decoded = False  # whether a first decode has completed
        self._tokenizer = LlamaTokenizer(llama)
        self._stats = GenerationStats()
        self._cancel: CancelToken | None = None
        self._abort_cb = self._install_abort_callback()
        self._prefix_cache: PrefixCache | None = None
        # The shortest length the KV cache can be cut back to and stay correct.
        # A state loaded from disk holds only the sliding-window layers' last
        # n_swa cells (llama.cpp's per-sequence state_write drops the cells the
        # next token cannot see, even with swa_full; llama.cpp #25295), so
        # cutting it back further would leave those layers blind to part of
        # their window. Below this point the engine evaluates again.
        self._keep_at_least = 0
        self._n_swa = _n_swa(llama)
        if config.prefix_cache_dir is not None:
            namespace = f"{model_identity(path)}|ctx={self.n_ctx}|kv={config.kv_type}|fa={config.flash_attn}"
            self._prefix_cache = PrefixCache(
                config.prefix_cache_dir, namespace, config.prefix_cache_max_bytes
            )

    # -- loading ---------------------------------------------------------------
    @classmethod
    def load(
        cls, path: Path, config: EngineConfig | None = None, trace: TraceWriter | None = None
    ) -> LlamaEngine:
        config = config or EngineConfig()
        path = path.expanduser()
        check_gguf_file(path)
        _LlamaLog.install(config.verbose)
        import llama_cpp

        plan = hardware.plan_load(hardware.cpu_report(), config.extra_buffers)
        # threads follow the free cores unless the user set them (llm/hardware.py)
        governor = ThreadGovernor(hardware.default_cores(), config.n_threads)
        used = resolve_config(config, path)  # its thread count is the governor's rule, read now
        n_threads, n_ctx = used.n_threads or 1, used.n_ctx
        kwargs: dict[str, Any] = {}
        if used.kv_type != "f16":
            if used.kv_type not in KV_TYPES:
                raise ModelLoadError(
                    f"unknown KV cache type {used.kv_type!r}; use one of {', '.join(KV_TYPES)}"
                )
            kwargs["type_k"] = kwargs["type_v"] = KV_TYPES[str(used.kv_type)]
        flash_attn = used.flash_attn
        _LlamaLog.lines.clear()
        _LlamaLog.weight_buffers.clear()
        try:
            with hardware.model_params_for(plan):
                llama = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_batch=min(config.n_batch, n_ctx),
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    use_mmap=True,
                    flash_attn=flash_attn,
                    swa_full=True,  # keep full KV so a shorter prefix can always be re-used
                    seed=config.seed,
                    verbose=config.verbose,
                    **kwargs,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            detail = _LlamaLog.last_error() or str(exc)
            if "context" in str(exc).lower():
                raise ModelLoadError(
                    f"cannot create a {n_ctx}-token context for {path.name} ({detail}); "
                    "lower it with --ctx"
                ) from exc
            raise ModelLoadError(f"cannot load {path}: {detail}") from exc
        engine = cls(llama, path, replace(config, n_ctx=n_ctx), trace, plan, governor, n_threads)
        engine.weight_buffers = tuple(_LlamaLog.weight_buffers)
        return engine

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._llama.close()

    # -- properties --------------------------------------------------------------
    @property
    def tokenizer(self) -> LlamaTokenizer:
        return self._tokenizer

    @property
    def n_ctx(self) -> int:
        return int(self._llama.n_ctx())

    @property
    def chat_template(self) -> str | None:
        value = self._llama.metadata.get("tokenizer.chat_template")
        return str(value) if value else None

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self._llama.metadata)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def description(self) -> str:
        return f"{self.path} · context {self.n_ctx:,} tokens · {self.threads} threads"

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    @property
    def cached_tokens(self) -> list[int]:
        """The token sequence the KV cache holds now."""
        return [int(t) for t in self._llama.input_ids[: self._llama.n_tokens]]

    def last_logits(self) -> Any:
        """A copy of the logits the last evaluation left for sampling (a numpy
        array over the vocabulary); for tests that compare evaluations."""
        import llama_cpp
        import numpy as np

        row = llama_cpp.llama_get_logits_ith(self._llama._ctx.ctx, -1)
        return np.ctypeslib.as_array(row, shape=(int(self._llama.n_vocab()),)).copy()

    def reset(self) -> None:
        """Forget the KV cache: the next prompt is evaluated from its first token."""
        self._truncate(0)

    # -- evaluation -----------------------------------------------------------------
    def _install_abort_callback(self) -> Any:
        import llama_cpp

        def should_abort(_data: ctypes.c_void_p) -> bool:
            return bool(self._cancel is not None and self._cancel.cancelled)

        return llama_cpp.ggml_abort_callback(should_abort)

    def _abortable(self, enabled: bool) -> None:
        """ggml asks the abort callback at every graph node. That is worth it
        while a long prompt evaluates (Ctrl-C stops it mid-batch), but a Python
        call per node costs ~5% of token generation, where cancel is checked
        between tokens anyway."""
        import llama_cpp

        callback = self._abort_cb if enabled else llama_cpp.ggml_abort_callback()  # NULL
        llama_cpp.llama_set_abort_callback(self._llama._ctx.ctx, callback, None)

    def _follow_load(self) -> None:
        """Compute with as many threads as there are free cores now (llm/hardware.py)."""
        import llama_cpp

        threads = self._governor.threads_now()
        if threads != self.threads:
            llama_cpp.llama_set_n_threads(self._llama._ctx.ctx, threads, threads)
            self.threads = threads

    def _truncate(self, n: int) -> None:
        llama = self._llama
        if 0 < n < self._keep_at_least:
            n = 0
        if n < llama.n_tokens and not llama._ctx.kv_cache_seq_rm(-1, n, -1):
            llama._ctx.kv_cache_seq_rm(-1, 0, -1)
            n = 0
        llama.n_tokens = min(n, llama.n_tokens)
        if llama.n_tokens == 0:
            self._keep_at_least = 0

    def _common_prefix(self, prompt: list[int]) -> int:
        """How much of `prompt` the KV cache holds and can keep (0 when the
        prompt parts from it where the cache cannot be cut back to)."""
        n = common_prefix_length(self._llama.input_ids[: self._llama.n_tokens], prompt)
        return n if n >= self._keep_at_least else 0

    def _restore_from_disk(self, prompt: list[int], have: int) -> int:
        if self._prefix_cache is None:
            return have
        entry = self._prefix_cache.lookup(prompt, longer_than=have)
        if entry is None:
            return have
        import llama_cpp

        llama = self._llama
        self._truncate(0)
        out = (llama_cpp.llama_token * entry.n_tokens)()
        n_out = ctypes.c_size_t(0)
        path = str(self._prefix_cache.directory / entry.file).encode()
        read = llama_cpp.llama_state_seq_load_file(
            llama._ctx.ctx, path, 0, out, entry.n_tokens, ctypes.byref(n_out)
        )
        if read == 0 or n_out.value != entry.n_tokens or list(out) != prompt[: entry.n_tokens]:
            llama._ctx.kv_cache_seq_rm(-1, 0, -1)
            llama.n_tokens = 0
            return 0
        llama.input_ids[: entry.n_tokens] = prompt[: entry.n_tokens]
        llama.n_tokens = entry.n_tokens
        if self._n_swa > 0:
            # Cutting back to n_tokens - 1 (to re-evaluate the last token) is
            # still safe: that token's window is all in the saved cells.
            self._keep_at_least = entry.n_tokens - 1
        self._stats.loaded_tokens = entry.n_tokens
        return entry.n_tokens

    def _save_to_disk(self, prefix: list[int]) -> None:
        if self._prefix_cache is None or self._prefix_cache.contains(prefix):
            return
        import llama_cpp

        target = self._prefix_cache.path_for(prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tokens = (llama_cpp.llama_token * len(prefix))(*prefix)
        ok = llama_cpp.llama_state_seq_save_file(
            self._llama._ctx.ctx, str(tmp).encode(), 0, tokens, len(prefix)
        )
        if ok:
            os.replace(tmp, target)
            self._prefix_cache.add(prefix, target)
        else:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _eval(self, tokens: list[int], progress: _EvalProgress | None = None) -> None:
        if not tokens:
            return
        if progress is None:
            self._llama.eval(tokens)
            return
        # llama.cpp evaluates n_batch tokens at a time anyway: hand it one batch
        # per call so that the caller hears after each one.
        step = max(1, int(self._llama.n_batch))
        for start in range(0, len(tokens), step):
            batch = tokens[start : start + step]
            self._llama.eval(batch)
            progress.advance(len(batch))

    def _evaluate_prompt(self, request: GenerationRequest) -> None:
        prompt = list(request.prompt)
        have = self._common_prefix(prompt)
        self._stats.reused_tokens = have
        have = self._restore_from_disk(prompt, have)
        if have == len(prompt):
            have -= 1  # the last prompt token must be evaluated again for fresh logits
            self._stats.reused_tokens = min(self._stats.reused_tokens, have)
            if self._stats.loaded_tokens:
                self._stats.loaded_tokens = have
        self._truncate(have)
        progress = (
            _EvalProgress(request.on_progress, len(prompt) - have)
            if request.on_progress is not None
            else None
        )
        boundary = request.cache_boundary
        if boundary is not None and have < boundary <= len(prompt) - 1:
            self._eval(prompt[have:boundary], progress)
            self._save_to_disk(prompt[:boundary])
            have = boundary
        self._eval(prompt[have:], progress)
        self._stats.evaluated_tokens = len(prompt) - (
            self._stats.loaded_tokens or self._stats.reused_tokens
        )
        if boundary is not None and boundary == len(prompt):
            self._save_to_disk(prompt)

    def generate(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Generator[GeneratedToken, None, None]:
        llama = self._llama
        prompt = list(request.prompt)
        self._stats = GenerationStats(prompt_tokens=len(prompt))
        self._cancel = cancel
        check_prompt(prompt, self.n_ctx)
        generated: list[int] = []
        reason = StopReason.MAX_TOKENS
        sampler: Sampler | None = None
        try:
            start = time.perf_counter()
            self._follow_load()
            self._abortable(True)
            marker = None if self._decoded else self.config.first_decode_marker
            if marker is not None:
                buffers = ", ".join(self.weight_buffers) or "CPU"
                hardware.mark_first_decode(
                    marker, hardware.FirstDecode(os.getpid(), self.path.name, buffers)
                )
            try:
                self._evaluate_prompt(request)
            except RuntimeError:
                if cancel is not None and cancel.cancelled:
                    self._truncate(llama.n_tokens)
                    # The batches evaluated before the cut count (a review cut by its
                    # timeout reports them, and so does the trace).
                    self._stats.evaluated_tokens = max(
                        0, llama.n_tokens - (self._stats.loaded_tokens or self._stats.reused_tokens)
                    )
                    reason = StopReason.CANCELLED
                    return
                raise
            finally:
                self._abortable(False)
                if marker is not None:
                    hardware.clear_first_decode(marker)
            self._decoded = True
            self._stats.prompt_eval_ms = (time.perf_counter() - start) * 1000
            seed = request.sampling.seed if request.sampling.seed is not None else self.config.seed
            sampler = Sampler(llama, request.sampling, request.grammar, seed, self._tokenizer.piece)
            gen_start = time.perf_counter()
            stops = TokenStops(request, self._tokenizer.eos_ids, self.n_ctx, self._stats)
            while len(generated) < stops.budget:
                if cancel is not None and cancel.cancelled:
                    reason = StopReason.CANCELLED
                    break
                token = sampler.sample()
                generated.append(token)
                yield GeneratedToken(token, self._tokenizer.piece(token))
                stop = stops.after(token)
                if stop is not None:
                    reason = stop
                    break
                if len(generated) % self._governor.recheck == 0:
                    self._follow_load()
                try:
                    llama.eval([token])
                except RuntimeError:
                    if cancel is not None and cancel.cancelled:
                        reason = StopReason.CANCELLED
                        break
                    raise
            self._stats.generation_ms = (time.perf_counter() - gen_start) * 1000
        except GeneratorExit:
            reason = StopReason.END_OF_TURN  # the caller saw the turn end (Engine.generate)
            raise
        finally:
            if sampler is not None:
                sampler.close()
            self._stats.generated_tokens = len(generated)
            self._stats.stop_reason = reason
            self._cancel = None
            if self.trace is not None:
                self.trace.record(
                    model=self.name, prompt=prompt, generated=generated, stats=self._stats
                )


@dataclass
class _EvalProgress:
    """Counts evaluated prompt tokens for `GenerationRequest.on_progress`."""

    report: Callable[[int, int], None]
    total: int
    done: int = 0

    def advance(self, n: int) -> None:
        self.done += n
        self.report(self.done, self.total)


def _n_swa(llama: Any) -> int:
    """The model's sliding window (0: none)."""
    import llama_cpp

    try:
        return int(llama_cpp.llama_model_n_swa(llama._model.model))
    except (AttributeError, TypeError):
        return 1  # unknown: assume a window, which only costs re-evaluation


__all__ = ["EngineConfig", "LlamaEngine", "physical_cores", "resolve_config"]
