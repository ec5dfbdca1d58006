"""assistant/terminal.py: what untrusted text may put on a terminal."""

from __future__ import annotations

from assistant.terminal import printable, show_controls

ESCAPES = "clear\x1b[2J title\x1b]0;pwned\x07 csi\x9b31m back\x08 over\rwrite del\x7f"


def test_printable_shows_every_control_and_keeps_layout_and_emoji() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # joined by zero-width joiners
    text = printable(f"{ESCAPES}\n\tindented {family}")
    assert text == (
        f"clear␛[2J title␛]0;pwned␇ csi<U+009B>31m back␈ over␍write del␡\n\tindented {family}"
    )
    assert not any(ord(c) < 0x20 and c not in "\t\n" for c in text)


def test_show_controls_also_shows_what_reorders_or_hides_code() -> None:
    line = 'access = "user\u202e \u2066// admin\u2069 \u2066"\u200b'
    shown = show_controls(line)
    assert "\u202e" not in shown and "\u2066" not in shown and "\u200b" not in shown
    assert "<U+202E>" in shown and "<U+200B>" in shown
    assert show_controls(ESCAPES) == printable(ESCAPES)
