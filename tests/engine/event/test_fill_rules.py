"""The simulated broker's stated fill rules (engine.sim.event.book), each on bars where the answer is worked out by
hand: a decision at the close of bar t is active from bar t + 1; limits fill at their price or better, stops at their
level or at the open on a gap; a stop and a target inside one bar: the stop wins; trailing stops follow the high."""

from __future__ import annotations

import pytest

from engine.orders.protocol import Broker
from engine.sim.event.book import SimOrder
from engine.sim.event.context import LookAheadError
from engine.sim.event.settings import Execution
from engine.strategies.events import EventStrategy
from tests.engine.event.scripted import Script, bars, run

FLAT = [(100.0, 101.0, 99.0, 100.0)]


def fills_of(frame) -> list[tuple[int, float, float, str]]:
    return [
        (int(b), float(q), round(float(p), 10), r)
        for b, q, p, r in frame[["bar", "quantity", "price", "reason"]].itertuples(index=False)
    ]


def test_a_market_order_fills_at_the_next_open_with_slippage_and_commission() -> None:
    data = bars([(100, 101, 99, 100), (102, 104, 101, 103), (103, 104, 102, 103)])
    result, fills = run(
        data, Script({0: [{"side": "buy", "quantity": 10}]}), costs={"commission_bps": 10, "slippage_bps": 20}
    )
    # 102 x (1 + 0.002) = 102.204; commission 10 x 102.204 x 0.001 = 1.02204
    assert fills_of(fills) == [(1, 10.0, 102.204, "signal")]
    assert fills.commission[0] == pytest.approx(1.02204, rel=1e-12)
    assert result.equity.iloc[-1] == pytest.approx(100_000 - 10 * 102.204 - 1.02204 + 10 * 103, rel=1e-12)


def test_a_buy_limit_fills_at_its_price_when_the_range_reaches_it_and_at_the_open_on_a_gap() -> None:
    data = bars([(100, 101, 99, 100), (100, 101, 97.5, 99), (99, 100, 98.5, 99), (96, 97, 95, 96)])
    plan = {
        0: [
            {"side": "buy", "quantity": 1, "type": "limit", "limit_price": 98.0, "time_in_force": "gtc"},
            {"side": "buy", "quantity": 2, "type": "limit", "limit_price": 97.0, "time_in_force": "gtc"},
        ]
    }
    _, fills = run(data, Script(plan))
    # bar 1's low 97.5 reaches 98 (filled at 98, not lower); 97 is first reached by bar 3's open 96 (a better price)
    assert fills_of(fills) == [(1, 1.0, 98.0, "signal"), (3, 2.0, 96.0, "signal")]


def test_a_sell_stop_fills_at_its_level_in_the_range_and_at_the_open_on_a_gap() -> None:
    data = bars([(100, 101, 99, 100), (100, 101, 99, 100), (100, 100.5, 91, 95), (90, 91, 89, 90)])
    plan = {
        0: [{"side": "buy", "quantity": 5}],
        1: [
            {"side": "sell", "quantity": 2, "type": "stop", "stop_price": 96.0, "time_in_force": "gtc"},
            {"side": "sell", "quantity": 3, "type": "stop", "stop_price": 92.0, "time_in_force": "gtc"},
        ],
    }
    _, fills = run(data, Script(plan))
    assert fills_of(fills) == [(1, 5.0, 100.0, "signal"), (2, -2.0, 96.0, "stop_loss"), (2, -3.0, 92.0, "stop_loss")]
    gap = bars([(100, 101, 99, 100), (100, 101, 99, 100), (93, 94, 90, 91)])
    _, fills = run(gap, Script({0: plan[0], 1: plan[1][:1]}))
    assert fills_of(fills)[-1] == (2, -2.0, 93.0, "stop_loss")  # the open gapped through 96


