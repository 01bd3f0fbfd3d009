"""Optimize: parameter ranges -> `OptimizeSpec` -> one engine call per tab -> charts from ui.charts_robustness.

Tabs: Grid (ranked table, heatmap, surface, save best as preset), Walk-forward, Monte Carlo, Universe and
Scorecard. Long calls show a progress bar with a Cancel button (ui.run_control). Results are held in
session state while viewed and saved as runs: the optimizer's best set (kind "optimize"), the walk-forward's
stitched out-of-sample equity ("walkforward"), the Monte Carlo ("montecarlo") and the scorecard ("scorecard").
"""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from engine.request import run_request
from engine.research.montecarlo import METHODS as MC_METHODS
from engine.research.montecarlo import MonteCarloSpec, run_montecarlo, save_montecarlo
from engine.research.optimize import run_optimization
from engine.research.walkforward import WalkForwardSpec, run_walkforward, save_walkforward
from engine.strategies.registry import list_strategies, load_errors
from ui import data_cache
from ui import optimize_view as view
from ui.optimize_form import P, build_spec, data_inputs, range_inputs, search_inputs, seed_defaults
from ui.optimize_tabs import scorecard_tab, universe_tab
from ui.run_control import controlled, estimate_gate, pop_cancelled
from ui.shell import ensure_navigation
from ui.state import run_store

ensure_navigation()
TABS = ("Grid", "Walk-forward", "Monte Carlo", "Universe", "Scorecard")

st.title("Optimize")
strategies = list_strategies()
for file, reason in load_errors().items():
    st.warning(f"User strategy file {file} was skipped: {reason}")
available = data_cache.symbols()
if not available:
    st.error("No market data found: import CSV/Parquet files on the Data page first.")
    st.stop()
seed_defaults(st.session_state, available, "sma_cross" if "sma_cross" in strategies else next(iter(strategies)))

left, right = st.columns([1, 2])
left.selectbox(
    "Strategy",
    list(strategies),
    key=f"{P}_strategy",
    format_func=lambda n: f"{n} - {strategies[n].description}" if strategies[n].description else n,
)
with right:
    data_inputs(available)
strategy = st.session_state[f"{P}_strategy"]
spec, ranges, fixed = None, {}, {}
with st.expander(f"Parameter ranges of {strategy}", expanded=True):
    try:
        ranges, fixed = range_inputs(strategy, strategies[strategy].Params)
    except EngineError as e:
        st.error(f"Check the parameter ranges: {e}")
search_inputs()
if ranges:
    try:
        spec = build_spec(st.session_state, ranges, fixed)
        st.caption(view.search_caption(spec))
    except EngineError as e:
        st.error(f"Cannot optimize with these inputs: {e}")

result = st.session_state.get(f"{P}_result")
if result is not None and result.spec.strategy != strategy:
    result = None  # a result of another strategy: its sets do not apply to this one
tabs = dict(zip(TABS, st.tabs(list(TABS), key=f"{P}_tabs", on_change="rerun")))


with tabs["Grid"]:
    if tabs["Grid"].open:
        allowed = estimate_gate(view.timed_estimate(spec), f"{P}_grid") if spec is not None else False
        go = st.button("Run optimization", type="primary", key=f"{P}_run", disabled=spec is None or not allowed)
        if pop_cancelled(f"{P}_grid"):
            st.warning("Optimization cancelled; the previous result (if any) is shown.")
        if go and spec is not None:
            found = controlled(
                f"Optimizing {spec.strategy}",
                f"{P}_grid",
                lambda p, s: run_optimization(spec, progress=p, should_stop=s),
            )
            if found is not None:
                result = view.slim(found)
                st.session_state[f"{P}_result"] = result
                try:
                    st.session_state[f"{P}_run_id"] = view.save_best_run(found)
                except EngineError as e:
                    st.warning(f"The best set could not be saved as a run: {e}")
        if result is None:
            st.info("Set the parameter ranges above and press **Run optimization**.")
        else:
            view.show_grid(result)
            run_id = st.session_state.get(f"{P}_run_id")
            if run_id:
                st.caption(f"The best set was saved as run `{run_id}` (Runs page).")
            if result.best_params:
                with st.popover("Save best as preset"):
                    view.preset_saver(result.best_request(), f"{P}_best_preset", label="Save best")

