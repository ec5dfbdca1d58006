"""Renaming one Python symbol: find the definition OLD names, every use that
refers to it (python_project), and refuse when NEW would clash."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from assistant.refactor.errors import RenameRefused
from assistant.refactor.python_project import ClassV, PythonProject, Sym
from assistant.refactor.python_scopes import (
    BindKind,
    FileScopes,
    Scope,
    ScopeKind,
    Use,
    UseKind,
    resolve,
)
from assistant.refactor.target import Candidate, TargetSpec

MAX_NOTES = 20


@dataclass(frozen=True)
class Occurrence:
    rel: str
    start: int  # byte offsets of the identifier
    end: int
    line: int


@dataclass
class SymbolPlan:
    target: Candidate
    occurrences: list[Occurrence]
    notes: list[str] = field(default_factory=list)


_IMPORTS = (BindKind.IMPORT, BindKind.IMPORT_AS, BindKind.IMPORT_FROM, BindKind.GLOBAL)


def _kind(scope: Scope, kind: BindKind) -> str:
    if kind is BindKind.CLASS:
        return "class"
    if kind is BindKind.DEF:
        return "method" if scope.kind is ScopeKind.CLASS else "function"
    if kind is BindKind.PARAM:
        return "parameter"
    if kind is BindKind.TYPE_PARAM:
        return "type parameter"
    if scope.kind is ScopeKind.MODULE:
        return "variable"
    if scope.kind is ScopeKind.CLASS:
        return "class attribute"
    return "local variable"


def _qual(scope: Scope, name: str) -> str:
    return f"{scope.qualname}.{name}" if scope.qualname else name


def _candidates_in(project: PythonProject, fs: FileScopes, spec: TargetSpec) -> list[Candidate]:
    name = spec.name
    out: list[Candidate] = []
    for scope in fs.scopes:
        local = scope.kind not in (ScopeKind.MODULE, ScopeKind.CLASS)
        if local and not (spec.path and spec.qual):
            continue  # a local is named only with FILE::func.name or a position
        bindings = [b for b in scope.bindings.get(name, []) if b.kind not in _IMPORTS]
        if bindings:
            b = bindings[0]
            sym = Sym(fs.rel, scope.id, name)
            out.append(Candidate(fs.rel, b.line, _qual(scope, name), _kind(scope, b.kind), sym))
        elif scope.kind is ScopeKind.CLASS and name in scope.instance_attrs:
            node = scope.instance_attrs[name][0]
            sym = Sym(fs.rel, scope.id, name)
            out.append(
                Candidate(fs.rel, node.start_point[0] + 1, _qual(scope, name), "attribute", sym)
            )
    want = spec.qualified
    if spec.path:
        out = [c for c in out if c.qual == want]
    elif spec.qual:
        out = [c for c in out if c.qual == want or c.qual.endswith("." + want)]
    return out


def _at_position(project: PythonProject, fs: FileScopes, spec: TargetSpec) -> Candidate:
    row = spec.line - 1
    hits: list[Use] = []
    for use in fs.uses:
        start, end = use.node.start_point, use.node.end_point
        if start[0] != row:
            continue
        if spec.column:
            col = spec.column - 1
            # columns count bytes in tree-sitter; people count characters
            line_bytes = fs.source.split(b"\n")[row] if row < fs.source.count(b"\n") + 1 else b""
            col_b = len(line_bytes.decode("utf-8", "replace")[:col].encode("utf-8"))
            if start[1] <= col_b < end[1] or (start[1] <= col_b <= end[1] and col_b == end[1]):
                hits.append(use)
        elif use.store or use.kind is UseKind.IMPORTED:
            hits.append(use)
    syms: dict[Sym, Use] = {}
    for use in hits:
        sym = project.sym_of_use(fs, use)
        if sym is not None:
            syms.setdefault(project.find(sym), use)
    if not syms:
        what = "at" if spec.column else "defined on"
        raise RenameRefused(
            f"no name that can be renamed is {what} {spec.text}"
            + ("" if spec.column else "; add the column (FILE:LINE:COL)")
        )
    if len(syms) > 1:
        names = ", ".join(f"{u.name} (column {u.node.start_point[1] + 1})" for u in syms.values())
        raise RenameRefused(f"several names at {spec.text}: {names}; add the column")
    root, use = next(iter(syms.items()))
    scope = project.scope_of(root.rel, root.scope)
    kind = "name"
    qual = use.name
    line = use.line
    if scope is not None:
        qual = _qual(scope, root.name)
        defs = [b for b in scope.bindings.get(root.name, []) if b.kind not in _IMPORTS]
        if defs:
            kind, line = _kind(scope, defs[0].kind), defs[0].line
        elif scope.kind is ScopeKind.CLASS:
            kind = "attribute"
    return Candidate(root.rel, line, qual, kind, root)


def find_target(
    project: PythonProject,
    spec: TargetSpec,
    files: list[str],
    narrow: list[str],
) -> Candidate | list[Candidate]:
    """The one definition OLD names; the candidates when there are several or none
    (an empty list). `files` hold the name; `narrow` is the PATH arguments."""
    if spec.line:
        fs = project.parse(spec.path)
        if fs is None:
            raise RenameRefused(f"cannot read {spec.path}; nothing was changed")
        return _at_position(project, fs, spec)
    found: list[Candidate] = []
    for rel in files:
        if spec.path and rel != spec.path:
            continue
        if narrow and not any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in narrow):
            continue
        fs = project.parse(rel)
        if fs is not None:
            found.extend(_candidates_in(project, fs, spec))
    groups: dict[Sym, list[Candidate]] = {}
    for cand in found:
        assert isinstance(cand.key, Sym)
        project.ensure(cand.key)
    for cand in found:
        assert isinstance(cand.key, Sym)
        groups.setdefault(project.find(cand.key), []).append(cand)
    if len(groups) == 1:
        first = next(iter(groups.values()))
        # the definition itself, not a module that re-exports it
        best = min(first, key=lambda c: (c.kind == "variable", c.rel, c.line))
        return best
    return [group[0] for group in groups.values()]


def close_names(project: PythonProject, name: str, files: list[str]) -> list[str]:
    """Definition names like `name`, for the "not found" message."""
    names: set[str] = set()
    for rel in files:
        fs = project.parse(rel)
        if fs is None:
            continue
        for scope in fs.scopes:
            if scope.kind in (ScopeKind.MODULE, ScopeKind.CLASS):
                names.update(scope.bindings)
                names.update(scope.instance_attrs)
    return difflib.get_close_matches(name, sorted(names), n=5, cutoff=0.6)


def plan_symbol(
    project: PythonProject, target: Candidate, new: str, files: list[str]
) -> SymbolPlan:
    """Every occurrence of the target in `files` (those holding its name), after
    checking that NEW clashes nowhere."""
    assert isinstance(target.key, Sym)
    old = target.key.name
    home = project.parse(target.key.rel)
    if home is not None and home.error_line:
        raise RenameRefused(
            f"{target.key.rel}, where {target.qual} is defined, does not parse (line "
            f"{home.error_line}); fix it first; nothing was changed"
        )
    project.ensure(target.key)
    resolved: list[tuple[FileScopes, Use, Sym | None]] = []
    notes: list[str] = []
    for rel in files:
        fs = project.parse(rel)
        if fs is None:
            continue
        uses = fs.uses_named(old)
        if fs.error_line:
            if uses:
                notes.append(f"skipped {rel}: it does not parse (line {fs.error_line})")
            continue
        for use in uses:
            resolved.append((fs, use, project.sym_of_use(fs, use)))
    root = project.find(target.key)
    occurrences: list[Occurrence] = []
    bound: set[Sym] = {target.key}
    renamed: list[tuple[FileScopes, Use]] = []
    unknown: list[str] = []
    target_scope = project.scope_of(target.key.rel, target.key.scope)
    is_member = target_scope is not None and target_scope.kind is ScopeKind.CLASS
    for fs, use, sym in resolved:
        if sym is not None and project.find(sym) == root:
            node = use.node
            occurrences.append(
                Occurrence(fs.rel, node.start_byte, node.end_byte, node.start_point[0] + 1)
            )
            bound.add(sym)
            renamed.append((fs, use))
        elif sym is None and _may_be_target(use, is_member, target.kind == "parameter"):
            unknown.append(f"{fs.rel}:{use.line}")
    _check_clashes(project, new, bound, renamed)
    if is_member and target_scope is not None:
        notes.extend(_overrides(project, target.key, target_scope))
    if target_scope is not None and target_scope.kind is ScopeKind.MODULE:
        notes.extend(_in_all(project, bound, old))
    if target_scope is not None and target_scope.kind in (ScopeKind.MODULE, ScopeKind.CLASS):
        notes.extend(_named_by_string(project, target.key, target_scope))
    if unknown:
        shown = ", ".join(unknown[:MAX_NOTES]) + (" …" if len(unknown) > MAX_NOTES else "")
        notes.append(
            f"not renamed: {len(unknown)} use(s) of {old} on objects (or calls) whose type "
            f"is not known statically (check them): {shown}"
        )
    occurrences.sort(key=lambda o: (o.rel, o.start))
    unique = list(dict.fromkeys(occurrences))
    return SymbolPlan(target, unique, notes)


def _in_all(project: PythonProject, bound: set[Sym], old: str) -> list[str]:
    """`__all__` lists names as strings, which a rename leaves alone: say where."""
    out = []
    quoted = (f'"{old}"'.encode(), f"'{old}'".encode())
    for rel in sorted({s.rel for s in bound if s.scope == 0}):
        fs = project.parse(rel)
        for b in [] if fs is None else fs.module.bindings.get("__all__", []):
            text = b.value.text if b.value is not None else b""
            if text and any(q in text for q in quoted):
                out.append(f"not renamed: the string {old!r} in __all__ ({rel}:{b.line})")
    return out


# Calls whose first argument must spell the name the result is bound to.
_SELF_NAMING = frozenset(
    {"TypeVar", "ParamSpec", "TypeVarTuple", "NewType", "NamedTuple", "namedtuple", "TypedDict"}
)


def _named_by_string(project: PythonProject, sym: Sym, scope: Scope) -> list[str]:
    """`T = TypeVar("T")`: the string, which a rename leaves alone, no longer
    matches the name (type checkers insist that it does): say where."""
    fs = project.parse(sym.rel)
    out = []
    for b in [] if fs is None else scope.bindings.get(sym.name, []):
        call = b.value
        if b.kind is not BindKind.ASSIGN or call is None or call.type != "call" or b.annotated:
            continue
        func, args = call.child_by_field_name("function"), call.child_by_field_name("arguments")
        first = args.named_children[0] if args is not None and args.named_children else None
        callee = (func.text or b"").rsplit(b".", 1)[-1].decode() if func is not None else ""
        spelled = first is not None and first.type == "string" and first.text
        if callee in _SELF_NAMING and spelled and spelled.strip(b"\"'") == sym.name.encode():
            out.append(
                f"not renamed: the string {sym.name!r} in {callee}(…) ({sym.rel}:{b.line}); "
                "change it to the new name"
            )
    return out


def _may_be_target(use: Use, member: bool, parameter: bool) -> bool:
    """A use whose object (or callee) is unknown and might be the target's."""
    return (use.kind is UseKind.ATTR and member) or (use.kind is UseKind.KEYWORD and parameter)