def test_when_stop_and_target_are_both_inside_one_bar_the_stop_wins() -> None:
    data = bars([(100, 101, 99, 100), (100, 101, 99, 100), (100, 106, 94, 100), (100, 101, 99, 100)])
    oco = {
        "side": "sell",
        "quantity": 4,
        "type": "limit",
        "order_class": "oco",
        "take_profit": 105.0,
        "stop_loss": 95.0,
        "time_in_force": "gtc",
    }
    strategy = Script({0: [{"side": "buy", "quantity": 4}], 1: [oco]})
    result, fills = run(data, strategy)
    assert fills_of(fills) == [(1, 4.0, 100.0, "signal"), (2, -4.0, 95.0, "stop_loss")]
    orders = result.orders
    assert set(orders[orders.event == "canceled"].type) == {"limit"}  # one cancels the other


def test_a_trailing_stop_follows_the_high_and_fills_at_its_level() -> None:
    data = bars(
        [(100, 101, 99, 100), (100, 101, 99, 100), (101, 110, 100, 109), (109, 112, 108, 111), (111, 111, 100, 101)]
    )
    plan = {
        0: [{"side": "buy", "quantity": 1}],
        1: [{"side": "sell", "quantity": 1, "type": "trailing_stop", "trail_percent": 5.0, "time_in_force": "gtc"}],
    }
    _, fills = run(data, Script(plan))
    # placed at bar 1's close 100: level 95; bar 2 high 110 -> 104.5; bar 3 high 112 -> 106.4; bar 4 low 100 hits it
    assert fills_of(fills)[-1] == (4, -1.0, 106.4, "trailing_stop")


def test_a_bracket_places_its_exits_when_the_entry_fills_and_the_target_cancels_the_stop() -> None:
    data = bars([(100, 101, 99, 100), (100, 102, 99, 101), (101, 108, 100, 107), (107, 108, 90, 91)])
    bracket = {"side": "buy", "quantity": 3, "order_class": "bracket", "take_profit": 106.0, "stop_loss": 96.0}
    result, fills = run(data, Script({0: [bracket]}))
    assert fills_of(fills) == [(1, 3.0, 100.0, "signal"), (2, -3.0, 106.0, "take_profit")]
    events = result.orders
    assert list(events[events.type == "stop"].event) == ["placed", "canceled"]


def test_an_exit_placed_when_an_entry_fills_at_the_open_sees_the_rest_of_that_bar() -> None:
    data = bars([(100, 101, 99, 100), (100, 100, 94, 95), (95, 96, 94, 95)])
    stop = {"side": "sell", "quantity": 1, "type": "stop", "stop_price": 96.0}
    _, fills = run(data, Script({0: [{"side": "buy", "quantity": 1}]}, on_fill_plan={"buy": [stop]}))
    assert fills_of(fills) == [(1, 1.0, 100.0, "signal"), (1, -1.0, 96.0, "stop_loss")]  # the entry bar's low 94
    above = {"side": "sell", "quantity": 1, "type": "stop", "stop_price": 101.0}  # already through when placed
    _, fills = run(data, Script({0: [{"side": "buy", "quantity": 1}]}, on_fill_plan={"buy": [above]}))
    assert fills_of(fills) == [(1, 1.0, 100.0, "signal"), (1, -1.0, 100.0, "stop_loss")]  # at the price then


def test_time_in_force_day_expires_gtc_stays_ioc_cancels() -> None:
    data = bars([(100, 101, 99, 100), (100, 101, 99, 100), (100, 101, 99, 100), (97, 98, 96, 97)])
    plan = {
        0: [
            {"side": "buy", "quantity": 1, "type": "limit", "limit_price": 97.5, "time_in_force": "day"},
            {"side": "buy", "quantity": 2, "type": "limit", "limit_price": 97.5, "time_in_force": "gtc"},
            {"side": "buy", "quantity": 3, "type": "limit", "limit_price": 97.5, "time_in_force": "ioc"},
        ]
    }
    result, fills = run(data, Script(plan))
    assert fills_of(fills) == [(3, 2.0, 97.0, "signal")]
    final = result.orders.groupby("quantity").event.last()
    assert final.to_dict() == {1.0: "expired", 2.0: "filled", 3.0: "canceled"}


