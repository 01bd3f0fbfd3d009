"""The Screener page's helpers: the universe and column choices, running a screen from the widgets, the ranked
table (through ui.tables.show, metric columns labelled from the registry), the CSV download, saving the universe
or the result as a watchlist, the clustered correlation heatmap and the schedule form."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from engine.batch.screen_schedules import ScreenScheduleStore
from engine.data import available_symbols
from engine.errors import EngineError
from engine.metrics import registry
from engine.research.screen import ScreenResult, ScreenSpec, run_screen
from engine.research.screen_columns import INDICATORS, regime_available
from engine.research.screen_correlation import clustered_correlation
from engine.store.watchlists import PREFIX, WatchlistStore
from engine.strategies.registry import list_strategies
from ui import tables
from ui.charts_screen import correlation_heatmap
from ui.figure_theme import plotly_chart

SYMBOLS, WATCHLIST = "Symbols", "Watchlist"
SOURCES: tuple[str, ...] = (SYMBOLS, WATCHLIST)
DEFAULT_SYMBOLS: tuple[str, ...] = ("SPY", "QQQ", "IWM", "DIA", "TLT", "GLD", "XLE", "XLF", "XLK", "XLV")
DEFAULT_RANK = "momentum_126"
RESULT_KEY = "sc_result"


def column_choices() -> list[str]:
    """Column keys offered in the pickers: indicators at their default window, screenable metrics, today's
    signal of each strategy, and the regime when its module is installed."""
    keys = ["close", *(f"{name}_{ind.default}" for name, ind in INDICATORS.items())]
    keys += [m.key for m in registry.METRICS if m.kind in ("curve", "benchmark")]
    keys += [f"signal:{name}" for name in list_strategies()]
    if regime_available():
        keys.append("regime")
    return keys


def bundled_symbols() -> list[str]:
    try:
        return available_symbols()
    except EngineError:
        return list(DEFAULT_SYMBOLS)


def watchlist_names() -> list[str]:
    return WatchlistStore().names()


def universe_items(source: str, symbols: Sequence[str], typed: str, watchlist: str | None) -> list[str]:
    """The spec's symbols: the picked and typed symbols, or `watchlist: NAME`."""
    if source == WATCHLIST:
        return [f"{PREFIX} {watchlist}"] if watchlist else []
    extra = [s.strip().upper() for s in typed.replace(" ", ",").split(",") if s.strip()]
    return list(dict.fromkeys([*symbols, *extra]))


def filter_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def run(spec: ScreenSpec) -> ScreenResult | None:
    """Run the screen; an engine error is shown on the page (one line) and gives None."""
    try:
        return run_screen(spec)
    except EngineError as e:
        st.error(str(e))
        return None


def header(key: str) -> str:
    """A column's header: the registry label for a metric key, the key itself otherwise."""
    base = key.rsplit("_", 1)[0] if key not in registry.KEYS else key
    if key in registry.KEYS:
        return registry.label(key)
    if base in registry.KEYS:
        return f"{registry.label(base)}, {key.rsplit('_', 1)[1]} bars"
    return key


def show_table(result: ScreenResult) -> None:
    """The ranked table, sortable by clicking a header; metric columns labelled from the registry."""
    table = result.table.copy()
    config = {c: st.column_config.Column(header(str(c))) for c in table.columns if header(str(c)) != c}
    tables.show(table, column_config=config, width="stretch")


def csv_bytes(result: ScreenResult) -> bytes:
    return result.table.to_csv(index_label="symbol").encode()


def save_watchlist(name: str, symbols: Sequence[str]) -> None:
    try:
        saved = WatchlistStore().save(name, symbols)
    except EngineError as e:
        st.error(str(e))
        return
    st.success(f"Saved watchlist {saved.name}: {', '.join(saved.symbols)}")


def correlation(result: ScreenResult, lookback: int) -> None:
    """The clustered correlation heatmap of the screen's universe (bars up to its as-of date)."""
    from engine.research.screen import load_universe

    try:
        clustered = clustered_correlation(load_universe(result.spec), lookback)
    except EngineError as e:
        st.info(str(e))
        return
    plotly_chart(correlation_heatmap(clustered, lookback), key="sc_corr", config={"displaylogo": False})


def schedule_form(spec: ScreenSpec) -> None:
    """Schedule this screen on the worker: every N minutes or daily at a time; alerts name entered/left symbols."""
    with st.form("sc_schedule"):
        name = st.text_input("Name", key="sc_sched_name")
        how = st.radio("When", ("Every N minutes", "Daily at a time"), horizontal=True, key="sc_sched_how")
        every = st.number_input("Minutes", min_value=1, value=60, step=1, key="sc_sched_every")
        at = st.text_input("Time of day (HH:MM)", value="16:30", key="sc_sched_at")
        tz = st.text_input("Time zone", value="America/New_York", key="sc_sched_tz")
        if not st.form_submit_button("Schedule"):
            return
    try:
        minutes = int(every) if how == "Every N minutes" else None
        s = ScreenScheduleStore().add(name, spec, every_minutes=minutes, at=None if minutes else at, tz=tz)
    except EngineError as e:
        st.error(str(e))
        return
    st.success(f"Scheduled screen {s.id}: {s.name}, {s.when()}; a running worker alerts when symbols enter or leave")


def schedules_frame() -> pd.DataFrame:
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "rank": s.spec.rank,
            "when": s.when(),
            "last status": s.last_status,
            "last result": s.last_message,
        }
        for s in ScreenScheduleStore().list()
    ]
    return pd.DataFrame(rows).set_index("id") if rows else pd.DataFrame()
