"""Journal statistics and exports from the trades' real P&L: a saved backtest's trade list (P&L by tag, setup and
state equal a hand pandas groupby of the same trades), live fills' round-trip P&L by hand FIFO arithmetic, the CSV
export parsed back equals the entries, the Markdown export names every entry."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.journal.export import to_csv, to_markdown
from engine.journal.frames import journal_table
from engine.journal.model import STATES, backtest_target, live_target
from engine.journal.stats import pnl_by
from engine.journal.store import JournalStore
from engine.journal.trades import entry_pnl, live_fills
from engine.ops.audit_log import AuditLog
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore

PLAN = {  # trade number -> (tags, setup, state)
    0: (["breakout"], "gap", 4),
    1: (["breakout", "fomo"], "gap", 5),
    2: (["patience"], "pullback", 3),
    3: ([], "", None),
    5: (["patience", "breakout"], "pullback", 3),
    6: (["fomo"], "", 1),
}


@pytest.fixture
def journaled(home: Path):
    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 5, "slow": 20},
        symbols=("SPY",),
        start="2016-01-01",
        end="2020-12-31",
        config=BacktestConfig(),
    )
    result = run_request(request)
    run_id = RunStore().save(result, request)
    store = JournalStore()
    for n, (tags, setup, state) in PLAN.items():
        store.save(backtest_target(run_id, n), symbol="SPY", notes=f"trade {n}", tags=tags, setup=setup, state=state)
    return run_id, result.trades.reset_index(drop=True), store


def hand_groupby(trades: pd.DataFrame, by: str) -> pd.DataFrame:
    """The same statistics by pandas directly: one row per (trade, group), then groupby."""
    rows = []
    for n, (tags, setup, state) in PLAN.items():
        groups = {"tag": tags or ["(none)"], "setup": [setup or "(none)"]}
        groups["state"] = [f"{state} {STATES[state]}" if state else "(none)"]
        rows += [{"group": g, "pnl": trades["pnl"].iloc[n]} for g in groups[by]]
    g = pd.DataFrame(rows).groupby("group")["pnl"]
    return pd.DataFrame(
        {
            "entries": g.size(),
            "total_pnl": g.sum(),
            "mean_pnl": g.mean(),
            "win_rate": g.apply(lambda s: (s > 0).mean()),
            "best": g.max(),
            "worst": g.min(),
        }
    )


@pytest.mark.parametrize("by", ["tag", "setup", "state"])
def test_stats_equal_a_hand_groupby(journaled, by: str) -> None:
    _, trades, store = journaled
    assert len(trades) > max(PLAN)
    stats = pnl_by(journal_table(store=store), by)
    expected = hand_groupby(trades, by)
    assert sorted(stats.index) == sorted(expected.index)
    for group, want in expected.iterrows():
        got = stats.loc[group]
        assert got["entries"] == want["entries"] and got["closed"] == want["entries"]
        for col in ("total_pnl", "mean_pnl", "win_rate", "best", "worst"):
            assert got[col] == pytest.approx(want[col], rel=1e-12, abs=1e-9), (group, col)
    assert list(stats["total_pnl"]) == sorted(stats["total_pnl"], reverse=True)  # best group first


def test_csv_export_parses_back_to_the_entries(journaled) -> None:
    run_id, trades, store = journaled
    entries = store.entries()
    pnl = entry_pnl(entries)
    back = pd.read_csv(io.StringIO(to_csv(entries, pnl)), keep_default_na=False, dtype=str)
    assert len(back) == len(PLAN)
    for (_, row), entry in zip(back.iterrows(), entries, strict=True):
        assert int(row["id"]) == entry.id and row["run_id"] == run_id
        assert int(row["trade_index"]) == entry.target.trade_index
        assert float(row["pnl"]) == trades["pnl"].iloc[entry.target.trade_index]  # repr: exact float
        tags = tuple(t for t in row["tags"].split("; ") if t)
        assert (row["notes"], tags, row["setup"]) == (entry.notes, entry.tags, entry.setup)
        assert (int(row["state"]) if row["state"] else None) == entry.state
    md = to_markdown(entries, pnl)
    assert md.startswith("# Trade journal\n\n6 entries.")
    assert all(f"## #{e.id} SPY (run {run_id[:8]} trade {e.target.trade_index})" in md for e in entries)


def test_a_deleted_run_leaves_its_entries_without_pnl(journaled) -> None:
    run_id, _, store = journaled
    RunStore().delete(run_id)
    assert all(math.isnan(p) for p in entry_pnl(store.entries()))
    assert pnl_by(journal_table(store=store), "setup")["closed"].sum() == 0


def test_live_fill_pnl_by_hand_fifo(home: Path) -> None:
    log = AuditLog()
    log.record_plan("p1", "preset", "paper", "acct-1", "2024-01-02", True, {})
    fills = [  # client_order_id, symbol, side, quantity, price, filled_at
        ("A", "XLK", "buy", 10, 100.0, "2024-01-02T15:00:00+00:00"),
        ("B", "XLK", "buy", 5, 110.0, "2024-01-03T15:00:00+00:00"),
        ("C", "XLK", "sell", 12, 120.0, "2024-01-04T15:00:00+00:00"),
        ("D", "XLK", "sell", 3, 90.0, "2024-01-05T15:00:00+00:00"),
        ("E", "XLE", "buy", 4, 50.0, "2024-01-05T16:00:00+00:00"),
    ]
    for cid, sym, side, qty, price, at in fills:
        log.record_order_result(
            client_order_id=cid, plan_id="p1", broker="paper", symbol=sym, side=side, quantity=qty,
            filled_quantity=qty, avg_fill_price=price, reference_price=price, slippage_bps=0.0, status="filled",
            filled_at=at,
        )  # fmt: skip
    # FIFO by hand: C closes A's 10 (at 100) and 2 of B's (at 110): 10 * 20 + 2 * 10 = 220, oldest lot A;
    # D closes B's last 3: 3 * (90 - 110) = -60, oldest lot B; E is still open
    want = {"A": 220.0, "B": -60.0, "C": 220.0, "D": -60.0, "E": np.nan}
    got = live_fills(log).set_index("fill_id")
    assert list(got.index) == list("ABCDE") and set(got["account_id"]) == {"acct-1"}
    for cid, value in want.items():
        assert got.loc[cid, "pnl"] == pytest.approx(value, nan_ok=True), cid
    store = JournalStore()
    for cid, tag in (("A", "plan"), ("D", "panic"), ("E", "plan")):
        store.save(live_target("paper", cid, "acct-1"), symbol="XLK", tags=[tag])
    stats = pnl_by(journal_table(store=store), "tag")
    cols = ["entries", "closed", "total_pnl", "win_rate"]
    assert stats.loc["plan", cols].tolist() == pytest.approx([2, 1, 220.0, 1.0], rel=1e-12)
    assert stats.loc["panic", cols].tolist() == pytest.approx([1, 1, -60.0, 0.0], rel=1e-12)