def test_latency_in_bars_and_seconds() -> None:
    data = bars([(100 + k, 101 + k, 99 + k, 100 + k) for k in range(6)])
    _, fills = run(data, Script({0: [{"side": "buy", "quantity": 1}]}), Execution(latency_bars=2))
    assert fills_of(fills) == [(3, 1.0, 103.0, "signal")]
    assert Execution(latency_seconds=90.0).bars_of_latency(60.0) == 2  # arrives 90 s after the close: the 2nd open
    assert Execution(latency_seconds=30.0).bars_of_latency(86_400.0) == 1


def test_volume_participation_splits_an_order_into_partial_fills() -> None:
    data = bars([(100, 101, 99, 100)] * 5, volume=1000.0)
    result, fills = run(
        data, Script({0: [{"side": "buy", "quantity": 250, "time_in_force": "gtc"}]}), Execution(participation=0.1)
    )
    assert fills_of(fills) == [(1, 100.0, 100.0, "signal"), (2, 100.0, 100.0, "signal"), (3, 50.0, 100.0, "signal")]
    assert list(result.orders.event)[-2:] == ["partially_filled", "filled"]


def test_modify_and_cancel_a_resting_order() -> None:
    data = bars([(100, 101, 99, 100), (100, 101, 99, 100), (100, 101, 98, 100), (100, 101, 96, 100)])
    plan = {
        0: [
            {"side": "buy", "quantity": 1, "type": "limit", "limit_price": 95.0, "time_in_force": "gtc"},
            {"side": "buy", "quantity": 1, "type": "limit", "limit_price": 97.0, "time_in_force": "gtc"},
        ],
        1: [{"modify": (0, 0), "limit_price": 98.0}, {"cancel": (0, 1)}],
    }
    _, fills = run(data, Script(plan))
    assert fills_of(fills) == [(2, 1.0, 98.0, "signal")]  # modified to 98, reached by bar 2; the other canceled


def test_a_stop_limit_triggers_then_fills_only_within_its_limit() -> None:
    data = bars([(100, 101, 99, 100), (100, 101, 99, 100), (100, 103, 99, 102), (106, 107, 105, 106)])
    plan = {
        0: [
            {
                "side": "buy",
                "quantity": 1,
                "type": "stop_limit",
                "stop_price": 102.0,
                "limit_price": 102.5,
                "time_in_force": "gtc",
            },
            {
                "side": "buy",
                "quantity": 2,
                "type": "stop_limit",
                "stop_price": 104.0,
                "limit_price": 104.5,
                "time_in_force": "gtc",
            },
        ]
    }
    _, fills = run(data, Script(plan))
    # the first triggers at 102 inside bar 2 and fills there; the second's trigger is gapped at 106 > its limit 104.5
    assert fills_of(fills) == [(2, 1.0, 102.0, "signal")]


def test_a_resubmitted_client_order_id_places_nothing_twice() -> None:
    class Twice(EventStrategy):
        name = "twice"
        Params = Script.Params

        def on_bar(self, bar, ctx):
            if bar.index == 0:
                from engine.orders.values import OrderRequest

                first = ctx.broker.submit(OrderRequest("X", 1, "buy", client_order_id="same"))
                again = ctx.broker.submit(OrderRequest("X", 1, "buy", client_order_id="same"))
                assert again.duplicate and again.id == first.id

    data = bars(FLAT * 3)
    _, fills = run(data, Twice())
    assert fills_of(fills) == [(1, 1.0, 100.0, "signal")]


