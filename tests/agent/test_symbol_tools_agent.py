"""The symbol tools through the real agent loop: a `ScriptedEngine` replaying
the calls Gemma 4 E4B writes (exact ids of the Gemma 4 call syntax over the
real tokenizer: multi-line source in `<|"|>` strings, a method sent dedented),
and the tiny random Gemma 4 under the grammar, whose calls must be well formed
(declared names, required keys, paths that exist). Undo after replace_symbol
restores the file's bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from assistant.tools.approval import ApprovalPolicy

from assistant.agent.loop import AgentConfig, ToolStep, edit_plan
from assistant.events import Outcome, ToolCall, ToolCallError, ToolFinished
from assistant.llm.engine import SamplingParams
from assistant.llm.scripted import ScriptedEngine
from assistant.protocols import GrammarOptions, ToolChoice, ToolChoiceMode
from tests.agent.conftest import Recorder, build_agent, make_repo


def call(tool: str, **args: str) -> str:
    """A Gemma 4 tool call as E4B writes it (as tests.agent.conftest.call, whose
    first parameter is named `name`, which these tools take as an argument)."""
    body = ",".join(f'{k}:<|"|>{v}<|"|>' for k, v in args.items())
    return f"<|tool_call>call:{tool}{{{body}}}<tool_call|><|tool_response>"


GREEDY = SamplingParams(temperature=0.0)
REQUIRED = ToolChoice(ToolChoiceMode.REQUIRED)
CART = (
    "class Cart:\n"
    "    def __init__(self):\n"
    "        self.items = []\n"
    "\n"
    "    def total(self):\n"
    "        return 0\n"
    "\n"
    "\n"
    "def main():\n"
    '    print("total", Cart().total())\n'
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"shop/cart.py": CART, "shop/__init__.py": ""})


def config(**kw: object) -> AgentConfig:
    base: dict[str, object] = {
        "max_steps": 6,
        "max_tokens": 256,
        "sampling": GREEDY,
        "grammar_options": GrammarOptions(max_string_tokens=200, max_array_items=4),
    }
    return AgentConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_scripted_e4b_calls_outline_read_replace_insert_and_undo(
    scripted: ScriptedEngine, repo: Path
) -> None:
    path = repo / "shop/cart.py"
    before = path.read_bytes()
    scripted.add_text(
        call("outline", path="shop/cart.py"),
        call("read_symbol", name="Cart.total", path="shop/cart.py"),
        # E4B sends the method dedented, as a standalone def.
        call(
            "replace_symbol",
            name="Cart.total",
            path="shop/cart.py",
            new_source="def total(self):\n    return sum(self.items)\n",
        ),
        call(
            "insert_symbol",
            position="after",
            name="Cart.total",
            path="shop/cart.py",
            source="def add(self, item):\n    self.items.append(item)",
        ),
        call("find_references", name="total"),
        "Cart.total now sums the items, and Cart.add adds one.<turn|>",
    )
    agent = build_agent(scripted, repo, config(), policy=ApprovalPolicy.AUTO_EDIT, mode="edit")
    events = Recorder()
    result = agent.run("Make Cart.total sum the items and add Cart.add.", events)

    assert result.outcome is Outcome.DONE and not events.of(ToolCallError)
    finished = events.of(ToolFinished)
    assert [(f.name, f.ok) for f in finished] == [
        ("outline", True),
        ("read_symbol", True),
        ("replace_symbol", True),
        ("insert_symbol", True),
        ("find_references", True),
    ], [f.text for f in finished]
    assert " 5-6    method Cart.total: def total(self)" in finished[0].text
    assert "6|         return 0" in finished[1].text
    assert finished[2].diff and "+        return sum(self.items)" in finished[2].diff
    assert path.read_text() == CART.replace(
        "    def total(self):\n        return 0\n",
        "    def total(self):\n        return sum(self.items)\n\n"
        "    def add(self, item):\n        self.items.append(item)\n",
    )
    refs = finished[4].text
    assert "shop/cart.py:5: def total(self):  [definition: method Cart.total]" in refs
    assert 'shop/cart.py:13: print("total", Cart().total())' in refs
    assert len(refs.splitlines()) == 3  # the string "total" is not a use

    # The tool results went back to the model in the conversation.
    last_prompt = scripted.tokenizer.detokenize(list(scripted.requests[-1].prompt))
    assert "ok: replaced method Cart.total in shop/cart.py" in last_prompt

    # Each change is one journal entry; undo restores the exact bytes.
    outcomes = agent.toolbox.undo(2)
    assert all(o.reverted for o in outcomes) and path.read_bytes() == before


def test_scripted_refusals_reach_the_model_and_change_nothing(
    scripted: ScriptedEngine, repo: Path
) -> None:
    path = repo / "shop/cart.py"
    before = path.read_bytes()
    scripted.add_text(
        call("read_file", path="shop/cart.py"),
        call(
            "replace_symbol",
            name="total",
            path="shop/cart.py",
            new_source="def total(self):\n    return 1\ndef extra(self):\n    return 2",
        ),
        call("replace_symbol", name="totl", path="shop/cart.py", new_source="def totl(): pass"),
        "I could not make the change.<turn|>",
    )
    agent = build_agent(scripted, repo, config(), policy=ApprovalPolicy.AUTO_EDIT, mode="edit")
    events = Recorder()
    agent.run("Change total.", events)
    finished = events.of(ToolFinished)
    assert [(f.name, f.ok) for f in finished] == [
        ("read_file", True),
        ("replace_symbol", False),
        ("replace_symbol", False),
    ]
    assert "holds 2 definitions (Cart.total, Cart.extra)" in finished[1].text
    assert "no definition named 'totl'" in finished[2].text
    assert "shop/cart.py:5: method Cart.total" in finished[2].text
    assert path.read_bytes() == before
    assert agent.toolbox.journal.entries() == []


def test_the_edit_plan_offers_the_symbol_tools_on_the_named_files(
    scripted: ScriptedEngine, repo: Path
) -> None:
    scripted.add_text(
        call(
            "replace_symbol",
            name="Cart.total",
            path="shop/cart.py",
            new_source="    def total(self):\n        return len(self.items)\n",
        ),
        "Done.<turn|>",
    )
    agent = build_agent(scripted, repo, config(), policy=ApprovalPolicy.AUTO_EDIT, mode="edit")
    agent.toolbox.call("read_file", {"path": "shop/cart.py"})
    result = agent.run("Count the items.", Recorder(), edit_plan(["shop/cart.py"]))
    assert result.outcome is Outcome.DONE
    assert "return len(self.items)" in (repo / "shop/cart.py").read_text()
    forced = scripted.requests[0].grammar
    assert forced is not None
    for rule in ("call-edit-file", "call-replace-symbol", "call-insert-symbol"):
        assert rule in forced.gbnf
    # Paths are restricted to the named file; insert_symbol's position to its two values.
    assert '"shop/cart.py"' in forced.gbnf and '"shop/__init__.py"' not in forced.gbnf
    assert '"after"' in forced.gbnf and '"before"' in forced.gbnf


def test_tools_off_leaves_them_out_of_the_declarations_and_the_grammar(
    scripted: ScriptedEngine, repo: Path
) -> None:
    from assistant.tools.registry import Toolbox

    from assistant.agent.context import system_text

    on = Toolbox(repo, ApprovalPolicy.AUTO_EDIT)
    off = Toolbox(repo, ApprovalPolicy.AUTO_EDIT, symbol_tools=False)
    assert "replace_symbol" in system_text("edit", repo, [s.name for s in on.specs()])
    assert "replace_symbol" not in system_text("edit", repo, [s.name for s in off.specs()])
    assert {s.name for s in on.specs()} - {s.name for s in off.specs()} == {
        "outline",
        "read_symbol",
        "find_references",
        "replace_symbol",
        "insert_symbol",
    }


# ---------------------------------------------------------------- real inference


def _forced(*tools: str) -> ToolStep:
    return ToolStep(REQUIRED, tools=tools, required_only=True, single_call=True)


def test_tiny_gemma4_makes_well_formed_symbol_calls_under_the_grammar(
    gemma_engine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    root = make_repo(tmp_path / "repo", {"shop/cart.py": CART, "shop/util.py": "X = 1\n"})
    before = {p: (root / p).read_bytes() for p in ("shop/cart.py", "shop/util.py")}
    cfg = AgentConfig(
        max_steps=4,
        max_tokens=128,
        sampling=GREEDY,
        plan=(
            _forced("outline"),
            _forced("read_symbol"),
            _forced("replace_symbol"),
            _forced("insert_symbol"),
        ),
        grammar_options=GrammarOptions(max_string_tokens=6, max_array_items=2),
    )
    agent = build_agent(gemma_engine, root, cfg, policy=ApprovalPolicy.AUTO_EDIT, mode="edit")
    agent.toolbox.call("read_file", {"path": "shop/cart.py"})
    agent.toolbox.call("read_file", {"path": "shop/util.py"})
    events = Recorder()
    result = agent.run("Improve Cart.total.", events)

    assert not events.of(ToolCallError)  # every call parsed and validated
    calls = events.of(ToolCall)
    assert [c.name for c in calls] == ["outline", "read_symbol", "replace_symbol", "insert_symbol"]
    assert result.outcome is Outcome.STEP_LIMIT
    # Paths that must exist are existing files: outline always succeeds.
    assert calls[0].arguments["path"] in before
    finished = events.of(ToolFinished)
    assert finished[0].ok and finished[0].text.startswith(calls[0].arguments["path"])
    assert calls[2].arguments["path"] in before and calls[3].arguments["path"] in before
    assert calls[3].arguments["position"] in ("after", "before")
    # Noise is refused with a reason and changes nothing, or is a valid definition.
    for done in finished[2:]:
        if not done.ok:
            assert done.text.startswith("error: ")
    if not any(f.ok for f in finished[2:]):
        assert {p: (root / p).read_bytes() for p in before} == before
