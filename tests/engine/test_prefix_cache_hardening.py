"""The disk prefix cache cannot lie or destroy (issue 11, section 3).

A state file with garbled bytes used to be loaded silently and changed the
output; an index entry naming a file outside the cache got that file deleted
on eviction. Real llama.cpp state files from SmolLM2 for the first; the cache
class on its own, with real files, for the second."""

from __future__ import annotations

import json
import os
from pathlib import Path

from assistant.llm.engine import GenerationRequest, SamplingParams
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.prefix_cache import PrefixCache

GREEDY = SamplingParams(temperature=0.0)


def _run(path: Path, config: EngineConfig, system: str) -> tuple[list[int], int, int]:
    engine = LlamaEngine.load(path, config)
    tok = engine.tokenizer
    prefix = tok.tokenize(f"<|im_start|>system\n{system}<|im_end|>\n", special=True)
    prompt = prefix + tok.tokenize(
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", special=True
    )
    out = [
        t.id
        for t in engine.generate(GenerationRequest(prompt, 8, GREEDY, cache_boundary=len(prefix)))
    ]
    loaded = engine.last_stats.loaded_tokens
    engine.close()
    return out, loaded, len(prefix)


def test_garbled_state_file_is_dropped_and_evaluated_again(
    smollm2_path: Path, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "prefix"
    config = EngineConfig(n_ctx=1024, prefix_cache_dir=cache_dir)
    system = "You are a careful assistant. " * 30
    first, loaded, n_prefix = _run(smollm2_path, config, system)
    assert loaded == 0
    (state,) = cache_dir.glob("*.state")
    data = bytearray(state.read_bytes())
    size = len(data)
    # Garble the middle of the file (KV data), keeping its size.
    for i in range(size // 2, size // 2 + 4096):
        data[i] ^= 0x5A
    state.write_bytes(bytes(data))

    second, loaded, _ = _run(smollm2_path, config, system)
    assert loaded == 0, "a garbled state file was loaded"
    assert second == first
    # It was saved afresh, and that copy loads.
    third, loaded, _ = _run(smollm2_path, config, system)
    assert loaded == n_prefix and third == first


def test_state_file_without_a_recorded_checksum_is_not_loaded(
    smollm2_path: Path, tmp_path: Path
) -> None:
    """An index from before checksums (or edited to drop them) is not trusted."""
    cache_dir = tmp_path / "prefix"
    config = EngineConfig(n_ctx=1024, prefix_cache_dir=cache_dir)
    system = "Answer in one word. " * 30
    first, _, _ = _run(smollm2_path, config, system)
    index_path = cache_dir / PrefixCache.INDEX
    index = json.loads(index_path.read_text())
    for items in index.values():
        for item in items:
            item.pop("sha256")
    index_path.write_text(json.dumps(index))
    again, loaded, _ = _run(smollm2_path, config, system)
    assert loaded == 0 and again == first


def _fill(cache: PrefixCache, prefix: list[int], size: int) -> Path:
    path = cache.path_for(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    cache.add(prefix, path)
    return path


def test_eviction_deletes_only_files_the_cache_named(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    victim = tmp_path / "victim.txt"
    victim.write_text("user data\n")
    inside_victim = cache_dir / "notes.txt"  # in the directory, but not a state name
    cache = PrefixCache(cache_dir, "ns", max_bytes=10_000)
    own = _fill(cache, [1, 2, 3], 4000)
    inside_victim.write_text("keep\n")
    link = cache_dir / ("b" * 32 + ".state")  # a state name that is a symlink out
    link.symlink_to(victim)
    index = json.loads((cache_dir / PrefixCache.INDEX).read_text())
    old = {"n_tokens": 1, "digest": "x", "size": 9_000_000, "used": 0.0}
    index["ns"] += [
        dict(old, file=str(victim)),
        dict(old, file="../victim.txt"),
        dict(old, file="notes.txt"),
        dict(old, file=link.name),
        dict(old, file=7, size="lots", used=float("nan")),
    ]
    index["other"] = "not a list"
    (cache_dir / PrefixCache.INDEX).write_text(json.dumps(index))

    _fill(cache, [4, 5, 6], 4000)  # over the cap: evicts
    assert victim.read_text() == "user data\n"
    assert inside_victim.read_text() == "keep\n"
    assert link.is_symlink()
    assert own.exists()  # the hostile entries were the oldest; our own files fit

    _fill(cache, [7, 8, 9], 8000)  # now our own oldest file must go
    assert not own.exists() and victim.exists()


def test_lookup_never_follows_an_index_path_out(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache = PrefixCache(cache_dir, "ns")
    _fill(cache, [1, 2, 3], 100)
    index = json.loads((cache_dir / PrefixCache.INDEX).read_text())
    index["ns"][0]["file"] = "../elsewhere.state"
    (cache_dir / PrefixCache.INDEX).write_text(json.dumps(index))
    (tmp_path / "elsewhere.state").write_bytes(b"x" * 100)
    assert cache.lookup([1, 2, 3, 4]) is None
    assert (tmp_path / "elsewhere.state").exists()
