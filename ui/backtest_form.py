"""The Backtest page's inputs: widget state <-> `BacktestRequest`.

`fill_state(request)` writes a request (from a preset or a stored run) into the widgets' session state;
`config_inputs` draws the simulation settings; `build_request` turns what was entered into a frozen request,
raising the engine's errors (ConfigError, DataError) with the field that is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import streamlit as st

from engine.config import (
    DEFAULT_BENCHMARK,
    DEFAULT_START,
    EQUAL_WEIGHT,
    FILLS,
    OPTIMISTIC_FILL_LABEL,
    REBALANCES,
    SIZING_METHODS,
    BacktestConfig,
    Costs,
    Financing,
    Risk,
    Sizing,
)
from engine.request import BacktestRequest
from ui.event_form import event_defaults, event_fields, fill_event_state
from ui.widgets import param_key, seed

P = "bt"
DEFAULT_BENCH = "(default)"
BENCH_LABELS = {
    DEFAULT_BENCH: f"{DEFAULT_BENCHMARK} (default; equal weight when the data has no {DEFAULT_BENCHMARK})",
    EQUAL_WEIGHT: "Equal weight of the run's symbols",
}
FILL_LABELS = {
    "next_open": "next_open: next bar's open (default)",
    "next_close": "next_close: next bar's close",
    "same_close": OPTIMISTIC_FILL_LABEL,
}
DEFAULTS: dict[str, Any] = {
    f"{P}_start": dt.date.fromisoformat(DEFAULT_START),
    f"{P}_end": None,
    f"{P}_cash": 100_000.0,
    f"{P}_commission": 0.0,
    f"{P}_min_commission": 0.0,
    f"{P}_slippage": 0.0,
    f"{P}_fill": "next_open",
    f"{P}_sizing": "fractional",
    f"{P}_rebalance": "on_change",
    f"{P}_drift": 0.0,
    f"{P}_leverage": 1.0,
    f"{P}_max_position": 0.0,
    f"{P}_stop_loss": 0.0,
    f"{P}_take_profit": 0.0,
    f"{P}_trailing": 0.0,
    f"{P}_max_losses": 0,
    f"{P}_benchmark": DEFAULT_BENCH,
    f"{P}_overlay": "none",
    f"{P}_overlay_vol": 10.0,
    f"{P}_overlay_lookback": 63,
    f"{P}_overlay_risk": 1.0,
    f"{P}_cash_rate": 0.0,
    f"{P}_borrow": 0.0,
    f"{P}_margin": None,
    f"{P}_borrow_by_symbol": {},
    f"{P}_timeframe": "",
}
"""Widget keys and their first values; `{P}_borrow_by_symbol` has no widget: a preset's per-symbol borrow fees
are kept as they came (engine.config.Financing)."""


def _pct(value: float | None) -> float:
    return 0.0 if value is None else float(value) * 100.0


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def seed_defaults(state: MutableMapping[str, Any], symbols: Sequence[str], strategy: str) -> None:
    """First visit: default values for every widget that has none yet."""
    for key, value in {**DEFAULTS, **event_defaults(P)}.items():
        seed(state, key, value)
    default_symbols = [s for s in ("SPY",) if s in symbols] or list(symbols[:1])
    seed(state, f"{P}_symbols", default_symbols)
    seed(state, f"{P}_strategy", strategy)


def fill_state(state: MutableMapping[str, Any], request: BacktestRequest, available: Sequence[str]) -> None:
    """Write a request into the widgets' state (loading a preset or re-opening a run)."""
    cfg = request.config
    values = {
        f"{P}_strategy": request.strategy,
        f"{P}_symbols": [s for s in request.symbols if s in available],
        f"{P}_start": _date(request.start),
        f"{P}_end": _date(request.end),
        f"{P}_cash": float(cfg.initial_cash),
        f"{P}_commission": float(cfg.costs.commission_bps),
        f"{P}_min_commission": float(cfg.costs.min_commission),
        f"{P}_slippage": float(cfg.costs.slippage_bps),
        f"{P}_fill": cfg.fill,
        f"{P}_sizing": "fractional" if cfg.fractional else "whole",
        f"{P}_rebalance": cfg.rebalance,
        f"{P}_drift": float(cfg.drift_threshold),
        f"{P}_leverage": float(cfg.risk.max_leverage),
        f"{P}_max_position": float(cfg.risk.max_position or 0.0),
        f"{P}_stop_loss": _pct(cfg.risk.stop_loss),
        f"{P}_take_profit": _pct(cfg.risk.take_profit),
        f"{P}_trailing": _pct(cfg.risk.trailing_stop),
        f"{P}_max_losses": int(cfg.max_consecutive_losses or 0),
        f"{P}_benchmark": cfg.benchmark if cfg.benchmark in (EQUAL_WEIGHT, *available) else DEFAULT_BENCH,
        f"{P}_overlay": cfg.sizing.method,
        f"{P}_overlay_vol": cfg.sizing.target_vol * 100.0,
        f"{P}_overlay_lookback": cfg.sizing.lookback,
        f"{P}_overlay_risk": cfg.sizing.risk_per_trade * 100.0,
        f"{P}_cash_rate": cfg.cash_rate * 100.0,
        f"{P}_borrow": float(cfg.financing.borrow_bps),
        f"{P}_margin": None if cfg.financing.margin_rate is None else cfg.financing.margin_rate * 100.0,
        f"{P}_borrow_by_symbol": dict(cfg.financing.borrow_bps_by_symbol),
        f"{P}_timeframe": request.timeframe or "",
    }
    state.update(values)
    fill_event_state(state, request, P)
    for name, value in request.params.items():
        state[param_key(P, request.strategy, name)] = value


