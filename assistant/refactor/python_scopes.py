"""Python scopes of one file, from its tree-sitter parse (the repo map's parser).

Every name in the file is recorded with the scope it is evaluated in, and every
binding with the scope it binds in, following Python's own rules: function, lambda,
class and comprehension scopes; default values, annotations, decorators and base
classes evaluated in the enclosing scope; a comprehension's first iterable
evaluated outside it; class bodies invisible to the functions nested in them;
`global` / `nonlocal`; walrus targets binding in the enclosing function. What the
names refer to across files is `python_project`'s job; this module sees one file."""

from __future__ import annotations

import enum
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

from tree_sitter import Node

from assistant.repo.repomap.languages import get_parser


class ScopeKind(enum.Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"
    LAMBDA = "lambda"
    COMPREHENSION = "comprehension"
    # PEP 695's annotation scope of `def f[T]`, `class C[T]`, `type A[T] = …`:
    # it binds the type parameters, between the enclosing scope and the
    # function's or class's own
    TYPE_PARAMS = "type parameters of"


class BindKind(enum.Enum):
    DEF = "function"
    CLASS = "class"
    PARAM = "parameter"
    ASSIGN = "variable"
    IMPORT = "import"  # `import a.b` binds `a`
    IMPORT_AS = "import-as"  # `import a.b as c` binds `c`
    IMPORT_FROM = "from-import"  # `from m import n [as a]`
    GLOBAL = "global"  # a `global`/`nonlocal` statement (not a binding by itself)
    TYPE_PARAM = "type parameter"  # `T` in `def f[T]`


@dataclass
class Binding:
    name: str
    kind: BindKind
    node: Node  # the identifier that is bound
    value: Node | None = None  # assigned expression; the def/class node; a param's annotation
    module: str = ""  # imports: the module named (dotted, without the leading dots)
    level: int = 0  # relative import level (number of leading dots)
    imported: str = ""  # from-imports: the name taken from `module`
    aliased: bool = False  # `as` was used
    enter: bool = False  # `with VALUE as name`: the name is VALUE.__enter__()
    annotated: bool = False  # `value` is an annotation (`name: T = …`): an instance of T

    @property
    def line(self) -> int:
        return self.node.start_point[0] + 1


@dataclass(eq=False)
class Scope:
    id: int
    kind: ScopeKind
    name: str
    node: Node
    parent: Scope | None
    qualname: str
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    children: list[Scope] = field(default_factory=list)
    star_imports: list[tuple[str, int]] = field(default_factory=list)
    # methods: the class they belong to and the name of their first parameter
    method_of: Scope | None = None
    self_name: str = ""
    self_is_class: bool = False  # a classmethod: the first parameter is the class
    # classes: attributes assigned through `self.NAME = …` in their methods
    instance_attrs: dict[str, list[Node]] = field(default_factory=dict)
    # … and the values assigned to them, with the scope each is evaluated in
    # (value, scope, whether the value is an annotation)
    instance_values: dict[str, list[tuple[Node, Scope, bool]]] = field(default_factory=dict)
    returns: list[Node] = field(default_factory=list)  # functions: returned expressions
    return_annotation: Node | None = None
    bases: list[Node] = field(default_factory=list)  # base class expressions
    # classes: their `__init__` is generated from the annotated fields (a
    # dataclass, attrs, a NamedTuple, TypedDict or pydantic model), so
    # `Cls(field=…)` names the field
    fields_init: bool = False

    def bind(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)

    @property
    def is_function_like(self) -> bool:
        return self.kind in (ScopeKind.FUNCTION, ScopeKind.LAMBDA, ScopeKind.COMPREHENSION)


class UseKind(enum.Enum):
    NAME = "name"  # a bare name (load, store or del)
    ATTR = "attribute"  # `obj.NAME`
    IMPORTED = "imported"  # NAME in `from m import NAME [as x]`
    KEYWORD = "keyword"  # NAME in `f(NAME=…)`


@dataclass
class Use:
    kind: UseKind
    node: Node  # the identifier
    scope: Scope  # where it is evaluated
    store: bool = False
    other: Node | None = None  # ATTR: the object; KEYWORD: the called expression
    module: str = ""  # IMPORTED: the module and level
    level: int = 0
    value: Node | None = None  # ATTR stores: the value assigned (`obj.NAME = value`)
    annotated: bool = False  # `value` is the annotation (`obj.NAME: T = …`)

    @property
    def name(self) -> str:
        return _text(self.node)

    @property
    def line(self) -> int:
        return self.node.start_point[0] + 1


@dataclass
class FileScopes:
    rel: str
    source: bytes
    module: Scope
    scopes: list[Scope]
    uses: list[Use]
    error_line: int = 0  # first line of a syntax error (0: none)
    _by_name: dict[str, list[Use]] | None = field(default=None, repr=False)

    def scope(self, scope_id: int) -> Scope:
        return self.scopes[scope_id]

    def uses_named(self, name: str) -> list[Use]:
        if self._by_name is None:
            index: dict[str, list[Use]] = {}
            for use in self.uses:
                index.setdefault(use.name, []).append(use)
            self._by_name = index
        return self._by_name.get(name, [])


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "surrogateescape")


