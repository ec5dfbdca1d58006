"""Which model file to use, and the models on disk.

Resolution order: `--model PATH` > `ASSISTANT_MODEL` > config > the default
Gemma 4 E4B file in the user cache. `pull` is one of only two places that touch
the network (the other is the user's own `--endpoint`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from assistant.config import COMMAND_LINE, Settings, user_cache_dir
from assistant.errors import AssistantError, ModelNotFoundError, UsageError


@dataclass(frozen=True)
class KnownModel:
    name: str
    repo_id: str
    filename: str
    description: str


KNOWN_MODELS = {
    m.name: m
    for m in (
        KnownModel(
            "gemma-4-e4b",
            "ggml-org/gemma-4-E4B-it-GGUF",
            "gemma-4-E4B-it-Q4_K_M.gguf",
            "Gemma 4 E4B instruction-tuned, Q4_K_M (about 5 GB) — the default",
        ),
        KnownModel(
            "gemma-4-e2b",
            "ggml-org/gemma-4-E2B-it-GGUF",
            "gemma-4-E2B-it-Q4_K_M.gguf",
            "Gemma 4 E2B instruction-tuned, Q4_K_M — smaller, faster, weaker",
        ),
    )
}
DEFAULT_MODEL = "gemma-4-e4b"


def models_dir() -> Path:
    return user_cache_dir() / "models"


def default_model_path() -> Path:
    return models_dir() / KNOWN_MODELS[DEFAULT_MODEL].filename


def resolve_model_path(settings: Settings) -> Path:
    """The model file to load; ModelNotFoundError (exit 3) with what to do,
    naming where a missing path came from (`--model`, `ASSISTANT_MODEL`, a
    config file) so the user knows which one to fix."""
    value = settings.model
    if value:
        origin = settings.sources.get("model", "default")
        origin = "--model" if origin == COMMAND_LINE else origin
        if value in KNOWN_MODELS:
            path = models_dir() / KNOWN_MODELS[value].filename
        else:
            path = Path(value).expanduser()
        if not path.exists():
            hint = (
                f"Run `assistant model pull {value}`"
                if value in KNOWN_MODELS
                else "Fix it there, or pass --model PATH"
            )
            raise ModelNotFoundError(f"model file not found: {path} (from {origin}). {hint}.")
        return path
    path = default_model_path()
    if not path.exists():
        raise ModelNotFoundError(
            "no model found. Run `assistant model pull` to download Gemma 4 E4B (about 5 GB, once), "
            "or pass --model PATH to any GGUF file."
        )
    return path


def list_local_models() -> list[Path]:
    directory = models_dir()
    return sorted(directory.glob("*.gguf")) if directory.exists() else []


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


HUB_ENDPOINT = "https://huggingface.co"
# The hub's own domains: it redirects downloads to CDN and storage hosts under them
# (cdn-lfs*.huggingface.co, cas-bridge.xethub.hf.co, …).
HUB_DOMAINS = ("huggingface.co", "hf.co")


@dataclass(frozen=True)
class HubHosts:
    """What `model pull` may reach: host names, and domains whose sub-hosts count."""

    names: tuple[str, ...]
    domains: tuple[str, ...]


def hub_hosts(
    environ: Mapping[str, str] | None = None, *, allow_endpoint: bool = False
) -> HubHosts:
    """The hosts of the hub `huggingface_hub` will use. An `HF_ENDPOINT` that
    points anywhere else is refused unless the user passed the flag for it;
    then only that exact host is opened."""
    env = os.environ if environ is None else environ
    endpoint = env.get("HF_ENDPOINT") or HUB_ENDPOINT
    host = (urlparse(endpoint).hostname or "").lower()
    if not host:
        raise UsageError(f"HF_ENDPOINT={endpoint!r} is not a URL")
    if host in HUB_DOMAINS or any(host.endswith("." + d) for d in HUB_DOMAINS):
        return HubHosts((host,), HUB_DOMAINS)
    if not allow_endpoint:
        raise UsageError(
            f"HF_ENDPOINT points at {host}, not the Hugging Face hub; pass --hf-endpoint "
            "to download from it (only that host is then reachable)"
        )
    return HubHosts((host,), ())


def pull(name: str = DEFAULT_MODEL, *, force: bool = False, allow_endpoint: bool = False) -> Path:
    """Download a known model once (resumable), then check size and sha256
    against the hub's own LFS metadata. Network use is confined to this call,
    and to the hub's hosts by name (`hub_hosts`)."""
    if name not in KNOWN_MODELS:
        raise UsageError(f"unknown model {name!r}; known: {', '.join(sorted(KNOWN_MODELS))}")
    model = KNOWN_MODELS[name]
    target = models_dir() / model.filename
    if target.exists() and not force:
        return target
    hosts = hub_hosts(allow_endpoint=allow_endpoint)
    from assistant import netguard

    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    with netguard.allow_network(hosts.names, hosts.domains):
        try:
            from huggingface_hub import HfApi, hf_hub_download
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise AssistantError("huggingface_hub is not installed") from exc
        try:
            info = HfApi().model_info(model.repo_id, files_metadata=True)
            sibling = next(s for s in info.siblings or [] if s.rfilename == model.filename)
            expected_sha = sibling.lfs.sha256 if sibling.lfs else None
            expected_size = sibling.size
            downloaded = hf_hub_download(
                model.repo_id, model.filename, local_dir=models_dir(), force_download=force
            )
        except StopIteration as exc:
            raise AssistantError(f"{model.filename} is not in {model.repo_id}") from exc
        except Exception as exc:
            raise AssistantError(f"download failed: {exc}") from exc
    path = Path(downloaded)
    if expected_size is not None and path.stat().st_size != expected_size:
        path.unlink()
        raise AssistantError(f"size mismatch for {path.name}; removed it, run pull again")
    if expected_sha is not None and sha256_file(path) != expected_sha:
        path.unlink()
        raise AssistantError(f"sha256 mismatch for {path.name}; removed it, run pull again")
    return path
