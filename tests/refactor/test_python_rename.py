"""`rename` on Python: scope rules, imports, and the hostile cases of issue 23.

Each test builds a real git repository and compares the planned result with the
exact text expected (the plan is what `assistant rename` writes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.refactor.errors import RenameRefused
from tests.refactor.conftest import init_repo, rename_texts

SHOP = '''\
"""total: the docstring says total, and so does this string."""
total = 0


def helper(total):
    return total + 1


def bump():
    global total
    total += 1
    return f"{total} and {total!r:>{width}}" + "total"  # total in a comment


width = 3
'''


def test_module_variable_follows_global_and_fstrings_not_strings(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"shop.py": SHOP})
    after, plan = rename_texts(root, "shop.py::total", "grand")
    assert after["shop.py"] == SHOP.replace("total = 0", "grand = 0").replace(
        '    global total\n    total += 1\n    return f"{total} and {total!r',
        '    global grand\n    grand += 1\n    return f"{grand} and {grand!r',
    )
    # the parameter `total` of helper is another name: untouched
    assert "def helper(total):\n    return total + 1" in after["shop.py"]
    assert plan.count == 5


def test_shadowing_local_and_parameter_untouched(tmp_path: Path) -> None:
    src = "def f():\n    return 1\n\n\ndef g(f):\n    return f()\n\n\ndef h():\n    f = 2\n    return f\n\n\nprint(f())\n"
    root = init_repo(tmp_path / "r", {"m.py": src})
    after, _ = rename_texts(root, "f", "run")
    assert after["m.py"] == src.replace("def f():", "def run():").replace(
        "print(f())", "print(run())"
    )


def test_nested_functions_and_nonlocal(tmp_path: Path) -> None:
    src = (
        "def outer():\n"
        "    count = 0\n"
        "    def inc():\n"
        "        nonlocal count\n"
        "        count += 1\n"
        "    def other():\n"
        "        count = 5\n"
        "        return count\n"
        "    def reader():\n"
        "        return count\n"
        "    return inc, other, reader, count\n"
        "\n"
        "count = 'module'\n"
    )
    root = init_repo(tmp_path / "r", {"m.py": src})
    after, _ = rename_texts(root, "m.py::outer.count", "n")
    assert after["m.py"] == (
        "def outer():\n"
        "    n = 0\n"
        "    def inc():\n"
        "        nonlocal n\n"
        "        n += 1\n"
        "    def other():\n"
        "        count = 5\n"
        "        return count\n"
        "    def reader():\n"
        "        return n\n"
        "    return inc, other, reader, n\n"
        "\n"
        "count = 'module'\n"
    )
    # the same target by position (line 2, column 5)
    again, _ = rename_texts(root, "m.py:2:5", "n")
    assert again == after


def test_class_attribute_and_instance_attribute_same_name(tmp_path: Path) -> None:
    src = (
        "class Counter:\n"
        "    count = 0\n"
        "\n"
        "    def __init__(self):\n"
        "        self.count = 1\n"
        "\n"
        "    def bump(self):\n"
        "        self.count += 1\n"
        "        return Counter.count\n"
        "\n"
        "\n"
        "class Other:\n"
        "    def __init__(self):\n"
        "        self.count = 2\n"
        "\n"
        "\n"
        "def use(c: Counter, o: Other):\n"
        "    return c.count + o.count + Counter().count + Other().count\n"
    )
    root = init_repo(tmp_path / "r", {"m.py": src})
    after, _ = rename_texts(root, "Counter.count", "hits")
    assert after["m.py"] == (
        "class Counter:\n"
        "    hits = 0\n"
        "\n"
        "    def __init__(self):\n"
        "        self.hits = 1\n"
        "\n"
        "    def bump(self):\n"
        "        self.hits += 1\n"
        "        return Counter.hits\n"
        "\n"
        "\n"
        "class Other:\n"
        "    def __init__(self):\n"
        "        self.count = 2\n"
        "\n"
        "\n"
        "def use(c: Counter, o: Other):\n"
        "    return c.hits + o.count + Counter().hits + Other().count\n"
    )


def test_imports_follow_aliases_stay_unrelated_modules_untouched(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/core.py": "def load(x):\n    return x\n",
        "pkg/other.py": "def load(x):\n    return -x\n",
        "a.py": "from pkg.core import load\n\nload(1)\n",
        "b.py": "from pkg.core import load as fetch\n\nfetch(2)\n",
        "c.py": "import pkg.core\nfrom pkg import core\n\npkg.core.load(3)\ncore.load(4)\n",
        "d.py": "from pkg.other import load\n\nload(5)\n",
        "e.py": "from pkg.core import *\n\nload(6)\n",
    }
    root = init_repo(tmp_path / "r", files)
    after, plan = rename_texts(root, "pkg/core.py::load", "read")
    assert after == {
        "pkg/core.py": "def read(x):\n    return x\n",
        "a.py": "from pkg.core import read\n\nread(1)\n",
        "b.py": "from pkg.core import read as fetch\n\nfetch(2)\n",
        "c.py": "import pkg.core\nfrom pkg import core\n\npkg.core.read(3)\ncore.read(4)\n",
        "e.py": "from pkg.core import *\n\nread(6)\n",
    }
    assert plan.target.kind == "function"


def test_methods_through_self_super_and_subclasses(tmp_path: Path) -> None:
    src = (
        "class Base:\n"
        "    def run(self):\n"
        "        return 1\n"
        "\n"
        "\n"
        "class Child(Base):\n"
        "    def go(self):\n"
        "        return self.run() + super().run()\n"
        "\n"
        "\n"
        "class Unrelated:\n"
        "    def run(self):\n"
        "        return 2\n"
        "\n"
        "\n"
        "def main(thing):\n"
        "    Child().run()\n"
        "    Unrelated().run()\n"
        "    thing.run()\n"
    )
    root = init_repo(tmp_path / "r", {"m.py": src})
    after, plan = rename_texts(root, "m.py::Base.run", "start")
    assert after["m.py"] == (
        src.replace(
            "    def run(self):\n        return 1", "    def start(self):\n        return 1"
        )
        .replace("self.run() + super().run()", "self.start() + super().start()")
        .replace("Child().run()", "Child().start()")
    )
    # `thing` has no known type: left alone, and said
    assert any("m.py:19" in note for note in plan.notes)


def test_star_import_of_a_variable(tmp_path: Path) -> None:
    files = {
        "consts.py": "__all__ = ['LIMIT']\nLIMIT = 10\n",
        "use.py": "from consts import *\n\n\ndef f():\n    return LIMIT * 2\n",
        "own.py": "LIMIT = 3\nprint(LIMIT)\n",
    }
    root = init_repo(tmp_path / "r", files)
    after, plan = rename_texts(root, "consts.py::LIMIT", "MAXIMUM")
    assert "not renamed: the string 'LIMIT' in __all__ (consts.py:1)" in plan.notes
    assert after == {
        "consts.py": "__all__ = ['LIMIT']\nMAXIMUM = 10\n",
        "use.py": "from consts import *\n\n\ndef f():\n    return MAXIMUM * 2\n",
    }


def test_rename_to_existing_name_is_refused_with_the_clash(tmp_path: Path) -> None:
    src = "def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    root = init_repo(tmp_path / "r", {"m.py": src})
    with pytest.raises(RenameRefused, match=r"b already exists in the module \(m.py:5\)"):
        rename_texts(root, "a", "b")


def test_rename_that_would_capture_a_builtin_is_refused(tmp_path: Path) -> None:
    src = "def total(xs):\n    return len(xs)\n\n\ndef count(xs):\n    return total(xs)\n"
    root = init_repo(tmp_path / "r", {"m.py": src})
    with pytest.raises(RenameRefused, match=r"len is already used at m.py:2"):
        rename_texts(root, "total", "len")


def test_rename_that_a_local_would_shadow_is_refused(tmp_path: Path) -> None:
    src = "LIMIT = 1\n\n\ndef f():\n    cap = 2\n    return LIMIT + cap\n"
    root = init_repo(tmp_path / "r", {"m.py": src})
    with pytest.raises(
        RenameRefused, match=r"m.py:6 would make it refer to the cap defined at m.py:5"
    ):
        rename_texts(root, "LIMIT", "cap")


@pytest.mark.parametrize("new", ["class", "None", "lambda", "2fast", "a-b", ""])
def test_rename_to_keyword_or_non_identifier_is_refused(tmp_path: Path, new: str) -> None:
    root = init_repo(tmp_path / "r", {"m.py": "def f():\n    pass\n"})
    with pytest.raises(RenameRefused, match=r"keyword|not an identifier"):
        rename_texts(root, "f", new)


def test_not_found_suggests_close_names(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"m.py": "def compute_total():\n    pass\n"})
    with pytest.raises(RenameRefused, match="did you mean compute_total"):
        rename_texts(root, "compute_totl", "x")


def test_ambiguous_name_lists_candidates_and_path_narrows(tmp_path: Path) -> None:
    files = {"a.py": "def run():\n    pass\n", "b/c.py": "def run():\n    pass\n"}
    root = init_repo(tmp_path / "r", files)
    with pytest.raises(RenameRefused, match=r"(?s)2 different definitions.*a.py::run.*b/c.py::run"):
        rename_texts(root, "run", "go")
    after, _ = rename_texts(root, "run", "go", ["b"])
    assert after == {"b/c.py": "def go():\n    pass\n"}


def test_file_that_does_not_parse_is_skipped_with_a_note(tmp_path: Path) -> None:
    files = {
        "m.py": "def f():\n    pass\n",
        "broken.py": "from m import f\n\ndef g(:\n    f()\n",
    }
    root = init_repo(tmp_path / "r", files)
    after, plan = rename_texts(root, "m.py::f", "h")
    assert after == {"m.py": "def h():\n    pass\n"}
    assert any(n.startswith("skipped broken.py: it does not parse (line 3)") for n in plan.notes)


def test_non_utf8_and_binary_files_are_skipped_with_a_note(tmp_path: Path) -> None:
    files: dict[str, bytes | str] = {
        "m.py": "def f():\n    pass\n",
        "latin.py": b"# caf\xe9\nfrom m import f\nf()\n",
        "blob.py": b"f\x00\x01",
    }
    root = init_repo(tmp_path / "r", files)
    after, plan = rename_texts(root, "m.py::f", "h")
    assert after == {"m.py": "def h():\n    pass\n"}
    assert "skipped latin.py: not UTF-8 (bad byte at offset 5)" in plan.notes
    assert "skipped blob.py: a binary file" in plan.notes


def test_symlink_out_of_the_repository_is_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("from m import f\nf()\n")
    root = init_repo(tmp_path / "r", {"m.py": "def f():\n    pass\n"})
    os.symlink(outside, root / "link.py")
    after, plan = rename_texts(root, "m.py::f", "h")
    assert after == {"m.py": "def h():\n    pass\n"}
    assert any(n.startswith("skipped link.py: a symlink to ") for n in plan.notes)
    assert outside.read_text() == "from m import f\nf()\n"


def test_five_megabyte_file_is_skipped_with_a_note(tmp_path: Path) -> None:
    big = "from m import f\n" + "x = f()\n" * (5 * 1024 * 1024 // 8)
    root = init_repo(tmp_path / "r", {"m.py": "def f():\n    pass\n", "big.py": big})
    after, plan = rename_texts(root, "m.py::f", "h")
    assert after == {"m.py": "def h():\n    pass\n"}
    assert any(n.startswith("skipped big.py: too large (") for n in plan.notes)


def test_keyword_arguments_follow_a_parameter(tmp_path: Path) -> None:
    src = "def area(width, height):\n    return width * height\n\n\narea(width=2, height=3)\n"
    root = init_repo(tmp_path / "r", {"m.py": src})
    after, _ = rename_texts(root, "m.py::area.width", "w")
    assert after["m.py"] == "def area(w, height):\n    return w * height\n\n\narea(w=2, height=3)\n"


def test_comprehension_and_lambda_scopes(tmp_path: Path) -> None:
    src = "x = 1\nys = [x for x in range(3)]\nf = lambda x: x\nz = x + 1\n"
    root = init_repo(tmp_path / "r", {"m.py": src})
    after, _ = rename_texts(root, "m.py::x", "base")
    assert after["m.py"] == "base = 1\nys = [x for x in range(3)]\nf = lambda x: x\nz = base + 1\n"


def test_crlf_and_other_bytes_are_kept(tmp_path: Path) -> None:
    src = b"def f():\r\n    return '\xc3\xa9'\r\n\r\nf()\r\n"
    root = init_repo(tmp_path / "r", {"m.py": src})
    plan = rename_texts(root, "f", "g")[1]
    assert plan.changes[0].after == src.replace(b"def f", b"def g").replace(b"\nf()", b"\ng()")


def test_an_override_in_a_subclass_is_said_not_renamed(tmp_path: Path) -> None:
    src = (
        "class Base:\n"
        "    def run(self):\n"
        "        return self.step()\n"
        "\n"
        "    def step(self):\n"
        "        return 1\n"
        "\n"
        "\n"
        "class Sub(Base):\n"
        "    def step(self):\n"
        "        return 2\n"
    )
    root = init_repo(tmp_path / "r", {"m.py": src})
    after, plan = rename_texts(root, "Base.step", "stage")
    assert after["m.py"] == src.replace("self.step()", "self.stage()").replace(
        "    def step(self):\n        return 1", "    def stage(self):\n        return 1"
    )
    assert (
        "not renamed: Sub.step (m.py:10) overrides Base.step; after the rename it no longer does"
        in plan.notes
    )


def test_a_definition_in_a_file_that_does_not_parse_is_refused(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"m.py": "def f():\n    pass\n\ndef g(:\n    f()\n"})
    with pytest.raises(RenameRefused, match=r"m.py, where f is defined, does not parse \(line 4\)"):
        rename_texts(root, "f", "h")


def test_a_name_bound_twice_takes_the_binding_that_reaches_the_use(tmp_path: Path) -> None:
    src = (
        "class Request:\n"
        "    def prepare(self):\n"
        "        return 1\n"
        "\n"
        "\n"
        "def straight(s):\n"
        "    r = Request()\n"
        "    r = s.send(r.prepare())\n"
        "    return r.prepare()\n"
        "\n"
        "\n"
        "def branches(jar, c):\n"
        "    if c:\n"
        "        jar = Request()\n"
        "    else:\n"
        "        jar.prepare()\n"
        "    for _ in range(2):\n"
        "        jar.prepare()\n"
        "        jar = c\n"
    )
    root = init_repo(tmp_path / "r", {"m.py": src})
    after, plan = rename_texts(root, "Request.prepare", "ready")
    # line 8: `r` is still the Request there; line 9: `r` is what send returned
    assert after["m.py"] == src.replace("def prepare", "def ready").replace(
        "s.send(r.prepare())", "s.send(r.ready())"
    )
    assert any("m.py:9, m.py:16, m.py:18" in note for note in plan.notes)


def test_string_and_generic_annotations_name_the_class(tmp_path: Path) -> None:
    src = (
        "class Bar:\n"
        "    def tick(self):\n"
        "        return self\n"
        "\n"
        "\n"
        "def make() -> 'Bar[int]':\n"
        "    return Bar()\n"
        "\n"
        "\n"
        "def use(b: 'Bar', c: Bar[int]):\n"
        "    return b.tick(), c.tick(), make().tick()\n"
    )
    root = init_repo(tmp_path / "r", {"m.py": src})
    after, plan = rename_texts(root, "Bar.tick", "step")
    assert after["m.py"] == src.replace("tick", "step")
    assert plan.count == 4


DATACLASSES = """\
import dataclasses
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0
    label = "not a field"


