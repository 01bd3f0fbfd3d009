"""The seed event strategies on a week of the bundled BTC-PERP minute bars: invariants recomputed from the data and
the order log (not from the strategies' own state), every parameter at its optimization bounds, and the look-ahead
check (a run on data cut at bar t places the same orders up to t as the full run)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.data.market import MarketData
from engine.sim.event.run import run_event_backtest
from engine.strategies.base import param_specs
from engine.strategies.events import EventStrategy
from engine.strategies.gap_and_go import GapAndGo
from engine.strategies.grid_bot import GridBot

SYMBOL = "BTC-PERP"
CONFIG = BacktestConfig(costs={"commission_bps": 2.0, "slippage_bps": 1.0})
DAY = pd.Timedelta("1D")


@pytest.fixture(scope="module")
def week() -> MarketData:
    return load_market_data([SYMBOL], "2022-01-03", "2022-01-09")


def minute_frame(data: MarketData) -> pd.DataFrame:
    return pd.DataFrame({f: data.field(f)[SYMBOL] for f in ("open", "high", "low", "close")})


# ---------------------------------------------------------------------------------------------- gap and go
GAP_CASES = [
    {"min_gap_pct": 0.0, "session_start_hour": 0, "session_hours": 24.0},  # every UTC day armed, stop entries
    {"min_gap_pct": 0.0, "entry": "market", "allow_short": True, "stop_pct": 0.5, "range_minutes": 30},
    {"min_gap_pct": 0.5, "session_start_hour": 14, "session_hours": 6.5, "allow_short": True},
]


def sessions(bars: pd.DataFrame, start_hour: int, hours: float) -> list[pd.DataFrame]:
    """Each session's bars inside its hours: from the first bar of each day counted from `start_hour`."""
    day = ((bars.index - pd.Timedelta(hours=start_hour)).floor("D")).asi8
    out = []
    for key in np.unique(day):
        part = bars[day == key]
        out.append(part[part.index < part.index[0] + pd.Timedelta(hours=hours)])
    return out


@pytest.mark.parametrize("params", GAP_CASES)
def test_gap_and_go_invariants_on_a_week_of_btc_minutes(week: MarketData, params: dict) -> None:
    p = GapAndGo(params).params
    result = run_event_backtest(week, GapAndGo(params), CONFIG)
    orders, bars = result.orders, minute_frame(week)
    placed = orders[orders["event"] == "placed"].set_index("client_order_id")
    filled = orders[orders["event"] == "filled"].set_index("client_order_id")
    legs = {c for c in placed.index if c.endswith("-sl")}
    if p.entry == "stop":
        entries = placed[(placed["type"] == "stop") & ~placed.index.isin(legs)]
    else:  # a bracket entry is the market order that has legs
        entries = placed[placed.index.map(lambda c: f"{c}-sl" in legs)]
    assert len(entries) >= 2
    previous_close = math.nan
    n_entries = 0
    for part in sessions(bars, p.session_start_hour, p.session_hours):
        first, end = part.index[0], part.index[-1]
        # flat at the session's end: the position after its last bar inside its hours
        assert result.positions.loc[end, SYMBOL] == 0.0
        mine = entries[(entries["time"] >= first) & (entries["time"] <= end)]
        assert len(mine) <= 1  # at most one entry per session
        gap = part["open"].iloc[0] / previous_close - 1.0
        previous_close = part["close"].iloc[-1]
        if mine.empty:
            continue
        n_entries += 1
        assert abs(gap) * 100 >= p.min_gap_pct and (gap >= 0 or p.allow_short)
        opening = part[part.index < first + pd.Timedelta(minutes=p.range_minutes)]
        high, low = opening["high"].max(), opening["low"].min()
        cid, entry = mine.index[0], mine.iloc[0]
        assert entry["side"] == ("buy" if gap >= 0 else "sell")
        direction = 1 if gap >= 0 else -1
        if p.entry == "stop":
            assert entry["stop_price"] == (high if direction > 0 else low)
            if cid not in filled.index:
                continue
            reference = filled.loc[cid, "fill_price"]  # the exits are set from the fill
            exits = placed[(placed["time"] == filled.loc[cid, "time"]) & (placed["type"] == "limit")]
            tp_id = exits.index[0]
        else:
            reference = bars.loc[entry["time"], "close"]  # the bracket's exits are set from the signal close
            assert (reference > high) if direction > 0 else (reference < low)
            tp_id = f"{cid}-tp"
        stop_loss = reference * (1 - direction * p.stop_pct / 100) if p.stop_pct else (low if direction > 0 else high)
        take_profit = reference + p.reward_risk * (reference - stop_loss)
        assert placed.loc[f"{tp_id}-sl" if p.entry == "stop" else f"{cid}-sl", "stop_price"] == pytest.approx(
            stop_loss, rel=1e-12
        )
        assert placed.loc[tp_id, "limit_price"] == pytest.approx(take_profit, rel=1e-12)
    assert n_entries == len(entries)  # no entry outside a session's hours


# ---------------------------------------------------------------------------------------------- grid bot
GRID_CASES = [{}, {"levels": 8, "spacing_pct": 0.1, "max_inventory": 3, "recenter_pct": 0.5}]


