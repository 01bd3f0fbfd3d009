"""Drawing the Optimize page's results, one function per tab (figures from `ui.charts_robustness`).

Results live in session state while the user looks at them, and each is also saved as a run (the
optimizer's best set, the walk-forward's stitched out-of-sample equity, the Monte Carlo and the scorecard:
`save_as_run`); each function takes the engine's result object and draws it, with widgets keyed under `opt_`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from engine.errors import EngineError
from engine.metrics import registry
from engine.request import run_request
from engine.research.estimate import Estimate, estimate_optimize, estimate_walkforward
from engine.research.optimize import OptimizationResult, OptimizeSpec
from engine.sim.grid import EQUITY_CELLS
from engine.store.jsonable import plain
from engine.store.presets import Preset, save_preset
from ui import charts, charts_montecarlo, charts_scorecard, data_cache, tables
from ui import charts_robustness as cr
from ui.result_view import PLOTLY_CONFIG, format_metric, format_params, number_column
from ui.state import run_store

P = "opt"
KEEP_CURVES = 10
MAX_CELLS = EQUITY_CELLS  # the grid's own limit (engine.sim.grid), one number for both
"""Every trial's equity curve is kept in session state (for PBO in the scorecard) while bars x trials stays
under MAX_CELLS (32 MB); above that only the best KEEP_CURVES (a 50 x 50 grid over 30 years is 170 MB)."""


def search_caption(spec: OptimizeSpec) -> str:
    """What the search will do, in counts that match the run: combinations, sets to run after the strategy's
    rules prune some (each rule with its count), and the objective."""
    counts = estimate_optimize(spec, timed=False)
    rules = "; ".join(f"{rule}: {n:,}" for rule, n in counts.pruned.items())
    pruned = f", {counts.pruned_count:,} pruned ({rules})" if counts.pruned else ""
    trials = f", {spec.n_trials:,} trials asked" if spec.method != "grid" else ""
    return (
        f"{spec.method} search over {', '.join(spec.ranges or {})}: {counts.total:,} combinations, "
        f"{counts.to_run:,} to run{pruned}{trials}; objective {'max' if spec.maximize else 'min'} {spec.objective}."
    )


def timed_estimate(spec: OptimizeSpec, wf_spec: Any = None) -> Estimate | None:
    """The optimization's (or, with wf_spec, the walk-forward's) estimate with its ETA, measured on the page's
    cached data; None with a warning when the data cannot be read (the run would then say why)."""
    try:
        data = data_cache.market_data(tuple(spec.symbols), spec.start, spec.end, spec.data_source)
        if wf_spec is not None:
            return estimate_walkforward(wf_spec, data=data)
        return estimate_optimize(spec, data=data)
    except EngineError as e:
        st.warning(f"No estimate before running: {e}")
        return None


def chart(fig: Any, key: str) -> None:
    st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG)


def slim(result: OptimizationResult, keep: int = KEEP_CURVES, max_cells: int = MAX_CELLS) -> OptimizationResult:
    """The result with every equity curve if bars x trials <= max_cells, else the best `keep` (in rank order;
    the table keeps every trial)."""
    if result.equity.size <= max_cells:
        return result
    ids = [i for i in result.table.index[:keep] if i in result.equity.columns]
    return dataclasses.replace(result, equity=result.equity.loc[:, ids])


def searched_params(result: OptimizationResult) -> list[str]:
    """The parameters that took more than one value in the search (in table order)."""
    spec = result.spec
    names = list(spec.ranges or [])
    if not names:
        names = [c for c in result.table.columns if c not in spec.fixed and c in result.best_params]
    return [n for n in names if n in result.table.columns and result.table[n].nunique() > 1] or names


def _headline(result: OptimizationResult) -> None:
    spec = result.spec
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("trials", f"{len(result.table):,}")
    c2.metric("feasible", f"{int(result.table['feasible'].sum()):,}")
    best = result.best_metrics.get(spec.objective)
    c3.metric(f"best {spec.objective}", format_metric(spec.objective, best) if best is not None else "n/a")
    c4.metric("search time", f"{result.elapsed:.2f} s")
    if result.best_params:
        st.success(
            f"Best set ({'max' if spec.maximize else 'min'} {spec.objective}): {format_params(result.best_params)}"
        )
    else:
        st.warning(
            "No parameter set met the constraints (min trades / max drawdown): every row is infeasible. "
            "Relax the constraints or widen the ranges."
        )


def show_grid(result: OptimizationResult) -> None:
    """Headline, ranked table, heatmap of two parameters (others fixed or aggregated), 3D surface, top curves."""
    spec = result.spec
    params = searched_params(result)
    _headline(result)
    table = result.table
    shown = cr.ranked_table(
        table,
        params,
        metrics=tuple(dict.fromkeys((spec.objective, *registry.TRIAL_COLUMNS))),
        top=200,
    )
    st.markdown(
        f"**Ranked parameter sets** (best first; objective = {spec.objective}"
        f"{'' if spec.maximize else ', minimized'}; greyed = infeasible; top {len(shown)} of {len(table):,})"
    )
    tables.show(cr.ranked_styler(shown), key=f"{P}_ranked", height=320)
    if len(params) < 2:
        st.info("Vary two or more parameters to see a heatmap and a surface.")
        if params:
            top = table.sort_values(params[0])
            st.line_chart(top.set_index(params[0])["objective"])
    else:
        _surfaces(table, params, spec.maximize)
    curves = {
        f"#{i + 1} { ({p: plain(table.loc[t, p]) for p in params}) }": result.equity[t]
        for i, t in enumerate([t for t in table.index[:5] if t in result.equity.columns])
    }
    if curves:
        chart(charts.compare_equity_figure(curves), f"{P}_top_curves")


def _surfaces(table: pd.DataFrame, params: list[str], maximize: bool) -> None:
    c1, c2, c3, c4 = st.columns(4)
    x = c1.selectbox("x parameter", params, index=0, key=f"{P}_hx")
    y = c2.selectbox("y parameter", [p for p in params if p != x], index=0, key=f"{P}_hy")
    values = [
        "objective",
        *[m for m in registry.STABILITY if m in table.columns],
    ]
    value = c3.selectbox("value", values, key=f"{P}_hv")
    others = [p for p in params if p not in (x, y)]
    agg = c4.radio(
        "other parameters",
        ["mean", "max", "fixed"],
        horizontal=True,
        key=f"{P}_hagg",
        disabled=not others,
        help="Aggregate the other searched parameters over each cell, or fix them.",
    )
    fixed: dict[str, Any] = {}
    if others and agg == "fixed":
        cols = st.columns(len(others))
        for col, name in zip(cols, others):
            options = sorted(pd.unique(table[name]).tolist())
            fixed[name] = col.selectbox(f"{name} =", options, key=f"{P}_hfix_{name}")
    how = "mean" if agg == "fixed" else agg
    maximize = maximize if value == "objective" else registry.higher_is_better(value)
    left, right = st.columns(2)
    with left:
        chart(
            cr.param_heatmap_figure(table, x, y, value, fixed, how, maximize=maximize, param_names=params),
            f"{P}_heatmap",
        )
    with right:
        chart(cr.param_surface_figure(table, x, y, value, fixed, how, param_names=params), f"{P}_surface")


def show_walkforward(wf: Any, benchmark: pd.Series | None) -> None:
    """Efficiency and OOS metrics, stitched OOS equity vs buy-and-hold, parameter path, stability surface."""
    opt = wf.spec.optimize
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric("windows", len(wf.windows))
    c2.metric(
        "WF efficiency (CAGR)",
        "n/a" if np.isnan(wf.efficiency) else f"{wf.efficiency:.2f}",
        help="Stitched out-of-sample CAGR / mean in-sample CAGR of the chosen sets.",
    )
    c3.metric("OOS CAGR", format_metric("cagr", wf.oos_metrics.get("cagr")))
    c4.metric("OOS Sharpe", format_metric("sharpe", wf.oos_metrics.get("sharpe")))
    c5.metric("OOS max drawdown", format_metric("max_drawdown", wf.oos_metrics.get("max_drawdown")))
    chart(cr.walkforward_equity_figure(wf.oos_equity, benchmark, wf.windows, opt.config.initial_cash), f"{P}_wf_equity")
    params = [p for p in (opt.ranges or {}) if p in wf.windows.columns]
    dates = {
        c: st.column_config.DateColumn(format="YYYY-MM-DD") for c in ("is_start", "is_end", "oos_start", "oos_end")
    }
    tables.show(wf.windows, key=f"{P}_wf_windows", hide_index=True, column_config=dates)
    if params:
        chart(cr.parameter_path_figure(wf.windows, params), f"{P}_wf_path")
    stab = wf.stability
    if stab is None or stab.empty or not params:
        return
    st.markdown(
        "**Stability surface**: the in-sample metric of every searched set, window by window. A stable "
        "strategy keeps its good region in the same place."
    )
    c1, c2, c3 = st.columns(3)
    param = c1.selectbox("parameter", params, key=f"{P}_wf_param")
    metric = c2.selectbox("metric", sorted(pd.unique(stab["metric"])), key=f"{P}_wf_metric")
    kind = c3.radio("view", ["heatmap", "surface"], horizontal=True, key=f"{P}_wf_kind")
    chosen = wf.windows[param].tolist() if kind == "heatmap" else None
    chart(cr.stability_figure(stab, param, metric, kind=kind, chosen=chosen), f"{P}_wf_stability")


def show_montecarlo(mc: Any, original: pd.Series | None = None) -> None:
    """Probability of loss, percentiles table, fan chart, histograms of final equity and max drawdown."""
    s = mc.summary
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(f"P(loss > {mc.spec.loss_threshold:.0%})", f"{mc.prob_loss_beyond:.1%}")
    c2.metric(
        "median final equity",
        f"{s.get('median_final_equity', float('nan')):,.0f}",
        delta=f"{s.get('median_final_equity', 0) - s.get('original_final_equity', 0):,.0f} vs backtest",
    )
    c3.metric("p5 max drawdown", f"{mc.percentiles.loc['p5', 'max_drawdown']:.1%}")
    c4.metric(
        "simulations",
        f"{len(mc.paths):,}",
        help=f"{mc.spec.method}: {mc.paths.shape[1] - 1:,} {s.get('step_unit', 'step')}s per path, seed {mc.spec.seed}",
    )
    if mc.spec.method == "reshuffle":
        st.caption("Reshuffling the trade order leaves the final equity unchanged; only the path (drawdowns) varies.")
    tables.show(
        mc.percentiles,
        key=f"{P}_mc_pct",
        column_config={k: number_column(k) for k in mc.percentiles.columns},
    )
    orig = None
    if original is not None and s.get("step_unit") == "bar" and len(original) == mc.paths.shape[1] - 1:
        orig = np.concatenate([[s["initial_cash"]], original.to_numpy()])
    chart(
        charts_montecarlo.montecarlo_fan_figure(
            mc.paths, original=orig, sample_paths=20, seed=mc.spec.seed, step_unit=s.get("step_unit")
        ),
        f"{P}_mc_fan",
    )
    dist = charts_montecarlo.path_distributions(mc.paths)
    final = mc.final_equity if getattr(mc, "final_equity", None) is not None else dist["final_equity"]
    mdd = mc.max_drawdown if getattr(mc, "max_drawdown", None) is not None else dist["max_drawdown"]
    pct = mc.percentiles
    left, right = st.columns(2)
    with left:
        chart(
            charts_montecarlo.distribution_figure(
                final,
                "Final equity",
                "final equity",
                marks={
                    "p5": pct.loc["p5", "final_equity"],
                    "p50": pct.loc["p50", "final_equity"],
                    "backtest": s.get("original_final_equity"),
                },
                threshold=(1 - mc.spec.loss_threshold) * s["initial_cash"],
            ),
            f"{P}_mc_final",
        )
    with right:
        chart(
            charts_montecarlo.distribution_figure(
                mdd,
                "Max drawdown",
                "max drawdown",
                percent=True,
                marks={
                    "p5": pct.loc["p5", "max_drawdown"],
                    "p50": pct.loc["p50", "max_drawdown"],
                    "backtest": s.get("original_max_drawdown"),
                },
            ),
            f"{P}_mc_dd",
        )


def show_universe(result: Any, metric: str, threshold: float | None) -> None:
    """Ranking bars (kept symbols highlighted), the kept list and the ranking table."""
    kept = list(result.kept)
    st.success(f"Kept {len(kept)}: {', '.join(kept) if kept else '(none)'}")
    chart(charts_scorecard.universe_ranking_figure(result.ranking, metric, kept, threshold), f"{P}_uni_rank")
    tables.show(result.ranking, key=f"{P}_uni_table", column_config=tables.metric_columns(result.ranking.columns))


def show_scorecard(card: Any) -> None:
    """Verdict counts, then one line per check with its value and a green / amber / red verdict."""
    frame = charts_scorecard.scorecard_frame(card.lines)
    counts = charts_scorecard.verdict_counts(frame)
    c1, c2, c3 = st.columns(3)
    c1.metric("pass", counts["pass"])
    c2.metric("warn", counts["warn"])
    c3.metric("fail", counts["fail"])
    tables.show(charts_scorecard.scorecard_styler(frame), key=f"{P}_score_table", height=38 + 35 * len(frame))


def choose_params(
    result: OptimizationResult | None, fixed: dict[str, Any], ranges: dict[str, list[Any]], key: str
) -> dict[str, Any]:
    """A selectbox of parameter sets: the optimizer's top 20 (when its strategy is the one selected), or the
    form's values (each varied parameter at its 'from' value)."""
    options: dict[str, dict[str, Any]] = {}
    if result is not None and result.best_params:
        params = searched_params(result)
        feasible = result.table[result.table["feasible"]].head(20)
        for i, (_, row) in enumerate(feasible.iterrows()):
            chosen = {**result.best_params, **{p: plain(row[p]) for p in params}}
            options[f"#{i + 1} of the optimization: {format_params({p: chosen[p] for p in params})}"] = chosen
    form = {**fixed, **{k: v[0] for k, v in ranges.items() if v}}
    options[f"as in the form: {format_params(form)}"] = form
    label = st.selectbox("Parameter set", list(options), key=key)
    return options[label]


