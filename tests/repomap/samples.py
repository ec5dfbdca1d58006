"""Small source files in each supported language, with the tags they must yield."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    filename: str
    lang: str
    source: str
    defs: tuple[tuple[str, str], ...]  # (kind, name) that must be found
    refs: tuple[str, ...]  # names that must be referenced


SAMPLES: dict[str, Sample] = {
    "python": Sample(
        "a.py",
        "python",
        'import os\nfrom pkg.lib import make_widget, Widget\n\nMAX_SIZE = 10\n\nclass Gadget(Widget):\n    """Doc."""\n    def render(self, size: int = 3,\n               name: str = "x") -> str:\n        return make_widget(size).draw()\n\n    @property\n    def area(self) -> Widget:\n        return self.helper()\n\ndef top_level(a, b):\n    return Gadget().render(a)\n',
        (
            ("class", "Gadget"),
            ("method", "render"),
            ("method", "area"),
            ("function", "top_level"),
            ("constant", "MAX_SIZE"),
        ),
        ("Widget", "make_widget", "draw", "Gadget"),
    ),
    "javascript": Sample(
        "a.js",
        "javascript",
        "import { makeWidget, Widget } from './lib';\nexport const DEFAULT_SIZE = 3;\nexport function buildThing(size) { return makeWidget(size); }\nconst helper = (x) => x * 2;\nclass Gadget extends Widget {\n  render(size) { return helper(size) + this.draw(); }\n}\nmodule.exports.other = function () { return new Gadget(); };\nfunction* gen() { yield 1; }\n",
        (
            ("function", "buildThing"),
            ("function", "helper"),
            ("class", "Gadget"),
            ("method", "render"),
            ("constant", "DEFAULT_SIZE"),
            ("function", "gen"),
        ),
        ("makeWidget", "Widget", "helper", "Gadget", "draw"),
    ),
    "typescript": Sample(
        "a.ts",
        "typescript",
        'import { Widget } from "./lib";\nexport interface Shape { area(): number; }\nexport type Size = number | string;\nexport enum Color { Red, Green }\nexport abstract class Base { abstract draw(): void; }\nexport class Gadget extends Base implements Shape {\n  private size: Size = 1;\n  area(): number { return computeArea(this.size); }\n  draw(): void {}\n}\nexport function computeArea(s: Size): number { return 1; }\nnamespace NS { export const x = 1; }\ndeclare function external(a: string): Widget;\n',
        (
            ("interface", "Shape"),
            ("type", "Size"),
            ("enum", "Color"),
            ("class", "Base"),
            ("class", "Gadget"),
            ("method", "area"),
            ("function", "computeArea"),
            ("module", "NS"),
            ("function", "external"),
        ),
        ("Widget", "Base", "Shape", "Size", "computeArea"),
    ),
    "tsx": Sample(
        "a.tsx",
        "tsx",
        'import { Widget } from "./lib";\nexport interface Shape { area(): number; }\nexport type Size = number | string;\nexport enum Color { Red, Green }\nexport abstract class Base { abstract draw(): void; }\nexport class Gadget extends Base implements Shape {\n  private size: Size = 1;\n  area(): number { return computeArea(this.size); }\n  draw(): void {}\n}\nexport function computeArea(s: Size): number { return 1; }\nnamespace NS { export const x = 1; }\ndeclare function external(a: string): Widget;\nexport const View = () => <Gadget size={1} />;\n',
        (
            ("interface", "Shape"),
            ("class", "Gadget"),
            ("function", "computeArea"),
            ("function", "View"),
        ),
        ("Gadget", "Widget", "computeArea"),
    ),
    "go": Sample(
        "a.go",
        "go",
        'package main\n\nimport "fmt"\n\nconst MaxSize = 10\nvar Global = 3\n\ntype Widget struct { Name string }\ntype Shape interface { Area() float64 }\n\nfunc NewWidget(name string) *Widget { return &Widget{Name: name} }\n\nfunc (w *Widget) Area() float64 {\n\tfmt.Println(w.Name)\n\treturn helper(2)\n}\n',
        (
            ("constant", "MaxSize"),
            ("variable", "Global"),
            ("type", "Widget"),
            ("interface", "Shape"),
            ("function", "NewWidget"),
            ("method", "Area"),
        ),
        ("Widget", "Println", "helper"),
    ),
    "rust": Sample(
        "a.rs",
        "rust",
        'use crate::lib::Widget;\npub const MAX: u32 = 10;\npub struct Gadget { size: u32 }\npub enum Color { Red, Green }\npub trait Shape { fn area(&self) -> f64; }\nimpl Shape for Gadget {\n    fn area(&self) -> f64 { compute(self.size) }\n}\nimpl Gadget {\n    pub fn new(size: u32) -> Self { Gadget { size } }\n}\npub fn compute(x: u32) -> f64 { Widget::make(x); println!("hi"); 1.0 }\nmacro_rules! my_macro { () => {} }\nmod inner {}\ntype Alias = Gadget;\n',
        (
            ("class", "Gadget"),
            ("enum", "Color"),
            ("interface", "Shape"),
            ("method", "area"),
            ("method", "new"),
            ("function", "compute"),
            ("macro", "my_macro"),
            ("module", "inner"),
            ("type", "Alias"),
            ("constant", "MAX"),
        ),
        ("Widget", "Gadget", "Shape", "compute", "make", "println"),
    ),
    "java": Sample(
        "A.java",
        "java",
        "package com.example;\nimport com.example.lib.Widget;\npublic class Gadget extends Widget implements Shape {\n    public static final int MAX_SIZE = 10;\n    public Gadget(int size) { super(size); }\n    public double area() { return Helper.compute(size); }\n    private void draw() { render(); }\n}\ninterface Shape { double area(); }\nenum Color { RED, GREEN }\nrecord Point(int x, int y) {}\n",
        (
            ("class", "Gadget"),
            ("constructor", "Gadget"),
            ("method", "area"),
            ("method", "draw"),
            ("interface", "Shape"),
            ("enum", "Color"),
            ("class", "Point"),
            ("field", "MAX_SIZE"),
        ),
        ("Widget", "Shape", "Helper", "compute", "render"),
    ),
    "c": Sample(
        "a.c",
        "c",
        '#include "lib.h"\n#define MAX_SIZE 10\n#define SQUARE(x) ((x) * (x))\ntypedef struct widget { int size; } widget_t;\nenum color { RED, GREEN };\nstatic int helper(int x);\nint compute_area(widget_t *w) { return helper(w->size) + make_widget(3); }\nchar *widget_name(widget_t *w) { return 0; }\n',
        (
            ("macro", "MAX_SIZE"),
            ("macro", "SQUARE"),
            ("type", "widget_t"),
            ("class", "widget"),
            ("enum", "color"),
            ("function", "helper"),
            ("function", "compute_area"),
            ("function", "widget_name"),
        ),
        ("helper", "make_widget", "widget_t"),
    ),
    "cpp": Sample(
        "a.cpp",
        "cpp",
        '#include "lib.hpp"\nnamespace geo {\nclass Gadget : public Widget {\npublic:\n    Gadget(int size);\n    double area() const;\nprivate:\n    int size_;\n};\ndouble Gadget::area() const { return compute(size_) + std::max(1, 2); }\ntemplate <typename T> T twice(T x) { return x * 2; }\nstruct Point { int x; };\nusing Alias = Gadget;\n}\nint main() { geo::Gadget g(3); g.area(); return make_widget(); }\n',
        (
            ("module", "geo"),
            ("class", "Gadget"),
            ("method", "area"),
            ("function", "twice"),
            ("class", "Point"),
            ("type", "Alias"),
            ("function", "main"),
        ),
        ("Widget", "compute", "make_widget", "Gadget", "max"),
    ),
    "ruby": Sample(
        "a.rb",
        "ruby",
        'require_relative "lib"\nmodule Shapes\n  MAX_SIZE = 10\n  class Gadget < Widget\n    def area(size)\n      compute(size) + helper\n    end\n    def self.build\n      Gadget.new\n    end\n  end\nend\n',
        (
            ("module", "Shapes"),
            ("constant", "MAX_SIZE"),
            ("class", "Gadget"),
            ("method", "area"),
            ("method", "build"),
        ),
        ("Widget", "compute", "Gadget", "new"),
    ),
    "c_sharp": Sample(
        "a.cs",
        "c_sharp",
        "using System;\nnamespace Example.Shapes {\n    public interface IShape { double Area(); }\n    public class Gadget : Widget, IShape {\n        public int Size { get; set; }\n        public Gadget(int size) { Size = size; }\n        public double Area() { return Helper.Compute(Size) + MakeWidget(); }\n    }\n    public struct Point { public int X; }\n    public enum Color { Red, Green }\n    public record Pair(int A, int B);\n}\n",
        (
            ("module", "Example.Shapes"),
            ("interface", "IShape"),
            ("class", "Gadget"),
            ("property", "Size"),
            ("constructor", "Gadget"),
            ("method", "Area"),
            ("class", "Point"),
            ("enum", "Color"),
            ("class", "Pair"),
        ),
        ("Widget", "IShape", "Compute", "MakeWidget", "Helper"),
    ),
    "php": Sample(
        "a.php",
        "php",
        "<?php\nnamespace App;\nuse App\\Lib\\Widget;\nconst MAX_SIZE = 10;\ninterface Shape { public function area(): float; }\ntrait Helps { public function help() {} }\nclass Gadget extends Widget implements Shape {\n    public function area(): float { return compute_area($this->size) + $this->draw(); }\n}\nfunction compute_area($x) { return new Widget($x); }\n",
        (
            ("constant", "MAX_SIZE"),
            ("interface", "Shape"),
            ("interface", "Helps"),
            ("class", "Gadget"),
            ("method", "area"),
            ("function", "compute_area"),
        ),
        ("Widget", "Shape", "compute_area", "draw"),
    ),
    "bash": Sample(
        "a.sh",
        "bash",
        '#!/bin/bash\nMAX_SIZE=10\nbuild_widget() {\n  echo "$1"\n}\nfunction deploy {\n  build_widget "x"\n  helper_cmd --flag\n}\ndeploy\n',
        (("variable", "MAX_SIZE"), ("function", "build_widget"), ("function", "deploy")),
        ("build_widget", "helper_cmd", "deploy"),
    ),
}
