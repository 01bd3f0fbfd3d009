"""The journal store: an entry with a screenshot round-trips through a real SQLite file and survives a restart (a
new process reads it, the picture byte-equal on disk); oversized, empty and non-image screenshots are refused
with one line naming the file and nothing is written; saving the same trade again edits its entry."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.journal.model import backtest_target, clean_state, clean_tags, live_target
from engine.journal.screenshots import MAX_SCREENSHOT_BYTES, ScreenshotRefused, image_format
from engine.journal.store import EntryNotFound, JournalStore

ROOT = Path(__file__).resolve().parents[2]


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG written by hand from the PNG spec: signature, IHDR, IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])  # 8-bit grey
    raw = b"".join(b"\x00" + bytes([120] * width) for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_png_helper_is_a_real_png() -> None:
    import io

    from PIL import Image  # Pillow (a Streamlit dependency) as the independent reader

    with Image.open(io.BytesIO(png_bytes())) as im:
        assert im.size == (3, 2) and im.format == "PNG"


def test_entry_with_a_screenshot_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "ivybt.db"
    picture = png_bytes()
    entry = JournalStore(db).save(
        backtest_target("abc123", 4),
        symbol="SPY",
        trade_time="2020-03-02T00:00:00",
        notes="bought the dip\nsecond line",
        tags=["dip", "patience"],
        setup="pullback",
        state=2,
        screenshots=[("chart 1.png", picture)],
    )
    (shot,) = entry.screenshots
    assert (shot.name, shot.size, shot.format, shot.path) == ("chart 1.png", len(picture), "png", f"{entry.id}/1.png")
    assert (tmp_path / "journal" / str(entry.id) / "1.png").read_bytes() == picture

    script = (
        "import hashlib, json, sys\n"
        "from engine.journal.store import JournalStore\n"
        "s = JournalStore(sys.argv[1])\n"
        "(e,) = s.entries()\n"
        "d = e.to_dict()\n"
        "d['sha'] = [hashlib.sha256(s.file_of(x).read_bytes()).hexdigest() for x in e.screenshots]\n"
        "print(json.dumps(d))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(db)], capture_output=True, text=True, cwd=ROOT, check=True)
    back = json.loads(out.stdout)
    assert back["notes"] == "bought the dip\nsecond line"
    assert (back["run_id"], back["trade_index"], back["symbol"]) == ("abc123", 4, "SPY")
    assert (back["tags"], back["setup"], back["state"]) == (["dip", "patience"], "pullback", 2)
    assert back["sha"] == [hashlib.sha256(picture).hexdigest()]
    assert JournalStore(db).get(entry.id) == entry  # a new store object on the same file


def test_saving_the_same_trade_again_edits_it_and_adds_screenshots(tmp_path: Path) -> None:
    store = JournalStore(tmp_path / "ivybt.db")
    target = live_target("paper", "ord-1", "acct")
    first = store.save(target, symbol="XLK", notes="a", tags=["x"], state=5, screenshots=[("a.png", png_bytes())])
    gif = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 20
    second = store.save(target, notes="b", tags=["y", "Y", " z "], setup="gap", screenshots=[("b.gif", gif)])
    assert second.id == first.id and len(store.entries()) == 1
    assert (second.notes, second.tags, second.setup, second.state) == ("b", ("y", "z"), "gap", None)
    assert second.symbol == "XLK"  # kept when not given again
    assert [s.path for s in second.screenshots] == [f"{first.id}/1.png", f"{first.id}/2.gif"]
    assert store.setups() == ["gap"] and store.tags() == ["y", "z"]
    assert [e.id for e in store.entries(tag="Z")] == [first.id]
    assert store.entries(tag="x") == [] and store.entries(kind="backtest") == []


def test_oversized_screenshot_is_refused_and_nothing_written(tmp_path: Path) -> None:
    store = JournalStore(tmp_path / "ivybt.db")
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (MAX_SCREENSHOT_BYTES + 1 - 8)
    with pytest.raises(ScreenshotRefused) as caught:
        store.save(backtest_target("r1", 0), notes="n", screenshots=[("ok.png", png_bytes()), ("huge.png", big)])
    message = str(caught.value)
    assert (
        message == f"screenshot 'huge.png' refused: 5.0 MB ({MAX_SCREENSHOT_BYTES + 1:,} bytes) is over the 5 MB limit"
    )
    assert "\n" not in message
    assert store.entries() == [] and not (tmp_path / "journal").exists()
    exact = b"\x89PNG\r\n\x1a\n" + b"\0" * (MAX_SCREENSHOT_BYTES - 8)  # exactly at the limit: accepted
    assert store.save(backtest_target("r1", 0), screenshots=[("edge.png", exact)]).screenshots[0].size == len(exact)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("notes.png", b"this is a text file with a .png name\n", "not an image"),
        ("page.jpg", b"<html><body>hi</body></html>", "not an image"),
        ("empty.png", b"", "the file is empty"),
        ("riff.webp", b"RIFF\x10\x00\x00\x00WAVEfmt ", "not an image"),
    ],
)
def test_non_images_are_refused_by_content(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    store = JournalStore(tmp_path / "ivybt.db")
    with pytest.raises(ScreenshotRefused, match=rf"^screenshot '{name}' refused: {reason}"):
        store.save(backtest_target("r1", 1), screenshots=[(name, data)])
    assert store.entries() == []


def test_image_formats_by_signature() -> None:
    assert image_format(png_bytes()) == "png"
    assert image_format(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "jpeg"
    assert image_format(b"GIF87a....") == "gif"
    assert image_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert image_format(b"%PDF-1.7") is None


def test_values_are_checked(tmp_path: Path) -> None:
    for bad in (0, 6, 2.5, "calm", True):
        with pytest.raises(ConfigError, match="emotional state"):
            clean_state(bad)
    assert [clean_state(v) for v in (None, "", 1, "5", 3.0)] == [None, None, 1, 5, 3]
    assert clean_tags(["a, b", "A", "c; d", ""]) == ("a", "b", "c", "d")
    with pytest.raises(ConfigError, match="trade index"):
        backtest_target("r", -1)
    with pytest.raises(ConfigError, match="broker and a fill id"):
        live_target("", "x")


def test_delete_removes_rows_and_files(tmp_path: Path) -> None:
    store = JournalStore(tmp_path / "ivybt.db")
    entry = store.save(backtest_target("r", 0), screenshots=[("a.png", png_bytes())])
    folder = tmp_path / "journal" / str(entry.id)
    assert folder.is_dir()
    store.delete(entry.id)
    assert not folder.exists() and store.entries() == []
    with pytest.raises(EntryNotFound, match="no journal entry with id"):
        store.get(entry.id)


def test_a_failed_write_leaves_no_entry_and_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = JournalStore(tmp_path / "ivybt.db")
    kept = store.save(backtest_target("r", 0), notes="kept", screenshots=[("a.png", png_bytes())])
    original = JournalStore._write_shots

    def write_then_fail(self, conn, entry_id, shots, written):  # the files are written, then the database fails
        original(self, conn, entry_id, shots, written)
        assert written and all(f.exists() for f in written)
        raise OSError("disk full")

    monkeypatch.setattr(JournalStore, "_write_shots", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        store.save(backtest_target("r", 0), notes="changed", screenshots=[("b.png", png_bytes(5, 5))])
    with pytest.raises(OSError, match="disk full"):
        store.save(backtest_target("r", 1), notes="new", screenshots=[("c.png", png_bytes())])
    monkeypatch.undo()
    assert [(e.notes, len(e.screenshots)) for e in store.entries()] == [("kept", 1)]  # rolled back
    left = sorted(p.relative_to(tmp_path / "journal").as_posix() for p in (tmp_path / "journal").rglob("*"))
    assert left == [str(kept.id), f"{kept.id}/1.png"]  # no file, and no folder, of the failed writes