def resolve(scope: Scope, name: str) -> Scope | None:
    """The scope a name used in `scope` binds in; None when no scope of this file
    binds it (a builtin, a star import, or undefined)."""
    module = scope
    while module.parent is not None:
        module = module.parent
    if name in scope.globals:
        return module
    if name in scope.nonlocals:
        outer = scope.parent
        while outer is not None:
            if outer.is_function_like and name in outer.bindings:
                return outer
            outer = outer.parent
        return None
    if name in scope.bindings:
        return scope
    inner, outer = scope, scope.parent
    while outer is not None:
        # Class bodies are not seen from the functions in them, except by an
        # annotation scope made right in the class (PEP 695).
        if outer.kind is not ScopeKind.CLASS or inner.kind is ScopeKind.TYPE_PARAMS:
            if name in outer.globals:
                return module
            if name in outer.bindings and name not in outer.nonlocals:
                return outer
        inner, outer = outer, outer.parent
    return None


_COMPREHENSIONS = {
    "list_comprehension",
    "set_comprehension",
    "dictionary_comprehension",
    "generator_expression",
}
_PATTERN_CONTAINERS = {
    "pattern_list",
    "tuple_pattern",
    "list_pattern",
    "tuple",
    "list",
    "parenthesized_expression",
    "list_splat_pattern",
    "list_splat",
    "as_pattern_target",
}
LOAD, STORE, DEL = 0, 1, 2