@pytest.mark.parametrize("params", GRID_CASES)
def test_grid_bot_invariants_on_a_week_of_btc_minutes(week: MarketData, params: dict) -> None:
    p = GridBot(params).params
    result = run_event_backtest(week, GridBot(params), CONFIG)
    orders = result.orders
    held: list[float] = []  # the limit prices of the buys held since the last re-centring
    spacing = math.nan
    n_pairs = 0
    for r in orders.itertuples():
        if r.event == "canceled" and r.reason == "canceled by the strategy":  # a re-centring (ctx.close)
            spacing = math.nan  # the next buy placed is the new grid's level -1
        if r.event == "placed" and r.type == "limit" and r.side == "buy" and math.isnan(spacing):
            spacing = r.limit_price / (1 - p.spacing_pct / 100) * p.spacing_pct / 100  # level -1 = centre x (1 - s)
        if r.event != "filled":
            continue
        if r.type == "market":  # the re-centring's close sells every lot
            held.clear()
            continue
        assert r.type == "limit"
        if r.side == "buy":
            assert r.fill_price <= r.limit_price
            held.append(r.limit_price)
            assert len(held) <= p.max_inventory
        else:
            assert r.fill_price >= r.limit_price
            pair = [i for i, b in enumerate(held) if abs(b - (r.limit_price - spacing)) <= 1e-9 * b]
            assert pair, (r.time, r.limit_price, held)  # a held buy one spacing below the sell
            held.pop(pair[0])
            n_pairs += 1
    assert n_pairs > 20
    positions = result.positions[SYMBOL]
    lot_max = orders.loc[(orders["event"] == "placed") & (orders["type"] == "limit"), "quantity"].max()
    assert positions.min() >= 0.0  # long-only
    assert positions.max() <= p.max_inventory * lot_max * (1 + 1e-9)


# ---------------------------------------------------------------------------------------------- bounds
def extremes(cls: type) -> list[dict]:
    """Each parameter at its low and at its high (or each choice), the others at their defaults; all lows; all
    highs."""
    specs = param_specs(cls.Params)
    out: list[dict] = [{}]
    for s in specs:
        values = list(s.choices) if s.choices else [s.low, s.high]
        out += [{s.name: v} for v in values]
    out.append({s.name: s.low for s in specs if s.low is not None})
    out.append({s.name: s.high for s in specs if s.high is not None})
    return out


@pytest.mark.parametrize("cls", [GapAndGo, GridBot])
def test_every_parameter_bound_gives_a_valid_strategy(cls: type, week: MarketData) -> None:
    two_days = week.slice("2022-01-03", "2022-01-04 23:59")
    for params in extremes(cls):
        strategy = cls(params)
        assert {k: getattr(strategy.params, k) for k in params} == params
        result = run_event_backtest(two_days, strategy, CONFIG)
        assert np.isfinite(result.equity.to_numpy()).all()
        assert (result.orders["event"] != "rejected").all(), (params, result.orders["reason"].unique())


# ---------------------------------------------------------------------------------------------- look-ahead
LOOKAHEAD = [
    (GapAndGo, {"min_gap_pct": 0.0, "range_minutes": 10, "session_start_hour": 0, "session_hours": 24.0}),
    (GapAndGo, {"min_gap_pct": 0.0, "entry": "market", "allow_short": True}),
    (GridBot, {}),
]


@pytest.mark.parametrize(("cls", "params"), LOOKAHEAD)
def test_truncated_runs_place_the_same_orders(cls: type, params: dict, week: MarketData) -> None:
    data = week.slice("2022-01-03", "2022-01-05 23:59")
    full = run_event_backtest(data, cls(params), CONFIG).orders
    assert len(full) > 5
    for cut in (100, 1439, 1440, 1455, 2100, 2230, 2240, 2609, 2610, 3000, 3700):  # 13:00 UTC on 4 January: 2220
        end = data.index[cut - 1]
        part = run_event_backtest(data.head(cut), cls(params), CONFIG).orders
        expected = full[full["time"] <= end].reset_index(drop=True)
        pd.testing.assert_frame_equal(part.reset_index(drop=True), expected, check_dtype=False, check_index_type=False)


def test_the_week_is_the_bundled_file(week: MarketData) -> None:
    """The fixture is BTC-PERP's 1-minute bars of 3-9 January 2022 (7 x 1440 bars), as read by pandas directly."""
    from engine.data.sources import SAMPLE_DIR

    raw = pd.read_csv(Path(SAMPLE_DIR) / "intraday" / f"{SYMBOL}.csv", index_col=0, parse_dates=True)
    raw = raw.loc["2022-01-03":"2022-01-09"]
    assert len(week) == len(raw) == 7 * 1440
    np.testing.assert_array_equal(week.field("close")[SYMBOL].to_numpy(), raw["close"].to_numpy())


class RestartedGrid(EventStrategy):
    """A grid_bot whose object is replaced by a fresh one after bar `at` (a restart that keeps only `ctx.state`, as
    the live loop does)."""

    name = "restarted_grid"
    Params = GridBot.Params

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.inner = at, GridBot()

    def on_start(self, ctx: Any) -> None:
        self.inner.on_start(ctx)

    def on_bar(self, bar: Any, ctx: Any) -> None:
        self.inner.on_bar(bar, ctx)
        if bar.index == self.at:
            self.inner = GridBot()
            self.inner.on_start(ctx)

    def on_fill(self, fill: Any, ctx: Any) -> None:
        self.inner.on_fill(fill, ctx)


def test_grid_bot_keeps_rearming_after_a_restart(week: MarketData) -> None:
    data = week.slice("2022-01-03", "2022-01-03 23:59")
    straight = run_event_backtest(data, GridBot(), CONFIG).orders
    restarted = run_event_backtest(data, RestartedGrid(at=300), CONFIG).orders
    placed = straight[straight["event"] == "placed"].set_index("order_id")["time"]
    after = straight[(straight["time"] > data.index[300]) & (straight["event"] == "filled")]
    assert (after["order_id"].map(placed) <= data.index[300]).sum() >= 2  # orders from before the restart filled
    pd.testing.assert_frame_equal(restarted, straight)