@dataclasses.dataclass
class Point3(Point):
    z: int = 0


class Pair(NamedTuple):
    x: int
    y: int


class Plain:
    x = 1


p = Point(x=1, y=2)
q = Point3(x=1, z=3)
pair = Pair(x=1, y=2)
plain = Plain(x=1)
print(p.x, q.x, pair.x, Point(y=1, x=2).x)
"""


def test_a_dataclass_field_rename_follows_its_generated_init(tmp_path: Path) -> None:
    """Left alone in issue 23's first round: `Point(x=1)` names the field of
    the generated `__init__`, in the class and in dataclass subclasses; a
    NamedTuple field is its own symbol, and a class without a generated
    `__init__` is not touched."""
    root = init_repo(tmp_path / "r", {"m.py": DATACLASSES})
    after, _ = rename_texts(root, "m.py::Point.x", "east")
    assert after["m.py"] == DATACLASSES.replace(
        "    x: int\n    y: int = 0", "    east: int\n    y: int = 0"
    ).replace("Point(x=1, y=2)", "Point(east=1, y=2)").replace(
        "Point3(x=1, z=3)", "Point3(east=1, z=3)"
    ).replace(
        "print(p.x, q.x, pair.x, Point(y=1, x=2).x)",
        "print(p.east, q.east, pair.x, Point(y=1, east=2).east)",
    )
    # From the keyword at a call: the same symbol.
    line = DATACLASSES.splitlines().index("pair = Pair(x=1, y=2)") + 1
    after, _ = rename_texts(root, f"m.py:{line}:13", "first")
    assert after["m.py"] == DATACLASSES.replace(
        "class Pair(NamedTuple):\n    x: int", "class Pair(NamedTuple):\n    first: int"
    ).replace("Pair(x=1, y=2)", "Pair(first=1, y=2)").replace("pair.x", "pair.first")


def test_a_class_attribute_that_is_not_a_field_keeps_its_keywords(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"m.py": DATACLASSES})
    after, _ = rename_texts(root, "m.py::Plain.x", "one")
    assert after["m.py"] == DATACLASSES.replace(
        "class Plain:\n    x = 1", "class Plain:\n    one = 1"
    )


ATTRS = """\
from typing import ClassVar

