from __future__ import annotations

import numpy as np

from assistant.repo.repomap.rank import (
    build_graph,
    identifier_weight,
    mention_terms,
    pagerank,
    rank,
)


def test_pagerank_sums_to_one_and_follows_edges() -> None:
    src = np.array([0, 1, 2], dtype=np.int32)
    dst = np.array([2, 2, 0], dtype=np.int32)
    r = pagerank(4, src, dst, np.ones(3))
    assert abs(r.sum() - 1) < 1e-9
    assert r[2] > r[0] > r[1]
    assert r[3] == r[1]  # nothing links to either


def test_personalisation_moves_rank() -> None:
    src = np.array([0, 1], dtype=np.int32)
    dst = np.array([2, 3], dtype=np.int32)
    plain = pagerank(4, src, dst, np.ones(2))
    personal = pagerank(4, src, dst, np.ones(2), np.array([1.0, 0, 0, 0]))
    assert plain[2] == plain[3]
    assert personal[2] > personal[3]


def test_identifier_weights() -> None:
    rare = identifier_weight("build_fancy_widget", 1, 2, 1000)
    common = identifier_weight("build_fancy_widget", 1, 900, 1000)
    private = identifier_weight("_build_fancy_widget", 1, 2, 1000)
    short = identifier_weight("go", 1, 2, 1000)
    shared = identifier_weight("build_fancy_widget", 10, 2, 1000)
    assert rare > common and rare > private and rare > short and rare > shared
    assert identifier_weight("isinstance", 1, 2, 1000) == 0.0


def test_graph_and_ranking_are_deterministic() -> None:
    inputs = {
        "a.py": (["alpha_func"], {"beta_func": 3, "gamma_func": 1}),
        "b.py": (["beta_func"], {"gamma_func": 1}),
        "c.py": (["gamma_func"], {}),
        "d.py": (["delta_func"], {}),
    }
    g1 = build_graph(inputs)
    g2 = build_graph(dict(reversed(list(inputs.items()))))
    assert g1.files == g2.files
    r1 = rank(g1, ["a.py"])
    r2 = rank(g2, ["a.py"])
    assert r1.file_rank == r2.file_rank
    assert r1.top_definitions(10) == r2.top_definitions(10)
    fr = r1.file_rank
    assert fr["b.py"] > fr["d.py"] and fr["c.py"] > fr["d.py"]
    header, data = g1.dumps()
    g3 = type(g1).loads(header, data)
    assert rank(g3, ["a.py"]).file_rank == fr


def test_mentions() -> None:
    words, paths = mention_terms(["why does create_engine fail in pkg/engine.py?"])
    assert "create_engine" in words
    assert "pkg/engine.py" in paths
    inputs = {
        "x.py": (["first_thing"], {}),
        "y.py": (["second_thing"], {}),
        "z.py": ([], {"first_thing": 1, "second_thing": 1}),
    }
    g = build_graph(inputs)
    assert rank(g, mentions=["second_thing"]).file_rank["y.py"] > rank(g).file_rank["y.py"]
    assert rank(g, mentions=["look at y.py"]).file_rank["y.py"] > rank(g).file_rank["x.py"]
