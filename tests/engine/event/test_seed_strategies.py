"""The seed event strategies (issue 17 item 7) on hand-made minute bars: every order, fill price and the final
equity worked out by hand from the stated fill rules (engine.sim.event.book: a stop fills at its level, or at the
open when the open is through it; a limit at its price, or at the open when the open is better; a market order at
the next open; stops before limits inside one bar). Costs: 10 bps commission, no slippage, so each fill costs
|quantity| x price x 0.001. Real-data invariants, parameter bounds and the look-ahead check are in
test_seed_strategies_intraday.py."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.data.market import MarketData
from engine.errors import StrategyError
from engine.sim.event.run import run_event_backtest
from engine.strategies.gap_and_go import GapAndGo
from engine.strategies.grid_bot import GridBot
from engine.strategies.registry import EVENT_BUILTINS, create_event_strategy

FEE = 0.001
CONFIG = BacktestConfig(costs={"commission_bps": 10.0})
FLAT = (100.0, 100.0, 100.0, 100.0)


def minute_bars(days: dict[str, list[tuple[float, float, float, float]]]) -> MarketData:
    """Symbol "X": for each day, its (open, high, low, close) rows as bars from 00:00, one a minute."""
    frames = []
    for day, rows in days.items():
        index = pd.date_range(day, periods=len(rows), freq="min")
        frames.append(pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index))
    frame = pd.concat(frames)
    frame["volume"] = 1e9
    return MarketData.from_frames({"X": frame})


def rows(orders: pd.DataFrame, event: str) -> list[tuple]:
    """(time, side, type, limit, stop, fill price) of the order log's `event` rows (NaN as None)."""
    picked = orders[orders["event"] == event]
    out = []
    for r in picked.itertuples():
        limit = None if r.limit_price != r.limit_price else round(r.limit_price, 9)
        stop = None if r.stop_price != r.stop_price else round(r.stop_price, 9)
        fill = None if r.fill_price != r.fill_price else round(r.fill_price, 9)
        out.append((str(r.time), r.side, r.type, limit, stop, fill))
    return out


# ---------------------------------------------------------------------------------------------- gap and go
GAP_PARAMS = {"min_gap_pct": 0.5, "range_minutes": 2, "reward_risk": 2.0, "session_start_hour": 0, "session_hours": 0.1}
GAP_DAYS = {
    "2024-01-02": [FLAT] * 6,  # the first session: no previous close, no gap, no trade
    "2024-01-03": [  # gap +2 % (102 vs 100); range 00:00-00:01: high 103.5, low 101.5
        (102.0, 103.0, 101.5, 102.5),
        (102.5, 103.5, 102.0, 103.0),  # range complete: buy stop at 103.5
        (103.2, 104.0, 103.1, 103.8),  # stop reached in the range: filled at 103.5; OCO tp 107.5, sl 101.5
        (104.0, 108.0, 103.9, 107.0),  # high 108 >= 107.5: take-profit at 107.5, the stop-loss cancelled
        (107.0, 107.0, 106.0, 106.5),  # second-to-last bar: flat already, nothing to close
        (106.5, 106.5, 106.0, 106.0),
    ],
    "2024-01-04": [  # gap 106.2 / 106 - 1 = 0.19 % < 0.5 %: no trade even though the range breaks
        (106.2, 106.5, 106.0, 106.3),
        (106.3, 106.4, 106.1, 106.2),
        (106.2, 110.0, 106.2, 109.0),
        (109.0, 109.0, 106.0, 106.0),
        (106.0, 106.0, 106.0, 106.0),
        (106.0, 106.0, 106.0, 106.0),
    ],
    "2024-01-05": [  # gap 107.06 / 106 - 1 = 1 %; range high 107.8, low 106.5
        (107.06, 107.5, 106.5, 107.2),
        (107.2, 107.8, 107.0, 107.6),  # buy stop at 107.8
        (107.9, 108.2, 107.7, 108.0),  # the open is through the stop: filled at 107.9; tp 110.7, sl 106.5
        (108.0, 108.5, 107.5, 108.1),
        (108.1, 108.3, 107.9, 108.2),  # second-to-last bar: legs cancelled, a market sell
        (108.25, 108.4, 108.0, 108.3),  # sold at the open 108.25: flat at the session's end
    ],
}