import attr


@attr.s
class Job:
    name = attr.ib()
    kind: ClassVar[str] = "job"


class Runner:
    def __init__(self, name, kind):
        self.name = name


j = Job(name="a")
r = Runner(name="b", kind="c")
print(j.name, Job.kind)
"""


def test_attrs_fields_and_class_variables(tmp_path: Path) -> None:
    """`attr.ib()` assigns a field without an annotation; a `ClassVar` is
    no field; another class's `__init__` parameter of the same name stays."""
    root = init_repo(tmp_path / "r", {"m.py": ATTRS})
    after, _ = rename_texts(root, "m.py::Job.name", "title")
    assert after["m.py"] == ATTRS.replace("    name = attr.ib()", "    title = attr.ib()").replace(
        'Job(name="a")', 'Job(title="a")'
    ).replace("print(j.name", "print(j.title")
    after, _ = rename_texts(root, "m.py::Job.kind", "category")
    assert after["m.py"] == ATTRS.replace("    kind: ClassVar", "    category: ClassVar").replace(
        "Job.kind", "Job.category"
    )
    # A ClassVar in a dataclass is no field either: `D(kind=…)` is not its keyword.
    src = "from dataclasses import dataclass\nfrom typing import ClassVar\n\n\n@dataclass\nclass D:\n    kind: ClassVar[int] = 0\n\n\nD(kind=1)\n"
    root = init_repo(tmp_path / "d", {"m.py": src})
    assert rename_texts(root, "m.py::D.kind", "k")[0]["m.py"] == src.replace(
        "    kind: ClassVar", "    k: ClassVar"
    )


