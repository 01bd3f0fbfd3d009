"""Timeframes and resampling (engine.data.timeframes) against pandas' own resample and hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.sources import INTRADAY_DIR
from engine.data.timeframes import Timeframe, bar_closes, parse_timeframe, resample, session_bounds, session_for
from engine.errors import ConfigError, DataError

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def _csv(name: str) -> pd.DataFrame:
    """A bundled intraday file read with pandas directly (not through our reader)."""
    frame = pd.read_csv(INTRADAY_DIR / f"{name}.csv", parse_dates=["timestamp"], index_col="timestamp")
    frame.index = frame.index.as_unit("ns").rename("date")
    return frame.astype("float64")


@pytest.fixture(scope="module")
def btc() -> pd.DataFrame:
    return _csv("BTC-PERP")


@pytest.fixture(scope="module")
def eurusd() -> pd.DataFrame:
    return _csv("EURUSD")


def _pandas_bins(frame: pd.DataFrame, rule: str, step: str) -> pd.DataFrame:
    """pandas' resample anchored at midnight, empty bins dropped, and the partial first / last bins dropped
    (the data starts after the first bin's open; the last bin would close after the last bar's close)."""
    out = frame.resample(rule, closed="left", label="left", origin="start_day").agg(AGG)
    out = out[frame.resample(rule, closed="left", label="left", origin="start_day").size() > 0]
    end = frame.index[-1] + pd.Timedelta(step)
    out = out[out.index + pd.Timedelta(rule) <= end]
    return out[out.index >= frame.index[0]]


@pytest.mark.parametrize(
    ("text", "minutes", "canonical"),
    [("1min", 1, "1min"), ("5m", 5, "5min"), ("15MIN", 15, "15min"), ("60min", 60, "1h"), ("1h", 60, "1h"),
     ("4H", 240, "4h"), ("24h", 1440, "1d"), ("1d", 1440, "1d"), (" 30 minutes ", 30, "30min")],
)  # fmt: skip
def test_parse_timeframe(text: str, minutes: int, canonical: str) -> None:
    tf = parse_timeframe(text)
    assert tf == Timeframe(minutes) and tf.text == canonical


@pytest.mark.parametrize("bad", ["", "5", "min", "5x", "7min", "2d", "0min", "1w", "-5min", "5.5min"])
def test_parse_timeframe_names_a_bad_value(bad: str) -> None:
    with pytest.raises(ConfigError, match=f"timeframe {bad!r}"):
        parse_timeframe(bad)


@pytest.mark.parametrize(("rule", "tf"), [("5min", "5min"), ("15min", "15min"), ("1h", "1h"), ("4h", "4h")])
def test_btc_resample_equals_pandas(btc: pd.DataFrame, rule: str, tf: str) -> None:
    ours = resample(btc, tf)
    ref = _pandas_bins(btc, rule, "1min")
    pd.testing.assert_index_equal(ours.index, ref.index, check_names=False, check_freq=False)
    np.testing.assert_array_equal(
        ours[["open", "high", "low", "close"]].to_numpy(), ref[["open", "high", "low", "close"]]
    )
    np.testing.assert_allclose(ours["volume"].to_numpy(), ref["volume"].to_numpy(), rtol=1e-12)


def test_btc_daily_bars_are_utc_days_and_partial_days_dropped(btc: pd.DataFrame) -> None:
    daily = resample(btc, "1d")
    # data: 2021-12-31 23:01 .. 2022-02-01 05:31; whole UTC days: 2022-01-01 .. 2022-01-31
    assert daily.index[0] == pd.Timestamp("2022-01-01") and daily.index[-1] == pd.Timestamp("2022-01-31")
    assert len(daily) == 31
    day = btc.loc["2022-01-05"]
    assert daily.loc["2022-01-05", "open"] == day["open"].iloc[0]
    assert daily.loc["2022-01-05", "high"] == day["high"].max()
    assert daily.loc["2022-01-05", "low"] == day["low"].min()
    assert daily.loc["2022-01-05", "close"] == day["close"].iloc[-1]
    assert daily.loc["2022-01-05", "volume"] == pytest.approx(day["volume"].sum(), rel=1e-12)


def test_chain_equals_direct(btc: pd.DataFrame) -> None:
    """1min -> 5min -> 1h -> 1d gives the daily bars of 1min -> 1d (volume up to summation order)."""
    chain = resample(resample(resample(btc, "5min"), "1h"), "1d")
    direct = resample(btc, "1d")
    pd.testing.assert_index_equal(chain.index, direct.index)
    np.testing.assert_array_equal(chain[["open", "high", "low", "close"]], direct[["open", "high", "low", "close"]])
    np.testing.assert_allclose(chain["volume"], direct["volume"], rtol=1e-12)
    hourly = resample(btc, "1h")
    pd.testing.assert_frame_equal(resample(resample(btc, "5min"), "1h")[["open", "high", "low", "close"]],
                                  hourly[["open", "high", "low", "close"]])  # fmt: skip


def test_fx_daily_bars_cut_at_17_new_york(eurusd: pd.DataFrame) -> None:
    """Each daily bar holds the hours of one New York trading day, 17:00 to 17:00 (independent grouping by the
    local date of time + 7 hours), labelled by its open in UTC: 21:00 in summer time, 22:00 in winter."""
    ours = resample(eurusd, "1d", session="fx")
    local = eurusd.index.tz_localize("UTC").tz_convert("America/New_York")
    trading_day = (local + pd.Timedelta(hours=7)).date
    ref = eurusd.groupby(trading_day).agg(AGG)
    ref = ref.iloc[1:]  # the file starts on a Wednesday 09:00 UTC, inside that day's session: partial, dropped
    assert len(ours) == len(ref) - 1  # the last session (2018-02-07, file ends 15:00 UTC) has not closed
    ref = ref.iloc[:-1]
    np.testing.assert_array_equal(ours[["open", "high", "low", "close"]].to_numpy(), ref[list(AGG)[:4]].to_numpy())
    opens = [pd.Timestamp(f"{d} 17:00", tz="America/New_York") - pd.Timedelta(days=1) for d in ref.index]
    expected = pd.DatetimeIndex([o.tz_convert("UTC").tz_localize(None) for o in opens]).as_unit("ns")
    pd.testing.assert_index_equal(ours.index, expected, check_names=False)
    assert ours.index[0] == pd.Timestamp("2017-04-19 21:00")  # summer: 17:00 EDT = 21:00 UTC
    assert pd.Timestamp("2017-12-03 22:00") in ours.index  # winter: 17:00 EST = 22:00 UTC (Sunday open -> Monday)
    assert pd.Timestamp("2017-12-03 00:00") not in ours.index and pd.Timestamp("2017-12-02 22:00") not in ours.index


def test_fx_session_bounds_across_the_daylight_saving_change() -> None:
    # US clocks went back on 2017-11-05: the session opened Friday 2017-11-03 17:00 EDT (21:00 UTC) and the
    # week's first session Sunday 2017-11-05 17:00 EST (22:00 UTC); Monday's closes 2017-11-06 22:00 UTC.
    stamps = pd.DatetimeIndex(["2017-11-03 20:00", "2017-11-03 21:00", "2017-11-05 22:00", "2017-11-06 21:00"])
    opens, ends = session_bounds(stamps, "fx")
    assert list(pd.DatetimeIndex(opens.view("datetime64[ns]"))) == [
        pd.Timestamp("2017-11-02 21:00"), pd.Timestamp("2017-11-03 21:00"),
        pd.Timestamp("2017-11-05 22:00"), pd.Timestamp("2017-11-05 22:00"),
    ]  # fmt: skip
    assert pd.Timestamp(int(ends[1])) == pd.Timestamp("2017-11-04 21:00")  # Saturday 17:00 EDT (no bars in it)
    assert pd.Timestamp(int(ends[3])) == pd.Timestamp("2017-11-06 22:00")


def test_hand_made_bins_and_partial_bins() -> None:
    """Seven 1-minute bars 00:58 .. 01:04 -> 5-minute bins: [00:55, 01:00) starts before the data (dropped),
    [01:00, 01:05) is whole, nothing after it."""
    idx = pd.date_range("2024-03-01 00:58", periods=7, freq="1min")
    frame = pd.DataFrame(
        {"open": [1, 2, 3, 4, 5, 6, 7.0], "high": [2, 3, 9, 5, 6, 7, 8.0], "low": [0.5, 1, 2, 1.5, 4, 5, 6.0],
         "close": [2, 3, 4, 5, 6, 7, 7.5], "volume": [1, 1, 10, 20, 30, 40, np.nan]},
        index=idx,
    )  # fmt: skip
    out = resample(frame, "5min")
    assert list(out.index) == [pd.Timestamp("2024-03-01 01:00")]
    assert out.iloc[0].tolist() == [3.0, 9.0, 1.5, 7.5, 100.0]  # NaN volume skipped: 10+20+30+40
    assert resample(frame.iloc[:-1], "5min").empty  # 01:00..01:03: the 01:00 bin has not closed
    closes = bar_closes(out.index, "5min")
    assert closes[0] == pd.Timestamp("2024-03-01 01:05")


def test_finer_or_uneven_timeframes_are_refused(eurusd: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="timeframe '5min': finer than the data's 1h bars"):
        resample(eurusd, "5min", session="fx")
    two_hours = resample(eurusd, "2h", session="fx")
    with pytest.raises(ConfigError, match="timeframe '3h': not a whole number of the data's 2h bars"):
        resample(two_hours, "3h", session="fx")


def test_session_for_symbols() -> None:
    assert session_for("EURUSD") == "fx" and session_for("usdjpy") == "fx" and session_for("EURUSD=X") == "fx"
    assert session_for("BTC-PERP") == "utc" and session_for("SPY") == "utc" and session_for("GOOGLE") == "utc"


def test_nan_prices_are_refused(btc: pd.DataFrame) -> None:
    """Aligned multi-symbol frames have NaN rows where a symbol has no bar: resample one symbol's own bars."""
    holes = btc.iloc[:100].copy()
    holes.iloc[10] = np.nan
    with pytest.raises(DataError, match="NaN prices"):
        resample(holes, "5min")
