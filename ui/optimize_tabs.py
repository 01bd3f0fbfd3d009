"""The Optimize page's Universe and Scorecard tabs: inputs -> one engine call -> draw (ui.optimize_view).

Both judge one parameter set (the optimizer's best by default, see `choose_params`). The scorecard reuses
the optimizer's table (trial Sharpe dispersion, plateau, number of trials), its equity curves (PBO) and the
walk-forward result, but only when they were computed for exactly the spec on screen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from engine.errors import EngineError
from engine.metrics import registry, returns_from_equity
from engine.research.optimize import OptimizationResult, OptimizeSpec
from engine.research.scorecard import build_scorecard, save_scorecard
from engine.research.universe import select_universe
from engine.store.presets import list_presets, load_preset, save_preset
from ui.optimize_view import (
    P,
    choose_params,
    preset_saver,
    save_as_run,
    saved_caption,
    searched_params,
    show_scorecard,
    show_universe,
)
from ui.result_view import format_params
from ui.run_control import controlled, pop_cancelled
from ui.state import run_store

RANK_METRICS = registry.RANKINGS


def universe_tab(
    spec: OptimizeSpec | None, result: OptimizationResult | None, fixed: dict[str, Any], ranges: dict[str, list[Any]]
) -> None:
    """Rank the form's symbols by an in-sample metric of the chosen set (each symbol backtested alone); keep
    the top N and/or those at or above a threshold; save the kept list into a preset's `universe`."""
    params = choose_params(result, fixed, ranges, key=f"{P}_uni_set")
    c1, c2, c3 = st.columns(3)
    metric = c1.selectbox("Rank by", list(RANK_METRICS), key=f"{P}_uni_metric")
    top_n = c2.number_input("Keep top N (0 = no limit)", min_value=0, max_value=500, value=0, key=f"{P}_uni_top")
    use_threshold = c3.checkbox("Only symbols with metric >= threshold", key=f"{P}_uni_use_thr")
    threshold = c3.number_input("threshold", value=0.0, step=0.1, key=f"{P}_uni_thr", disabled=not use_threshold)
    if pop_cancelled(f"{P}_uni"):
        st.warning("Universe selection cancelled; the previous result (if any) is shown.")
    if st.button("Rank symbols", type="primary", key=f"{P}_uni_run", disabled=spec is None) and spec is not None:

        def _rank(p, s):
            request = spec.request(params)
            return request, select_universe(
                request,
                metric=metric,
                top_n=int(top_n) or None,
                threshold=float(threshold) if use_threshold else None,
                progress=p,
                should_stop=s,
            )

        done = controlled("Universe selection (each symbol alone)", f"{P}_uni", _rank)
        if done is not None:
            request, chosen = done
            st.session_state[f"{P}_uni_result"] = (chosen, request)
    stored = st.session_state.get(f"{P}_uni_result")
    if stored is None:
        st.info("Pick several symbols above, a metric and a rule, then press **Rank symbols**.")
        return
    chosen, request = stored
    show_universe(chosen, chosen.metric, chosen.threshold)
    if not chosen.kept:
        return
    st.markdown("**Save the kept list** as a preset's `universe` (signals and daily ops then trade those symbols).")
    left, right = st.columns(2)
    with left:
        preset_saver(request, f"{P}_uni_preset", universe=list(chosen.kept), label="Save new preset")
    with right:
        presets = list_presets()
        c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
        name = c1.selectbox(
            "Existing preset", [""] + presets, key=f"{P}_uni_existing", format_func=lambda n: n or "(choose a preset)"
        )
        if c2.button("Set its universe", key=f"{P}_uni_apply", disabled=not name):
            try:
                path = save_preset(chosen.apply_to(load_preset(name)), overwrite=True)
                st.success(f"Preset {name!r} now trades {', '.join(chosen.kept)} ({path})")
            except EngineError as e:
                st.error(f"Preset {name!r} not updated: {e}")


def _same(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a.to_dict() == b.to_dict()


def scorecard_tab(
    spec: OptimizeSpec | None, result: OptimizationResult | None, fixed: dict[str, Any], ranges: dict[str, list[Any]]
) -> None:
    """One robustness scorecard for the chosen set: each line with its value and a green/amber/red verdict."""
    params = choose_params(result, fixed, ranges, key=f"{P}_sc_set")
    wf = st.session_state.get(f"{P}_wf_result")
    use_grid = result is not None and _same(result.spec, spec)
    use_wf = wf is not None and _same(wf.spec.optimize, spec)
    st.caption(
        "Uses "
        + (
            "the optimizer's trials (number of trials, Sharpe dispersion, plateau"
            + (", PBO" if use_grid and result.equity.shape[1] == len(result.table) else "")
            + ")"
            if use_grid
            else "a small grid around the set (no optimization of this exact setup yet)"
        )
        + ("; the walk-forward efficiency" if use_wf else "")
        + "."
    )
    if st.button("Build scorecard", type="primary", key=f"{P}_sc_run", disabled=spec is None) and spec is not None:
        kwargs: dict[str, Any] = {}
        if use_grid:
            kwargs.update(n_trials=len(result.table), grid_table=result.table, param_names=searched_params(result))
            if result.equity.shape[1] == len(result.table):
                kwargs["trial_returns"] = returns_from_equity(
                    result.equity.to_numpy(np.float64), spec.config.initial_cash
                )
        if use_wf:
            kwargs["walkforward"] = wf
        card = controlled(
            "Scorecard",
            f"{P}_sc",
            lambda p, s: build_scorecard(spec.request(params), progress=p, should_stop=s, **kwargs),
        )
        if card is not None:
            run_id = save_as_run(lambda: save_scorecard(card, store=run_store()), "scorecard")
            st.session_state[f"{P}_sc_result"] = (card, params, run_id)
    if pop_cancelled(f"{P}_sc"):
        st.warning("Scorecard cancelled; the previous result (if any) is shown.")
    stored = st.session_state.get(f"{P}_sc_result")
    if stored is None:
        st.info("Pick a parameter set and press **Build scorecard**.")
        return
    card, used, run_id = stored
    st.caption(f"Parameter set: {format_params(used)}")
    show_scorecard(card)
    saved_caption(run_id, "scorecard")
