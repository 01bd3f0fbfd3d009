"""The Backtest form's event mode: the strategy list with the event strategies marked, the Mode control, the
execution fields (latency, volume cap) and their place in a `BacktestRequest` (mode, execution).

An event strategy (engine.strategies.registry.EVENT_BUILTINS) runs in event mode only: the Mode control shows
Event and cannot be changed. A weights strategy runs vectorized (the default) or, chosen, in event mode: its
targets become orders bar by bar (engine.strategies.weights_as_events). Widget keys take the form's prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import streamlit as st

from engine.request import BacktestRequest
from engine.sim.event.settings import Execution
from engine.strategies.registry import EVENT_BUILTINS, create_event_strategy, create_strategy, is_event_strategy

MODES = ("vectorized", "event")
MODE_LABELS = {"vectorized": "Vectorized (target weights)", "event": "Event (orders bar by bar)"}
EVENT_MARK = " [event strategy]"
"""What follows an event strategy's name in the strategy list."""


def strategy_labels(weights: Mapping[str, Any]) -> dict[str, str]:
    """Name -> label of every strategy the form offers: the weights strategies (`list_strategies()`), then the
    event strategies, each marked with EVENT_MARK."""

    def label(name: str, cls: Any) -> str:
        return f"{name} - {cls.description}" if getattr(cls, "description", "") else name

    out = {name: label(name, cls) for name, cls in weights.items()}
    for name, cls in EVENT_BUILTINS.items():
        out.setdefault(name, label(name, cls) + EVENT_MARK)
    return out


def event_defaults(prefix: str) -> dict[str, Any]:
    """The first values of the event-mode widgets: vectorized, no latency, no volume cap."""
    return {
        f"{prefix}_mode": "vectorized",
        f"{prefix}_latency_bars": 0,
        f"{prefix}_latency_seconds": 0.0,
        f"{prefix}_participation": 0.0,
    }


def mode_input(prefix: str, strategy: str) -> str:
    """The Mode control (outside the form: the execution fields depend on it); returns the mode in force."""
    if is_event_strategy(strategy):
        st.radio(
            "Mode",
            list(MODES),
            index=1,
            format_func=MODE_LABELS.get,
            horizontal=True,
            disabled=True,
            key=f"{prefix}_mode_forced",
        )
        st.caption(f"{strategy} is an event strategy: it places orders bar by bar and runs in event mode only.")
        return "event"
    return str(
        st.radio(
            "Mode",
            list(MODES),
            format_func=MODE_LABELS.get,
            horizontal=True,
            key=f"{prefix}_mode",
            help="Vectorized: target weights filled by the fast kernel (the default). Event: the same targets as "
            "orders bar by bar, the stops as resting orders, with latency and a volume cap.",
        )
    )


def execution_inputs(prefix: str, intraday: bool) -> None:
    """Latency in bars, in seconds (intraday data only) and the volume participation cap (inside the form)."""
    st.markdown("**Event execution**")
    c1, c2, c3 = st.columns(3)
    c1.number_input(
        "Latency (bars)",
        min_value=0,
        max_value=10_000,
        step=1,
        key=f"{prefix}_latency_bars",
        help="Extra bars between a decision and the first bar its order may fill (0: from the next bar's open).",
    )
    if intraday:
        c2.number_input(
            "Latency (seconds)",
            min_value=0.0,
            max_value=86_400.0 * 30,
            step=1.0,
            key=f"{prefix}_latency_seconds",
            help="An order fills at the open of the first bar starting at or after its arrival; the larger of "
            "this and the latency in bars is used.",
        )
    c3.number_input(
        "Participation cap (% of a bar's volume, 0 = none)",
        min_value=0.0,
        max_value=100.0,
        step=1.0,
        key=f"{prefix}_participation",
        help="The largest share of a bar's volume one symbol's fills may take; the rest stays open (partial fills).",
    )


def event_fields(state: Mapping[str, Any], prefix: str, intraday: bool) -> dict[str, Any]:
    """The request's `mode` and `execution` for what the form holds ({} for a vectorized run). An event strategy
    leaves mode None (event by itself); execution is None when it has no latency and no cap; the latency in
    seconds counts on intraday data only (the form shows it only there)."""
    g = state.get
    event_strategy = is_event_strategy(str(g(f"{prefix}_strategy")))
    if not event_strategy and g(f"{prefix}_mode") != "event":
        return {}
    participation = float(g(f"{prefix}_participation") or 0.0)
    execution = Execution(
        latency_bars=int(g(f"{prefix}_latency_bars") or 0),
        latency_seconds=float(g(f"{prefix}_latency_seconds") or 0.0) if intraday else 0.0,
        participation=participation / 100.0 if participation > 0 else None,
    )
    return {"mode": None if event_strategy else "event", "execution": None if execution == Execution() else execution}


def fill_event_state(state: MutableMapping[str, Any], request: BacktestRequest, prefix: str) -> None:
    """Write a request's mode and execution into the widgets' state (a preset or a stored run)."""
    ex = request.execution or Execution()
    state.update(
        {
            f"{prefix}_mode": "event" if request.mode == "event" else "vectorized",
            f"{prefix}_latency_bars": int(ex.latency_bars),
            f"{prefix}_latency_seconds": float(ex.latency_seconds),
            f"{prefix}_participation": 0.0 if ex.participation is None else float(ex.participation) * 100.0,
        }
    )


def check_strategy(request: BacktestRequest) -> None:
    """Build the request's strategy once, so bad parameters fail before a run starts (ConfigError naming them)."""
    if is_event_strategy(request.strategy):
        create_event_strategy(request.strategy, request.params)
    else:
        create_strategy(request.strategy, request.params)


def mode_label(request: BacktestRequest) -> str:
    """How a run ran, for its caption: "vectorized", or "event mode" with its latency and volume cap."""
    if not request.is_event:
        return "vectorized"
    ex = request.execution
    parts = []
    if ex is not None and ex.latency_bars:
        parts.append(f"latency {ex.latency_bars} bar{'s' if ex.latency_bars != 1 else ''}")
    if ex is not None and ex.latency_seconds:
        parts.append(f"latency {ex.latency_seconds:g} s")
    if ex is not None and ex.participation is not None:
        parts.append(f"at most {ex.participation * 100:g} % of a bar's volume")
    return "event mode" + (f" ({', '.join(parts)})" if parts else "")
