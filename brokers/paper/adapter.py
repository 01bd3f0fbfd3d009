"""`PaperBroker`: the embedded default broker, a persistent simulated account in the workspace SQLite.

Fills reuse the backtest's fill model (engine/sim/costs.py): a market order fills at once at the latest price
moved against the trader by `costs.slippage_bps`, and pays `costs.commission_bps` of the notional (at least
`costs.min_commission`). The latest price comes from an injectable `price_source` (symbols -> {symbol:
price}); the default is the last close of the engine's data source, so on daily data a paper order fills at
the most recent close (not the next open the backtest assumes: the fill-quality report measures that gap).

State lives in its own tables (prefix `paper_`, brokers.paper.schema) of `engine.store.workspace.db_path()` by
default and survives a restart. Connections come from the one SQLite helper (`engine.store.sqlite`: WAL, busy
timeout, numbered migrations). Every write is one `BEGIN IMMEDIATE` transaction and `client_order_id` is UNIQUE,
so the same id submitted twice, even by two processes at once, fills once.

Stop, stop-limit and trailing-stop orders, brackets and OCO pairs rest and are walked over the bars that arrived
since (`bar_source`, brokers.paper.resting) on every read (`orders`, `order`, `positions`, `account`) and
`match_open_orders`; `replace` modifies a resting order in place and cancelling a parent cancels its legs.
"""

from __future__ import annotations

import math
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from brokers.base import (
    Account,
    BrokerCapabilities,
    BrokerConfigError,
    Fill,
    InvalidOrder,
    OrderAck,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    Position,
    PriceUnavailable,
    check_order_query,
    check_supported,
    matches_query,
)
from brokers.paper import financing as daily_financing
from brokers.paper.ledger import ack_of, now_iso, status_of, try_fill
from brokers.paper.option_model import DEFAULT_RATE
from brokers.paper.options import PaperOptions
from brokers.paper.prices import BarSource, PriceSource, engine_bars, engine_last_close
from brokers.paper.resting import RESTING_SQL, RESTING_TYPES, activate_legs, advance, cancel_group, place, replace_row
from brokers.paper.schema import COMPONENT, MIGRATIONS
from engine.config import AnnualRate, Costs, Financing
from engine.errors import EngineError
from engine.options.occ import is_occ_symbol
from engine.orders.instruments import multiplier_of, option_of
from engine.orders.rules import ORDER_CLASSES, ORDER_TYPES
from engine.store.sqlite import connect, ensure_schema, transaction
from engine.store.workspace import db_path as workspace_db

DEFAULT_COSTS = Costs()  # frozen: one shared default is safe
DEFAULT_FINANCING = Financing()


def _annual_rate(value: float) -> float:
    """`value` checked against the engine's bounds of an annual rate (engine.config.AnnualRate)."""
    try:
        return float(TypeAdapter(AnnualRate).validate_python(value))
    except ValidationError:
        raise BrokerConfigError(f"paper broker: cash_rate {value!r} must be a number from -1 to 1") from None


