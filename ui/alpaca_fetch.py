"""Fetch daily bars from Alpaca into the workspace (Data page), when keys are configured.

Bars come from Alpaca's bar source in the broker registry (`brokers.alpaca.bars.AlpacaBarsSource`, alpaca-py's
market-data client, imported only when a fetch starts). Each symbol is written to a temporary `<SYMBOL>.parquet`
and imported with `engine.data.import_files`, so fetched bars pass the same validation as any uploaded file.
`ALPACA_DATA_URL` overrides the market-data endpoint (proxies, tests), `ALPACA_FEED` picks the feed, as for
`ivybt signals --refresh`.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from brokers.base import BrokerError
from brokers.refresh import bar_source
from engine.data import import_files
from engine.errors import EngineError
from ui.status import alpaca_keys_present


def alpaca_fetch_form(key: str, on_import: Callable[[list[str]], None] | None = None) -> list[str]:
    """Symbols box + Fetch button. After an import, `on_import(symbols)` runs and the page reruns (messages
    are shown once after the rerun); without `on_import` the imported symbols are returned."""
    if not alpaca_keys_present():
        st.info(
            "Alpaca keys are not configured. Set ALPACA_API_KEY and ALPACA_SECRET_KEY (or APCA_API_KEY_ID "
            "and APCA_API_SECRET_KEY) in the environment and restart the app to fetch bars from Alpaca."
        )
        return []
    text = st.text_input("Symbols (comma separated)", key=f"{key}_symbols", placeholder="SPY, QQQ")
    start = st.date_input("From", value=dt.date(2015, 1, 1), key=f"{key}_start")
    messages: list[tuple[str, str]] = st.session_state.pop(f"{key}_flash", [])
    imported: list[str] = []
    if st.button("Fetch", key=f"{key}_go", disabled=not text.strip()):
        symbols = list(dict.fromkeys(s.strip().upper() for s in text.split(",") if s.strip()))
        with st.spinner(f"Fetching {len(symbols)} symbol(s) from Alpaca ..."):
            imported, messages = _fetch(symbols, start)
        if imported and on_import is not None:
            on_import(imported)
            st.session_state[f"{key}_flash"] = messages
            st.rerun()
    for kind, text in messages:
        (st.success if kind == "ok" else st.error)(text)
    return imported


def _fetch(symbols: list[str], start: dt.date) -> tuple[list[str], list[tuple[str, str]]]:
    messages: list[tuple[str, str]] = []
    try:
        source = bar_source("alpaca", symbols, start)
    except (EngineError, BrokerError) as e:
        return [], [("error", f"Alpaca is not available: {e}")]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for sym in symbols:
            try:
                frame = source.load(sym)
            except EngineError as e:
                messages.append(("error", f"{sym}: {e}"))
                continue
            path = Path(tmp) / f"{sym}.parquet"
            frame.to_parquet(path)
            paths.append(path)
        if not paths:
            return [], messages
        report = import_files(paths)
        for item in report.imported:
            messages.append(("ok", f"{item.symbol}: {item.bars} bars, {item.first:%Y-%m-%d} .. {item.last:%Y-%m-%d}"))
        for p, message in report.errors.items():
            messages.append(("error", f"{Path(p).stem}: {message.replace(tmp + '/', '')}"))
    return list(report.symbols), messages
