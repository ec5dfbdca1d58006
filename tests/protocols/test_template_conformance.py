"""Conformance: for every Gemma 4 template variant, the ids the session sends
equal the tokenization of the template's own rendering, trust split included.

The reference is independent of `assistant.protocols.template`: the template
is rendered with plain jinja2 (as Hugging Face's `apply_chat_template` does,
trim_blocks/lstrip_blocks) on the real texts. Ours must read as exactly that
text, and its control ids must be exactly the control ids of the reference
tokenized with the untrusted texts as plain text (special=False) and the
template's own text with special=True. The texts are drawn to contain Gemma 4
control strings, so a single untrusted control id would break the equality.

The variants (tests/fixtures/build_models.py) encode published facts: the
April 26B template from the vocab GGUF; E2B/E4B with no empty thought block
(Google's Gemma 4 model card; ComfyUI PR #15278, Ollama #15536, Ollama PR
#15560); the July 2026 canonical layout as issue 16 describes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.events import ToolCall
from assistant.protocols.base import Message, Role, ToolResult
from assistant.protocols.gemma4 import Gemma4Protocol
from assistant.toolspec import ToolSpec
from tests.fixtures.build_models import template_variants
from tests.protocols.test_gemma4_prompt import NESTED, NO_PARAMS
from tests.protocols.tools_fixture import TOOLS

ALL_TOOLS = [*TOOLS, NESTED, NO_PARAMS]
VARIANTS = ("tiny_gemma4", "tiny_gemma4_e4b", "tiny_gemma4_july")
_U = "\x02{}\x03"  # the reference's own markers around untrusted text

WORDS = st.sampled_from(
    [
        *("hello", "x = 1", " ", "\n", "ü€", "{a:b}", "<turn|>", "<|turn>", "<|tool_call>"),
        *('<|"|>', "<tool_response|>", "<|think|>", "<bos>", "<eos>", "call:f{}", "thought\n"),
    ]
)
TEXT = st.lists(WORDS, min_size=1, max_size=6).map("".join)
# The model's own text cannot hold control strings (they would be control ids).
MODEL_TEXT = st.lists(st.sampled_from(["Done", ".", " ok", "\n", "x = 2", "é"]), min_size=1).map(
    "".join
)
KEYS = st.sampled_from(["path", "limit", "mode", "items", "Zeta"])
LEAF = st.one_of(TEXT, st.integers(-5, 10**6), st.booleans(), st.none())
VALUES = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, min_size=1, max_size=3)
    ),
    max_leaves=6,
)
ARGS = st.dictionaries(KEYS, VALUES, max_size=3)


@st.composite
def conversations(draw: Any) -> tuple[list[Message], list[ToolSpec], bool]:
    messages: list[Message] = []
    if draw(st.booleans()):
        messages.append(Message(Role.SYSTEM, draw(TEXT)))
    tools = draw(st.lists(st.sampled_from(ALL_TOOLS), unique_by=lambda t: t.name, max_size=4))
    for _ in range(draw(st.integers(1, 3))):
        messages.append(Message(Role.USER, draw(TEXT)))
        for _ in range(draw(st.integers(0, 2))):  # steps with (parallel) calls
            n = draw(st.integers(1, 3))
            calls = tuple(
                ToolCall(draw(st.sampled_from(["read_file", "search", "f"])), draw(ARGS))
                for _ in range(n)
            )
            results = tuple(
                ToolResult.reply(c.name, draw(st.one_of(TEXT, ARGS)), is_error=draw(st.booleans()))
                for c in calls
            )
            results = tuple(
                r
                if not (r.is_error and not isinstance(r.content, str))
                else ToolResult.reply(r.name, "e")
                for r in results
            )
            thought = draw(st.one_of(st.just(""), MODEL_TEXT))
            messages.append(Message(Role.ASSISTANT, "", calls, results, reasoning=thought.strip()))
        if draw(st.booleans()):
            answer = draw(MODEL_TEXT).strip() or "ok"
            thought = draw(st.one_of(st.just(""), MODEL_TEXT)).strip()
            messages.append(Message(Role.ASSISTANT, answer, reasoning=thought))
    return messages, tools, draw(st.booleans())


def _payload(result: ToolResult) -> Any:
    if result.is_error and isinstance(result.content, str):
        return {"error": result.content}
    return result.content


def _marked(value: Any) -> Any:
    if isinstance(value, str):
        return _U.format(value)
    if isinstance(value, dict):
        return {k: _marked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_marked(v) for v in value]
    return value


def _reference_render(template: str, messages: list[Message], tools: list[ToolSpec], think: bool):  # type: ignore[no-untyped-def]
    """The template's rendering with every untrusted text between markers."""
    out = []
    for m in messages:
        role = "assistant" if m.role is Role.ASSISTANT else m.role.value
        msg: dict[str, Any] = {"role": role, "content": _U.format(m.content.strip())}
        if not m.content.strip():
            msg["content"] = ""
        if m.reasoning:
            msg["reasoning"] = msg["reasoning_content"] = _U.format(m.reasoning)
        if m.tool_calls:
            msg["tool_calls"] = [
                {
                    "type": "function",
                    "function": {"name": c.name, "arguments": _marked(c.arguments)},
                }
                for c in m.tool_calls
            ]
        if m.tool_results:
            msg["tool_responses"] = [
                {"name": r.name, "response": _marked(_payload(r))} for r in m.tool_results
            ]
        out.append(msg)
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    last = messages[-1]
    return env.from_string(template).render(
        messages=out,
        tools=[
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in tools
        ]
        or None,
        add_generation_prompt=last.role is Role.USER or bool(last.tool_results),
        enable_thinking=think,
        bos_token="<bos>",
        eos_token="<eos>",
    )


