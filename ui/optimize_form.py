"""The Optimize page's inputs: widget state <-> `OptimizeSpec`.

Every parameter of the strategy's `Params` gets a row: numbers get "vary" + from / to / step (the grid is
from..to inclusive; when not varied, "from" is the fixed value), booleans and choices get a multiselect
(several values = varied, one = fixed). The first two numeric parameters with bounds are varied by default,
so the first run is a two-parameter grid that fits a heatmap. Widgets read their values from session state
(`seed`), never from `value=`, so that a rerun or a new strategy keeps or resets them cleanly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np
import streamlit as st

from engine.config import DEFAULT_START, FILLS, BacktestConfig, Costs, Risk
from engine.errors import ConfigError
from engine.metrics import METRIC_NAMES, registry
from engine.research.optimize import METHODS, OptimizeSpec
from engine.strategies.base import ParamSpec, param_specs
from ui.widgets import seed

P = "opt"
OBJECTIVES = registry.OBJECTIVES
DEFAULTS: dict[str, Any] = {
    f"{P}_start": dt.date.fromisoformat(DEFAULT_START),
    f"{P}_end": None,
    f"{P}_cash": 100_000.0,
    f"{P}_commission": 0.0,
    f"{P}_slippage": 0.0,
    f"{P}_fill": "next_open",
    f"{P}_leverage": 1.0,
    f"{P}_method": "grid",
    f"{P}_trials": 100,
    f"{P}_seed": 0,
    f"{P}_objective": "sharpe",
    f"{P}_maximize": True,
    f"{P}_min_trades": 0,
    f"{P}_max_dd": 0.0,
}


def key(strategy: str, name: str, part: str) -> str:
    """Session-state key of one part (vary, lo, hi, step, values) of a parameter's range row."""
    return f"{P}_r_{strategy}_{name}_{part}"


def seed_defaults(state: MutableMapping[str, Any], symbols: Sequence[str], strategy: str) -> None:
    """First visit: default values for every widget that has none yet (SPY if available)."""
    for k, v in DEFAULTS.items():
        seed(state, k, v)
    seed(state, f"{P}_symbols", [s for s in ("SPY",) if s in symbols] or list(symbols[:1]))
    seed(state, f"{P}_strategy", strategy)


def _cast(spec: ParamSpec):
    return int if spec.type is int else float


def seed_ranges(state: MutableMapping[str, Any], strategy: str, params_cls: type) -> None:
    """Default range rows: bounds and step from `Params`; the first two bounded numbers varied."""
    varied = 0
    for spec in param_specs(params_cls):
        if spec.choices or spec.type is bool:
            choices = list(spec.choices or (False, True))
            seed(state, key(strategy, spec.name, "values"), [spec.default] if spec.default in choices else choices[:1])
            continue
        if spec.type not in (int, float):
            continue
        cast = _cast(spec)
        bounded = spec.low is not None and spec.high is not None
        seed(state, key(strategy, spec.name, "vary"), bounded and varied < 2)
        varied += bool(bounded and varied < 2)
        seed(state, key(strategy, spec.name, "value"), cast(spec.default))
        seed(state, key(strategy, spec.name, "lo"), cast(spec.low if bounded else spec.default))
        seed(state, key(strategy, spec.name, "hi"), cast(spec.high if bounded else spec.default))
        seed(state, key(strategy, spec.name, "step"), cast(spec.step or 1))


def grid_values(lo: float, hi: float, step: float, integer: bool) -> list[Any]:
    """from..to inclusive by step ([] when to < from; ConfigError for a step <= 0)."""
    if step is None or step <= 0:
        raise ConfigError(f"step must be > 0, got {step}")
    if hi < lo:
        return []
    if integer:
        return list(range(int(lo), int(hi) + 1, max(1, int(step))))
    n = int(np.floor((hi - lo) / step + 1e-9)) + 1
    return [round(float(lo + i * step), 10) for i in range(n)]


