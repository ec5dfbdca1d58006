"""Random strings a GBNF grammar admits, for property tests of generated
grammars ("everything the grammar lets a model write, the validator accepts").

Covers the GBNF that `GrammarBuilder` writes: rule references, "literals",
[character classes] (ranges, negation, escapes), groups, alternation and the
postfix operators ? * + {m} {m,} {m,n}. Repetitions pick their bounds often,
so length limits get exercised; unbounded ones stay short."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Characters a negated class is sampled from: ASCII (controls included, so a
# class that fails to exclude them is caught), Latin-1, and wider Unicode.
POOL = [chr(c) for c in range(0x00, 0x80)] + ["é", "ß", "ü", "\u2028", "中", "😀", "\x7f"]
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "]": "]", "[": "[", "-": "-"}


@dataclass
class Lit:
    text: str


@dataclass
class Cls:
    ranges: list[tuple[str, str]]
    negated: bool

    def admits(self, char: str) -> bool:
        inside = any(lo <= char <= hi for lo, hi in self.ranges)
        return inside != self.negated


@dataclass
class Ref:
    name: str


@dataclass
class Seq:
    items: list[object]


@dataclass
class Alt:
    options: list[Seq]


@dataclass
class Rep:
    item: object
    low: int
    high: int | None


class _Parser:
    def __init__(self, text: str) -> None:
        self.s, self.i = text, 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def char(self) -> str:
        c = self.s[self.i]
        self.i += 1
        if c != "\\":
            return c
        e = self.s[self.i]
        self.i += 1
        if e == "x":
            code = int(self.s[self.i : self.i + 2], 16)
            self.i += 2
            return chr(code)
        if e == "u":
            code = int(self.s[self.i : self.i + 4], 16)
            self.i += 4
            return chr(code)
        return ESCAPES[e]

    def alt(self) -> Alt:
        options = [self.seq()]
        while self.peek() == "|":
            self.i += 1
            options.append(self.seq())
        return Alt(options)

    def seq(self) -> Seq:
        items: list[object] = []
        while True:
            self.skip()
            c = self.peek()
            if c in ("", "|", ")"):
                return Seq(items)
            items.append(self.postfix(self.atom()))

    def atom(self) -> object:
        c = self.peek()
        if c == '"':
            self.i += 1
            out = []
            while self.peek() != '"':
                out.append(self.char())
            self.i += 1
            return Lit("".join(out))
        if c == "[":
            self.i += 1
            negated = self.peek() == "^"
            if negated:
                self.i += 1
            ranges = []
            while self.peek() != "]":
                lo = self.char()
                hi = lo
                if self.peek() == "-" and self.s[self.i + 1] != "]":
                    self.i += 1
                    hi = self.char()
                ranges.append((lo, hi))
            self.i += 1
            return Cls(ranges, negated)
        if c == "(":
            self.i += 1
            inner = self.alt()
            assert self.peek() == ")", self.s[self.i :]
            self.i += 1
            return inner
        start = self.i
        while self.peek() and (self.peek().isalnum() or self.peek() in "-_"):
            self.i += 1
        assert self.i > start, f"unexpected {self.s[self.i :]!r}"
        return Ref(self.s[start : self.i])

    def postfix(self, item: object) -> object:
        while True:
            c = self.peek()
            if c == "?":
                item, self.i = Rep(item, 0, 1), self.i + 1
            elif c == "*":
                item, self.i = Rep(item, 0, None), self.i + 1
            elif c == "+":
                item, self.i = Rep(item, 1, None), self.i + 1
            elif c == "{":
                end = self.s.index("}", self.i)
                body = self.s[self.i + 1 : end]
                self.i = end + 1
                low_text, _, high_text = body.partition(",")
                low = int(low_text)
                high = low if "," not in body else (int(high_text) if high_text else None)
                item = Rep(item, low, high)
            else:
                return item


def parse_gbnf(gbnf: str) -> dict[str, Alt]:
    rules: dict[str, Alt] = {}
    for line in gbnf.splitlines():
        if not line.strip():
            continue
        name, _, body = line.partition("::=")
        parser = _Parser(body.strip())
        rules[name.strip()] = parser.alt()
        assert parser.i == len(parser.s), f"rule {name!r} not fully parsed"
    return rules


class Sampler:
    def __init__(self, gbnf: str, rng: random.Random) -> None:
        self.rules = parse_gbnf(gbnf)
        self.rng = rng
        self._choices: dict[int, list[str]] = {}

    def sample(self, root: str = "root") -> str:
        out: list[str] = []
        self._emit(Ref(root), out)
        return "".join(out)

    def _count(self, low: int, high: int | None) -> int:
        top = low + 3 if high is None else high
        roll = self.rng.random()
        if roll < 0.25:
            return low
        if roll < 0.5:
            return top
        return self.rng.randint(low, min(top, low + 12))

    def _emit(self, node: object, out: list[str]) -> None:
        if isinstance(node, Lit):
            out.append(node.text)
        elif isinstance(node, Cls):
            key = id(node)
            if key not in self._choices:
                choices = [c for c in POOL if node.admits(c)]
                choices += [lo for lo, _ in node.ranges if node.admits(lo)]
                self._choices[key] = choices
            out.append(self.rng.choice(self._choices[key]))
        elif isinstance(node, Ref):
            self._emit(self.rules[node.name], out)
        elif isinstance(node, Alt):
            self._emit(self.rng.choice(node.options), out)
        elif isinstance(node, Seq):
            for item in node.items:
                self._emit(item, out)
        elif isinstance(node, Rep):
            for _ in range(self._count(node.low, node.high)):
                self._emit(node.item, out)
        else:
            raise TypeError(node)
