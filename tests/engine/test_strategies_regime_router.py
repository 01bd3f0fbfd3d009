"""regime_router: its weights are the routed strategies' own weights under hand-computed regimes; routes are
parsed strictly; it passes the look-ahead audit (voltrend and Markov); it optimizes and walk-forwards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.errors import ConfigError
from engine.research.audit import audit_lookahead
from engine.research.optimize import OptimizeSpec, run_optimization
from engine.research.walkforward import WalkForwardSpec, run_walkforward
from engine.strategies.allocation import BuyAndHold
from engine.strategies.crossover import SmaCross
from engine.strategies.regimes import MARKOV_LABELS, VOLTREND_LABELS
from engine.strategies.router import RegimeRouter, parse_routes
from tests.engine.regime_helpers import market_of, two_regime_prices
from tests.engine.test_regime_models import hand_voltrend
from tests.engine.test_strategies_common import market, read_csv

SMALL = {"sma_length": 50, "vol_window": 10, "vol_quantile": 0.7, "min_history": 100}
ROUTES = "bull_calm=buy_and_hold; bull_volatile=sma_cross:fast=10,slow=30; bear=cash"


@pytest.fixture(scope="module")
def spy_qqq():
    return market("SPY", "QQQ").slice("1999-03-10", "2003-12-31")


def test_weights_are_the_routed_strategies_weights_under_hand_regimes(spy_qqq) -> None:
    router = RegimeRouter({**SMALL, "routes": ROUTES})
    got = router.target_weights(spy_qqq).to_numpy()
    spy = read_csv("SPY")["close"].loc[spy_qqq.index[0] : spy_qqq.index[-1]]
    labels = hand_voltrend(spy, 50, 10, 0.7, 100)  # the regime of the first symbol, on its own bars
    hold = BuyAndHold().target_weights(spy_qqq).to_numpy()
    cross = SmaCross({"fast": 10, "slow": 30}).target_weights(spy_qqq).to_numpy()
    expected = np.zeros_like(got)
    for t, label in enumerate(labels):
        if label == "bull_calm":
            expected[t] = hold[t]
        elif label == "bull_volatile":
            expected[t] = cross[t]
    np.testing.assert_array_equal(got, expected)
    assert {"bull_calm", "bull_volatile", "bear_calm", "bear_volatile"} <= set(labels)
    assert (got[:, 0] != 0).sum() > 100 and np.isin(labels, ["bear_calm", "bear_volatile"]).sum() > 100


def test_route_keys_match_labels_or_label_parts() -> None:
    routes = parse_routes(
        "bull_calm = buy_and_hold ; volatile = sma_cross:fast=5, slow=20; bear_calm=cash", VOLTREND_LABELS
    )
    assert routes == {
        "bull_calm": ("buy_and_hold", {}),
        "bull_volatile": ("sma_cross", {"fast": "5", "slow": "20"}),
        "bear_calm": None,
        "bear_volatile": ("sma_cross", {"fast": "5", "slow": "20"}),
    }
    assert parse_routes("calm=buy_and_hold", MARKOV_LABELS) == {"calm": ("buy_and_hold", {}), "volatile": None}


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ("sideways=buy_and_hold", "route key 'sideways' matches no regime"),
        ("bull=buy_and_hold; bull_calm=cash", "regime 'bull_calm' is routed twice: by 'bull' and by 'bull_calm'"),
        ("bull buy_and_hold", "must read 'regime=strategy[:param=value,...]'"),
        ("bull=sma_cross:fast", "parameter 'fast' must read name=value"),
        ("bull=regime_router", "cannot route to itself"),
    ],
)
def test_bad_routes_are_refused_naming_the_route(routes: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        RegimeRouter({"routes": routes})
    assert message in str(err.value)


def test_markov_routes_must_name_markov_regimes() -> None:
    with pytest.raises(ConfigError, match="route key 'bull' matches no regime"):
        RegimeRouter({"method": "markov", "routes": "bull=buy_and_hold"})


def test_voltrend_router_passes_the_lookahead_audit_on_two_calendars() -> None:
    data = market("BTC-USD", "SPY").slice("2016-01-01", "2019-12-31")
    report = audit_lookahead(RegimeRouter({**SMALL, "routes": ROUTES}), data, n_checks=25)
    assert report.passed, report.summary()


@pytest.mark.slow
def test_markov_router_passes_the_lookahead_audit() -> None:
    prices = two_regime_prices(n_calm=200, n_wild=80)
    data = market_of({"A": prices, "B": prices[::-1].copy()})
    router = RegimeRouter(
        {"method": "markov", "min_history": 150, "refit_every": 100, "routes": "calm=buy_and_hold; volatile=cash"}
    )
    weights = router.target_weights(data)
    assert (weights.iloc[200:280, 0] == 0).mean() > 0.8 and (weights.iloc[300:, 0] == 0.5).mean() > 0.8
    report = audit_lookahead(router, data, n_checks=12, min_bars=140)
    assert report.passed, report.summary()


def test_router_optimizes_over_its_regime_model_bounds(spy_qqq) -> None:
    spec = OptimizeSpec(
        strategy="regime_router",
        symbols=["SPY", "QQQ"],
        ranges={"vol_quantile": [0.6, 0.8], "sma_length": [50, 100]},
        fixed={**{k: v for k, v in SMALL.items() if k not in ("vol_quantile", "sma_length")}, "routes": ROUTES},
    )
    result = run_optimization(spec, data=spy_qqq, workers=1)
    assert len(result.table) == 4 and set(result.table["sma_length"]) == {50, 100}
    best = result.best_params
    single = RegimeRouter(best)
    from engine.sim.simulate import run_backtest

    again = run_backtest(spy_qqq, single, BacktestConfig())
    assert result.best_metrics["sharpe"] == pytest.approx(again.metrics["sharpe"], rel=1e-9)


def test_router_walks_forward(spy_qqq) -> None:
    optimize = OptimizeSpec(
        strategy="regime_router",
        symbols=["SPY", "QQQ"],
        ranges={"vol_quantile": [0.6, 0.8]},
        fixed={"sma_length": 50, "vol_window": 10, "min_history": 100, "routes": ROUTES},
    )
    result = run_walkforward(
        WalkForwardSpec(optimize=optimize, in_sample=400, out_of_sample=150), data=spy_qqq, workers=1
    )
    assert len(result.windows) >= 3
    assert set(result.windows["vol_quantile"].dropna()) <= {0.6, 0.8}
    assert len(result.oos_equity) == int(result.windows["oos_bars"].sum())
    assert isinstance(result.oos_equity, pd.Series)


def test_plot_series_numbers_the_hand_regimes(spy_qqq) -> None:
    lines = RegimeRouter({**SMALL, "routes": ROUTES}).plot_series(spy_qqq)
    ((label, line),) = lines.items()
    assert label == "regime (0=bull_calm, 1=bull_volatile, 2=bear_calm, 3=bear_volatile)" and line.panel == "regime"
    spy = read_csv("SPY")["close"].loc[spy_qqq.index[0] : spy_qqq.index[-1]]
    codes = [np.nan if lab is None else VOLTREND_LABELS.index(lab) for lab in hand_voltrend(spy, 50, 10, 0.7, 100)]
    np.testing.assert_array_equal(line.values["QQQ"].to_numpy(), np.array(codes, dtype=float))


def test_route_presets_parse_and_hand_written_routes_are_accepted() -> None:
    from engine.strategies.router import ROUTE_PRESETS

    for routes in ROUTE_PRESETS:
        assert RegimeRouter({"routes": routes}).params.routes == routes
    both = [r for r in ROUTE_PRESETS if r.startswith("calm=")]
    assert both and all(RegimeRouter({"method": "markov", "routes": r}) for r in both)
    assert RegimeRouter({"routes": ROUTES}).params.routes == ROUTES  # not a preset: accepted as given


USER_FILE = """
from dataclasses import dataclass

