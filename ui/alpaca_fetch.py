"""Fetch daily bars from Alpaca into the workspace (Data page), when keys are configured.

The bars come from `brokers.bars.AlpacaBarsSource` (written by the brokers side); each symbol is written
to a temporary `<SYMBOL>.parquet` and imported with `engine.data.import_files`, so fetched bars pass the same
validation as any uploaded file.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import streamlit as st

from engine.data import import_files
from engine.errors import EngineError
from ui.status import alpaca_keys_present


def alpaca_fetch_form(key: str) -> list[str]:
    """Symbols box + Fetch button; returns the symbols imported on this click ([] otherwise)."""
    if not alpaca_keys_present():
        st.info("Alpaca keys are not configured. Set APCA_API_KEY_ID and APCA_API_SECRET_KEY in the environment "
                "(or .streamlit/secrets.toml) and restart the app to fetch bars from Alpaca.")
        return []
    try:
        from brokers.bars import AlpacaBarsSource
    except ImportError:
        st.info("The Alpaca bar source is not installed in this build (brokers.bars is missing).")
        return []
    text = st.text_input("Symbols (comma separated)", key=f"{key}_symbols", placeholder="SPY, QQQ")
    start = st.date_input("From", value=dt.date(2015, 1, 1), key=f"{key}_start")
    if not st.button("Fetch", key=f"{key}_go", disabled=not text.strip()):
        return []
    symbols = [s.strip().upper() for s in text.split(",") if s.strip()]
    imported: list[str] = []
    with st.status(f"Fetching {len(symbols)} symbol(s) from Alpaca ...") as status, \
            tempfile.TemporaryDirectory() as tmp:
        try:
            source = AlpacaBarsSource(start=start.isoformat())
        except TypeError:
            source = AlpacaBarsSource()
        except EngineError as e:
            st.error(f"Alpaca is not available: {e}")
            return []
        paths = []
        for sym in symbols:
            try:
                frame = source.load(sym)
            except EngineError as e:
                st.error(f"{sym}: {e}")
                continue
            path = Path(tmp) / f"{sym}.parquet"
            frame.to_parquet(path)
            paths.append(path)
        if paths:
            report = import_files(paths)
            imported = report.symbols
            for p, message in report.errors.items():
                st.error(f"{Path(p).stem}: {message}")
        status.update(label=f"Imported {', '.join(imported) or 'nothing'}", state="complete")
    return imported
