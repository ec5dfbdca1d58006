"""The symbol tools as both protocols declare and constrain them: the real
Toolbox specs, llama.cpp's own grammar sampler over the real Gemma 4 and
SmolLM2 vocabularies. A path that must exist is one of the repository's files;
insert_symbol's position is `after` or `before`; name and source are free text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from assistant.tools.registry import SYMBOL_TOOLS, TOOLS_BY_NAME

from assistant.llm.engine import GeneratedToken
from assistant.protocols import make_protocol
from assistant.protocols.gemma4 import Gemma4Protocol
from assistant.protocols.gemma4_format import Marker, format_call
from assistant.protocols.generic import GenericProtocol
from tests.protocols.grammar_check import GrammarChecker

PATHS = ["shop/cart.py", "README.md"]
SPECS = [TOOLS_BY_NAME[name].spec for name in sorted(SYMBOL_TOOLS)]

GOOD = [
    ("outline", {"path": "shop/cart.py"}),
    ("read_symbol", {"name": "Cart.total"}),
    ("find_references", {"name": "total", "path": "shop"}),
    (
        "replace_symbol",
        {
            "name": "Cart.total",
            "path": "shop/cart.py",
            "new_source": "def total(self):\n    return 1",
        },
    ),
    (
        "insert_symbol",
        {"position": "before", "name": "Cart", "path": "shop/cart.py", "source": "X = 1"},
    ),
]
BAD = [
    ("outline", {"path": "shop/missing.py"}),
    ("replace_symbol", {"name": "f", "path": "nope.py", "new_source": "def f(): pass"}),
    ("insert_symbol", {"position": "inside", "name": "f", "path": "shop/cart.py", "source": "x"}),
    ("replace_symbol", {"name": "f", "path": "shop/cart.py"}),  # new_source missing
]


def test_gemma4_declares_and_constrains_the_symbol_tools(
    gemma4: Gemma4Protocol, gemma4_llama: Any
) -> None:
    from assistant.protocols.base import Message, Role

    prompt = gemma4.tokenizer.detokenize(
        gemma4.render_messages([Message(Role.SYSTEM, "s"), Message(Role.USER, "u")], SPECS, False)
    )
    for name in SYMBOL_TOOLS:
        assert f"declaration:{name}{{" in prompt
    spec = gemma4.grammar(SPECS, "required", existing_paths=PATHS)
    assert spec is not None
    checker = GrammarChecker(gemma4_llama, spec.gbnf)
    end = gemma4.vocab[Marker.RESPONSE_OPEN]
    for name, args in GOOD:
        ids = gemma4.ids(format_call(name, args))
        assert checker.accepts(ids, end_id=end), name
        parser = gemma4.new_parser(SPECS)
        events = [e for i in ids for e in parser.feed(GeneratedToken(i, gemma4.tokenizer.piece(i)))]
        assert [type(e).__name__ for e in events] == ["ToolCall"], events
    for name, args in BAD:
        assert not checker.accepts(gemma4.ids(format_call(name, args)), end_id=end), (name, args)


@pytest.fixture(scope="module")
def smol(smollm2_path: Path) -> Any:
    llama_cpp = pytest.importorskip("llama_cpp")
    return llama_cpp.Llama(model_path=str(smollm2_path), vocab_only=True, verbose=False)


def test_the_generic_protocol_declares_and_constrains_them_too(smol: Any) -> None:
    import json

    from assistant.llm.llama_tokenizer import LlamaTokenizer

    proto = make_protocol(
        LlamaTokenizer(smol), smol.metadata["tokenizer.chat_template"], smol.metadata
    )
    assert isinstance(proto, GenericProtocol)
    spec = proto.grammar(SPECS, "required", existing_paths=PATHS)
    assert spec is not None
    checker = GrammarChecker(smol, spec.gbnf)
    tok = proto.tokenizer

    def text(name: str, args: dict[str, str]) -> list[int]:
        body = json.dumps({"name": name, "arguments": args}, separators=(",", ":"))
        return tok.tokenize(f"<tool_call>\n{body}\n</tool_call>")

    # The grammar lays the keys out sorted, as the Gemma 4 template does.
    for name, args in GOOD:
        assert checker.accepts(text(name, dict(sorted(args.items())))), name
    for name, args in BAD:
        assert not checker.accepts(text(name, dict(sorted(args.items()))), end_id=2), (name, args)