class _Builder:
    def __init__(self, rel: str, source: bytes) -> None:
        self.rel = rel
        self.source = source
        self.scopes: list[Scope] = []
        self.uses: list[Use] = []
        # (node, scope, ctx) still to visit; a stack, so deep expressions cannot
        # overflow Python's recursion limit
        self.todo: list[tuple[Node, Scope, int]] = []

    def new_scope(
        self,
        kind: ScopeKind,
        name: str,
        node: Node,
        parent: Scope | None,
        *,
        qual_of: Scope | None = None,
    ) -> Scope:
        """`qual_of`: the scope the qualified name follows, where an annotation
        scope stands between it and `parent` (`f.x`, not `f.f.x`)."""
        named_in = parent if qual_of is None else qual_of
        if named_in is None:
            qual = ""
        elif named_in.parent is None:
            qual = name
        else:
            qual = f"{named_in.qualname}.{name}"
        scope = Scope(len(self.scopes), kind, name, node, parent, qual)
        self.scopes.append(scope)
        if parent is not None:
            parent.children.append(scope)
        return scope

    def push(self, node: Node | None, scope: Scope, ctx: int = LOAD) -> None:
        if node is not None:
            self.todo.append((node, scope, ctx))

    def push_children(self, node: Node, scope: Scope, ctx: int = LOAD) -> None:
        for child in reversed(node.named_children):
            self.todo.append((child, scope, ctx))

    def name_use(self, ident: Node, scope: Scope, ctx: int, binding: Binding | None = None) -> None:
        self.uses.append(Use(UseKind.NAME, ident, scope, store=ctx != LOAD))
        if ctx != LOAD:
            scope.bind(binding or Binding(_text(ident), BindKind.ASSIGN, ident))

    def run(self, root: Node) -> FileScopes:
        module = self.new_scope(ScopeKind.MODULE, "", root, None)
        self.push_children(root, module)
        while self.todo:
            node, scope, ctx = self.todo.pop()
            self.visit(node, scope, ctx)
        self.finish(module)
        error_line = 0
        if root.has_error:
            error_line = _first_error_line(root)
        return FileScopes(self.rel, self.source, module, self.scopes, self.uses, error_line)

    def finish(self, module: Scope) -> None:
        """Bindings made under `global`/`nonlocal` belong to the scope they name;
        `self.x = …` in a method defines an attribute of its class."""
        for scope in self.scopes:
            for name in scope.globals & set(scope.bindings):
                for b in scope.bindings.pop(name):
                    if b.kind is not BindKind.GLOBAL:
                        module.bind(b)
            for name in scope.nonlocals & set(scope.bindings):
                target = resolve(scope, name)
                moved = [b for b in scope.bindings.pop(name) if b.kind is not BindKind.GLOBAL]
                if target is not None:
                    for b in moved:
                        target.bind(b)
        for use in self.uses:
            if use.kind is not UseKind.ATTR or not use.store or use.other is None:
                continue
            if use.other.type != "identifier":
                continue
            owner = resolve(use.scope, _text(use.other))
            if (
                owner is not None
                and owner.method_of is not None
                and not owner.self_is_class
                and owner.self_name == _text(use.other)
            ):
                owner.method_of.instance_attrs.setdefault(use.name, []).append(use.node)
                if use.value is not None:
                    values = owner.method_of.instance_values.setdefault(use.name, [])
                    values.append((use.value, use.scope, use.annotated))

    # ------------------------------------------------------------ visiting

    def visit(self, node: Node, scope: Scope, ctx: int) -> None:
        kind = node.type
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node, scope, ctx)
        elif kind == "identifier":
            self.name_use(node, scope, ctx)
        elif kind in _COMPREHENSIONS:
            self.comprehension(node, scope)
        elif ctx != LOAD and kind in _PATTERN_CONTAINERS:
            self.push_children(node, scope, ctx)
        elif kind in ("comment", "string_content", "escape_sequence", "type_conversion"):
            return
        else:
            self.push_children(node, scope)

    def comprehension(self, node: Node, scope: Scope) -> None:
        inner = self.new_scope(ScopeKind.COMPREHENSION, "<comprehension>", node, scope)
        first = True
        for child in node.named_children:
            if child.type == "for_in_clause":
                self.push(child.child_by_field_name("left"), inner, STORE)
                for right in child.children_by_field_name("right"):
                    self.push(right, scope if first else inner)
                first = False
            else:
                self.push(child, inner)

    def definition(
        self, node: Node, scope: Scope, kind: ScopeKind, bind: BindKind, unnamed: str
    ) -> tuple[Scope, Scope]:
        """A `def` or `class`: its name bound in `scope`, then its annotation
        scope (PEP 695's, or `scope` itself without type parameters), where its
        annotations or bases are evaluated, and its own scope inside that."""
        name = node.child_by_field_name("name")
        text = _text(name) if name is not None else unnamed
        if name is not None:
            self.name_use(name, scope, STORE, Binding(text, bind, name, node))
        annotations = self.type_params(node, text, scope)
        return annotations, self.new_scope(kind, text, node, annotations, qual_of=scope)

    def function(self, node: Node, scope: Scope, ctx: int) -> None:
        annotations, inner = self.definition(node, scope, ScopeKind.FUNCTION, BindKind.DEF, "<def>")
        fname = inner.name
        if scope.kind is ScopeKind.CLASS:
            decorators = _decorator_names(node)
            if "staticmethod" not in decorators:
                inner.method_of = scope
                inner.self_is_class = "classmethod" in decorators or fname in (
                    "__new__",
                    "__init_subclass__",
                    "__class_getitem__",
                )
        self.parameters(node.child_by_field_name("parameters"), scope, annotations, inner)
        inner.return_annotation = node.child_by_field_name("return_type")
        self.push(inner.return_annotation, annotations)
        self.push(node.child_by_field_name("body"), inner)

    def type_params(self, node: Node, name: str, scope: Scope) -> Scope:
        """The annotation scope binding the PEP 695 type parameters of `node`
        (`scope` itself when it has none)."""
        params = node.child_by_field_name("type_parameters")
        if params is None and node.type == "type_alias_statement":
            left = node.child_by_field_name("left")
            generic = left.named_children[0] if left is not None and left.named_children else None
            if generic is not None and generic.type == "generic_type":
                params = next(
                    (c for c in generic.named_children if c.type == "type_parameter"), None
                )
        if params is None:
            return scope
        annotations = self.new_scope(ScopeKind.TYPE_PARAMS, name, params, scope, qual_of=scope)
        for item in params.named_children:
            param = item.named_children[0] if item.type == "type" and item.named_children else item
            bounds: list[Node] = []
            if param.type == "constrained_type":  # `T: int`, `T: (int, str)`
                param, *bounds = param.named_children
                if param.type == "type" and param.named_children:
                    param = param.named_children[0]
            if param.type == "splat_type":  # `*Ts`, `**P`
                param = next((c for c in param.named_children if c.type == "identifier"), param)
            if param.type != "identifier":
                self.push(item, annotations)
                continue
            text = _text(param)
            self.name_use(param, annotations, STORE, Binding(text, BindKind.TYPE_PARAM, param))
            for bound in bounds:
                self.push(bound, annotations)
        return annotations

    def parameters(
        self, params: Node | None, outer: Scope, inner: Scope, body: Scope | None = None
    ) -> None:
        """Binds `params` in `body` (`inner` when not given: a lambda); defaults
        are evaluated in `outer`, annotations in `inner`."""
        if body is None:
            body = inner
        if params is None:
            return
        first = True
        for param in params.named_children:
            ident: Node | None = None
            annotation: Node | None = None
            if param.type == "identifier":
                ident = param
            elif param.type in ("default_parameter", "typed_default_parameter"):
                ident = param.child_by_field_name("name")
                annotation = param.child_by_field_name("type")
                self.push(param.child_by_field_name("value"), outer)
            elif param.type == "typed_parameter":
                annotation = param.child_by_field_name("type")
                ident = next((c for c in param.named_children if c.type == "identifier"), None)
                if ident is None:  # *args: T / **kw: T
                    splat = next((c for c in param.named_children if c.type != "type"), None)
                    if splat is not None:
                        ident = next(
                            (c for c in splat.named_children if c.type == "identifier"), None
                        )
            elif param.type in ("list_splat_pattern", "dictionary_splat_pattern"):
                ident = next((c for c in param.named_children if c.type == "identifier"), None)
            if annotation is not None:
                self.push(annotation, inner)
            if ident is None:
                continue
            text = _text(ident)
            if (
                first
                and body.method_of is not None
                and param.type
                in (
                    "identifier",
                    "typed_parameter",
                )
            ):
                body.self_name = text
            first = False
            self.name_use(ident, body, STORE, Binding(text, BindKind.PARAM, ident, annotation))

    def lambda_(self, node: Node, scope: Scope, ctx: int) -> None:
        inner = self.new_scope(ScopeKind.LAMBDA, "<lambda>", node, scope)
        self.parameters(node.child_by_field_name("parameters"), scope, inner)
        self.push(node.child_by_field_name("body"), inner)

    def class_(self, node: Node, scope: Scope, ctx: int) -> None:
        annotations, inner = self.definition(
            node, scope, ScopeKind.CLASS, BindKind.CLASS, "<class>"
        )
        supers = node.child_by_field_name("superclasses")
        if supers is not None:
            for arg in supers.named_children:
                if arg.type == "keyword_argument":
                    self.push(arg.child_by_field_name("value"), annotations)
                else:
                    inner.bases.append(arg)
                    self.push(arg, annotations)
        inner.fields_init = _fields_init(node, inner.bases)
        self.push(node.child_by_field_name("body"), inner)

    def decorated(self, node: Node, scope: Scope, ctx: int) -> None:
        self.push_children(node, scope)

    def assignment(self, node: Node, scope: Scope, ctx: int) -> None:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        annotation = node.child_by_field_name("type")
        value = annotation or right
        typed = annotation is not None
        if left is not None and left.type == "identifier":
            binding = Binding(_text(left), BindKind.ASSIGN, left, value, annotated=typed)
            self.name_use(left, scope, STORE, binding)
        elif left is not None and left.type == "attribute":
            obj = left.child_by_field_name("object")
            attr = left.child_by_field_name("attribute")
            if attr is not None:
                self.uses.append(
                    Use(
                        UseKind.ATTR,
                        attr,
                        scope,
                        store=True,
                        other=obj,
                        value=value,
                        annotated=typed,
                    )
                )
            self.push(obj, scope)
        else:
            self.push(left, scope, STORE)
        self.push(node.child_by_field_name("type"), scope)
        self.push(right, scope)

    def augmented(self, node: Node, scope: Scope, ctx: int) -> None:
        self.push(node.child_by_field_name("left"), scope, STORE)
        self.push(node.child_by_field_name("right"), scope)

    def for_(self, node: Node, scope: Scope, ctx: int) -> None:
        self.push(node.child_by_field_name("left"), scope, STORE)
        self.push(node.child_by_field_name("right"), scope)
        self.push(node.child_by_field_name("body"), scope)
        self.push(node.child_by_field_name("alternative"), scope)

    def as_pattern(self, node: Node, scope: Scope, ctx: int) -> None:
        alias = node.child_by_field_name("alias")
        parent = node.parent
        if parent is not None and parent.type == "with_item" and alias is not None:
            target = alias.named_children[0] if alias.named_children else None
            value = node.named_children[0] if node.named_children else None
            if target is not None and target.type == "identifier" and value is not None:
                binding = Binding(_text(target), BindKind.ASSIGN, target, value, enter=True)
                self.name_use(target, scope, STORE, binding)
                self.push(value, scope)
                return
        for child in node.named_children:
            if alias is not None and child.id == alias.id:
                self.push_children(child, scope, STORE)
            else:
                self.push(child, scope, ctx)

    def named_expression(self, node: Node, scope: Scope, ctx: int) -> None:
        target = scope
        while target.kind is ScopeKind.COMPREHENSION and target.parent is not None:
            target = target.parent
        name = node.child_by_field_name("name")
        if name is not None:
            self.uses.append(Use(UseKind.NAME, name, scope, store=True))
            target.bind(
                Binding(_text(name), BindKind.ASSIGN, name, node.child_by_field_name("value"))
            )
        self.push(node.child_by_field_name("value"), scope)

    def global_(self, node: Node, scope: Scope, ctx: int) -> None:
        names = scope.globals if node.type == "global_statement" else scope.nonlocals
        for ident in node.named_children:
            if ident.type == "identifier":
                names.add(_text(ident))
                self.uses.append(Use(UseKind.NAME, ident, scope))

    def delete(self, node: Node, scope: Scope, ctx: int) -> None:
        self.push_children(node, scope, DEL)

    def attribute(self, node: Node, scope: Scope, ctx: int) -> None:
        obj = node.child_by_field_name("object")
        attr = node.child_by_field_name("attribute")
        if attr is not None:
            self.uses.append(Use(UseKind.ATTR, attr, scope, store=ctx == STORE, other=obj))
        self.push(obj, scope)

    def subscript(self, node: Node, scope: Scope, ctx: int) -> None:
        self.push_children(node, scope)

    def call(self, node: Node, scope: Scope, ctx: int) -> None:
        func = node.child_by_field_name("function")
        self.push(func, scope)
        args = node.child_by_field_name("arguments")
        if args is None:
            return
        for arg in args.named_children:
            if arg.type == "keyword_argument":
                name = arg.child_by_field_name("name")
                if name is not None:
                    self.uses.append(Use(UseKind.KEYWORD, name, scope, other=func))
                self.push(arg.child_by_field_name("value"), scope)
            else:
                self.push(arg, scope)

    def import_(self, node: Node, scope: Scope, ctx: int) -> None:
        for item in node.children_by_field_name("name"):
            if item.type == "aliased_import":
                dotted = item.child_by_field_name("name")
                alias = item.child_by_field_name("alias")
                if alias is not None and dotted is not None:
                    self.name_use(
                        alias,
                        scope,
                        STORE,
                        Binding(_text(alias), BindKind.IMPORT_AS, alias, module=_text(dotted)),
                    )
            elif item.type == "dotted_name" and item.named_children:
                first = item.named_children[0]
                scope.bind(Binding(_text(first), BindKind.IMPORT, first, module=_text(first)))

    def import_from(self, node: Node, scope: Scope, ctx: int) -> None:
        module_node = node.child_by_field_name("module_name")
        module, level = "", 0
        if module_node is not None:
            if module_node.type == "relative_import":
                for part in module_node.named_children:
                    if part.type == "import_prefix":
                        level = _text(part).count(".")
                    elif part.type == "dotted_name":
                        module = _text(part)
            else:
                module = _text(module_node)
        for child in node.named_children:
            if child.type == "wildcard_import":
                scope.star_imports.append((module, level))
        for item in node.children_by_field_name("name"):
            if item.type == "aliased_import":
                dotted = item.child_by_field_name("name")
                alias = item.child_by_field_name("alias")
                if dotted is None or alias is None or not dotted.named_children:
                    continue
                ident = dotted.named_children[0]
                self.uses.append(Use(UseKind.IMPORTED, ident, scope, module=module, level=level))
                self.name_use(
                    alias,
                    scope,
                    STORE,
                    Binding(
                        _text(alias),
                        BindKind.IMPORT_FROM,
                        alias,
                        module=module,
                        level=level,
                        imported=_text(ident),
                        # `from m import n as n` is the explicit re-export idiom: the
                        # same name, so it follows a rename of `m.n`
                        aliased=_text(alias) != _text(ident),
                    ),
                )
            elif item.type == "dotted_name" and item.named_children:
                ident = item.named_children[0]
                text = _text(ident)
                self.uses.append(Use(UseKind.IMPORTED, ident, scope, module=module, level=level))
                scope.bind(
                    Binding(
                        text, BindKind.IMPORT_FROM, ident, module=module, level=level, imported=text
                    )
                )

    def return_(self, node: Node, scope: Scope, ctx: int) -> None:
        if node.named_children:
            function = scope
            while function.kind is ScopeKind.COMPREHENSION and function.parent is not None:
                function = function.parent
            function.returns.append(node.named_children[0])
        self.push_children(node, scope)

    def keyword_pattern(self, node: Node, scope: Scope, ctx: int) -> None:
        for child in node.named_children[1:]:
            self.push(child, scope, ctx)

    def case_pattern(self, node: Node, scope: Scope, ctx: int) -> None:
        for child in node.named_children:
            if child.type == "dotted_name" and len(child.named_children) == 1:
                ident = child.named_children[0]
                if _text(ident) != "_":
                    self.name_use(ident, scope, STORE)
            elif child.type == "dotted_name" and child.named_children:
                self.name_use(child.named_children[0], scope, LOAD)
            else:
                self.push(child, scope, STORE if child.type == "splat_pattern" else LOAD)

    def class_pattern(self, node: Node, scope: Scope, ctx: int) -> None:
        for child in node.named_children:
            if child.type == "dotted_name" and child.named_children:
                self.name_use(child.named_children[0], scope, LOAD)
            else:
                self.push(child, scope)

    def splat_pattern(self, node: Node, scope: Scope, ctx: int) -> None:
        self.push_children(node, scope, STORE)

    def type_alias(self, node: Node, scope: Scope, ctx: int) -> None:
        left = node.child_by_field_name("left")
        annotations = scope
        generic = left.named_children[0] if left is not None and left.named_children else None
        if generic is not None and generic.type == "generic_type":  # `type A[T] = …`
            alias = next((c for c in generic.named_children if c.type == "identifier"), None)
            if alias is not None:
                self.name_use(alias, scope, STORE)
            annotations = self.type_params(node, _text(alias) if alias else "<type>", scope)
        elif left is not None:
            self.push_children(left, scope, STORE)
        self.push(node.child_by_field_name("right"), annotations)

    def skip(self, node: Node, scope: Scope, ctx: int) -> None:
        return

    def keyword_argument(self, node: Node, scope: Scope, ctx: int) -> None:
        self.push(node.child_by_field_name("value"), scope)


