"""`eval run --tools symbols|basic` on the scripted engine: the E4B-shaped
scripts of tests/eval/symbol_scripts.py through the real harness. Both tool
sets solve the tasks when the calls are right; the symbol tools need fewer
generated tokens (no old text to quote); with the tools off, a symbol call is
not a declared tool and counts as malformed."""

from __future__ import annotations

from assistant.eval.results import summarize
from assistant.eval.suite import load_suite
from assistant.llm.scripted import ScriptedEngine
from tests.eval.symbol_scripts import DONE, EXAMPLES, run, scripts

SUBSET = ("clamp", "rename_helper", "two_files")


def _engine(base: ScriptedEngine) -> ScriptedEngine:
    return ScriptedEngine(
        base.tokenizer, n_ctx=8192, chat_template=base.chat_template, metadata=base.metadata
    )


def test_both_tool_sets_score_and_count_alike_and_symbols_generate_less(
    gemma4_vocab_engine: ScriptedEngine,
) -> None:
    tasks = [t for t in load_suite(EXAMPLES) if t.slug in SUBSET]
    on = run(_engine(gemma4_vocab_engine), True, tasks)
    off = run(_engine(gemma4_vocab_engine), False, tasks)
    for results in (on, off):
        summary = summarize(results)
        assert summary.pass1 == 1.0, [r.tries[0].test_output for r in results]
        assert summary.well_formed_rate == 1.0 and summary.failed_edits == 0
    assert sum(r.tool_calls for r in on) == 1 + 4 + 4
    assert sum(r.tokens_out for r in on) < sum(r.tokens_out for r in off)


def test_symbol_calls_with_the_tools_off_are_not_well_formed(
    gemma4_vocab_engine: ScriptedEngine,
) -> None:
    from assistant.agent.runtime import ModelOptions
    from assistant.config import load_settings
    from assistant.eval.runner import RunConfig, run_task

    [task] = [t for t in load_suite(EXAMPLES) if t.slug == "clamp"]
    engine = _engine(gemma4_vocab_engine)
    symbols, _basic = scripts(task)
    engine.add_text(*(c.text() for c in symbols), DONE, DONE)
    opts = ModelOptions(max_steps=3, max_tokens=512, symbol_tools=False)
    result = run_task(task, engine, load_settings(None, {}), opts, RunConfig(tries=1))  # type: ignore[arg-type]
    [attempt] = result.tries
    assert attempt.tool_calls == 1 and attempt.well_formed == 0
    assert not result.pass1