def range_inputs(strategy: str, params_cls: type) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Draw one row per parameter; return (ranges of the varied parameters, fixed values of the others).

    Raises ConfigError naming the parameter when a varied range is empty (to < from)."""
    seed_ranges(st.session_state, strategy, params_cls)
    ranges: dict[str, list[Any]] = {}
    fixed: dict[str, Any] = {}
    empty: list[str] = []
    for spec in param_specs(params_cls):
        label = spec.name.replace("_", " ")
        if spec.choices or spec.type is bool:
            choices = list(spec.choices or (False, True))
            values = st.multiselect(
                label,
                choices,
                key=key(strategy, spec.name, "values"),
                help=(spec.doc or "") + " Pick several values to search them, one to fix it.",
            )
            if len(values) > 1:
                ranges[spec.name] = list(values)
            elif values:
                fixed[spec.name] = values[0]
            continue
        if spec.type not in (int, float):
            continue
        cast = _cast(spec)
        fmt = None if cast is int else "%.4g"
        c0, c1, c2, c3 = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
        vary = c0.checkbox(f"vary **{label}**", key=key(strategy, spec.name, "vary"), help=spec.doc or None)
        if not vary:  # hidden range widgets lose their state and come back at the Params bounds
            fixed[spec.name] = cast(
                c1.number_input(
                    f"{label}: value", key=key(strategy, spec.name, "value"), step=cast(spec.step or 1), format=fmt
                )
            )
            continue
        lo = c1.number_input(
            f"{label}: from", key=key(strategy, spec.name, "lo"), step=cast(spec.step or 1), format=fmt
        )
        hi = c2.number_input(f"{label}: to", key=key(strategy, spec.name, "hi"), step=cast(spec.step or 1), format=fmt)
        step = c3.number_input(
            f"{label}: step",
            key=key(strategy, spec.name, "step"),
            format=fmt,
            min_value=cast(1) if cast is int else 1e-9,
        )
        values = grid_values(lo, hi, step, cast is int)
        if not values:  # reported after every row is drawn (a raise here would drop the later rows' state)
            empty.append(f"the range of parameter {spec.name!r} is empty: to ({hi}) is below from ({lo})")
        ranges[spec.name] = values
    if empty:
        raise ConfigError("; ".join(empty))
    return ranges, fixed


def data_inputs(available: Sequence[str]) -> None:
    """Symbols and date range."""
    st.multiselect("Symbols", list(available), key=f"{P}_symbols")
    c1, c2 = st.columns(2)
    c1.date_input(
        "Start (empty = first bar)", key=f"{P}_start", min_value=dt.date(1970, 1, 1), max_value=dt.date(2100, 1, 1)
    )
    c2.date_input(
        "End (empty = last bar)", key=f"{P}_end", min_value=dt.date(1970, 1, 1), max_value=dt.date(2100, 1, 1)
    )


def search_inputs() -> None:
    """Objective, method and constraints; costs and fills."""
    with st.expander("Objective, search method and constraints", expanded=False):
        c1, c2, c3, c4 = st.columns(4)
        c1.selectbox(
            "Objective",
            [m for m in OBJECTIVES if m in METRIC_NAMES],
            key=f"{P}_objective",
            help="The metric the parameter sets are ranked by (annualized with 252 bars a year).",
        )
        c1.toggle("Maximize", key=f"{P}_maximize", help="Off = minimize the objective.")
        c2.radio(
            "Method",
            list(METHODS),
            key=f"{P}_method",
            horizontal=True,
            help="grid: every combination; random: n trials drawn with the seed; optuna: TPE search.",
        )
        c2.number_input("Trials (random / optuna)", min_value=1, max_value=100_000, step=10, key=f"{P}_trials")
        c3.number_input("Seed", min_value=0, step=1, key=f"{P}_seed")
        c3.number_input(
            "Min trades",
            min_value=0,
            step=1,
            key=f"{P}_min_trades",
            help="Sets with fewer trades are ranked last (infeasible).",
        )
        c4.number_input(
            "Max drawdown limit % (0 = none)",
            min_value=0.0,
            max_value=100.0,
            step=5.0,
            key=f"{P}_max_dd",
            help="Sets whose max drawdown is deeper are infeasible.",
        )
    with st.expander("Costs and fills", expanded=False):
        c1, c2, c3, c4, c5 = st.columns(5)
        c1.number_input("Initial cash", min_value=1.0, step=10_000.0, key=f"{P}_cash")
        c2.number_input("Commission (bps)", min_value=0.0, max_value=1000.0, step=1.0, key=f"{P}_commission")
        c3.number_input("Slippage (bps)", min_value=0.0, max_value=1000.0, step=1.0, key=f"{P}_slippage")
        c4.selectbox("Fill", list(FILLS), key=f"{P}_fill", help="same_close is optimistic (sensitivity only).")
        c5.number_input("Max leverage", min_value=0.01, max_value=100.0, step=0.25, key=f"{P}_leverage")


def build_spec(state: Mapping[str, Any], ranges: Mapping[str, Sequence[Any]], fixed: Mapping[str, Any]) -> OptimizeSpec:
    """The frozen spec for what the page holds. Raises ConfigError / DataError naming what to fix."""
    g = state.get
    start, end = g(f"{P}_start"), g(f"{P}_end")
    if start and end and start > end:
        raise ConfigError(f"start {start} is after end {end}")
    if not ranges:
        raise ConfigError("no parameter is varied: tick 'vary' for at least one parameter")
    config = BacktestConfig(
        initial_cash=float(g(f"{P}_cash")),
        costs=Costs(commission_bps=float(g(f"{P}_commission")), slippage_bps=float(g(f"{P}_slippage"))),
        risk=Risk(max_leverage=float(g(f"{P}_leverage"))),
        fill=g(f"{P}_fill"),
    )
    max_dd = float(g(f"{P}_max_dd") or 0.0)
    return OptimizeSpec(
        strategy=g(f"{P}_strategy"),
        symbols=tuple(g(f"{P}_symbols") or ()),
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        config=config,
        ranges={k: list(v) for k, v in ranges.items()},
        fixed=dict(fixed),
        method=g(f"{P}_method"),
        n_trials=int(g(f"{P}_trials")),
        seed=int(g(f"{P}_seed")),
        objective=g(f"{P}_objective"),
        maximize=bool(g(f"{P}_maximize")),
        min_trades=int(g(f"{P}_min_trades")),
        constraints={"max_drawdown": (-max_dd / 100.0, None)} if max_dd > 0 else {},
    )
