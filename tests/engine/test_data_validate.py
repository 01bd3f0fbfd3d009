"""read_bars / normalize_bars: the standard frame, column matching, Adj Close, and every malformed input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.validate import normalize_bars, read_bars
from engine.errors import DataError
from tests.engine.conftest_data import write

H = "Date,Open,High,Low,Close,Volume\n"
OK1 = "2020-01-02,10,11,9,10.5,100\n"
OK2 = "2020-01-03,10.5,12,10,11,200\n"


def fails(tmp_path: Path, text: str, *patterns: str, name: str = "bad.csv") -> str:
    """Write `text`, expect DataError whose message names the file and matches every pattern."""
    path = write(tmp_path / name, text)
    with pytest.raises(DataError) as info:
        read_bars(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    for p in patterns:
        assert re.search(p, msg), f"{p!r} not in {msg!r}"
    return msg


# --- well-formed input ---------------------------------------------------------------------------------------


def test_standard_frame_values_and_types(tmp_path: Path) -> None:
    df = read_bars(write(tmp_path / "x.csv", H + OK1 + OK2))
    assert list(df.columns) == ["open", "high", "low", "close", "volume"]
    assert all(dt == np.float64 for dt in df.dtypes)
    assert isinstance(df.index, pd.DatetimeIndex) and df.index.name == "date" and df.index.tz is None
    assert list(df.index) == [pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-03")]
    assert df.loc["2020-01-02"].tolist() == [10.0, 11.0, 9.0, 10.5, 100.0]
    assert df.loc["2020-01-03"].tolist() == [10.5, 12.0, 10.0, 11.0, 200.0]


@pytest.mark.parametrize(
    "header",
    [
        "date,open,high,low,close,volume",
        "DATE,OPEN,HIGH,LOW,CLOSE,VOLUME",
        "Datetime,oPeN,High,low,Close,Volume",
        "timestamp,Open,High,Low,Close,Volume",
        " Time , Open , High , Low , Close , Volume ",
    ],
)
def test_column_names_case_insensitive(tmp_path: Path, header: str) -> None:
    df = read_bars(write(tmp_path / "x.csv", header + "\n" + OK1))
    assert df.iloc[0].tolist() == [10.0, 11.0, 9.0, 10.5, 100.0]


def test_extra_columns_ignored_and_column_order_free(tmp_path: Path) -> None:
    text = "Volume,Close,Dividends,Low,High,Open,Date\n100,10.5,0.1,9,11,10,2020-01-02\n"
    df = read_bars(write(tmp_path / "x.csv", text))
    assert df.iloc[0].tolist() == [10.0, 11.0, 9.0, 10.5, 100.0]


@pytest.mark.parametrize("adj_name", ["Adj Close", "adj_close", "adjclose", "ADJ-CLOSE", "AdjClose"])
def test_adj_close_adjusts_ohlc(tmp_path: Path, adj_name: str) -> None:
    # Hand computation: factor = adj / close. Row 1: 5 / 10 = 0.5; row 2: 9 / 12 = 0.75.
    text = f"Date,Open,High,Low,Close,{adj_name},Volume\n2020-01-02,8,12,6,10,5,100\n2020-01-03,11,13,10,12,9,50\n"
    df = read_bars(write(tmp_path / "x.csv", text))
    assert df.loc["2020-01-02", ["open", "high", "low", "close"]].tolist() == pytest.approx([4.0, 6.0, 3.0, 5.0])
    assert df.loc["2020-01-03", ["open", "high", "low", "close"]].tolist() == pytest.approx([8.25, 9.75, 7.5, 9.0])
    assert df["volume"].tolist() == [100.0, 50.0]  # volume is not price-adjusted


def test_volume_is_optional_and_empty_volume_is_nan(tmp_path: Path) -> None:
    df = read_bars(write(tmp_path / "a.csv", "Date,Open,High,Low,Close\n2020-01-02,10,11,9,10.5\n"))
    assert np.isnan(df["volume"].to_numpy()).all() and df["volume"].dtype == np.float64
    df = read_bars(write(tmp_path / "b.csv", H + "2020-01-02,10,11,9,10.5,\n" + OK2))
    assert np.isnan(df["volume"].iloc[0]) and df["volume"].iloc[1] == 200.0


def test_timezone_aware_timestamps_become_naive_utc(tmp_path: Path) -> None:
    text = "timestamp,open,high,low,close\n2020-03-02T09:30:00-05:00,10,11,9,10\n2020-03-02T10:30:00-05:00,10,11,9,10\n"
    df = read_bars(write(tmp_path / "x.csv", text))
    assert df.index.tz is None
    assert list(df.index) == [pd.Timestamp("2020-03-02 14:30"), pd.Timestamp("2020-03-02 15:30")]


def test_intraday_timestamps_allowed(tmp_path: Path) -> None:
    text = "timestamp,open,high,low,close,volume\n2021-12-31 23:01:00,1,2,0.5,1,1\n2021-12-31 23:02:00,1,2,0.5,1,1\n"
    df = read_bars(write(tmp_path / "x.csv", text))
    assert (df.index[1] - df.index[0]) == pd.Timedelta(minutes=1)


def test_us_style_dates_parse(tmp_path: Path) -> None:
    df = read_bars(write(tmp_path / "x.csv", H + "01/31/2020,10,11,9,10.5,1\n02/03/2020,10,11,9,10.5,1\n"))
    assert list(df.index) == [pd.Timestamp("2020-01-31"), pd.Timestamp("2020-02-03")]


def test_gaps_between_dates_are_fine(tmp_path: Path) -> None:
    df = read_bars(write(tmp_path / "x.csv", H + "2020-01-02,10,11,9,10,1\n2020-03-02,10,11,9,10,1\n"))
    assert len(df) == 2


def test_parquet_round_trip(tmp_path: Path) -> None:
    src = read_bars(write(tmp_path / "x.csv", H + OK1 + OK2))
    src.to_parquet(tmp_path / "x.parquet")
    back = read_bars(tmp_path / "x.parquet")
    pd.testing.assert_frame_equal(back, src)
    # dates as a column (e.g. written by another tool) work too
    src.reset_index().rename(columns={"date": "Date", "close": "Close"}).to_parquet(tmp_path / "y.parquet")
    pd.testing.assert_frame_equal(read_bars(tmp_path / "y.parquet"), src)


def test_normalize_bars_in_memory_frame() -> None:
    raw = pd.DataFrame(
        {"Open": [1.0, 2.0], "High": [2.0, 3.0], "Low": [0.5, 1.5], "Close": [1.5, 2.5]},
        index=pd.DatetimeIndex(["2020-01-02 00:00", "2020-01-03 00:00"], tz="America/New_York"),
    )
    df = normalize_bars(raw, origin="alpaca:SPY")
    assert list(df.index) == [pd.Timestamp("2020-01-02 05:00"), pd.Timestamp("2020-01-03 05:00")]
    raw.iloc[1, 1] = 1.0  # high < low on row 2
    with pytest.raises(DataError, match=r"alpaca:SPY: row 2: high < low"):
        normalize_bars(raw, origin="alpaca:SPY")


# --- malformed input: each problem, its row and its message -------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    fails(tmp_path, "", r"empty file")


def test_header_only_file(tmp_path: Path) -> None:
    fails(tmp_path, H, r"empty file: a header but no data rows")


def test_missing_columns_lists_missing_and_found(tmp_path: Path) -> None:
    msg = fails(tmp_path, "Date,Open,Close,Vol\n2020-01-02,1,1,1\n", r"missing column\(s\) \['high', 'low'\]")
    assert "found columns ['Date', 'Open', 'Close', 'Vol']" in msg


def test_missing_date_column(tmp_path: Path) -> None:
    fails(tmp_path, "Day,Open,High,Low,Close\nx,1,2,0.5,1\n", r"missing column\(s\) \['date'\]")


def test_ambiguous_columns(tmp_path: Path) -> None:
    fails(tmp_path, "Date,Datetime,Open,High,Low,Close\n2020-01-02,2020-01-02,1,2,0.5,1\n", r"ambiguous columns")


def test_unparseable_date_names_line_and_value(tmp_path: Path) -> None:
    fails(tmp_path, H + OK1 + "2020-13-45,1,2,0.5,1,1\n", r": line 3: unparseable date '2020-13-45'")


def test_missing_date_cell(tmp_path: Path) -> None:
    fails(tmp_path, H + OK1 + ",1,2,0.5,1,1\n", r": line 3: missing date")


def test_duplicate_dates(tmp_path: Path) -> None:
    fails(tmp_path, H + OK1 + OK2 + OK2, r": line 4: duplicate date 2020-01-03 \(first seen at line 3\)")


def test_unsorted_dates(tmp_path: Path) -> None:
    fails(tmp_path, H + OK2 + OK1, r": line 3: dates not in ascending order \(2020-01-02 comes after 2020-01-03")


@pytest.mark.parametrize("value", ["0", "-3.5"])
def test_non_positive_price(tmp_path: Path, value: str) -> None:
    fails(tmp_path, H + OK1 + f"2020-01-03,{value},12,0.5,11,1\n", r": line 3: column 'Open': non-positive price")


def test_non_positive_adj_close(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close,Adj Close\n2020-01-02,1,2,0.5,1,0\n"
    fails(tmp_path, text, r": line 2: column 'Adj Close': non-positive price 0")


def test_high_below_low(tmp_path: Path) -> None:
    fails(tmp_path, H + OK1 + "2020-01-03,10,9,9.5,9.7,1\n", r": line 3: high < low \(high 9, low 9.5\)")


@pytest.mark.parametrize("cell", ["", "NaN", "nan", "NA", "null"])
def test_nan_price_cell_is_an_error_with_its_line(tmp_path: Path, cell: str) -> None:
    fails(tmp_path, H + OK1 + OK2 + f"2020-01-06,10,11,9,{cell},1\n", r": line 4: column 'Close': missing price")


def test_non_numeric_cell(tmp_path: Path) -> None:
    fails(tmp_path, H + OK1 + "2020-01-03,10,1O.5,9,10,1\n", r": line 3: column 'High': non-numeric value '1O.5'")


def test_infinite_price(tmp_path: Path) -> None:
    fails(tmp_path, H + OK1 + "2020-01-03,10,inf,9,10,1\n", r": line 3: column 'High': infinite price")


def test_negative_volume(tmp_path: Path) -> None:
    fails(tmp_path, H + OK1 + "2020-01-03,10,11,9,10,-5\n", r": line 3: column 'Volume': negative or infinite volume")


def test_blank_lines_do_not_shift_line_numbers(tmp_path: Path) -> None:
    # lines: 1 header, 2 OK1, 3 blank, 4 blank, 5 bad
    fails(tmp_path, H + OK1 + "\n\n" + "2020-01-06,10,9,9.5,9.7,1\n", r": line 5: high < low")


def test_several_bad_rows_are_listed(tmp_path: Path) -> None:
    rows = "".join(f"2020-01-{d:02d},10,x,9,10,1\n" for d in range(2, 10))
    fails(tmp_path, H + rows, r": lines 2, 3, 4, 5, 6 \(and 3 more\): column 'High': non-numeric value 'x'")


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    fails(tmp_path, "whatever", r"unsupported file type '\.txt'", name="x.txt")
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read_bars(tmp_path / "nope.csv")


def test_corrupt_parquet(tmp_path: Path) -> None:
    fails(tmp_path, "this is not parquet", r"not a readable Parquet file", name="x.parquet")


def test_parquet_errors_name_the_row(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"open": [1.0, 1.0, 1.0], "high": [2.0, 2.0, np.nan], "low": [0.5, 0.5, 0.5], "close": [1.0, 1.0, 1.0]},
        index=pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-06"], name="date"),
    )
    frame.to_parquet(tmp_path / "x.parquet")
    with pytest.raises(DataError, match=r"x\.parquet: row 3: column 'high': missing price"):
        read_bars(tmp_path / "x.parquet")
