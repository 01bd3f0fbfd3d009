"""The trades a journal describes and their real P&L: a saved backtest's trade list (the run store) and the live
fills IvyBT executed (the audit log's filled orders, keyed by client_order_id), with the P&L of the round trips
each fill is part of (engine.ops.round_trips: FIFO per symbol within one account).

A live fill's P&L: a fill that closes (part of) a position carries the P&L of that round trip; a fill that opened
it carries the P&L of the round trips whose oldest lot it was (so "why I bought" is judged by how the trade
ended); a fill whose position is still open has no P&L yet (NaN; statistics count it apart). A backtest trade's
P&L is the run's own (an "open" trade at the end is marked at the last close, as in the run).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from engine.errors import ConfigError, EngineError
from engine.journal.model import Entry, Target, backtest_target, live_target
from engine.ops.audit_log import AuditLog
from engine.ops.round_trips import round_trips
from engine.store.runs import RunStore

FILL_COLUMNS: tuple[str, ...] = (
    "fill_id",
    "broker",
    "account_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "time",
    "pnl",
)


def backtest_trades(run_id: str, runs: RunStore | None = None) -> pd.DataFrame:
    """The run's trade list (engine.sim.result.TRADE_COLUMNS), indexed by trade number ("trade", from 0)."""
    trades = (runs or RunStore()).load_frame(run_id, "trades").reset_index(drop=True)
    trades.index.name = "trade"
    return trades


def live_fills(audit: AuditLog | None = None, broker: str | None = None) -> pd.DataFrame:
    """Every filled order in the audit log (FILL_COLUMNS, oldest first, indexed from 0): fill_id is its
    client_order_id, price the average fill price, time the last fill's time (UTC), account_id from its plan,
    pnl as the module says. `broker`: only that broker's fills."""
    log = audit or AuditLog()
    res = log.order_results(limit=10_000_000)
    res = res[(res["filled_quantity"] > 0) & res["avg_fill_price"].notna()]
    if broker:
        res = res[res["broker"] == broker]
    if res.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="float64" if c in ("quantity", "price", "pnl") else "object") for c in FILL_COLUMNS}
        )
    accounts = {pid: str((log.plan(pid) or {}).get("account_id") or "") for pid in res["plan_id"].unique()}
    when = res["filled_at"].where(res["filled_at"].notna(), res["updated_at"])
    fills = pd.DataFrame(
        {
            "fill_id": res["client_order_id"].astype(str),
            "broker": res["broker"].astype(str),
            "account_id": res["plan_id"].map(accounts).astype(str),
            "symbol": res["symbol"].astype(str),
            "side": res["side"].astype(str),
            "quantity": res["filled_quantity"].astype(float),
            "price": res["avg_fill_price"].astype(float),
            "time": pd.to_datetime(when, utc=True, format="ISO8601"),
        }
    )
    fills = fills.sort_values("time", kind="stable").reset_index(drop=True)
    fills["pnl"] = math.nan
    for _, book in fills.groupby(["broker", "account_id"], sort=False):
        fills.loc[book.index, "pnl"] = _fill_pnl(book)
    fills.index.name = "fill"
    return fills


def _fill_pnl(book: pd.DataFrame) -> pd.Series:
    """P&L of the round trips each fill of one account is part of (closing it, or as its oldest lot).

    round_trips keys a trade by the times of its closing fill and its oldest lot: given each fill's row number
    as its time, those times name the fills exactly."""
    ranked = book.assign(time=range(len(book)))
    trips = round_trips(ranked[["symbol", "side", "quantity", "price", "time"]])
    pnl = pd.Series(0.0, index=range(len(book)))
    seen = pd.Series(False, index=range(len(book)))
    for trip in trips.itertuples():
        for rank in {int(trip.exit_time), int(trip.entry_time)}:
            pnl[rank] += float(trip.pnl)
            seen[rank] = True
    out = pnl.where(seen, math.nan)
    out.index = book.index
    return out


def backtest_trade(run_id: str, trade_index: int, runs: RunStore | None = None) -> tuple[Target, pd.Series]:
    """The target and trade row of trade `trade_index` of a saved run (a unique id prefix will do): a ConfigError
    names a trade number the run does not have."""
    store = runs or RunStore()
    full = store.load(run_id).id
    trades = backtest_trades(full, store)
    target = backtest_target(full, trade_index)
    if target.trade_index is None or target.trade_index >= len(trades):
        raise ConfigError(
            f"journal: run {full[:8]} has {len(trades)} trade(s) (numbered 0 to {len(trades) - 1}); "
            f"there is no trade {trade_index}"
        )
    return target, trades.iloc[target.trade_index]


def live_fill(fill_id: str, broker: str | None = None, audit: AuditLog | None = None) -> tuple[Target, pd.Series]:
    """The target and row of a filled order by client_order_id (and broker, if given); a ConfigError when the
    audit log has no such fill."""
    fills = live_fills(audit, broker)
    match = fills[fills["fill_id"] == str(fill_id).strip()]
    if match.empty:
        where = f" of broker {broker!r}" if broker else ""
        raise ConfigError(f"journal: no filled order{where} with client_order_id {fill_id!r} in the audit log")
    row = match.iloc[0]
    return live_target(row["broker"], row["fill_id"], row["account_id"]), row


def trade_facts(entries: Sequence[Entry], runs: RunStore | None = None, audit: AuditLog | None = None) -> pd.DataFrame:
    """Per entry (indexed by entry id, in the given order): `pnl`, the real P&L of its trade (NaN: a live
    position still open, or a trade no longer found, e.g. its run was deleted), and `price`, the trade's entry
    price (backtest) or the fill's price (live). Each run and the audit log are read once."""
    by_run: dict[str, pd.DataFrame | None] = {}
    fills: pd.DataFrame | None = None
    rows: list[tuple[float, float]] = []
    for entry in entries:
        t = entry.target
        pnl, price = math.nan, math.nan
        if t.kind == "backtest":
            if t.run_id not in by_run:
                by_run[t.run_id] = _trades_or_none(t.run_id, runs)
            trades = by_run[t.run_id]
            if trades is not None and t.trade_index is not None and t.trade_index < len(trades):
                trade = trades.iloc[t.trade_index]
                pnl, price = float(trade["pnl"]), float(trade["entry_price"])
        else:
            if fills is None:
                fills = live_fills(audit)
            hit = fills[(fills["fill_id"] == t.fill_id) & (fills["broker"] == t.broker)]
            if not hit.empty:
                pnl, price = float(hit["pnl"].iloc[0]), float(hit["price"].iloc[0])
        rows.append((pnl, price))
    index = pd.Index([e.id for e in entries], name="id")
    return pd.DataFrame(rows, columns=["pnl", "price"], index=index, dtype="float64")


def entry_pnl(entries: Sequence[Entry], runs: RunStore | None = None, audit: AuditLog | None = None) -> list[float]:
    """The real P&L of each entry's trade (`trade_facts`' pnl, as a list in the entries' order)."""
    return [float(v) for v in trade_facts(entries, runs, audit)["pnl"]]


def _trades_or_none(run_id: str, runs: RunStore | None) -> pd.DataFrame | None:
    try:
        return backtest_trades(run_id, runs)
    except EngineError:  # the run was deleted, or has no trade list: its entries keep no P&L
        return None