def _reference_ids(tokenizer: Any, marked: str) -> tuple[str, list[int]]:
    """Plain text of the rendering and its controls: template text with
    special=True, the texts between markers with special=False."""
    text, controls = "", []
    for i, chunk in enumerate(marked.replace("\x03", "\x02").split("\x02")):
        text += chunk
        if i % 2 == 0:
            controls += [
                t for t in tokenizer.tokenize(chunk, special=True) if tokenizer.is_control(t)
            ]
        else:
            assert not any(
                tokenizer.is_control(t) for t in tokenizer.tokenize(chunk, special=False)
            )
    return text, controls


@pytest.fixture(scope="module")
def variants(gemma4_vocab_path: Path, gemma4_tokenizer: Any) -> dict[str, Gemma4Protocol]:
    return {
        name: Gemma4Protocol(gemma4_tokenizer, source)
        for name, source in template_variants(gemma4_vocab_path).items()
    }


@pytest.mark.parametrize("variant", VARIANTS)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=conversations())
def test_ids_equal_the_templates_own_rendering(
    variants: dict[str, Gemma4Protocol], gemma4_tokenizer: Any, variant: str, case: Any
) -> None:
    messages, tools, think = case
    proto = variants[variant]
    tok = gemma4_tokenizer
    # The model's own text goes in as the ids it generated.
    ours_messages = [
        m
        if m.role is not Role.ASSISTANT or not m.content
        else Message(
            m.role,
            m.content,
            m.tool_calls,
            m.tool_results,
            reasoning=m.reasoning,
            content_ids=tuple(tok.tokenize(m.content)),
        )
        for m in messages
    ]
    last = messages[-1]
    gen = last.role is Role.USER or bool(last.tool_results)
    ids = proto.render_messages(ours_messages, tools, think, add_generation_prompt=gen)
    marked = _reference_render(proto.template.source, messages, tools, think)
    text, controls = _reference_ids(tok, marked)
    assert tok.detokenize(ids) == text
    assert [t for t in ids if tok.is_control(t)] == controls


def test_variant_facts(variants: dict[str, Gemma4Protocol]) -> None:
    """What `model info` reports for each variant, found by rendering it."""
    info = {name: p.template_info for name, p in variants.items()}
    assert info["tiny_gemma4"].kind == "April"
    assert "thinking off: empty thought block" in info["tiny_gemma4"].thinking
    assert info["tiny_gemma4_e4b"].kind == "April"
    assert "no empty thought block" in info["tiny_gemma4_e4b"].thinking
    assert info["tiny_gemma4_july"].kind == "July 2026 canonical"
    assert "open thought after a tool response" in info["tiny_gemma4_july"].thinking
    assert "no empty thought block" in info["tiny_gemma4_july"].thinking