def _overrides(project: PythonProject, sym: Sym, cls_scope: Scope) -> list[str]:
    """Subclasses that define the attribute again: they are another symbol and
    keep their name, so after the rename they no longer override it. Said, not
    changed (as rope does without in_hierarchy)."""
    cls = ClassV(sym.rel, cls_scope.id)
    out = []
    for fs in project.parsed():
        for sub in fs.scopes:
            if sub.kind is not ScopeKind.CLASS or sub is cls_scope:
                continue
            if sym.name in sub.bindings and cls in project.mro(ClassV(fs.rel, sub.id))[1:]:
                line = sub.bindings[sym.name][0].line
                out.append(
                    f"not renamed: {sub.qualname}.{sym.name} ({fs.rel}:{line}) overrides "
                    f"{cls_scope.qualname}.{sym.name}; after the rename it no longer does"
                )
    return out


def _clash(what: str) -> RenameRefused:
    return RenameRefused(what + "; nothing was changed")


def _first_binding_line(scope: Scope, name: str) -> int:
    if name in scope.bindings:
        return scope.bindings[name][0].line
    return scope.instance_attrs[name][0].start_point[0] + 1


def _check_clashes(
    project: PythonProject, new: str, bound: set[Sym], renamed: list[tuple[FileScopes, Use]]
) -> None:
    scopes: dict[tuple[str, int], Scope] = {}
    for sym in bound:
        scope = project.scope_of(sym.rel, sym.scope)
        if scope is not None:
            scopes[(sym.rel, sym.scope)] = scope
    # 1. NEW is already bound where OLD is bound (or, for an attribute, in the class
    #    hierarchy)
    for (rel, _sid), scope in sorted(scopes.items(), key=lambda kv: kv[0]):
        if new in scope.bindings or new in scope.instance_attrs:
            raise _clash(
                f"{new} already exists in {_where(scope)} ({rel}:{_first_binding_line(scope, new)})"
            )
        if scope.kind is ScopeKind.CLASS:
            cls = ClassV(rel, scope.id)
            other = project.member(cls, new)
            if other is not None:
                owner = project.scope_of(other.rel, other.scope)
                line = _first_binding_line(owner, new) if owner is not None else 0
                raise _clash(
                    f"{new} already exists in {_where(owner) if owner else 'a base class'} "
                    f"({other.rel}:{line}), which {scope.name} inherits"
                )
            for fs in project.parsed():
                for sub in fs.scopes:
                    if (
                        sub.kind is ScopeKind.CLASS
                        and (new in sub.bindings or new in sub.instance_attrs)
                        and cls in project.mro(ClassV(fs.rel, sub.id))[1:]
                    ):
                        raise _clash(
                            f"{new} already exists in subclass {sub.qualname} "
                            f"({fs.rel}:{_first_binding_line(sub, new)})"
                        )
    # 2. a renamed use would be captured by a NEW bound between it and its definition
    for fs, use in renamed:
        if use.kind is not UseKind.NAME:
            continue
        home = resolve(use.scope, use.name)
        cur: Scope | None = use.scope
        while cur is not None and cur is not home:
            if new in cur.bindings and (cur is use.scope or cur.kind is not ScopeKind.CLASS):
                raise _clash(
                    f"renaming the use at {fs.rel}:{use.line} would make it refer to the "
                    f"{new} defined at {fs.rel}:{cur.bindings[new][0].line}"
                )
            cur = cur.parent
    # 3. an existing use of NEW would be captured by the renamed definition
    for (rel, _sid), scope in scopes.items():
        home_fs = project.parse(rel)
        if home_fs is None:
            continue
        for use in home_fs.uses_named(new):
            if use.kind is not UseKind.NAME or not _sees(use.scope, scope):
                continue
            now = resolve(use.scope, new)
            if now is None or (now is not scope and _is_ancestor(now, scope)):
                raise _clash(
                    f"{new} is already used at {rel}:{use.line}"
                    + (" (a builtin or a global)" if now is None else "")
                    + f"; after the rename it would refer to the renamed {_where(scope)} name"
                )


def _where(scope: Scope) -> str:
    if scope.kind is ScopeKind.MODULE:
        return "the module"
    return f"{scope.kind.value} {scope.qualname}"


def _is_ancestor(outer: Scope, inner: Scope) -> bool:
    cur = inner.parent
    while cur is not None:
        if cur is outer:
            return True
        cur = cur.parent
    return False


def _sees(inner: Scope, outer: Scope) -> bool:
    """Whether a name used in `inner` can resolve to a binding of `outer`."""
    if inner is outer:
        return True
    if outer.kind is ScopeKind.CLASS:
        return False
    return _is_ancestor(outer, inner)


__all__ = ["Occurrence", "SymbolPlan", "close_names", "find_target", "plan_symbol"]
