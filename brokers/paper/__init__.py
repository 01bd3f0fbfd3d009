"""The paper broker: `adapter` (PaperBroker, the embedded default), `prices` (its price sources), `triggers` (the
engine's gap-aware stop / limit / trailing rule walked over bars, for resting orders), `schema` (its
tables as numbered migrations). It speaks our values directly (no translation tables) and has no bar source.
"""