GENERICS = """\
from typing import TypeVar

T = TypeVar("T")


def first[T](xs: list[T], default: T | None = None) -> T:
    y: T = xs[0]
    return y


class Box[T](list[T]):
    Alias = int

    def get[S](self, key: S, size: Alias) -> T:
        self.key = key
        return self[0]


type Pair[T] = tuple[T, T]


def last(xs: list[T]) -> T:
    return xs[-1]
"""


def test_pep_695_type_parameters_have_their_own_scope(tmp_path: Path) -> None:
    """Left alone in issue 23's first round: `def first[T]` binds its own `T`
    (Python 3.12's annotation scope), seen by its annotations and body but not
    by a `T` elsewhere; a class's type parameters reach its methods."""
    root = init_repo(tmp_path / "r", {"m.py": GENERICS})
    after, plan = rename_texts(root, "m.py::T", "U")
    assert after["m.py"] == GENERICS.replace('T = TypeVar("T")', 'U = TypeVar("T")').replace(
        "def last(xs: list[T]) -> T:", "def last(xs: list[U]) -> U:"
    )
    assert "not renamed: the string 'T' in TypeVar(…) (m.py:3); change it to the new name" in (
        plan.notes
    )
    after, _ = rename_texts(root, "m.py::first.T", "Item")
    assert after["m.py"] == GENERICS.replace(
        "def first[T](xs: list[T], default: T | None = None) -> T:\n    y: T",
        "def first[Item](xs: list[Item], default: Item | None = None) -> Item:\n    y: Item",
    )
    after, _ = rename_texts(root, "m.py::Box.T", "Item")
    assert after["m.py"] == GENERICS.replace(
        "class Box[T](list[T]):", "class Box[Item](list[Item]):"
    ).replace("size: Alias) -> T:", "size: Alias) -> Item:")
    after, _ = rename_texts(root, "m.py::Pair.T", "A")
    assert after["m.py"] == GENERICS.replace(
        "type Pair[T] = tuple[T, T]", "type Pair[A] = tuple[A, A]"
    )
    # A generic method is still a method (its `self.key` is an attribute of
    # Box), and a class attribute used in its annotations is still found.
    after, _ = rename_texts(root, "m.py::Box.Alias", "Size")
    assert after["m.py"] == GENERICS.replace("    Alias = int", "    Size = int").replace(
        "size: Alias)", "size: Size)"
    )
    after, _ = rename_texts(root, "m.py::Box.get.key", "k")
    assert "def get[S](self, k: S, size: Alias) -> T:\n        self.key = k\n" in after["m.py"]
    after, _ = rename_texts(root, "m.py::Box.get.S", "K")
    assert "def get[K](self, key: K, size: Alias) -> T:" in after["m.py"]


def test_a_type_parameter_clash_is_refused(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"m.py": GENERICS})
    with pytest.raises(RenameRefused, match="S"):
        rename_texts(root, "m.py::Box.T", "S")  # get's own S would capture T inside get
