"""Real inference on each tiny Gemma 4 template variant: `ask` and a two-step
`edit` run as subprocesses with `--trace`, and every prompt in the trace is
checked against the variant's template.

The variants come from tests/fixtures/build_models.py, which cites the sources:
the April 26B template (vocab GGUF) writes an empty thought block after the
generation prompt with thinking off; Google's E2B/E4B templates write none
(Gemma 4 model card; ComfyUI PR #15278, Ollama #15536, Ollama PR #15560); the
July 2026 canonical layout writes `<|think|>\\n` and an open thought after a
tool response with thinking on (issue 16)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from assistant.llm.trace import read_trace
from tests.agent.test_cli import run

EMPTY = "<|channel>thought\n<channel|>"
FAST = ["--ctx", "4096", "--temperature", "0", "--max-tokens", "48"]


@pytest.fixture(scope="module")
def vocab(gemma4_vocab_path: Path) -> Any:
    llama_cpp = pytest.importorskip("llama_cpp")
    from assistant.llm.llama_tokenizer import LlamaTokenizer

    return LlamaTokenizer(
        llama_cpp.Llama(model_path=str(gemma4_vocab_path), vocab_only=True, verbose=False)
    )


def _texts(tok: Any, trace: Path) -> list[tuple[str, list[int], list[int], dict[str, Any]]]:
    out = []
    for entry in read_trace(trace):
        prompt = [int(i) for i in entry["prompt_ids"]]  # type: ignore[union-attr]
        generated = [int(i) for i in entry["generated_ids"]]  # type: ignore[union-attr]
        if not generated and prompt and tok.detokenize(prompt).endswith("<turn|>\n"):
            continue  # the warm-up that caches the system turn alone
        out.append((tok.detokenize(prompt), prompt, generated, entry))
    return out


def _check_layout(variant: str, think: bool, text: str) -> None:
    assert text.startswith("<bos><|turn>system\n")
    after_tools = text.endswith("<tool_response|>") or "<tool_response|><|channel>" in text[-40:]
    if variant == "tiny_gemma4" and not think:
        assert text.endswith(EMPTY)
    else:
        assert EMPTY not in text  # the E2B/E4B and July layouts never write it
    if variant == "tiny_gemma4_july" and think:
        assert text.startswith("<bos><|turn>system\n<|think|>\n")
        assert text.endswith("<|turn>model\n") or text.endswith("<|channel>thought\n")
    elif think:
        assert text.startswith("<bos><|turn>system\n<|think|>") and "<|think|>\n" not in text[:40]
    if not (variant == "tiny_gemma4" and not think) and not after_tools:
        assert text.endswith("<|turn>model\n") or text.endswith("<|channel>thought\n")


def _check_history(tok: Any, calls: list[tuple[str, list[int], list[int], dict[str, Any]]]) -> None:
    """Each prompt keeps the previous prompt + its output at least up to where
    the model's turn began: history before it is never laid out anew, so the
    KV cache covers it, and the engine reports re-using it."""
    turn_open = tok.token_id("<|turn>")
    for (_, prompt, generated, _), (_, nxt, _, entry) in itertools.pairwise(calls):
        start = max(i for i, t in enumerate(prompt) if t == turn_open)
        tail = prompt + generated
        n = 0
        while n < min(len(tail), len(nxt)) and tail[n] == nxt[n]:
            n += 1
        assert n > start
        assert int(entry["reused_tokens"]) + int(entry.get("loaded_tokens") or 0) >= start


@pytest.mark.parametrize(
    ("variant", "think"),
    [("tiny_gemma4", False), ("tiny_gemma4_e4b", False), ("tiny_gemma4_july", True)],
)
def test_ask_and_edit_prompts_follow_the_template(
    variant: str, think: bool, test_models: dict[str, Path], demo_repo: Path, vocab: Any
) -> None:
    model = str(test_models[variant])
    think_flag = ["--think"] if think else []
    trace = demo_repo.parent / f"{variant}.jsonl"
    proc = run(
        demo_repo, "ask", "Where is main?", "--json", "--model", model, *FAST,
        "--max-steps", "2", "--trace", str(trace), *think_flag, timeout=400,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    asked = _texts(vocab, trace)
    trace.unlink()
    proc = run(
        demo_repo, "edit", "Rename run to main", "todo/models.py", "--json", "--model", model,
        *FAST, "--max-steps", "2", "--trace", str(trace), *think_flag, timeout=400,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    edited = _texts(vocab, trace)
    # The random model may finish the edit after its first call; each call is checked.
    assert asked and edited
    for calls in (asked, edited):
        for text, *_ in calls:
            _check_layout(variant, think, text)
        _check_history(vocab, calls)
