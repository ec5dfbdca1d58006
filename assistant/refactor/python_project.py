"""What Python names refer to across the files of a repository.

A symbol is a name bound in one scope of one file (`Sym`); a class attribute is a
name bound in the class's scope, or assigned as `self.NAME` in its methods. Uses
are tied to symbols by the scope rules (`python_scopes.resolve`), by imports
(`from m import n` makes this file's `n` the same symbol as `m`'s, so both are
renamed together; `as x` keeps `x`), by star imports, and by a small static
evaluation of the object in `obj.NAME`: a module, a class, an instance made by
calling a class, `self`/`cls` in a method, a parameter annotated with a class,
`super()`. An attribute whose object it cannot evaluate is left alone and
reported, never guessed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from posixpath import dirname

from tree_sitter import Node

from assistant.refactor.python_scopes import (
    Binding,
    BindKind,
    FileScopes,
    Scope,
    ScopeKind,
    Use,
    UseKind,
    analyze,
    resolve,
)


@dataclass(frozen=True)
class Sym:
    rel: str
    scope: int
    name: str


@dataclass(frozen=True)
class ModuleV:
    name: str


@dataclass(frozen=True)
class ClassV:
    rel: str
    scope: int


@dataclass(frozen=True)
class InstanceV:
    rel: str
    scope: int


@dataclass(frozen=True)
class FuncV:
    rel: str
    scope: int


@dataclass(frozen=True)
class SuperV:
    rel: str
    scope: int  # the class whose bases are searched


Value = ModuleV | ClassV | InstanceV | FuncV | SuperV

MAX_DEPTH = 40  # evaluation gives up beyond this (cycles like `a = b; b = a`)


def module_names(files: set[str]) -> dict[str, str]:
    """Dotted module name -> file, for every .py/.pyi file. A file inside packages
    (directories with __init__.py) is named from its outermost package; the path
    from the root is registered too, so `import src.pkg.mod` also resolves."""
    names: dict[str, str] = {}
    fallback: dict[str, str] = {}
    for rel in sorted(files):
        if not rel.endswith((".py", ".pyi")):
            continue
        dirs = [d for d in dirname(rel).split("/") if d]
        stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        parts = dirs if stem == "__init__" else [*dirs, stem]
        if not parts:
            continue
        i = len(dirs)
        while i > 0 and any(
            f"{'/'.join(dirs[:i])}/__init__.{ext}" in files for ext in ("py", "pyi")
        ):
            i -= 1
        name = ".".join(parts[i:]) or ".".join(parts)
        if name not in names or rel.endswith(".py"):
            names[name] = rel
        fallback.setdefault(".".join(parts), rel)
    for name, rel in fallback.items():
        names.setdefault(name, rel)
    return names


_BLOCKS = ("block", "module")
_LOOPS = ("for_statement", "while_statement")


def _statement(node: Node) -> Node:
    """The statement a node belongs to (its ancestor directly inside a block)."""
    cur = node
    while cur.parent is not None and cur.parent.type not in _BLOCKS:
        cur = cur.parent
    return cur


def _inside(node: Node, outer: Node) -> bool:
    return outer.start_byte <= node.start_byte and node.end_byte <= outer.end_byte


def _assigned_after(stmt: Node, target: Node, use: Node) -> bool:
    """`x = f(x)`: the use on the right is evaluated before the name on the left
    is bound."""
    if stmt.type != "expression_statement" or not stmt.named_children:
        return False
    assign = stmt.named_children[0]
    if assign.type != "assignment":
        return False
    left = assign.child_by_field_name("left")
    right = assign.child_by_field_name("right")
    return left is not None and right is not None and _inside(target, left) and _inside(use, right)


def _reaching(scope: Scope, name: str, use: Node) -> Binding | None:
    """The one binding of `name` that reaches `use` in straight-line code: the last
    binding statement before it, in a block that holds the use, with no binding
    inside a statement that holds the use and none later in a loop around it.
    None when that cannot be told this simply (the caller then needs every
    binding to agree)."""
    bindings = scope.bindings.get(name, [])
    if len(bindings) < 2:
        return None
    before: list[tuple[int, Binding, Node]] = []
    for b in bindings:
        if b.kind is BindKind.PARAM:
            before.append((-1, b, b.node))
            continue
        stmt = _statement(b.node)
        if _inside(use, stmt) and not _assigned_after(stmt, b.node, use):
            return None  # e.g. `if (x := f()): x.m()`, a for target, a with target
        if stmt.end_byte <= use.start_byte:
            before.append((stmt.start_byte, b, stmt))
            continue
        loop = use.parent
        while loop is not None and loop.id != scope.node.id:
            if loop.type in _LOOPS and _inside(b.node, loop):
                return None  # bound again later in a loop around the use
            loop = loop.parent
    if not before:
        return None
    _, best, stmt = max(before, key=lambda item: item[0])
    if best.kind is BindKind.PARAM:
        return best if len(before) == 1 else None
    block = stmt.parent
    if block is None or not _inside(use, block):
        return None
    return best


class PythonProject:
    """Lazily parsed Python files of one repository and the links between them."""

    def __init__(self, files: list[str], read: Callable[[str], bytes | None]) -> None:
        self.files = [f for f in files if f.endswith((".py", ".pyi"))]
        self.read = read  # the bytes of a file, None when it is skipped
        self.modules = module_names(set(self.files))
        self.module_of = {rel: name for name, rel in sorted(self.modules.items(), reverse=True)}
        for name, rel in self.modules.items():  # prefer the package-derived (shortest) name
            if len(name) < len(self.module_of.get(rel, name + "x")):
                self.module_of[rel] = name
        self._parsed: dict[str, FileScopes | None] = {}
        self._parent: dict[Sym, Sym] = {}
        self._ensured: set[Sym] = set()
        self._sym_values: dict[Sym, Value | None] = {}
        self._mro: dict[ClassV, list[ClassV]] = {}
        self._depth = 0

    # ------------------------------------------------------------ files

    def parse(self, rel: str) -> FileScopes | None:
        if rel not in self._parsed:
            data = self.read(rel)
            self._parsed[rel] = None if data is None else analyze(rel, data)
        return self._parsed[rel]

    def parsed(self) -> list[FileScopes]:
        return [fs for fs in self._parsed.values() if fs is not None]

    def module_rel(self, dotted: str) -> str | None:
        return self.modules.get(dotted)

    def absolute(self, rel: str, module: str, level: int) -> str:
        if not level:
            return module
        own = self.module_of.get(rel, "")
        parts = own.split(".") if own else []
        if not rel.rsplit("/", 1)[-1].startswith("__init__."):
            parts = parts[:-1]
        if level > 1:
            parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
        return ".".join([*parts, module] if module else parts)

    # ------------------------------------------------------------ symbols

    def find(self, sym: Sym) -> Sym:
        root = sym
        while root in self._parent:
            root = self._parent[root]
        while sym != root:  # path compression
            nxt = self._parent[sym]
            self._parent[sym] = root
            sym = nxt
        return root

    def _union(self, a: Sym, b: Sym) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[ra] = rb

    def module_member(
        self, module: str, name: str, seen: frozenset[str] = frozenset()
    ) -> Sym | None:
        """The symbol `module.name`, following the module's star imports."""
        rel = self.module_rel(module)
        if rel is None or module in seen:
            return None
        fs = self.parse(rel)
        if fs is None:
            return None
        if name in fs.module.bindings:
            return Sym(rel, 0, name)
        for star, level in fs.module.star_imports:
            found = self.module_member(self.absolute(rel, star, level), name, seen | {module})
            if found is not None:
                return found
        return Sym(rel, 0, name)

    def ensure(self, sym: Sym) -> None:
        """Add the import links of `sym` (and of what it links to) to the union-find."""
        todo = [sym]
        while todo:
            cur = todo.pop()
            if cur in self._ensured:
                continue
            self._ensured.add(cur)
            fs = self.parse(cur.rel)
            if fs is None or cur.scope >= len(fs.scopes):
                continue
            scope = fs.scope(cur.scope)
            bindings = scope.bindings.get(cur.name, [])
            for b in bindings:
                if b.kind is BindKind.IMPORT_FROM and not b.aliased:
                    module = self.absolute(cur.rel, b.module, b.level)
                    if self.module_rel(f"{module}.{b.imported}") is not None:
                        continue
                    other = self.module_member(module, b.imported)
                    if other is not None:
                        self._union(cur, other)
                        todo.append(other)
            if scope.kind is ScopeKind.MODULE and not bindings:
                for star, level in scope.star_imports:
                    other = self.module_member(self.absolute(cur.rel, star, level), cur.name)
                    if other is not None and other != cur:
                        self._union(cur, other)
                        todo.append(other)

    def same(self, a: Sym, b: Sym) -> bool:
        self.ensure(a)
        self.ensure(b)
        return self.find(a) == self.find(b)

    def sym_of_use(self, fs: FileScopes, use: Use) -> Sym | None:
        """The symbol a use names, None when it cannot be known (an attribute of an
        object of unknown type, a name from outside the repository)."""
        name = use.name
        sym: Sym | None = None
        if use.kind is UseKind.NAME:
            scope = resolve(use.scope, name)
            sym = Sym(fs.rel, 0 if scope is None else scope.id, name)
        elif use.kind is UseKind.IMPORTED:
            module = self.absolute(fs.rel, use.module, use.level)
            if self.module_rel(f"{module}.{name}") is None:
                sym = self.module_member(module, name)
        elif use.kind is UseKind.ATTR and use.other is not None:
            sym = self.member_of_value(self.value_of(fs, use.other, use.scope), name)
        elif use.kind is UseKind.KEYWORD and use.other is not None:
            sym = self._parameter(self.value_of(fs, use.other, use.scope), name)
        if sym is not None:
            self.ensure(sym)
        return sym

    def member_of_value(self, value: Value | None, name: str) -> Sym | None:
        if isinstance(value, ModuleV):
            if self.module_rel(f"{value.name}.{name}") is not None:
                return None
            return self.module_member(value.name, name)
        if isinstance(value, ClassV | InstanceV):
            return self.member(ClassV(value.rel, value.scope), name)
        if isinstance(value, SuperV):
            return self.member(ClassV(value.rel, value.scope), name, skip_self=True)
        return None

    def _parameter(self, value: Value | None, name: str) -> Sym | None:
        if isinstance(value, ClassV):
            init = self.member(value, "__init__")
            if init is None:
                return self._field(value, name)
            value = self.value_of_sym(init)
        if isinstance(value, FuncV):
            fs = self.parse(value.rel)
            if fs is None:
                return None
            bindings = fs.scope(value.scope).bindings.get(name, [])
            if any(b.kind is BindKind.PARAM for b in bindings):
                return Sym(value.rel, value.scope, name)
        return None

    def _field(self, cls: ClassV, name: str) -> Sym | None:
        """The annotated field `name` of a class whose `__init__` is generated
        from its fields (`fields_init`), looked up along the MRO as the
        generated `__init__` collects them."""
        scope = self.scope_of(cls.rel, cls.scope)
        if scope is None or not scope.fields_init:
            return None
        for c in self.mro(cls):
            body = self.scope_of(c.rel, c.scope)
            if body is None:
                continue
            if any(_is_field(b) for b in body.bindings.get(name, [])):
                return Sym(c.rel, c.scope, name)
        return None

    # ------------------------------------------------------------ classes

    def scope_of(self, rel: str, scope_id: int) -> Scope | None:
        fs = self.parse(rel)
        return None if fs is None else fs.scope(scope_id)

    def mro(self, cls: ClassV) -> list[ClassV]:
        if cls in self._mro:
            return self._mro[cls]
        self._mro[cls] = [cls]  # a cycle stops here
        out = [cls]
        fs = self.parse(cls.rel)
        scope = None if fs is None else fs.scope(cls.scope)
        if fs is not None and scope is not None and scope.parent is not None:
            for base in scope.bases:
                value = self.value_of(fs, base, scope.parent)
                if isinstance(value, ClassV):
                    for c in self.mro(value):
                        if c not in out:
                            out.append(c)
        self._mro[cls] = out
        return out

    def member(self, cls: ClassV, name: str, *, skip_self: bool = False) -> Sym | None:
        """The class in the MRO that defines `name`: a binding in a class body wins
        over a `self.name = …` assignment."""
        order = self.mro(cls)[1 if skip_self else 0 :]
        for c in order:
            scope = self.scope_of(c.rel, c.scope)
            if scope is not None and name in scope.bindings:
                return Sym(c.rel, c.scope, name)
        for c in order:
            scope = self.scope_of(c.rel, c.scope)
            if scope is not None and name in scope.instance_attrs:
                return Sym(c.rel, c.scope, name)
        return None

    # ------------------------------------------------------------ values

    def value_of(self, fs: FileScopes, node: Node, scope: Scope) -> Value | None:
        if self._depth > MAX_DEPTH:
            return None
        self._depth += 1
        try:
            return self._value_of(fs, node, scope)
        finally:
            self._depth -= 1

    def _value_of(self, fs: FileScopes, node: Node, scope: Scope) -> Value | None:
        kind = node.type
        if kind in ("parenthesized_expression", "type") and node.named_children:
            return self.value_of(fs, node.named_children[0], scope)
        if kind == "identifier":
            name = (node.text or b"").decode("utf-8", "replace")
            found = resolve(scope, name)
            if found is scope and scope.kind is not ScopeKind.CLASS:
                reaching = _reaching(scope, name, node)
                if reaching is not None:
                    return self._value_of_binding(fs, scope, reaching)
            return self.value_of_sym(Sym(fs.rel, 0 if found is None else found.id, name))
        if kind == "attribute":
            obj = node.child_by_field_name("object")
            attr = node.child_by_field_name("attribute")
            if obj is None or attr is None:
                return None
            base = self.value_of(fs, obj, scope)
            attr_name = (attr.text or b"").decode("utf-8", "replace")
            if isinstance(base, ModuleV) and self.module_rel(f"{base.name}.{attr_name}"):
                return ModuleV(f"{base.name}.{attr_name}")
            member = self.member_of_value(base, attr_name)
            return None if member is None else self.value_of_sym(member)
        if kind == "call":
            func = node.child_by_field_name("function")
            if func is None:
                return None
            if (
                func.type == "identifier"
                and func.text == b"super"
                and resolve(scope, "super") is None
            ):
                method: Scope | None = scope
                while method is not None and method.method_of is None:
                    method = method.parent
                if method is not None and method.method_of is not None:
                    return SuperV(fs.rel, method.method_of.id)
                return None
            callee = self.value_of(fs, func, scope)
            if isinstance(callee, ClassV):
                return InstanceV(callee.rel, callee.scope)
            if isinstance(callee, FuncV):
                return self.returned(callee)
        return None

    def returned(self, func: FuncV) -> Value | None:
        """What a function returns, from the first `return` whose value is known."""
        fs = self.parse(func.rel)
        if fs is None:
            return None
        scope = fs.scope(func.scope)
        if scope.return_annotation is not None and scope.parent is not None:
            promised = self._instance_of(fs, scope.return_annotation, scope.parent)
            if promised is not None:
                return promised
        # every `return` must agree (see value_of_sym)
        values = {self.value_of(fs, node, scope) for node in scope.returns}
        return values.pop() if len(values) == 1 else None

    def _instance_of(self, fs: FileScopes, annotation: Node, scope: Scope) -> Value | None:
        """The value an annotation promises: an instance of the class it names
        (`Cart`, `mod.Cart`, `Cart[T]`, or the same as a string: `"Cart[T]"`)."""
        node = annotation
        while node.type in ("type", "generic_type", "subscript") and node.named_children:
            node = node.child_by_field_name("value") or node.named_children[0]
        if node.type == "string":
            return self._instance_of_text(fs, node, scope)
        cls = self.value_of(fs, node, scope)
        return InstanceV(cls.rel, cls.scope) if isinstance(cls, ClassV) else None

    def _instance_of_text(self, fs: FileScopes, node: Node, scope: Scope) -> Value | None:
        content = b"".join(
            c.text or b"" for c in node.named_children if c.type == "string_content"
        ).decode("utf-8", "replace")
        dotted = content.split("[", 1)[0].strip()
        parts = dotted.split(".")
        if not dotted or not all(p.isidentifier() for p in parts):
            return None
        found = resolve(scope, parts[0])
        value = self.value_of_sym(Sym(fs.rel, 0 if found is None else found.id, parts[0]))
        for part in parts[1:]:
            if isinstance(value, ModuleV) and self.module_rel(f"{value.name}.{part}"):
                value = ModuleV(f"{value.name}.{part}")
                continue
            member = self.member_of_value(value, part)
            value = None if member is None else self.value_of_sym(member)
        return InstanceV(value.rel, value.scope) if isinstance(value, ClassV) else None

    def value_of_sym(self, sym: Sym) -> Value | None:
        if sym in self._sym_values:
            return self._sym_values[sym]
        self._sym_values[sym] = None  # a cycle evaluates to unknown
        value = self._value_of_sym(sym)
        self._sym_values[sym] = value
        return value

    def _value_of_sym(self, sym: Sym) -> Value | None:
        fs = self.parse(sym.rel)
        if fs is None:
            return None
        scope = fs.scope(sym.scope)
        bindings = scope.bindings.get(sym.name, [])
        if bindings:
            # every binding must agree: a name that may hold two things (or one
            # thing and something unknown) is unknown, and its attributes are left
            # alone rather than guessed
            values = {self._value_of_binding(fs, scope, b) for b in bindings}
            return values.pop() if len(values) == 1 else None
        if scope.kind is ScopeKind.MODULE and not bindings:
            for star, level in scope.star_imports:
                other = self.module_member(self.absolute(fs.rel, star, level), sym.name)
                if other is not None and other != sym:
                    return self.value_of_sym(other)
        entries = scope.instance_values.get(sym.name, [])
        typed = [(node, where) for node, where, annotated in entries if annotated]
        if typed:
            node, where = typed[0]
            return self._instance_of(fs, node, where)
        values = {self.value_of(fs, node, where) for node, where, _ in entries}
        return values.pop() if len(values) == 1 else None

    def _value_of_binding(self, fs: FileScopes, scope: Scope, b: Binding) -> Value | None:
        if b.kind in (BindKind.DEF, BindKind.CLASS) and b.value is not None:
            for child in scope.children:
                if child.node.id == b.value.id:
                    return (FuncV if b.kind is BindKind.DEF else ClassV)(fs.rel, child.id)
            # bound under `global`: the def is in another scope of the file
            for other in fs.scopes:
                if other.node.id == b.value.id:
                    return (FuncV if b.kind is BindKind.DEF else ClassV)(fs.rel, other.id)
            return None
        if b.kind is BindKind.PARAM:
            if scope.method_of is not None and b.name == scope.self_name:
                cls = scope.method_of
                return (ClassV if scope.self_is_class else InstanceV)(fs.rel, cls.id)
            if b.value is not None and scope.parent is not None:
                return self._instance_of(fs, b.value, scope.parent)
            return None
        if b.kind is BindKind.ASSIGN and b.value is not None and b.enter:
            manager = self.value_of(fs, b.value, scope)
            if isinstance(manager, InstanceV):
                enter = self.member(ClassV(manager.rel, manager.scope), "__enter__")
                func = None if enter is None else self.value_of_sym(enter)
                if isinstance(func, FuncV):
                    return self.returned(func)
            return None
        if b.kind is BindKind.ASSIGN and b.value is not None and b.annotated:
            return self._instance_of(fs, b.value, scope)
        if b.kind is BindKind.ASSIGN and b.value is not None:
            return self.value_of(fs, b.value, scope)
        if b.kind is BindKind.IMPORT:
            return ModuleV(b.module) if self.module_rel(b.module) else None
        if b.kind is BindKind.IMPORT_AS:
            return ModuleV(b.module) if self.module_rel(b.module) else None
        if b.kind is BindKind.IMPORT_FROM:
            module = self.absolute(fs.rel, b.module, b.level)
            if self.module_rel(f"{module}.{b.imported}") is not None:
                return ModuleV(f"{module}.{b.imported}")
            member = self.module_member(module, b.imported)
            return None if member is None else self.value_of_sym(member)
        return None


def _is_field(binding: Binding) -> bool:
    """A class-body binding that a generated `__init__` takes: annotated (not
    a `ClassVar`), or attrs' `x = attr.ib()` / `attrs.field()`."""
    if binding.kind is not BindKind.ASSIGN or binding.value is None:
        return False
    text = binding.value.text or b""
    if binding.annotated:
        return not text.split(b"[", 1)[0].endswith(b"ClassVar")
    if binding.value.type != "call":
        return False
    return text.split(b"(", 1)[0].rsplit(b".", 1)[-1] in (b"ib", b"attrib", b"field")


__all__ = [
    "ClassV",
    "FuncV",
    "InstanceV",
    "ModuleV",
    "PythonProject",
    "SuperV",
    "Sym",
    "Value",
    "module_names",
]
