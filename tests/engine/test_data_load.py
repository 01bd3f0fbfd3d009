"""load_market_data (alignment, date ranges, errors), symbol_info and data_fingerprint."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data import (
    SAMPLE_DIR,
    MarketData,
    data_fingerprint,
    load_market_data,
    symbol_info,
)
from engine.errors import DataError
from tests.engine.conftest_data import good_csv, sample_rows, write


def test_spy_and_btc_align_on_the_union_calendar_with_nan_gaps(home: Path) -> None:
    spy = {r["date"]: r for r in sample_rows("SPY")}
    btc = {r["date"]: r for r in sample_rows("BTC-USD")}
    data = load_market_data(["SPY", "BTC-USD"])
    assert isinstance(data, MarketData) and data.symbols == ["SPY", "BTC-USD"]
    all_dates = sorted(set(spy) | set(btc))
    assert [d.strftime("%Y-%m-%d") for d in data.index] == all_dates
    for field in ("open", "high", "low", "close", "volume"):
        frame = getattr(data, field)
        for sym, rows in (("SPY", spy), ("BTC-USD", btc)):
            col = frame[sym].to_numpy()
            for i, d in enumerate(all_dates):
                if d in rows:
                    assert col[i] == float(rows[d][field]), (field, sym, d)
                else:
                    assert math.isnan(col[i]), (field, sym, d)
    # a Saturday: BTC trades, SPY has no bar; before BTC's first bar only SPY has data
    assert np.isnan(data.close.loc["2020-01-04", "SPY"]) and data.close.loc["2020-01-04", "BTC-USD"] > 0
    assert np.isnan(data.close.loc["2014-09-16", "BTC-USD"]) and data.close.loc["2014-09-16", "SPY"] > 0


def test_date_range_is_inclusive(home: Path) -> None:
    data = load_market_data("spy", start="2020-01-02", end="2020-01-08")
    assert [d.strftime("%Y-%m-%d") for d in data.index] == [
        "2020-01-02",
        "2020-01-03",
        "2020-01-06",
        "2020-01-07",
        "2020-01-08",
    ]
    rows = {r["date"]: r for r in sample_rows("SPY")}
    assert data.close["SPY"].tolist() == [
        float(rows[d]["close"]) for d in ["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08"]
    ]
    same = load_market_data(["SPY"], start=dt.date(2020, 1, 2), end=pd.Timestamp("2020-01-08"))
    assert same.index.equals(data.index)


def test_end_date_keeps_the_whole_day_of_intraday_bars(tmp_path: Path, home: Path) -> None:
    write(
        tmp_path / "EURUSD.csv",
        "timestamp,open,high,low,close\n"
        "2020-01-02 09:00,1,2,0.5,1\n2020-01-02 15:00,1,2,0.5,1\n2020-01-03 09:00,1,2,0.5,1\n",
    )
    data = load_market_data(["EURUSD"], end="2020-01-02", source=tmp_path)
    assert len(data) == 2
    data = load_market_data(["EURUSD"], end="2020-01-02 12:00", source=tmp_path)
    assert len(data) == 1


def test_folder_source_by_path(tmp_path: Path, home: Path) -> None:
    good_csv(tmp_path / "AAA.csv", rows=3)
    good_csv(tmp_path / "BBB.csv", rows=2, start_day=3, close=5.0)
    data = load_market_data(["AAA", "BBB"], source=str(tmp_path))
    assert data.close["AAA"].tolist() == [10.0, 11.0, 12.0]
    assert np.isnan(data.close["BBB"].iloc[0]) and data.close["BBB"].iloc[1:].tolist() == [5.0, 6.0]


def test_errors(home: Path) -> None:
    with pytest.raises(DataError, match=r"no symbols given"):
        load_market_data([])
    with pytest.raises(DataError, match=r"no symbols given"):
        load_market_data(["  "])
    with pytest.raises(DataError, match=r"start 2021-01-01 is after end 2020-01-01"):
        load_market_data(["SPY"], start="2021-01-01", end="2020-01-01")
    with pytest.raises(DataError, match=r"start: cannot read 'yesterday-ish' as a date"):
        load_market_data(["SPY"], start="yesterday-ish")
    with pytest.raises(
        DataError,
        match=r"META: no bars in 1990-01-01 \.\. 2000-01-01; its data covers "
        r"2012-05-18 \.\. 2026-06-09",
    ):
        load_market_data(["SPY", "META"], start="1990-01-01", end="2000-01-01")
    with pytest.raises(DataError, match=r"SPY: no bars in 2030-01-01 \.\. the end; its data covers 1993-01-29"):
        load_market_data(["SPY"], start="2030-01-01")
    with pytest.raises(DataError, match=r"unknown symbol 'SPYY' .*\(38 symbols available\); did you mean SPY"):
        load_market_data(["SPYY"])


def test_symbol_info_matches_an_independent_count(home: Path) -> None:
    info = symbol_info("bundled").set_index("symbol")
    assert list(info.columns) == ["source", "first", "last", "bars", "largest_gap_days", "gaps", "error"]
    assert len(info) == 38 and (info["error"] == "").all()
    for sym in ("SPY", "BTC-USD", "UUP", "META"):
        days = [dt.date.fromisoformat(r["date"]) for r in sample_rows(sym)]
        steps = [(b - a).days for a, b in zip(days, days[1:])]
        row = info.loc[sym]
        assert row["source"] == "bundled"
        assert (row["first"].date(), row["last"].date(), row["bars"]) == (days[0], days[-1], len(days))
        assert row["largest_gap_days"] == max(steps)
        assert row["gaps"] == sum(s > 5 for s in steps)
    # facts from the data README: SPY's only long gap is the 9/11 closure (7 days); crypto trades daily
    assert (info.loc["SPY", "largest_gap_days"], info.loc["SPY", "gaps"]) == (7.0, 1)
    assert (info.loc["BTC-USD", "largest_gap_days"], info.loc["BTC-USD", "gaps"]) == (1.0, 0)


def test_symbol_info_of_default_source_names_the_owner(tmp_path: Path, home: Path) -> None:
    from engine.data import import_files

    good_csv(tmp_path / "ZZZ.csv", rows=3)
    assert import_files(tmp_path / "ZZZ.csv").ok
    info = symbol_info().set_index("symbol")
    assert info.loc["ZZZ", "source"] == "workspace" and info.loc["SPY", "source"] == "bundled"
    assert info.loc["ZZZ", "bars"] == 3 and info.loc["ZZZ", "largest_gap_days"] == 1.0


def test_symbol_info_reports_a_bad_file_and_keeps_the_rest(tmp_path: Path, home: Path) -> None:
    good_csv(tmp_path / "AAA.csv", rows=3)
    write(tmp_path / "BAD.csv", "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1\nnot-a-date,1,2,0.5,1\n")
    info = symbol_info(tmp_path).set_index("symbol")
    assert info.loc["AAA", "bars"] == 3 and info.loc["AAA", "error"] == ""
    assert "line 3: unparseable date 'not-a-date'" in info.loc["BAD", "error"]


def test_data_fingerprint(tmp_path: Path, home: Path) -> None:
    a = load_market_data(["SPY", "BTC-USD"], start="2019-01-01", end="2019-12-31")
    # the same bytes from another folder give the same fingerprint
    for sym in ("SPY", "BTC-USD"):
        shutil.copy(SAMPLE_DIR / f"{sym}.csv", tmp_path / f"{sym}.csv")
    b = load_market_data(["SPY", "BTC-USD"], start="2019-01-01", end="2019-12-31", source=tmp_path)
    fp = data_fingerprint(a)
    assert len(fp) == 64 and fp == data_fingerprint(b)
    # one changed value, another range or another symbol order changes it
    close = b.close.copy()
    close.loc["2019-01-02", "SPY"] *= 1.0000001
    changed = MarketData(open=b.open, high=b.high, low=b.low, close=close, volume=b.volume)
    assert data_fingerprint(changed) != fp
    assert data_fingerprint(load_market_data(["SPY", "BTC-USD"], start="2019-01-02", end="2019-12-31")) != fp
    assert data_fingerprint(load_market_data(["BTC-USD", "SPY"], start="2019-01-01", end="2019-12-31")) != fp


def test_data_fingerprint_independent_of_nan_payload() -> None:
    idx = pd.DatetimeIndex(["2020-01-02", "2020-01-03"], name="date")
    weird_nan = np.frombuffer(np.array([0x7FF8000000000123], dtype="<u8").tobytes(), dtype="<f8")[0]

    def md(v: float) -> MarketData:
        f = pd.DataFrame({"X": [1.0, v]}, index=idx)
        return MarketData(open=f, high=f, low=f, close=f, volume=f)

    assert data_fingerprint(md(np.nan)) == data_fingerprint(md(weird_nan))
    assert data_fingerprint(md(np.nan)) != data_fingerprint(md(1.0))
