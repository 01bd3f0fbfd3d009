"""What-if scenarios: shock prices (all, by symbol, by beta), implied vols (absolute, relative, a VIX move mapped
per symbol) and time, then reprice every position (equities by price, options by the model) for the P&L.

Modules: `scenario` (the Scenario value and how its shocks apply), `positions` (the plain position records),
`history` (betas and vol ratios from daily data), `repricing` (holdings, revalue, the price x vol grid),
`store` (presets shipped in presets/ and user scenarios saved in the workspace).
"""

from __future__ import annotations

from engine.whatif.positions import Position, load_positions, positions_from_records
from engine.whatif.repricing import Market, PnLGrid, WhatIfResult, market_for, pnl_grid, prepare, revalue
from engine.whatif.scenario import BetaShock, Scenario, VixShock
from engine.whatif.store import list_scenarios, load_scenario, save_scenario

__all__ = [
    "BetaShock",
    "Market",
    "PnLGrid",
    "Position",
    "Scenario",
    "VixShock",
    "WhatIfResult",
    "list_scenarios",
    "load_positions",
    "load_scenario",
    "market_for",
    "pnl_grid",
    "positions_from_records",
    "prepare",
    "revalue",
    "save_scenario",
]
