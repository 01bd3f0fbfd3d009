"""Options on the paper account: model prices, the chain, the implied vol per underlying, and settlement at expiry.

`PaperOptions` is a mixin of PaperBroker. Prices come from brokers.paper.option_model (BSM on the underlying's last
bar at the underlying's implied vol: set with `set_option_vol`, else its 60-day realized vol, else 0.25). An option
position is settled on the first read after the underlying's last bar reaches the expiry date, at the close of the
last bar on or before the expiry: a cash-settled (index) contract pays intrinsic x multiplier x contracts in cash;
an equity contract in the money is exercised (long) or assigned (short) into multiplier x contracts shares of the
underlying at the strike; out of the money it expires worthless. Each step is an order and a fill in the ledger
(commission 0, reason saying what happened) and an audit-log "fill" event.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, closing
from pathlib import Path

import pandas as pd

from brokers.base import BrokerConfigError, OrderRejected, OrderRequest, PriceUnavailable
from brokers.paper.ledger import book_position, now_iso
from brokers.paper.option_model import (
    DEFAULT_VOL,
    bar_date,
    cash_settled,
    chain_strikes,
    index_of,
    intrinsic,
    model_quote,
    monthly_expiries,
    realized_vol,
    underlying_of,
)
from brokers.paper.prices import BarSource
from engine.errors import EngineError
from engine.ops.audit_log import AuditLog
from engine.options.occ import OptionContract
from engine.orders.instruments import OptionQuote, option_of

MAX_VOL = 5.0


class PaperOptions:
    """Mixin: needs `bar_source`, `option_rate`, `db_path`, `_connect()` and `_tx()` of PaperBroker."""

    bar_source: BarSource
    option_rate: float
    db_path: Path
    _connect: Callable[[], sqlite3.Connection]
    _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]

    # ------------------------------------------------------------------ implied vol
    def set_option_vol(self, underlying: str, vol: float) -> None:
        """Store the implied vol (annual decimal, 0 < vol <= 5) that prices the options of `underlying`."""
        if isinstance(vol, bool) or not isinstance(vol, (int, float)) or not math.isfinite(vol):
            raise BrokerConfigError(f"paper options: vol {vol!r} must be a number (0.25 = 25 %)")
        if not 0 < vol <= MAX_VOL:
            raise BrokerConfigError(f"paper options: vol {vol!r} must be > 0 and at most {MAX_VOL} (0.25 = 25 %)")
        symbol = str(underlying).strip().upper()
        if not symbol:
            raise BrokerConfigError(f"paper options: underlying {underlying!r} is empty")
        with self._tx() as db:
            db.execute(
                "INSERT INTO paper_option_vols VALUES (?,?,?) ON CONFLICT(underlying) DO UPDATE SET "
                "vol=excluded.vol, updated_at=excluded.updated_at",
                (symbol, float(vol), now_iso()),
            )

    def option_vol(self, underlying: str) -> tuple[float, str]:
        """(implied vol, where it comes from: "set", "realized 60d" or "default") for the options of `underlying`."""
        symbol = str(underlying).strip().upper()
        with closing(self._connect()) as db:
            row = db.execute("SELECT vol FROM paper_option_vols WHERE underlying = ?", (symbol,)).fetchone()
        if row is not None:
            return float(row["vol"]), "set"
        try:
            realized = realized_vol(self.bar_source(symbol)["close"])
        except (PriceUnavailable, EngineError, KeyError):
            realized = None
        return (realized, "realized 60d") if realized is not None else (DEFAULT_VOL, "default")

    # ------------------------------------------------------------------ prices and chain
    def _last_bar(self, underlying: str) -> tuple[dt.date, float]:
        bars = self.bar_source(underlying)
        closes = bars["close"].dropna() if len(bars) else bars.get("close", pd.Series(dtype=float))
        if not len(closes):
            raise PriceUnavailable(f"paper options: no bars for the underlying {underlying!r}")
        return bar_date(closes.index[-1]), float(closes.iloc[-1])

    def option_quote(self, contract: OptionContract) -> OptionQuote:
        """Model price and Greeks of `contract` on its underlying's last bar; PriceUnavailable once expired."""
        underlying = underlying_of(contract)
        asof, spot = self._last_bar(underlying)
        if asof >= contract.expiry:
            raise PriceUnavailable(
                f"paper options: {contract.compact_symbol()} expired on {contract.expiry} (last bar {asof})"
            )
        return model_quote(contract, spot, asof, self.option_vol(underlying)[0], self.option_rate)

    def option_prices(self, symbols: Sequence[str]) -> dict[str, float]:
        """Model price per OCC symbol (the symbols of the account's option positions and orders)."""
        out: dict[str, float] = {}
        for s in symbols:
            contract = option_of(s)
            if contract is not None:
                price = self.option_quote(contract).last
                if price is not None:
                    out[s] = price
        return out

    def option_chain(self, underlying: str, expiry: dt.date | None = None) -> list[OptionQuote]:
        """Calls and puts at strikes around the last close (brokers.paper.option_model.chain_strikes) for `expiry`
        or the next monthly expiries, priced by the model; sorted by expiry, right, strike."""
        symbol = str(underlying).strip().upper()
        asof, spot = self._last_bar(index_of(symbol))
        if expiry is not None and expiry <= asof:
            raise BrokerConfigError(f"paper options: expiry {expiry} is not after the last bar {asof} of {symbol}")
        expiries = [expiry] if expiry is not None else monthly_expiries(asof)
        vol = self.option_vol(index_of(symbol))[0]
        return [
            model_quote(OptionContract(symbol, day, right, k), spot, asof, vol, self.option_rate)
            for day in expiries
            for right in ("call", "put")
            for k in chain_strikes(spot)
        ]

    def check_option_order(self, order: OrderRequest) -> None:
        """Refuse an order on an option that has expired by the underlying's last bar (nothing recorded)."""
        if order.option is not None:
            asof, _ = self._last_bar(underlying_of(order.option))
            if asof >= order.option.expiry:
                raise OrderRejected(
                    f"paper broker: {order.symbol} expired on {order.option.expiry} (last bar {asof}); "
                    f"order {order.client_order_id} not sent"
                )

    # ------------------------------------------------------------------ expiry
    def settle_expired(self) -> list[str]:
        """Settle every option position whose expiry the underlying's bars have reached; the messages written."""
        with closing(self._connect()) as db:
            held = [r["symbol"] for r in db.execute("SELECT symbol FROM paper_positions").fetchall()]
        messages: list[str] = []
        for symbol in held:
            contract = option_of(symbol)
            if contract is None:
                continue
            try:
                bars = self.bar_source(underlying_of(contract))["close"].dropna()
            except (PriceUnavailable, EngineError, KeyError):
                continue
            days = pd.Index([bar_date(t) for t in bars.index])
            if not len(bars) or days[-1] < contract.expiry:
                continue
            spot = float(bars[days <= contract.expiry].iloc[-1]) if (days <= contract.expiry).any() else None
            if spot is None:
                continue
            with self._tx() as db:
                row = db.execute("SELECT quantity FROM paper_positions WHERE symbol = ?", (symbol,)).fetchone()
                if row is None:
                    continue
                messages += settle(db, contract, float(row["quantity"]), spot, now_iso())
        audit = AuditLog(self.db_path) if messages else None
        for text in messages:
            assert audit is not None
            audit.event("fill", text, symbol=text.split(" ", 1)[0], payload={"broker": "paper", "settlement": True})
        return messages


