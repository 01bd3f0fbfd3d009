"""The result of one saved run, drawn in tabs: shared by the Backtest page and the Runs page.

Tabs are lazy (`on_change="rerun"`): only the open tab builds its figures. Bars for the price and
correlation tabs come from the cached loader (the stored run holds results, not prices).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd
import streamlit as st

from engine.errors import EngineError
from engine.journal.frames import journal_table
from engine.metrics import registry
from engine.request import constraint_cuts
from engine.research.dca_report import dca_metrics
from engine.sim.benchmark import benchmark_label
from engine.store.runs import StoredRun
from ui import analytics, charts, data_cache, figure_theme, orders_view, price_view, tables
from ui.charts_journal import add_journal_markers
from ui.event_form import mode_label
from ui.report import metrics_frame, write_report

TABS = (
    "Overview",
    "Drawdown",
    "Prices & trades",
    "Calendar",
    "Rolling",
    "Exposure",
    "Contribution",
    "Correlation",
    "Trades",
    "Export",
)
ORDERS_TAB = "Orders"
"""The tab of an event run's order log, after Trades (a vectorized run has none)."""
HEADLINE = registry.HEADLINE
PLOTLY_CONFIG = {"displaylogo": False, "scrollZoom": True}


def format_metric(name: str, value: Any) -> str:
    """A metric for people (the registry's format): fractions as percentages, counts as integers, currency with
    separators, ratios with 3 decimals."""
    return registry.format_value(name, value)


MISSING = tables.BLANK


def format_params(params: Mapping[str, Any]) -> str:
    """Strategy parameters for a caption: "fast=10, slow=50" ("no parameters" when empty)."""
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "no parameters"


def styled_metrics(table: pd.DataFrame) -> Any:
    """A metrics table (rows = metric keys) with the registry's labels (units included) as row names and a
    format per row (percent, count, currency, ratio); values stay numbers. Missing values show as `MISSING`
    (draw it with `metrics_table`, which also sets st.dataframe's placeholder: the grid ignores a Styler's text
    for empty cells)."""

    def fmt(name: str) -> Any:
        return lambda v: format_metric(name, v) if v is not None and not pd.isna(v) else MISSING

    shown = tables.labelled_rows(table)
    styler = shown.style
    for i, name in enumerate(table.index):
        styler = styler.format(fmt(str(name)), subset=pd.IndexSlice[shown.index[i : i + 1], :], na_rep=MISSING)
    return styler


def metrics_table(table: pd.DataFrame, key: str, height: int | Literal["auto"] = "auto") -> None:
    """Draw a metrics table (rows = metric keys, columns = strategy/benchmark or runs), formatted per row, the
    rows named by their registry labels, and the metrics' definitions in an expander below it."""
    st.dataframe(
        styled_metrics(table),
        key=key,
        height=height,
        placeholder=MISSING,
        column_config={"_index": tables.metric_index_column(table.index)},
    )
    with st.expander("What these metrics mean", icon=":material/help:"):
        st.markdown(tables.definitions_markdown(table.index))


#: Trade-list headers that need more than underscores turned into spaces: the unit of P&L, returns, holding time.
TRADE_LABELS = {"pnl": "P&L (currency)", "return": "Return (%)", "bars_held": "Held (bars)"}


def _trade_columns(trades: pd.DataFrame) -> dict[str, Any]:
    """Column settings of the trade list: readable labels, bar times as dates (date and time when intraday),
    prices and quantities to 4 significant digits, P&L to cents, returns as percentages."""
    numbers = {"entry_price": "%.4g", "exit_price": "%.4g", "quantity": "%.4g", "pnl": "%.2f", "return": "percent"}
    config: dict[str, Any] = {}
    for col in trades.columns:
        label = TRADE_LABELS.get(str(col)) or str(col).replace("_", " ").capitalize()
        if col in ("entry_time", "exit_time"):
            times = pd.to_datetime(trades[col]).dropna()
            daily = bool((times == times.dt.normalize()).all())
            config[col] = st.column_config.DatetimeColumn(label, format="YYYY-MM-DD" if daily else "YYYY-MM-DD HH:mm")
        elif col in numbers:
            config[col] = st.column_config.NumberColumn(label, format=numbers[col])
        else:
            config[col] = st.column_config.Column(label)
    return config


def number_column(key: str) -> Any:
    """A st.column_config for metric `key`: its registry label, definition (tooltip) and format (a plain number
    column otherwise); see `ui.tables.metric_column`."""
    return tables.metric_column(key)