def test_gap_and_go_stop_entry_by_hand() -> None:
    result = run_event_backtest(minute_bars(GAP_DAYS), GapAndGo(GAP_PARAMS), CONFIG)
    q1 = 0.5 * 100_000.0 / 103.5  # half the equity at the stop level
    cash = 100_000.0 - q1 * 103.5 * (1 + FEE) + q1 * 107.5 * (1 - FEE)
    q2 = 0.5 * cash / 107.8  # flat again: equity = cash
    tp2 = 107.9 + 2.0 * (107.9 - 106.5)
    cash += -q2 * 107.9 * (1 + FEE) + q2 * 108.25 * (1 - FEE)
    assert rows(result.orders, "placed") == [
        ("2024-01-03 00:01:00", "buy", "stop", None, 103.5, None),
        ("2024-01-03 00:02:00", "sell", "limit", 107.5, None, None),  # the exits: 103.5 + 2 x (103.5 - 101.5)
        ("2024-01-03 00:02:00", "sell", "stop", None, 101.5, None),
        ("2024-01-05 00:01:00", "buy", "stop", None, 107.8, None),
        ("2024-01-05 00:02:00", "sell", "limit", round(tp2, 9), None, None),
        ("2024-01-05 00:02:00", "sell", "stop", None, 106.5, None),
        ("2024-01-05 00:04:00", "sell", "market", None, None, None),
    ]
    assert rows(result.orders, "filled") == [
        ("2024-01-03 00:02:00", "buy", "stop", None, 103.5, 103.5),
        ("2024-01-03 00:03:00", "sell", "limit", 107.5, None, 107.5),
        ("2024-01-05 00:02:00", "buy", "stop", None, 107.8, 107.9),
        ("2024-01-05 00:05:00", "sell", "market", None, None, 108.25),
    ]
    assert len(rows(result.orders, "canceled")) == 3  # the first stop-loss (OCO), then the second trade's two legs
    assert result.orders.loc[result.orders["event"] == "filled", "fill_quantity"].tolist() == pytest.approx(
        [q1, q1, q2, q2], rel=1e-12
    )
    assert result.equity.iloc[-1] == pytest.approx(cash, rel=1e-12)
    assert result.positions["X"].iloc[-1] == 0.0


SHORT_DAYS = {
    "2024-01-02": [FLAT] * 6,
    "2024-01-03": [  # gap -2 %; range high 98.5, low 97.5
        (98.0, 98.5, 97.5, 98.0),
        (98.0, 98.2, 97.6, 97.8),
        (97.8, 97.9, 97.2, 97.3),  # close 97.3 < 97.5: a market sell bracket, sl 98.5, tp 97.3 - 2 x 1.2 = 94.9
        (97.2, 97.4, 94.5, 95.0),  # sold at the open 97.2; the take-profit (low 94.5 <= 94.9) bought back at 94.9
        (95.0, 95.5, 94.0, 94.2),  # a second break of the low: no second trade this session
        (94.2, 94.3, 94.0, 94.1),
    ],
}


def test_gap_and_go_market_bracket_short_by_hand() -> None:
    params = {**GAP_PARAMS, "entry": "market", "allow_short": True}
    result = run_event_backtest(minute_bars(SHORT_DAYS), GapAndGo(params), CONFIG)
    q = 0.5 * 100_000.0 / 97.3  # sized at the signal close
    tp = 97.3 - 2.0 * (98.5 - 97.3)
    assert rows(result.orders, "placed") == [
        ("2024-01-03 00:02:00", "sell", "market", None, None, None),
        ("2024-01-03 00:03:00", "buy", "limit", round(tp, 9), None, None),  # the bracket's legs, at its fill
        ("2024-01-03 00:03:00", "buy", "stop", None, 98.5, None),
    ]
    assert rows(result.orders, "filled") == [
        ("2024-01-03 00:03:00", "sell", "market", None, None, 97.2),
        ("2024-01-03 00:03:00", "buy", "limit", round(tp, 9), None, round(tp, 9)),
    ]
    cash = 100_000.0 + q * 97.2 * (1 - FEE) - q * tp * (1 + FEE)
    assert result.equity.iloc[-1] == pytest.approx(cash, rel=1e-12)
    long_only = run_event_backtest(minute_bars(SHORT_DAYS), GapAndGo({**params, "allow_short": False}), CONFIG)
    assert long_only.orders.empty  # a gap down is not traded long-only