class PaperBroker(PaperOptions):
    """Simulated broker on SQLite: market orders fill at once at the latest price with the engine's costs.

    Options (OCC symbols; market and limit orders) are priced by BSM on the underlying's last bar, listed by
    `option_chain`, and settled at expiry: brokers.paper.options.

    Args:
        db_path: SQLite file (default: the workspace database).
        initial_cash: starting cash of a NEW account; an existing account keeps its state (use `reset`).
        costs: slippage and commission, as in the backtest.
        price_source: callable symbols -> {symbol: price}; default `engine_last_close`.
        fractional: accept fractional quantities (default True).
        allow_short: allow sells beyond the held quantity (default False: no margin, no shorting).
        currency: account currency label.
        bar_source: callable symbol -> open/high/low/close bars for resting stop / trailing / bracket / OCO
            orders and option prices; default `engine_bars` (the engine's data source).
        option_rate: the risk-free rate (annual decimal) of the option model (default 0.04).
        financing: borrow fee on shorts and margin rate (engine.config.Financing; default: none), and
        cash_rate: annual rate earned on cash (paid on negative cash unless a margin rate is set), both charged
            once per elapsed day by brokers.paper.financing; clock: today's date (default: today, UTC).
    """

    name = "paper"

    def __init__(
        self,
        db_path: str | Path | None = None,
        initial_cash: float = 100_000.0,
        costs: Costs = DEFAULT_COSTS,
        price_source: PriceSource | None = None,
        fractional: bool = True,
        allow_short: bool = False,
        currency: str = "USD",
        bar_source: BarSource | None = None,
        option_rate: float = DEFAULT_RATE,
        financing: Financing = DEFAULT_FINANCING,
        cash_rate: float = 0.0,
        clock: Callable[[], date] | None = None,
    ) -> None:
        if not isinstance(initial_cash, (int, float)) or not math.isfinite(initial_cash) or initial_cash < 0:
            raise BrokerConfigError(f"paper broker: initial_cash {initial_cash!r} must be a number >= 0")
        if not isinstance(costs, Costs):
            raise BrokerConfigError(f"paper broker: costs must be engine.config.Costs, got {type(costs).__name__}")
        if not isinstance(financing, Financing):
            raise BrokerConfigError(f"paper broker: financing must be engine.config.Financing, got {financing!r}")
        self.financing, self.cash_rate = financing, _annual_rate(cash_rate)
        self.clock: Callable[[], date] = clock or (lambda: datetime.now(UTC).date())
        self.db_path = Path(db_path) if db_path is not None else workspace_db()
        self.costs = costs
        self.price_source: PriceSource = price_source or engine_last_close
        self.bar_source: BarSource = bar_source or engine_bars
        self.option_rate = float(option_rate)
        self.capabilities = BrokerCapabilities(
            fractional=fractional,
            shorting=allow_short,
            order_types=ORDER_TYPES,
            live=False,
            min_notional=0.0,
            order_classes=ORDER_CLASSES,
            options=True,
        )
        with closing(self._connect()) as db:
            ensure_schema(db, COMPONENT, MIGRATIONS)
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO paper_account (id, account_id, cash, initial_cash, currency, created_at) "
                "VALUES (1, ?, ?, ?, ?, ?)",
                (
                    "PAPER-" + uuid.uuid4().hex[:8].upper(),
                    float(initial_cash),
                    float(initial_cash),
                    currency,
                    now_iso(),
                ),
            )

    # ------------------------------------------------------------------ plumbing
    def _connect(self) -> sqlite3.Connection:
        """A connection of the one SQLite helper (WAL, busy timeout) whose rows read by column name."""
        db = connect(self.db_path)
        db.row_factory = sqlite3.Row
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the database's RESERVED lock from the start (BEGIN IMMEDIATE)."""
        with closing(self._connect()) as db, transaction(db):
            yield db

    @property
    def is_live(self) -> bool:
        return False

    def close(self) -> None:
        """Nothing to release: every call opens and closes its own connection."""

    def _finance(self) -> None:
        """Charge the financing of every day elapsed since the last charge (brokers.paper.financing)."""
        today = self.clock()
        with closing(self._connect()) as db:  # the usual case, already charged today: no write lock taken
            if db.execute("SELECT financed_through FROM paper_account").fetchone()[0] == today.isoformat():
                return
        with self._tx() as db:
            daily_financing.charge_days(db, today, self.financing, self.cash_rate, self.latest_prices)

    def financing_ledger(self) -> list[dict[str, object]]:
        """Every financing charge (day, kind, symbol, amount, basis, rate), oldest first, after today's."""
        self._finance()
        with closing(self._connect()) as db:
            return daily_financing.ledger(db)

    def _advance(self) -> None:
        """Charge the financing of the days elapsed, settle expired options, then walk the resting stop / trailing / bracket / OCO orders over the bars since
        their last bar."""
        self._finance()
        self.settle_expired()
        with closing(self._connect()) as db:
            rows = db.execute(RESTING_SQL).fetchall()
        if rows:
            advance(self._tx, rows, self.bar_source, self.costs, self.capabilities.shorting)

    def replace(
        self,
        order_id: str,
        quantity: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail: float | None = None,
    ) -> OrderAck:
        """Modify a resting order in place (None = unchanged; `trail` in the order's own trail unit)."""
        self._advance()
        with self._tx() as db:
            return ack_of(replace_row(db, order_id, quantity, limit_price, stop_price, trail), duplicate=False)

    # ------------------------------------------------------------------ prices
    def latest_prices(self, symbols: Sequence[str]) -> dict[str, float]:
        """Latest price per symbol from the price source; PriceUnavailable names any symbol without one."""
        symbols = list(dict.fromkeys(symbols))
        if not symbols:
            return {}
        options = [s for s in symbols if is_occ_symbol(s)]
        stocks = [s for s in symbols if s not in options]
        try:
            got = {**(dict(self.price_source(stocks)) if stocks else {}), **self.option_prices(options)}
        except EngineError as e:
            raise PriceUnavailable(f"no price for {symbols}: {e}") from e
        out: dict[str, float] = {}
        for s in symbols:
            p = got.get(s)
            if p is not None and isinstance(p, (int, float)) and math.isfinite(p) and p > 0:
                out[s] = float(p)
        missing = [s for s in symbols if s not in out]
        if missing:
            raise PriceUnavailable(f"paper broker: no valid latest price for {missing}")
        return out

    def fractionable(self, symbols: Sequence[str]) -> dict[str, bool]:
        """Every symbol takes fractions when the account does (the default)."""
        return {s: self.capabilities.fractional for s in symbols}

    # ------------------------------------------------------------------ reads
    def account(self) -> Account:
        """Cash plus positions marked at the latest prices. No margin: buying power = max(cash, 0)."""
        self._advance()
        with closing(self._connect()) as db:
            acct = db.execute("SELECT * FROM paper_account WHERE id = 1").fetchone()
            rows = db.execute("SELECT symbol, quantity FROM paper_positions").fetchall()
        prices = self.latest_prices([r["symbol"] for r in rows])
        value = sum(r["quantity"] * prices[r["symbol"]] * multiplier_of(r["symbol"]) for r in rows)
        return Account(
            equity=acct["cash"] + value,
            cash=acct["cash"],
            buying_power=max(acct["cash"], 0.0),
            currency=acct["currency"],
            account_id=acct["account_id"],
            is_live=False,
        )

    def positions(self) -> list[Position]:
        """Holdings marked at the latest prices, sorted by symbol."""
        self._advance()
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM paper_positions ORDER BY symbol").fetchall()
        prices = self.latest_prices([r["symbol"] for r in rows])
        return [
            Position(
                r["symbol"],
                r["quantity"],
                r["avg_price"],
                r["quantity"] * prices[r["symbol"]] * multiplier_of(r["symbol"]),
                option_of(r["symbol"]),
            )
            for r in rows
        ]

    def order(self, client_order_id: str) -> OrderStatus | None:
        return next((o for o in self.orders("all") if o.client_order_id == client_order_id), None)

    def orders(self, status: str = "open") -> list[OrderStatus]:
        """Orders in submission order: "open" (new / partially filled), "closed" or "all"."""
        check_order_query(status)
        self._advance()
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM paper_orders ORDER BY submitted_at, rowid").fetchall()
        legs: dict[str, tuple[str, ...]] = {}
        for r in rows:
            if r["parent_id"]:
                legs[r["parent_id"]] = (*legs.get(r["parent_id"], ()), r["id"])
        return [status_of(r, legs.get(r["id"], ())) for r in rows if matches_query(r["status"], status)]

    def fills(self, client_order_id: str | None = None) -> list[Fill]:
        """Executions, oldest first (optionally of one order)."""
        with closing(self._connect()) as db:
            sql = "SELECT * FROM paper_fills"
            args: tuple = ()
            if client_order_id is not None:
                sql, args = sql + " WHERE client_order_id = ?", (client_order_id,)
            rows = db.execute(sql + " ORDER BY timestamp, rowid", args).fetchall()
        return [
            Fill(
                id=r["id"],
                order_id=r["order_id"],
                client_order_id=r["client_order_id"],
                symbol=r["symbol"],
                side=r["side"],
                quantity=r["quantity"],
                price=r["price"],
                commission=r["commission"],
                timestamp=datetime.fromisoformat(r["timestamp"]),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ writes
    def submit(self, order: OrderRequest) -> OrderAck:
        """Place `order` once. A market order fills at once; a limit order fills if marketable, else rests.

        Raises InsufficientFunds (buy costs more than cash; nothing recorded), OrderRejected (selling more
        than held with shorting off, fractional quantity when not allowed), PriceUnavailable.
        """
        if not isinstance(order, OrderRequest):
            raise InvalidOrder(f"submit expects an OrderRequest, got {type(order).__name__}")
        check_supported(order, self.capabilities, self.name)
        known = self._find(order.client_order_id)
        if known is not None:
            return ack_of(known, duplicate=True)
        if not self.capabilities.fractional and order.quantity != int(order.quantity):
            raise OrderRejected(f"paper broker: fractional quantity {order.quantity} {order.symbol} not allowed")
        if order.stop_loss_limit is not None:
            raise OrderRejected(
                f"paper broker: stop_loss_limit {order.stop_loss_limit!r} (a stop-limit bracket leg) is not supported"
            )
        self.check_option_order(order)
        self._finance()  # the days before this order are charged on the account as it was
        price = self.latest_prices([order.symbol])[order.symbol]
        resting = order.type in RESTING_TYPES or order.order_class != "simple"
        last_bar = str(self.bar_source(order.symbol).index[-1]) if resting else None
        now = now_iso()
        try:
            with self._tx() as db:
                row = db.execute(
                    "SELECT * FROM paper_orders WHERE client_order_id = ?", (order.client_order_id,)
                ).fetchone()
                if row is not None:  # another process got there between our check and our lock
                    return ack_of(row, duplicate=True)
                oid = place(db, order, price, last_bar, now, self.costs, self.capabilities.shorting)
                row = db.execute("SELECT * FROM paper_orders WHERE id = ?", (oid,)).fetchone()
                return ack_of(row, duplicate=False)
        except sqlite3.IntegrityError:
            known = self._find(order.client_order_id)
            if known is None:
                raise
            return ack_of(known, duplicate=True)

    def _find(self, client_order_id: str) -> sqlite3.Row | None:
        with closing(self._connect()) as db:
            return db.execute("SELECT * FROM paper_orders WHERE client_order_id = ?", (client_order_id,)).fetchone()

    def match_open_orders(self) -> list[OrderStatus]:
        """Re-check resting limit orders against the latest prices; fill the marketable ones.

        A resting buy that can no longer be paid for is rejected with the reason. Returns the orders that
        changed.
        """
        self._advance()
        open_orders = [o for o in self.orders("open") if o.type == "limit" and not o.parent_id]
        open_orders = [o for o in open_orders if o.order_class != "oco"]
        if not open_orders:
            return []
        prices = self.latest_prices(sorted({o.symbol for o in open_orders}))
        changed: list[OrderStatus] = []
        for o in open_orders:
            with self._tx() as db:
                row = db.execute("SELECT * FROM paper_orders WHERE id = ?", (o.id,)).fetchone()
                if row is None or row["status"] not in ("new", "partially_filled"):
                    continue
                now = now_iso()
                try:
                    try_fill(
                        db,
                        self.costs,
                        self.capabilities.shorting,
                        o.id,
                        o.symbol,
                        o.side,
                        o.quantity,
                        o.type,
                        o.limit_price,
                        row["time_in_force"],
                        o.client_order_id,
                        prices[o.symbol],
                        now,
                    )
                except OrderRejected as e:
                    db.execute(
                        "UPDATE paper_orders SET status='rejected', reason=?, updated_at=? WHERE id=?",
                        (str(e), now, o.id),
                    )
                after = db.execute("SELECT * FROM paper_orders WHERE id = ?", (o.id,)).fetchone()
                if after["status"] == "filled" and o.order_class == "bracket":
                    activate_legs(db, o.id, str(self.bar_source(o.symbol).index[-1]))
            if after["status"] != row["status"]:
                changed.append(status_of(after))
        return changed

    def cancel(self, order_id: str) -> None:
        """Cancel a resting order by broker id (or client_order_id). Final orders raise OrderRejected."""
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM paper_orders WHERE id = ? OR client_order_id = ?", (order_id, order_id)
            ).fetchone()
            if row is None:
                raise OrderRejected(f"paper broker: no order {order_id!r} to cancel")
            if row["status"] not in ("new", "partially_filled"):
                raise OrderRejected(f"paper broker: order {order_id!r} is {row['status']}, not cancelable")
            db.execute(
                "UPDATE paper_orders SET status='canceled', reason='canceled by user', updated_at=? WHERE id=?",
                (now_iso(), row["id"]),
            )
            legs = db.execute("SELECT * FROM paper_orders WHERE parent_id = ?", (row["id"],)).fetchall()
            cancel_group(db, legs, f"parent {row['client_order_id']} canceled")

    def reset(self, cash: float | None = None) -> str:
        """Start over: drop orders, fills, positions and financing charges; cash = `cash` (default: the account's initial cash).

        The account gets a NEW account id (returned): it is a fresh account, so the audit log's equity history
        (daily-loss and drawdown checks) and the plan / order ids of the old one do not carry over.
        """
        if cash is not None and (
            not isinstance(cash, (int, float)) or isinstance(cash, bool) or not math.isfinite(cash) or cash < 0
        ):
            raise BrokerConfigError(f"paper broker: reset cash {cash!r} must be a number >= 0")
        new_id = "PAPER-" + uuid.uuid4().hex[:8].upper()
        with self._tx() as db:
            db.execute("UPDATE paper_account SET account_id = ? WHERE id = 1", (new_id,))
            db.execute("DELETE FROM paper_fills")
            db.execute("DELETE FROM paper_orders")
            db.execute("DELETE FROM paper_positions")
            db.execute("DELETE FROM paper_financing")
            db.execute("UPDATE paper_account SET financed_through = NULL WHERE id = 1")
            if cash is None:
                db.execute("UPDATE paper_account SET cash = initial_cash WHERE id = 1")
            else:
                db.execute("UPDATE paper_account SET cash = ?, initial_cash = ? WHERE id = 1", (cash, cash))
        return new_id
