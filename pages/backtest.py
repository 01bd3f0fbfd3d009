"""Backtest: a form -> one `BacktestRequest` -> `run_request` -> saved run -> result tabs.

Session state holds only the id of the run on screen (also in the URL as ?run=<id>); the run itself is in
the run store, so a browser reload shows it again.
"""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from engine.orders.errors import BrokerError
from engine.request import run_request
from engine.store.presets import Preset, list_presets, load_preset, save_preset
from engine.strategies.registry import list_strategies, load_errors, params_class
from ui import data_cache
from ui.backtest_form import P, build_request, config_inputs, data_inputs, fill_state, seed_defaults, symbol_input
from ui.event_form import check_strategy, execution_inputs, mode_input, strategy_labels
from ui.result_view import show_run
from ui.run_warnings import show_warnings
from ui.shell import ensure_navigation
from ui.state import current_run_id, load_current_run, run_store, run_title, set_current_run
from ui.widgets import import_uploads, param_inputs

ensure_navigation()

st.title("Backtest")

strategies = list_strategies()
labels = strategy_labels(strategies)  # the weights strategies, then the event strategies (marked)
for file, reason in load_errors().items():
    st.warning(f"User strategy file {file} was skipped: {reason}")


def _load_preset(available: list[str]) -> None:
    name = st.session_state.get(f"{P}_preset")
    if not name:
        return
    try:
        request = load_preset(name).to_request()
    except EngineError as e:
        st.session_state[f"{P}_flash"] = ("error", f"Preset {name!r} cannot be loaded: {e}")
        return
    fill_state(st.session_state, request, available)
    missing = [s for s in request.symbols if s not in available]
    note = f" (not available here, left out: {', '.join(missing)})" if missing else ""
    st.session_state[f"{P}_flash"] = ("success", f"Loaded preset {name!r}{note}.")


def _edit_run(run_id: str, available: list[str]) -> None:
    try:
        fill_state(st.session_state, run_store().load(run_id).request, available)
    except EngineError as e:
        st.session_state[f"{P}_flash"] = ("error", str(e))


def _imported(symbols: list[str]) -> None:
    data_cache.clear()
    selected = st.session_state.get(f"{P}_symbols", [])
    st.session_state[f"{P}_symbols"] = list(dict.fromkeys([*selected, *symbols]))


with st.expander("Add data: import CSV or Parquet files into the workspace"):
    import_uploads("Files (SYMBOL.csv / SYMBOL.parquet)", key=f"{P}_upload", on_import=_imported)

available = data_cache.symbols()
if not available:
    st.error("No market data found: import a CSV/Parquet file above or on the Data page.")
    st.stop()
seed_defaults(st.session_state, available, "sma_cross" if "sma_cross" in strategies else next(iter(strategies)))

with st.expander("Backtest settings", expanded=not current_run_id(), icon=":material/tune:"):
    c1, c2, c3 = st.columns([3, 3, 1], vertical_alignment="bottom")
    c1.selectbox(
        "Strategy",
        list(labels),
        key=f"{P}_strategy",
        format_func=lambda n: labels.get(n, n),
    )
    c2.selectbox("Preset", [""] + list_presets(), key=f"{P}_preset", format_func=lambda n: n or "(choose a preset)")
    c3.button("Load preset", on_click=_load_preset, args=(available,), key=f"{P}_preset_load")
    flash = st.session_state.pop(f"{P}_flash", None)
    if flash:
        (st.error if flash[0] == "error" else st.success)(flash[1])

    strategy = st.session_state[f"{P}_strategy"]
    mode = mode_input(P, strategy)  # forced to event for an event strategy
    symbol_input(available)
    timeframes = data_cache.timeframes(tuple(st.session_state.get(f"{P}_symbols") or ()))
    with st.form(f"{P}_form"):
        data_inputs(timeframes)
        st.markdown(f"**Parameters of {strategy}**")
        params = param_inputs(strategy, params_class(strategy), P)
        if mode == "event":
            execution_inputs(P, intraday=bool(timeframes))
        config_inputs(available)
        submitted = st.form_submit_button("Run backtest", type="primary", key=f"{P}_run")

if submitted:
    try:
        request = build_request(st.session_state, params, timeframes)
        check_strategy(request)  # bad parameters fail here, before any status box
        with st.status("Running backtest ...", expanded=False) as status:
            try:
                result = run_request(request)
                status.update(label="Saving the run ...")
                run_id = run_store().save(result, request)
            except (EngineError, BrokerError):  # BrokerError: the event simulator refusing an order
                status.update(label="Backtest failed", state="error")
                raise
            status.update(label=f"Backtest done: run {run_id}", state="complete")
        set_current_run(run_id)
    except (EngineError, BrokerError) as e:
        st.error(f"Cannot run this backtest: {e}. Fix the input above and run again.")

run = load_current_run()
if run is None:
    st.info(
        "No run yet in this session: pick symbols and a strategy, then press **Run backtest**. "
        "Stored runs (batch jobs, earlier sessions) open from the **Runs** page."
    )
    st.stop()

st.divider()
st.subheader(run_title(run))
show_warnings(run.result)  # e.g. a hole in a symbol's data
stop = run.result.stopped
if stop is not None:
    st.warning(
        f"Trading stopped on {stop.date}: {stop.reason}. No new orders after it; positions held, stops active.",
        icon=":material/block:",
    )
with st.popover("Save as preset / edit settings"):
    st.button("Copy this run's settings into the form", on_click=_edit_run, args=(run.id, available), key=f"{P}_edit")
    name = st.text_input("Preset name", key=f"{P}_preset_name", placeholder="e.g. spy_sma_10_50")
    overwrite = st.checkbox("Overwrite if it exists", key=f"{P}_preset_overwrite")
    if st.button("Save preset", key=f"{P}_preset_save", disabled=not name):
        try:
            path = save_preset(Preset.from_request(name, run.request), overwrite=overwrite)
            st.success(f"Saved preset {name!r} to {path}")
        except EngineError as e:
            st.error(f"Preset not saved: {e}")
show_run(run, key=P)