def test_the_future_is_unreachable_and_the_broker_is_the_protocol() -> None:
    seen = []

    class Peek(EventStrategy):
        name = "peek"
        Params = Script.Params

        def on_start(self, ctx):
            self.close = ctx.line("close")
            seen.append(isinstance(ctx.broker, Broker))

        def on_bar(self, bar, ctx):
            assert self.close[0] == bar.close
            with pytest.raises(LookAheadError):
                self.close[1]

    run(bars(FLAT * 3), Peek())
    assert seen == [True]


def test_an_unaffordable_buy_is_rejected_with_the_amounts() -> None:
    result, fills = run(bars(FLAT * 3), Script({0: [{"side": "buy", "quantity": 2000}]}))
    assert fills.empty
    rejected = result.orders[result.orders.event == "rejected"]
    assert "needs 200000.00, has 100000.00" in rejected.reason.iloc[0]


def test_sim_order_path_key_puts_the_higher_sell_stop_first() -> None:
    a = SimOrder("a", "a", "X", 0, -1, 1.0, "stop", "gtc", 0, 0, stop=95.0)
    b = SimOrder("b", "b", "X", 0, -1, 1.0, "stop", "gtc", 0, 0, stop=97.0)
    assert sorted([a, b], key=SimOrder.path_key) == [b, a]


def test_a_percent_order_that_closes_a_long_is_a_sell_in_the_order_log(home) -> None:
    from engine.data import load_market_data
    from engine.sim.event.run import run_event_backtest
    from engine.strategies.event_systems import SmaCrossEvent

    orders = run_event_backtest(load_market_data(["SPY"]), SmaCrossEvent()).orders
    fills = orders[orders.event == "filled"].reset_index(drop=True)
    assert list(fills.side[:4]) == ["buy", "sell", "buy", "sell"]  # long-only: entries and exits alternate
    placed = orders[orders.event == "placed"].reset_index(drop=True)
    assert (placed.side[: len(fills)].to_numpy() == fills.side.to_numpy()).all()


def test_a_percent_order_cut_by_the_volume_cap_fills_its_rest_at_the_next_opens() -> None:
    from engine.sim.event.run import run_event_backtest

    class AllIn(EventStrategy):
        name = "all_in"
        Params = Script.Params

        def on_bar(self, bar, ctx):
            if bar.index == 0:
                ctx.order_target_percent(1.0)

    data = bars([(100, 101, 99, 100)] * 6, volume=400.0)  # 100,000 / 100 = 1,000 units; 100 a bar at a 25 % cap
    result = run_event_backtest(data, AllIn(), execution=Execution(participation=0.25))
    fills = result.fills
    assert list(fills.quantity) == [100.0] * 5  # the data has 5 opens left
    assert result.positions.iloc[-1, 0] == 500.0
    events = list(result.orders.event)
    assert events[:2] == ["placed", "partially_filled"] and events.count("partially_filled") == 5


def test_a_stop_cut_by_the_volume_cap_waits_instead_of_spinning() -> None:
    data = bars([(100, 101, 99, 100), (100, 101, 99, 100), (100, 100, 90, 95), (95, 96, 94, 95)], volume=100.0)
    plan = {
        0: [{"side": "buy", "quantity": 40, "time_in_force": "gtc"}],
        1: [{"side": "sell", "quantity": 40, "type": "stop", "stop_price": 96.0, "time_in_force": "gtc"}],
    }
    _, fills = run(data, Script(plan), Execution(participation=0.25))
    # 25 units a bar: the buy needs two opens (25 at bar 1, 15 at bar 2); the stop reached in bar 2 gets the 10 the
    # buy left of that bar's cap, at 96; its rest waits: 25 at bar 3's open 95 (through the stop: a gap)
    assert fills_of(fills) == [
        (1, 25.0, 100.0, "signal"),
        (2, 15.0, 100.0, "signal"),
        (2, -10.0, 96.0, "stop_loss"),
        (3, -25.0, 95.0, "stop_loss"),
    ]
