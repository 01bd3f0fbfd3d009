"""The Optimize page through its widgets, one test per tab: what it shows equals independent single backtests
or a direct engine call with the same inputs; bad input becomes an st.error, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import assert_clean, chart_traces, errors, page

K = "opt_r_sma_cross"
FAST, SLOW = (5, 10, 15, 20), (50, 100, 150)


def _setup(
    at, symbols=("SPY",), start=dt.date(2005, 1, 1), end=dt.date(2020, 12, 31), fast=(5, 20, 5), slow=(50, 150, 50)
):
    at.run()
    assert_clean(at)
    at.selectbox(key="opt_strategy").set_value("sma_cross")
    at.multiselect(key="opt_symbols").set_value(list(symbols))
    at.date_input(key="opt_start").set_value(start)
    at.date_input(key="opt_end").set_value(end)
    for name, (lo, hi, step) in (("fast", fast), ("slow", slow)):
        at.number_input(key=f"{K}_{name}_lo").set_value(lo)
        at.number_input(key=f"{K}_{name}_hi").set_value(hi)
        at.number_input(key=f"{K}_{name}_step").set_value(step)
    return at.run()


def _open(at, tab):
    at.session_state["opt_tabs"] = tab
    return at.run()


def _charts(at):
    return {c.proto.id: chart_traces(c) for c in at.get("plotly_chart")}


def _single_sharpes(start="2005-01-01", end="2020-12-31") -> dict[tuple[int, int], float]:
    """Each grid cell as its own backtest (run_request: the single-backtest path, not the grid)."""
    out = {}
    for f in FAST:
        for s in SLOW:
            r = run_request(
                BacktestRequest(
                    strategy="sma_cross",
                    params={"fast": f, "slow": s},
                    symbols=("SPY",),
                    start=start,
                    end=end,
                    config=BacktestConfig(),
                )
            )
            out[(f, s)] = r.metrics["sharpe"]
    return out


def test_grid_tab_heatmap_equals_single_backtests_and_saves(workspace) -> None:
    at = _setup(page("optimize"))
    assert "12 combinations" in " ".join(c.value for c in at.caption)
    at.button(key="opt_run").click().run()
    assert_clean(at)

    expected = _single_sharpes()
    best = max(expected, key=expected.get)
    assert f"fast={best[0]}, slow={best[1]}" in at.success[0].value and "{" not in at.success[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["trials"] == "12" and metrics["best sharpe"] == f"{expected[best]:.3f}"

    heat = next(t for t in at.get("plotly_chart") if chart_traces(t)[0]["type"] == "heatmap")
    z = np.asarray(chart_traces(heat)[0]["z"], dtype=float)
    xs, ys = chart_traces(heat)[0]["x"], chart_traces(heat)[0]["y"]
    assert xs == [str(f) for f in FAST] and ys == [str(s) for s in SLOW]
    for i, s in enumerate(SLOW):
        for j, f in enumerate(FAST):
            assert z[i, j] == pytest.approx(expected[(f, s)], rel=1e-9), (f, s)
    surface = next(t for t in at.get("plotly_chart") if chart_traces(t)[0]["type"] == "surface")
    np.testing.assert_allclose(np.asarray(chart_traces(surface)[0]["z"], dtype=float), z, rtol=1e-12)

    ranked = at.dataframe[0].value
    assert list(ranked["rank"][:1]) == [1] and (ranked["fast"].iloc[0], ranked["slow"].iloc[0]) == best
    assert ranked["objective"].iloc[0] == pytest.approx(expected[best], rel=1e-9)

    runs = RunStore().list(kind="optimize")
    assert len(runs) == 1
    stored = RunStore().load(runs["id"].iloc[0])
    assert (stored.request.params["fast"], stored.request.params["slow"]) == best
    assert stored.result.metrics["sharpe"] == pytest.approx(expected[best], rel=1e-12)

    at.text_input(key="opt_best_preset_name").set_value("best_sma").run()
    at.button(key="opt_best_preset_save").click().run()
    assert_clean(at)
    from engine.store.presets import load_preset

    preset = load_preset("best_sma")
    assert (preset.params["fast"], preset.params["slow"]) == best and preset.symbols == ("SPY",)


def test_aggregated_and_fixed_heatmap_of_three_parameters(workspace) -> None:
    at = _setup(page("optimize"), fast=(10, 20, 10), slow=(50, 100, 50))
    at.checkbox(key=f"{K}_weight_vary").check().run()
    at.number_input(key=f"{K}_weight_lo").set_value(0.5)
    at.number_input(key=f"{K}_weight_hi").set_value(1.0)
    at.number_input(key=f"{K}_weight_step").set_value(0.5)
    at.run()
    assert "8 combinations" in " ".join(c.value for c in at.caption)
    at.button(key="opt_run").click().run()
    assert_clean(at)
    table = {}
    for f in (10, 20):
        for s in (50, 100):
            for w in (0.5, 1.0):
                r = run_request(
                    BacktestRequest(
                        strategy="sma_cross",
                        params={"fast": f, "slow": s, "weight": w},
                        symbols=("SPY",),
                        start="2005-01-01",
                        end="2020-12-31",
                    )
                )
                table[(f, s, w)] = r.metrics["sharpe"]

    def heat():
        t = next(t for t in at.get("plotly_chart") if chart_traces(t)[0]["type"] == "heatmap")
        return np.asarray(chart_traces(t)[0]["z"], dtype=float)

    assert heat()[1, 0] == pytest.approx((table[(10, 100, 0.5)] + table[(10, 100, 1.0)]) / 2, rel=1e-9)
    at.radio(key="opt_hagg").set_value("max").run()
    assert heat()[0, 1] == pytest.approx(max(table[(20, 50, 0.5)], table[(20, 50, 1.0)]), rel=1e-9)
    at.radio(key="opt_hagg").set_value("fixed").run()
    at.selectbox(key="opt_hfix_weight").set_value(0.5).run()
    assert_clean(at)
    assert heat()[0, 0] == pytest.approx(table[(10, 50, 0.5)], rel=1e-9)


@pytest.mark.parametrize(
    "change, expect",
    [
        (dict(fast=(20, 5, 5)), "range of parameter 'fast' is empty"),
        (dict(fast=(60, 80, 10), slow=(20, 50, 10)), "no valid parameter set"),
        (dict(symbols=()), "no symbols"),
    ],
)
def test_grid_tab_bad_input_is_an_error_not_a_traceback(workspace, change, expect) -> None:
    at = _setup(page("optimize"), **change)
    if not any(expect in e for e in errors(at)):
        at.button(key="opt_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(expect in e for e in errors(at)), errors(at)
    assert len(RunStore().list()) == 0


def test_walkforward_tab_matches_the_engine(workspace) -> None:
    from engine.research.optimize import OptimizeSpec
    from engine.research.walkforward import WalkForwardSpec, run_walkforward

    at = _open(_setup(page("optimize"), start=dt.date(2010, 1, 1), end=dt.date(2019, 12, 31)), "Walk-forward")
    assert_clean(at)
    at.text_input(key="opt_wf_is").set_value("750")
    at.text_input(key="opt_wf_oos").set_value("250")
    at.button(key="opt_wf_run").click().run()
    assert_clean(at)
    spec = WalkForwardSpec(
        optimize=OptimizeSpec(
            strategy="sma_cross",
            symbols=("SPY",),
            start="2010-01-01",
            end="2019-12-31",
            ranges={"fast": list(FAST), "slow": list(SLOW)},
            fixed={"weight": 1.0},
        ),
        in_sample=750,
        out_of_sample=250,
    )
    wf = run_walkforward(spec)
    windows = at.dataframe[0].value
    assert len(windows) == len(wf.windows) == math.ceil((len(wf.oos_equity)) / 250)
    assert list(windows["fast"]) == list(wf.windows["fast"]) and list(windows["slow"]) == list(wf.windows["slow"])
    traces = [chart_traces(c) for c in at.get("plotly_chart")]
    equity = next(t for t in traces if t[0]["name"] == "Walk-forward OOS")
    np.testing.assert_allclose(equity[0]["y"], wf.oos_equity.to_numpy(), rtol=1e-12)
    # buy-and-hold of SPY rebased to the first OOS bar, from the bars themselves
    from engine.data import load_market_data

    close = load_market_data(["SPY"], "2010-01-01", "2019-12-31").close["SPY"]
    first = close.index.get_loc(wf.oos_equity.index[0])
    assert first == 750  # the first OOS bar follows 750 in-sample bars
    assert equity[1]["y"][0] == pytest.approx(100_000 * close.iloc[750] / close.iloc[749], rel=1e-12)
    assert equity[1]["y"][-1] == pytest.approx(100_000 * close.iloc[-1] / close.iloc[749], rel=1e-12)
    path = next(t for t in traces if t[0]["name"] == "fast")
    assert list(path[0]["y"]) == list(wf.windows["fast"])
    assert any(t[0]["type"] == "heatmap" for t in traces)  # stability surface
    efficiency = {m.label: m.value for m in at.metric}["WF efficiency (CAGR)"]
    assert efficiency == ("n/a" if np.isnan(wf.efficiency) else f"{wf.efficiency:.2f}")
    # saved as a run: the stitched OOS equity, the chosen set of every window in its payload
    (run_id,) = RunStore().list(kind="walkforward")["id"]
    assert any(run_id in c.value for c in at.caption)
    pd.testing.assert_series_equal(RunStore().load(run_id).result.equity, wf.oos_equity, check_exact=True)
    chosen = RunStore().load_payload(run_id)["chosen"]
    assert [(c["fast"], c["slow"]) for c in chosen] == list(zip(wf.windows["fast"], wf.windows["slow"]))

    at.text_input(key="opt_wf_is").set_value("5000").run()  # more bars than the data: a clear error
    at.button(key="opt_wf_run").click().run()
    assert not at.exception
    assert any("in-sample" in e.lower() or "bars" in e for e in errors(at)), errors(at)


def test_montecarlo_tab_percentiles_match_the_engine(workspace) -> None:
    from engine.research.montecarlo import MonteCarloSpec, run_montecarlo

    at = _setup(page("optimize"))
    at.button(key="opt_run").click().run()
    _open(at, "Monte Carlo")
    assert_clean(at)
    assert at.selectbox(key="opt_mc_set").value.startswith("#1 of the optimization")
    assert all("{" not in option for option in at.selectbox(key="opt_mc_set").options)  # "fast=5, slow=50"
    at.number_input(key="opt_mc_n").set_value(300)
    at.number_input(key="opt_mc_seed").set_value(7)
    at.button(key="opt_mc_run").click().run()
    assert_clean(at)
    best = max(_single_sharpes().items(), key=lambda kv: kv[1])[0]
    backtest = run_request(
        BacktestRequest(
            strategy="sma_cross",
            params={"fast": best[0], "slow": best[1]},
            symbols=("SPY",),
            start="2005-01-01",
            end="2020-12-31",
        )
    )
    mc = run_montecarlo(backtest, MonteCarloSpec(n_sims=300, seed=7))
    shown = at.dataframe[0].value
    pd.testing.assert_frame_equal(shown, mc.percentiles, check_exact=False, rtol=1e-12)
    assert {m.label: m.value for m in at.metric}["P(loss > 20%)"] == f"{mc.prob_loss_beyond:.1%}"
    traces = [chart_traces(c) for c in at.get("plotly_chart")]
    fan = next(t for t in traces if any(tr.get("name") == "median (p50)" for tr in t))
    median = next(tr for tr in fan if tr.get("name") == "median (p50)")
    fan_chart = next(c for c in at.get("plotly_chart") if "median (p50)" in c.proto.spec)
    assert json.loads(fan_chart.proto.spec)["layout"]["xaxis"]["title"]["text"].startswith("bars")  # block bootstrap
    np.testing.assert_allclose(median["y"], np.percentile(mc.paths, 50, axis=0), rtol=1e-12)
    hist = [t for t in traces if t[0]["type"] == "histogram"]
    assert len(hist) == 2 and len(hist[0][0]["x"]) == 300
    (run_id,) = RunStore().list(kind="montecarlo")["id"]
    stored = RunStore()
    np.testing.assert_array_equal(stored.load(run_id).result.equity.to_numpy(), backtest.equity.to_numpy())
    assert stored.load_payload(run_id)["prob_loss_beyond"] == mc.prob_loss_beyond
    assert stored.load_frame(run_id, "montecarlo_percentiles").equals(mc.percentiles)


def test_universe_tab_ranks_symbols_alone_and_saves_into_a_preset(workspace) -> None:
    from engine.store.presets import Preset, load_preset, save_preset

    symbols = ("SPY", "QQQ", "TLT", "GLD", "XLE")
    save_preset(Preset(name="rotation", strategy="sma_cross", params={"fast": 5, "slow": 50}, symbols=symbols))
    at = _open(_setup(page("optimize"), symbols=symbols), "Universe")
    assert_clean(at)
    assert at.selectbox(key="opt_uni_set").value.startswith("as in the form")  # no optimization yet
    at.number_input(key="opt_uni_top").set_value(2)
    at.button(key="opt_uni_run").click().run()
    assert_clean(at)
    # independent: each symbol backtested alone with the form's first values (fast 5, slow 50)
    sharpe = {
        s: run_request(
            BacktestRequest(
                strategy="sma_cross", params={"fast": 5, "slow": 50}, symbols=(s,), start="2005-01-01", end="2020-12-31"
            )
        ).metrics["sharpe"]
        for s in symbols
    }
    top2 = sorted(symbols, key=lambda s: -sharpe[s])[:2]
    assert at.success[0].value == f"Kept 2: {', '.join(top2)}"
    (bars,) = [chart_traces(c)[0] for c in at.get("plotly_chart")]
    assert list(bars["y"]) == sorted(symbols, key=lambda s: sharpe[s])  # best on top
    np.testing.assert_allclose(bars["x"], sorted(sharpe.values()), rtol=1e-12)

    at.selectbox(key="opt_uni_existing").set_value("rotation").run()
    at.button(key="opt_uni_apply").click().run()
    assert_clean(at)
    preset = load_preset("rotation")
    assert preset.universe == tuple(top2) and preset.symbols == symbols
    assert preset.to_request().symbols == tuple(top2)


def test_scorecard_tab_uses_the_optimizer_trials(workspace) -> None:
    at = _setup(page("optimize"))
    at.button(key="opt_run").click().run()
    _open(at, "Scorecard")
    assert_clean(at)
    assert "PBO" in " ".join(c.value for c in at.caption)
    at.button(key="opt_sc_run").click().run()
    assert_clean(at)
    expected = _single_sharpes()
    best = max(expected, key=expected.get)
    single = run_request(
        BacktestRequest(
            strategy="sma_cross",
            params={"fast": best[0], "slow": best[1]},
            symbols=("SPY",),
            start="2005-01-01",
            end="2020-12-31",
        )
    )
    shown = at.dataframe[0].value.set_index("check")
    assert float(shown.loc["Sharpe ratio", "value"]) == pytest.approx(single.metrics["sharpe"], rel=1e-12)
    assert float(shown.loc["Number of trades", "value"]) == single.metrics["n_trades"]
    pbo = float(shown.loc["Probability of backtest overfitting", "value"])
    assert 0.0 <= pbo <= 1.0  # computed from the 12 trials' curves kept by the page
    assert "Plateau score" in shown.index and "Walk-forward efficiency" not in shown.index
    # verdicts by the documented thresholds: trades pass >= 30, warn >= 10
    trades_verdict = (
        "pass" if single.metrics["n_trades"] >= 30 else "warn" if single.metrics["n_trades"] >= 10 else "fail"
    )
    assert shown.loc["Number of trades", "verdict"] == trades_verdict
    counts = {m.label: int(m.value) for m in at.metric if m.label in ("pass", "warn", "fail")}
    assert sum(counts.values()) == len(shown)
    (run_id,) = RunStore().list(kind="scorecard")["id"]
    lines = RunStore().load_frame(run_id, "scorecard").set_index("name")
    assert lines.loc["Sharpe ratio", "value"] == single.metrics["sharpe"]
    assert list(lines["verdict"]) == list(shown["verdict"])


@pytest.fixture
def cancel_at_first_progress(monkeypatch):
    """Every RunControl sets its cancel flag at its first progress update, as the Cancel button's on_click
    does in the rerun a click starts; returns the progress calls seen."""
    import streamlit as st

    from ui import run_control

    seen = []
    original = run_control.RunControl.progress

    def progress(self, done, total):
        seen.append((self.key, done, total))
        original(self, done, total)
        st.session_state[f"{self.key}{run_control.FLAG_SUFFIX}"] = True

    monkeypatch.setattr(run_control.RunControl, "progress", progress)
    return seen


def _assert_cancelled(at, warning: str) -> None:
    assert not at.exception and not at.error, [e.value for e in at.exception] + errors(at)
    assert any(warning in w.value for w in at.warning), [w.value for w in at.warning]
    assert not at.get("progress") and not any(b.label == "Cancel" for b in at.button)


def test_montecarlo_universe_and_scorecard_cancel(workspace, cancel_at_first_progress) -> None:
    symbols = ("SPY", "QQQ", "TLT", "GLD", "XLE")
    at = _open(_setup(page("optimize"), symbols=symbols), "Monte Carlo")
    at.button(key="opt_mc_run").click().run()
    _assert_cancelled(at, "Monte Carlo cancelled after 100 of 1,000")
    assert "opt_mc_result" not in at.session_state and at.get("plotly_chart") == []

    _open(at, "Universe")
    at.button(key="opt_uni_run").click().run()
    _assert_cancelled(at, "Universe selection (each symbol alone) cancelled after 1 of 5")
    assert "opt_uni_result" not in at.session_state

    _open(at, "Scorecard")
    at.button(key="opt_sc_run").click().run()
    _assert_cancelled(at, "Scorecard cancelled after 1 of 6")
    assert "opt_sc_result" not in at.session_state
    assert [k for k, *_ in cancel_at_first_progress] == ["opt_mc", "opt_uni", "opt_sc"]  # nothing ran on
    assert len(RunStore().list()) == 0
