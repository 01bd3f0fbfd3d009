"""Closed round trips of a broker account from the audit log's filled orders (FIFO per symbol), and the
trailing run of losing ones: the input of the consecutive-losses rule (engine.ops.risk)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from engine.ops.audit_log import AuditLog

TRADE_FIELDS = ("symbol", "side", "quantity", "entry_price", "exit_price", "entry_time", "exit_time", "pnl")


def round_trips(fills: pd.DataFrame) -> pd.DataFrame:
    """Closed round trips, FIFO per symbol, from fills (columns symbol, side "buy"/"sell", quantity > 0, price,
    time; in time order). Each closing lot is matched against the oldest open lots; a trade row is one closing
    fill: symbol, side of the position ("long"/"short"), quantity closed, entry_price (FIFO average of the lots
    it closed), exit_price, entry_time (oldest lot), exit_time, pnl. Sorted by exit_time."""
    rows: list[tuple[Any, ...]] = []
    lots: dict[str, list[list[Any]]] = {}  # symbol -> [signed qty, price, time]
    for f in fills.sort_values("time", kind="stable").itertuples():
        q = float(f.quantity) if f.side == "buy" else -float(f.quantity)
        book = lots.setdefault(f.symbol, [])
        closed, cost, first = 0.0, 0.0, None
        while q and book and (book[0][0] > 0) != (q > 0):
            lot = book[0]
            take = min(abs(q), abs(lot[0]))
            first = first if first is not None else lot[2]
            closed += take
            cost += take * lot[1]
            lot[0] += take if lot[0] < 0 else -take
            q += take if q < 0 else -take
            if abs(lot[0]) <= 1e-9:
                book.pop(0)
            if abs(q) <= 1e-9:
                q = 0.0
        if closed:
            entry = cost / closed
            long = f.side == "sell"
            pnl = (float(f.price) - entry) * closed * (1 if long else -1)
            rows.append((f.symbol, "long" if long else "short", closed, entry, float(f.price), first, f.time, pnl))
        if q:
            book.append([q, float(f.price), f.time])
    return pd.DataFrame(rows, columns=list(TRADE_FIELDS))


def losing_streak(trades: pd.DataFrame | None) -> pd.DataFrame:
    """The trailing run of losing trades (pnl < 0) of `trades` (oldest first)."""
    if trades is None or trades.empty:
        return pd.DataFrame(columns=list(TRADE_FIELDS))
    wins = (trades["pnl"] >= 0).to_numpy()
    last_win = int(wins.nonzero()[0][-1]) if wins.any() else -1
    return trades.iloc[last_win + 1 :]


def closed_trades(log: AuditLog, broker: str, account_id: str) -> pd.DataFrame:
    """The account's round trips (`round_trips`) from the audit log's filled orders of plans for this broker
    and account, closed after the last time the kill switch was turned off (a person's restart)."""
    res = log.order_results(limit=1_000_000)
    res = res[(res["broker"] == broker) & (res["filled_quantity"] > 0) & res["avg_fill_price"].notna()]
    accounts = {pid: (log.plan(pid) or {}).get("account_id") for pid in res["plan_id"].unique()}
    res = res[res["plan_id"].map(accounts) == account_id]
    when = res["filled_at"].where(res["filled_at"].notna(), res["updated_at"])
    fills = pd.DataFrame(
        {
            "symbol": res["symbol"],
            "side": res["side"],
            "quantity": res["filled_quantity"].astype(float),
            "price": res["avg_fill_price"].astype(float),
            "time": pd.to_datetime(when, utc=True, format="ISO8601"),
        }
    )
    return _since_restart(log, round_trips(fills))


def session_trades(log: AuditLog, session: str) -> pd.DataFrame:
    """A live loop session's round trips (`round_trips`) from its audited fills (kind "fill", payload session,
    side, quantity, price, time: brokers.live.loop), closed after the last time the kill switch was turned off."""
    rows = log.events(limit=1_000_000, kind="fill")
    payloads = [p for p in rows["payload"] if p.get("session") == session and "price" in p] if len(rows) else []
    fills = pd.DataFrame(
        {
            "symbol": [p["symbol"] for p in payloads],
            "side": [p["side"] for p in payloads],
            "quantity": [float(p["quantity"]) for p in payloads],
            "price": [float(p["price"]) for p in payloads],
            "time": pd.to_datetime([p["time"] for p in payloads], utc=True, format="ISO8601"),
        }
    )
    return _since_restart(log, round_trips(fills))


def _since_restart(log: AuditLog, trades: pd.DataFrame) -> pd.DataFrame:
    """`trades` closed after the last time a person turned the kill switch off (all of them if never)."""
    offs = log.events(limit=1_000_000, kind="kill_switch")
    offs = offs[offs["message"].str.contains("turned OFF", regex=False)] if len(offs) else offs
    if not offs.empty and not trades.empty:
        since = pd.to_datetime(offs["ts"], utc=True, format="ISO8601").max()
        trades = trades[pd.to_datetime(trades["exit_time"], utc=True) > since].reset_index(drop=True)
    return trades
