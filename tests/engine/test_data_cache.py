"""The Parquet bar cache: reuse without re-parsing, invalidation on change, corrupt files rebuilt."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.engine.conftest_data import good_csv, home  # noqa: F401  (home is a fixture)
from engine.data import FolderSource, clear_cache, load_cached
from engine.data.cache import cache_path


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
