"""union_stamps / union_index: the sorted union of calendars and each calendar's positions in it, by definition.

union_stamps merges only the calendars that are no other calendar's tail (a later listing on the same days) and
reuses the positions of the calendar it is the tail of; the answer must still be np.unique of everything and
np.searchsorted of each array, whatever the nesting, order, repeats or gaps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data import SAMPLE_DIR
from engine.data.market import MarketData, union_index, union_stamps


def by_definition(stamps: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    union = np.unique(np.concatenate(stamps))
    return union, [np.searchsorted(union, a) for a in stamps]


def calendars(rng: np.random.Generator) -> list[np.ndarray]:
    base = np.sort(rng.choice(10_000, size=int(rng.integers(1, 80)), replace=False)).astype(np.int64)
    out = []
    for _ in range(int(rng.integers(2, 7))):
        kind = int(rng.integers(0, 5))
        if kind == 0:  # a later listing: a tail
            out.append(base[int(rng.integers(0, len(base))) :])
        elif kind == 1:  # the same calendar
            out.append(base.copy())
        elif kind == 2:  # a subset with gaps (not a tail)
            out.append(np.sort(rng.choice(base, size=int(rng.integers(0, len(base) + 1)), replace=False)))
        elif kind == 3:  # an early delisting: a head
            out.append(base[: int(rng.integers(1, len(base) + 1))])
        else:  # another calendar
            out.append(np.sort(rng.choice(10_000, size=int(rng.integers(1, 40)), replace=False)).astype(np.int64))
    return out


@pytest.mark.parametrize("seed", range(200))
def test_union_and_positions_are_unique_and_searchsorted(seed):
    stamps = calendars(np.random.default_rng(seed))
    union, positions = union_stamps(stamps)
    expected_union, expected_positions = by_definition(stamps)
    np.testing.assert_array_equal(union, expected_union)
    for got, want, a in zip(positions, expected_positions, stamps):
        got = np.arange(len(union))[got] if isinstance(got, slice) else got
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(union[got], a)


def test_tails_of_a_later_calendar_and_equal_calendars():
    a = np.array([1, 2, 3, 5, 8], dtype=np.int64)
    stamps = [a[2:], a, a[1:], np.array([4, 9], dtype=np.int64), a.copy()]
    union, positions = union_stamps(stamps)
    np.testing.assert_array_equal(union, [1, 2, 3, 4, 5, 8, 9])
    assert [p.tolist() for p in positions] == [[2, 4, 5], [0, 1, 2, 4, 5], [1, 2, 4, 5], [3, 6], [0, 1, 2, 4, 5]]
    same, where = union_stamps([a, a.copy()])
    assert same is a and where == [slice(None), slice(None)]


def test_union_index_is_pandas_union_of_the_sample_calendars():
    frames = {
        s: pd.read_csv(SAMPLE_DIR / f"{s}.csv", index_col="date", parse_dates=True)
        for s in ("SPY", "BTC-USD", "META", "XLE")
    }
    expected = None
    for df in frames.values():
        expected = df.index if expected is None else expected.union(df.index)
    got = union_index([df.index for df in frames.values()])
    pd.testing.assert_index_equal(got, expected, exact=False)
    assert got.equals(MarketData.from_frames(frames).index)
