"""Helpers of the Journal page: the trades of the chosen source (a saved run, or a broker's live fills) with their
journal columns, the tag / setup filter, labels, the equity chart with journal markers, and saving the form.

Pure functions (no st.* calls): the page reads widgets and draws; the engine (engine.journal) checks and stores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import pandas as pd
import plotly.graph_objects as go

from engine.data import MarketData
from engine.errors import EngineError
from engine.figures.equity import equity_figure
from engine.journal.model import STATES, Entry, Target, backtest_target, live_target
from engine.journal.store import JournalStore
from engine.store.runs import StoredRun
from ui import charts_price, price_view
from ui.charts_journal import add_journal_markers

BACKTEST, LIVE = "A backtest run", "Live fills"
SOURCES: tuple[str, ...] = (BACKTEST, LIVE)
NO_STATE = "not set"
STATE_CHOICES: tuple[int | str, ...] = (NO_STATE, *STATES)
SCALE_TEXT = ", ".join(f"{k} {v}" for k, v in STATES.items())
BACKTEST_COLUMNS = ["symbol", "side", "entry_time", "exit_time", "quantity", "pnl", "return", "exit_reason"]
LIVE_COLUMNS = ["fill_id", "symbol", "side", "quantity", "price", "time", "account_id", "pnl"]
JOURNAL_COLUMNS = ["journal", "setup", "state", "tags"]


class Upload(Protocol):
    """What st.file_uploader returns (name and bytes)."""

    name: str

    def getvalue(self) -> bytes: ...


def state_text(choice: int | str) -> str:
    return NO_STATE if choice == NO_STATE else f"{choice} {STATES[int(choice)]}"


def run_label(row: Any) -> str:
    """ "name-or-strategy · symbols · id · created" for a row of RunStore.list()."""
    title = row["name"] if isinstance(row["name"], str) and row["name"] else row["strategy"]
    return f"{title} · {row['symbols']} · {row['id'][:8]} · {str(row['created_at'])[:16]}"


def trade_rows(trades: pd.DataFrame, journal: pd.DataFrame, source: str) -> pd.DataFrame:
    """The source's trades (one row per backtest trade, or per live fill), each with its journal entry's number,
    setup, state and tags ("" when the trade has none), indexed as `trades` is (trade / fill number)."""
    cols = BACKTEST_COLUMNS if source == BACKTEST else LIVE_COLUMNS
    shown = trades[[c for c in cols if c in trades.columns]].copy()
    if source == BACKTEST:
        keyed = journal.dropna(subset=["trade_index"])
        records = zip(keyed.index, keyed.to_dict("records"), strict=True)
        by_trade: dict[Any, tuple[Any, dict[str, Any]]] = {int(r["trade_index"]): (eid, r) for eid, r in records}
        keys: list[Any] = list(shown.index)
    else:
        by_trade = {r["fill_id"]: (eid, r) for eid, r in zip(journal.index, journal.to_dict("records"), strict=True)}
        keys = list(shown["fill_id"])
    found = [by_trade.get(k) for k in keys]
    shown["journal"] = [f"#{f[0]}" if f else "" for f in found]
    shown["setup"] = [f[1]["setup"] if f else "" for f in found]
    shown["state"] = [f[1]["state_label"] if f else "" for f in found]
    shown["tags"] = [", ".join(f[1]["tags"]) if f else "" for f in found]
    return shown


def filter_rows(rows: pd.DataFrame, tags: Iterable[str], setup: str | None, journaled_only: bool) -> pd.DataFrame:
    """Rows whose entry carries every one of `tags` and is of `setup` (case-insensitive); `journaled_only`: only
    journaled trades (implied by a tag or setup filter)."""
    wanted = {t.lower() for t in tags}
    keep = pd.Series(True, index=rows.index)
    if journaled_only or wanted or setup:
        keep &= rows["journal"] != ""
    if wanted:
        keep &= rows["tags"].map(lambda s: wanted <= {t.strip().lower() for t in s.split(",") if t.strip()})
    if setup:
        keep &= rows["setup"].str.lower() == setup.lower()
    return rows[keep]


def trade_label(number: Any, row: pd.Series, source: str) -> str:
    """How a trade is named in the form's picker."""
    pnl = row.get("pnl")
    money = "open" if pnl is None or (isinstance(pnl, float) and math.isnan(pnl)) else f"P&L {pnl:,.2f}"
    mark = f" · {row['journal']}" if row.get("journal") else ""
    if source == BACKTEST:
        return f"#{number} {row['symbol']} {row['side']} {str(row['entry_time'])[:10]} · {money}{mark}"
    return f"{row['fill_id']} · {row['side']} {row['quantity']:g} {row['symbol']} · {money}{mark}"


def target_of(source: str, number: Any, row: pd.Series, run_id: str = "") -> tuple[Target, str, str]:
    """(target, symbol, trade time ISO) of a picked trade."""
    if source == BACKTEST:
        when = row["entry_time"]
        return backtest_target(run_id, int(number)), str(row["symbol"]), _iso(when)
    return live_target(row["broker"], row["fill_id"], row.get("account_id", "")), str(row["symbol"]), _iso(row["time"])


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def save_entry(
    store: JournalStore,
    target: Target,
    symbol: str,
    trade_time: str,
    notes: str,
    tags: Sequence[str],
    setup: str | None,
    state: int | str,
    uploads: Sequence[Upload] | None,
) -> Entry:
    """Save the form: the engine checks every value and screenshot (ConfigError names what it refused)."""
    return store.save(
        target,
        symbol=symbol,
        trade_time=trade_time,
        notes=notes,
        tags=tags,
        setup=setup or "",
        state=None if state == NO_STATE else state,
        screenshots=[(u.name, u.getvalue()) for u in uploads or ()],
    )


def journal_equity_figure(equity: pd.Series, journal: pd.DataFrame, title: str = "Equity") -> go.Figure:
    """The equity curve with one marker per journal entry (hover: the entry)."""
    fig = equity_figure(equity, title=title)
    return add_journal_markers(fig, journal, y=equity)


def journal_price_figure(run: StoredRun, data: MarketData, symbol: str, journal: pd.DataFrame) -> go.Figure:
    """The run's price chart of `symbol` (ui.price_view: candles, lines, trades, stops) with one marker per
    journal entry on that symbol, at its trade's entry price."""
    try:
        fig = price_view.price_chart(run, data, symbol)
    except EngineError:  # a user strategy that no longer loads: the chart without its lines and stops
        bars = pd.DataFrame({f: data.field(f)[symbol] for f in ("open", "high", "low", "close", "volume")})
        trades = run.result.trades[run.result.trades["symbol"].astype(str) == symbol]
        fig = charts_price.price_figure(bars, symbol, trades)
    return add_journal_markers(fig, journal, symbol=symbol, row=1, col=1)


def stats_view(stats: pd.DataFrame) -> pd.DataFrame:
    """The statistics table as shown: win rate in percent, money rounded to cents."""
    shown = stats.copy()
    shown["win_rate"] = shown["win_rate"] * 100
    return shown.rename(columns={"win_rate": "win_rate_%"}).round(2)
