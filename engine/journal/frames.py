"""The journal as a table, each entry with its trade's real P&L and price: what the statistics group, the pages
show and the chart markers (ui.charts_journal) place.

`journal_table(run_id=...)` is the one call a page needs for a run's markers: its entries, indexed by entry id,
with `trade_time` (the trade's entry time), `price` (its entry price: the y of a price-chart marker), `notes`,
`tags`, `setup`, `state_label` and `pnl`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from engine.errors import ConfigError
from engine.journal.model import Entry, state_label
from engine.journal.store import JournalStore
from engine.journal.trades import trade_facts
from engine.ops.audit_log import AuditLog
from engine.store.runs import RunStore

COLUMNS: tuple[str, ...] = (
    "kind",
    "trade",
    "trade_index",
    "fill_id",
    "symbol",
    "trade_time",
    "price",
    "pnl",
    "setup",
    "state",
    "state_label",
    "tags",
    "notes",
    "screenshots",
)


def journal_frame(
    entries: Sequence[Entry], pnl: Sequence[float], prices: Sequence[float] | None = None
) -> pd.DataFrame:
    """One row per entry (COLUMNS, indexed by entry id "id"): tags as a tuple, screenshots as a count, pnl and
    price as given (price NaN when not given)."""
    if len(entries) != len(pnl) or (prices is not None and len(prices) != len(entries)):
        raise ConfigError(f"journal_frame: {len(entries)} entries but {len(pnl)} P&L values")
    rows = [
        (
            e.target.kind,
            e.target.describe(),
            e.target.trade_index,
            e.target.fill_id,
            e.symbol,
            e.trade_time,
            float("nan") if prices is None else float(prices[i]),
            float(pnl[i]),
            e.setup,
            e.state,
            state_label(e.state),
            tuple(e.tags),
            e.notes,
            len(e.screenshots),
        )
        for i, e in enumerate(entries)
    ]
    frame = pd.DataFrame(rows, columns=list(COLUMNS), index=pd.Index([e.id for e in entries], name="id"))
    return frame.astype({"pnl": "float64", "price": "float64"})


def journal_table(
    *,
    kind: str | None = None,
    run_id: str | None = None,
    broker: str | None = None,
    tag: str | None = None,
    setup: str | None = None,
    store: JournalStore | None = None,
    runs: RunStore | None = None,
    audit: AuditLog | None = None,
) -> pd.DataFrame:
    """The journal's entries (optionally of one kind, run, broker, tag or setup) as `journal_frame`, with their
    trades' P&L and prices read from the run store and the audit log."""
    entries = (store or JournalStore()).entries(kind=kind, run_id=run_id, broker=broker, tag=tag, setup=setup)
    facts = trade_facts(entries, runs, audit)
    return journal_frame(entries, facts["pnl"].tolist(), facts["price"].tolist())
