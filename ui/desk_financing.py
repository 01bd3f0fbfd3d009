"""The Desk's Financing section: the paper account's daily financing charges and their totals
(brokers.desk.financing_view), for a broker that keeps a financing ledger; nothing for the others."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from brokers.base import BrokerError
from brokers.desk import financing_view
from engine.errors import EngineError
from ui.tables import show as show_table


def financing_section(broker: Any) -> None:
    """Heading, totals caption and the ledger table; a read error is a warning, the rest of the page goes on."""
    if not hasattr(broker, "financing_ledger"):  # the paper account charges financing itself
        return
    st.subheader("Financing")
    try:
        ledger, totals = financing_view(broker)
    except (EngineError, BrokerError) as e:
        st.warning(f"Financing: {type(e).__name__}: {e}")
    else:
        st.caption(
            "Charged once per calendar day: borrow fee on shorts and interest on negative cash (paid), interest on "
            "cash (earned). Totals: "
            + (", ".join(f"{kind.replace('_', ' ')} {value:,.2f}" for kind, value in totals.items()) or "none yet")
        )
        show_table(
            pd.DataFrame(ledger, columns=["day", "kind", "symbol", "amount", "basis", "rate"]),
            key="desk_financing",
            hide_index=True,
            column_config={
                "day": st.column_config.TextColumn("Day"),
                "kind": st.column_config.TextColumn("Charge"),
                "symbol": st.column_config.TextColumn("Symbol"),
                "amount": st.column_config.NumberColumn("Amount", format="%.2f"),
                "basis": st.column_config.NumberColumn("Charged on", format="%.2f"),
                "rate": st.column_config.NumberColumn("Annual rate", format="percent"),
            },
        )
