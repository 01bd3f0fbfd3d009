"""The trade journal: a person's notes, tags, setup, emotional state and screenshots on a backtest trade or a live
fill (model.py: the entry and the 1-5 scale; store.py: the SQLite tables; screenshots.py: images only, size
limit, files in the workspace), the real P&L of the journaled trades (trades.py), statistics by tag, setup and
state (stats.py) and export to CSV / Markdown (export.py). Front ends: `ivybt journal` and the Journal page.

It sits above ops (it reads the audit log's fills and their round trips) and below cli.
"""
