"""A chat template that raises, loops or blows up memory is caught: one clear
line, never a hang, a traceback or an out-of-memory kill. Pure rendering, no model."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.errors import ModelLoadError, UsageError
from assistant.protocols.detect import make_protocol
from assistant.protocols.template import ChatTemplate, Limits, TemplateProblem

USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{{ raise_exception('no system role') }}", "raised: no system role"),
        ("{% for m in messages %}{{ m.content", "does not parse"),
        ("{{ messages[5].content.upper() }}", "failed"),
        ("{{ 'x' * 10**9 }}", "larger than"),
        (
            "{% set ns = namespace(s='xx') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}"
            "{% endfor %}{{ ns.s }}",
            "larger than",
        ),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}",
            "longer than",
        ),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recurses"),
        ("{{ 'a'.ljust(10**10) }}", "larger than"),
        ("{% for i in range(10) %}{{ 'y' * 100000 }}{% endfor %}", "larger than"),
    ],
)
def test_bad_templates_are_one_clear_line(source: str, words: str) -> None:
    start = time.monotonic()
    with pytest.raises(TemplateProblem) as info:
        ChatTemplate(source, limits=Limits(seconds=1.0, max_chars=500_000)).render(USER)
    message = str(info.value)
    assert words in message and "\n" not in message
    assert time.monotonic() - start < 10


def test_a_good_template_renders() -> None:
    template = ChatTemplate("{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}")
    assert template.render(USER) == "[user] hi"


def test_unsafe_attributes_stay_out() -> None:
    with pytest.raises(TemplateProblem):
        ChatTemplate("{{ ''.__class__.__mro__[1].__subclasses__() }}").render(USER)


def test_make_protocol_names_the_problem(gemma4_tokenizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jinja"
    bad.write_text("<|turn><|tool_call><|\"|><|tool_response>{{ raise_exception('nope') }}")
    with pytest.raises(ModelLoadError, match=r"chat template .*bad.jinja: .*raised: nope"):
        make_protocol(gemma4_tokenizer, None, template_path=bad)
    with pytest.raises(UsageError, match="cannot read the chat template"):
        make_protocol(gemma4_tokenizer, None, template_path=tmp_path / "missing.jinja")
