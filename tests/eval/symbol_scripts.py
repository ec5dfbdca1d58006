"""`examples/evals` replayed by a `ScriptedEngine`: the calls Gemma 4 E4B makes
for each task, once with the symbol tools (`eval run --tools symbols`) and once
without (`--tools basic`), through the real eval harness (`run_task`: fresh
repo, edit plan, agent loop, the task's tests).

Both scripts make the same change with the same new code; they differ in the
calls: with the symbol tools a function is replaced by name
(`replace_symbol`, new code only), without them `edit_file` must quote the old
text. The first call of each script is an edit on a named file, since the edit
plan forces that. The comparison shows what the tool set costs in generated
tokens and calls, and that scoring, call counting and failed-edit counting
work with both; it says nothing of a model's skill (the scripts are right).

Run `python -m tests.eval.symbol_scripts` for the side-by-side table."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.agent.runtime import ModelOptions
from assistant.config import load_settings
from assistant.eval.results import Summary, TaskResult, summarize
from assistant.eval.runner import RunConfig, run_task
from assistant.eval.suite import Task, load_suite
from assistant.llm.scripted import ScriptedEngine
from assistant.repo.symbols import SymbolIndex

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "evals"
DONE = "Done: the change is made.<turn|>"


@dataclass(frozen=True)
class Call:
    tool: str
    args: dict[str, str]

    def text(self) -> str:
        """As E4B writes it (the GGUF template's format_function_call)."""
        body = ",".join(f'{k}:<|"|>{v}<|"|>' for k, v in self.args.items())
        return f"<|tool_call>call:{self.tool}{{{body}}}<tool_call|><|tool_response>"


def _files(task: Task) -> tuple[dict[str, str], dict[str, str]]:
    stub = {f: (task.directory / f).read_text() for f in task.solution}
    ref = {
        f: (task.directory / e).read_text()
        for f, e in zip(task.solution, task.example, strict=True)
    }
    return stub, ref


def _definition(text: str, name: str) -> str:
    index = SymbolIndex(text, "python")
    [symbol] = [s for s in index.symbols if s.qualname == name]
    return text[symbol.start : symbol.end]


def scripts(task: Task) -> tuple[list[Call], list[Call]]:
    """(with symbol tools, without) for one task of examples/evals."""
    stub, ref = _files(task)
    main = task.solution[0]
    old, new = stub[main], ref[main]

    def replace(name: str, file: str = main) -> Call:
        return Call(
            "replace_symbol",
            {"name": name, "path": file, "new_source": _definition(ref[file], name)},
        )

    def edit(name: str, file: str = main) -> Call:
        return Call(
            "edit_file",
            {
                "path": file,
                "old_text": _definition(stub[file], name),
                "new_text": _definition(ref[file], name),
            },
        )

    slug = task.slug
    if slug in ("average", "clamp", "leap", "off_by_one", "reverse_words"):
        name = SymbolIndex(old, "python").symbols[0].qualname
        return [replace(name)], [edit(name)]
    if slug == "word_count":
        imports = "import re\nfrom collections import Counter\n\n\n"
        head = "def count_words(text):"
        add_imports = Call(
            "edit_file", {"path": main, "old_text": head, "new_text": imports + head}
        )
        return [replace("count_words"), add_imports], [edit("count_words"), add_imports]
    if slug == "find_rate":
        # The first (forced) edit uses a name it has not found yet; then search.
        search = Call("search", {"pattern": "VAT_RATE"})
        head = "def price_with_tax(net):"
        add_import = Call(
            "edit_file",
            {
                "path": main,
                "old_text": head,
                "new_text": f"from config.settings import VAT_RATE\n\n\n{head}",
            },
        )
        return [replace("price_with_tax"), search, add_import], [
            edit("price_with_tax"),
            search,
            add_import,
        ]
    if slug == "rename_helper":
        names = ("circle_area", "square_area", "triangle_area")
        helper = Call(
            "insert_symbol",
            {
                "position": "before",
                "name": "circle_area",
                "path": main,
                "source": _definition(new, "_round2"),
            },
        )
        add_helper = Call(
            "edit_file",
            {
                "path": main,
                "old_text": "import math\n",
                "new_text": "import math\n\n\n" + _definition(new, "_round2") + "\n",
            },
        )
        return [helper, *(replace(n) for n in names)], [add_helper, *(edit(n) for n in names)]
    if slug == "two_files":
        greeting, names = task.solution
        title = Call(
            "insert_symbol",
            {
                "position": "after",
                "name": "clean",
                "path": names,
                "source": _definition(ref[names], "title_case"),
            },
        )
        append = Call(
            "edit_file",
            {
                "path": names,
                "old_text": stub[names].rstrip("\n"),
                "new_text": ref[names].rstrip("\n"),
            },
        )
        read_names = Call("read_file", {"path": names})
        imports = Call(
            "edit_file",
            {
                "path": greeting,
                "old_text": "from names import clean",
                "new_text": "from names import title_case",
            },
        )
        return (
            [replace("greet", greeting), imports, read_names, title],
            [edit("greet", greeting), imports, read_names, append],
        )
    if slug == "inventory":
        # A module of functions becomes a class: a rewrite either way.
        rewrite = Call("write_file", {"path": main, "content": new})
        return [rewrite], [rewrite]
    raise KeyError(f"no script for task {slug}")


def run(engine: ScriptedEngine, symbol_tools: bool, tasks: list[Task]) -> list[TaskResult]:
    settings = load_settings(None, {})
    opts = ModelOptions(max_steps=6, max_tokens=1024, symbol_tools=symbol_tools)
    results: list[TaskResult] = []
    for task in tasks:
        on, off = scripts(task)
        engine.add_text(*(c.text() for c in (on if symbol_tools else off)), DONE)
        results.append(run_task(task, engine, settings, opts, RunConfig(tries=1)))  # type: ignore[arg-type]
    return results


def row(name: str, summary: Summary, results: list[TaskResult]) -> str:
    tokens = sum(r.tokens_out for r in results)
    calls = sum(r.tool_calls for r in results)
    return (
        f"{name:<10} pass@1 {summary.pass1 * 100:5.1f}%  well-formed "
        f"{summary.well_formed_rate * 100:5.1f}%  failed edits {summary.failed_edits:>2}  "
        f"calls {calls:>3}  tokens out {tokens:>5}"
    )


def main() -> int:
    from tests.fixtures.build_models import ensure_models

    base = ScriptedEngine.from_vocab(ensure_models()["gemma4_vocab"])
    tasks = load_suite(EXAMPLES)
    lines = []
    for name, flag in (("symbols", True), ("basic", False)):
        engine = ScriptedEngine(
            base.tokenizer, n_ctx=8192, chat_template=base.chat_template, metadata=base.metadata
        )
        results = run(engine, flag, tasks)
        lines.append(row(name, summarize(results), results))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
