"""Import user CSV/Parquet files into the workspace (``<workspace>/data/<SYMBOL>.parquet``), and remove them.

Each file is validated first (`read_bars`); only good files are written, each atomically (temp file in the
same folder + os.replace), so an import never leaves a half-written or lost symbol behind. Bad files are
reported one by one and do not stop the others. Re-importing a symbol replaces it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.data.sources import WorkspaceSource
from engine.data.validate import SUPPORTED_SUFFIXES, read_bars
from engine.errors import DataError
from engine.store.workspace import data_dir

_SYMBOL = re.compile(r"^[A-Z0-9^][A-Z0-9.\-=^_]*$")


@dataclass(frozen=True)
class ImportedSymbol:
    """One file that was imported: its symbol, where it came from, bar count and date range."""

    symbol: str
    path: str
    bars: int
    first: pd.Timestamp
    last: pd.Timestamp


@dataclass
class ImportReport:
    """What `import_files` did: the imported symbols, and file path -> error message for the rejected files."""

    imported: list[ImportedSymbol] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every file was imported."""
        return not self.errors

    @property
    def symbols(self) -> list[str]:
        return [i.symbol for i in self.imported]


def _expand(paths: Iterable[str | Path], report: ImportReport) -> list[Path]:
    """Files to import: each given file, plus every CSV/Parquet file directly inside each given folder."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            inside = sorted(
                f
                for f in p.iterdir()
                if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES and not f.name.startswith(".")
            )
            if not inside:
                report.errors[str(p)] = f"{p}: folder has no {'/'.join(SUPPORTED_SUFFIXES)} files"
            files.extend(inside)
        elif p.is_file():
            files.append(p)
        else:
            report.errors[str(p)] = f"{p}: no such file or folder"
    return files


def check_symbol(symbol: str, where: object) -> str:
    """`symbol` if it is usable as a symbol and a file name, else DataError naming `where` (a file, or the symbol)."""
    if not _SYMBOL.match(symbol):
        raise DataError(
            f"{where}: {symbol!r} is not a usable symbol (letters, digits and . - _ = ^ only, starting with a "
            "letter, digit or ^)"
        )
    return symbol


def _symbol_of(path: Path) -> str:
    symbol = path.stem.strip().upper()
    if not _SYMBOL.match(symbol):
        raise DataError(
            f"{path}: file name {path.name!r} is not a usable symbol (letters, digits and . - _ = ^ only; "
            "name the file <SYMBOL>.csv)"
        )
    return symbol


def write_bars(frame: pd.DataFrame, target: Path) -> None:
    """Write a standard frame to `target` (Parquet) atomically: a temp file in the same folder, then os.replace.

    If anything interrupts the write (an error, Ctrl-C), the temp file is removed and `target` is untouched.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        frame.to_parquet(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_files(paths: Iterable[str | Path] | str | Path) -> ImportReport:
    """Validate CSV/Parquet files (or every such file of a folder) and save the good ones to the workspace.

    The symbol is the upper-cased file stem (``spy.csv`` -> SPY). Two files for one symbol in the same call
    are an error for the second one.

    Returns:
        ImportReport: imported symbols, and one error message per rejected file (naming file, row, problem).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    report = ImportReport()
    target_dir = data_dir()
    seen: dict[str, str] = {}
    for path in _expand(paths, report):
        try:
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise DataError(f"{path}: unsupported file type; expected one of {list(SUPPORTED_SUFFIXES)}")
            symbol = _symbol_of(path)
            if symbol in seen:
                raise DataError(f"{path}: symbol {symbol} already imported from {seen[symbol]} in this import")
            frame = read_bars(path)
            write_bars(frame, target_dir / f"{symbol}.parquet")
        except DataError as exc:
            report.errors[str(path)] = str(exc)
            continue
        except OSError as exc:
            report.errors[str(path)] = f"{path}: could not save: {exc}"
            continue
        seen[symbol] = str(path)
        report.imported.append(ImportedSymbol(symbol, str(path), len(frame), frame.index[0], frame.index[-1]))
    return report


def delete_imported(symbol: str) -> None:
    """Remove an imported symbol from the workspace (bundled symbols cannot be deleted).

    Raises:
        DataError: the symbol was not imported (with close matches).
    """
    source = WorkspaceSource()
    source.path_of(symbol).unlink()


__all__ = ["ImportReport", "ImportedSymbol", "delete_imported", "import_files"]
