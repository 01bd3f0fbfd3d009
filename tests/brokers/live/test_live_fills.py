"""Fills reach the strategy in the live loop: `ema_trend_event` on a paper replay places its three exits (stop,
trailing stop, take-profit limit) from `on_fill` after each entry's fill, and when one exit fills at the broker the
others are cancelled from `on_fill` again. Up to the first exit that fills at a resting level (where the paper
broker's fill model, at the replayed bar, and the simulator's, intrabar, part ways) the orders are the event
backtest's, id for id."""

from __future__ import annotations

import pandas as pd
import pytest

from brokers.live.session import live_tag
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticBars
from engine.data import load_market_data
from engine.sim.event.run import run_event_backtest
from engine.strategies.registry import create_event_strategy
from engine.strategies.trend import EmaTrend
from tests.brokers.live.helpers import IVYBT, run, write_preset

pytestmark = pytest.mark.slow
NAME, START, REPLAY = "emaev", "2018-01-01", ("2019-01-02", "2019-12-31")


def test_exits_placed_and_cancelled_from_on_fill(presets):
    write_preset(presets, NAME, params={}, strategy="ema_trend_event", start=START)
    args = [str(IVYBT), "live", "--preset", NAME, "--replay", "..".join(REPLAY)]
    code, _, err = run(args)
    assert code == 0, err
    data = load_market_data(["SPY"], start=START, end=REPLAY[1])
    frame = pd.DataFrame({k: getattr(data, k)["SPY"] for k in ("open", "high", "low", "close")})
    orders = PaperBroker(bar_source=StaticBars({"SPY": frame})).orders("all")  # reading walks no later bar
    entries = [o for o in orders if o.client_order_id.endswith("-1")]
    assert len(entries) >= 3 and all(o.type == "market" for o in entries)  # the signals: market orders
    p = EmaTrend.Params()
    exits_fired = 0
    for entry in (o for o in entries if o.side == "buy"):
        stamp = entry.client_order_id.rsplit("-", 2)[0]
        exits = {o.type: o for o in orders if o.client_order_id.startswith(stamp) and o is not entry}
        assert set(exits) == {"stop", "trailing_stop", "limit"}  # placed from on_fill, with the entry's bar stamp
        assert all(o.side == "sell" and o.quantity == pytest.approx(entry.filled_quantity) for o in exits.values())
        px = entry.avg_fill_price
        sl, tp = 1 - exits["stop"].stop_price / px, exits["limit"].limit_price / px - 1
        assert tp / sl == pytest.approx(p.tp_atr / p.sl_atr)  # both from one ATR fraction of the signal bar
        assert exits["trailing_stop"].trail_percent / 100 / sl == pytest.approx(p.trail_atr / p.sl_atr)
        filled = [o for o in exits.values() if o.status == "filled"]
        if filled:  # the first exit to fill cancelled the other two
            exits_fired += 1
            assert len(filled) == 1 and all(o.status == "canceled" for o in exits.values() if o not in filled)
    assert exits_fired >= 1

    bt = run_event_backtest(data, create_event_strategy("ema_trend_event", {}), tag=live_tag(NAME, "paper")).orders
    placed = bt[(bt["event"] == "placed") & (bt["time"] >= REPLAY[0])]["client_order_id"].tolist()
    first_exit = min(o.filled_at for o in orders if o.status == "filled" and not o.client_order_id.endswith("-1"))
    before = [o.client_order_id for o in orders if o.submitted_at <= first_exit]
    assert len(before) >= 4 and placed[: len(before)] == before