# ---------------------------------------------------------------------------------------------- grid bot
GRID_PARAMS = {"levels": 2, "spacing_pct": 1.0, "order_size": 0.1, "max_inventory": 2, "recenter_pct": 1.0}
GRID_ROWS = [
    (100.0, 100.0, 100.0, 100.0),  # centre 100, lot 0.1 x 100000 / 100 = 100: buys at 99 and 98
    (100.0, 100.5, 98.8, 99.2),  # buy 99 filled; a sell at 100 armed at the close
    (99.2, 100.3, 99.1, 100.1),  # sell 100 filled; the buy at 99 re-armed
    (100.0, 100.2, 97.5, 98.2),  # buys 98 (placed first) and 99 filled; sells at 99 and 100 armed
    (98.3, 99.5, 98.1, 99.4),  # sell 99 filled; the buy at 98 re-armed
    (99.4, 99.6, 95.0, 95.5),  # buy 98 filled; close 95.5 < 98 x 0.99: re-centre at 95.5, market sell of 200
    (95.4, 95.6, 94.0, 94.2),  # sold at the open 95.4; the new grid's buy at 95.5 x 0.99 = 94.545 filled
]


def test_grid_bot_by_hand() -> None:
    data = minute_bars({"2024-01-02": GRID_ROWS})
    result = run_event_backtest(data, GridBot(GRID_PARAMS), CONFIG)
    trades = [(-99.0, 100), (100.0, 100), (-98.0, 100), (-99.0, 100), (99.0, 100), (-98.0, 100), (95.4, 200)]
    cash = 100_000.0
    for price, qty in trades:  # negative price: a buy
        cash += qty * abs(price) * (1 - FEE) if price > 0 else -qty * abs(price) * (1 + FEE)
    lot2 = 0.1 * (cash - 95.4 * 200 * (1 - FEE) + 200 * 95.5) / 95.5  # the equity at bar 5's close
    cash -= lot2 * 94.545 * (1 + FEE)
    filled = [(t[5], t[1]) for t in rows(result.orders, "filled")]
    assert filled == [
        (99.0, "buy"),
        (100.0, "sell"),
        (98.0, "buy"),
        (99.0, "buy"),
        (99.0, "sell"),
        (98.0, "buy"),
        (95.4, "sell"),
        (94.545, "buy"),
    ]
    assert result.positions["X"].tolist() == pytest.approx([0, 100, 0, 200, 100, 200, lot2], rel=1e-12)
    canceled = rows(result.orders, "canceled")
    assert [(c[0], c[2], c[3]) for c in canceled] == [("2024-01-02 00:05:00", "limit", 100.0)]  # the sell at 100
    new_grid = [p for p in rows(result.orders, "placed") if p[0] == "2024-01-02 00:05:00" and p[2] == "limit"]
    assert [p[3] for p in new_grid] == [round(95.5 * 0.99, 9), round(95.5 * 0.98, 9)]
    assert result.equity.iloc[-1] == pytest.approx(cash + lot2 * 94.2, rel=1e-12)


def test_grid_bot_arms_only_max_inventory_levels_and_shorts_when_allowed() -> None:
    data = minute_bars({"2024-01-02": [FLAT, FLAT]})
    capped = run_event_backtest(data, GridBot({**GRID_PARAMS, "levels": 3, "max_inventory": 1}), CONFIG)
    assert [(p[1], p[3]) for p in rows(capped.orders, "placed")] == [("buy", 99.0)]
    both = run_event_backtest(data, GridBot({**GRID_PARAMS, "allow_short": True}), CONFIG)
    assert sorted((p[1], p[3]) for p in rows(both.orders, "placed")) == [
        ("buy", 98.0),
        ("buy", 99.0),
        ("sell", 101.0),
        ("sell", 102.0),
    ]


def test_seed_strategies_are_registered_event_builtins() -> None:
    assert EVENT_BUILTINS["gap_and_go"] is GapAndGo and EVENT_BUILTINS["grid_bot"] is GridBot
    assert create_event_strategy("grid_bot", {"levels": "3"}).params.levels == 3


def test_whole_units_when_the_run_takes_no_fractions() -> None:
    whole = BacktestConfig(costs={"commission_bps": 10.0}, fractional=False)
    gap = run_event_backtest(minute_bars(GAP_DAYS), GapAndGo(GAP_PARAMS), whole)
    entries = gap.orders[(gap.orders["event"] == "placed") & (gap.orders["type"] == "stop")]
    assert entries["quantity"].iloc[0] == 483.0  # floor(50000 / 103.5) = floor(483.09)
    grid = run_event_backtest(minute_bars({"2024-01-02": [FLAT, FLAT]}), GridBot({"order_size": 0.013}), whole)
    assert set(grid.orders["quantity"]) == {13.0}  # floor(0.013 x 100000 / 100) = floor(13.0000...)
    poor = BacktestConfig(initial_cash=500.0, fractional=False)
    with pytest.raises(StrategyError, match=r"grid_bot \(order_size 0.05\): 25.00 buys 0.25 units of X"):
        run_event_backtest(minute_bars({"2024-01-02": [FLAT, FLAT]}), GridBot(), poor)