def symbol_input(available: Sequence[str]) -> None:
    """The symbols (outside the form: the timeframe select below depends on them)."""
    st.multiselect(
        "Symbols",
        list(available),
        key=f"{P}_symbols",
        accept_new_options=True,  # a ticker we do not have is typed, and the run names where it was looked for
        help="Bundled sample plus anything imported into the workspace (Data page: Update data fetches new tickers).",
    )


def data_inputs(timeframes: Sequence[str]) -> None:
    """Date range, and the bar timeframe when the chosen symbols are intraday (`timeframes`: what they can be
    resampled to; engine.data.loader.timeframe_choices) (inside the form)."""
    if timeframes:
        st.selectbox(
            "Timeframe",
            ["", *timeframes],
            key=f"{P}_timeframe",
            format_func=lambda v: v or "native (each symbol's own bars)",
            help="Intraday bars are resampled before the run: open = first, high = max, low = min, close = last, "
            "volume = sum; bins anchored at 00:00 UTC (FX: days from 17:00 New York); a bar still forming is "
            "dropped.",
        )
    c1, c2 = st.columns(2)
    c1.date_input(
        "Start (empty = first bar)", key=f"{P}_start", min_value=dt.date(1970, 1, 1), max_value=dt.date(2100, 1, 1)
    )
    c2.date_input(
        "End (empty = last bar)", key=f"{P}_end", min_value=dt.date(1970, 1, 1), max_value=dt.date(2100, 1, 1)
    )


def config_inputs(available: Sequence[str]) -> None:
    """Costs, fills, sizing, rebalancing, leverage, caps, stops and benchmark (inside the form)."""
    with st.expander("Costs, fills and sizing", expanded=False):
        c1, c2, c3, c4 = st.columns(4)
        c1.number_input("Initial cash", min_value=1.0, step=10_000.0, key=f"{P}_cash")
        c2.number_input(
            "Commission (bps of notional)", min_value=0.0, max_value=1000.0, step=1.0, key=f"{P}_commission"
        )
        c3.number_input("Min commission per order", min_value=0.0, step=1.0, key=f"{P}_min_commission")
        c4.number_input("Slippage (bps)", min_value=0.0, max_value=1000.0, step=1.0, key=f"{P}_slippage")
        c1, c2 = st.columns(2)
        c1.radio(
            "Fill convention",
            list(FILLS),
            format_func=FILL_LABELS.get,
            key=f"{P}_fill",
            help="Signals are decided at the close of bar t. same_close is optimistic: use it only to "
            "measure fill sensitivity.",
        )
        c2.radio(
            "Sizing",
            ["fractional", "whole"],
            key=f"{P}_sizing",
            horizontal=True,
            format_func=lambda v: "fractional units" if v == "fractional" else "whole shares",
        )
        c1, c2, c3, c4 = st.columns(4)  # the sizing overlay (engine.sim.sizing); Kelly and ATR keep their defaults
        c1.selectbox("Sizing overlay", list(SIZING_METHODS), key=f"{P}_overlay", help="Resizes the strategy's weights.")
        c2.number_input("Target vol (% a year)", min_value=0.1, max_value=500.0, step=1.0, key=f"{P}_overlay_vol")
        c3.number_input("Vol lookback (bars)", min_value=2, max_value=2520, step=1, key=f"{P}_overlay_lookback")
        c4.number_input("Risk per trade (%)", min_value=0.01, max_value=100.0, step=0.25, key=f"{P}_overlay_risk")
        c1, c2, c3, _ = st.columns(4)  # financing (engine.config.Financing), charged per bar on the close's state
        c1.number_input("Cash rate (% a year)", min_value=-100.0, max_value=100.0, step=0.25, key=f"{P}_cash_rate")
        c2.number_input(
            "Borrow fee (bps a year)",
            min_value=0.0,
            max_value=10_000.0,
            step=25.0,
            key=f"{P}_borrow",
            help="Paid on the market value of every short, each bar.",
        )
        c3.number_input(
            "Margin rate (% a year)",
            min_value=-100.0,
            max_value=100.0,
            step=0.25,
            key=f"{P}_margin",
            placeholder="= cash rate",
            help="Paid on negative cash, each bar; empty = the cash rate.",
        )
    with st.expander("Rebalancing, leverage and stops", expanded=False):
        c1, c2, c3, c4 = st.columns(4)
        c1.selectbox(
            "Rebalance",
            list(REBALANCES),
            key=f"{P}_rebalance",
            help="on_change trades only when a target changes; a schedule also restores drifted weights.",
        )
        c2.number_input("Drift threshold (abs. weight)", min_value=0.0, max_value=10.0, step=0.01, key=f"{P}_drift")
        c3.number_input("Max leverage (sum |w|)", min_value=0.01, max_value=100.0, step=0.25, key=f"{P}_leverage")
        c4.number_input(
            "Per-position cap |w| (0 = none)", min_value=0.0, max_value=100.0, step=0.05, key=f"{P}_max_position"
        )
        c1, c2, c3, c4 = st.columns(4)
        c1.number_input("Stop-loss % (0 = off)", min_value=0.0, max_value=100.0, step=1.0, key=f"{P}_stop_loss")
        c2.number_input("Take-profit % (0 = off)", min_value=0.0, step=1.0, key=f"{P}_take_profit")
        c3.number_input("Trailing stop % (0 = off)", min_value=0.0, max_value=100.0, step=1.0, key=f"{P}_trailing")
        c4.selectbox(
            "Benchmark",
            [DEFAULT_BENCH, EQUAL_WEIGHT, *available],
            key=f"{P}_benchmark",
            format_func=lambda v: BENCH_LABELS.get(v, v),
            help="Buy-and-hold of this benchmark is shown beside the strategy; beta, alpha, tracking error, "
            "information ratio and up/down capture are measured against it.",
        )
        c1, _, _, _ = st.columns(4)
        c1.number_input(
            "Stop after N losing trades (0 = off)",
            min_value=0,
            max_value=1000,
            step=1,
            key=f"{P}_max_losses",
            help="The live risk rule in the backtest: after N losing trades in a row no new orders; positions "
            "are held and their stops still fire.",
        )


