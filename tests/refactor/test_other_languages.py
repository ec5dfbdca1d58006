"""`rename` in JavaScript/TypeScript, Go and Rust: the definition from the repo
map's tags, every identifier of that name outside strings and comments, except
inside functions that declare a local of that name."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.refactor.errors import RenameRefused
from tests.refactor.conftest import init_repo, rename_texts

JS = """\
// total helper
export function total(items) {
  return items.reduce((s, x) => s + x, 0);
}
function other() {
  const total = 3;
  return total + 1;
}
const msg = "total";
console.log(total([1, 2]), `${total([3])}`);
"""
TS = 'import { total } from "./a";\nexport const sum: number = total([1]);\n'
GO = """\
package main

// Total adds
func Total(xs []int) int {
\treturn len(xs)
}

func other(Total int) int {
\treturn Total + 1
}

func main() {
\tprintln(Total([]int{1}), "Total")
}
"""
RUST = """\
/// total of it
pub fn total(xs: &[i32]) -> i32 {
    xs.iter().sum()
}
fn other(total: i32) -> i32 {
    total + 1
}
fn main() {
    println!("{}", total(&[1]));
    let s = "total";
}
"""


def test_javascript_and_typescript(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"a.js": JS, "b.ts": TS})
    after, plan = rename_texts(root, "a.js::total", "grand")
    assert after["a.js"] == JS.replace("function total(", "function grand(").replace(
        "console.log(total([1, 2]), `${total([3])}`)", "console.log(grand([1, 2]), `${grand([3])}`)"
    )
    assert after["b.ts"] == TS.replace("total", "grand")
    assert plan.language == "javascript"
    assert any("no type analysis" in note for note in plan.notes)


def test_go(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"m.go": GO})
    after, _ = rename_texts(root, "Total", "Sum")
    assert after["m.go"] == GO.replace("func Total(", "func Sum(").replace(
        "println(Total(", "println(Sum("
    )


def test_rust(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"lib.rs": RUST})
    after, _ = rename_texts(root, "total", "grand")
    assert after["lib.rs"] == RUST.replace("pub fn total(", "pub fn grand(").replace(
        'println!("{}", total(', 'println!("{}", grand('
    )


def test_same_name_in_two_languages_must_be_narrowed(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"a.js": JS, "lib.rs": RUST})
    with pytest.raises(RenameRefused, match="defined in javascript, rust files"):
        rename_texts(root, "total", "grand")
    after, _ = rename_texts(root, "total", "grand", ["lib.rs"])
    assert set(after) == {"lib.rs"}


def test_clash_and_keyword_refused(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"m.go": GO})
    with pytest.raises(RenameRefused, match=r"other already exists at m.go:8"):
        rename_texts(root, "Total", "other")
    with pytest.raises(RenameRefused, match="'func' is a keyword"):
        rename_texts(root, "Total", "func")


def test_same_name_in_python_and_go_must_be_narrowed(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"m.go": GO, "t.py": "def Total():\n    pass\n"})
    with pytest.raises(RenameRefused, match=r"defined in python and go files \(t.py:1"):
        rename_texts(root, "Total", "Sum")
    after, _ = rename_texts(root, "t.py::Total", "Sum")
    assert set(after) == {"t.py"}
