"""No emoji or pictograph in the app's source: a plain Debian box has no colour-emoji font, so they render as
empty boxes. Icons are Material icons (`:material/name:`) or plain words."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Code point ranges of emoji and pictographs (Unicode blocks): the symbol-and-pictograph planes, misc symbols
#: and dingbats, misc technical (hourglass, stopwatch), geometric shapes (play triangle, circles), misc symbols
#: and arrows (stars, squares), plus the emoji variation selector and zero-width joiner.
PICTOGRAPHS = (
    (0x1F000, 0x1FAFF),
    (0x2600, 0x27BF),
    (0x2300, 0x23FF),
    (0x25A0, 0x25FF),
    (0x2B00, 0x2BFF),
    (0xFE0F, 0xFE0F),
    (0x200D, 0x200D),
)


def is_pictograph(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in PICTOGRAPHS)


def app_sources() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "pages").rglob("*.py"))]


def test_the_ranges_catch_the_emoji_the_app_used_and_leave_text_alone() -> None:
    for emoji in ("🟢", "🔴", "⚪", "⏳", "🕓", "▶️", "✅", "❌", "⛔", "⭐", "🔔"):
        assert any(is_pictograph(ch) for ch in emoji), emoji
    for text in ("–", "—", "·", "…", "×", "→", "±", "é", "€", "≥"):
        assert not is_pictograph(text), text


def test_no_emoji_in_ui_or_pages() -> None:
    found = []
    for path in app_sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            hits = sorted({f"U+{ord(ch):04X}" for ch in line if is_pictograph(ch)})
            if hits:
                found.append(f"{path.relative_to(ROOT)}:{number}: {' '.join(hits)}")
    assert found == []