def _off(pct: float) -> float | None:
    return float(pct) / 100.0 if pct and pct > 0 else None


def build_request(
    state: Mapping[str, Any], params: Mapping[str, Any], timeframes: Sequence[str] = ()
) -> BacktestRequest:
    """The frozen request for what the form holds (its timeframe only when it is one of `timeframes`, the
    choices the form offered; event mode and execution: ui.event_form). Raises ConfigError / DataError naming what
    to fix."""
    g = state.get
    start, end = g(f"{P}_start"), g(f"{P}_end")
    bench = g(f"{P}_benchmark")
    config = BacktestConfig(
        initial_cash=float(g(f"{P}_cash")),
        costs=Costs(
            commission_bps=float(g(f"{P}_commission")),
            min_commission=float(g(f"{P}_min_commission")),
            slippage_bps=float(g(f"{P}_slippage")),
        ),
        risk=Risk(
            max_leverage=float(g(f"{P}_leverage")),
            max_position=float(g(f"{P}_max_position")) or None,
            stop_loss=_off(g(f"{P}_stop_loss")),
            take_profit=_off(g(f"{P}_take_profit")),
            trailing_stop=_off(g(f"{P}_trailing")),
        ),
        fill=g(f"{P}_fill"),
        fractional=g(f"{P}_sizing") == "fractional",
        rebalance=g(f"{P}_rebalance"),
        drift_threshold=float(g(f"{P}_drift")),
        benchmark=None if bench in (None, DEFAULT_BENCH) else bench,
        max_consecutive_losses=int(g(f"{P}_max_losses") or 0) or None,
        sizing=Sizing(
            method=g(f"{P}_overlay") or "none",
            target_vol=float(g(f"{P}_overlay_vol") or 10.0) / 100.0,
            lookback=int(g(f"{P}_overlay_lookback") or 63),
            risk_per_trade=float(g(f"{P}_overlay_risk") or 1.0) / 100.0,
        ),
        cash_rate=float(g(f"{P}_cash_rate") or 0.0) / 100.0,
        financing=Financing(
            borrow_bps=float(g(f"{P}_borrow") or 0.0),
            borrow_bps_by_symbol=dict(g(f"{P}_borrow_by_symbol") or {}),
            margin_rate=None if g(f"{P}_margin") is None else float(g(f"{P}_margin")) / 100.0,
        ),
    )
    return BacktestRequest(
        strategy=g(f"{P}_strategy"),
        params=dict(params),
        symbols=tuple(g(f"{P}_symbols") or ()),
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        config=config,
        timeframe=g(f"{P}_timeframe") if g(f"{P}_timeframe") in timeframes else None,
        **event_fields(state, P, intraday=bool(timeframes)),
    )