with tabs["Walk-forward"]:
    if tabs["Walk-forward"].open:
        c1, c2, c3 = st.columns(3, vertical_alignment="bottom")
        c1.text_input("In-sample length", value="3Y", key=f"{P}_wf_is", help="Bars (250) or a span: 3Y, 18M, 26W.")
        c2.text_input("Out-of-sample length", value="1Y", key=f"{P}_wf_oos")
        c3.checkbox("Anchored (in-sample grows from the first bar)", key=f"{P}_wf_anchored")
        wf_spec, allowed = None, False
        if spec is not None:
            try:
                wf_spec = WalkForwardSpec(
                    optimize=spec,
                    in_sample=st.session_state[f"{P}_wf_is"].strip(),
                    out_of_sample=st.session_state[f"{P}_wf_oos"].strip(),
                    anchored=bool(st.session_state[f"{P}_wf_anchored"]),
                )
                allowed = estimate_gate(view.timed_estimate(spec, wf_spec), f"{P}_wf")
            except EngineError:
                allowed = True  # the run reports the problem with the windows itself
        go = st.button("Run walk-forward", type="primary", key=f"{P}_wf_run", disabled=spec is None or not allowed)
        if pop_cancelled(f"{P}_wf"):
            st.warning("Walk-forward cancelled.")
        if go and spec is not None:

            def _wf(p, s):
                run_spec = wf_spec or WalkForwardSpec(  # rebuilt: a bad window length is reported as the run's error
                    optimize=spec,
                    in_sample=st.session_state[f"{P}_wf_is"].strip(),
                    out_of_sample=st.session_state[f"{P}_wf_oos"].strip(),
                    anchored=bool(st.session_state[f"{P}_wf_anchored"]),
                )
                return run_walkforward(run_spec, progress=p, should_stop=s)

            wf = controlled("Walk-forward", f"{P}_wf", _wf)
            if wf is not None:
                st.session_state[f"{P}_wf_result"] = wf
                st.session_state[f"{P}_wf_run_id"] = view.save_as_run(
                    lambda: save_walkforward(wf, store=run_store()), "walk-forward"
                )
        wf = st.session_state.get(f"{P}_wf_result")
        if wf is None:
            st.info(
                "Each window optimizes on its in-sample bars and trades the chosen set on the next "
                "out-of-sample bars; no out-of-sample bar is used to choose. Press **Run walk-forward**."
            )
        else:
            try:
                opt = wf.spec.optimize
                data = data_cache.market_data(tuple(opt.symbols), opt.start, opt.end, opt.data_source)
                bench_symbol = opt.config.benchmark or opt.symbols[0]
                benchmark = data.close[bench_symbol].rename(f"{bench_symbol} buy and hold")
            except EngineError:
                benchmark = None
            view.show_walkforward(wf, benchmark)
            view.saved_caption(st.session_state.get(f"{P}_wf_run_id"), "stitched out-of-sample equity")

with tabs["Monte Carlo"]:
    if tabs["Monte Carlo"].open:
        params = view.choose_params(result, fixed, ranges, key=f"{P}_mc_set")
        c1, c2, c3, c4 = st.columns(4)
        method = c1.selectbox(
            "Method",
            list(MC_METHODS),
            index=list(MC_METHODS).index("block_bootstrap"),
            key=f"{P}_mc_method",
            help="reshuffle: trade order (drawdowns vary, final equity does not); "
            "bootstrap_trades: trades with replacement; block_bootstrap: daily returns in blocks.",
        )
        n_sims = c2.number_input("Simulations", min_value=10, max_value=100_000, value=1000, step=100, key=f"{P}_mc_n")
        block = c3.number_input("Block length (bars)", min_value=1, max_value=2000, value=20, key=f"{P}_mc_block")
        seed = c4.number_input("Seed", min_value=0, value=0, key=f"{P}_mc_seed")
        c1, c2, c3 = st.columns(3)
        slip = c1.number_input(
            "Extra slippage (bps per fill)", min_value=0.0, max_value=1000.0, value=0.0, key=f"{P}_mc_slip"
        )
        haircut = c2.slider(
            "Win-rate haircut",
            0.0,
            1.0,
            0.0,
            0.05,
            key=f"{P}_mc_haircut",
            help="Fraction of winning trades (or bars) turned into the average loss.",
        )
        loss = c3.slider(
            "Loss threshold",
            0.01,
            1.0,
            0.2,
            0.01,
            key=f"{P}_mc_loss",
            help="P(loss) = share of paths ending below (1 - threshold) x initial cash.",
        )
        if pop_cancelled(f"{P}_mc"):
            st.warning("Monte Carlo cancelled; the previous result (if any) is shown.")
        if st.button("Run Monte Carlo", type="primary", key=f"{P}_mc_run", disabled=spec is None) and spec:

            def _mc(p, s):
                mc_spec = MonteCarloSpec(
                    method=method,
                    n_sims=int(n_sims),
                    block_length=int(block),
                    extra_slippage_bps=float(slip),
                    win_rate_haircut=float(haircut),
                    loss_threshold=float(loss),
                    seed=int(seed),
                )
                request = spec.request(params)
                backtest = run_request(request)
                return request, backtest, run_montecarlo(backtest, mc_spec, progress=p, should_stop=s)

            done = controlled("Monte Carlo", f"{P}_mc", _mc)
            if done is not None:
                request, backtest, mc = done
                run_id = view.save_as_run(
                    lambda: save_montecarlo(mc, backtest, request, store=run_store()), "Monte Carlo"
                )
                st.session_state[f"{P}_mc_result"] = (mc, backtest.equity, params, run_id)
        stored = st.session_state.get(f"{P}_mc_result")
        if stored is None:
            st.info("Pick a parameter set (the optimizer's best by default) and press **Run Monte Carlo**.")
        else:
            mc, equity, used, run_id = stored
            st.caption(f"Parameter set: {used}")
            view.show_montecarlo(mc, equity)
            view.saved_caption(run_id, "Monte Carlo")

with tabs["Universe"]:
    if tabs["Universe"].open:
        universe_tab(spec, result, fixed, ranges)

with tabs["Scorecard"]:
    if tabs["Scorecard"].open:
        scorecard_tab(spec, result, fixed, ranges)
