"""The paper account's tables (prefix `paper_`) in the workspace database, as numbered migrations.

Applied by `engine.store.sqlite.ensure_schema(conn, "paper", MIGRATIONS)`. Migration 1 is the schema the paper
broker has always created, with CREATE TABLE IF NOT EXISTS: a database made before migrations were recorded
already has these tables, and migrating it only records version 1 (nothing saved is touched). Migration 2 adds
the resting-order columns (stop / trailing prices, order class, bracket / OCO parent, last bar walked); the
rows already saved keep their values and read as simple orders. Migration 3 adds the implied vol per underlying
that prices the paper account's options (brokers.paper.options). Migration 4 adds the financing ledger and the
last day financed (brokers.paper.financing); an existing account starts its financing clock at its next refresh.
"""

from __future__ import annotations

COMPONENT = "paper"

MIGRATIONS: tuple[str, ...] = (
    """
CREATE TABLE IF NOT EXISTS paper_account (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    account_id TEXT NOT NULL,
    cash REAL NOT NULL,
    initial_cash REAL NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS paper_positions (
    symbol TEXT PRIMARY KEY,
    quantity REAL NOT NULL,
    avg_price REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS paper_orders (
    id TEXT PRIMARY KEY,
    client_order_id TEXT NOT NULL UNIQUE,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity REAL NOT NULL,
    type TEXT NOT NULL,
    limit_price REAL,
    time_in_force TEXT NOT NULL,
    status TEXT NOT NULL,
    filled_quantity REAL NOT NULL DEFAULT 0,
    avg_fill_price REAL,
    reason TEXT NOT NULL DEFAULT '',
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS paper_fills (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES paper_orders(id),
    client_order_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity REAL NOT NULL,
    price REAL NOT NULL,
    reference_price REAL NOT NULL,
    commission REAL NOT NULL,
    timestamp TEXT NOT NULL
);
""",
    """
ALTER TABLE paper_orders ADD COLUMN stop_price REAL;
ALTER TABLE paper_orders ADD COLUMN trail_percent REAL;
ALTER TABLE paper_orders ADD COLUMN trail_price REAL;
ALTER TABLE paper_orders ADD COLUMN trail_extreme REAL;
ALTER TABLE paper_orders ADD COLUMN order_class TEXT NOT NULL DEFAULT 'simple';
ALTER TABLE paper_orders ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE paper_orders ADD COLUMN triggered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE paper_orders ADD COLUMN last_bar TEXT
""",
    """
CREATE TABLE IF NOT EXISTS paper_option_vols (
    underlying TEXT PRIMARY KEY,
    vol REAL NOT NULL,
    updated_at TEXT NOT NULL
)
""",
    """
ALTER TABLE paper_account ADD COLUMN financed_through TEXT;
CREATE TABLE IF NOT EXISTS paper_financing (
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    symbol TEXT NOT NULL,
    amount REAL NOT NULL,
    basis REAL NOT NULL,
    rate REAL NOT NULL,
    PRIMARY KEY (day, kind, symbol)
)
""",
)
