"""The Parquet bar cache: reuse without re-parsing, invalidation on change, corrupt files rebuilt."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data import (
    FIELDS,
    FolderSource,
    MarketData,
    available_symbols,
    clear_cache,
    get_source,
    load_cached,
    load_market_data,
)
from engine.data.cache import cache_path, load_cached_bars
from tests.engine.conftest_data import good_csv, write


class CountingFolder(FolderSource):
    """A real FolderSource that counts how often it parses a file."""

    def __init__(self, path: Path, fingerprint: str | None = None):
        super().__init__(path)
        self.loads = 0
        self._fixed = fingerprint

    def load(self, symbol: str) -> pd.DataFrame:
        self.loads += 1
        return super().load(symbol)

    def fingerprint(self, symbol: str) -> str:
        return super().fingerprint(symbol) if self._fixed is None else self._fixed


def test_second_load_comes_from_the_cache(tmp_path: Path, home: Path) -> None:
    good_csv(tmp_path / "d" / "SPY.csv")
    src = CountingFolder(tmp_path / "d")
    first = load_cached(src, "SPY")
    path = cache_path(src, "SPY")
    assert path is not None and path.is_file() and path.is_relative_to(home / "cache")
    second = load_cached(CountingFolder(tmp_path / "d"), "SPY")
    assert src.loads == 1
    pd.testing.assert_frame_equal(first, second)
    # the data really is read from the cache file: tamper with it and see the tampered values
    tampered = first.copy()
    tampered["close"] = tampered["close"] * 2
    tampered.to_parquet(path)
    third = CountingFolder(tmp_path / "d")
    assert load_cached(third, "SPY")["close"].tolist() == [20.0, 22.0, 24.0]
    assert third.loads == 0


def test_changed_file_is_reparsed_and_old_entry_removed(tmp_path: Path, home: Path) -> None:
    csv = good_csv(tmp_path / "d" / "SPY.csv")
    src = CountingFolder(tmp_path / "d")
    load_cached(src, "SPY")
    old = cache_path(src, "SPY")
    good_csv(csv, rows=4, close=30.0)
    assert load_cached(src, "SPY")["close"].tolist() == [30.0, 31.0, 32.0, 33.0]
    assert src.loads == 2
    new = cache_path(src, "SPY")
    assert new != old and new is not None and new.is_file() and old is not None and not old.exists()


@pytest.mark.parametrize(
    "garbage",
    [b"", b"PAR1 definitely not parquet", None],  # None: valid Parquet of the wrong shape
)
def test_corrupt_cache_file_is_ignored_and_rebuilt(tmp_path: Path, home: Path, garbage: bytes | None) -> None:
    good_csv(tmp_path / "d" / "SPY.csv")
    src = CountingFolder(tmp_path / "d")
    expected = load_cached(src, "SPY")
    path = cache_path(src, "SPY")
    assert path is not None
    if garbage is None:
        pd.DataFrame({"x": [1, 2]}).to_parquet(path)
    else:
        path.write_bytes(garbage)
    got = load_cached(src, "SPY")
    pd.testing.assert_frame_equal(got, expected)
    assert src.loads == 2
    pd.testing.assert_frame_equal(pd.read_parquet(path), expected)  # rewritten as a good file


def test_empty_fingerprint_means_no_caching(tmp_path: Path, home: Path) -> None:
    good_csv(tmp_path / "d" / "SPY.csv")
    src = CountingFolder(tmp_path / "d", fingerprint="")
    load_cached(src, "SPY")
    load_cached(src, "SPY")
    assert src.loads == 2
    assert cache_path(src, "SPY") is None
    assert not list((home / "cache").rglob("*.parquet"))


def test_clear_cache(tmp_path: Path, home: Path) -> None:
    good_csv(tmp_path / "d" / "SPY.csv")
    good_csv(tmp_path / "d" / "QQQ.csv")
    src = CountingFolder(tmp_path / "d")
    load_cached(src, "SPY")
    load_cached(src, "QQQ")
    assert clear_cache() == 2
    load_cached(src, "SPY")
    assert src.loads == 3


# --- the array fast path (load_cached_bars + load_market_data) --------------------------------------------


def _old_load(symbols: list[str], start: str | None = None, end: str | None = None) -> MarketData:
    """The loader as it was before the array fast path: frames, Index.union, get_indexer (the reference)."""
    src = get_source(None)
    frames = {}
    for sym in symbols:
        df = load_cached(src, sym)
        keep = np.ones(len(df), dtype=bool)
        if start is not None:
            keep &= df.index >= pd.Timestamp(start)
        if end is not None:
            keep &= df.index < pd.Timestamp(end) + pd.Timedelta(days=1)
        frames[sym] = df.loc[keep]
    index = None
    for df in frames.values():
        index = df.index if index is None else index.union(df.index)
    index = pd.DatetimeIndex(index, name="date")
    out = {f: np.full((len(index), len(frames)), np.nan) for f in FIELDS}
    for j, df in enumerate(frames.values()):
        rows = index.get_indexer(df.index)
        block = df[list(FIELDS)].to_numpy(dtype="float64")
        for k, f in enumerate(FIELDS):
            out[f][rows, j] = block[:, k]
    columns = pd.Index(list(frames), name="symbol")
    return MarketData(**{f: pd.DataFrame(out[f], index=index, columns=columns) for f in FIELDS})


def _assert_same(a: MarketData, b: MarketData) -> None:
    for f in FIELDS:
        pd.testing.assert_frame_equal(getattr(a, f), getattr(b, f), check_exact=True, check_freq=True)
        assert getattr(a, f).index.freq == getattr(b, f).index.freq


@pytest.mark.parametrize(
    "symbols, start, end",
    [
        ("ALL", None, None),
        (["SPY"], None, None),
        (["SPY", "QQQ"], "2005-03-01", "2007-06-30"),
        (["SPY", "BTC-USD"], None, "2020-12-31"),
        (["ETH-USD", "BTC-USD"], None, None),  # different starts, a regular daily union: pandas infers "D"
        (["ETH-USD", "BTC-USD"], "2019-01-01", None),  # identical calendars: the union keeps freq None
        (["BTC-USD", "TLT", "GLD"], "2020-01-02", "2020-01-02"),
    ],
)
def test_fast_loader_equals_the_old_frame_path(home: Path, symbols, start, end) -> None:
    syms = available_symbols("bundled") if symbols == "ALL" else symbols
    new = load_market_data(syms, start, end)
    old = _old_load(syms, start, end)
    _assert_same(new, old)
    assert len(new) > 0 and new.symbols == syms
    if symbols == ["ETH-USD", "BTC-USD"] and start is None:
        assert new.index.freqstr == "D"
    again = load_market_data(syms, start, end)  # second call: every symbol from the cache files
    _assert_same(again, old)


def test_warm_cache_load_of_all_bundled_symbols_is_well_under_a_second(home: Path) -> None:
    symbols = available_symbols("bundled")
    assert len(symbols) >= 36
    load_market_data(symbols)  # fills the cache
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        data = load_market_data(symbols)
        best = min(best, time.perf_counter() - t0)
    assert data.close.shape[1] == len(symbols) and len(data) > 7000  # 30+ years of daily bars
    assert best < 0.5, f"warm-cache load of {len(symbols)} symbols took {best:.3f} s (best of 3)"


def test_cached_bars_equal_the_frame_with_nan_volume(tmp_path: Path, home: Path) -> None:
    write(tmp_path / "d" / "NOVOL.csv", "date,open,high,low,close\n2020-01-02,1,2,0.5,1.5\n2020-01-03,2,3,1,2.5\n")
    src = CountingFolder(tmp_path / "d")
    miss = load_cached_bars(src, "NOVOL")
    hit = load_cached_bars(src, "NOVOL")
    assert src.loads == 1  # the second one came from the cache file
    for bars in (miss, hit):
        assert bars.dates.dtype == np.int64 and bars.values.shape == (5, 2)
        assert bars.dates.tolist() == [pd.Timestamp("2020-01-02").value, pd.Timestamp("2020-01-03").value]
        assert bars.values[:4].tolist() == [[1.0, 2.0], [2.0, 3.0], [0.5, 1.0], [1.5, 2.5]]
        assert np.isnan(bars.values[4]).all()  # no volume column -> NaN volume, kept through Parquet


@pytest.mark.parametrize("bad", ["garbage", "wrong_columns", "aware_index", "no_index"])
def test_unusable_cache_file_is_a_miss_for_the_array_reader(tmp_path: Path, home: Path, bad: str) -> None:
    good_csv(tmp_path / "d" / "SPY.csv")
    src = CountingFolder(tmp_path / "d")
    expected = load_cached(src, "SPY")
    path = cache_path(src, "SPY")
    assert path is not None
    if bad == "garbage":
        path.write_bytes(b"PAR1 not parquet")
    elif bad == "wrong_columns":
        expected.rename(columns={"volume": "vol"}).to_parquet(path)
    elif bad == "aware_index":
        expected.tz_localize("UTC").to_parquet(path)
    else:
        expected.reset_index().to_parquet(path)  # "date" as a plain column, no pandas index
    bars = load_cached_bars(src, "SPY")
    assert src.loads == 2  # rebuilt from the source
    assert bars.values[3].tolist() == expected["close"].tolist() == [10.0, 11.0, 12.0]
    assert load_cached_bars(src, "SPY").values[3].tolist() == [10.0, 11.0, 12.0] and src.loads == 2
