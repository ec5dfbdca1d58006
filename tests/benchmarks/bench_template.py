"""KV cost of re-rendering history through the model's own template: tokens the
engine must re-evaluate per model call because the new prompt differs from
(previous prompt + generated ids), for each Gemma 4 template variant, thinking
on and off.

The conversation is scripted (the same model output for every variant: a tool
call, then an answer; with thinking on each generation starts with a thought),
and counted on the real Gemma 4 tokenizer; no inference is needed to count
which cached tokens a prompt keeps. The engine re-uses the common prefix of
the new prompt and its cache, so re-evaluated = len(last prompt + generated) -
their common prefix with the new prompt (tokens evaluated before and evaluated
again; new text such as tool results is not counted). `--trace` records the
engine's side as `reused_tokens` and `evaluated_tokens`.

    python -m tests.benchmarks.bench_template [--turns N]

Not collected by pytest (no test_ prefix)."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from assistant.agent.session import Session
from assistant.llm.engine import common_prefix_length
from assistant.llm.llama_tokenizer import LlamaTokenizer
from assistant.protocols.base import ToolResult
from assistant.protocols.gemma4 import Gemma4Protocol
from tests.fixtures.build_models import ensure_models, template_variants
from tests.protocols.tools_fixture import TOOLS

CALL = '<|tool_call>call:read_file{path:<|"|>app.py<|"|>}<tool_call|><|tool_response>'
THOUGHT = "The user wants the main function; I should read app.py first and then answer."
ANSWER = "The main function is defined at line 3 of app.py and prints a greeting.<turn|>"
RESULT = "\n".join(f"{i}| line {i} of app.py" for i in range(1, 40))


def _output(prompt_text: str, body: str, think: bool) -> str:
    if not think:
        return body
    if prompt_text.endswith("<|channel>thought\n"):  # the template opened the thought
        return f"{THOUGHT}<channel|>{body}"
    return f"<|channel>thought\n{THOUGHT}<channel|>{body}"


def measure(proto: Gemma4Protocol, tok: LlamaTokenizer, think: bool, turns: int) -> list[int]:
    session = Session(
        proto, tok, 32768, system="You help.", tools=TOOLS, think=think, repo_context="map"
    )
    cached: list[int] = []
    costs: list[int] = []
    for turn in range(turns):
        session.add_user(f"Where is main? ({turn})")
        for body in (CALL, ANSWER):
            prompt = list(session.ids)
            if cached:  # cached tokens the new prompt no longer matches: evaluated again
                costs.append(len(cached) - common_prefix_length(prompt, cached))
            text = _output(tok.detokenize(prompt), body, think)
            generated = tok.tokenize(text, special=True)
            cached = prompt + generated
            session.add_model(generated, text)
            if body is CALL:
                session.add_tool_results([ToolResult.reply("read_file", RESULT)], generated[-1])
        session.close_turn()
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=4)
    args = parser.parse_args()
    from llama_cpp import Llama

    vocab: Path = ensure_models()["gemma4_vocab"]
    tok = LlamaTokenizer(Llama(str(vocab), vocab_only=True, verbose=False))
    print(f"{args.turns} user turns, each: one tool call, one answer; thought {len(THOUGHT)} chars")
    print(f"{'template':<18} {'thinking':<8} {'per call (mean)':>16} {'max':>5} {'total':>6}")
    for name, source in template_variants(vocab).items():
        proto = Gemma4Protocol(tok, source)
        for think in (False, True):
            costs = measure(proto, tok, think, args.turns)
            print(
                f"{name:<18} {'on' if think else 'off':<8} {statistics.mean(costs):>16.1f} "
                f"{max(costs):>5} {sum(costs):>6}   per call: {costs}"
            )


if __name__ == "__main__":
    main()
