"""A higher-timeframe bar is visible only after it closed (engine.data.visibility): a brute-force check of the
rule, and no look-ahead through resampling: what is visible at a bar is the same on the whole data and on the
data cut right after that bar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data.sources import INTRADAY_DIR
from engine.data.timeframes import parse_timeframe, resample
from engine.data.visibility import align_closed, closed_index

BTC = pd.read_csv(INTRADAY_DIR / "BTC-PERP.csv", parse_dates=["timestamp"], index_col="timestamp").iloc[:3000]
BTC.index = BTC.index.as_unit("ns").rename("date")
FX = pd.read_csv(INTRADAY_DIR / "EURUSD.csv", parse_dates=["timestamp"], index_col="timestamp").iloc[:1500]
FX.index = FX.index.as_unit("ns").rename("date")
CASES = {  # name: (lower bars, lower timeframe, higher timeframe, session)
    "btc 1min->5min": (BTC, "1min", "5min", "utc"),
    "btc 1min->1h": (BTC, "1min", "1h", "utc"),
    "btc 1min->4h": (BTC, "1min", "4h", "utc"),
    "fx 1h->4h": (FX, "1h", "4h", "fx"),
    "fx 1h->1d": (FX, "1h", "1d", "fx"),
}


def _indicator(higher: pd.DataFrame) -> pd.DataFrame:
    """Something computed on the higher bars: their close and a 3-bar average of it."""
    return pd.DataFrame({"close": higher["close"], "sma3": higher["close"].rolling(3).mean()})


def _visible(lower: pd.DataFrame, tf_lo: str, tf_hi: str, session: str) -> pd.DataFrame:
    higher = resample(lower, tf_hi, session=session, source=tf_lo)  # source: a cut of 1 bar has no step to infer
    return align_closed(_indicator(higher), lower.index, tf_lo, tf_hi, session)


@pytest.mark.parametrize("case", list(CASES))
def test_closed_index_is_the_last_higher_bar_closed_by_each_lower_close(case: str) -> None:
    lower, tf_lo, tf_hi, session = CASES[case]
    higher = resample(lower, tf_hi, session=session)
    pos = closed_index(lower.index, higher.index, tf_lo, tf_hi, session)
    lower_close = lower.index + pd.Timedelta(
        minutes=parse_timeframe(tf_lo).minutes
    )  # 1-minute / hourly bars never cross a session boundary
    higher_close = higher.index + pd.Timedelta(minutes=parse_timeframe(tf_hi).minutes)
    if tf_hi == "1d":  # FX sessions: 17:00 New York to 17:00 New York the next day (wall clock)
        opens = higher.index.tz_localize("UTC").tz_convert("America/New_York")
        higher_close = (opens + pd.DateOffset(days=1)).tz_convert("UTC").tz_localize(None)
    closed = higher_close.to_numpy()[None, :] <= lower_close.to_numpy()[:, None]  # lower bar x higher bar
    expected = np.where(closed.any(axis=1), closed.shape[1] - 1 - np.argmax(closed[:, ::-1], axis=1), -1)
    assert pos.tolist() == expected.tolist()
    assert (pos == -1).any() and (pos >= 0).any()


@pytest.mark.parametrize("case", list(CASES))
@given(data=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_look_ahead_through_resampling(case: str, data: st.DataObject) -> None:
    lower, tf_lo, tf_hi, session = CASES[case]
    full = _visible(lower, tf_lo, tf_hi, session)
    cut = data.draw(st.integers(min_value=1, max_value=len(lower)), label="bars known")
    seen = _visible(lower.iloc[:cut], tf_lo, tf_hi, session)
    pd.testing.assert_frame_equal(seen, full.iloc[:cut])


def test_a_higher_bar_appears_at_the_lower_bar_that_closes_it() -> None:
    lower = BTC.loc["2022-01-01 00:00":"2022-01-01 01:10"]
    hourly = resample(BTC, "1h")
    seen = align_closed(hourly["close"], lower.index, "1min", "1h")
    # the 00:00-01:00 bar closes with the 00:59 minute bar: NaN before it (the 23:00 bar started before the data)
    assert np.isnan(seen.loc["2022-01-01 00:58"])
    assert (
        seen.loc["2022-01-01 00:59"] == BTC.loc["2022-01-01 00:59", "close"] == hourly.loc["2022-01-01 00:00", "close"]
    )
    assert (seen.loc["2022-01-01 00:59":"2022-01-01 01:10"] == seen.loc["2022-01-01 00:59"]).all()
