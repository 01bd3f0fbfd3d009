"""Issue 16 item 6: `update_symbols` against a fake Stooq on 127.0.0.1 (never the internet).

Stooq's answers are served in its real format (CSV with CRLF, "No data", the hits-limit sentence). The expected
values are the served text parsed with the csv module and float(), not what our code computed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from engine.data import WorkspaceSource, import_files, load_market_data
from engine.data.stooq import fetch_stooq, stooq_ticker
from engine.data.update import drop_unfinished, update_symbols
from engine.errors import ConfigError, DataError
from tests.engine.fake_stooq import NEW_BARS, FakeStooq, sample_rows, scaled


@pytest.fixture
def stooq(home, monkeypatch):
    with FakeStooq() as fake:
        monkeypatch.setenv("IVYBT_STOOQ_URL", fake.url)
        monkeypatch.setenv("IVYBT_STOOQ_TIMEOUT", "5")
        monkeypatch.delenv("IVYBT_DATA_ADJUST_TOLERANCE", raising=False)
        yield fake


def _frame_of(rows) -> pd.DataFrame:
    """The standard frame of served rows, built independently (float() of each text cell)."""
    idx = pd.DatetimeIndex([r[0] for r in rows], name="date").as_unit("ns")
    cols = {k: [float(r[i + 1]) for r in rows] for i, k in enumerate(("open", "high", "low", "close", "volume"))}
    return pd.DataFrame(cols, index=idx, dtype="float64")


def test_tickers_in_stooq_spelling() -> None:
    assert [stooq_ticker(s) for s in ("SPY", "brk-b", "BTC-USD", "VOD.UK", "^SPX")] == [
        "spy.us",
        "brk-b.us",
        "btcusd",
        "vod.uk",
        "^spx",
    ]


def test_fetch_returns_the_served_rows_exactly(stooq) -> None:
    rows = sample_rows("QQQ", last=50)
    stooq.series["qqq.us"] = rows
    pd.testing.assert_frame_equal(fetch_stooq("qqq"), _frame_of(rows))
    assert stooq.requests == ["/q/d/l/?s=qqq.us&i=d"]


@pytest.mark.parametrize(
    "setup, fragment",
    [
        (lambda f: None, "stooq: no data for ZZZ (unknown ticker 'zzz.us'?) from "),
        (lambda f: f.limited.add("zzz.us"), "stooq: ZZZ: rate limit reached from "),
        (lambda f: f.status.update({"zzz.us": 503}), "stooq: ZZZ: HTTP 503 "),
        (lambda f: f.hang.add("zzz.us"), "stooq: ZZZ: no answer from "),
        (
            lambda f: f.raw.update(
                {"zzz.us": "Date,Open,High,Low,Close,Volume\n2026-01-02,1,2,1,1.5,9\n2026-01-05,1,2,,1,9\n"}
            ),
            "line 3: column 'Low': missing price",
        ),
        (lambda f: f.raw.update({"zzz.us": "<html>Service unavailable</html>"}), "stooq: ZZZ: unexpected answer from "),
    ],
    ids=["no-data", "rate-limit", "http-503", "timeout", "malformed-csv", "not-csv"],
)
def test_fetch_errors_are_one_line_naming_symbol_and_url(stooq, monkeypatch, setup, fragment) -> None:
    monkeypatch.setenv("IVYBT_STOOQ_TIMEOUT", "0.3")
    setup(stooq)
    with pytest.raises(DataError) as err:
        fetch_stooq("ZZZ")
    message = str(err.value)
    assert fragment in message, message
    assert "\n" not in message and "ZZZ" in message
    assert f"{stooq.url}?s=zzz.us&i=d" in message


def test_update_appends_exactly_the_new_served_bars_and_keeps_older_history(stooq) -> None:
    # the source only has the last 200 bars: the older bundled history is kept, the 3 new bars are added
    stooq.series["spy.us"] = sample_rows("SPY", last=200) + NEW_BARS
    (r,) = update_symbols(["SPY"])
    assert (r.action, r.added, r.dropped, r.source) == ("appended", 3, 0, "stooq")
    assert "compatible" in r.message and "split- and dividend-adjusted" in r.message
    stored = WorkspaceSource().load("SPY")
    bundled = _frame_of(sample_rows("SPY"))
    pd.testing.assert_frame_equal(stored.iloc[: len(bundled)], bundled)
    pd.testing.assert_frame_equal(stored.iloc[len(bundled) :], _frame_of(NEW_BARS))
    assert r.bars == len(bundled) + 3 and r.last == pd.Timestamp("2026-06-12")
    # the default data now serves the update
    assert load_market_data(["SPY"]).index[-1] == pd.Timestamp("2026-06-12")
    # a second update with nothing new changes nothing
    before = (Path(os.environ["IVYBT_HOME"]) / "data" / "SPY.parquet").stat().st_mtime_ns
    (again,) = update_symbols(["SPY"])
    assert (again.action, again.added) == ("unchanged", 0)
    assert (Path(os.environ["IVYBT_HOME"]) / "data" / "SPY.parquet").stat().st_mtime_ns == before


def test_an_adjustment_change_replaces_the_whole_series(stooq) -> None:
    # a dividend since the stored download rescales every older bar by 0.99: no splicing of two bases
    served = scaled(sample_rows("GLD", last=1000), 0.99) + NEW_BARS
    stooq.series["gld.us"] = served
    (r,) = update_symbols(["GLD"])
    bundled_bars = len(sample_rows("GLD"))
    assert r.action == "replaced"
    assert (r.added, r.dropped, r.bars) == (3, bundled_bars - 1000, len(served))
    assert "differ by up to 1.000%" in r.message and "replaced from stooq rather than spliced" in r.message
    assert f"{bundled_bars - 1000:,} stored bars stooq lacks were dropped" in r.message
    pd.testing.assert_frame_equal(WorkspaceSource().load("GLD"), _frame_of(served))


def test_tolerance_setting_decides(stooq, monkeypatch) -> None:
    stooq.series["gld.us"] = scaled(sample_rows("GLD"), 0.99) + NEW_BARS
    monkeypatch.setenv("IVYBT_DATA_ADJUST_TOLERANCE", "0.02")  # 1 % apart is within 2 %: appended
    (r,) = update_symbols(["GLD"])
    assert (r.action, r.added) == ("appended", 3)
    monkeypatch.setenv("IVYBT_DATA_ADJUST_TOLERANCE", "lots")
    with pytest.raises(ConfigError, match="IVYBT_DATA_ADJUST_TOLERANCE='lots'"):
        update_symbols(["GLD"])


def test_one_failure_does_not_stop_the_others_and_a_new_ticker_is_created(stooq, tmp_path) -> None:
    stooq.status["qqq.us"] = 503
    stooq.series["acme.us"] = NEW_BARS
    out = {r.symbol: r for r in update_symbols(["QQQ", "ACME", "NOPE"])}
    assert out["QQQ"].action == "error" and "HTTP 503" in out["QQQ"].message
    assert out["QQQ"].last == pd.Timestamp("2026-06-09")  # what is stored is untouched
    assert out["NOPE"].action == "error" and out["NOPE"].bars == 0
    assert (out["ACME"].action, out["ACME"].added) == ("created", 3)
    assert WorkspaceSource().symbols() == ["ACME"]
    pd.testing.assert_frame_equal(WorkspaceSource().load("ACME"), _frame_of(NEW_BARS))


def test_after_the_rate_limit_the_rest_is_not_asked(stooq) -> None:
    stooq.limited.add("qqq.us")
    stooq.series["spy.us"] = NEW_BARS
    out = update_symbols(["QQQ", "SPY"])
    assert [(r.symbol, r.action) for r in out] == [("QQQ", "error"), ("SPY", "error")]
    assert out[1].message == "stooq: SPY: not asked: the rate limit was reached at QQQ; retry later"
    assert stooq.requests == ["/q/d/l/?s=qqq.us&i=d"]


def test_an_interrupted_write_leaves_the_old_file_whole(stooq, monkeypatch, tmp_path) -> None:
    first = tmp_path / "SPY.csv"
    first.write_text("date,open,high,low,close,volume\n" + "\n".join(",".join(r) for r in sample_rows("SPY")) + "\n")
    assert import_files([first]).ok
    target = Path(os.environ["IVYBT_HOME"]) / "data" / "SPY.parquet"
    before = target.read_bytes()
    stooq.series["spy.us"] = sample_rows("SPY") + NEW_BARS

    real = pd.DataFrame.to_parquet

    def torn(self, path, *a, **kw):
        Path(path).write_bytes(b"PAR1 half a file")  # the temp file is half written, then the process is stopped
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", torn)
    with pytest.raises(KeyboardInterrupt):
        update_symbols(["SPY"])
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["SPY.parquet"]  # no temp file left

    def full(self, path, *a, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    (r,) = update_symbols(["SPY"])
    assert r.action == "error" and "could not save" in r.message and "No space left" in r.message
    assert target.read_bytes() == before
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    (ok,) = update_symbols(["SPY"])
    assert (ok.action, ok.added) == ("appended", 3)


def test_a_bar_of_an_unfinished_session_is_left_out() -> None:
    frame = _frame_of(NEW_BARS)  # 2026-06-10 .. 2026-06-12 (Friday)
    # Friday noon in New York: Friday's bar may still change
    kept, dropped = drop_unfinished(frame, pd.Timestamp("2026-06-12 12:00", tz="America/New_York"))
    assert (list(kept.index.strftime("%Y-%m-%d")), dropped) == (["2026-06-10", "2026-06-11"], 1)
    # after the close (16:15 New York = 20:15 UTC in June)
    kept, dropped = drop_unfinished(frame, pd.Timestamp("2026-06-12 20:15", tz="UTC"))
    assert (len(kept), dropped) == (3, 0)


def test_bad_source_and_bad_symbol_names(home) -> None:
    with pytest.raises(ConfigError, match=r"unknown data source 'yahoo': choose one of stooq"):
        update_symbols(["SPY"], "yahoo")
    with pytest.raises(DataError, match=r"'\.\./ETC' is not a usable symbol"):
        update_symbols(["../etc"])
