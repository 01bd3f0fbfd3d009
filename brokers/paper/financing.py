"""The paper account's daily financing: the simulator's three lines (engine.sim.costs), charged once per elapsed day.

For each calendar day since the account was last financed (`paper_account.financed_through`), on the account as
it stands (cash and short positions, shorts marked at their latest price): positive cash earns `cash_rate`,
negative cash pays the margin rate (`financing.margin_rate`, or `cash_rate` when None) and each short stock pays
its borrow fee (`financing.borrow_bps`, per-symbol overrides) on its market value. Each annual rate becomes a
per-day one by `engine.sim.costs.rate_per_period` with 365 days a year, the simulator's convention with days for
bars; the days compound, as the simulator's bars do. Every charge is its own row of `paper_financing` (day, kind:
borrow_cost / margin_interest / cash_interest, amount, basis, rate) and moves the cash.

Idempotent: a day is charged once (`financed_through` moves to the day charged, in the same transaction; the
table's key is day x kind x symbol), so a second refresh the same day charges nothing. The first refresh of an
account (or of one made before financing existed) only starts the clock. A short option (an OCC symbol) is a
written contract, not borrowed stock: it pays no borrow fee.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta

from engine.config import Financing
from engine.options.occ import is_occ_symbol
from engine.sim.costs import borrow_bps_of, margin_rate_of, rate_per_period

DAYS_PER_YEAR = 365.0
"""Calendar days a year: the paper account's financing runs on calendar days, as brokers charge it."""
BORROW, MARGIN, CASH = "borrow_cost", "margin_interest", "cash_interest"
"""The ledger's kinds: the keys of the simulator's financing lines (engine.sim.result.FINANCING_COLUMNS)."""


def charge_days(
    db: sqlite3.Connection,
    today: date,
    financing: Financing,
    cash_rate: float,
    prices: Callable[[Sequence[str]], Mapping[str, float]],
) -> int:
    """Charge every day after `financed_through` up to `today` inside the caller's transaction; the days charged."""
    acct = db.execute("SELECT cash, financed_through FROM paper_account WHERE id = 1").fetchone()
    if acct["financed_through"] is None:
        db.execute("UPDATE paper_account SET financed_through = ? WHERE id = 1", (today.isoformat(),))
        return 0
    last = date.fromisoformat(acct["financed_through"])
    days = (today - last).days
    if days <= 0:
        return 0
    rows = db.execute("SELECT symbol, quantity FROM paper_positions WHERE quantity < 0").fetchall()
    shorts = {r["symbol"]: -r["quantity"] for r in rows if not is_occ_symbol(r["symbol"])}
    borrow = {s: rate_per_period(borrow_bps_of(s, financing) / 1e4, DAYS_PER_YEAR) for s in shorts}
    shorts = {s: q for s, q in shorts.items() if borrow[s]}
    marks = dict(prices(list(shorts))) if shorts else {}
    cash_day = rate_per_period(cash_rate, DAYS_PER_YEAR)
    margin_day = rate_per_period(margin_rate_of(cash_rate, financing), DAYS_PER_YEAR)
    cash = float(acct["cash"])
    for k in range(1, days + 1):
        day = (last + timedelta(days=k)).isoformat()
        entries = []
        if cash > 0 and cash_day:
            entries.append((CASH, "", cash * cash_day, cash, cash_day))
        elif cash < 0 and margin_day:
            entries.append((MARGIN, "", -cash * margin_day, -cash, margin_day))
        for s, q in shorts.items():
            value = q * marks[s]
            entries.append((BORROW, s, value * borrow[s], value, borrow[s]))
        for kind, symbol, amount, basis, rate in entries:
            cash += amount if kind == CASH else -amount
            db.execute("INSERT INTO paper_financing VALUES (?,?,?,?,?,?)", (day, kind, symbol, amount, basis, rate))
    db.execute("UPDATE paper_account SET cash = ?, financed_through = ? WHERE id = 1", (cash, today.isoformat()))
    return days


def ledger(db: sqlite3.Connection) -> list[dict[str, object]]:
    """Every financing charge, oldest first: day, kind, symbol ("" for interest), amount (paid for borrow_cost and
    margin_interest, earned for cash_interest), basis (cash or short value charged on) and the day's rate."""
    rows = db.execute("SELECT * FROM paper_financing ORDER BY day, kind, symbol").fetchall()
    return [dict(r) for r in rows]
