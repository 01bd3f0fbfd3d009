"""Where bars come from: the `DataSource` protocol and the file-based sources.

A source is anything with a ``name``, a list of ``symbols()``, ``load(symbol)`` returning the standard frame
(see `engine.data.validate`) and ``fingerprint(symbol)``, a short string that changes whenever the symbol's
data changes (used as the cache key). Broker bar sources (Alpaca, IBKR) live in ``brokers/`` and implement
the same protocol; they should build their frames with `engine.data.validate.normalize_bars`.

Sources here:
    * `FolderSource(path)`: a folder of ``<SYMBOL>.csv`` / ``<SYMBOL>.parquet`` files (symbol = upper-cased stem).
    * `BundledSource()`: the real sample shipped in ``engine/data/sample`` (the offline default): daily bars, and
      the intraday series of ``sample/intraday`` (BTC-PERP 1 min, EURUSD 1 h) by symbol like any other.
    * `WorkspaceSource()`: symbols imported with `engine.data.imports.import_files` (Parquet in the workspace).
    * `CombinedSource(sources)`: the first source that has a symbol wins. `get_source(None)` returns
      workspace imports first, then the bundled sample, so imported symbols are usable everywhere.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from engine.data.validate import SUPPORTED_SUFFIXES, read_bars
from engine.errors import DataError
from engine.store.workspace import data_dir

SAMPLE_DIR: Path = Path(__file__).resolve().parent / "sample"
INTRADAY_DIR: Path = SAMPLE_DIR / "intraday"
"""The bundled intraday series (open-time labels, naive UTC), served by `BundledSource` beside the daily ones."""


@runtime_checkable
class DataSource(Protocol):
    """What the engine needs from any bar provider.

    Attributes:
        name: a stable identifier, shown to users and part of the cache key (e.g. "bundled", "folder:/x").
    """

    name: str

    def symbols(self) -> list[str]:
        """Symbols this source can load (upper case, sorted)."""
        ...

    def load(self, symbol: str) -> pd.DataFrame:
        """One symbol's bars: DatetimeIndex "date" ascending; float64 open, high, low, close, volume.

        Raises DataError for an unknown symbol or bad data.
        """
        ...

    def fingerprint(self, symbol: str) -> str:
        """A string that changes whenever `load(symbol)` would return different data ("" = never cache)."""
        ...


GET_SYMBOL_HINT = (
    "get it with `ivybt data update {symbol}` (or Update data on the Data page), or import a CSV/Parquet file"
)
"""How to add a symbol that no source has (the last part of the default source's unknown-symbol error)."""


def unknown_symbol(
    symbol: str, available: Sequence[str], where: str, tried: Sequence[str] = (), fix: str = ""
) -> DataError:
    """The error for a symbol a source does not have: close matches and how many symbols exist.

    tried: one description per place that was searched (e.g. "workspace imports /ws/data (2 symbols)"), so a
    combined source names every source it tried; fix: what to do about it (appended as is).
    """
    close = difflib.get_close_matches(symbol.upper(), list(available), n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    looked = f"; looked in: {'; '.join(tried)}" if tried else ""
    todo = f"; {fix}" if fix else ""
    return DataError(f"unknown symbol {symbol!r} in {where} ({len(available)} symbols available){hint}{looked}{todo}")


def describe_source(source: DataSource) -> str:
    """One phrase naming a source, where it reads from and how many symbols it has (for error messages)."""
    label = {"workspace": "workspace imports", "bundled": "bundled sample"}.get(source.name, source.name)
    path = getattr(source, "path", None)
    try:
        count = f"{len(source.symbols())} symbols"
    except DataError as exc:
        count = f"unreadable: {exc}"
    if path is None or str(path) in label:
        return f"{label} ({count})"
    return f"{label} {path} ({count})"


class FolderSource:
    """A folder of per-symbol files ``<SYMBOL>.csv`` or ``<SYMBOL>.parquet`` (symbol = upper-cased file stem).

    Each load reads and validates the file (`read_bars`); wrap loads in `engine.data.cache.load_cached` to
    skip re-parsing. Files starting with "." or "_" are ignored (temporary or private files).
    """

    def __init__(self, path: str | Path, name: str | None = None, suffixes: Sequence[str] = SUPPORTED_SUFFIXES):
        self.path = Path(path).expanduser().resolve()
        if self.path.is_file():
            raise DataError(f"data folder expected, got a file: {self.path} (give the folder that holds it)")
        if not self.path.is_dir():
            raise DataError(f"data folder not found: {self.path}")
        self.suffixes = tuple(s.lower() for s in suffixes)
        self.name = name or f"folder:{self.path}"
        self._listing: tuple[int, dict[str, list[Path]]] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _files(self) -> dict[str, list[Path]]:
        """Symbol -> files, re-listed only when the folder's mtime changes (a file added, removed or renamed)."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except OSError as exc:
            raise DataError(f"data folder not readable: {self.path} ({exc})") from exc
        if self._listing is not None and self._listing[0] == stamp:
            return self._listing[1]
        found: dict[str, list[Path]] = {}
        for p in self.path.iterdir():
            if p.suffix.lower() in self.suffixes and not p.name.startswith((".", "_")) and p.is_file():
                found.setdefault(p.stem.upper(), []).append(p)
        self._listing = (stamp, found)
        return found

    def symbols(self) -> list[str]:
        return sorted(self._files())

    def path_of(self, symbol: str) -> Path:
        """The file holding `symbol` (DataError if none, or if two files claim it)."""
        files = self._files()
        hits = files.get(str(symbol).strip().upper())
        if not hits:
            raise unknown_symbol(str(symbol), sorted(files), f"{self.name}")
        if len(hits) > 1:
            names = sorted(p.name for p in hits)
            raise DataError(f"symbol {symbol!r} is ambiguous in {self.path}: files {names}; keep only one")
        return hits[0]

    def load(self, symbol: str) -> pd.DataFrame:
        return read_bars(self.path_of(symbol))

    def fingerprint(self, symbol: str) -> str:
        """File name, size in bytes and modification time (ns): cheap, and changes when the file does."""
        path = self.path_of(symbol)
        st = path.stat()
        return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"


class BundledSource(FolderSource):
    """The real sample shipped with the package: 36 daily symbols to 2026-06-09 (sample/README.md) and, in
    sample/intraday/, BTC-PERP (1-minute bars, 24/7) and EURUSD (hourly, FX week) (sample/intraday/README.md)."""

    def __init__(self) -> None:
        super().__init__(SAMPLE_DIR, name="bundled", suffixes=(".csv",))

    def _files(self) -> dict[str, list[Path]]:
        found = {sym: list(paths) for sym, paths in super()._files().items()}
        for p in sorted(INTRADAY_DIR.glob("*.csv")):
            found.setdefault(p.stem.upper(), []).append(p)
        return found


class WorkspaceSource(FolderSource):
    """Symbols imported into the workspace (``<workspace>/data/<SYMBOL>.parquet``), already validated."""

    def __init__(self) -> None:
        super().__init__(data_dir(), name="workspace", suffixes=(".parquet",))


class CombinedSource:
    """Several sources as one: a symbol is loaded from the first source that has it.

    The fingerprint includes the owning source's name, so importing a symbol that shadows a bundled one
    invalidates cached bars.
    """

    def __init__(self, sources: Sequence[DataSource], name: str | None = None):
        if not sources:
            raise DataError("CombinedSource needs at least one source")
        self.sources = list(sources)
        self.name = name or "+".join(s.name for s in self.sources)

    def __repr__(self) -> str:
        return f"CombinedSource({self.sources!r})"

    def symbols(self) -> list[str]:
        return sorted({sym for s in self.sources for sym in s.symbols()})

    def source_of(self, symbol: str) -> DataSource:
        """The source `symbol` is loaded from (DataError with close matches if none has it)."""
        sym = str(symbol).strip().upper()
        for s in self.sources:
            if sym in s.symbols():
                return s
        tried = [describe_source(s) for s in self.sources]
        fix = GET_SYMBOL_HINT.format(symbol=sym) if self.name == "default" else ""
        raise unknown_symbol(str(symbol), self.symbols(), self.name, tried, fix)

    def load(self, symbol: str) -> pd.DataFrame:
        return self.source_of(symbol).load(symbol)

    def fingerprint(self, symbol: str) -> str:
        src = self.source_of(symbol)
        inner = src.fingerprint(symbol)
        return f"{src.name}|{inner}" if inner else ""


def default_source() -> CombinedSource:
    """Workspace imports first, then the bundled sample."""
    return CombinedSource([WorkspaceSource(), BundledSource()], name="default")


def get_source(spec: DataSource | str | Path | None = None) -> DataSource:
    """Resolve a source specification.

    Args:
        spec: None or "default" -> workspace imports, then the bundled sample; "bundled" -> the sample only;
            "workspace" -> imports only; a folder path -> `FolderSource`; a DataSource -> itself.

    Raises:
        DataError: the folder does not exist.
    """
    if spec is None:
        return default_source()
    if isinstance(spec, (str, Path)):
        key = str(spec).strip()
        if key in ("", "default"):
            return default_source()
        if key == "bundled":
            return BundledSource()
        if key == "workspace":
            return WorkspaceSource()
        return FolderSource(key)
    if isinstance(spec, DataSource):
        return spec
    raise DataError(f"not a data source: {spec!r} (expected None, a folder path or a DataSource)")
