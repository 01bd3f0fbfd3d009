"""The paper account's database: the one SQLite helper (WAL, migrations), and a database made before migrations."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from brokers.base import OrderRequest
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices
from brokers.paper.schema import COMPONENT, MIGRATIONS

PRICES = StaticPrices({"SPY": 100.0, "QQQ": 400.0})


def test_new_database_is_wal_and_at_the_latest_migration(tmp_path):
    db = tmp_path / "p.db"
    PaperBroker(db, price_source=PRICES)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = conn.execute("SELECT version FROM schema_version WHERE component = ?", (COMPONENT,)).fetchone()
    assert version == (len(MIGRATIONS),)


def test_a_database_made_before_migrations_opens_with_everything_kept(tmp_path):
    # what the paper broker wrote before it used engine.store.sqlite: its tables, no schema_version, no WAL
    db = tmp_path / "old.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.executescript(MIGRATIONS[0])
        conn.execute("INSERT INTO paper_account VALUES (1, 'PAPER-OLD00001', 60000.0, 100000.0, 'USD', '2024-01-02')")
        conn.execute("INSERT INTO paper_positions VALUES ('SPY', 400.0, 100.0)")
        conn.execute(
            "INSERT INTO paper_orders (id, client_order_id, symbol, side, quantity, type, limit_price, time_in_force,"
            " status, filled_quantity, avg_fill_price, submitted_at, updated_at) VALUES ('o1', 'plan1-SPY', 'SPY',"
            " 'buy', 400.0, 'market', NULL, 'day', 'filled', 400.0, 100.0, '2024-01-02T15:00:00+00:00',"
            " '2024-01-02T15:00:00+00:00')"
        )
        conn.execute(
            "INSERT INTO paper_fills VALUES ('f1', 'o1', 'plan1-SPY', 'SPY', 'buy', 400.0, 100.0, 100.0, 0.0,"
            " '2024-01-02T15:00:00+00:00')"
        )
        conn.commit()
    broker = PaperBroker(db, initial_cash=5.0, price_source=PRICES)  # initial_cash only applies to a new account
    account = broker.account()
    assert (account.account_id, account.cash, account.equity) == ("PAPER-OLD00001", 60_000.0, 100_000.0)
    assert [(p.symbol, p.quantity, p.avg_price) for p in broker.positions()] == [("SPY", 400.0, 100.0)]
    assert [f.client_order_id for f in broker.fills()] == ["plan1-SPY"]
    assert broker.submit(OrderRequest("SPY", 400, "buy", client_order_id="plan1-SPY")).duplicate
    broker.submit(OrderRequest("QQQ", 10, "buy", client_order_id="plan2-QQQ"))
    assert len(broker.fills()) == 2
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT version FROM schema_version WHERE component = 'paper'").fetchone() == (
            len(MIGRATIONS),
        )
