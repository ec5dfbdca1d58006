"""The symbol tools (outline, read_symbol, find_references, replace_symbol,
insert_symbol) on real files in real git repositories: what they find, what
they change, and every refusal (ambiguous or absent names, new source that is
not exactly one definition of the right kind, a syntax error, a symlink out of
the repository, binary, non-UTF-8, huge and unparsable files). Undo after a
symbol edit restores the exact bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from assistant.tools.approval import ApprovalPolicy
from assistant.tools.registry import SYMBOL_TOOLS, TOOLS_BY_NAME, Toolbox
from assistant.tools.sandbox import MAX_FILE_BYTES

from assistant.repo.symbols import SymbolIndex
from assistant.toolspec import EXISTING_PATH_KEY
from tests.tools.conftest import MakeToolbox, init_repo

CART = '''import functools


class Cart:
    """A cart; total is its sum."""

    def __init__(self):
        self.items = []

    @property
    def total(self) -> int:
        return sum(self.items)

    @total.setter
    def total(self, value):
        raise AttributeError("total is read-only")

    class Line:
        def total(self):
            return 0

    def add(self, x):
        self.items.append(x)


@functools.cache
def helper(x):
    def inner(y):
        return y * 2

    return inner(x)  # helper is called here


def total(items):
    return sum(items)
'''


@pytest.fixture
def sym_repo(tmp_path: Path) -> Path:
    return init_repo(
        tmp_path / "sym",
        {
            "shop/cart.py": CART,
            "shop/use.py": (
                "from shop.cart import Cart, helper\n\n\n"
                "def report(cart):\n"
                '    print("total:", cart.total)  # the total of the cart\n'
                "    return helper(cart.total)\n"
            ),
            "web/cart.js": (
                "export class Cart {\n  total() {\n    return 1;\n  }\n}\nconst helper = () => 2;\n"
            ),
            "go/cart.go": (
                "package cart\n\n"
                "type Cart struct{ n int }\n\n"
                "func (c *Cart) Total() int {\n"
                "\treturn c.n\n"
                "}\n"
            ),
            "rs/lib.rs": (
                "pub struct Cart;\n\n"
                "impl Cart {\n"
                "    #[inline]\n"
                "    pub fn total(&self) -> i32 {\n"
                "        1\n"
                "    }\n"
                "}\n"
            ),
            "java/Cart.java": (
                "class Cart {\n    @Override\n    public int total() { return 1; }\n}\n"
            ),
            "notes.txt": "total total total\n",
        },
    )


@pytest.fixture
def tb(make_toolbox: MakeToolbox, sym_repo: Path) -> Toolbox:
    return make_toolbox(root=sym_repo)


def ok(toolbox: Toolbox, tool: str, **args: object) -> str:
    result = toolbox.call(tool, args)
    assert result.ok, result.text
    return result.text


def refused(toolbox: Toolbox, tool: str, **args: object) -> str:
    result = toolbox.call(tool, args)
    assert not result.ok, result.text
    assert result.text.startswith("error: ")
    return result.text


# ---------------------------------------------------------------- the index


def test_the_index_gives_qualified_names_kinds_and_spans_with_decorators() -> None:
    index = SymbolIndex(CART, "python")
    rows = [(s.kind, s.qualname, s.line, s.end_line) for s in index.symbols]
    assert rows == [
        ("class", "Cart", 4, 23),
        ("method", "Cart.__init__", 7, 8),
        ("method", "Cart.total", 10, 12),  # from the decorator
        ("method", "Cart.total", 14, 16),
        ("class", "Cart.Line", 18, 20),
        ("method", "Cart.Line.total", 19, 20),
        ("method", "Cart.add", 22, 23),
        ("function", "helper", 26, 31),
        ("function", "helper.inner", 28, 29),
        ("function", "total", 34, 35),
    ]
    first = index.symbols[2]
    assert CART[first.start :].startswith("@property") and CART[: first.end].endswith(
        "sum(self.items)"
    )
    assert index.indent_of(first) == "    "
    # An exact qualified name wins; a last part names all that end with it.
    assert [s.line for s in index.lookup("total")] == [34]
    assert [s.qualname for s in index.lookup("Line.total")] == ["Cart.Line.total"]
    assert [s.line for s in index.lookup("Cart.total")] == [10, 14]
    assert [s.line for s in index.lookup("Cart.total:15")] == [14]
    assert index.lookup("absent") == []


@pytest.mark.parametrize(
    ("lang", "code", "expected"),
    [
        (
            "go",
            "package m\ntype Cart struct{}\nfunc (c *Cart) Total() int { return 1 }\n",
            [("type", "Cart", "type Cart struct{}"), ("method", "Cart.Total", "func (c *Cart)")],
        ),
        (
            "rust",
            "struct Cart;\nimpl Cart {\n    #[inline]\n    fn total(&self) -> i32 { 1 }\n}\n",
            [("class", "Cart", "struct Cart;"), ("method", "Cart.total", "#[inline]")],
        ),
        (
            "javascript",
            "class Cart {\n  total() { return 1; }\n}\nconst f = () => 2;\n",
            [
                ("class", "Cart", "class Cart"),
                ("method", "Cart.total", "total()"),
                ("function", "f", "const f = () => 2;"),
            ],
        ),
        (
            "typescript",
            "interface Shape { area(): number }\nclass Sq implements Shape {\n  area(): number { return 1 }\n}\n",
            [
                ("interface", "Shape", "interface Shape"),
                ("method", "Shape.area", "area(): number"),
                ("class", "Sq", "class Sq"),
                ("method", "Sq.area", "area(): number {"),
            ],
        ),
        (
            "java",
            "class Cart {\n  @Override\n  public int total() { return 1; }\n}\n",
            [("class", "Cart", "class Cart"), ("method", "Cart.total", "@Override")],
        ),
    ],
)
def test_other_languages_through_their_tag_queries(
    lang: str, code: str, expected: list[tuple[str, str, str]]
) -> None:
    index = SymbolIndex(code, lang)
    got = [(s.kind, s.qualname, code[s.start : s.end]) for s in index.symbols]
    assert [(k, q) for k, q, _ in got] == [(k, q) for k, q, _ in expected], got
    for (_, _, text), (_, _, start) in zip(got, expected, strict=True):
        assert text.startswith(start), (text, start)


# ---------------------------------------------------------------- declarations


def test_the_tools_are_declared_with_existing_path_where_a_file_must_exist() -> None:
    for name in ("outline", "replace_symbol", "insert_symbol"):
        props = TOOLS_BY_NAME[name].spec.parameters["properties"]
        assert props["path"].get(EXISTING_PATH_KEY) is True, name
    for name in ("read_symbol", "find_references"):
        spec = TOOLS_BY_NAME[name].spec.parameters
        assert spec["required"] == ["name"] and EXISTING_PATH_KEY not in spec["properties"]["path"]
    position = TOOLS_BY_NAME["insert_symbol"].spec.parameters["properties"]["position"]
    assert position["enum"] == ["after", "before"]
    assert TOOLS_BY_NAME["replace_symbol"].spec.mutates
    assert TOOLS_BY_NAME["insert_symbol"].spec.mutates
    assert not TOOLS_BY_NAME["outline"].spec.mutates


def test_symbol_tools_can_be_turned_off_and_read_only_keeps_the_reading_ones(
    make_toolbox: MakeToolbox, sym_repo: Path
) -> None:
    off = make_toolbox(root=sym_repo, symbol_tools=False)
    assert not {s.name for s in off.specs()} & SYMBOL_TOOLS
    assert "turned off" in refused(off, "outline", path="shop/cart.py")
    ro = make_toolbox(root=sym_repo, policy=ApprovalPolicy.READ_ONLY)
    names = {s.name for s in ro.specs()}
    assert {"outline", "read_symbol", "find_references"} <= names
    assert not {"replace_symbol", "insert_symbol"} & names


# ---------------------------------------------------------------- reading


def test_outline_lists_definitions_nested_and_qualified(tb: Toolbox) -> None:
    text = ok(tb, "outline", path="shop/cart.py")
    assert text.splitlines()[0] == "shop/cart.py (python, 35 lines, 10 definitions):"
    assert "10-12   method Cart.total: def total(self) -> int" in text
    assert "function helper.inner: def inner(y)" in text
    assert "class Cart.Line" in text and "method Cart.Line.total" in text
    assert "return sum" not in text  # no bodies
    assert "no parser" in refused(tb, "outline", path="notes.txt")


def test_read_symbol_by_name_across_the_repo_or_refuses_naming_candidates(tb: Toolbox) -> None:
    text = ok(tb, "read_symbol", name="inner")
    assert text.splitlines()[0] == "shop/cart.py: function helper.inner (lines 28-29)"
    assert "28|     def inner(y):" in text and "29|         return y * 2" in text
    # Decorators are part of the definition.
    text = ok(tb, "read_symbol", name="Cart.total:10", path="shop/cart.py")
    assert "10|     @property" in text and "12|         return sum(self.items)" in text
    # Ambiguous: candidates across the repository (Python, JS, Rust, Java).
    message = refused(tb, "read_symbol", name="Cart.total")
    assert "ambiguous" in message
    for where in ("shop/cart.py:10", "shop/cart.py:14", "web/cart.js:2", "rs/lib.rs:4"):
        assert where in message, message
    message = refused(tb, "read_symbol", name="nothing_like_this")
    assert "no definition named 'nothing_like_this'" in message
    message = refused(tb, "read_symbol", name="absent", path="shop/cart.py")
    assert "shop/cart.py:4: class Cart" in message  # what the file does define


def test_find_references_lists_code_not_strings_or_comments(tb: Toolbox) -> None:
    text = ok(tb, "find_references", name="helper")
    rows = text.splitlines()[1:]
    assert "shop/cart.py:27: def helper(x):  [definition: function helper]" in rows
    assert "shop/use.py:1: from shop.cart import Cart, helper" in rows
    assert "shop/use.py:6: return helper(cart.total)" in rows
    assert "web/cart.js:6: const helper = () => 2;  [definition: function helper]" in rows
    # `# helper is called here` (line 31) is a comment, the docstring a string.
    assert not any(row.startswith("shop/cart.py:31:") for row in rows)
    assert len(rows) == 4
    total = ok(tb, "find_references", name="Cart.total", path="shop")
    assert "notes.txt" not in total and "web/" not in total
    # The string "total:" and the comment on use.py:5 are not uses; cart.total is.
    assert sum(row.startswith("shop/use.py:5:") for row in total.splitlines()) == 1
    assert 'raise AttributeError("total is read-only")' not in total
    assert "no references" in ok(tb, "find_references", name="zzz_absent")


# ---------------------------------------------------------------- replace_symbol


def test_replace_a_method_sent_dedented_keeps_its_place_and_undo_restores_bytes(
    tb: Toolbox, sym_repo: Path
) -> None:
    path = sym_repo / "shop/cart.py"
    before = path.read_bytes()
    ok(tb, "read_symbol", name="Cart.add", path="shop/cart.py")
    text = ok(
        tb,
        "replace_symbol",
        name="Cart.add",
        path="shop/cart.py",
        new_source="def add(self, x, n=1):\n    self.items.extend([x] * n)\n",
    )
    assert "ok: replaced method Cart.add" in text and "syntax: ok (python)" in text
    after = path.read_text()
    assert "    def add(self, x, n=1):\n        self.items.extend([x] * n)\n" in after
    assert (
        after.replace(
            "    def add(self, x, n=1):\n        self.items.extend([x] * n)\n",
            "    def add(self, x):\n        self.items.append(x)\n",
        )
        == CART
    )
    [outcome] = tb.undo()
    assert outcome.reverted and path.read_bytes() == before


@pytest.mark.parametrize(
    "new_source",
    [
        # indented as in the file
        "    @property\n    def total(self) -> int:\n        return 2 * sum(self.items)\n",
        # dedented
        "@property\ndef total(self) -> int:\n    return 2 * sum(self.items)",
        # the first line lost its indent, the rest kept the file's
        "@property\n    def total(self) -> int:\n        return 2 * sum(self.items)\n",
    ],
)
def test_replace_fits_the_indentation_however_it_was_sent(
    tb: Toolbox, sym_repo: Path, new_source: str
) -> None:
    ok(tb, "read_file", path="shop/cart.py")
    ok(tb, "replace_symbol", name="Cart.total:10", path="shop/cart.py", new_source=new_source)
    text = (sym_repo / "shop/cart.py").read_text()
    expected = "    @property\n    def total(self) -> int:\n        return 2 * sum(self.items)\n"
    assert text == CART.replace(
        "    @property\n    def total(self) -> int:\n        return sum(self.items)\n", expected
    )


def test_replace_refuses_ambiguous_and_absent_names_naming_candidates(
    tb: Toolbox, sym_repo: Path
) -> None:
    before = (sym_repo / "shop/cart.py").read_bytes()
    ok(tb, "read_file", path="shop/cart.py")
    message = refused(
        tb,
        "replace_symbol",
        name="Cart.total",
        path="shop/cart.py",
        new_source="def total(self): pass",
    )
    assert "ambiguous" in message and "shop/cart.py:10: method Cart.total" in message
    assert "shop/cart.py:14: method Cart.total" in message and "Cart.total:10" in message
    message = refused(
        tb, "replace_symbol", name="Cart.totl", path="shop/cart.py", new_source="def totl(): pass"
    )
    assert "no definition named 'Cart.totl'" in message and "method Cart.add" in message
    assert (sym_repo / "shop/cart.py").read_bytes() == before


@pytest.mark.parametrize(
    ("new_source", "reason"),
    [
        ("def add(self):\n    pass\n\ndef more(self):\n    pass\n", "holds 2 definitions"),
        ("class Add:\n    pass\n", "is a class, but it replaces a method"),
        ("def add(self, x:\n    pass\n", "does not parse"),
        ("self.items = []\n", "holds no definition"),
        ("import os\ndef add(self, x):\n    pass\n", "besides the definition"),
        ("   \n\n", "new_source is empty"),
    ],
)
def test_replace_refuses_new_source_that_is_not_one_definition_of_the_kind(
    tb: Toolbox, sym_repo: Path, new_source: str, reason: str
) -> None:
    before = (sym_repo / "shop/cart.py").read_bytes()
    ok(tb, "read_file", path="shop/cart.py")
    message = refused(
        tb, "replace_symbol", name="Cart.add", path="shop/cart.py", new_source=new_source
    )
    assert reason in message
    assert (sym_repo / "shop/cart.py").read_bytes() == before
    assert len(tb.journal.entries()) == 0


def test_replace_a_class_with_nested_classes_and_a_decorated_function(
    tb: Toolbox, sym_repo: Path
) -> None:
    ok(tb, "read_file", path="shop/cart.py")
    ok(
        tb,
        "replace_symbol",
        name="helper",
        path="shop/cart.py",
        new_source="@functools.lru_cache(maxsize=None)\ndef helper(x):\n    return x * 2\n",
    )
    text = (sym_repo / "shop/cart.py").read_text()
    assert (
        "@functools.cache" not in text and "@functools.lru_cache(maxsize=None)\ndef helper" in text
    )
    ok(
        tb,
        "replace_symbol",
        name="Cart.Line",
        path="shop/cart.py",
        new_source="class Line:\n    class Part:\n        pass\n\n    def total(self):\n        return 1\n",
    )
    index = SymbolIndex((sym_repo / "shop/cart.py").read_text(), "python")
    assert "Cart.Line.Part" in [s.qualname for s in index.symbols]
    # A function for a class is the wrong kind.
    assert "is a function" in refused(
        tb, "replace_symbol", name="Cart", path="shop/cart.py", new_source="def Cart(): pass"
    )


def test_replace_in_go_rust_and_javascript(tb: Toolbox, sym_repo: Path) -> None:
    for rel in ("go/cart.go", "rs/lib.rs", "web/cart.js"):
        ok(tb, "read_file", path=rel)
    ok(
        tb,
        "replace_symbol",
        name="Cart.Total",
        path="go/cart.go",
        new_source="func (c *Cart) Total() int {\n\treturn c.n * 2\n}",
    )
    assert "\treturn c.n * 2\n}\n" in (sym_repo / "go/cart.go").read_text()
    ok(
        tb,
        "replace_symbol",
        name="Cart.total",
        path="rs/lib.rs",
        new_source="pub fn total(&self) -> i32 {\n    2\n}",
    )
    rust = (sym_repo / "rs/lib.rs").read_text()
    assert "impl Cart {\n    pub fn total(&self) -> i32 {\n        2\n    }\n}\n" in rust
    assert "#[inline]" not in rust  # the attribute was part of the replaced definition
    ok(
        tb,
        "replace_symbol",
        name="Cart.total",
        path="web/cart.js",
        new_source="total() {\n  return 3;\n}",
    )
    assert "  total() {\n    return 3;\n  }\n" in (sym_repo / "web/cart.js").read_text()
    message = refused(
        tb,
        "replace_symbol",
        name="Cart.total",
        path="web/cart.js",
        new_source="total() {\n  return 3;\n}\nother() {}",
    )
    assert "2 definitions" in message


def test_replace_needs_a_read_and_a_fresh_file(tb: Toolbox, sym_repo: Path) -> None:
    args = {"name": "Cart.add", "path": "shop/cart.py", "new_source": "def add(self, x): pass"}
    assert "have not read" in refused(tb, "replace_symbol", **args)
    ok(tb, "read_symbol", name="Cart.add", path="shop/cart.py")
    (sym_repo / "shop/cart.py").write_text(CART + "\n# edited by the user\n")
    assert "changed on disk" in refused(tb, "replace_symbol", **args)


# ---------------------------------------------------------------- insert_symbol


def test_insert_after_a_method_and_before_a_top_level_function(tb: Toolbox, sym_repo: Path) -> None:
    path = sym_repo / "shop/cart.py"
    before = path.read_bytes()
    ok(tb, "read_file", path="shop/cart.py")
    text = ok(
        tb,
        "insert_symbol",
        position="after",
        name="Cart.add",
        path="shop/cart.py",
        source="def clear(self):\n    self.items.clear()",
    )
    assert "inserted method Cart.clear after Cart.add" in text
    assert (
        "        self.items.append(x)\n\n    def clear(self):\n        self.items.clear()\n\n\n@functools"
        in path.read_text()
    )
    ok(
        tb,
        "insert_symbol",
        position="before",
        name="helper",
        path="shop/cart.py",
        source="def first():\n    return 1\n",
    )
    assert "def first():\n    return 1\n\n\n@functools.cache\ndef helper" in path.read_text()
    assert "2 definitions" in refused(
        tb,
        "insert_symbol",
        position="after",
        name="helper",
        path="shop/cart.py",
        source="def a(): pass\ndef b(): pass",
    )
    assert "does not parse" in refused(
        tb, "insert_symbol", position="after", name="helper", path="shop/cart.py", source="def a(:"
    )
    assert "position" in refused(
        tb, "insert_symbol", position="inside", name="helper", path="shop/cart.py", source="x"
    )
    tb.undo(2)
    assert path.read_bytes() == before


# ---------------------------------------------------------------- hostile files


def test_a_symlink_out_of_the_repo_is_refused(tb: Toolbox, sym_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("def secret():\n    return 1\n")
    (sym_repo / "link.py").symlink_to(outside)
    for tool, args in (
        ("outline", {"path": "link.py"}),
        ("read_symbol", {"name": "secret", "path": "link.py"}),
        ("replace_symbol", {"name": "secret", "path": "link.py", "new_source": "def secret(): 2"}),
    ):
        assert "outside" in refused(tb, tool, **args)
    # The repository-wide scans skip it too.
    assert "no definition named 'secret'" in refused(tb, "read_symbol", name="secret")
    assert "no references" in ok(tb, "find_references", name="secret")
    assert outside.read_text() == "def secret():\n    return 1\n"


def test_binary_non_utf8_huge_and_broken_files(make_toolbox: MakeToolbox, tmp_path: Path) -> None:
    latin = "# caf\xe9\ndef price():\n    return 1\n".encode("latin-1")
    big = "".join(f"def f{n}():\n    return {n}\n\n" for n in range(60_000))
    assert len(big) < MAX_FILE_BYTES
    repo = init_repo(
        tmp_path / "hostile",
        {
            "bin.py": b"\x00\x01\x02def x(): pass\x00",
            "latin.py": latin,
            "huge.py": "def f():\n    pass\n" * (MAX_FILE_BYTES // 17 + 10),
            "big.py": big,
            "broken.py": "def ok():\n    return 1\n\ndef broken(:\n    pass\n\nclass After:\n    pass\n",
        },
    )
    tb = make_toolbox(root=repo)
    assert "binary file" in refused(tb, "outline", path="bin.py")
    assert "too large" in refused(tb, "outline", path="huge.py")
    assert "not valid utf-8" in refused(tb, "outline", path="latin.py")
    assert "not valid utf-8" in refused(tb, "read_symbol", name="price", path="latin.py")
    # A big file that is allowed: the outline is cut, a symbol is found by name.
    text = ok(tb, "outline", path="big.py")
    assert "60000 definitions" in text and "[cut: showed 300 of 60000 definitions]" in text
    assert "179998| def f59999():" in ok(tb, "read_symbol", name="f59999", path="big.py")
    # A file with a syntax error still has the definitions that parsed.
    text = ok(tb, "outline", path="broken.py")
    assert "syntax errors" in text and "function ok" in text
    ok(tb, "read_file", path="broken.py")
    ok(tb, "replace_symbol", name="ok", path="broken.py", new_source="def ok():\n    return 2")
    assert (repo / "broken.py").read_text().startswith("def ok():\n    return 2\n\ndef broken(:")
    # Repository-wide scans skip what they cannot read.
    assert "no references" in ok(tb, "find_references", name="price")
    assert "no references" in ok(tb, "find_references", name="x")
    assert "no definition named 'price'" in refused(tb, "read_symbol", name="price")
