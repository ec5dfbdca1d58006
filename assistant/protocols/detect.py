"""Which protocol a GGUF gets, and building it from a loaded model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from assistant.errors import ModelLoadError, UsageError
from assistant.llm.tokenizer import Tokenizer
from assistant.protocols.base import ChatProtocol
from assistant.protocols.gemma4_format import SIGNATURE_MARKERS
from assistant.protocols.template import TemplateProblem

GEMMA4 = "gemma4"
GENERIC = "generic"


def protocol_for_template(chat_template: str | None) -> str:
    """ "gemma4" when the chat template speaks Gemma 4's markers, else "generic"."""
    template = chat_template or ""
    if all(marker.value in template for marker in SIGNATURE_MARKERS):
        return GEMMA4
    return GENERIC


def protocol_for_metadata(metadata: Mapping[str, object]) -> str:
    template = metadata.get("tokenizer.chat_template")
    return protocol_for_template(template if isinstance(template, str) else None)


def read_template_file(path: Path) -> str:
    """A chat template the user gave (`chat_template = PATH`, `--chat-template`)."""
    try:
        return path.expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read the chat template {path}: {reason}") from None


def make_protocol(
    tokenizer: Tokenizer,
    chat_template: str | None,
    metadata: Mapping[str, object] | None = None,
    *,
    template_path: Path | None = None,
) -> ChatProtocol:
    """The protocol object for a loaded model (its tokenizer and chat template,
    or the user's template file instead). A template that cannot be used is
    one clear ModelLoadError line."""
    source = "gguf"
    if template_path is not None:
        chat_template = read_template_file(template_path)
        source = str(template_path)
    try:
        return _make(tokenizer, chat_template, metadata, source)
    except TemplateProblem as exc:
        where = "the model's chat template" if source == "gguf" else f"chat template {source}"
        raise ModelLoadError(f"{where}: {exc}") from None


def _make(
    tokenizer: Tokenizer,
    chat_template: str | None,
    metadata: Mapping[str, object] | None,
    source: str,
) -> ChatProtocol:
    if chat_template is not None and protocol_for_template(chat_template) == GEMMA4:
        from assistant.protocols.gemma4 import Gemma4Protocol

        return Gemma4Protocol(tokenizer, chat_template, source=source)
    from assistant.protocols.generic import GenericProtocol

    metadata = metadata or {}

    def piece(key: str) -> str:
        value = metadata.get(key)
        try:
            token = int(str(value))
        except ValueError:
            return ""
        return tokenizer.piece(token).decode("utf-8", "replace")

    add_bos = str(metadata.get("tokenizer.ggml.add_bos_token", "false")).lower() == "true"
    return GenericProtocol(
        tokenizer,
        chat_template,
        bos_token=piece("tokenizer.ggml.bos_token_id"),
        eos_token=piece("tokenizer.ggml.eos_token_id"),
        add_bos=add_bos,
        source=source,
    )


def describe_template(chat_template: str | None) -> dict[str, str]:
    """What `model info` shows about a chat template, from its text alone:
    its generation (July 2026 canonical / April / other), how thinking shows,
    or the problem that makes it unusable."""
    from assistant.protocols.template import ChatTemplate, gemma4_kind

    if chat_template is None:
        return {"template": "none (built-in ChatML is used)", "thinking": "-"}
    try:
        template = ChatTemplate(chat_template, bos_token="<bos>", eos_token="<eos>")
        if protocol_for_template(chat_template) != GEMMA4:
            template.render([{"role": "user", "content": "u"}])
            return {"template": gemma4_kind(chat_template).value, "thinking": "-"}
        from assistant.protocols.gemma4 import describe_thinking

        return {
            "template": gemma4_kind(chat_template).value,
            "thinking": describe_thinking(template),
        }
    except TemplateProblem as exc:
        return {"template": f"unusable: {exc}", "thinking": "-"}