from engine.strategies.base import Strategy, param


class CloseAboveSma(Strategy):
    name = "close_above_sma"
    description = "Long while the close is above its SMA."

    @dataclass(frozen=True)
    class Params:
        length: int = param(50, 10, 200, 10, doc="SMA window, bars")

    def target_weights(self, data):
        close = data.close
        return (close > close.rolling(self.params.length).mean()).astype("float64") / len(data.symbols)
"""


def test_a_workspace_strategy_can_be_routed(home, spy_qqq) -> None:
    from engine.strategies import registry

    folder = home / "strategies"
    folder.mkdir(parents=True)
    (folder / "close_above_sma.py").write_text(USER_FILE)
    registry.reload()
    router = RegimeRouter({**SMALL, "routes": "bull=close_above_sma:length=30; bear=cash"})
    got = router.target_weights(spy_qqq).to_numpy()
    close = spy_qqq.close
    own = ((close > close.rolling(30).mean()).astype(float) / 2).to_numpy()
    bull = np.isin(router.regimes(spy_qqq).to_numpy(), ["bull_calm", "bull_volatile"])
    np.testing.assert_array_equal(got, np.where(bull[:, None], own, 0.0))
    assert got.sum() > 0


def test_a_route_to_a_preset_trades_its_strategy_and_parameters(spy_qqq, presets) -> None:
    from engine.store.presets import Preset, save_preset

    save_preset(Preset(name="trend", strategy="sma_cross", params={"fast": 10, "slow": 30}, symbols=("SPY",)))
    router = RegimeRouter({**SMALL, "routes": "bull_calm=buy_and_hold; bull_volatile=preset:trend; bear=cash"})
    got = router.target_weights(spy_qqq).to_numpy()
    spy = read_csv("SPY")["close"].loc[spy_qqq.index[0] : spy_qqq.index[-1]]
    labels = np.asarray(hand_voltrend(spy, 50, 10, 0.7, 100), dtype=object)
    cross = SmaCross({"fast": 10, "slow": 30}).target_weights(spy_qqq).to_numpy()  # the preset's, on the router's data
    volatile = labels == "bull_volatile"
    assert volatile.sum() > 20
    np.testing.assert_array_equal(got[volatile], cross[volatile])
    np.testing.assert_array_equal(got[np.isin(labels, ["bear_calm", "bear_volatile"])], 0.0)


def test_a_preset_route_names_what_is_wrong(spy_qqq, presets) -> None:
    from engine.store.presets import Preset, save_preset

    with pytest.raises(ConfigError, match="a preset route reads 'regime=preset:NAME'"):
        RegimeRouter({**SMALL, "routes": "bull=preset:; bear=cash"})
    with pytest.raises(ConfigError, match="preset 'nowhere' not found"):
        RegimeRouter({**SMALL, "routes": "bull=preset:nowhere"}).target_weights(spy_qqq)
    save_preset(Preset(name="ev", strategy="sma_cross_event", params={"fast": 5, "slow": 20}, symbols=("SPY",)))
    with pytest.raises(ConfigError, match="preset 'ev' runs 'sma_cross_event'; a route needs a weights strategy"):
        RegimeRouter({**SMALL, "routes": "bull=preset:ev"}).target_weights(spy_qqq)