RUN_COLUMNS: dict[str, Any] = {
    "created_at": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm", timezone="UTC"),
    "start": st.column_config.DateColumn(format="YYYY-MM-DD"),
    "end": st.column_config.DateColumn(format="YYYY-MM-DD"),
    **{k: number_column(k) for k in registry.KEY_METRICS},
}


def runs_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """The run store's list with real timestamps (created_at in UTC, start/end as dates) for display and sort."""
    out = runs.copy()
    if "created_at" in out.columns:
        out["created_at"] = pd.to_datetime(out["created_at"], utc=True, format="ISO8601")
    for col in ("start", "end"):
        if col in out.columns:
            out[col] = pd.to_datetime(out[col], format="ISO8601").dt.date
    return out


def runs_table(runs: pd.DataFrame, columns: Sequence[str], key: str) -> None:
    """A table of saved runs (a `runs_frame`): dates as dates, fractions as percentages."""
    st.dataframe(
        runs[list(columns)],
        hide_index=True,
        key=key,
        placeholder=MISSING,
        column_config={c: RUN_COLUMNS[c] for c in columns if c in RUN_COLUMNS},
    )


def _chart(fig: Any, key: str) -> None:
    figure_theme.plotly_chart(fig, key, PLOTLY_CONFIG)  # in the viewer's dark or light theme


def _bars(run: StoredRun):
    r = run.request
    try:
        return data_cache.market_data(tuple(r.symbols), r.start, r.end, r.data_source, r.timeframe)
    except EngineError as e:
        st.warning(f"Price data for this run is not available any more: {e}")
        return None


def show_headline(run: StoredRun) -> None:
    """A row of st.metric cards: the strategy's key metrics (registry label with unit, definition as tooltip),
    with the difference to the benchmark in the metric's difference unit (pp for percentages)."""
    res = run.result
    cols = st.columns(len(HEADLINE))
    for col, name in zip(cols, HEADLINE):
        value = res.metrics.get(name)
        bench = res.benchmark_metrics.get(name)
        delta = None
        if name != "n_trades" and value is not None and bench is not None and not math.isnan(float(bench)):
            delta = f"{registry.format_difference(name, float(value) - float(bench))} vs benchmark"
        col.metric(registry.label(name), format_metric(name, value), delta=delta, help=registry.definition(name))


def costs_line(metrics: Mapping[str, float], fills: pd.DataFrame) -> str:
    """What the run paid and earned besides prices: total commission, then each financing line the run has
    (borrow fee, margin interest, cash interest: registry.FINANCING_METRICS, in its metrics when charged)."""
    paid = float(fills["commission"].sum()) if len(fills) else 0.0
    parts = [f"Commission (currency) {paid:,.2f}"]
    for m in registry.FINANCING_METRICS:
        if m.key in metrics:
            parts.append(f"{m.label} {registry.format_value(m.key, metrics[m.key])}")
    return "Costs: " + " · ".join(parts) + " (slippage is in the fill prices)."


def _dca_table(run: StoredRun, key: str) -> None:
    """What dollar-cost averagers read, per symbol: average cost and money-weighted return (registry metrics)."""
    data = _bars(run)
    if data is None:
        return
    table = dca_metrics(run.result, data, run.result.config.periods_per_year)
    st.markdown("**Dollar-cost averaging**, per symbol")
    invested = st.column_config.NumberColumn("Invested (currency)", format="accounting")
    tables.show(table, key=f"{key}_dca", column_config={**tables.metric_columns(table.columns), "invested": invested})


def _cuts_table(run: StoredRun, key: str) -> None:
    """The weights a constraint cut at each rebalance, for a strategy that reports them (portfolio_opt)."""
    try:
        cuts = constraint_cuts(run.request)
    except EngineError as e:
        st.error(str(e))
        return
    if cuts is None:
        return
    st.markdown(f"**Weights cut by a constraint**: {len(cuts)} (unconstrained weight, final weight, the constraint)")
    pct = st.column_config.NumberColumn(format="percent")
    tables.show(cuts, key=f"{key}_cuts", hide_index=True, column_config={"unconstrained": pct, "weight": pct})


