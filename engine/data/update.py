"""`update_symbols`: download daily bars (Stooq by default, keyless) and merge them into the workspace.

For each symbol: the stored series (workspace import, else the bundled sample) is read, the source's bars are
downloaded and validated (`normalize_bars`, the checks every import gets), bars of a session that may not be
final yet are left out, the two are merged without splicing two adjustment bases (`engine.data.merge`), the
merged series is validated again and written to ``<workspace>/data/<SYMBOL>.parquet`` atomically (temp file +
os.replace: an interrupted update leaves the previous file whole). One symbol's failure (unknown ticker, rate
limit, bad CSV) is its own result and does not stop the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from engine.data.cache import load_cached
from engine.data.imports import check_symbol, write_bars
from engine.data.merge import adjust_tolerance, merge_bars
from engine.data.sources import INTRADAY_DIR, DataSource, default_source
from engine.data.stooq import RateLimitError
from engine.data.update_sources import update_source
from engine.data.validate import normalize_bars
from engine.errors import DataError
from engine.store.workspace import data_dir

MARKET_TZ = "America/New_York"
SESSION_CLOSE = pd.Timedelta(hours=16, minutes=15)
"""A daily bar dated today (New York) is taken as final from 16:15 New York time (close + a quarter hour)."""

type Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SymbolUpdate:
    """What an update did to one symbol.

    Attributes:
        symbol, source: the symbol and the source asked.
        action: "created", "appended", "unchanged", "replaced" (see `engine.data.merge.Merged`) or "error".
        added: bars whose date was not stored before; dropped: stored bars no longer kept (a replacement).
        bars, first, last: the stored series after the update (None on error when nothing is stored).
        message: the compatibility note (why appended or replaced), or the error, on one line.
        adjustment: how the source's prices are adjusted.
    """

    symbol: str
    source: str
    action: str
    added: int
    dropped: int
    bars: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    message: str
    adjustment: str

    @property
    def ok(self) -> bool:
        return self.action != "error"

    def to_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "source": self.source,
            "action": self.action,
            "added": self.added,
            "dropped": self.dropped,
            "bars": self.bars,
            "first": None if self.first is None else self.first.strftime("%Y-%m-%d"),
            "last": None if self.last is None else self.last.strftime("%Y-%m-%d"),
            "message": self.message,
            "adjustment": self.adjustment,
        }


def last_final_day(now: pd.Timestamp | None = None) -> pd.Timestamp:
    """The latest date whose daily bar is final at `now` (today in New York after 16:15, else yesterday)."""
    ts = pd.Timestamp.now(tz=MARKET_TZ) if now is None else pd.Timestamp(now)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    local = ts.tz_convert(MARKET_TZ)
    day = local.normalize()
    final = day if local - day >= SESSION_CLOSE else day - pd.Timedelta(days=1)
    return final.tz_localize(None)


def drop_unfinished(frame: pd.DataFrame, now: pd.Timestamp | None = None) -> tuple[pd.DataFrame, int]:
    """(bars dated up to `last_final_day(now)`, how many later bars were left out)."""
    keep = frame.index.normalize() <= last_final_day(now)
    return frame.loc[keep], int((~keep).sum())


def symbols_to_update(symbols: Sequence[str] | None) -> list[str]:
    """The given symbols (upper case, unique, file-name safe) or, when none, every symbol of the default data but
    the bundled intraday fixtures (sample/intraday: no daily source updates them, and a daily series would shadow
    them)."""
    chosen = [s.strip().upper() for s in (symbols or ()) if s.strip()]
    if not chosen:
        source = default_source()
        fixtures = {p.stem.upper() for p in INTRADAY_DIR.glob("*.csv")}
        chosen = [s for s in source.symbols() if s not in fixtures or source.source_of(s).name != "bundled"]
    for sym in chosen:
        check_symbol(sym, "data update")
    return list(dict.fromkeys(chosen))


def stored_bars(symbol: str) -> pd.DataFrame | None:
    """The series the default data serves for `symbol` now (workspace import, else bundled), or None."""
    try:
        return load_cached(default_source(), symbol)
    except DataError:
        return None


def update_symbols(
    symbols: Sequence[str] | None = None,
    source: str | None = None,
    now: pd.Timestamp | None = None,
    progress: Progress | None = None,
) -> list[SymbolUpdate]:
    """Download `symbols` (None or empty = every symbol of the default data) from `source` (None = Stooq) and
    merge each into the workspace. Returns one `SymbolUpdate` per symbol, in order.

    Raises:
        ConfigError: unknown source name, bad tolerance setting; DataError: a bad symbol name or a source that
            cannot be opened (e.g. broker keys missing). Per-symbol download problems are results, not raised.
    """
    spec = update_source(source)
    tolerance = adjust_tolerance()
    names = symbols_to_update(symbols)
    stored = {sym: stored_bars(sym) for sym in names}
    firsts = [f.index[0] for f in stored.values() if f is not None and len(f)]
    opened = spec.open(names, min(firsts) if firsts else None)
    results = []
    try:
        limited: str | None = None
        for i, sym in enumerate(names):
            if progress is not None:
                progress(i, len(names), sym)
            if limited is not None:
                skipped = f"{spec.name}: {sym}: {limited}"
                results.append(_failed(sym, stored[sym], spec.name, spec.adjustment, skipped))
                continue
            try:
                results.append(_update_one(sym, stored[sym], opened, spec.name, spec.adjustment, tolerance, now))
            except RateLimitError as exc:
                results.append(_failed(sym, stored[sym], spec.name, spec.adjustment, " ".join(str(exc).split())))
                limited = f"not asked: the rate limit was reached at {sym}; retry later"
        if progress is not None:
            progress(len(names), len(names), "")
    finally:
        close = getattr(opened, "close", None)
        if close is not None:
            close()
    return results


def _failed(sym: str, old: pd.DataFrame | None, name: str, adjustment: str, message: str) -> SymbolUpdate:
    """An error result: what is stored is untouched (its range is reported)."""
    first, last = (old.index[0], old.index[-1]) if old is not None and len(old) else (None, None)
    bars = 0 if old is None else len(old)
    return SymbolUpdate(sym, name, "error", 0, 0, bars, first, last, message, adjustment)


def _update_one(
    sym: str,
    old: pd.DataFrame | None,
    opened: DataSource,
    name: str,
    adjustment: str,
    tolerance: float,
    now: pd.Timestamp | None,
) -> SymbolUpdate:
    try:
        new, unfinished = drop_unfinished(opened.load(sym), now)
        if len(new) == 0:
            raise DataError(f"{name}: {sym}: no final bars in the answer")
        merged = merge_bars(old, new, tolerance, name)
        frame = normalize_bars(merged.frame, origin=f"{sym} (stored + {name})")
        if merged.action != "unchanged":
            write_bars(frame, data_dir() / f"{sym}.parquet")
    except RateLimitError:
        raise  # the caller skips the remaining symbols
    except DataError as exc:
        return _failed(sym, old, name, adjustment, " ".join(str(exc).split()))
    except OSError as exc:
        return _failed(sym, old, name, adjustment, f"{sym}: could not save to the workspace: {exc}")
    note = merged.note
    if unfinished:
        note += f"; left out {unfinished} bar(s) after {last_final_day(now):%Y-%m-%d} (session not final yet)"
    return SymbolUpdate(
        sym,
        name,
        merged.action,
        merged.added,
        merged.dropped,
        len(frame),
        frame.index[0],
        frame.index[-1],
        f"{note} (prices {adjustment})",
        adjustment,
    )