_HANDLERS = {
    "function_definition": _Builder.function,
    "lambda": _Builder.lambda_,
    "class_definition": _Builder.class_,
    "decorated_definition": _Builder.decorated,
    "assignment": _Builder.assignment,
    "augmented_assignment": _Builder.augmented,
    "for_statement": _Builder.for_,
    "as_pattern": _Builder.as_pattern,
    "named_expression": _Builder.named_expression,
    "global_statement": _Builder.global_,
    "nonlocal_statement": _Builder.global_,
    "delete_statement": _Builder.delete,
    "attribute": _Builder.attribute,
    "subscript": _Builder.subscript,
    "call": _Builder.call,
    "import_statement": _Builder.import_,
    "import_from_statement": _Builder.import_from,
    "future_import_statement": _Builder.skip,
    "return_statement": _Builder.return_,
    "keyword_pattern": _Builder.keyword_pattern,
    "case_pattern": _Builder.case_pattern,
    "class_pattern": _Builder.class_pattern,
    "splat_pattern": _Builder.splat_pattern,
    "type_alias_statement": _Builder.type_alias,
    "keyword_argument": _Builder.keyword_argument,
}


def _decorators(node: Node) -> list[str]:
    """The decorators of a `def` or `class` as written, dotted, without their
    call arguments (`dataclasses.dataclass`, `attr.s`)."""
    parent = node.parent
    if parent is None or parent.type != "decorated_definition":
        return []
    return [
        _text(child).lstrip("@").split("(", 1)[0].strip()
        for child in parent.named_children
        if child.type == "decorator"
    ]