def show_run(run: StoredRun, key: str = "rv") -> None:
    """Everything about one stored run: headline, then a tab per view."""
    res, req = run.result, run.request
    span = f"{res.equity.index[0]:%Y-%m-%d} .. {res.equity.index[-1]:%Y-%m-%d}" if len(res.equity) else ""
    st.caption(
        f"Run `{run.id}` · {res.strategy} ({format_params(res.params)}) · {', '.join(res.symbols)} · "
        f"{span} · {mode_label(req)} · fill {res.config.fill}{' (optimistic)' if res.config.fill == 'same_close' else ''} · "
        f"saved {run.created_at[:19].replace('T', ' ')} UTC"
    )
    show_headline(run)
    names = list(TABS)
    if res.orders is not None:  # an event run: its order log after the trades
        names.insert(names.index("Trades") + 1, ORDERS_TAB)
    t = dict(zip(names, st.tabs(names, key=f"{key}_tabs", on_change="rerun")))
    bench = res.benchmark
    bench_returns = bench.pct_change().fillna(0.0) if bench is not None else None
    with t["Overview"]:
        if t["Overview"].open:
            log = st.toggle("Log scale", key=f"{key}_log")
            equity = charts.equity_figure(
                res.equity, bench, log=log, benchmark_name=str(bench.name) if bench is not None else "Benchmark"
            )
            # the run's journal entries as markers on the curve (hover: note, tags, setup, state, P&L)
            _chart(add_journal_markers(equity, journal_table(run_id=run.id), y=res.equity), f"{key}_equity")
            metrics_table(metrics_frame(res), key=f"{key}_metrics", height=560)
            st.caption(
                f"Annualized metrics use {res.config.periods_per_year:g} bars a year; benchmark: "
                f"{benchmark_label(bench) or 'none'} (bought at the start and held)."
            )
            st.caption(costs_line(res.metrics, res.fills))
            if res.strategy == "dca":
                _dca_table(run, key)
    with t["Drawdown"]:
        if t["Drawdown"].open:
            _chart(charts.drawdown_figure(res.equity, bench), f"{key}_dd")
    with t["Prices & trades"]:
        if t["Prices & trades"].open:
            data = _bars(run)
            if data is not None:
                price_view.show_prices(run, data, key, PLOTLY_CONFIG)
    with t["Calendar"]:
        if t["Calendar"].open:
            _chart(charts.monthly_heatmap_figure(res.returns), f"{key}_monthly")
            _chart(charts.yearly_returns_figure(res.returns, bench_returns), f"{key}_yearly")
    with t["Rolling"]:
        if t["Rolling"].open:
            window = st.select_slider("Window (bars)", [21, 63, 126, 252, 504], value=126, key=f"{key}_win")
            _chart(
                charts.rolling_figure(res.returns, window, res.config.periods_per_year, bench_returns), f"{key}_rolling"
            )
    with t["Exposure"]:
        if t["Exposure"].open:
            _chart(charts.weights_figure(res.weights), f"{key}_weights")
            _cuts_table(run, key)
    with t["Contribution"]:
        if t["Contribution"].open:
            data = _bars(run)
            if data is not None:
                last = data.close.ffill().iloc[-1]
                contrib = analytics.symbol_contribution(res.fills, res.positions, last)
                _chart(charts.contribution_figure(contrib), f"{key}_contrib")
    with t["Correlation"]:
        if t["Correlation"].open:
            data = _bars(run)
            if data is not None and len(data.symbols) > 1:
                _chart(charts.correlation_figure(analytics.return_correlation(data.close)), f"{key}_corr")
            elif data is not None:
                st.info("Correlation needs two or more symbols.")
    with t["Trades"]:
        if t["Trades"].open:
            st.dataframe(
                res.trades,
                key=f"{key}_trades",
                hide_index=True,
                placeholder=MISSING,
                column_config=_trade_columns(res.trades),
            )
            st.download_button(
                "Download trades (CSV)",
                res.trades.to_csv(index=False),
                f"trades_{run.id}.csv",
                "text/csv",
                key=f"{key}_trades_csv",
                on_click="ignore",
            )
    if ORDERS_TAB in t:
        with t[ORDERS_TAB]:
            if t[ORDERS_TAB].open:
                orders_view.show_orders(run, key)
    with t["Export"]:
        if t["Export"].open:
            st.write(
                "A self-contained HTML report (figures, metrics, configuration, trades), saved in the "
                "workspace's artifacts folder."
            )
            st.download_button(
                "Download HTML report",
                lambda: write_report(res, req, run.id).read_bytes(),
                f"ivybt_report_{run.id}.html",
                "text/html",
                key=f"{key}_report",
                on_click="ignore",
            )