def save_best_run(result: OptimizationResult) -> str | None:
    """Backtest the best set again and save it as a run of kind "optimize" (its request reproduces it);
    returns the run id, or None when no set is feasible."""

    if not result.best_params:
        return None
    request = result.best_request()
    spec = result.spec
    name = f"optimize: best {spec.objective} of {len(result.table):,} {spec.method} sets"
    return run_store().save(run_request(request), request, kind="optimize", name=name)


def save_as_run(save: Callable[[], str | None], what: str) -> str | None:
    """Call `save` (it stores a result as a run and returns the id); a failure is a warning, not an error."""

    try:
        return save()
    except EngineError as e:
        st.warning(f"The {what} could not be saved as a run: {e}")
        return None


def saved_caption(run_id: str | None, what: str) -> None:
    """'The ... was saved as run `id` (Runs page).' when there is an id."""
    if run_id:
        st.caption(f"The {what} was saved as run `{run_id}` (Runs page).")


def preset_saver(request: Any, key: str, universe: list[str] | None = None, label: str = "Save as preset") -> None:
    """Name + overwrite + button: saves `request` (and a kept `universe`) as a preset via engine.store.presets."""

    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    name = c1.text_input("Preset name", key=f"{key}_name", placeholder="e.g. spy_sma_best")
    overwrite = c2.checkbox("Overwrite", key=f"{key}_overwrite")
    if c3.button(label, key=f"{key}_save", disabled=not name):
        try:
            path = save_preset(
                Preset.from_request(name, request, universe=universe, description="saved from the Optimize page"),
                overwrite=overwrite,
            )
            st.success(f"Saved preset {name!r} to {path}")
        except EngineError as e:
            st.error(f"Preset not saved: {e}")