def settle(db: sqlite3.Connection, contract: OptionContract, qty: float, spot: float, now: str) -> list[str]:
    """Settle `qty` contracts (signed) of `contract` at the expiry close `spot` inside the caller's transaction."""
    symbol, mult = contract.compact_symbol(), contract.multiplier
    value = intrinsic(contract, spot)
    close_side = "sell" if qty > 0 else "buy"
    n = abs(qty)
    if cash_settled(contract):
        why = f"cash settled at expiry: intrinsic {value:g} (close {spot:g})"
        _record(db, symbol, close_side, n, value, why, now, cash=qty * value * mult)
        return [f"{symbol} {why}: {qty * value * mult:+,.2f} cash for {qty:g} contracts"]
    if value <= 0:
        why = f"expired worthless (close {spot:g}, strike {contract.strike})"
        _record(db, symbol, close_side, n, 0.0, why, now, cash=0.0)
        return [f"{symbol} {why}: {qty:g} contracts"]
    verb = "exercised" if qty > 0 else "assigned"
    why = f"{verb} at expiry (close {spot:g}, strike {contract.strike})"
    _record(db, symbol, close_side, n, 0.0, why, now, cash=0.0)
    shares = qty * mult * (1 if contract.right == "call" else -1)
    strike = float(contract.strike)
    side = "buy" if shares > 0 else "sell"
    _record(db, contract.underlying, side, abs(shares), strike, f"{symbol} {why}", now, cash=-shares * strike)
    return [f"{symbol} {why}: {side} {abs(shares):g} {contract.underlying} at {strike:g}"]


def _record(
    db: sqlite3.Connection, symbol: str, side: str, qty: float, price: float, reason: str, now: str, cash: float
) -> None:
    """One settlement step as a filled order + fill (commission 0), its position moved and cash changed by `cash`."""
    oid = uuid.uuid4().hex
    cid = f"expiry-{symbol}-{oid[:8]}"
    db.execute(
        "INSERT INTO paper_orders (id, client_order_id, symbol, side, quantity, type, limit_price, time_in_force, "
        "status, filled_quantity, avg_fill_price, reason, submitted_at, updated_at) "
        "VALUES (?,?,?,?,?,'market',NULL,'day','filled',?,?,?,?,?)",
        (oid, cid, symbol, side, qty, qty, price, reason, now, now),
    )
    db.execute(
        "INSERT INTO paper_fills VALUES (?,?,?,?,?,?,?,?,?,?)",
        (uuid.uuid4().hex, oid, cid, symbol, side, qty, price, price, 0.0, now),
    )
    book_position(db, symbol, qty if side == "buy" else -qty, price)
    db.execute("UPDATE paper_account SET cash = cash + ? WHERE id = 1", (cash,))
