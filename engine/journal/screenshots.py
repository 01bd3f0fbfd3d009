"""Screenshots attached to journal entries: images only (judged by their content, not their name), at most
`MAX_SCREENSHOT_BYTES` each, stored as files in the journal folder next to the database
(`<workspace>/journal/<entry id>/<n>.<ext>`), so the database stays small and a picture opens in any viewer.

A refused file raises `ScreenshotRefused` (a ConfigError: one line in the CLI, an error box on the page) naming the
file and the reason; nothing of that entry is written then.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import ConfigError

MAX_SCREENSHOT_BYTES = 5 * 1024 * 1024
"""The size limit of one screenshot (5 MB)."""
FORMATS: tuple[str, ...] = ("png", "jpeg", "gif", "webp")
EXTENSIONS: dict[str, str] = {"png": "png", "jpeg": "jpg", "gif": "gif", "webp": "webp"}
UPLOAD_TYPES: tuple[str, ...] = ("png", "jpg", "jpeg", "gif", "webp")
"""File name endings a file picker offers (the content is checked all the same)."""


class ScreenshotRefused(ConfigError):
    """A screenshot that is not an image, is empty or is over the size limit."""


def image_format(data: bytes) -> str | None:
    """ "png", "jpeg", "gif" or "webp" from the file's first bytes (its signature); None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def check_size(name: str, size: int) -> None:
    """ScreenshotRefused when a file of `size` bytes is empty or over MAX_SCREENSHOT_BYTES."""
    if size == 0:
        raise ScreenshotRefused(f"screenshot {name!r} refused: the file is empty")
    if size > MAX_SCREENSHOT_BYTES:
        raise ScreenshotRefused(
            f"screenshot {name!r} refused: {size / 1024 / 1024:.1f} MB ({size:,} bytes) is over the "
            f"{MAX_SCREENSHOT_BYTES // (1024 * 1024)} MB limit"
        )


def check_screenshot(name: str, data: bytes) -> str:
    """The image format of `data`, or ScreenshotRefused naming `name` and why (empty, too big, not an image)."""
    check_size(name, len(data))
    fmt = image_format(data)
    if fmt is None:
        raise ScreenshotRefused(
            f"screenshot {name!r} refused: not an image (PNG, JPEG, GIF or WebP, judged by content)"
        )
    return fmt


def read_screenshot(path: str | Path) -> tuple[str, bytes]:
    """(file name, bytes) of a screenshot on disk; a file over the limit is refused before it is read whole."""
    file = Path(path).expanduser()
    try:
        size = file.stat().st_size
    except OSError as e:
        raise ScreenshotRefused(f"screenshot {str(path)!r} refused: cannot read it ({e.strerror})") from e
    check_size(file.name, size)  # before reading a huge file whole
    return file.name, file.read_bytes()


def screenshot_file(folder: Path, entry_id: int, number: int, fmt: str) -> Path:
    """Where screenshot `number` of entry `entry_id` lives under the journal `folder`."""
    return folder / str(entry_id) / f"{number}.{EXTENSIONS[fmt]}"
