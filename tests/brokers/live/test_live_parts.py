"""The live loop's parts, each on its own: closed bars only, the replay range, presets of event strategies, the
single-order risk rules in front of a real paper broker, fills derived from order statuses (a partial fill then the
rest, through the real alpaca-py client), and indicators recomputed in place on longer data."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from brokers.base import OrderRequest
from brokers.live.cli import parse_replay
from brokers.live.feed import closed_bars
from brokers.live.follow import OrderFollower
from brokers.live.guard import DryBroker, GuardedBroker
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices
from engine.data import load_market_data
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.ops.audit_log import AuditLog
from engine.ops.risk import RiskLimits
from engine.sim.event.context import Context, LookAheadError
from engine.store.presets import load_preset
from tests.brokers.live.helpers import write_preset

NY = ZoneInfo("America/New_York")


def bars(index: pd.DatetimeIndex) -> MarketData:
    frame = pd.DataFrame(
        {f: np.arange(1.0, len(index) + 1) for f in ("open", "high", "low", "close", "volume")}, index=index
    )
    return MarketData.from_frames({"X": frame})


def test_a_daily_bar_counts_from_its_sessions_close_an_intraday_bar_after_its_length():
    daily = bars(pd.DatetimeIndex(["2024-01-03", "2024-01-04", "2024-01-05"]))
    assert closed_bars(daily, datetime(2024, 1, 5, 15, 59, tzinfo=NY)).index[-1] == pd.Timestamp("2024-01-04")
    assert closed_bars(daily, datetime(2024, 1, 5, 16, 0, tzinfo=NY)).index[-1] == pd.Timestamp("2024-01-05")
    minute = bars(pd.date_range("2024-01-05 09:58", periods=3, freq="1min"))  # last bar opens 10:00 UTC
    assert len(closed_bars(minute, datetime(2024, 1, 5, 10, 0, 59))) == 2
    assert len(closed_bars(minute, datetime(2024, 1, 5, 10, 1, 0))) == 3


def test_replay_range():
    assert parse_replay("2020-01-02..2020-12-31") == ("2020-01-02", "2020-12-31")
    assert parse_replay("2020-01-02..") == ("2020-01-02", None)
    with pytest.raises(ConfigError, match="expected START..END"):
        parse_replay("2020-01-02")


def test_a_preset_may_name_an_event_strategy_and_its_params_are_checked(presets):
    write_preset(presets, "ok")
    assert load_preset("ok").strategy == "sma_cross_event"
    write_preset(presets, "bad", params={"fast": 5, "slow": 20, "weight": 0.5, "speed": 3})
    with pytest.raises(ConfigError, match=r"preset 'bad': field 'params'.*speed"):
        load_preset("bad")


def test_single_order_risk_rules_refuse_before_the_broker(workspace, tmp_path):
    paper = PaperBroker(price_source=StaticPrices({"SPY": 500.0}))
    log = AuditLog()
    guarded = GuardedBroker(paper, log, "t@paper", RiskLimits(max_order_notional=10_000.0, max_weight=0.2))
    ack = guarded.submit(OrderRequest("SPY", 30, "buy", client_order_id="t-1"))  # 15,000 > 10,000
    assert ack.status == "rejected" and paper.orders("all") == []
    assert guarded.refused[0].reason == "max_order_notional: order notional 15,000.00 exceeds the limit 10,000.00"
    ack = guarded.submit(OrderRequest("SPY", 19, "buy", client_order_id="t-2"))  # 9,500: 9.5 % of equity
    assert ack.status == "filled" and paper.order("t-2").filled_quantity == 19
    ack = guarded.submit(OrderRequest("SPY", 19, "buy", client_order_id="t-3"))  # would hold 38 x 500 = 19 %
    assert ack.status == "filled"
    ack = guarded.submit(OrderRequest("SPY", 4, "buy", client_order_id="t-4"))  # 42 x 500 = 21 % > 20 %
    assert ack.status == "rejected" and guarded.refused[-1].reason.startswith("max_weight: SPY would be 21.00%")
    ack = guarded.submit(OrderRequest("SPY", 10, "sell", client_order_id="t-5"))  # reduces: always allowed
    assert ack.status == "filled"
    checks = log.events(kind="check")["message"].tolist()
    assert len(checks) == 2 and all(m.startswith("live t@paper: buy") and "not sent" in m for m in checks)


def test_fills_from_statuses_partial_then_the_rest(alpaca_fake):
    from brokers.alpaca.adapter import AlpacaBroker

    broker = AlpacaBroker(alpaca_fake.key, alpaca_fake.secret, base_url=alpaca_fake.url, data_url=alpaca_fake.url)
    followed: dict = {}
    follower = OrderFollower(broker, "lvx", followed)
    broker.submit(OrderRequest("AAPL", 3, "buy", client_order_id="other-1"))  # not the loop's order
    alpaca_fake.partial["SPY"] = 0.5
    broker.submit(OrderRequest("SPY", 10, "buy", client_order_id="lvx-20240105000000-SPY-1"))
    fills, updates = follower.poll()
    assert [(f.quantity, f.price) for f in fills] == [(5.0, 500.0)]
    assert [u.status for u in updates] == ["partially_filled"]
    order = next(o for o in alpaca_fake.orders if o["client_order_id"] == "lvx-20240105000000-SPY-1")
    with alpaca_fake.lock:  # the venue fills the other 5 at 510: average 505
        order.update(filled=10.0, avg=505.0, status="filled")
    fills, updates = follower.poll()
    assert [(f.quantity, f.price) for f in fills] == [(5.0, pytest.approx(510.0))]
    assert fills[0].id.endswith(":10") and [u.status for u in updates] == ["filled"]
    assert follower.poll() == ([], [])  # each once
    broker.close()


def test_refresh_recomputes_declared_lines_in_place_and_keeps_the_guard(workspace):
    data = load_market_data(["SPY"], start="2019-01-01", end="2019-06-28")
    ctx = Context(DryBroker(PaperBroker(), lambda s: 1.0), data.head(40), "t")
    sma = ctx.indicator(lambda b: b["close"].rolling(10).mean(), "SPY", "sma10")
    close = ctx.line("close", "SPY")
    ctx.refresh(data.head(100))
    ctx.i = 99
    expected = data.close["SPY"].iloc[90:100].mean()
    assert sma[0] == pytest.approx(expected) and close[0] == data.close["SPY"].iloc[99]
    assert sma[-60] == pytest.approx(data.close["SPY"].iloc[30:40].mean())  # the past is unchanged
    with pytest.raises(LookAheadError):
        sma[1]