def _decorator_names(node: Node) -> set[str]:
    return {dotted.rsplit(".", 1)[-1] for dotted in _decorators(node)}


# Decorators and bases that generate `__init__(self, *, <annotated fields>)`:
# the standard library's, attrs' and pydantic's spellings, matched on the
# dotted text as written (`dataclasses.dataclass`, `attr.s`, `attrs.define`…).
_FIELD_DECORATORS = frozenset({"dataclass", "define", "frozen", "mutable", "attr.s", "attr.attrs"})
_FIELD_BASES = frozenset({"NamedTuple", "TypedDict", "BaseModel", "Struct"})


def _fields_init(node: Node, bases: list[Node]) -> bool:
    if any(
        dotted in _FIELD_DECORATORS or dotted.rsplit(".", 1)[-1] in _FIELD_DECORATORS
        for dotted in _decorators(node)
    ):
        return True
    return any(_text(base).split("[", 1)[0].rsplit(".", 1)[-1] in _FIELD_BASES for base in bases)


def _first_error_line(root: Node) -> int:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return node.start_point[0] + 1
        if node.has_error:
            stack.extend(reversed(node.children))
    return root.start_point[0] + 1


_CACHE: OrderedDict[tuple[str, bytes], FileScopes] = OrderedDict()
CACHE_FILES = 4000  # analyses kept per process (a chat session renames more than once)


def analyze(rel: str, source: bytes) -> FileScopes:
    """The scopes, bindings and name uses of one Python file (kept per process,
    keyed by path and content hash, so a second rename re-reads but does not
    re-parse an unchanged file)."""
    key = (rel, hashlib.blake2b(source, digest_size=16).digest())
    found = _CACHE.get(key)
    if found is not None:
        _CACHE.move_to_end(key)
        return found
    tree = get_parser("python").parse(source)
    result = _Builder(rel, source).run(tree.root_node)
    _CACHE[key] = result
    while len(_CACHE) > CACHE_FILES:
        _CACHE.popitem(last=False)
    return result


__all__ = [
    "BindKind",
    "Binding",
    "FileScopes",
    "Scope",
    "ScopeKind",
    "Use",
    "UseKind",
    "analyze",
    "resolve",
]
